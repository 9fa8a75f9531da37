/**
 * Identifier kinds and their normalization rules. The rule is applied in the
 * warehouse SQL (see the dialects) before SHA-256, so raw identifiers never leave it.
 */
export const IDENTIFIER_KINDS = {
  email: 'trim, lower case',
  phone: 'digits only (E.164 without "+"), leading zeros of the national format kept as given',
  first_name: 'trim, lower case',
  last_name: 'trim, lower case',
  external_id: 'trim',
  text: 'trim, lower case',
} as const;

export type IdentifierKind = keyof typeof IDENTIFIER_KINDS;

export function isIdentifierKind(s: string): s is IdentifierKind {
  return Object.prototype.hasOwnProperty.call(IDENTIFIER_KINDS, s);
}

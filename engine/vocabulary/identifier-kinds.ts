/**
 * Identifier kinds and their normalization rules (see
 * destinations/meta-custom-audiences/README.md and destinations/google-customer-match/README.md).
 * The rule runs in the warehouse SQL (engine/warehouse/identifier-sql.ts) before
 * SHA-256, so raw identifiers never leave it. Rules differ per vendor where the
 * vendors differ (phone with or without "+", gmail dots), hence separate kinds.
 */
export const IDENTIFIER_KINDS = {
  email: 'trim, lower case',
  email_google: 'trim, lower case; for gmail.com and googlemail.com also drop dots and +tag from the local part',
  phone: 'digits only, leading zeros removed (country code included, no "+")',
  phone_e164: '"+" then digits only, leading zeros removed (E.164)',
  first_name: 'trim, lower case, ASCII punctuation removed (other letters kept)',
  last_name: 'trim, lower case, ASCII punctuation removed (other letters kept)',
  name: 'trim, lower case',
  city: 'lower case, letters only: spaces, digits and ASCII punctuation removed',
  state: 'lower case, letters only: spaces, digits and ASCII punctuation removed',
  zip: 'trim, lower case, spaces and dashes removed',
  country: 'trim, lower case (ISO-3166 alpha-2 expected)',
  gender: "'f' or 'm' from the first letter, else empty",
  dob_year: 'four-digit year of a date',
  dob_month: 'two-digit month of a date',
  dob_day: 'two-digit day of a date',
  external_id: 'trim',
  mobile_ad_id: 'trim, lower case',
  text: 'trim, lower case',
} as const;

export type IdentifierKind = keyof typeof IDENTIFIER_KINDS;

export function isIdentifierKind(s: string): s is IdentifierKind {
  return Object.prototype.hasOwnProperty.call(IDENTIFIER_KINDS, s);
}

/** What a sync does with a value that already looks like a SHA-256 hash (64 hex characters). */
export const PREHASHED_RULES = ['passthrough', 'reject'] as const;
export type PrehashedRule = (typeof PREHASHED_RULES)[number];

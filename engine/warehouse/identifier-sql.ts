import type { IdentifierKind, PrehashedRule } from '../vocabulary/identifier-kinds.js';

/** The few SQL primitives identifier rules need; every dialect has them. */
export interface IdentifierPrimitives {
  castText(expr: string): string;
  quoteLiteral(value: string): string;
  /** Replace every match of a (portable, POSIX-compatible) pattern. */
  regexpReplaceAll(expr: string, pattern: string, replacement: string): string;
  /** The whole value matches the (anchored) pattern. */
  regexpMatches(expr: string, pattern: string): string;
  sha256Hex(expr: string): string;
}

/** ASCII punctuation, deleted with translate() (no regex, so every warehouse agrees). */
const ASCII_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const DIGITS = '0123456789';
const SHA256_HEX = '^[0-9a-f]{64}$';

/**
 * SQL that normalizes `expr` by the rule of `kind`; empty results become NULL.
 * Built from functions DuckDB, PostgreSQL and Snowflake share (lower, trim,
 * translate, replace, split_part, lpad, extract, regexp_replace), so the same
 * rule gives the same bytes, hence the same hash, on each.
 */
export function normalizeIdentifierSql(p: IdentifierPrimitives, kind: IdentifierKind, expr: string): string {
  const text = p.castText(expr);
  const lowerTrim = `lower(trim(${text}))`;
  const strip = (e: string, chars: string): string => `translate(${e}, ${p.quoteLiteral(chars)}, '')`;
  const digitsNoLeadingZeros = p.regexpReplaceAll(p.regexpReplaceAll(text, '[^0-9]', ''), '^0+', '');
  const datePart = (part: string, width: number): string => `lpad(CAST(EXTRACT(${part} FROM CAST(${expr} AS DATE)) AS VARCHAR), ${width}, '0')`;
  let normalized: string;
  switch (kind) {
    case 'email':
    case 'name':
    case 'text':
    case 'country':
    case 'mobile_ad_id':
      normalized = lowerTrim;
      break;
    case 'email_google': {
      const local = `split_part(${lowerTrim}, '@', 1)`;
      const domain = `split_part(${lowerTrim}, '@', 2)`;
      normalized = `CASE WHEN ${domain} IN ('gmail.com', 'googlemail.com') THEN replace(split_part(${local}, '+', 1), '.', '') || '@' || ${domain} ELSE ${lowerTrim} END`;
      break;
    }
    case 'phone':
      normalized = digitsNoLeadingZeros;
      break;
    case 'phone_e164':
      normalized = `CASE WHEN ${digitsNoLeadingZeros} = '' THEN '' ELSE '+' || ${digitsNoLeadingZeros} END`;
      break;
    case 'first_name':
    case 'last_name':
      normalized = strip(lowerTrim, ASCII_PUNCTUATION);
      break;
    case 'city':
    case 'state':
      normalized = p.regexpReplaceAll(strip(lower(text), ASCII_PUNCTUATION + DIGITS), '[[:space:]]', '');
      break;
    case 'zip':
      normalized = strip(lowerTrim, ' -');
      break;
    case 'gender':
      normalized = `CASE WHEN substr(${lowerTrim}, 1, 1) IN ('f', 'm') THEN substr(${lowerTrim}, 1, 1) ELSE '' END`;
      break;
    case 'dob_year':
      normalized = datePart('YEAR', 4);
      break;
    case 'dob_month':
      normalized = datePart('MONTH', 2);
      break;
    case 'dob_day':
      normalized = datePart('DAY', 2);
      break;
    case 'external_id':
      normalized = `trim(${text})`;
      break;
  }
  return `NULLIF(${normalized}, '')`;
}

function lower(e: string): string {
  return `lower(${e})`;
}

/**
 * Normalize then SHA-256 (lowercase hex). A value that is already 64 hex
 * characters is passed through lower-cased (never hashed twice), or, with the
 * 'reject' rule, dropped (NULL), so a row left with no identifier is excluded.
 */
export function hashIdentifierSql(p: IdentifierPrimitives, kind: IdentifierKind, expr: string, prehashed: PrehashedRule = 'passthrough'): string {
  const trimmed = `lower(trim(${p.castText(expr)}))`;
  const hashed = p.sha256Hex(normalizeIdentifierSql(p, kind, expr));
  const already = prehashed === 'passthrough' ? trimmed : 'NULL';
  return `CASE WHEN ${p.regexpMatches(trimmed, SHA256_HEX)} THEN ${already} ELSE ${hashed} END`;
}

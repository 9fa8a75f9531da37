import type { JsonValue } from './destination-api.js';

const SAFE_DIGITS = 15;
/** Sticky: matched at one position, never searched for. */
const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;
const NON_FINITE = /NaN|-?Infinity/y;

/**
 * JSON.parse, except that integers too large for a double arrive as strings
 * instead of being silently rounded (a BIGINT id must never change on the way).
 */
export function parseJsonLossless(text: string): JsonValue {
  if (!/\d{16}/.test(text)) return JSON.parse(text) as JsonValue;
  const out = rewriteOutsideStrings(text, (at) => {
    const c = text[at]!;
    if (c !== '-' && !(c >= '0' && c <= '9')) return undefined;
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(text);
    if (!m) return undefined;
    const tok = m[0];
    const isBigInt = !m[1] && !m[2] && tok.replace('-', '').length > SAFE_DIGITS && !Number.isSafeInteger(Number(tok));
    return { text: isBigInt ? `"${tok}"` : tok, length: tok.length };
  });
  return JSON.parse(out) as JsonValue;
}

/**
 * JSON text with the bare NaN, Infinity and -Infinity some warehouses write for
 * non-finite doubles (DuckDB's json_object does; that is not JSON) spelled as
 * PostgreSQL spells them: the strings "NaN", "Infinity" and "-Infinity". So every
 * value sent is valid JSON, the same from every warehouse.
 */
export function quoteNonFiniteNumbers(text: string): string {
  if (!/NaN|Infinity/.test(text)) return text;
  return rewriteOutsideStrings(text, (at) => {
    const c = text[at];
    if (c !== 'N' && c !== 'I' && c !== '-') return undefined;
    NON_FINITE.lastIndex = at;
    const token = NON_FINITE.exec(text)?.[0];
    return token ? { text: `"${token}"`, length: token.length } : undefined;
  });
}

/**
 * Copies JSON text, offering each position outside string literals to
 * `rewrite`; where it answers, its text replaces `length` characters there.
 */
function rewriteOutsideStrings(text: string, rewrite: (at: number) => { text: string; length: number } | undefined): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') {
        out += c + (text[i + 1] ?? '');
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      out += c;
      i++;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      i++;
      continue;
    }
    const replaced = rewrite(i);
    if (replaced) {
      out += replaced.text;
      i += replaced.length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

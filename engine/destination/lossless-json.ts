import type { JsonValue } from './destination-api.js';

const SAFE_DIGITS = 15;

/**
 * JSON.parse, except that integers too large for a double arrive as strings
 * instead of being silently rounded (a BIGINT id must never change on the way).
 */
export function parseJsonLossless(text: string): JsonValue {
  if (!/\d{16}/.test(text)) return JSON.parse(text) as JsonValue;
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i++;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      i++;
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))!;
      const tok = m[0];
      const isBigInt = !m[1] && !m[2] && tok.replace('-', '').length > SAFE_DIGITS && !Number.isSafeInteger(Number(tok));
      out += isBigInt ? `"${tok}"` : tok;
      i += tok.length;
      continue;
    }
    out += c;
    i++;
  }
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
    const token = /^(?:NaN|-?Infinity)/.exec(text.slice(i, i + 9))?.[0];
    if (token) {
      out += `"${token}"`;
      i += token.length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

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

import type { JsonValue } from '../../engine/destination/index.js';

/**
 * Bulk API 2.0 CSV (RFC 4180, LF line endings). In Bulk API data an empty
 * value leaves a field unchanged and `#N/A` sets it to null.
 */
export const BULK_NULL = '#N/A';

/**
 * A warehouse value as Bulk CSV text. NULL and '' become #N/A so the field is
 * cleared, as the audience says, rather than left as it was. Arrays are
 * multi-select picklist values, separated by ";".
 */
export function bulkValue(v: JsonValue | undefined): string {
  if (v === null || v === undefined || v === '') return BULK_NULL;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map((x) => (x === null ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x))).join(';');
  return JSON.stringify(v);
}

function cell(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvText(header: readonly string[], rows: readonly (readonly string[])[]): string {
  let out = header.map(cell).join(',') + '\n';
  for (const r of rows) out += r.map(cell).join(',') + '\n';
  return out;
}

/** Parses CSV text into records keyed by the header row. */
export function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
      i += 1;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      row.push(field);
      field = '';
      rows.push(row);
      row = [];
      if (ch === '\r' && text[i + 1] === '\n') i += 1;
    } else field += ch;
    i += 1;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  const [header, ...data] = rows.filter((r) => !(r.length === 1 && r[0] === ''));
  if (!header) return [];
  return data.map((r) => Object.fromEntries(header.map((h, j) => [h, r[j] ?? ''])));
}

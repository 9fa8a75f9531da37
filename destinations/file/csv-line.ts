import type { JsonValue } from '../../engine/destination/index.js';

/** One RFC 4180 CSV line: fields with commas, quotes or line breaks are quoted. */
export function csvLine(values: readonly (JsonValue | undefined)[]): string {
  return values.map(csvCell).join(',') + '\n';
}

function csvCell(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

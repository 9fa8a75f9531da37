import type { RowResult } from '../../engine/destination/index.js';
import type { ErrorVerdict } from './graph-errors.js';
import type { UploadAnswer } from './graph-api.js';
import type { Cell } from './meta-schema.js';

/** Error code written to sync_changelog for rows Meta quoted in invalid_entry_samples. */
export const INVALID_ENTRY_CODE = 'invalid_entry';

/**
 * One result per row sent in one request. Meta answers with counts, not per
 * row: rows quoted in `invalid_entry_samples` are rejected with Meta's reason;
 * the rest succeeded (the samples are not exhaustive, so an unquoted invalid
 * row cannot be told apart and is counted only in the run metrics). When Meta
 * says it received fewer rows than were sent, or its answer confirms nothing,
 * the unquoted rows are `failed` (sent again next run; adds and removes are
 * set operations, so a repeat is harmless).
 */
export function uploadResults(rows: readonly (readonly Cell[])[], answer: UploadAnswer | ErrorVerdict): RowResult[] {
  if (answer.kind === 'rejected') return rows.map(() => ({ status: 'rejected', code: answer.code, message: answer.message }));
  const rejected = matchSamples(rows, answer.invalidSamples);
  const unconfirmed =
    answer.numReceived === undefined
      ? 'Meta answered without num_received: the rows are not confirmed'
      : answer.numReceived < rows.length
        ? `Meta received ${answer.numReceived} of ${rows.length} rows and does not say which: not confirmed`
        : undefined;
  return rows.map((_, i): RowResult => {
    const reason = rejected.get(i);
    if (reason !== undefined) return { status: 'rejected', code: INVALID_ENTRY_CODE, message: `Meta: invalid entry: ${reason}` };
    if (unconfirmed !== undefined) return { status: 'failed', code: 'unconfirmed', message: unconfirmed };
    return { status: 'succeeded' };
  });
}

/**
 * Row index -> reason for each sample Meta quoted. A sample is the row as JSON
 * (`["<hash>","<hash>"]`); a bare value (single-key uploads) matches every row
 * holding it.
 */
function matchSamples(rows: readonly (readonly Cell[])[], samples: ReadonlyMap<string, string>): Map<number, string> {
  const out = new Map<number, string>();
  if (samples.size === 0) return out;
  const byJson = new Map<string, number[]>();
  const byCell = new Map<string, number[]>();
  rows.forEach((row, i) => {
    push(byJson, JSON.stringify(row), i);
    for (const c of row) if (c !== '') push(byCell, String(c), i);
  });
  for (const [sample, reason] of samples) {
    let parsed: unknown = sample;
    try {
      parsed = JSON.parse(sample);
    } catch {
      // Not JSON: a bare value.
    }
    const hits = Array.isArray(parsed) ? byJson.get(JSON.stringify(parsed)) : byCell.get(typeof parsed === 'string' ? parsed : sample);
    for (const i of hits ?? []) out.set(i, reason);
  }
  return out;
}

function push(m: Map<string, number[]>, k: string, i: number): void {
  const list = m.get(k);
  if (list) list.push(i);
  else m.set(k, [i]);
}

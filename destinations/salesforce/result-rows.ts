import type { RowResult } from '../../engine/destination/index.js';
import type { IngestOutcome } from './ingest-job.js';

/**
 * Row errors that say "try again later" rather than "this row is wrong":
 * record locks held by a parallel job, or a momentary server problem. They
 * are `failed` (retried next run), not `rejected`.
 */
const TRANSIENT_ROW_ERRORS = new Set(['UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'REQUEST_RUNNING_TOO_LONG']);

/** A failed-results record's `sf__Error` ("CODE:message[:fields]") as a row result. */
export function rowError(rec: Readonly<Record<string, string>>): RowResult {
  const e = rec.sf__Error ?? '';
  const colon = e.indexOf(':');
  const code = colon > 0 ? e.slice(0, colon) : 'error';
  const message = e === '' ? 'Salesforce reported the row failed without a reason' : e;
  return TRANSIENT_ROW_ERRORS.has(code) ? { status: 'failed', code, message } : { status: 'rejected', code, message };
}

export function errorCode(r: RowResult): string | undefined {
  return r.status === 'succeeded' ? undefined : r.code;
}

/**
 * A job's results by the value of `column` (row order is not guaranteed, so
 * rows are joined back on a column they were uploaded with).
 */
export function resultsBy(outcome: IngestOutcome, column: string): Map<string, RowResult> {
  const out = new Map<string, RowResult>();
  for (const rec of outcome.successful) {
    const v = rec[column];
    if (v !== undefined) out.set(v, { status: 'succeeded', id: rec.sf__Id || null });
  }
  for (const rec of outcome.failed) {
    const v = rec[column];
    if (v !== undefined) out.set(v, rowError(rec));
  }
  return out;
}

/** A row a finished job did not report on: not confirmed, so retried next run. */
export function unconfirmed(job: string): RowResult {
  return { status: 'failed', code: 'missing_result', message: `the ${job} job's results do not include this row; retried next run` };
}

/** A row whose record was deleted meanwhile: for a removal, the goal holds. */
export function isDeletedError(r: RowResult): boolean {
  return errorCode(r) === 'ENTITY_IS_DELETED';
}

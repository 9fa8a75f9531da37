import type { Dialect } from '../warehouse/dialect.js';
import { REJECTIONS_TABLE, type SyncTables } from '../plan/plan-tables.js';
import { inRangesSql, type RowRange } from '../plan/row-ranges.js';

/**
 * SQL of quarantine: rows a destination refuses for the same reason on
 * `quarantineAfterRuns` consecutive runs stop being sent. `row_rejections`
 * (a governance table) holds one row per sync and key whose latest attempt was
 * refused: the row hash it carried ('' for a remove, which carries no fields),
 * the reason, how many runs in a row refused it, and when it was quarantined.
 * A quarantined row is left out of the plan while the member's fields stay the
 * same; a change of fields, a success or `audsync retry` releases it. Pure text.
 */

export function createRejectionsTableSql(d: Dialect, schema: string): string {
  const { text, bigint, timestamp } = d.types;
  return `CREATE TABLE IF NOT EXISTS ${d.relation(schema, REJECTIONS_TABLE)} (
      sync_name ${text} NOT NULL, record_key ${text} NOT NULL, op ${text} NOT NULL, row_hash ${text} NOT NULL, error_code ${text}, error_message ${text},
      streak ${bigint} NOT NULL, first_rejected_at ${timestamp} NOT NULL, last_rejected_at ${timestamp} NOT NULL, last_run_id ${text} NOT NULL,
      quarantined_at ${timestamp}, quarantined_run_id ${text})`;
}

/** The reason two refusals are compared by: the vendor's code where it gives one, else its message. */
const reason = (alias: string): string => `COALESCE(${alias}.error_code, ${alias}.error_message, '')`;

/** Rows quarantined by one run (they reached the streak in it). */
export function newlyQuarantinedSql(d: Dialect, t: SyncTables, sync: string, runId: string): string {
  return `SELECT count(*) AS n FROM ${t.rejections} WHERE sync_name = ${d.quoteLiteral(sync)} AND quarantined_run_id = ${d.quoteLiteral(runId)}`;
}

/**
 * Forgets refusals that no longer describe a row the plan would send: the
 * member left, or its fields changed (a new row hash is a new row), or a
 * refused remove whose member came back or is no longer held. None of these
 * matches a row of the plan, so it runs after the plan of a run (never of a
 * preview), and only when the sync has any.
 */
export function releaseStaleRejectionsSql(d: Dialect, t: SyncTables, sync: string): string {
  const r = t.rejections;
  return `DELETE FROM ${r} WHERE sync_name = ${d.quoteLiteral(sync)} AND NOT (
  (row_hash <> '' AND EXISTS (SELECT 1 FROM ${t.members} AS m WHERE m.invalid_reason IS NULL AND m.record_key = ${r}.record_key AND ${d.rowHashText('m.row_hash')} = ${r}.row_hash))
  OR (row_hash = '' AND EXISTS (SELECT 1 FROM ${t.snapshot} AS s WHERE s.record_key = ${r}.record_key)
      AND NOT EXISTS (SELECT 1 FROM ${t.members} AS m WHERE m.invalid_reason IS NULL AND m.record_key = ${r}.record_key)))`;
}

export interface RejectionCommit {
  readonly runId: string;
  readonly sync: string;
  readonly ranges: readonly RowRange[];
  readonly at: string;
  /** Runs in a row of the same refusal that quarantine a row; 0: never. */
  readonly quarantineAfterRuns: number;
  /** The batch has rejected rows. */
  readonly hasRejected: boolean;
  /** The sync had tracked refusals when the plan was made: a success forgets its key's. */
  readonly hadTracked: boolean;
}

/**
 * Part of one batch's commit (same transaction): each refused row's streak goes
 * up when it is the same row refused for the same reason as last time, else
 * starts at 1; reaching the threshold quarantines it. A row that succeeded
 * forgets its refusals. A key is in a plan once, so the rows this run wrote are
 * told apart from the older ones by `last_run_id`.
 */
export function commitRejectionsSql(d: Dialect, t: SyncTables, c: RejectionCommit): string[] {
  if (!c.hasRejected && !c.hadTracked) return [];
  const r = t.rejections;
  const s = d.quoteLiteral(c.sync);
  const run = d.quoteLiteral(c.runId);
  const at = `CAST(${d.quoteLiteral(c.at)} AS ${d.types.timestamp})`;
  const rows = inRangesSql('p.row_no', c.ranges);
  const batch = `${t.plan} AS p LEFT JOIN ${t.outcomes} AS o ON CAST(o.row_no AS BIGINT) = p.row_no`;
  const same = `q.record_key IS NOT NULL AND q.row_hash = COALESCE(${d.rowHashText('p.row_hash')}, '') AND ${reason('q')} = ${reason('o')}`;
  const quarantines = c.quarantineAfterRuns > 0 ? `x.streak >= ${Math.trunc(c.quarantineAfterRuns)}` : '1 = 0';
  const out: string[] = [];
  if (c.hasRejected) {
    out.push(`INSERT INTO ${r} (sync_name, record_key, op, row_hash, error_code, error_message, streak, first_rejected_at, last_rejected_at, last_run_id, quarantined_at, quarantined_run_id)
SELECT ${s}, x.record_key, x.op, x.row_hash, x.error_code, x.error_message, x.streak, x.first_rejected_at, ${at}, ${run},
  CASE WHEN ${quarantines} THEN ${at} END, CASE WHEN ${quarantines} THEN ${run} END
FROM (
  SELECT p.record_key, p.op, COALESCE(${d.rowHashText('p.row_hash')}, '') AS row_hash, o.error_code, o.error_message,
    CASE WHEN ${same} THEN q.streak + 1 ELSE 1 END AS streak, CASE WHEN ${same} THEN q.first_rejected_at ELSE ${at} END AS first_rejected_at
  FROM ${batch} LEFT JOIN ${r} AS q ON q.sync_name = ${s} AND q.record_key = p.record_key
  WHERE ${rows} AND o.status = 'rejected'
) AS x`);
  }
  out.push(`DELETE FROM ${r} WHERE sync_name = ${s} AND last_run_id <> ${run} AND record_key IN (
  SELECT p.record_key FROM ${batch} WHERE ${rows} AND COALESCE(o.status, 'succeeded') IN ('succeeded', 'rejected'))`);
  return out;
}

/** `audsync retry`: releases the sync's quarantined rows (or one key's), so the next run sends them. */
export function releaseQuarantineSql(d: Dialect, schema: string, sync: string, key?: string): string {
  return `DELETE FROM ${d.relation(schema, REJECTIONS_TABLE)} WHERE sync_name = ${d.quoteLiteral(sync)} AND quarantined_at IS NOT NULL${key === undefined ? '' : ` AND record_key = ${d.quoteLiteral(key)}`}`;
}

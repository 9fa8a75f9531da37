import type { Dialect } from '../warehouse/dialect.js';
import type { SyncTables } from '../plan/plan-tables.js';
import { inRangesSql, mergeRanges, type RowRange } from '../plan/row-ranges.js';
import { commitRejectionsSql } from './rejection-sql.js';

/**
 * SQL of the plan log, the write-ahead log that makes delivery converge: a
 * plan's rows are numbered; before a batch is sent its intent (a range of row
 * numbers) is committed; after it, one set-based commit writes the batch's
 * changelog rows and advances the snapshot from the plan itself, with only the
 * exceptions (rejections, failures, new destination ids) sent from JavaScript.
 * A row with an intent and no commit is uncertain: the next run reads it back
 * from the plan and reconciles it. Pure text; engine/state/plan-log.ts runs it.
 */

/**
 * Log kinds. `planned_full` marks a full refresh's plan; `unsent`, rows a run
 * knows it never sent (recorded aborted); `closed`, a run that recorded its unsent rows itself.
 */
export type LogKind = 'planned' | 'planned_full' | 'intent' | 'done' | 'unsent' | 'closed';

const ts = (d: Dialect, at: string): string => `CAST(${d.quoteLiteral(at)} AS ${d.types.timestamp})`;

export function logRangesSql(d: Dialect, t: SyncTables, runId: string, kind: LogKind, ranges: readonly RowRange[], at: string): string {
  const values = ranges.map(([a, b]) => `(${d.quoteLiteral(runId)}, ${d.quoteLiteral(kind)}, ${Math.trunc(a)}, ${Math.trunc(b)}, ${ts(d, at)})`);
  return `INSERT INTO ${t.planLog} (run_id, kind, first_row, last_row, logged_at) VALUES ${values.join(', ')}`;
}

export function readLogSql(t: SyncTables): string {
  return `SELECT run_id, kind, first_row, last_row FROM ${t.planLog}`;
}

/** After the log's plan has been read back: the log and its outcomes are spent. */
export function clearLogSql(d: Dialect, t: SyncTables): string[] {
  return [d.clearTable(t.planLog), d.clearTable(t.outcomes)];
}

const withOutcome = (t: SyncTables): string => `${t.plan} AS p LEFT JOIN ${t.outcomes} AS o ON CAST(o.row_no AS BIGINT) = p.row_no`;
const outcomeStatus = `COALESCE(o.status, 'succeeded')`;

/** One batch of a commit: its rows and when they were attempted. */
export interface CommittedBatch {
  readonly ranges: readonly RowRange[];
  readonly attemptedAt: string;
}

export interface BatchCommitSql {
  readonly runId: string;
  readonly sync: string;
  /** The batches committed together, in one transaction. */
  readonly batches: readonly CommittedBatch[];
  /** Some succeeded row may already be in the snapshot (a change, a remove, a full refresh's add, a reconciled add). */
  readonly mayReplace: boolean;
  /** Remove mode: the snapshot remembers removed keys, so each is removed once. */
  readonly keepRemoved: boolean;
  /** Keys were pending when the plan was made: a success settles them. */
  readonly settlesPending: boolean;
  /** The batch has failed rows: their keys become pending (uncertain). */
  readonly hasFailed: boolean;
  /** The batch has rejected rows: their refusals are counted towards quarantine. */
  readonly hasRejected: boolean;
  /** The sync had refused rows tracked when the plan was made: a success forgets its key's. */
  readonly hadTracked: boolean;
  /** The sync's guardrails.quarantineAfterRuns (0: never). */
  readonly quarantineAfterRuns: number;
}

/** When each row of the batches was attempted: one literal, or one per batch by row range. */
function attemptedAtSql(d: Dialect, batches: readonly CommittedBatch[]): string {
  const times = new Set(batches.map((b) => b.attemptedAt));
  if (times.size <= 1) return ts(d, batches[0]?.attemptedAt ?? new Date(0).toISOString());
  return `CASE ${batches.map((b) => `WHEN ${inRangesSql('p.row_no', b.ranges)} THEN ${ts(d, b.attemptedAt)}`).join(' ')} END`;
}

/**
 * The commit of settled batches, after their exceptions are in the outcomes
 * table; run in one transaction. A row without an outcome row succeeded.
 */
export function commitBatchSql(d: Dialect, schema: string, t: SyncTables, c: BatchCommitSql): string[] {
  const ranges = mergeRanges(c.batches.flatMap((b) => b.ranges));
  const lastAt = c.batches.map((b) => b.attemptedAt).reduce((a, b) => (b > a ? b : a), '');
  const rows = inRangesSql('p.row_no', ranges);
  const at = attemptedAtSql(d, c.batches);
  const succeededKeys = `SELECT p.record_key FROM ${withOutcome(t)} WHERE ${rows} AND ${outcomeStatus} = 'succeeded'`;
  return [
    `INSERT INTO ${d.relation(schema, 'sync_changelog')} (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT ${d.quoteLiteral(c.runId)}, ${d.quoteLiteral(c.sync)}, p.record_key, p.op, ${outcomeStatus}, COALESCE(o.destination_record_id, p.destination_record_id), o.error_code, o.error_message, ${at}
FROM ${withOutcome(t)} WHERE ${rows}`,
    ...(c.mayReplace ? [`DELETE FROM ${t.snapshot} WHERE record_key IN (${succeededKeys})`] : []),
    `INSERT INTO ${t.snapshot} (record_key, fields_json, row_hash, destination_record_id, synced_at)
SELECT p.record_key, p.fields_json, p.row_hash, COALESCE(o.destination_record_id, p.destination_record_id), ${at}
FROM ${withOutcome(t)} WHERE ${rows} AND ${outcomeStatus} = 'succeeded'${c.keepRemoved ? '' : ` AND p.op <> 'remove'`}`,
    ...(c.settlesPending || c.hasFailed
      ? [`DELETE FROM ${t.pending} WHERE record_key IN (SELECT p.record_key FROM ${withOutcome(t)} WHERE ${rows} AND ${outcomeStatus} IN ('succeeded', 'failed'))`]
      : []),
    ...(c.hasFailed
      ? [
          // A failure after retries is uncertain: a timed-out request may have been applied.
          `INSERT INTO ${t.pending} (record_key, op, fields_json, run_id)
SELECT p.record_key, p.op, p.fields_json, ${d.quoteLiteral(c.runId)} FROM ${withOutcome(t)} WHERE ${rows} AND o.status = 'failed'`,
        ]
      : []),
    ...commitRejectionsSql(d, t, { runId: c.runId, sync: c.sync, ranges, at: lastAt, quarantineAfterRuns: c.quarantineAfterRuns, hasRejected: c.hasRejected, hadTracked: c.hadTracked }),
    logRangesSql(d, t, c.runId, 'done', ranges, lastAt),
  ];
}

/** Planned rows a run never dispatched (it stopped early): recorded as `aborted`. */
export function abortRowsSql(d: Dialect, schema: string, t: SyncTables, runId: string, sync: string, ranges: readonly RowRange[], at: string, reason: string): string {
  return `INSERT INTO ${d.relation(schema, 'sync_changelog')} (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT ${d.quoteLiteral(runId)}, ${d.quoteLiteral(sync)}, p.record_key, p.op, 'aborted', p.destination_record_id, 'aborted', ${d.quoteLiteral(reason)}, ${ts(d, at)}
FROM ${t.plan} AS p WHERE ${inRangesSql('p.row_no', ranges)}`;
}

/** Rows in flight when their run stopped: the changelog says their outcome is unknown. */
export function uncertainRowsSql(d: Dialect, schema: string, t: SyncTables, runId: string, sync: string, ranges: readonly RowRange[], at: string): string {
  const reason = 'outcome unknown: the run stopped while this row was in flight (the destination may have applied it); the next run reconciles it with the audience';
  return `INSERT INTO ${d.relation(schema, 'sync_changelog')} (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT ${d.quoteLiteral(runId)}, ${d.quoteLiteral(sync)}, p.record_key, p.op, 'failed', p.destination_record_id, 'uncertain', ${d.quoteLiteral(reason)}, ${ts(d, at)}
FROM ${t.plan} AS p WHERE ${inRangesSql('p.row_no', ranges)}`;
}

/**
 * Keys of the log's plan that become pending: rows in flight (uncertain: the
 * destination may hold what they sent), and, after a full refresh, every row it
 * did not get acknowledged (owed: the refresh is not done until they are).
 * `pending` is the durable table, or a preview's private copy.
 */
export function pendingFromLogSql(d: Dialect, t: SyncTables, pending: string, runId: string, inFlight: readonly RowRange[], owedRanges: readonly RowRange[] | null): string[] {
  const out: string[] = [];
  if (inFlight.length > 0) {
    const rows = `SELECT p.record_key FROM ${t.plan} AS p WHERE ${inRangesSql('p.row_no', inFlight)}`;
    out.push(
      `DELETE FROM ${pending} WHERE record_key IN (${rows})`,
      `INSERT INTO ${pending} (record_key, op, fields_json, run_id) SELECT p.record_key, p.op, p.fields_json, ${d.quoteLiteral(runId)} FROM ${t.plan} AS p WHERE ${inRangesSql('p.row_no', inFlight)}`,
    );
  }
  if (owedRanges !== null) {
    out.push(`INSERT INTO ${pending} (record_key, op, fields_json, run_id)
SELECT p.record_key, 'owed', CAST(NULL AS ${d.types.text}), ${d.quoteLiteral(runId)} FROM ${withOutcome(t)}
WHERE (${inRangesSql('p.row_no', owedRanges)} OR o.status IN ('rejected', 'failed'))
  AND NOT EXISTS (SELECT 1 FROM ${pending} AS x WHERE x.record_key = p.record_key)`);
  }
  return out;
}

/** Rows of the log's plan the destination refused or failed on (outcomes hold only this plan's rows). */
export function unacknowledgedOutcomesSql(t: SyncTables): string {
  return `SELECT count(*) AS n FROM ${t.outcomes} WHERE status IN ('rejected', 'failed')`;
}

/** A run's counts in sync_runs, recomputed from its changelog rows (after rows in flight were recorded). */
export function recountRunSql(d: Dialect, schema: string, runId: string, sync: string): string {
  const n = (op: string | null, status: string): string =>
    `COALESCE(sum(CASE WHEN ${op ? `op = '${op}' AND ` : ''}status = '${status}' THEN 1 ELSE 0 END), 0)`;
  return `UPDATE ${d.relation(schema, 'sync_runs')} SET succeeded_add = c.sa, succeeded_change = c.sc, succeeded_remove = c.sr, rejected = c.rj, failed = c.fl
FROM (SELECT ${n('add', 'succeeded')} AS sa, ${n('change', 'succeeded')} AS sc, ${n('remove', 'succeeded')} AS sr, ${n(null, 'rejected')} AS rj, ${n(null, 'failed')} AS fl
  FROM ${d.relation(schema, 'sync_changelog')} WHERE run_id = ${d.quoteLiteral(runId)} AND sync_name = ${d.quoteLiteral(sync)}) AS c
WHERE run_id = ${d.quoteLiteral(runId)} AND sync_name = ${d.quoteLiteral(sync)}`;
}

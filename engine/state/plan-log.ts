import type { Dialect } from '../warehouse/dialect.js';
import type { SyncTables } from '../plan/plan-tables.js';
import { mergeRanges, rangeRows, subtractRanges, type RowRange } from '../plan/row-ranges.js';
import { toNumber, type WarehouseConnection } from '../warehouse/connection.js';
import {
  abortRowsSql,
  clearLogSql,
  commitBatchSql,
  logRangesSql,
  pendingFromLogSql,
  readLogSql,
  recountRunSql,
  unacknowledgedOutcomesSql,
  uncertainRowsSql,
  type BatchCommitSql,
} from './plan-log-sql.js';
import { abortStaleRunsSql, insertJobsSql, type JobRecord } from './state-sql.js';

/** What the plan log says of the sync's last plan. */
export interface LogState {
  readonly runId: string;
  readonly rows: number;
  readonly fullRefresh: boolean;
  /** The run recorded its unsent rows itself (it finished, even if it failed). */
  readonly closed: boolean;
  /** Rows sent or about to be sent, with no commit: their outcome is unknown. */
  readonly inFlight: readonly RowRange[];
  /** Rows never dispatched. */
  readonly unsent: readonly RowRange[];
}

/** What reading back the last plan found. */
export interface SettledPlan extends LogState {
  /** Rows the destination did not acknowledge: in flight, unsent, rejected or failed. */
  readonly unacknowledged: number;
}

export async function readPlanLog(conn: WarehouseConnection, t: SyncTables): Promise<LogState | null> {
  const rows = await conn.query(readLogSql(t));
  const planned = rows.find((r) => r.kind === 'planned' || r.kind === 'planned_full');
  if (!planned) return null;
  const runId = String(planned.run_id);
  const ranges = (kind: string): RowRange[] =>
    rows.filter((r) => r.kind === kind && String(r.run_id) === runId).map((r) => [toNumber(r.first_row), toNumber(r.last_row)] as const);
  const total = toNumber(planned.last_row);
  const intents = mergeRanges(ranges('intent'));
  const known = ranges('unsent');
  return {
    runId,
    rows: total,
    fullRefresh: planned.kind === 'planned_full',
    closed: rows.some((r) => r.kind === 'closed' && String(r.run_id) === runId),
    inFlight: subtractRanges(intents, [...ranges('done'), ...known]),
    // Never dispatched, or (a batch refused whole) dispatched and known not applied.
    unsent: mergeRanges([...(total > 0 ? subtractRanges([[1, total]], intents) : []), ...known]),
  };
}

/**
 * Reads back what the sync's last plan left unsettled and makes it durable
 * state, in one transaction: rows in flight get a changelog row (outcome
 * unknown) and become pending with what they sent; after a full refresh, every
 * row it did not get acknowledged becomes owed; a run that died gets its unsent
 * rows recorded and its counts recomputed from its changelog. Then the log is
 * spent. Idempotent: a crash here leaves the log for the next run to read.
 */
export async function settleLastPlan(conn: WarehouseConnection, schema: string, sync: string, t: SyncTables, at: string): Promise<SettledPlan | null> {
  const d = conn.dialect;
  return conn.transaction(async () => {
    await conn.execute(abortStaleRunsSql(d, schema, sync, at));
    const log = await readPlanLog(conn, t);
    if (!log) {
      for (const sql of clearLogSql(d, t)) await conn.execute(sql);
      return null;
    }
    const [refused] = await conn.query(unacknowledgedOutcomesSql(t));
    const unacknowledged = rangeRows(log.inFlight) + rangeRows(log.unsent) + toNumber(refused?.n);
    if (log.inFlight.length > 0) await conn.execute(uncertainRowsSql(d, schema, t, log.runId, sync, log.inFlight, at));
    // A closed run recorded its unsent rows itself; one that died did not.
    if (!log.closed && log.unsent.length > 0) {
      await conn.execute(abortRowsSql(d, schema, t, log.runId, sync, log.unsent, at, 'not sent: the run stopped before it reached this row'));
    }
    for (const sql of pendingFromLogSql(d, t, t.pending, log.runId, log.inFlight, log.fullRefresh ? log.unsent : null)) await conn.execute(sql);
    if (log.inFlight.length > 0 || !log.closed) await conn.execute(recountRunSql(d, schema, log.runId, sync));
    for (const sql of clearLogSql(d, t)) await conn.execute(sql);
    return { ...log, unacknowledged };
  });
}

/**
 * For `audsync plan`, which changes no state: a private copy of the pending keys
 * with what the last plan left unsettled added, so the preview plans what a run
 * would. Returns the copy's relation.
 */
export async function previewPending(conn: WarehouseConnection, t: SyncTables, copy: string): Promise<{ relation: string; log: SettledPlan | null }> {
  const d = conn.dialect;
  for (const sql of d.createTableAs(copy, `SELECT record_key, op, fields_json, run_id FROM ${t.pending}`, { internal: true, scope: 'connection' })) await conn.execute(sql);
  const log = await readPlanLog(conn, t);
  if (!log) return { relation: copy, log: null };
  const [refused] = await conn.query(unacknowledgedOutcomesSql(t));
  for (const sql of pendingFromLogSql(d, t, copy, log.runId, log.inFlight, log.fullRefresh ? log.unsent : null)) await conn.execute(sql);
  return { relation: copy, log: { ...log, unacknowledged: rangeRows(log.inFlight) + rangeRows(log.unsent) + toNumber(refused?.n) } };
}

/** The plan just built is the one the log now speaks of. */
export async function logPlan(conn: WarehouseConnection, t: SyncTables, runId: string, rows: number, fullRefresh: boolean, at: string): Promise<void> {
  await conn.execute(logRangesSql(conn.dialect, t, runId, fullRefresh ? 'planned_full' : 'planned', [[1, rows]], at));
}

export async function logIntent(conn: WarehouseConnection, t: SyncTables, runId: string, ranges: readonly RowRange[], at: string): Promise<void> {
  await conn.execute(logRangesSql(conn.dialect, t, runId, 'intent', ranges, at));
}

/** One batch's exceptions: rows that did not plainly succeed, or got a destination id. */
export interface OutcomeException {
  readonly rowNo: number;
  readonly status: 'succeeded' | 'rejected' | 'failed';
  readonly destinationRecordId: string | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
}

/** Commits one batch in one transaction: its exceptions, the set-based changelog and snapshot writes, jobs it started, its log entry. */
export async function commitBatch(
  conn: WarehouseConnection,
  schema: string,
  t: SyncTables,
  c: BatchCommitSql,
  exceptions: readonly OutcomeException[],
  jobs: readonly JobRecord[],
): Promise<void> {
  const d: Dialect = conn.dialect;
  await conn.transaction(async () => {
    if (exceptions.length > 0) {
      await conn.bulkWrite(
        schema,
        t.outcomesName,
        exceptions.map((e) => [String(e.rowNo), e.status, e.destinationRecordId, e.errorCode, e.errorMessage]),
      );
    }
    for (const sql of commitBatchSql(d, schema, t, c)) await conn.execute(sql);
    if (jobs.length > 0) await conn.execute(insertJobsSql(d, schema, jobs));
  });
}

/**
 * At the end of a run: rows never sent are recorded as aborted (and settled in the
 * log, so an intent logged for a batch refused whole is not taken for one in
 * flight), and the log says the run closed.
 */
export async function closeRun(conn: WarehouseConnection, schema: string, sync: string, t: SyncTables, runId: string, unsent: readonly RowRange[], at: string, reason: string): Promise<void> {
  const d = conn.dialect;
  await conn.transaction(async () => {
    if (unsent.length > 0) {
      await conn.execute(abortRowsSql(d, schema, t, runId, sync, unsent, at, reason));
      await conn.execute(logRangesSql(d, t, runId, 'unsent', unsent, at));
    }
    await conn.execute(logRangesSql(d, t, runId, 'closed', [[0, 0]], at));
  });
}

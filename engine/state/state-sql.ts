import type { Dialect } from '../warehouse/dialect.js';
import { REJECTIONS_TABLE, ROW_HASH_SEALS_TABLE, type SyncTables } from '../plan/plan-tables.js';
import { createRejectionsTableSql } from './rejection-sql.js';
import { createAlertLogSql } from './alert-sql.js';

/**
 * SQL for the public governance tables of DESIGN.md §5. Column names and
 * meanings are a contract with BI dashboards: change them only deliberately.
 */
export function ensureStateTablesSql(d: Dialect, schema: string): string[] {
  const { text, bigint, double, timestamp, boolean } = d.types;
  const r = (name: string): string => d.relation(schema, name);
  return [
    d.createSchema(schema),
    `CREATE TABLE IF NOT EXISTS ${r('sync_runs')} (
      run_id ${text} NOT NULL, sync_name ${text} NOT NULL, model ${text}, destination ${text}, mode ${text},
      status ${text} NOT NULL, started_at ${timestamp} NOT NULL, finished_at ${timestamp},
      members ${bigint}, invalid ${bigint}, planned_add ${bigint}, planned_change ${bigint}, planned_remove ${bigint},
      succeeded_add ${bigint}, succeeded_change ${bigint}, succeeded_remove ${bigint}, rejected ${bigint}, failed ${bigint},
      full_refresh ${boolean}, error ${text})`,
    `CREATE TABLE IF NOT EXISTS ${r('sync_changelog')} (
      run_id ${text} NOT NULL, sync_name ${text} NOT NULL, record_key ${text} NOT NULL, op ${text} NOT NULL, status ${text} NOT NULL,
      destination_record_id ${text}, error_code ${text}, error_message ${text}, attempted_at ${timestamp} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${r('sync_run_metrics')} (
      run_id ${text} NOT NULL, sync_name ${text} NOT NULL, metric ${text} NOT NULL, value ${double} NOT NULL, recorded_at ${timestamp} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${r('destination_jobs')} (
      job_id ${text} NOT NULL, run_id ${text} NOT NULL, sync_name ${text} NOT NULL, destination ${text} NOT NULL, status ${text} NOT NULL,
      detail ${text}, created_at ${timestamp} NOT NULL, updated_at ${timestamp} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${r('audience_events')} (
      model ${text} NOT NULL, record_key ${text} NOT NULL, event ${text} NOT NULL, run_id ${text} NOT NULL, occurred_at ${timestamp} NOT NULL)`,
    createRejectionsTableSql(d, schema),
    createAlertLogSql(d, schema),
    // Shared by every sync, so created here, before syncs run side by side (--threads) and race to create it.
    ...(d.rowHashSeal ? [`CREATE TABLE IF NOT EXISTS ${r(ROW_HASH_SEALS_TABLE)} (sync_name ${text} NOT NULL, seal ${text} NOT NULL)`] : []),
    // Columns are only ever added at the end: CREATE OR REPLACE VIEW keeps existing columns in place.
    `CREATE OR REPLACE VIEW ${r('sync_health')} AS
      WITH ranked AS (
        SELECT r.*, row_number() OVER (PARTITION BY sync_name ORDER BY started_at DESC, run_id DESC) AS rn FROM ${r('sync_runs')} AS r
      ),
      last_ok AS (
        SELECT sync_name, max(finished_at) AS last_success_at FROM ${r('sync_runs')} WHERE status IN ('success', 'warning') GROUP BY sync_name
      )
      SELECT ranked.sync_name, ranked.run_id AS last_run_id, ranked.status AS last_status, ranked.started_at AS last_run_at,
        last_ok.last_success_at, ranked.members, COALESCE(ranked.rejected, 0) + COALESCE(ranked.failed, 0) AS pending_retries,
        ranked.model, ranked.destination, ranked.finished_at AS last_finished_at, ranked.error AS last_error,
        COALESCE(jobs.pending_jobs, 0) AS pending_jobs, COALESCE(quarantine.quarantined, 0) AS quarantined
      FROM ranked LEFT JOIN last_ok ON last_ok.sync_name = ranked.sync_name
      LEFT JOIN (SELECT sync_name, count(*) AS pending_jobs FROM ${r('destination_jobs')} WHERE status = 'pending' GROUP BY sync_name) AS jobs
        ON jobs.sync_name = ranked.sync_name
      LEFT JOIN (SELECT sync_name, count(*) AS quarantined FROM ${r(REJECTIONS_TABLE)} WHERE quarantined_at IS NOT NULL GROUP BY sync_name) AS quarantine
        ON quarantine.sync_name = ranked.sync_name
      WHERE ranked.rn = 1`,
  ];
}

export interface RunStart {
  runId: string;
  sync: string;
  model: string;
  destination: string;
  mode: string;
  startedAt: string;
  fullRefresh: boolean;
}

export function insertRunSql(d: Dialect, schema: string, run: RunStart): string {
  const q = (s: string): string => d.quoteLiteral(s);
  return `INSERT INTO ${d.relation(schema, 'sync_runs')} (run_id, sync_name, model, destination, mode, status, started_at, full_refresh)
VALUES (${q(run.runId)}, ${q(run.sync)}, ${q(run.model)}, ${q(run.destination)}, ${q(run.mode)}, 'running', CAST(${q(run.startedAt)} AS ${d.types.timestamp}), ${run.fullRefresh ? 'TRUE' : 'FALSE'})`;
}

export interface RunCounts {
  members: number;
  invalid: number;
  planned_add: number;
  planned_change: number;
  planned_remove: number;
  succeeded_add: number;
  succeeded_change: number;
  succeeded_remove: number;
  rejected: number;
  failed: number;
}

export function emptyCounts(): RunCounts {
  return { members: 0, invalid: 0, planned_add: 0, planned_change: 0, planned_remove: 0, succeeded_add: 0, succeeded_change: 0, succeeded_remove: 0, rejected: 0, failed: 0 };
}

/** `membersKnown` false: the run stopped before it counted the audience, so `members` stays NULL (unknown, not 0). */
export function finishRunSql(d: Dialect, schema: string, runId: string, sync: string, status: string, finishedAt: string, counts: RunCounts, error: string | null, membersKnown = true): string {
  const sets = Object.entries(counts).map(([k, v]) => (k === 'members' && !membersKnown ? 'members = NULL' : `${k} = ${Math.trunc(v)}`));
  return `UPDATE ${d.relation(schema, 'sync_runs')} SET status = ${d.quoteLiteral(status)}, finished_at = CAST(${d.quoteLiteral(finishedAt)} AS ${d.types.timestamp}), ${sets.join(', ')}, error = ${error === null ? 'NULL' : d.quoteLiteral(error)}
WHERE run_id = ${d.quoteLiteral(runId)} AND sync_name = ${d.quoteLiteral(sync)}`;
}

/** Runs left 'running' by a process that died: we hold the lock now, so their holder is gone. */
export function abortStaleRunsSql(d: Dialect, schema: string, sync: string, at: string): string {
  return `UPDATE ${d.relation(schema, 'sync_runs')} SET status = 'aborted', finished_at = CAST(${d.quoteLiteral(at)} AS ${d.types.timestamp}),
  error = 'the process running this sync stopped before it finished (killed or crashed); the next run completed the work'
WHERE sync_name = ${d.quoteLiteral(sync)} AND status = 'running'`;
}

/**
 * Records who entered and left the model since its last recorded run, and
 * moves the remembered key set by just that delta (rewriting it whole would
 * cost a write of every member on every run).
 */
export function audienceEventsSql(d: Dialect, schema: string, t: SyncTables, model: string, runId: string, at: string): string[] {
  const ts = `CAST(${d.quoteLiteral(at)} AS ${d.types.timestamp})`;
  // DISTINCT on the delta, not on the members: a key is in the membership once
  // (planSync checks) unless rows that cannot be sent repeat it, and deduplicating
  // the few entries and exits costs far less than deduplicating every member.
  const delta = `SELECT DISTINCT COALESCE(cur.record_key, prev.record_key) AS record_key, CASE WHEN prev.record_key IS NULL THEN 'enter' ELSE 'exit' END AS event
FROM (SELECT record_key FROM ${t.members} WHERE record_key IS NOT NULL) AS cur
FULL OUTER JOIN ${t.modelKeys} AS prev ON cur.record_key = prev.record_key
WHERE cur.record_key IS NULL OR prev.record_key IS NULL`;
  return [
    ...d.createTableAs(t.modelDelta, delta, { internal: true, scope: 'connection' }),
    `INSERT INTO ${d.relation(schema, 'audience_events')} (model, record_key, event, run_id, occurred_at)
SELECT ${d.quoteLiteral(model)}, record_key, event, ${d.quoteLiteral(runId)}, ${ts} FROM ${t.modelDelta}`,
    `DELETE FROM ${t.modelKeys} WHERE record_key IN (SELECT record_key FROM ${t.modelDelta} WHERE event = 'exit')`,
    `INSERT INTO ${t.modelKeys} (record_key) SELECT record_key FROM ${t.modelDelta} WHERE event = 'enter'`,
  ];
}

export function healthSql(d: Dialect, schema: string): string {
  return `SELECT * FROM ${d.relation(schema, 'sync_health')} ORDER BY sync_name`;
}

/** The last `limit` runs of each named sync, newest first, with their counts (`status --history N`). */
export function runHistorySql(d: Dialect, schema: string, syncs: readonly string[], limit: number): string {
  const names = syncs.map((s) => d.quoteLiteral(s)).join(', ');
  return `SELECT run_id, sync_name, status, started_at, finished_at, full_refresh, members, invalid, planned_add, planned_change, planned_remove,
  succeeded_add, succeeded_change, succeeded_remove, rejected, failed, error
FROM (
  SELECT r.*, row_number() OVER (PARTITION BY sync_name ORDER BY started_at DESC, run_id DESC) AS rn FROM ${d.relation(schema, 'sync_runs')} AS r
  WHERE sync_name IN (${names})
) AS h
WHERE rn <= ${Math.trunc(limit)}
ORDER BY sync_name, started_at DESC, run_id DESC`;
}

/** When each sync last started a run, in unix seconds; for `run --due`. */
export function lastStartedSql(d: Dialect, schema: string): string {
  return `SELECT sync_name, ${d.epochSeconds('max(started_at)')} AS last_started FROM ${d.relation(schema, 'sync_runs')} GROUP BY sync_name`;
}

/**
 * The sync's latest run, if it was a full refresh that stopped (failed or
 * aborted) after the destination acknowledged at least one row.
 */
export function interruptedFullRefreshSql(d: Dialect, schema: string, sync: string): string {
  const runs = d.relation(schema, 'sync_runs');
  const s = d.quoteLiteral(sync);
  return `SELECT r.run_id FROM (
  SELECT run_id, full_refresh, status FROM ${runs} WHERE sync_name = ${s} ORDER BY started_at DESC, run_id DESC LIMIT 1
) AS r
WHERE r.full_refresh AND r.status IN ('failed', 'aborted')
  AND EXISTS (SELECT 1 FROM ${d.relation(schema, 'sync_changelog')} AS c WHERE c.sync_name = ${s} AND c.run_id = r.run_id AND c.status = 'succeeded')`;
}

/**
 * Run metrics: rows excluded as invalid by reason, and what a destination
 * reported (e.g. received, invalid entries, match counts). One row per metric.
 */
export function insertMetricsSql(d: Dialect, schema: string, runId: string, sync: string, metrics: Readonly<Record<string, number>>, at: string): string | null {
  const entries = Object.entries(metrics).filter(([, v]) => Number.isFinite(v));
  if (entries.length === 0) return null;
  const ts = `CAST(${d.quoteLiteral(at)} AS ${d.types.timestamp})`;
  const values = entries.map(([k, v]) => `(${d.quoteLiteral(runId)}, ${d.quoteLiteral(sync)}, ${d.quoteLiteral(k)}, ${v}, ${ts})`);
  return `INSERT INTO ${d.relation(schema, 'sync_run_metrics')} (run_id, sync_name, metric, value, recorded_at) VALUES\n${values.join(',\n')}`;
}

export interface JobRecord {
  jobId: string;
  runId: string;
  sync: string;
  destination: string;
  detail: string;
  at: string;
}

/** Jobs a destination started during a batch; written in that batch's commit. */
export function insertJobsSql(d: Dialect, schema: string, jobs: readonly JobRecord[]): string {
  const ts = (at: string): string => `CAST(${d.quoteLiteral(at)} AS ${d.types.timestamp})`;
  const values = jobs.map(
    (j) => `(${d.quoteLiteral(j.jobId)}, ${d.quoteLiteral(j.runId)}, ${d.quoteLiteral(j.sync)}, ${d.quoteLiteral(j.destination)}, 'pending', ${d.quoteLiteral(j.detail)}, ${ts(j.at)}, ${ts(j.at)})`,
  );
  return `INSERT INTO ${d.relation(schema, 'destination_jobs')} (job_id, run_id, sync_name, destination, status, detail, created_at, updated_at) VALUES\n${values.join(',\n')}`;
}

/** The snapshot rows a failed job carried (their record id is the job's id): dropped, so the next plan sends them again. */
export function forgetJobRowsSql(d: Dialect, t: SyncTables, jobId: string): string {
  return `DELETE FROM ${t.snapshot} WHERE destination_record_id = ${d.quoteLiteral(jobId)}`;
}

export function pendingJobsSql(d: Dialect, schema: string, sync: string): string {
  return `SELECT job_id, run_id, detail FROM ${d.relation(schema, 'destination_jobs')} WHERE sync_name = ${d.quoteLiteral(sync)} AND status = 'pending' ORDER BY created_at`;
}

export function updateJobSql(d: Dialect, schema: string, sync: string, jobId: string, status: string, detail: string, at: string): string {
  return `UPDATE ${d.relation(schema, 'destination_jobs')} SET status = ${d.quoteLiteral(status)}, detail = ${d.quoteLiteral(detail)}, updated_at = CAST(${d.quoteLiteral(at)} AS ${d.types.timestamp})
WHERE sync_name = ${d.quoteLiteral(sync)} AND job_id = ${d.quoteLiteral(jobId)}`;
}

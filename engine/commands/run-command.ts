import { AudsyncError, LockError } from '../errors.js';
import type { NormalizedSync } from '../config/normalized-config.js';
import type { WarehouseConnection } from '../warehouse/connection.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';
import { planSync, prepareSync, type PreparedSync, type SyncPlan } from '../plan/sync-planner.js';
import { streamPlanSql } from '../plan/plan-sql.js';
import { runBatches, type RowOutcome } from '../run/batch-runner.js';
import { RateLimiter } from '../run/rate-limiter.js';
import {
  abortRemainingSql,
  abortStaleRunsSql,
  audienceEventsSql,
  commitBatchSql,
  emptyCounts,
  ensureStateTablesSql,
  finishRunSql,
  insertJobsSql,
  insertMetricsSql,
  type JobRecord,
  insertRunSql,
  interruptedFullRefreshSql,
  lastStartedSql,
  type RunCounts,
} from '../state/state-sql.js';
import { toNumber } from '../warehouse/connection.js';
import { connectDestination, destinationContext, resolveDestinationOptions } from './destination-connect.js';
import { refreshPendingJobs } from './destination-jobs.js';
import type { JsonValue } from '../destination/destination-api.js';
import { Redactor } from './redactor.js';
import type { Reporter, RunEvent, SyncStatus } from './run-events.js';
import { newRunId } from './run-id.js';
import { modelFileOf, openWorkspace, selectSyncs, type Workspace } from './workspace.js';

export interface RunOptions {
  config: string;
  select?: string;
  fullRefresh?: boolean;
  force?: boolean;
  due?: boolean;
  /** Only plan: materialize and diff, send nothing, write no run rows. */
  planOnly?: boolean;
  signal?: AbortSignal;
  now?: Date;
}

export interface SyncOutcome {
  readonly sync: string;
  readonly status: SyncStatus;
  readonly plan?: SyncPlan;
}

/**
 * `audsync run` and `audsync plan`. Everything that can be checked before sending
 * (config, templates, model SQL, columns, secrets) is checked for every selected
 * sync first, so a mistake stops the run before any sync starts.
 */
export async function runCommand(opts: RunOptions, report: Reporter): Promise<SyncOutcome[]> {
  const ws = await openWorkspace(opts.config);
  let syncs = selectSyncs(ws.config, opts.select);
  const redactor = new Redactor();
  const conn = await openWarehouse(ws.config);
  try {
    for (const sql of ensureStateTablesSql(conn.dialect, ws.config.stateSchema)) await conn.execute(sql);
    if (opts.due) syncs = await dueSyncs(conn, ws, syncs, opts.now ?? new Date(), report);
    const prepared: PreparedSync[] = [];
    for (const sync of syncs) {
      prepared.push(await prepareSync(conn, ws.compiler, ws.config, sync, modelFileOf(ws, sync.model)));
      if (!opts.planOnly) resolveDestinationOptions(ws.config.destinations[sync.destination]!, redactor);
    }
    const runId = newRunId(opts.now);
    const outcomes: SyncOutcome[] = [];
    for (const p of prepared) {
      if (opts.signal?.aborted) break;
      try {
        outcomes.push(opts.planOnly ? await planOnly(conn, ws, p, opts, report) : await runSync(conn, ws, p, runId, opts, redactor, report));
      } catch (e) {
        // Another run holds this sync: the other selected syncs still run; the exit code says one did not.
        if (!(e instanceof LockError)) throw e;
        report({ event: 'skipped', sync: p.sync.name, reason: `${e.message}${e.hint ? ` (${e.hint})` : ''}` });
        outcomes.push({ sync: p.sync.name, status: 'aborted' });
      }
    }
    return outcomes;
  } finally {
    await conn.close();
  }
}

function plannedEvent(plan: SyncPlan): RunEvent {
  return {
    event: 'planned',
    sync: plan.prepared.sync.name,
    members: plan.members,
    invalid: plan.invalid,
    invalid_reasons: plan.invalidReasons,
    snapshot: plan.snapshot,
    add: plan.add,
    change: plan.change,
    remove: plan.remove,
    guardrail: plan.guardrail,
  };
}

async function planOnly(conn: WarehouseConnection, ws: Workspace, p: PreparedSync, opts: RunOptions, report: Reporter): Promise<SyncOutcome> {
  const fullRefresh = await fullRefreshFor(conn, ws, p.sync, opts, report);
  const plan = await planSync(conn, p, { fullRefresh, force: !!opts.force });
  report(plannedEvent(plan));
  return { sync: p.sync.name, status: plan.guardrail ? 'aborted' : 'success', plan };
}

async function runSync(
  conn: WarehouseConnection,
  ws: Workspace,
  p: PreparedSync,
  runId: string,
  opts: RunOptions,
  redactor: Redactor,
  report: Reporter,
): Promise<SyncOutcome> {
  const { sync, tables } = p;
  const d = conn.dialect;
  const schema = ws.config.stateSchema;
  const dest = ws.config.destinations[sync.destination]!;
  const started = Date.now();
  const release = await conn.acquireRunLock(sync.name);
  const counts: RunCounts = emptyCounts();
  const metrics: Record<string, number> = {};
  const recordMetric = (name: string, value: number): void => {
    metrics[name] = (metrics[name] ?? 0) + value;
  };
  // Jobs a destination starts are queued here and written by the next batch commit.
  const jobs: JobRecord[] = [];
  const recordJob = (jobId: string, detail: JsonValue): void => {
    jobs.push({ jobId, runId, sync: sync.name, destination: dest.name, detail: JSON.stringify(detail), at: new Date().toISOString() });
  };
  // One limiter per run of the sync: batches in flight and the requests inside them share it.
  const limiter = new RateLimiter(dest.rateLimit);
  const throttle = (): Promise<void> => limiter.take();
  const contextFor = (plannedTotal: number) =>
    destinationContext(dest, sync, { runId, projectDir: ws.config.projectDir, redactor, fullRefresh, plannedTotal, recordMetric, recordJob, throttle });
  let fullRefresh = !!opts.fullRefresh;
  let status: SyncStatus = 'failed';
  let error: string | null = null;
  let hint: string | null = null;
  let plan: SyncPlan | undefined;
  try {
    const nowIso = new Date().toISOString();
    await conn.execute(abortStaleRunsSql(d, schema, sync.name, nowIso));
    fullRefresh = await fullRefreshFor(conn, ws, sync, opts, report);
    await conn.execute(insertRunSql(d, schema, { runId, sync: sync.name, model: sync.model, destination: sync.destination, mode: sync.mode, startedAt: nowIso, fullRefresh }));
    report({ event: 'sync_started', sync: sync.name, run_id: runId, destination: sync.destination, mode: sync.mode, full_refresh: fullRefresh });
    try {
      if (dest.definition.refreshJobs) {
        try {
          const changed = await refreshPendingJobs(conn, schema, dest, sync, contextFor(0));
          if (changed > 0) report({ event: 'jobs_refreshed', sync: sync.name, changed });
        } catch (e) {
          // A job status we cannot read now is read by a later run; it must not stop this one.
          report({ event: 'warning', sync: sync.name, message: `could not refresh pending destination jobs: ${redactor.redact((e as Error).message)}` });
        }
      }
      plan = await planSync(conn, p, { fullRefresh, force: !!opts.force });
      Object.assign(counts, { members: plan.members, invalid: plan.invalid, planned_add: plan.add, planned_change: plan.change, planned_remove: plan.remove });
      report(plannedEvent(plan));
      for (const [reason, n] of Object.entries(plan.invalidReasons)) recordMetric(`invalid: ${reason}`, n);
      if (plan.guardrail) {
        status = 'aborted';
        error = `guardrail: ${plan.guardrail}; nothing was sent`;
        hint = 'If this change is intended, rerun with --force, or raise the guardrail in the sync config.';
        return { sync: sync.name, status, plan };
      }
      // Two syncs of one model may run at once (each has its own lock): the model's key set changes in one locked transaction.
      await conn.transaction(async () => {
        const lock = d.lockForWrite(tables.modelKeys);
        if (lock) await conn.execute(lock);
        for (const sql of audienceEventsSql(d, schema, tables, sync.model, runId, new Date().toISOString())) await conn.execute(sql);
      });
      const planned = plan.add + plan.change + plan.remove;
      if (planned === 0) {
        status = 'success';
        return { sync: sync.name, status, plan };
      }
      const client = await connectDestination(dest, contextFor(planned));
      let result;
      try {
        result = await runBatches(conn.stream(streamPlanSql(tables, fullRefresh)), {
          runId,
          client,
          batchSize: dest.batchSize,
          concurrency: dest.concurrency,
          ...(dest.definition.throttlesRequests ? {} : { throttleBatch: throttle }),
          maxAttempts: dest.maxAttempts,
          retryBaseDelayMs: dest.retryBaseDelayMs,
          planned,
          redact: redactor.redact,
          signal: opts.signal,
          commit: (outcomes) => commitOutcomes(conn, schema, p, runId, outcomes, jobs.splice(0), fullRefresh),
          onProgress: (progress) => report({ event: 'progress', sync: sync.name, progress }),
          onRetry: (r) => report({ event: 'retry', sync: sync.name, batch_id: r.batchId, attempt: r.attempt, delay_ms: r.delayMs, reason: r.reason }),
        });
      } finally {
        await client.close?.();
        // Jobs started by a batch that never reached a commit (the sync stopped) are still tracked.
        if (jobs.length > 0) await conn.execute(insertJobsSql(d, schema, jobs.splice(0)));
      }
      const pr = result.progress;
      Object.assign(counts, { succeeded_add: pr.succeeded.add, succeeded_change: pr.succeeded.change, succeeded_remove: pr.succeeded.remove, rejected: pr.rejected, failed: pr.failed });
      if (result.fatal || result.interrupted) {
        const reason = result.fatal ? redactor.redact(result.fatal.message) : 'interrupted before this row was sent';
        await conn.execute(abortRemainingSql(d, schema, tables, runId, sync.name, new Date().toISOString(), reason.slice(0, 1000)));
        status = result.fatal ? 'failed' : 'aborted';
        error = result.fatal ? reason : 'interrupted (signal); rows not sent are planned again next run';
        hint = result.fatal instanceof AudsyncError ? (result.fatal.hint ?? null) : null;
      } else {
        status = pr.rejected + pr.failed > 0 ? 'warning' : 'success';
        if (status === 'warning') error = `${pr.rejected} rejected, ${pr.failed} failed; they are retried next run`;
      }
      return { sync: sync.name, status, plan };
    } catch (e) {
      status = 'failed';
      error = redactor.redact((e as Error).message ?? String(e));
      // Anything that is not an AudsyncError is a bug: recorded on the run, then shown with its stack.
      if (!(e instanceof AudsyncError)) throw e;
      hint = e.hint ?? null;
      return { sync: sync.name, status, plan };
    }
  } finally {
    const at = new Date().toISOString();
    await conn.execute(finishRunSql(d, schema, runId, sync.name, status, at, counts, error)).catch(() => undefined);
    const metricsSql = insertMetricsSql(d, schema, runId, sync.name, metrics, at);
    if (metricsSql) await conn.execute(metricsSql).catch(() => undefined);
    await release();
    report({ event: 'sync_finished', sync: sync.name, run_id: runId, status, counts, error, hint, duration_ms: Date.now() - started });
  }
}

/**
 * `--full-refresh`, or a resumed one: when the destination replaces its contents on
 * a full refresh and the sync's last run was such a refresh that stopped after
 * sending something, the destination may hold only part of the audience (emptied,
 * or a replace session abandoned) while the snapshot says it holds all of it.
 */
async function fullRefreshFor(conn: WarehouseConnection, ws: Workspace, sync: NormalizedSync, opts: RunOptions, report: Reporter): Promise<boolean> {
  if (opts.fullRefresh) return true;
  if (!ws.config.destinations[sync.destination]!.definition.replacesOnFullRefresh?.includes(sync.mode)) return false;
  const [interrupted] = await conn.query(interruptedFullRefreshSql(conn.dialect, ws.config.stateSchema, sync.name));
  if (!interrupted) return false;
  report({
    event: 'warning',
    sync: sync.name,
    message: `run ${String(interrupted.run_id)} was a full refresh that stopped after the destination began replacing its contents: this run resumes it as a full refresh`,
  });
  return true;
}

/** Writes one batch's outcomes (and jobs the destination started) and advances the snapshot, in one transaction. */
async function commitOutcomes(
  conn: WarehouseConnection,
  schema: string,
  p: PreparedSync,
  runId: string,
  outcomes: readonly RowOutcome[],
  jobs: readonly JobRecord[],
  fullRefresh: boolean,
): Promise<void> {
  const keepRemoved = p.sync.mode === 'remove';
  // An incremental run plans an add only for a key the snapshot lacks, and plans each key once.
  const mayReplace = fullRefresh || outcomes.some((o) => o.status === 'succeeded' && o.operation.op !== 'add');
  const rows = outcomes.map((o) => {
    const op = o.operation;
    const keep = o.status === 'succeeded' && (op.op !== 'remove' || keepRemoved) ? 'y' : 'n';
    return [runId, p.sync.name, op.key, op.op, o.status, o.destinationRecordId, o.errorCode, o.errorMessage, o.attemptedAt, op.fieldsJson, op.rowHash, keep];
  });
  await conn.transaction(async () => {
    await conn.bulkWrite(schema, p.tables.stageName, rows);
    for (const sql of commitBatchSql(conn.dialect, schema, p.tables, mayReplace)) await conn.execute(sql);
    if (jobs.length > 0) await conn.execute(insertJobsSql(conn.dialect, schema, jobs));
  });
}

/** Syncs whose cron schedule has fired since their last run started. */
async function dueSyncs(conn: WarehouseConnection, ws: Workspace, syncs: NormalizedSync[], now: Date, report: Reporter): Promise<NormalizedSync[]> {
  const last = new Map<string, number>();
  for (const r of await conn.query(lastStartedSql(conn.dialect, ws.config.stateSchema))) last.set(String(r.sync_name), toNumber(r.last_started) * 1000);
  return syncs.filter((s) => {
    if (!s.schedule) {
      report({ event: 'skipped', sync: s.name, reason: 'no schedule (run it without --due)' });
      return false;
    }
    const fired = s.schedule.previous(now);
    const lastRun = last.get(s.name);
    const due = fired !== null && (lastRun === undefined || lastRun < fired.getTime());
    if (!due) report({ event: 'skipped', sync: s.name, reason: `not due (schedule ${s.schedule.expression}, last run ${lastRun ? new Date(lastRun).toISOString() : 'never'})` });
    return due;
  });
}


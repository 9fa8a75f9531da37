import { AudsyncError } from '../errors.js';
import { MODES } from '../vocabulary/sync-modes.js';
import type { NormalizedConfig } from '../config/normalized-config.js';
import type { JsonValue } from '../destination/destination-api.js';
import type { WarehouseConnection } from '../warehouse/connection.js';
import { ensureSyncTables, planSync, type PreparedSync, type SyncPlan } from '../plan/sync-planner.js';
import { rejectionCountsSql, streamPlanSql } from '../plan/plan-sql.js';
import { subtractRanges } from '../plan/row-ranges.js';
import { runBatches, type CommitGrouping, type SettledBatch } from '../run/batch-runner.js';
import { RateLimiter } from '../destination/rate-limiter.js';
import { closeRun, commitBatch, logIntent, logPlan, settleLastPlan, type OutcomeException } from '../state/plan-log.js';
import { audienceEventsSql, emptyCounts, finishRunSql, insertJobsSql, insertMetricsSql, insertRunSql, type JobRecord, type RunCounts } from '../state/state-sql.js';
import type { Redactor } from '../vocabulary/redactor.js';
import { connectDestination, destinationContext } from './destination-connect.js';
import { refreshPendingJobs } from './destination-jobs.js';
import { decideFullRefresh } from './full-refresh-resume.js';
import { plannedEvent, type Reporter, type SyncStatus } from './run-events.js';
import { CauseTally, deliveryVerdict } from './run-verdict.js';
import { newlyQuarantinedSql, releaseStaleRejectionsSql } from '../state/rejection-sql.js';
import { toNumber } from '../warehouse/connection.js';

export interface SyncOutcome {
  readonly sync: string;
  readonly status: SyncStatus;
  readonly plan?: SyncPlan;
  readonly runId?: string;
  readonly counts?: RunCounts;
  readonly error?: string | null;
  readonly hint?: string | null;
  readonly durationMs?: number;
}

export interface SyncRunParams {
  readonly conn: WarehouseConnection;
  readonly config: NormalizedConfig;
  readonly prepared: PreparedSync;
  readonly runId: string;
  readonly fullRefresh: boolean;
  readonly force: boolean;
  readonly signal?: AbortSignal;
  readonly redactor: Redactor;
  readonly report: Reporter;
}

/**
 * One sync's run, start to finish: lock; read back what the last plan left
 * unsettled; plan (reconciling it); guardrails; stream the plan in batches,
 * each logged before it is sent and committed after; record what was never
 * sent; finish the run row. Whatever stops it, the batches in flight are
 * drained before the run row is finished and the lock released.
 */
export async function runSync(p: SyncRunParams): Promise<SyncOutcome> {
  let finished: SyncOutcome | undefined;
  const outcome = await runSyncOnce(p, (o) => (finished = o));
  return { ...outcome, ...finished };
}

async function runSyncOnce(p: SyncRunParams, onFinished: (o: SyncOutcome) => void): Promise<SyncOutcome> {
  const { conn, config, prepared, runId, redactor, report } = p;
  const { sync, tables } = prepared;
  const d = conn.dialect;
  const schema = config.stateSchema;
  const dest = config.destinations[sync.destination]!;
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
  let fullRefresh = p.fullRefresh;
  const contextFor = (plannedTotal: number) =>
    destinationContext(dest, sync, { runId, projectDir: config.projectDir, redactor, fullRefresh, plannedTotal, recordMetric, recordJob, throttle });
  let status: SyncStatus = 'failed';
  let error: string | null = null;
  let hint: string | null = null;
  let plan: SyncPlan | undefined;
  let runRowWritten = false;
  let newlyQuarantined = 0;
  try {
    await ensureSyncTables(conn, prepared);
    const settled = await settleLastPlan(conn, schema, sync.name, tables, new Date().toISOString());
    fullRefresh = await decideFullRefresh(conn, config, sync, settled, p.fullRefresh, report);
    await conn.execute(insertRunSql(d, schema, { runId, sync: sync.name, model: sync.model, destination: sync.destination, mode: sync.mode, startedAt: new Date().toISOString(), fullRefresh }));
    runRowWritten = true;
    report({ event: 'sync_started', sync: sync.name, run_id: runId, destination: sync.destination, mode: sync.mode, full_refresh: fullRefresh });
    try {
      if (dest.definition.refreshJobs) {
        try {
          const changed = await refreshPendingJobs(conn, schema, dest, sync, contextFor(0), redactor);
          if (changed > 0) report({ event: 'jobs_refreshed', sync: sync.name, changed });
        } catch (e) {
          // A job status we cannot read now is read by a later run; it must not stop this one.
          report({ event: 'warning', sync: sync.name, message: `could not refresh pending destination jobs: ${redactor.redact((e as Error).message)}` });
        }
      }
      plan = await planSync(conn, prepared, { fullRefresh, force: p.force });
      Object.assign(counts, { members: plan.members, invalid: plan.invalid, planned_add: plan.add, planned_change: plan.change, planned_remove: plan.remove });
      report(plannedEvent(plan));
      // Refusals of rows that left or changed no longer count towards quarantine.
      if (plan.tracked > 0) await conn.execute(releaseStaleRejectionsSql(d, tables, sync.name));
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
      await logPlan(conn, tables, runId, planned, fullRefresh, new Date().toISOString());
      const reconciling = plan.pending > 0;
      const causes = new CauseTally();
      const client = await connectDestination(dest, contextFor(planned), redactor);
      let result;
      try {
        result = await runBatches(conn.stream(streamPlanSql(tables)), {
          runId,
          sync: sync.name,
          client,
          batchSize: dest.batchSize,
          concurrency: dest.concurrency,
          ...(dest.definition.throttlesRequests ? {} : { throttleBatch: throttle }),
          maxAttempts: dest.maxAttempts,
          retryBaseDelayMs: dest.retryBaseDelayMs,
          planned,
          redact: redactor.redact,
          signal: p.signal,
          grouping: COMMIT_GROUPING,
          logIntent: (ranges) => logIntent(conn, tables, runId, ranges, new Date().toISOString()),
          commit: async (batches) => {
            const batchJobs = jobs.splice(0);
            try {
              await commitOutcomes(conn, schema, prepared, runId, batches, batchJobs, fullRefresh, reconciling, plan!.tracked > 0);
            } catch (e) {
              jobs.unshift(...batchJobs);
              throw e;
            }
            for (const b of batches) causes.add(b.exceptions);
          },
          onProgress: (progress) => report({ event: 'progress', sync: sync.name, progress }),
          onRetry: (r) => report({ event: 'retry', sync: sync.name, batch_id: r.batchId, attempt: r.attempt, delay_ms: r.delayMs, reason: r.reason }),
        });
      } finally {
        await client.close?.();
      }
      // Jobs started by a batch that never reached a commit (the sync stopped) are still tracked.
      if (jobs.length > 0) await conn.execute(insertJobsSql(d, schema, jobs.splice(0)));
      const pr = result.progress;
      Object.assign(counts, { succeeded_add: pr.succeeded.add, succeeded_change: pr.succeeded.change, succeeded_remove: pr.succeeded.remove, rejected: pr.rejected, failed: pr.failed });
      if (pr.rejected > 0) {
        const [q] = await conn.query(newlyQuarantinedSql(d, tables, sync.name, runId));
        newlyQuarantined = toNumber(q?.n);
      }
      const stopReason = result.fatal ? redactor.redact(result.fatal.message).slice(0, 1000) : 'interrupted before this row was sent';
      await closeRun(conn, schema, sync.name, tables, runId, subtractRanges([[1, planned]], result.dispatched), new Date().toISOString(), stopReason);
      if (result.fatal || result.interrupted) {
        status = result.fatal ? 'failed' : 'aborted';
        error = result.fatal ? stopReason : 'interrupted (signal); rows not sent are planned again next run';
        hint = result.fatal instanceof AudsyncError ? (result.fatal.hint ?? null) : null;
      } else {
        ({ status, error, hint } = deliveryVerdict(sync, planned, pr, causes, newlyQuarantined));
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
    // How many turns the rate limit handed out: one per request a destination counts, else one per batch attempt.
    if (limiter.turns > 0) recordMetric('rate_limit.turns', limiter.turns);
    if (runRowWritten) {
      await conn.execute(finishRunSql(d, schema, runId, sync.name, status, at, counts, error, plan !== undefined)).catch(() => undefined);
    }
    // Counted after the run: refusals of rows that left or changed were released, new ones may have been added.
    let quarantined = plan?.quarantined ?? 0;
    if (plan && (plan.tracked > 0 || counts.rejected > 0)) {
      const [q] = await conn.query(rejectionCountsSql(d, tables, sync.name)).catch(() => [undefined]);
      if (q) quarantined = toNumber(q.quarantined);
    }
    if (quarantined > 0) recordMetric('quarantined', quarantined);
    if (runRowWritten) {
      const metricsSql = insertMetricsSql(d, schema, runId, sync.name, metrics, at);
      if (metricsSql) await conn.execute(metricsSql).catch(() => undefined);
    }
    await release();
    const durationMs = Date.now() - started;
    onFinished({ sync: sync.name, status, runId, counts, error, hint, durationMs });
    report({ event: 'sync_finished', sync: sync.name, run_id: runId, status, counts, quarantined, newly_quarantined: newlyQuarantined, error, hint, duration_ms: durationMs });
  }
}

/**
 * Settled batches are committed together about once a second (a slow
 * destination's batches one by one), up to a million rows: each DuckDB commit
 * costs a WAL write and a sync, and a transaction of a row group (122,880
 * rows) or more is written straight to the database file; an initial load of
 * 3,000,000 rows spent 9 s in 300 per-batch commits. A crash leaves about a
 * second of deliveries uncertain, which the next run reconciles. Intents reach
 * 131,072 rows ahead, so a batch rarely waits for a write before it goes out.
 */
const COMMIT_GROUPING: CommitGrouping = { rows: 1_048_576, maxDelayMs: 1_000, intentAheadRows: 131_072 };

/** Writes settled batches' outcomes: only the exceptions travel from JavaScript; the rest is set-based from the plan. */
async function commitOutcomes(
  conn: WarehouseConnection,
  schema: string,
  p: PreparedSync,
  runId: string,
  batches: readonly SettledBatch[],
  jobs: readonly JobRecord[],
  fullRefresh: boolean,
  reconciling: boolean,
  hadTracked: boolean,
): Promise<void> {
  const exceptions: OutcomeException[] = batches.flatMap((b) =>
    b.exceptions.map((o) => ({ rowNo: o.operation.rowNo, status: o.status, destinationRecordId: o.destinationRecordId, errorCode: o.errorCode, errorMessage: o.errorMessage })),
  );
  const mayReplace = fullRefresh || batches.some((b) => b.replacesSnapshot);
  const hasFailed = batches.some((b) => b.failed > 0);
  const hasRejected = batches.some((b) => b.rejected > 0);
  await commitBatch(
    conn,
    schema,
    p.tables,
    {
      runId,
      sync: p.sync.name,
      batches: batches.map((b) => ({ ranges: b.batch.ranges, attemptedAt: b.attemptedAt })),
      mayReplace,
      keepRemoved: MODES[p.sync.mode].snapshotKeepsRemoved,
      settlesPending: reconciling,
      hasFailed,
      hasRejected,
      hadTracked,
      quarantineAfterRuns: p.sync.guardrails.quarantineAfterRuns,
    },
    exceptions,
    jobs,
  );
}

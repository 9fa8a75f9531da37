import { AudsyncError, LockError } from '../errors.js';
import type { NormalizedSync } from '../config/normalized-config.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';
import { prepareSync, type PreparedSync } from '../plan/sync-planner.js';
import { ensureStateTablesSql } from '../state/state-sql.js';
import { resolveDestinationOptions } from '../sync/destination-connect.js';
import type { Reporter } from '../sync/run-events.js';
import { runSync, type SyncOutcome } from '../sync/sync-run.js';
import { recordPreparationFailure } from '../sync/sync-failure.js';
import { writeRunResults } from '../sync/run-results.js';
import { Redactor } from '../vocabulary/redactor.js';
import { newRunId } from './run-id.js';
import { modelFileOf, openWorkspace, selectSyncs, unpausedSyncs, type ProjectRef } from './workspace.js';
import { runInLanes } from '../sync/sync-lanes.js';
import { liveRunWriter } from '../sync/live-run-file.js';
import { readHealth } from '../sync/sync-health.js';
import { hasAlerts } from '../alerts/has-alerts.js';
import type { WarehouseConnection } from '../warehouse/connection.js';

export type { SyncOutcome } from '../sync/sync-run.js';

export interface RunOptions extends ProjectRef {
  select?: string;
  fullRefresh?: boolean;
  force?: boolean;
  due?: boolean;
  /** Stop at the first sync that fails or aborts; the rest are skipped. */
  failFast?: boolean;
  /** Only plan: materialize and diff, send nothing, write no run rows. */
  planOnly?: boolean;
  /** Syncs run at once, each on a connection of its own (default 1). Syncs of one model run one after another. */
  threads?: number;
  signal?: AbortSignal;
  now?: Date;
}

const stoppedBad = (o: SyncOutcome): boolean => o.status === 'failed' || o.status === 'aborted';

/**
 * `audsync run` and `audsync plan`: maps the command onto the sync stage.
 * A config that cannot be loaded stops everything (a usage error). Past that,
 * each sync stands alone: one whose preparation fails (model, columns, secrets)
 * is recorded as failed and the others still run, unless `failFast`.
 */
export async function runCommand(opts: RunOptions, reportTo: Reporter): Promise<SyncOutcome[]> {
  const startedAt = new Date();
  const ws = await openWorkspace(opts);
  let syncs = unpausedSyncs(selectSyncs(ws.config, opts.select), reportTo);
  const redactor = new Redactor();
  const runId = newRunId(opts.now);
  const args = { select: opts.select ?? null, full_refresh: !!opts.fullRefresh, force: !!opts.force, due: !!opts.due, fail_fast: !!opts.failFast };
  let conn: WarehouseConnection;
  try {
    conn = await openWarehouse(ws.config);
  } catch (e) {
    // No sync could start (warehouse unreachable, DuckDB file held): run_results.json still says so, never an old run's results.
    if (!opts.planOnly && e instanceof AudsyncError) {
      const status = e instanceof LockError ? 'aborted' : 'failed';
      const outcomes = syncs.map((s): SyncOutcome => ({ sync: s.name, status, error: redactor.redact(e.message), hint: e.hint ?? null }));
      writeRunResults(ws.config.projectDir, { runId, startedAt, args, outcomes, report: reportTo });
    }
    throw e;
  }
  // Embedded DuckDB: nobody else can open the file during the run, so `status` reads this file instead.
  const live = ws.config.warehouse.type === 'duckdb' ? liveRunWriter(ws.config.projectDir, runId, opts.planOnly ? 'plan' : 'run', reportTo) : undefined;
  const report = live?.report ?? reportTo;
  const outcomes: SyncOutcome[] = [];
  /** A sync that did not run: reported with the reason, and counted as aborted. */
  const skipped = (sync: NormalizedSync, reason: string): SyncOutcome => {
    report({ event: 'skipped', sync: sync.name, reason });
    return { sync: sync.name, status: 'aborted', error: reason };
  };
  const stopReason = (): string | undefined =>
    opts.signal?.aborted ? 'interrupted (signal) before it started' : opts.failFast && outcomes.some(stoppedBad) ? '--fail-fast: an earlier sync did not succeed' : undefined;
  try {
    for (const sql of ensureStateTablesSql(conn.dialect, ws.config.stateSchema)) await conn.execute(sql);
    // Modules only some runs need are loaded by those runs (--due, plan, alerts): start-up is paid by every run.
    if (opts.due) syncs = await (await import('../sync/due-syncs.js')).dueSyncs(conn, ws.config, syncs, opts.now ?? new Date(), report);
    live?.start(await readHealth(conn, ws.config.stateSchema), syncs.map((s) => s.name));
    // Every selected sync is checked before any sends, so mistakes show up front.
    const prepared: PreparedSync[] = [];
    for (const sync of syncs) {
      const stop = stopReason();
      if (stop) {
        outcomes.push(skipped(sync, stop));
        continue;
      }
      try {
        const p = await prepareSync(conn, ws.compiler, ws.config, sync, modelFileOf(ws, sync.model));
        if (!opts.planOnly) resolveDestinationOptions(ws.config.destinations[sync.destination]!, redactor);
        prepared.push(p);
      } catch (e) {
        if (!(e instanceof AudsyncError)) throw e;
        outcomes.push(await recordPreparationFailure(conn, ws.config, sync, runId, e, redactor, report, !opts.planOnly));
      }
    }
    const runOne = async (c: WarehouseConnection, p: PreparedSync): Promise<SyncOutcome> => {
      const stop = stopReason();
      if (stop) return skipped(p.sync, stop);
      try {
        return opts.planOnly
          ? await (await import('../sync/sync-preview.js')).previewSync(c, ws.config, p, !!opts.fullRefresh, !!opts.force, report)
          : await runSync({ conn: c, config: ws.config, prepared: p, runId, fullRefresh: !!opts.fullRefresh, force: !!opts.force, signal: opts.signal, redactor, report });
      } catch (e) {
        // Another run holds this sync: the other selected syncs still run; the exit code says one did not.
        if (!(e instanceof LockError)) throw e;
        return skipped(p.sync, `${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      }
    };
    await runInLanes(conn, prepared, opts.threads ?? 1, runOne, (o) => outcomes.push(o));
    // Outcomes in the order the syncs were selected, whatever order the lanes finished in.
    const order = new Map(syncs.map((s, i) => [s.name, i]));
    outcomes.sort((a, b) => (order.get(a.sync) ?? 0) - (order.get(b.sync) ?? 0));
    if (!opts.planOnly && hasAlerts(ws.config)) await (await import('../alerts/alert-checks.js')).alertAfterRun(conn, ws.config, runId, outcomes, report, redactor);
    return outcomes;
  } finally {
    // Marked finished only after the file lock is released: `status` always finds either the lock's holder live or the database free.
    await conn.close().finally(() => live?.finish());
    if (!opts.planOnly) writeRunResults(ws.config.projectDir, { runId, startedAt, args, outcomes, report });
  }
}

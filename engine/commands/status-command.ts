import { openWorkspace, selectSyncs, type ProjectRef, type Workspace } from './workspace.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';
import { ensureStateTablesSql } from '../state/state-sql.js';
import type { Row, WarehouseConnection } from '../warehouse/connection.js';
import { destinationContext } from '../sync/destination-connect.js';
import { refreshPendingJobs } from '../sync/destination-jobs.js';
import { readHealth, readLastStarted, readRunHistory, syncStatuses, type SyncStatusRow } from '../sync/sync-health.js';
import { readLiveRun, type LiveRun } from '../sync/live-run-file.js';
import { LockError } from '../errors.js';
import { alertStaleness } from '../alerts/alert-checks.js';
import { Redactor } from '../vocabulary/redactor.js';
import { newRunId } from './run-id.js';
import type { Reporter } from '../sync/run-events.js';

export interface StatusOptions extends ProjectRef {
  select?: string;
  /** First ask destinations about jobs still pending and record their final state. */
  refresh?: boolean;
  /** Unhealthy when a selected sync has had no successful run within this long. */
  maxAgeMs?: number;
  /** Send `noSuccessFor` alerts for syncs that have gone stale (once per stale period). */
  check?: boolean;
  /** Also return the last N runs of each selected sync. */
  history?: number;
  now?: Date;
}

export interface StatusResult {
  readonly syncs: SyncStatusRow[];
  readonly history: Row[];
  /** The run holding an embedded DuckDB file, when status read its status file instead of the database. */
  readonly live: LiveRun | undefined;
  readonly healthy: boolean;
}

/**
 * `audsync status`: a health check over the selected syncs (sync_health plus the
 * config: paused syncs, schedules, syncs never run, orphaned state). On DuckDB,
 * while a run holds the database file, it reads the run's status file instead.
 */
export async function statusCommand(opts: StatusOptions, report: Reporter): Promise<StatusResult> {
  const ws = await openWorkspace(opts);
  const selected = selectSyncs(ws.config, opts.select);
  const now = opts.now ?? new Date();
  const input = { config: ws.config, selected, now, maxAgeMs: opts.maxAgeMs, orphans: !opts.select };
  let conn: WarehouseConnection;
  try {
    conn = await openWarehouse(ws.config);
  } catch (e) {
    const live = e instanceof LockError && ws.config.warehouse.type === 'duckdb' ? readLiveRun(ws.config.projectDir) : undefined;
    if (!live) throw e;
    const syncs = syncStatuses({ ...input, health: live.health, lastStarted: new Map(), live });
    return { syncs, history: [], live, healthy: syncs.every((s) => s.healthy) };
  }
  try {
    const schema = ws.config.stateSchema;
    for (const sql of ensureStateTablesSql(conn.dialect, schema)) await conn.execute(sql);
    if (opts.refresh) await refreshJobs(ws, conn, report);
    if (opts.check) await alertStaleness(conn, ws.config, report, new Redactor(), now);
    const syncs = syncStatuses({ ...input, health: await readHealth(conn, schema), lastStarted: await readLastStarted(conn, schema) });
    const history = opts.history && selected.length > 0 ? await readRunHistory(conn, schema, selected.map((s) => s.name), opts.history) : [];
    return { syncs, history, live: undefined, healthy: syncs.every((s) => s.healthy) };
  } finally {
    await conn.close();
  }
}

async function refreshJobs(ws: Workspace, conn: WarehouseConnection, report: Reporter): Promise<void> {
  const redactor = new Redactor();
  const runId = newRunId();
  for (const sync of Object.values(ws.config.syncs)) {
    const dest = ws.config.destinations[sync.destination]!;
    if (!dest.definition.refreshJobs) continue;
    const ctx = destinationContext(dest, sync, { runId, projectDir: ws.config.projectDir, redactor, fullRefresh: false, plannedTotal: 0, recordMetric: () => undefined, recordJob: () => undefined });
    let changed: number;
    try {
      changed = await refreshPendingJobs(conn, ws.config.stateSchema, dest, sync, ctx, redactor);
    } catch (e) {
      // A vendor's error body can echo a credential or a token minted during the refresh.
      if (e instanceof Error) e.message = redactor.redact(e.message);
      throw e;
    }
    if (changed > 0) report({ event: 'jobs_refreshed', sync: sync.name, changed });
  }
}

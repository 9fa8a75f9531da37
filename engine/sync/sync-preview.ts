import type { NormalizedConfig } from '../config/normalized-config.js';
import type { WarehouseConnection } from '../warehouse/connection.js';
import { tableName } from '../plan/plan-tables.js';
import { ensureSyncTables, planSync, type PreparedSync } from '../plan/sync-planner.js';
import { previewPending } from '../state/plan-log.js';
import { decideFullRefresh } from './full-refresh-resume.js';
import { plannedEvent, type Reporter } from './run-events.js';
import type { SyncOutcome } from './sync-run.js';

/**
 * `audsync plan` for one sync: what a run would send now, reconciliation
 * included, with no durable state changed. It holds the sync's run lock while
 * it works, so it never shares working tables with a run of the same sync: a
 * plan during a run is refused, naming the holder.
 */
export async function previewSync(conn: WarehouseConnection, config: NormalizedConfig, prepared: PreparedSync, fullRefresh: boolean, force: boolean, report: Reporter): Promise<SyncOutcome> {
  const { sync } = prepared;
  const release = await conn.acquireRunLock(sync.name);
  try {
    await ensureSyncTables(conn, prepared);
    const working = (kind: string): string => conn.dialect.workingRelation(config.stateSchema, tableName(kind, sync.name), 'connection');
    const pending = await previewPending(conn, prepared.tables, working('pending_preview'));
    const full = await decideFullRefresh(conn, config, sync, pending.log, fullRefresh, report);
    const plan = await planSync(conn, prepared, { fullRefresh: full, force, preview: { plan: working('plan_preview'), pending: pending.relation } });
    report(plannedEvent(plan));
    return { sync: sync.name, status: plan.guardrail ? 'aborted' : 'success', plan };
  } finally {
    await release();
  }
}

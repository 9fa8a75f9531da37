import { namedSync, openWorkspace, type ProjectRef, type Workspace } from './workspace.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';
import { ensureStateTablesSql } from '../state/state-sql.js';
import { forgetSync, orphanedSyncs, type ForgetReport } from '../sync/sync-forget.js';
import type { WarehouseConnection } from '../warehouse/connection.js';

/** Asked with what would be dropped; resolves true to go ahead. */
export type Confirm = (planned: readonly ForgetReport[]) => Promise<boolean>;

export interface ForgetResult {
  readonly reports: ForgetReport[];
  /** False when nothing was dropped: a dry run, or the confirmation said no. */
  readonly applied: boolean;
}

/**
 * `audsync reset <sync>`: forgets what the destination was acknowledged to hold
 * (snapshot, plan, quarantine, pending jobs), so the next run is a first load.
 * History (sync_runs, changelog) stays. Nothing is sent or removed at the destination.
 */
export async function resetCommand(opts: ProjectRef & { sync: string; confirm: Confirm }): Promise<ForgetResult> {
  return withState(opts, async (ws, conn) => {
    const sync = namedSync(ws.config, opts.sync, 'reset');
    const forget = (dryRun: boolean): Promise<ForgetReport> => forgetSync(conn, ws.config.stateSchema, sync.name, sync.model, { history: false, dryRun });
    const planned = await forget(true);
    if (!(await opts.confirm([planned]))) return { reports: [planned], applied: false };
    return { reports: [await forget(false)], applied: true };
  });
}

/**
 * `audsync prune`: removes all state of syncs that are in the state but no longer
 * in the config (deleted or renamed): their tables and their governance rows.
 */
export async function pruneCommand(opts: ProjectRef & { dryRun: boolean; confirm: Confirm }): Promise<ForgetResult> {
  return withState(opts, async (ws, conn) => {
    const orphans = await orphanedSyncs(conn, ws.config.stateSchema, new Set(Object.keys(ws.config.syncs)));
    const forget = async (dryRun: boolean): Promise<ForgetReport[]> => {
      const out: ForgetReport[] = [];
      for (const o of orphans) out.push(await forgetSync(conn, ws.config.stateSchema, o.sync, o.model, { history: true, dryRun }));
      return out;
    };
    const planned = await forget(true);
    if (opts.dryRun || planned.length === 0 || !(await opts.confirm(planned))) return { reports: planned, applied: false };
    return { reports: await forget(false), applied: true };
  });
}

async function withState<T>(ref: ProjectRef, fn: (ws: Workspace, conn: WarehouseConnection) => Promise<T>): Promise<T> {
  const ws = await openWorkspace(ref);
  const conn = await openWarehouse(ws.config);
  try {
    for (const sql of ensureStateTablesSql(conn.dialect, ws.config.stateSchema)) await conn.execute(sql);
    return await fn(ws, conn);
  } finally {
    await conn.close();
  }
}

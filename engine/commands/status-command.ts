import { openWorkspace } from './workspace.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';
import { ensureStateTablesSql, healthSql } from '../state/state-sql.js';
import { toNumber, type Row } from '../warehouse/connection.js';

/** `audsync status`: the sync_health view, one row per sync, plus configured syncs never run. */
export async function statusCommand(opts: { config: string }): Promise<Row[]> {
  const ws = await openWorkspace(opts.config);
  const conn = await openWarehouse(ws.config);
  try {
    for (const sql of ensureStateTablesSql(conn.dialect, ws.config.stateSchema)) await conn.execute(sql);
    const rows: Row[] = (await conn.query(healthSql(conn.dialect, ws.config.stateSchema))).map((r) => ({
      ...r,
      members: r.members === null ? null : toNumber(r.members),
      pending_retries: toNumber(r.pending_retries),
    }));
    const seen = new Set(rows.map((r) => String(r.sync_name)));
    for (const name of Object.keys(ws.config.syncs)) {
      if (!seen.has(name)) rows.push({ sync_name: name, last_run_id: null, last_status: 'never_run', last_run_at: null, last_success_at: null, members: null, pending_retries: null });
    }
    return rows;
  } finally {
    await conn.close();
  }
}

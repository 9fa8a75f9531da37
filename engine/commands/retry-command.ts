import { namedSync, openWorkspace, type ProjectRef } from './workspace.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';
import { ensureStateTablesSql } from '../state/state-sql.js';
import { releaseQuarantineSql } from '../state/rejection-sql.js';
import { syncTables } from '../plan/plan-tables.js';
import { rejectionCountsSql } from '../plan/plan-sql.js';
import { toNumber } from '../warehouse/connection.js';

export interface RetryResult {
  readonly sync: string;
  /** Quarantined rows released: the next run sends them again. */
  readonly released: number;
}

/**
 * `audsync retry --sync s [--key k]`: releases a sync's quarantined rows (or one
 * key's) so that the next run sends them again. Changes no other state and sends
 * nothing: a refusal that persists starts a new streak.
 */
export async function retryCommand(opts: ProjectRef & { sync: string; key?: string }): Promise<RetryResult> {
  const ws = await openWorkspace(opts);
  const sync = namedSync(ws.config, opts.sync, 'retry');
  const conn = await openWarehouse(ws.config);
  try {
    const d = conn.dialect;
    const schema = ws.config.stateSchema;
    for (const sql of ensureStateTablesSql(d, schema)) await conn.execute(sql);
    const t = syncTables(d, schema, sync.name, sync.model);
    return await conn.transaction(async () => {
      const before = toNumber((await conn.query(rejectionCountsSql(d, t, sync.name)))[0]?.quarantined);
      await conn.execute(releaseQuarantineSql(d, schema, sync.name, opts.key));
      const after = toNumber((await conn.query(rejectionCountsSql(d, t, sync.name)))[0]?.quarantined);
      return { sync: sync.name, released: before - after };
    });
  } finally {
    await conn.close();
  }
}

import { syncTables } from '../plan/plan-tables.js';
import { historyRowsSql, knownSyncsSql, resetRowsSql, syncStateRelations } from '../state/forget-sql.js';
import { toNumber, type WarehouseConnection } from '../warehouse/connection.js';

/** What forgetting a sync drops (or, in a dry run, would drop). */
export interface ForgetReport {
  readonly sync: string;
  /** Tables that existed, with their row counts. */
  readonly tables: Array<{ relation: string; rows: number }>;
  /** Rows of shared tables, by table. */
  readonly rows: Record<string, number>;
}

/**
 * Drops a sync's state under its run lock, so no run of it is half-way through:
 * its snapshot and plan tables (its next run is a first load), its quarantine and
 * pending jobs, and with `history` its rows in every governance table too.
 * In a dry run, only counts.
 */
export async function forgetSync(conn: WarehouseConnection, schema: string, sync: string, model: string, opts: { history: boolean; dryRun: boolean }): Promise<ForgetReport> {
  const d = conn.dialect;
  const release = await conn.acquireRunLock(sync);
  try {
    const tables: ForgetReport['tables'] = [];
    for (const relation of syncStateRelations(syncTables(d, schema, sync, model))) {
      const rows = await countOrAbsent(conn, `SELECT count(*) AS n FROM ${relation}`);
      if (rows !== undefined) tables.push({ relation, rows });
    }
    const rows: Record<string, number> = {};
    const shared = opts.history ? historyRowsSql(d, schema, sync) : resetRowsSql(d, schema, sync);
    for (const s of shared) rows[s.table] = toNumber((await conn.query(s.count))[0]?.n);
    if (!opts.dryRun) {
      await conn.transaction(async () => {
        for (const t of tables) await conn.execute(d.dropTable(t.relation));
        for (const s of shared) if (rows[s.table]) await conn.execute(s.remove);
      });
    }
    return { sync, tables, rows };
  } finally {
    await release();
  }
}

/** Syncs the state has runs of that the config does not name, with their last model. */
export async function orphanedSyncs(conn: WarehouseConnection, schema: string, configured: ReadonlySet<string>): Promise<Array<{ sync: string; model: string }>> {
  return (await conn.query(knownSyncsSql(conn.dialect, schema)))
    .map((r) => ({ sync: String(r.sync_name), model: String(r.model ?? '') }))
    .filter((r) => !configured.has(r.sync));
}

/** A row count, or undefined when the table does not exist (never created, or already dropped). */
async function countOrAbsent(conn: WarehouseConnection, sql: string): Promise<number | undefined> {
  try {
    return toNumber((await conn.query(sql))[0]?.n);
  } catch {
    return undefined;
  }
}

import type { Dialect } from '../warehouse/dialect.js';
import { REJECTIONS_TABLE, ROW_HASH_SEALS_TABLE, type SyncTables } from '../plan/plan-tables.js';

/**
 * The tables that hold one sync's state: what the destination was acknowledged
 * to hold, the plan in flight, and the working tables where a warehouse keeps
 * them between runs (PostgreSQL keeps them unlogged in the state schema).
 */
export function syncStateRelations(t: SyncTables): string[] {
  return [t.snapshot, t.plan, t.planLog, t.outcomes, t.pending, t.members, t.modelDelta, t.planKeys, ...t.retired];
}

/** Governance tables with a sync_name column: a sync's history, for `prune`. */
export const HISTORY_TABLES = ['sync_runs', 'sync_changelog', 'sync_run_metrics', 'destination_jobs', REJECTIONS_TABLE] as const;

/** The sync's row of row_hash_seals, where the warehouse seals its row hash: it describes the snapshot being dropped. */
function sealRows(d: Dialect, schema: string, sync: string): Array<{ table: string; count: string; remove: string }> {
  if (d.rowHashSeal === null) return [];
  const seals = d.relation(schema, ROW_HASH_SEALS_TABLE);
  const s = d.quoteLiteral(sync);
  return [{ table: ROW_HASH_SEALS_TABLE, count: `SELECT count(*) AS n FROM ${seals} WHERE sync_name = ${s}`, remove: `DELETE FROM ${seals} WHERE sync_name = ${s}` }];
}

/** Rows `reset` drops beside the tables: quarantine and jobs still pending (they point into the snapshot being forgotten). */
export function resetRowsSql(d: Dialect, schema: string, sync: string): Array<{ table: string; count: string; remove: string }> {
  const s = d.quoteLiteral(sync);
  const rejections = d.relation(schema, REJECTIONS_TABLE);
  const jobs = d.relation(schema, 'destination_jobs');
  return [
    ...sealRows(d, schema, sync),
    { table: REJECTIONS_TABLE, count: `SELECT count(*) AS n FROM ${rejections} WHERE sync_name = ${s}`, remove: `DELETE FROM ${rejections} WHERE sync_name = ${s}` },
    {
      table: 'destination_jobs (pending)',
      count: `SELECT count(*) AS n FROM ${jobs} WHERE sync_name = ${s} AND status = 'pending'`,
      remove: `DELETE FROM ${jobs} WHERE sync_name = ${s} AND status = 'pending'`,
    },
  ];
}

/** Every row of a sync in the governance tables, for `prune` of a sync no longer in the config. */
export function historyRowsSql(d: Dialect, schema: string, sync: string): Array<{ table: string; count: string; remove: string }> {
  const s = d.quoteLiteral(sync);
  return [
    ...HISTORY_TABLES.map((name) => ({
      table: name,
      count: `SELECT count(*) AS n FROM ${d.relation(schema, name)} WHERE sync_name = ${s}`,
      remove: `DELETE FROM ${d.relation(schema, name)} WHERE sync_name = ${s}`,
    })),
    ...sealRows(d, schema, sync),
  ];
}

/** Every sync the state has a run of, with the model of its latest run. */
export function knownSyncsSql(d: Dialect, schema: string): string {
  return `SELECT sync_name, model FROM (
  SELECT sync_name, model, row_number() OVER (PARTITION BY sync_name ORDER BY started_at DESC, run_id DESC) AS rn FROM ${d.relation(schema, 'sync_runs')}
) AS k WHERE rn = 1 ORDER BY sync_name`;
}

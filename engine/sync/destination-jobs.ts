import type { NormalizedDestination, NormalizedSync } from '../config/normalized-config.js';
import type { DestinationContext, JsonValue, PendingJob } from '../destination/destination-api.js';
import { parseJsonLossless } from '../destination/lossless-json.js';
import { forgetJobRowsSql, pendingJobsSql, updateJobSql } from '../state/state-sql.js';
import { syncTables } from '../plan/plan-tables.js';
import type { WarehouseConnection } from '../warehouse/connection.js';
import type { Redactor } from '../vocabulary/redactor.js';
import { callDestination } from './destination-connect.js';

/**
 * Asks the destination about jobs earlier runs left pending (uploads that finish
 * hours later) and writes what it says to destination_jobs. A job that failed
 * did not change the destination: the snapshot forgets the rows whose record id
 * is that job's id, so the next plan sends them again. Returns how many jobs
 * changed state.
 */
export async function refreshPendingJobs(
  conn: WarehouseConnection,
  schema: string,
  dest: NormalizedDestination,
  sync: NormalizedSync,
  ctx: DestinationContext<unknown>,
  redactor: Redactor,
): Promise<number> {
  const refresh = dest.definition.refreshJobs;
  if (!refresh) return 0;
  const rows = await conn.query(pendingJobsSql(conn.dialect, schema, sync.name));
  if (rows.length === 0) return 0;
  const jobs: PendingJob[] = rows.map((r) => ({
    jobId: String(r.job_id),
    runId: String(r.run_id),
    detail: r.detail === null ? null : (parseJsonLossless(String(r.detail)) as JsonValue),
  }));
  const updates = await callDestination(dest, redactor, () => refresh.call(dest.definition, ctx, jobs));
  const at = new Date().toISOString();
  let changed = 0;
  for (const u of updates) {
    if (u.status === 'pending') continue;
    await conn.transaction(async () => {
      await conn.execute(updateJobSql(conn.dialect, schema, sync.name, u.jobId, u.status, JSON.stringify(u.detail), at));
      if (u.status === 'failed') await conn.execute(forgetJobRowsSql(conn.dialect, syncTables(conn.dialect, schema, sync.name, sync.model), u.jobId));
    });
    changed += 1;
  }
  return changed;
}

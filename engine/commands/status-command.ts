import { openWorkspace } from './workspace.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';
import { ensureStateTablesSql, healthSql } from '../state/state-sql.js';
import { toNumber, type Row } from '../warehouse/connection.js';
import { destinationContext } from '../sync/destination-connect.js';
import { refreshPendingJobs } from '../sync/destination-jobs.js';
import { Redactor } from './redactor.js';
import { newRunId } from './run-id.js';
import type { Reporter } from '../sync/run-events.js';

/**
 * `audsync status`: the sync_health view, one row per sync, plus configured syncs
 * never run. With `refresh`, first asks destinations about jobs still pending
 * (e.g. Customer Match uploads) and records their final state.
 */
export async function statusCommand(opts: { config: string; refresh?: boolean }, report: Reporter): Promise<Row[]> {
  const ws = await openWorkspace(opts.config);
  const conn = await openWarehouse(ws.config);
  try {
    const schema = ws.config.stateSchema;
    for (const sql of ensureStateTablesSql(conn.dialect, schema)) await conn.execute(sql);
    if (opts.refresh) {
      const redactor = new Redactor();
      const runId = newRunId();
      for (const sync of Object.values(ws.config.syncs)) {
        const dest = ws.config.destinations[sync.destination]!;
        if (!dest.definition.refreshJobs) continue;
        const ctx = destinationContext(dest, sync, { runId, projectDir: ws.config.projectDir, redactor, fullRefresh: false, plannedTotal: 0, recordMetric: () => undefined, recordJob: () => undefined });
        let changed: number;
        try {
          changed = await refreshPendingJobs(conn, schema, dest, sync, ctx);
        } catch (e) {
          // A vendor's error body can echo a credential or a token minted during the refresh.
          if (e instanceof Error) e.message = redactor.redact(e.message);
          throw e;
        }
        if (changed > 0) report({ event: 'jobs_refreshed', sync: sync.name, changed });
      }
    }
    const rows: Row[] = (await conn.query(healthSql(conn.dialect, schema))).map((r) => ({
      ...r,
      members: r.members === null ? null : toNumber(r.members),
      pending_retries: toNumber(r.pending_retries),
      pending_jobs: toNumber(r.pending_jobs),
    }));
    const seen = new Set(rows.map((r) => String(r.sync_name)));
    for (const name of Object.keys(ws.config.syncs)) {
      if (!seen.has(name)) rows.push({ sync_name: name, last_run_id: null, last_status: 'never_run', last_run_at: null, last_success_at: null, members: null, pending_retries: null, pending_jobs: 0 });
    }
    return rows;
  } finally {
    await conn.close();
  }
}

import { LockError } from '../errors.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';
import { prepareSync, type PreparedSync } from '../plan/sync-planner.js';
import { ensureStateTablesSql } from '../state/state-sql.js';
import { resolveDestinationOptions } from '../sync/destination-connect.js';
import { dueSyncs } from '../sync/due-syncs.js';
import type { Reporter } from '../sync/run-events.js';
import { runSync, type SyncOutcome } from '../sync/sync-run.js';
import { previewSync } from '../sync/sync-preview.js';
import { Redactor } from './redactor.js';
import { newRunId } from './run-id.js';
import { modelFileOf, openWorkspace, selectSyncs } from './workspace.js';

export type { SyncOutcome } from '../sync/sync-run.js';

export interface RunOptions {
  config: string;
  select?: string;
  fullRefresh?: boolean;
  force?: boolean;
  due?: boolean;
  /** Only plan: materialize and diff, send nothing, write no run rows. */
  planOnly?: boolean;
  signal?: AbortSignal;
  now?: Date;
}

/**
 * `audsync run` and `audsync plan`: maps the command onto the sync stage.
 * Everything that can be checked before sending (config, templates, model SQL,
 * columns, secrets) is checked for every selected sync first, so a mistake
 * stops the run before any sync starts.
 */
export async function runCommand(opts: RunOptions, report: Reporter): Promise<SyncOutcome[]> {
  const ws = await openWorkspace(opts.config);
  let syncs = selectSyncs(ws.config, opts.select);
  const redactor = new Redactor();
  const conn = await openWarehouse(ws.config);
  try {
    for (const sql of ensureStateTablesSql(conn.dialect, ws.config.stateSchema)) await conn.execute(sql);
    if (opts.due) syncs = await dueSyncs(conn, ws.config, syncs, opts.now ?? new Date(), report);
    const prepared: PreparedSync[] = [];
    for (const sync of syncs) {
      prepared.push(await prepareSync(conn, ws.compiler, ws.config, sync, modelFileOf(ws, sync.model)));
      if (!opts.planOnly) resolveDestinationOptions(ws.config.destinations[sync.destination]!, redactor);
    }
    const runId = newRunId(opts.now);
    const outcomes: SyncOutcome[] = [];
    for (const p of prepared) {
      if (opts.signal?.aborted) break;
      try {
        outcomes.push(
          opts.planOnly
            ? await previewSync(conn, ws.config, p, !!opts.fullRefresh, !!opts.force, report)
            : await runSync({ conn, config: ws.config, prepared: p, runId, fullRefresh: !!opts.fullRefresh, force: !!opts.force, signal: opts.signal, redactor, report }),
        );
      } catch (e) {
        // Another run holds this sync: the other selected syncs still run; the exit code says one did not.
        if (!(e instanceof LockError)) throw e;
        report({ event: 'skipped', sync: p.sync.name, reason: `${e.message}${e.hint ? ` (${e.hint})` : ''}` });
        outcomes.push({ sync: p.sync.name, status: 'aborted' });
      }
    }
    return outcomes;
  } finally {
    await conn.close();
  }
}

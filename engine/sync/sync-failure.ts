import type { NormalizedConfig, NormalizedSync } from '../config/normalized-config.js';
import type { AudsyncError } from '../errors.js';
import type { WarehouseConnection } from '../warehouse/connection.js';
import { emptyCounts, finishRunSql, insertRunSql } from '../state/state-sql.js';
import type { Redactor } from '../vocabulary/redactor.js';
import type { Reporter } from './run-events.js';
import type { SyncOutcome } from './sync-run.js';

/**
 * A sync that could not be prepared (its model does not compile or the
 * warehouse rejects it, a column or a secret is missing): recorded as a failed
 * run with its error, so status, sync_health and alerts see it, while the other
 * selected syncs still run. `plan` records nothing (it writes no run rows).
 */
export async function recordPreparationFailure(
  conn: WarehouseConnection,
  config: NormalizedConfig,
  sync: NormalizedSync,
  runId: string,
  err: AudsyncError,
  redactor: Redactor,
  report: Reporter,
  writeRunRow: boolean,
): Promise<SyncOutcome> {
  const error = redactor.redact(err.message).slice(0, 4000);
  const hint = err.hint === undefined ? null : redactor.redact(err.hint);
  const at = new Date().toISOString();
  if (writeRunRow) {
    const d = conn.dialect;
    const schema = config.stateSchema;
    await conn.execute(insertRunSql(d, schema, { runId, sync: sync.name, model: sync.model, destination: sync.destination, mode: sync.mode, startedAt: at, fullRefresh: false }));
    await conn.execute(finishRunSql(d, schema, runId, sync.name, 'failed', at, emptyCounts(), error, false));
  }
  report({ event: 'sync_finished', sync: sync.name, run_id: runId, status: 'failed', counts: emptyCounts(), quarantined: 0, newly_quarantined: 0, error, hint, duration_ms: 0 });
  return { sync: sync.name, status: 'failed', runId, counts: emptyCounts(), error, hint, durationMs: 0 };
}

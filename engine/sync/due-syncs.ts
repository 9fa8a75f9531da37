import type { NormalizedConfig, NormalizedSync } from '../config/normalized-config.js';
import { lastStartedSql } from '../state/state-sql.js';
import { toNumber, type WarehouseConnection } from '../warehouse/connection.js';
import type { Reporter } from './run-events.js';

/** Syncs whose cron schedule has fired since their last run started (`run --due`). */
export async function dueSyncs(conn: WarehouseConnection, config: NormalizedConfig, syncs: NormalizedSync[], now: Date, report: Reporter): Promise<NormalizedSync[]> {
  const last = new Map<string, number>();
  for (const r of await conn.query(lastStartedSql(conn.dialect, config.stateSchema))) last.set(String(r.sync_name), toNumber(r.last_started) * 1000);
  return syncs.filter((s) => {
    if (!s.schedule) {
      report({ event: 'skipped', sync: s.name, reason: 'no schedule (run it without --due)' });
      return false;
    }
    const fired = s.schedule.previous(now);
    const lastRun = last.get(s.name);
    const due = fired !== null && (lastRun === undefined || lastRun < fired.getTime());
    if (!due) report({ event: 'skipped', sync: s.name, reason: `not due (schedule ${s.schedule.expression}, last run ${lastRun ? new Date(lastRun).toISOString() : 'never'})` });
    return due;
  });
}

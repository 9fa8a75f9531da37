import type { NormalizedConfig, NormalizedSync } from '../config/normalized-config.js';
import type { WarehouseConnection } from '../warehouse/connection.js';
import { rangeRows } from '../plan/row-ranges.js';
import type { SettledPlan } from '../state/plan-log.js';
import { interruptedFullRefreshSql } from '../state/state-sql.js';
import type { Reporter } from './run-events.js';

/**
 * Whether this run is a full refresh, and what the user is told about the last
 * plan. Every interrupted full refresh is resumed: its unacknowledged rows are
 * owed (pending), so this run's plan sends them whatever the snapshot says.
 * Where the destination replaces its contents on a full refresh (a replace
 * session that a partial refresh leaves emptied or abandoned), the resume is a
 * full refresh of its own.
 */
export async function decideFullRefresh(
  conn: WarehouseConnection,
  config: NormalizedConfig,
  sync: NormalizedSync,
  settled: SettledPlan | null,
  asked: boolean,
  report: Reporter,
): Promise<boolean> {
  const warn = (message: string): void => report({ event: 'warning', sync: sync.name, message });
  const replaces = config.destinations[sync.destination]!.definition.replacesOnFullRefresh?.includes(sync.mode) ?? false;
  const inFlight = settled ? rangeRows(settled.inFlight) : 0;
  if (settled?.fullRefresh && settled.unacknowledged > 0) {
    const what = `run ${settled.runId} was a full refresh that stopped before the destination acknowledged ${settled.unacknowledged} of its ${settled.rows} rows`;
    if (asked) return true;
    if (replaces) {
      warn(`${what}: the destination replaces its contents on a full refresh, so this run resumes it as a full refresh`);
      return true;
    }
    warn(`${what}: this run sends those rows again (members with their current fields, removes for who left)${inFlight > 0 ? `, ${inFlight} of them with an unknown outcome` : ''}`);
    return false;
  }
  if (inFlight > 0) {
    warn(`run ${settled!.runId} stopped with ${inFlight} rows in flight whose outcome is unknown: this run reconciles them with the current audience (members are sent their current fields, keys that left are removed)`);
  }
  if (asked || !replaces || settled) return asked;
  // State written before the plan log existed: read the run history instead.
  const [interrupted] = await conn.query(interruptedFullRefreshSql(conn.dialect, config.stateSchema, sync.name));
  if (!interrupted) return false;
  warn(`run ${String(interrupted.run_id)} was a full refresh that stopped after the destination began replacing its contents: this run resumes it as a full refresh`);
  return true;
}

import type { NormalizedConfig, NormalizedSync } from '../config/normalized-config.js';
import { formatDuration } from '../config/duration.js';
import { emptyCounts, healthSql, lastStartedSql, runHistorySql } from '../state/state-sql.js';
import { toNumber, type Row, type SqlValue, type WarehouseConnection } from '../warehouse/connection.js';
import type { LiveRun } from './live-run-file.js';
import type { HealthRow } from './health-row.js';

export type { HealthRow } from './health-row.js';

/** What `audsync status` says about one sync. */
export interface SyncStatusRow extends HealthRow {
  /** `active`, `paused` (in the config), or `orphaned` (in the state, not in the config). */
  state: 'active' | 'paused' | 'orphaned';
  paused_reason: string | null;
  schedule: string | null;
  /** When the schedule next makes the sync due for `run --due`; the time it became due when it already is. */
  next_due_at: string | null;
  due_now: boolean;
  /** Rows sent of the plan, while a run is sending this sync (DuckDB status during a run). */
  progress: { done: number; planned: number } | null;
  healthy: boolean;
  problem: string | null;
}

const text = (v: SqlValue | undefined): string | null => (v === null || v === undefined ? null : String(v));

export async function readHealth(conn: WarehouseConnection, schema: string): Promise<HealthRow[]> {
  return (await conn.query(healthSql(conn.dialect, schema))).map((r) => ({
    sync_name: String(r.sync_name),
    last_run_id: text(r.last_run_id),
    last_status: String(r.last_status),
    last_run_at: text(r.last_run_at),
    last_finished_at: text(r.last_finished_at),
    last_success_at: text(r.last_success_at),
    last_error: text(r.last_error),
    model: text(r.model),
    destination: text(r.destination),
    members: r.members === null || r.members === undefined ? null : toNumber(r.members),
    pending_retries: r.pending_retries === null ? null : toNumber(r.pending_retries),
    pending_jobs: toNumber(r.pending_jobs),
    quarantined: toNumber(r.quarantined),
  }));
}

/** When each sync last started a run, in ms since the epoch (for next due times). */
export async function readLastStarted(conn: WarehouseConnection, schema: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of await conn.query(lastStartedSql(conn.dialect, schema))) out.set(String(r.sync_name), toNumber(r.last_started) * 1000);
  return out;
}

/** The last `limit` runs of each named sync, newest first, counts as numbers (NULL stays null: never counted). */
export async function readRunHistory(conn: WarehouseConnection, schema: string, syncs: readonly string[], limit: number): Promise<Row[]> {
  const counts = Object.keys(emptyCounts());
  return (await conn.query(runHistorySql(conn.dialect, schema, syncs, limit))).map((r) => {
    const out: Row = { ...r, full_refresh: r.full_refresh === true || r.full_refresh === 'true' };
    for (const c of counts) out[c] = r[c] === null || r[c] === undefined ? null : toNumber(r[c]);
    return out;
  });
}

export interface StatusInput {
  readonly config: NormalizedConfig;
  readonly selected: readonly NormalizedSync[];
  readonly health: readonly HealthRow[];
  readonly lastStarted: ReadonlyMap<string, number>;
  readonly now: Date;
  /** A sync without a successful run within this long is unhealthy. */
  readonly maxAgeMs?: number;
  /** List syncs the state knows and the config does not (only when nothing was selected by name). */
  readonly orphans: boolean;
  readonly live?: LiveRun;
}

const never = (name: string, s: NormalizedSync | undefined): HealthRow => ({
  sync_name: name,
  last_run_id: null,
  last_status: 'never_run',
  last_run_at: null,
  last_finished_at: null,
  last_success_at: null,
  last_error: null,
  model: s?.model ?? null,
  destination: s?.destination ?? null,
  members: null,
  pending_retries: null,
  pending_jobs: 0,
  quarantined: 0,
});

/**
 * The status of each selected sync as a health check: unhealthy when its last
 * run failed or aborted, or (with `maxAgeMs`) when it has no successful run that
 * recent. Paused and orphaned syncs are shown, never unhealthy.
 */
export function syncStatuses(input: StatusInput): SyncStatusRow[] {
  const byName = new Map(input.health.map((h) => [h.sync_name, h]));
  const rows: SyncStatusRow[] = [];
  for (const sync of input.selected) {
    const base = { ...(byName.get(sync.name) ?? never(sync.name, sync)) };
    // The config says what the sync is now; the last run said what it was.
    base.model = sync.model;
    base.destination = sync.destination;
    const live = input.live?.syncs[sync.name];
    let progress: SyncStatusRow['progress'] = null;
    if (live && input.live) {
      if (live.state === 'running') {
        base.last_status = 'running';
        base.last_run_id = input.live.run_id;
        progress = { done: live.done, planned: live.planned };
      } else if (live.state === 'finished' && live.status) {
        base.last_status = live.status;
        base.last_run_id = input.live.run_id;
        base.last_error = live.error;
        if (live.status === 'success' || live.status === 'warning') base.last_success_at = input.live.updated_at;
      }
    }
    const due = nextDue(sync, input.lastStarted.get(sync.name), input.now);
    const row: SyncStatusRow = {
      ...base,
      state: sync.paused === undefined ? 'active' : 'paused',
      paused_reason: sync.paused ?? null,
      schedule: sync.schedule?.expression ?? null,
      next_due_at: due.at,
      due_now: due.now,
      progress,
      healthy: true,
      problem: null,
    };
    if (row.state === 'active') row.problem = problemOf(row, input.now, input.maxAgeMs);
    row.healthy = row.problem === null;
    rows.push(row);
  }
  if (input.orphans) {
    for (const h of input.health) {
      if (input.config.syncs[h.sync_name]) continue;
      rows.push({ ...h, state: 'orphaned', paused_reason: null, schedule: null, next_due_at: null, due_now: false, progress: null, healthy: true, problem: null });
    }
  }
  return rows;
}

function problemOf(row: SyncStatusRow, now: Date, maxAgeMs: number | undefined): string | null {
  if (row.last_status === 'failed' || row.last_status === 'aborted') {
    return `last run ${row.last_status}${row.last_error ? `: ${row.last_error}` : ''}`;
  }
  if (maxAgeMs === undefined) return null;
  if (row.last_success_at === null) return `no successful run yet (--max-age ${formatDuration(maxAgeMs)})`;
  const age = now.getTime() - warehouseTime(row.last_success_at);
  if (age > maxAgeMs) return `no successful run for ${formatDuration(age)} (--max-age ${formatDuration(maxAgeMs)})`;
  return null;
}

/**
 * A timestamp as the state tables return it, in ms. They hold UTC: text such
 * as `2026-12-03 07:40:43.362+00`, `...T07:40:43Z`, or with no zone at all.
 */
export function warehouseTime(text: string): number {
  let iso = text.trim().replace(' ', 'T');
  if (/[+-]\d\d$/.test(iso)) iso += ':00';
  else if (!/(Z|[+-]\d\d:?\d\d)$/.test(iso)) iso += 'Z';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`cannot read the timestamp "${text}"`);
  return ms;
}

/** Due now (since when the schedule fired) if it fired since the last start; else the next firing. */
function nextDue(sync: NormalizedSync, lastStarted: number | undefined, now: Date): { at: string | null; now: boolean } {
  if (!sync.schedule) return { at: null, now: false };
  const fired = sync.schedule.previous(now);
  if (fired && (lastStarted === undefined || lastStarted < fired.getTime())) return { at: fired.toISOString(), now: true };
  return { at: sync.schedule.next(now)?.toISOString() ?? null, now: false };
}

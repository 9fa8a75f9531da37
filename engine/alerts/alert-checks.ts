import type { NormalizedConfig } from '../config/normalized-config.js';
import { hasAlerts } from './has-alerts.js';
import { alertBaselineSql, alertMemorySql } from '../state/alert-sql.js';
import { toNumber, type WarehouseConnection } from '../warehouse/connection.js';
import { readHealth, warehouseTime } from '../sync/sync-health.js';
import type { Reporter } from '../sync/run-events.js';
import type { SyncOutcome } from '../sync/sync-run.js';
import { runAlerts, staleAlert, type Alert } from './alert-triggers.js';
import { sendAlerts, type Redact } from './alert-send.js';

interface Memory {
  lastProblem: number | null;
  lastRecovery: number | null;
  lastStale: number | null;
}

const secondsToMs = (v: unknown): number | null => (v === null || v === undefined ? null : toNumber(v as number) * 1000);

async function readMemory(conn: WarehouseConnection, schema: string): Promise<Map<string, Memory>> {
  const out = new Map<string, Memory>();
  for (const r of await conn.query(alertMemorySql(conn.dialect, schema))) {
    out.set(String(r.sync_name), { lastProblem: secondsToMs(r.last_problem), lastRecovery: secondsToMs(r.last_recovery), lastStale: secondsToMs(r.last_stale) });
  }
  return out;
}

/** Staleness of every configured, unpaused sync with `noSuccessFor`. */
async function staleAlerts(conn: WarehouseConnection, config: NormalizedConfig, memory: Map<string, Memory>, firstStarted: Map<string, number | null>, now: Date): Promise<Alert[]> {
  const health = new Map((await readHealth(conn, config.stateSchema)).map((h) => [h.sync_name, h]));
  const out: Alert[] = [];
  for (const sync of Object.values(config.syncs)) {
    const h = health.get(sync.name);
    const a = staleAlert(sync, { lastSuccessAt: h?.last_success_at ? warehouseTime(h.last_success_at) : null, firstRunAt: firstStarted.get(sync.name) ?? null, lastStaleAlertAt: memory.get(sync.name)?.lastStale ?? null }, now);
    if (a) out.push(a);
  }
  return out;
}


/**
 * After a run: the alerts its outcomes fire (failed, rejected, size change,
 * recovery) and staleness of every sync, sent and recorded. Whatever goes wrong
 * here is a warning: alerts never change a run's outcome.
 */
export async function alertAfterRun(conn: WarehouseConnection, config: NormalizedConfig, runId: string, outcomes: readonly SyncOutcome[], report: Reporter, redactor: Redact, now = new Date()): Promise<void> {
  if (!hasAlerts(config)) return;
  try {
    const memory = await readMemory(conn, config.stateSchema);
    const baseline = new Map<string, { first: number | null; previous: number | null }>();
    for (const r of await conn.query(alertBaselineSql(conn.dialect, config.stateSchema, runId))) {
      baseline.set(String(r.sync_name), { first: secondsToMs(r.first_started), previous: r.previous_members === null ? null : toNumber(r.previous_members) });
    }
    const alerts: Alert[] = [];
    for (const o of outcomes) {
      const sync = config.syncs[o.sync];
      if (!sync?.alerts) continue;
      const m = memory.get(o.sync);
      const incidentOpen = m?.lastProblem != null && (m.lastRecovery === null || m.lastProblem > m.lastRecovery);
      alerts.push(...runAlerts(sync, { status: o.status, runId: o.runId ?? null, counts: o.counts, error: o.error ?? null, hint: o.hint ?? null, previousMembers: baseline.get(o.sync)?.previous ?? null, incidentOpen }));
    }
    const first = new Map([...baseline].map(([k, v]) => [k, v.first]));
    alerts.push(...(await staleAlerts(conn, config, memory, first, now)));
    await sendAlerts(conn, config, alerts, report, redactor);
  } catch (e) {
    report({ event: 'warning', sync: '*', message: `alerts were not checked: ${redactor.redact((e as Error).message)}` });
  }
}

/** `audsync status --check`: staleness of every sync, alerted once per stale period. Returns how many alerts fired. */
export async function alertStaleness(conn: WarehouseConnection, config: NormalizedConfig, report: Reporter, redactor: Redact, now = new Date()): Promise<number> {
  if (!hasAlerts(config)) return 0;
  const memory = await readMemory(conn, config.stateSchema);
  const first = new Map<string, number | null>();
  for (const r of await conn.query(alertBaselineSql(conn.dialect, config.stateSchema, ''))) first.set(String(r.sync_name), secondsToMs(r.first_started));
  const alerts = await staleAlerts(conn, config, memory, first, now);
  await sendAlerts(conn, config, alerts, report, redactor);
  return alerts.length;
}

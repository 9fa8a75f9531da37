import type { Dialect } from '../warehouse/dialect.js';

/** `alert_log`: every alert audsync tried to send, per channel, delivered or not. A governance table. */
export function createAlertLogSql(d: Dialect, schema: string): string {
  const { text, timestamp, boolean } = d.types;
  return `CREATE TABLE IF NOT EXISTS ${d.relation(schema, 'alert_log')} (
      alert_id ${text} NOT NULL, sync_name ${text} NOT NULL, run_id ${text}, trigger ${text} NOT NULL, channel ${text} NOT NULL,
      delivered ${boolean} NOT NULL, error ${text}, message ${text} NOT NULL, sent_at ${timestamp} NOT NULL)`;
}

export interface AlertLogRow {
  alertId: string;
  sync: string;
  runId: string | null;
  trigger: string;
  channel: string;
  delivered: boolean;
  error: string | null;
  message: string;
  at: string;
}

export function insertAlertLogSql(d: Dialect, schema: string, rows: readonly AlertLogRow[]): string {
  const q = (v: string | null): string => (v === null ? 'NULL' : d.quoteLiteral(v));
  const values = rows.map(
    (r) => `(${q(r.alertId)}, ${q(r.sync)}, ${q(r.runId)}, ${q(r.trigger)}, ${q(r.channel)}, ${r.delivered ? 'TRUE' : 'FALSE'}, ${q(r.error)}, ${q(r.message)}, CAST(${q(r.at)} AS ${d.types.timestamp}))`,
  );
  return `INSERT INTO ${d.relation(schema, 'alert_log')} (alert_id, sync_name, run_id, trigger, channel, delivered, error, message, sent_at) VALUES\n${values.join(',\n')}`;
}

/**
 * Per sync: when a problem was last alerted (any attempt), when a recovery was,
 * and when staleness was last delivered, in unix seconds.
 */
export function alertMemorySql(d: Dialect, schema: string): string {
  const at = (cond: string): string => d.epochSeconds(`max(CASE WHEN ${cond} THEN sent_at END)`);
  return `SELECT sync_name, ${at("trigger <> 'recovery'")} AS last_problem, ${at("trigger = 'recovery'")} AS last_recovery, ${at("trigger = 'stale' AND delivered")} AS last_stale
FROM ${d.relation(schema, 'alert_log')} GROUP BY sync_name`;
}

/** Per sync: members of its latest successful run other than `runId`, and when its first run started (unix seconds). */
export function alertBaselineSql(d: Dialect, schema: string, runId: string): string {
  const runs = d.relation(schema, 'sync_runs');
  return `SELECT f.sync_name, f.first_started, s.members AS previous_members FROM
  (SELECT sync_name, ${d.epochSeconds('min(started_at)')} AS first_started FROM ${runs} GROUP BY sync_name) AS f
  LEFT JOIN (
    SELECT sync_name, members, row_number() OVER (PARTITION BY sync_name ORDER BY started_at DESC, run_id DESC) AS rn FROM ${runs}
    WHERE status IN ('success', 'warning') AND members IS NOT NULL AND run_id <> ${d.quoteLiteral(runId)}
  ) AS s ON s.sync_name = f.sync_name AND s.rn = 1`;
}

import type { Dialect } from '../dialects/dialect.js';
import type { SyncMode } from '../config/config-types.js';
import type { SyncTables } from './plan-tables.js';

/** SQL of the in-warehouse planner. Pure text; the planner runs it. */
export function ensureSyncTablesSql(d: Dialect, t: SyncTables): string[] {
  const { text, timestamp } = d.types;
  return [
    `CREATE TABLE IF NOT EXISTS ${t.snapshot} (record_key ${text} NOT NULL, fields_json ${text}, row_hash ${text}, destination_record_id ${text}, synced_at ${timestamp})`,
    `CREATE TABLE IF NOT EXISTS ${t.modelKeys} (record_key ${text} NOT NULL)`,
    // Every stage column is text: the bulk writer appends strings, the commit casts.
    `CREATE TABLE IF NOT EXISTS ${t.stage} (run_id ${text}, sync_name ${text}, record_key ${text}, op ${text}, status ${text}, destination_record_id ${text}, error_code ${text}, error_message ${text}, attempted_at ${text}, fields_json ${text}, row_hash ${text}, keep ${text})`,
    ...t.retired.map((r) => d.dropTable(r)),
  ];
}

export function materializeMembersSql(d: Dialect, t: SyncTables, membershipSelect: string): string[] {
  const analyze = d.analyzeTable(t.members);
  return [
    ...d.createTableAs(t.members, `SELECT record_key, fields_json, ${d.md5Hex('fields_json')} AS row_hash, invalid_reason\nFROM (\n${membershipSelect}\n) AS projected`, { internal: true, scope: 'connection' }),
    ...(analyze ? [analyze] : []),
  ];
}

/** One pass: total rows, rows that can be sent, distinct keys among them. */
export function memberStatsSql(t: SyncTables): string {
  return `SELECT count(*) AS total, sum(CASE WHEN invalid_reason IS NULL THEN 1 ELSE 0 END) AS valid, count(DISTINCT CASE WHEN invalid_reason IS NULL THEN record_key END) AS distinct_keys FROM ${t.members}`;
}

export function invalidReasonsSql(t: SyncTables): string {
  return `SELECT invalid_reason, count(*) AS n FROM ${t.members} WHERE invalid_reason IS NOT NULL GROUP BY invalid_reason ORDER BY invalid_reason`;
}

export function duplicateSamplesSql(t: SyncTables, limit: number): string {
  return `SELECT record_key, count(*) AS n FROM ${t.members} WHERE invalid_reason IS NULL GROUP BY record_key HAVING count(*) > 1 ORDER BY n DESC, record_key LIMIT ${limit}`;
}

export function snapshotCountSql(t: SyncTables): string {
  return `SELECT count(*) AS n FROM ${t.snapshot}`;
}

/** Which ops each mode sends; `remove` mode is planned separately. */
const MODE_OPS: Record<Exclude<SyncMode, 'remove'>, readonly string[]> = {
  mirror: ['add', 'change', 'remove'],
  upsert: ['add', 'change'],
  add: ['add'],
  update: ['change'],
};

/**
 * The plan: membership FULL OUTER JOIN snapshot on the key. A remove carries the
 * fields last sent (from the snapshot). With fullRefresh every member is sent
 * again as an add, and what left the audience is still removed.
 */
export function createPlanSql(d: Dialect, t: SyncTables, mode: SyncMode, fullRefresh: boolean): string[] {
  if (mode === 'remove') {
    // Remove mode: the model lists who must be removed; each is sent once (the snapshot remembers).
    const select = [
      `SELECT 'remove' AS op, m.record_key, m.fields_json, m.row_hash, s.destination_record_id, CAST(NULL AS ${d.types.text}) AS previous_fields_json`,
      `FROM ${t.members} AS m`,
      `LEFT JOIN ${t.snapshot} AS s ON m.record_key = s.record_key`,
      `WHERE m.invalid_reason IS NULL AND (s.record_key IS NULL${fullRefresh ? ' OR 1 = 1' : ''})`,
    ].join('\n');
    return d.createTableAs(t.plan, select, { internal: true, scope: 'run' });
  }
  const ops = MODE_OPS[mode].map((o) => d.quoteLiteral(o)).join(', ');
  // update mode sends members as changes only: the destination updates records it has and skips the rest.
  const memberOp = mode === 'update' ? `'change'` : fullRefresh ? `'add'` : `CASE WHEN s.record_key IS NULL THEN 'add' ELSE 'change' END`;
  const onlyDelta = fullRefresh ? '' : `\n  WHERE m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash`;
  const select = [
    `SELECT op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json FROM (`,
    `  SELECT CASE WHEN m.record_key IS NULL THEN 'remove' ELSE ${memberOp} END AS op,`,
    `    COALESCE(m.record_key, s.record_key) AS record_key,`,
    `    COALESCE(m.fields_json, s.fields_json) AS fields_json,`,
    `    m.row_hash AS row_hash,`,
    `    s.destination_record_id AS destination_record_id,`,
    // What the destination holds now: lets it drop an identifier that changed (a new email for the same key).
    `    CASE WHEN m.record_key IS NOT NULL AND s.record_key IS NOT NULL THEN s.fields_json END AS previous_fields_json`,
    `  FROM (SELECT record_key, fields_json, row_hash FROM ${t.members} WHERE invalid_reason IS NULL) AS m`,
    `  FULL OUTER JOIN ${t.snapshot} AS s ON m.record_key = s.record_key${onlyDelta}`,
    `) AS delta`,
    `WHERE op IN (${ops})`,
  ].join('\n');
  return d.createTableAs(t.plan, select, { internal: true, scope: 'run' });
}

export function planCountsSql(t: SyncTables): string {
  return `SELECT op, count(*) AS n FROM ${t.plan} GROUP BY op`;
}

/**
 * The plan rows to send. A full refresh streams removes first, so its last
 * batches carry members: a replace API (Meta's usersreplace session) ends on a
 * batch of members flagged last. Incremental runs need no order.
 */
export function streamPlanSql(t: SyncTables, fullRefresh = false): string {
  const order = fullRefresh ? ` ORDER BY CASE WHEN op = 'remove' THEN 0 ELSE 1 END` : '';
  return `SELECT op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json FROM ${t.plan}${order}`;
}

import type { Dialect } from '../dialects/dialect.js';
import type { SyncMode } from '../sync-modes.js';
import type { SyncTables } from './plan-tables.js';

/** SQL of the in-warehouse planner. Pure text; the planner runs it. */
export function ensureSyncTablesSql(d: Dialect, t: SyncTables): string[] {
  const { text, timestamp, bigint } = d.types;
  return [
    `CREATE TABLE IF NOT EXISTS ${t.snapshot} (record_key ${text} NOT NULL, fields_json ${text}, row_hash ${text}, destination_record_id ${text}, synced_at ${timestamp})`,
    `CREATE TABLE IF NOT EXISTS ${t.modelKeys} (record_key ${text} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.planLog} (run_id ${text} NOT NULL, kind ${text} NOT NULL, first_row ${bigint} NOT NULL, last_row ${bigint} NOT NULL, logged_at ${timestamp} NOT NULL)`,
    // Every outcomes column is text: the bulk writer appends strings, the commit casts.
    `CREATE TABLE IF NOT EXISTS ${t.outcomes} (row_no ${text} NOT NULL, status ${text} NOT NULL, destination_record_id ${text}, error_code ${text}, error_message ${text})`,
    `CREATE TABLE IF NOT EXISTS ${t.pending} (record_key ${text} NOT NULL, op ${text} NOT NULL, fields_json ${text}, run_id ${text} NOT NULL)`,
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
 * The plan: membership FULL OUTER JOIN snapshot on the key, and the pending keys
 * (uncertain or owed) reconciled against the current audience: a pending key
 * that is a member is sent its current fields whatever the snapshot says; one
 * that is not is removed, carrying the fields an uncertain attempt may have left
 * at the destination. A remove otherwise carries the fields last sent (from the
 * snapshot). With fullRefresh every member is sent again as an add, and what
 * left the audience is still removed. Rows are numbered from 1 (a full refresh
 * numbers its removes first, so its last batches carry members: a replace API
 * ends on a batch of members flagged last); a batch is a range of row numbers.
 */
export function createPlanSql(d: Dialect, t: SyncTables, mode: SyncMode, fullRefresh: boolean, withPending = false, working = false, quarantineOf?: string): string[] {
  const { text } = d.types;
  // Quarantined rows stay out while their fields are the same (a remove carries none: its hash is '').
  // Only a sync with quarantined rows pays for the lookup.
  const notQuarantined = (alias: string): string[] =>
    quarantineOf === undefined
      ? []
      : [`  AND NOT EXISTS (SELECT 1 FROM ${t.rejections} AS q WHERE q.sync_name = ${d.quoteLiteral(quarantineOf)} AND q.quarantined_at IS NOT NULL AND q.record_key = ${alias}.record_key AND q.row_hash = COALESCE(${alias}.row_hash, ''))`];
  // The run's plan is durable; a preview's is a working table of its own.
  const index = d.rangeIndex(t.plan, 'row_no');
  const create = (select: string): string[] => [
    ...(working ? d.createTableAs(t.plan, select, { internal: true, scope: 'connection' }) : d.createTableAs(t.plan, select)),
    ...(index && !working ? [index] : []),
  ];
  if (mode === 'remove') {
    // Remove mode: the model lists who must be removed; each is sent once (the snapshot remembers).
    // An attempt whose outcome was lost left the key out of the snapshot, so it is planned again as it is.
    const select = [
      `SELECT row_number() OVER () AS row_no, 'remove' AS op, m.record_key, m.fields_json, m.row_hash, s.destination_record_id,`,
      `  CAST(NULL AS ${text}) AS previous_fields_json, s.record_key IS NOT NULL AS in_snapshot`,
      `FROM ${t.members} AS m`,
      `LEFT JOIN ${t.snapshot} AS s ON m.record_key = s.record_key`,
      `WHERE m.invalid_reason IS NULL AND (s.record_key IS NULL${fullRefresh ? ' OR 1 = 1' : ''})`,
      ...notQuarantined('m'),
    ].join('\n');
    return create(select);
  }
  const ops = MODE_OPS[mode].map((o) => d.quoteLiteral(o)).join(', ');
  // What an uncertain add or change may have left at the destination (an uncertain remove or an owed key left nothing new).
  const mayHold = `CASE WHEN u.op IN ('add', 'change') THEN u.fields_json END`;
  // update mode sends members as changes only: the destination updates records it has and skips the rest.
  // Otherwise a member is an add unless the destination holds it: in the snapshot, and no remove of it may
  // have gone through. An uncertain add is sent as an add again (a full refresh's adds are of snapshot keys).
  const memberOp =
    mode === 'update'
      ? `'change'`
      : fullRefresh
        ? `'add'`
        : `CASE WHEN s.record_key IS NULL${withPending ? ` OR u.op IN ('add', 'remove', 'owed')` : ''} THEN 'add' ELSE 'change' END`;
  const where: string[] = [];
  if (!fullRefresh) where.push(`m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash${withPending ? ' OR u.record_key IS NOT NULL' : ''}`);
  // A key known nowhere but pending, with nothing an attempt may have left, needs nothing.
  if (withPending) where.push(`m.record_key IS NOT NULL OR s.record_key IS NOT NULL OR ${mayHold} IS NOT NULL`);
  // With no key pending (the usual run) the plan is the plain diff: no third join on the hot path.
  const select = [
    `SELECT row_number() OVER (${fullRefresh ? `ORDER BY CASE WHEN op = 'remove' THEN 0 ELSE 1 END` : ''}) AS row_no, op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json, in_snapshot FROM (`,
    `  SELECT CASE WHEN m.record_key IS NULL THEN 'remove' ELSE ${memberOp} END AS op,`,
    `    COALESCE(m.record_key, s.record_key${withPending ? ', u.record_key' : ''}) AS record_key,`,
    withPending
      ? `    CASE WHEN m.record_key IS NOT NULL THEN m.fields_json ELSE COALESCE(${mayHold}, s.fields_json) END AS fields_json,`
      : `    COALESCE(m.fields_json, s.fields_json) AS fields_json,`,
    `    m.row_hash AS row_hash,`,
    `    s.destination_record_id AS destination_record_id,`,
    // What the destination may hold now: lets it drop an identifier that changed (a new email for the same key).
    withPending
      ? `    CASE WHEN m.record_key IS NOT NULL THEN COALESCE(${mayHold}, s.fields_json) WHEN ${mayHold} IS NOT NULL THEN s.fields_json END AS previous_fields_json,`
      : `    CASE WHEN m.record_key IS NOT NULL AND s.record_key IS NOT NULL THEN s.fields_json END AS previous_fields_json,`,
    `    s.record_key IS NOT NULL AS in_snapshot`,
    `  FROM (SELECT record_key, fields_json, row_hash FROM ${t.members} WHERE invalid_reason IS NULL) AS m`,
    `  FULL OUTER JOIN ${t.snapshot} AS s ON m.record_key = s.record_key`,
    ...(withPending ? [`  FULL OUTER JOIN ${t.pending} AS u ON u.record_key = COALESCE(m.record_key, s.record_key)`] : []),
    ...(where.length > 0 ? [`  WHERE ${where.map((w) => `(${w})`).join(' AND ')}`] : []),
    `) AS delta`,
    `WHERE op IN (${ops})`,
    ...notQuarantined('delta'),
  ].join('\n');
  return create(select);
}

export function planCountsSql(t: SyncTables): string {
  return `SELECT op, count(*) AS n FROM ${t.plan} GROUP BY op`;
}

/** How many of the sync's rows are tracked as refused, and how many of those are quarantined. */
export function rejectionCountsSql(d: Dialect, t: SyncTables, sync: string): string {
  return `SELECT count(*) AS tracked, COALESCE(sum(CASE WHEN quarantined_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS quarantined
FROM ${t.rejections} WHERE sync_name = ${d.quoteLiteral(sync)}`;
}

/** How many keys are pending (uncertain or owed) before this plan. */
export function pendingCountSql(t: SyncTables): string {
  return `SELECT count(*) AS n FROM ${t.pending}`;
}

/**
 * The plan rows to send, in row order (a batch is a range of rows). Only what a
 * destination reads travels: the row hash stays in the warehouse, where the
 * set-based commit copies it from the plan to the snapshot.
 */
export function streamPlanSql(t: SyncTables): string {
  return `SELECT row_no, op, record_key, fields_json, destination_record_id, previous_fields_json, in_snapshot FROM ${t.plan} ORDER BY row_no`;
}

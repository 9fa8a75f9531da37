import type { Dialect } from '../warehouse/dialect.js';
import { MODES, type SyncMode } from '../vocabulary/sync-modes.js';
import { membershipSelectSql, type Membership } from '../compile/sync-compiler.js';
import type { SyncTables } from './plan-tables.js';

/** SQL of the in-warehouse planner. Pure text; the planner runs it. */
export function ensureSyncTablesSql(d: Dialect, t: SyncTables): string[] {
  const { text, timestamp, bigint } = d.types;
  return [
    `CREATE TABLE IF NOT EXISTS ${t.snapshot} (record_key ${text} NOT NULL, fields_json ${text}, row_hash ${d.rowHashType}, destination_record_id ${text}, synced_at ${timestamp})`,
    `CREATE TABLE IF NOT EXISTS ${t.modelKeys} (record_key ${text} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.planLog} (run_id ${text} NOT NULL, kind ${text} NOT NULL, first_row ${bigint} NOT NULL, last_row ${bigint} NOT NULL, logged_at ${timestamp} NOT NULL)`,
    // Every outcomes column is text: the bulk writer appends strings, the commit casts.
    `CREATE TABLE IF NOT EXISTS ${t.outcomes} (row_no ${text} NOT NULL, status ${text} NOT NULL, destination_record_id ${text}, error_code ${text}, error_message ${text})`,
    `CREATE TABLE IF NOT EXISTS ${t.pending} (record_key ${text} NOT NULL, op ${text} NOT NULL, fields_json ${text}, run_id ${text} NOT NULL)`,
    ...t.retired.map((r) => d.dropTable(r)),
  ];
}

/**
 * The membership as a working table: key, row hash, why a row cannot be sent.
 * With `withFields` it also keeps each member's fields JSON. Without (`light`),
 * the fields are computed to hash them and dropped: only the rows the plan
 * sends read them again (createPlanSql's `fieldsFrom`), so a run over millions
 * of unchanged members holds a key and a hash per member, not their fields.
 */
/** The seal the sync's snapshot hashes were made with, and the engine's seal now (Dialect.rowHashSeal). */
export function rowHashSealsSql(d: Dialect, t: SyncTables, sync: string, seal: string): string {
  return `SELECT (SELECT seal FROM ${t.rowHashSeals} WHERE sync_name = ${d.quoteLiteral(sync)}) AS stored, ${seal} AS current_seal`;
}

/** The declared type of the snapshot's hash column (md5 text before the row hash was sealed). */
export function rowHashColumnTypeSql(d: Dialect, t: SyncTables): string {
  return `SELECT data_type FROM information_schema.columns WHERE table_schema = ${d.quoteLiteral(t.schema)} AND table_name = ${d.quoteLiteral(t.snapshotName)} AND column_name = 'row_hash'`;
}

/**
 * Makes the snapshot's hashes the engine's own: a column of another type (md5
 * text, from before the row hash was sealed) is converted, hashes made by
 * another version of the function are computed again, from the fields JSON
 * each row keeps. Then the seal is recorded. Run in one transaction.
 */
export function resealRowHashesSql(d: Dialect, t: SyncTables, sync: string, seal: string, convertColumn: boolean): string[] {
  return [
    convertColumn
      ? `ALTER TABLE ${t.snapshot} ALTER COLUMN row_hash SET DATA TYPE ${d.rowHashType} USING ${d.rowHash('fields_json')}`
      : `UPDATE ${t.snapshot} SET row_hash = ${d.rowHash('fields_json')}`,
    `DELETE FROM ${t.rowHashSeals} WHERE sync_name = ${d.quoteLiteral(sync)}`,
    `INSERT INTO ${t.rowHashSeals} (sync_name, seal) VALUES (${d.quoteLiteral(sync)}, ${seal})`,
  ];
}

export function materializeMembersSql(d: Dialect, t: SyncTables, membership: Membership, withFields: boolean): string[] {
  const analyze = d.analyzeTable(t.members);
  const select = withFields
    ? `SELECT record_key, fields_json, ${d.rowHash('fields_json')} AS row_hash, invalid_reason\nFROM (\n${membershipSelectSql(membership)}\n) AS projected`
    : `SELECT p.record_key, ${d.rowHash(membership.fieldsJson)} AS row_hash, ${membership.invalidReason} AS invalid_reason\nFROM (\n${membership.projected}\n) AS p`;
  return [...d.createTableAs(t.members, select, { internal: true, scope: 'connection' }), ...(analyze ? [analyze] : [])];
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
export interface PlanSqlOptions {
  readonly mode: SyncMode;
  readonly fullRefresh: boolean;
  /** Keys are pending (uncertain or owed): a third join reconciles them. */
  readonly withPending?: boolean;
  /** A preview (`audsync plan`): the plan is a working table of its own, not the durable one. */
  readonly working?: boolean;
  /** The sync's name when it has quarantined rows: they stay out while their fields are the same. */
  readonly quarantineOf?: string;
  /**
   * The members were materialized without their fields (materializeMembersSql's
   * light form): the plan reads them from the model for the rows it sends only.
   */
  readonly fieldsFrom?: Membership;
}

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
export function createPlanSql(d: Dialect, t: SyncTables, o: PlanSqlOptions): string[] {
  const { mode, fullRefresh, withPending = false, working = false, quarantineOf, fieldsFrom } = o;
  const { text } = d.types;
  // Quarantined rows stay out while their fields are the same (a remove carries none: its hash is '').
  // Only a sync with quarantined rows pays for the lookup.
  const notQuarantined = (alias: string): string[] =>
    quarantineOf === undefined
      ? []
      : [`  AND NOT EXISTS (SELECT 1 FROM ${t.rejections} AS q WHERE q.sync_name = ${d.quoteLiteral(quarantineOf)} AND q.quarantined_at IS NOT NULL AND q.record_key = ${alias}.record_key AND q.row_hash = COALESCE(${d.rowHashText(`${alias}.row_hash`)}, ''))`];
  // The run's plan is durable; a preview's is a working table of its own.
  const index = d.rangeIndex(t.plan, 'row_no');
  const create = (select: string): string[] => [
    ...(working ? d.createTableAs(t.plan, select, { internal: true, scope: 'connection' }) : d.createTableAs(t.plan, select)),
    ...(index && !working ? [index] : []),
  ];
  const rules = MODES[mode];
  if (rules.modelListsRemovals) {
    // The model lists who must be removed; each is sent once (the snapshot remembers).
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
  const ops = rules.ops.map((o) => d.quoteLiteral(o)).join(', ');
  // What an uncertain add or change may have left at the destination (an uncertain remove or an owed key left nothing new).
  const mayHold = `CASE WHEN u.op IN ('add', 'change') THEN u.fields_json END`;
  // A mode that sends members as changes only lets the destination update records it has and skip the rest.
  // Otherwise a member is an add unless the destination holds it: in the snapshot, and no remove of it may
  // have gone through. An uncertain add is sent as an add again (a full refresh's adds are of snapshot keys).
  const memberOp =
    rules.membersAs === 'change'
      ? `'change'`
      : fullRefresh
        ? `'add'`
        : `CASE WHEN s.record_key IS NULL${withPending ? ` OR u.op IN ('add', 'remove', 'owed')` : ''} THEN 'add' ELSE 'change' END`;
  const where: string[] = [];
  if (!fullRefresh) where.push(`m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash${withPending ? ' OR u.record_key IS NOT NULL' : ''}`);
  // A key known nowhere but pending, with nothing an attempt may have left, needs nothing.
  if (withPending) where.push(`m.record_key IS NOT NULL OR s.record_key IS NOT NULL OR ${mayHold} IS NOT NULL`);
  const opSql = `CASE WHEN m.record_key IS NULL THEN 'remove' ELSE ${memberOp} END`;
  const keySql = `COALESCE(m.record_key, s.record_key${withPending ? ', u.record_key' : ''})`;
  // With no key pending (the usual run) the plan is the plain diff: no third join on the hot path.
  const joins = (members: string, snapshot: string): string[] => [
    `  FROM (SELECT ${members} FROM ${t.members} WHERE invalid_reason IS NULL) AS m`,
    `  FULL OUTER JOIN ${snapshot} AS s ON m.record_key = s.record_key`,
    ...(withPending ? [`  FULL OUTER JOIN ${t.pending} AS u ON u.record_key = COALESCE(m.record_key, s.record_key)`] : []),
    ...(where.length > 0 ? [`  WHERE ${where.map((w) => `(${w})`).join(' AND ')}`] : []),
  ];
  const keys = fieldsFrom ? lightKeysSql(t, withPending, opSql, keySql, mayHold, joins) : [];
  const delta = fieldsFrom
    ? lightDeltaSql(d, t, fieldsFrom, ops, withPending)
    : [
        `  SELECT ${opSql} AS op,`,
        `    ${keySql} AS record_key,`,
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
        ...joins('record_key, fields_json, row_hash', t.snapshot),
      ];
  const select = [
    `SELECT row_number() OVER (${fullRefresh ? `ORDER BY CASE WHEN op = 'remove' THEN 0 ELSE 1 END` : ''}) AS row_no, op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json, in_snapshot FROM (`,
    ...delta,
    `) AS delta`,
    `WHERE op IN (${ops})`,
    ...notQuarantined('delta'),
  ].join('\n');
  if (keys.length === 0) return create(select);
  const analyze = d.analyzeTable(t.planKeys);
  return [...d.createTableAs(t.planKeys, keys.join('\n'), { internal: true, scope: 'connection' }), ...(analyze ? [analyze] : []), ...create(select)];
}

/**
 * The keys that differ between light members and the snapshot, with what the
 * plan needs to know of each but its fields; materialized first, so that the
 * warehouse knows how few they are when it reads the fields for them.
 */
function lightKeysSql(t: SyncTables, withPending: boolean, opSql: string, keySql: string, mayHold: string, joins: (members: string, snapshot: string) => string[]): string[] {
  return [
    `SELECT ${opSql} AS op, ${keySql} AS record_key, m.record_key IS NOT NULL AS is_member,`,
    `  s.destination_record_id AS destination_record_id, s.record_key IS NOT NULL AS in_snapshot${withPending ? `, ${mayHold} AS may_hold` : ''}`,
    ...joins('record_key, row_hash', `(SELECT record_key, row_hash, destination_record_id FROM ${t.snapshot})`).map((l) => l.slice(2)),
  ];
}

/**
 * The delta of light members (key and hash only), in the columns of the plan:
 * the keys are diffed first, without any fields on either side, and only the
 * rows that differ read fields: the members' from the model (computed again,
 * for those keys only), the snapshot's by key. A member the model no longer
 * returns on this second read (a non-deterministic model) is left for the next
 * run; the row hash is of the fields sent, so the snapshot stays consistent.
 */
function lightDeltaSql(d: Dialect, t: SyncTables, m: Membership, ops: string, withPending: boolean): string[] {
  return [
    `  SELECT op, record_key, fields_json, CASE WHEN is_member THEN ${d.rowHash('fields_json')} END AS row_hash, destination_record_id, previous_fields_json, in_snapshot FROM (`,
    `  SELECT k.op, k.record_key, k.is_member,`,
    `    CASE WHEN k.is_member THEN ${m.fieldsJson} ELSE ${withPending ? 'COALESCE(k.may_hold, sf.fields_json)' : 'sf.fields_json'} END AS fields_json,`,
    `    k.destination_record_id,`,
    withPending
      ? `    CASE WHEN k.is_member THEN COALESCE(k.may_hold, sf.fields_json) WHEN k.may_hold IS NOT NULL THEN sf.fields_json END AS previous_fields_json,`
      : `    CASE WHEN k.is_member THEN sf.fields_json END AS previous_fields_json,`,
    `    k.in_snapshot`,
    // Each side is cut down to the plan's keys first (a semi-join, built on the few keys), so that neither
    // the model nor the snapshot becomes the build side of a join.
    `  FROM ${t.planKeys} AS k`,
    `  LEFT JOIN (SELECT record_key, fields_json FROM ${t.snapshot} WHERE record_key IN (SELECT record_key FROM ${t.planKeys})) AS sf ON sf.record_key = k.record_key`,
    `  LEFT JOIN (SELECT p.* FROM (\n${m.projected}\n) AS p WHERE ${m.invalidReason} IS NULL AND p.record_key IN (SELECT record_key FROM ${t.planKeys} WHERE is_member)) AS p ON p.record_key = k.record_key`,
    `  WHERE k.op IN (${ops}) AND (NOT k.is_member OR p.record_key IS NOT NULL)`,
    `  ) AS fetched`,
  ];
}

/** Keys the plan holds more than once (only a model that answers differently on a second read makes one). */
export function planDuplicateKeysSql(t: SyncTables): string {
  return `SELECT count(*) - count(DISTINCT record_key) AS n FROM ${t.plan}`;
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

import type { Dialect } from '../dialect.js';

/**
 * SQL of the Snowflake run lock: one row per sync in `<stateSchema>.RUN_LOCKS`.
 * Every time is the warehouse's CURRENT_TIMESTAMP(), never a client clock, so
 * hosts with skewed clocks agree on who holds a lock and when it expires.
 */
export interface LockTable {
  readonly relation: string;
}

export function lockTable(d: Dialect, stateSchema: string): LockTable {
  return { relation: d.relation(stateSchema, 'run_locks') };
}

export function ensureLockTableSql(d: Dialect, stateSchema: string): string[] {
  const { text, timestamp } = d.types;
  return [
    d.createSchema(stateSchema),
    // TRANSIENT: internal, tiny, rewritten constantly; no fail-safe storage needed.
    `CREATE TRANSIENT TABLE IF NOT EXISTS ${lockTable(d, stateSchema).relation} (sync_name ${text} NOT NULL, owner ${text} NOT NULL, acquired_at ${timestamp} NOT NULL, heartbeat_at ${timestamp} NOT NULL, expires_at ${timestamp} NOT NULL)`,
  ];
}

function expiresIn(seconds: number): string {
  return `DATEADD(second, ${Math.trunc(seconds)}, CURRENT_TIMESTAMP())`;
}

/**
 * One atomic statement: take the sync's row when there is none, or when its
 * holder stopped heartbeating and it expired. A live holder's row is left
 * alone. MERGE locks the table on Snowflake, so two runs racing here are
 * serialized and the second sees the first's row. Who won is read back with
 * lockHolderSql.
 */
export function acquireLockSql(d: Dialect, t: LockTable, sync: string, owner: string, timeoutSeconds: number): string {
  const q = (s: string): string => d.quoteLiteral(s);
  return `MERGE INTO ${t.relation} AS l
USING (SELECT ${q(sync)} AS sync_name, ${q(owner)} AS owner) AS c
ON l.sync_name = c.sync_name
WHEN MATCHED AND l.expires_at < CURRENT_TIMESTAMP() THEN UPDATE SET owner = c.owner, acquired_at = CURRENT_TIMESTAMP(), heartbeat_at = CURRENT_TIMESTAMP(), expires_at = ${expiresIn(timeoutSeconds)}
WHEN NOT MATCHED THEN INSERT (sync_name, owner, acquired_at, heartbeat_at, expires_at) VALUES (c.sync_name, c.owner, CURRENT_TIMESTAMP(), CURRENT_TIMESTAMP(), ${expiresIn(timeoutSeconds)})`;
}

export function lockHolderSql(d: Dialect, t: LockTable, sync: string): string {
  return `SELECT owner, acquired_at, heartbeat_at, expires_at FROM ${t.relation} WHERE sync_name = ${d.quoteLiteral(sync)} ORDER BY acquired_at`;
}

/** A live holder pushes its expiry forward; the owner check makes it a no-op once another run took the lock over. */
export function heartbeatLockSql(d: Dialect, t: LockTable, sync: string, owner: string, timeoutSeconds: number): string {
  return `UPDATE ${t.relation} SET heartbeat_at = CURRENT_TIMESTAMP(), expires_at = ${expiresIn(timeoutSeconds)} WHERE sync_name = ${d.quoteLiteral(sync)} AND owner = ${d.quoteLiteral(owner)}`;
}

export function releaseLockSql(d: Dialect, t: LockTable, sync: string, owner: string): string {
  return `DELETE FROM ${t.relation} WHERE sync_name = ${d.quoteLiteral(sync)} AND owner = ${d.quoteLiteral(owner)}`;
}

import { describe, expect, it } from 'vitest';
import { compileMembershipSelect } from '../engine/compile/sync-compiler.js';
import type { NormalizedSync } from '../engine/config/normalized-config.js';
import { SnowflakeDialect } from '../engine/dialects/snowflake/snowflake-dialect.js';
import { createPlanSql, ensureSyncTablesSql, materializeMembersSql } from '../engine/plan/plan-sql.js';
import { syncTables } from '../engine/plan/plan-tables.js';
import { commitBatchSql, emptyCounts, finishRunSql } from '../engine/state/state-sql.js';
import { acquireLockSql, ensureLockTableSql, heartbeatLockSql, lockHolderSql, lockTable, releaseLockSql } from '../engine/warehouse/snowflake-lock-sql.js';

/**
 * The exact statements audsync sends to Snowflake. No account is needed: these
 * pin the text; snowflake-connection.test.ts runs them (through the protocol
 * fake) and snowflake-live.test.ts against the real service.
 */
const d = new SnowflakeDialect();
const t = syncTables(d, 'audsync', 's', 'm');

const SYNC: NormalizedSync = {
  name: 's',
  model: 'm',
  destination: 'ads',
  key: 'customer_id',
  mode: 'mirror',
  fields: [
    { name: 'EMAIL', column: 'email', identifier: { kind: 'email', hash: true } },
    { name: 'tier', column: 'tier', identifier: undefined },
  ],
  target: {},
  schedule: undefined,
  prehashed: 'passthrough',
  guardrails: { maxRemovePercent: 50, maxAddPercent: undefined, minMembers: undefined },
};

/** Snowflake reports the model's unquoted columns upper-case; the planner maps config names to them case-insensitively. */
const reported = (name: string): string => name.toUpperCase();

describe('Snowflake dialect primitives', () => {
  it('types', () => {
    expect(d.types).toEqual({ text: 'VARCHAR', bigint: 'NUMBER(38,0)', integer: 'INTEGER', double: 'DOUBLE PRECISION', timestamp: 'TIMESTAMP_TZ', boolean: 'BOOLEAN' });
    expect([d.name, d.formatterLanguage]).toEqual(['snowflake', 'snowflake']);
  });

  it('identifiers: audsync-style lower-case names are the unquoted (upper-case) identifier; anything else is quoted exactly', () => {
    expect(d.relation('audsync', 'sync_runs')).toBe('"AUDSYNC"."SYNC_RUNS"');
    expect(d.relation('shop', 'orders')).toBe('"SHOP"."ORDERS"');
    expect(d.quoteIdent('EMAIL')).toBe('"EMAIL"');
    expect(d.quoteIdent('MixedCase')).toBe('"MixedCase"');
    expect(d.quoteIdent('has space')).toBe('"has space"');
    expect(d.quoteIdent('say "x"')).toBe('"say ""x"""');
    expect(d.quoteIdent('price$usd')).toBe('"PRICE$USD"');
    expect(d.quoteIdent('1st')).toBe('"1st"');
    expect(d.createSchema('audsync')).toBe('CREATE SCHEMA IF NOT EXISTS "AUDSYNC"');
  });

  it('literals escape quotes and backslashes (a Snowflake escape character)', () => {
    expect(d.quoteLiteral(`it's C:\\temp\\new`)).toBe(`'it''s C:\\\\temp\\\\new'`);
  });

  it('functions', () => {
    expect(d.jsonObjectText([['a', 'x'], ["b'", 'y']])).toBe(`TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL('a', x, 'b''', y))`);
    expect(d.jsonObjectText([])).toBe(`'{}'`);
    expect(d.sha256Hex('x')).toBe('SHA2(x, 256)');
    expect(d.md5Hex('x')).toBe('MD5(x)');
    expect(d.digitsOnly('x')).toBe(`REGEXP_REPLACE(x, '[^0-9]', '')`);
    expect(d.regexpReplaceAll('x', '^0+', '')).toBe(`REGEXP_REPLACE(x, '^0+', '')`);
    expect(d.regexpMatches('x', '^[0-9a-f]{64}$')).toBe(`REGEXP_LIKE(x, '^[0-9a-f]{64}$')`);
    expect(d.withinDays('last_order_at', 30)).toBe('(last_order_at >= DATEADD(day, -30, CURRENT_TIMESTAMP()))');
    // A negative window must not become '--' (a comment).
    expect(d.withinDays('t', -2)).toBe('(t >= DATEADD(day, 2, CURRENT_TIMESTAMP()))');
    expect(d.epochSeconds('max(started_at)')).toBe('DATE_PART(epoch_second, max(started_at))');
    expect(d.createTableAs('"A"."B"', 'SELECT 1', { internal: true })).toEqual(['CREATE OR REPLACE TRANSIENT TABLE "A"."B" AS\nSELECT 1']);
    expect(d.createTableAs('"A"."B"', 'SELECT 1')).toEqual(['CREATE OR REPLACE TABLE "A"."B" AS\nSELECT 1']);
    expect([d.beginTransaction(), d.commit(), d.rollback()]).toEqual(['BEGIN TRANSACTION', 'COMMIT', 'ROLLBACK']);
  });
});

describe('golden statements audsync sends to Snowflake', () => {
  it('sync tables', () => {
    expect(ensureSyncTablesSql(d, t)).toEqual([
      'CREATE TABLE IF NOT EXISTS "AUDSYNC"."SNAPSHOT__S" (record_key VARCHAR NOT NULL, fields_json VARCHAR, row_hash VARCHAR, destination_record_id VARCHAR, synced_at TIMESTAMP_TZ)',
      'CREATE TABLE IF NOT EXISTS "AUDSYNC"."MODEL_KEYS__M" (record_key VARCHAR NOT NULL)',
      'CREATE TABLE IF NOT EXISTS "AUDSYNC"."STAGE__S" (run_id VARCHAR, sync_name VARCHAR, record_key VARCHAR, op VARCHAR, status VARCHAR, destination_record_id VARCHAR, error_code VARCHAR, error_message VARCHAR, attempted_at VARCHAR, fields_json VARCHAR, row_hash VARCHAR, keep VARCHAR)',
    ]);
  });

  it('membership materialization: projection, hashing and row hash in one TRANSIENT table', () => {
    const select = compileMembershipSelect(d, `select customer_id, email, tier from "SHOP"."CUSTOMERS"`, SYNC, reported);
    expect(materializeMembersSql(d, t, select)).toEqual([
      `CREATE OR REPLACE TRANSIENT TABLE "AUDSYNC"."MEMBERS__S" AS
SELECT record_key, fields_json, MD5(fields_json) AS row_hash, invalid_reason
FROM (
SELECT p.record_key, TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL('EMAIL', p."F_0", 'tier', p."F_1")) AS fields_json,
  CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."F_0" IS NULL THEN 'no usable identifier' END AS invalid_reason
FROM (
SELECT CAST(m."CUSTOMER_ID" AS VARCHAR) AS record_key,
  CASE WHEN REGEXP_LIKE(lower(trim(CAST(m."EMAIL" AS VARCHAR))), '^[0-9a-f]{64}$') THEN lower(trim(CAST(m."EMAIL" AS VARCHAR))) ELSE SHA2(NULLIF(lower(trim(CAST(m."EMAIL" AS VARCHAR))), ''), 256) END AS "F_0",
  m."TIER" AS "F_1"
FROM (
select customer_id, email, tier from "SHOP"."CUSTOMERS"
) AS m
) AS p
) AS projected`,
    ]);
  });

  it('plan: membership FULL OUTER JOIN snapshot', () => {
    expect(createPlanSql(d, t, 'mirror', false)).toEqual([
      `CREATE OR REPLACE TRANSIENT TABLE "AUDSYNC"."PLAN__S" AS
SELECT op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json FROM (
  SELECT CASE WHEN m.record_key IS NULL THEN 'remove' ELSE CASE WHEN s.record_key IS NULL THEN 'add' ELSE 'change' END END AS op,
    COALESCE(m.record_key, s.record_key) AS record_key,
    COALESCE(m.fields_json, s.fields_json) AS fields_json,
    m.row_hash AS row_hash,
    s.destination_record_id AS destination_record_id,
    CASE WHEN m.record_key IS NOT NULL AND s.record_key IS NOT NULL THEN s.fields_json END AS previous_fields_json
  FROM (SELECT record_key, fields_json, row_hash FROM "AUDSYNC"."MEMBERS__S" WHERE invalid_reason IS NULL) AS m
  FULL OUTER JOIN "AUDSYNC"."SNAPSHOT__S" AS s ON m.record_key = s.record_key
  WHERE m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash
) AS delta
WHERE op IN ('add', 'change', 'remove')`,
    ]);
    expect(createPlanSql(d, t, 'remove', false)).toEqual([
      `CREATE OR REPLACE TRANSIENT TABLE "AUDSYNC"."PLAN__S" AS
SELECT 'remove' AS op, m.record_key, m.fields_json, m.row_hash, s.destination_record_id, CAST(NULL AS VARCHAR) AS previous_fields_json
FROM "AUDSYNC"."MEMBERS__S" AS m
LEFT JOIN "AUDSYNC"."SNAPSHOT__S" AS s ON m.record_key = s.record_key
WHERE m.invalid_reason IS NULL AND (s.record_key IS NULL)`,
    ]);
  });

  it('per-batch commit: changelog insert plus snapshot advance', () => {
    expect(commitBatchSql(d, 'audsync', t)).toEqual([
      `INSERT INTO "AUDSYNC"."SYNC_CHANGELOG" (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, CAST(attempted_at AS TIMESTAMP_TZ) FROM "AUDSYNC"."STAGE__S"`,
      `DELETE FROM "AUDSYNC"."SNAPSHOT__S" WHERE record_key IN (SELECT record_key FROM "AUDSYNC"."STAGE__S" WHERE status = 'succeeded')`,
      `INSERT INTO "AUDSYNC"."SNAPSHOT__S" (record_key, fields_json, row_hash, destination_record_id, synced_at)
SELECT record_key, fields_json, row_hash, destination_record_id, CAST(attempted_at AS TIMESTAMP_TZ) FROM "AUDSYNC"."STAGE__S" WHERE status = 'succeeded' AND keep = 'y'`,
      `DELETE FROM "AUDSYNC"."STAGE__S"`,
    ]);
  });

  it('finish: the sync_runs row gets counts and status', () => {
    const counts = { ...emptyCounts(), members: 3, planned_add: 3, succeeded_add: 2, failed: 1 };
    expect(finishRunSql(d, 'audsync', 'r1', 's', 'warning', '2024-01-01T00:00:00.000Z', counts, `1 failed: it's \\ odd`)).toBe(
      `UPDATE "AUDSYNC"."SYNC_RUNS" SET status = 'warning', finished_at = CAST('2024-01-01T00:00:00.000Z' AS TIMESTAMP_TZ), members = 3, invalid = 0, planned_add = 3, planned_change = 0, planned_remove = 0, succeeded_add = 2, succeeded_change = 0, succeeded_remove = 0, rejected = 0, failed = 1, error = '1 failed: it''s \\\\ odd'
WHERE run_id = 'r1' AND sync_name = 's'`,
    );
  });

  it('run lock: table, atomic acquire, read-back, heartbeat, release', () => {
    const lt = lockTable(d, 'audsync');
    expect(ensureLockTableSql(d, 'audsync')).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "AUDSYNC"',
      'CREATE TRANSIENT TABLE IF NOT EXISTS "AUDSYNC"."RUN_LOCKS" (sync_name VARCHAR NOT NULL, owner VARCHAR NOT NULL, acquired_at TIMESTAMP_TZ NOT NULL, heartbeat_at TIMESTAMP_TZ NOT NULL, expires_at TIMESTAMP_TZ NOT NULL)',
    ]);
    expect(acquireLockSql(d, lt, 'vip', 'host-a:4242:0a1b2c3d', 120)).toBe(`MERGE INTO "AUDSYNC"."RUN_LOCKS" AS l
USING (SELECT 'vip' AS sync_name, 'host-a:4242:0a1b2c3d' AS owner) AS c
ON l.sync_name = c.sync_name
WHEN MATCHED AND l.expires_at < CURRENT_TIMESTAMP() THEN UPDATE SET owner = c.owner, acquired_at = CURRENT_TIMESTAMP(), heartbeat_at = CURRENT_TIMESTAMP(), expires_at = DATEADD(second, 120, CURRENT_TIMESTAMP())
WHEN NOT MATCHED THEN INSERT (sync_name, owner, acquired_at, heartbeat_at, expires_at) VALUES (c.sync_name, c.owner, CURRENT_TIMESTAMP(), CURRENT_TIMESTAMP(), DATEADD(second, 120, CURRENT_TIMESTAMP()))`);
    expect(lockHolderSql(d, lt, 'vip')).toBe(`SELECT owner, acquired_at, heartbeat_at, expires_at FROM "AUDSYNC"."RUN_LOCKS" WHERE sync_name = 'vip' ORDER BY acquired_at`);
    expect(heartbeatLockSql(d, lt, 'vip', 'host-a:4242:0a1b2c3d', 120)).toBe(
      `UPDATE "AUDSYNC"."RUN_LOCKS" SET heartbeat_at = CURRENT_TIMESTAMP(), expires_at = DATEADD(second, 120, CURRENT_TIMESTAMP()) WHERE sync_name = 'vip' AND owner = 'host-a:4242:0a1b2c3d'`,
    );
    expect(releaseLockSql(d, lt, 'vip', 'host-a:4242:0a1b2c3d')).toBe(`DELETE FROM "AUDSYNC"."RUN_LOCKS" WHERE sync_name = 'vip' AND owner = 'host-a:4242:0a1b2c3d'`);
  });
});

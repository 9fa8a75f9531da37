import { describe, expect, it } from 'vitest';
import { compileMembership } from '../engine/compile/sync-compiler.js';
import type { NormalizedSync } from '../engine/config/normalized-config.js';
import { SnowflakeDialect } from '../engine/warehouse/snowflake/snowflake-dialect.js';
import { materializeMembersSql } from '../engine/plan/plan-sql.js';
import { syncTables } from '../engine/plan/plan-tables.js';
import { acquireLockSql, ensureLockTableSql, heartbeatLockSql, lockHolderSql, lockTable, releaseLockSql } from '../engine/warehouse/snowflake/snowflake-lock-sql.js';

/**
 * The exact statements audsync sends to Snowflake. No account is needed: these
 * pin the text (the statements every dialect shares are in test/golden/snowflake/);
 * snowflake-connection.test.ts runs them (through the protocol
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
  paused: undefined,
  alerts: undefined,
  prehashed: 'passthrough',
  guardrails: { maxRemovePercent: 50, maxRemove: undefined, maxAddPercent: undefined, minMembers: undefined, maxFailedPercent: 50, maxRejectedPercent: 50, quarantineAfterRuns: 3 },
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
  it('membership materialization: projection, hashing and row hash in one TRANSIENT table', () => {
    const membership = compileMembership(d, `select customer_id, email, tier from "SHOP"."CUSTOMERS"`, SYNC, reported);
    expect(materializeMembersSql(d, t, membership, true)).toEqual([
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

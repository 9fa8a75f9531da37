import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allDialectNames, getDialect, type WarehouseType } from '../engine/warehouse/warehouse-registry.js';
import { compileMembership } from '../engine/compile/sync-compiler.js';
import type { NormalizedSync } from '../engine/config/normalized-config.js';
import { SnowflakeDialect } from '../engine/warehouse/snowflake/snowflake-dialect.js';
import { acquireLockSql, ensureLockTableSql, heartbeatLockSql, lockHolderSql, lockTable, releaseLockSql } from '../engine/warehouse/snowflake/snowflake-lock-sql.js';
import type { Dialect } from '../engine/warehouse/dialect.js';
import { createPlanSql, ensureSyncTablesSql, materializeMembersSql, streamPlanSql } from '../engine/plan/plan-sql.js';
import { syncTables, type SyncTables } from '../engine/plan/plan-tables.js';
import { abortRowsSql, commitBatchSql, logRangesSql, pendingFromLogSql, recountRunSql, uncertainRowsSql } from '../engine/state/plan-log-sql.js';
import { audienceEventsSql, emptyCounts, finishRunSql } from '../engine/state/state-sql.js';
import { releaseStaleRejectionsSql } from '../engine/state/rejection-sql.js';

/**
 * The exact statements each dialect sends, one file per case under
 * test/golden/<dialect>/, for every warehouse of the registry; statements only
 * one warehouse sends (Snowflake's lock table) are cases of that warehouse
 * alone. A change to the SQL shows as a diff of these files.
 * To accept a deliberate change: AUDSYNC_UPDATE_GOLDEN=1 npx vitest run test/golden-sql.test.ts
 * (then read the diff before committing).
 */
const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
const UPDATE = process.env.AUDSYNC_UPDATE_GOLDEN === '1';
const AT = '2026-01-01T00:00:00.000Z';

const CASES: Record<string, (d: Dialect, t: SyncTables) => string[]> = {
  'sync-tables': (d, t) => ensureSyncTablesSql(d, t),
  // The model's projection as compiled for a sync: the key, a hashed e-mail and a plain field, named as the warehouse reports them.
  'membership-compiled': (d, t) => materializeMembersSql(d, t, compileMembership(d, `select customer_id, email, tier from shop.customers`, SYNC, REPORTED[d.name as WarehouseType]), true),
  membership: (d, t) => [...materializeMembersSql(d, t, MEMBERSHIP, true), ...audienceEventsSql(d, 'audsync', t, 'm', 'r1', AT)],
  // Key and hash only: the fields are read again for the plan's rows (a run after the first).
  'membership-light': (d, t) => materializeMembersSql(d, t, MEMBERSHIP, false),
  'plan-mirror': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false }),
  'plan-mirror-light': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false, fieldsFrom: MEMBERSHIP }),
  'plan-mirror-reconciling': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false, withPending: true }),
  'plan-mirror-reconciling-light': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false, withPending: true, fieldsFrom: MEMBERSHIP }),
  'plan-full-refresh-reconciling': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: true, withPending: true }),
  'plan-update': (d, t) => createPlanSql(d, t, { mode: 'update', fullRefresh: false }),
  'plan-remove': (d, t) => createPlanSql(d, t, { mode: 'remove', fullRefresh: false }),
  // A sync with quarantined rows: they stay out of the plan while their fields are the same.
  'plan-mirror-quarantine': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false, quarantineOf: 's' }),
  'plan-upsert-quarantine-light': (d, t) => createPlanSql(d, t, { mode: 'upsert', fullRefresh: false, quarantineOf: 's', fieldsFrom: MEMBERSHIP }),
  'plan-remove-quarantine': (d, t) => createPlanSql(d, t, { mode: 'remove', fullRefresh: false, quarantineOf: 's' }),
  'release-stale-rejections': (d, t) => [releaseStaleRejectionsSql(d, t, 's')],
  'plan-stream': (_d, t) => [streamPlanSql(t)],
  'commit-batch': (d, t) =>
    commitBatchSql(d, 'audsync', t, { runId: 'r1', sync: 's', batches: [{ ranges: [[1, 500], [1001, 1200]], attemptedAt: AT }], mayReplace: true, keepRemoved: false, settlesPending: true, hasFailed: true, hasRejected: true, hadTracked: true, quarantineAfterRuns: 3 }),
  // An initial load's batch: adds of keys the snapshot lacks, nothing pending, no failure.
  'commit-batch-new-members': (d, t) =>
    commitBatchSql(d, 'audsync', t, { runId: 'r1', sync: 's', batches: [{ ranges: [[1, 10000]], attemptedAt: AT }], mayReplace: false, keepRemoved: false, settlesPending: false, hasFailed: false, hasRejected: false, hadTracked: false, quarantineAfterRuns: 3 }),
  // Batches committed together: one transaction, each row keeping its own batch's attempt time.
  'commit-batch-group': (d, t) =>
    commitBatchSql(d, 'audsync', t, {
      runId: 'r1',
      sync: 's',
      batches: [
        { ranges: [[1, 10000]], attemptedAt: AT },
        { ranges: [[10001, 20000]], attemptedAt: '2026-01-01T00:00:01.000Z' },
      ],
      mayReplace: false,
      keepRemoved: false,
      settlesPending: false,
      hasFailed: false,
      hasRejected: true,
      hadTracked: false,
      quarantineAfterRuns: 3,
    }),
  'plan-log': (d, t) => [logRangesSql(d, t, 'r1', 'planned', [[1, 1200]], AT), logRangesSql(d, t, 'r1', 'intent', [[1, 500]], AT)],
  'settle-last-plan': (d, t) => [
    uncertainRowsSql(d, 'audsync', t, 'r0', 's', [[501, 1000]], AT),
    abortRowsSql(d, 'audsync', t, 'r0', 's', [[1001, 1200]], AT, 'not sent'),
    ...pendingFromLogSql(d, t, t.pending, 'r0', [[501, 1000]], [[1001, 1200]]),
    recountRunSql(d, 'audsync', 'r0', 's'),
  ],
  'finish-run': (d) => [finishRunSql(d, 'audsync', 'r1', 's', 'warning', AT, { ...emptyCounts(), members: 3, planned_add: 3, succeeded_add: 2, failed: 1 }, `1 failed: it's \\ odd`)],
};

/** Statements only one warehouse sends. */
const WAREHOUSE_CASES: Partial<Record<WarehouseType, Record<string, () => string[]>>> = {
  snowflake: {
    // The run lock (Snowflake has no session locks): table, atomic acquire, read-back, heartbeat, release.
    'run-lock': () => {
      const d = new SnowflakeDialect();
      const lt = lockTable(d, 'audsync');
      return [
        ...ensureLockTableSql(d, 'audsync'),
        acquireLockSql(d, lt, 'vip', 'host-a:4242:0a1b2c3d', 120),
        lockHolderSql(d, lt, 'vip'),
        heartbeatLockSql(d, lt, 'vip', 'host-a:4242:0a1b2c3d', 120),
        releaseLockSql(d, lt, 'vip', 'host-a:4242:0a1b2c3d'),
      ];
    },
  },
};

/** How each warehouse reports a model's unquoted column names (the planner maps config names onto them case-insensitively). */
const REPORTED: Record<WarehouseType, (name: string) => string> = {
  duckdb: (n) => n,
  postgres: (n) => n.toLowerCase(),
  snowflake: (n) => n.toUpperCase(),
};

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

/** A small projection: key, one plain field and one identifier (an e-mail), as compileMembership makes them. */
const MEMBERSHIP = {
  projected: 'SELECT CAST(m."id" AS VARCHAR) AS record_key,\n  m."tier" AS "f_0",\n  m."email" AS "f_1"\nFROM (\nselect id, tier, email from shop.customers\n) AS m',
  fieldsJson: `json_object('tier', p."f_0", 'email', p."f_1")`,
  invalidReason: `CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."f_1" IS NULL THEN 'no usable identifier' END`,
};

const render = (statements: string[]): string => `${statements.join(';\n\n')};\n`;

describe.each(allDialectNames())('golden SQL for %s', (name) => {
  const d = getDialect(name);
  const t = syncTables(d, 'audsync', 's', 'm');
  const cases: Record<string, () => string[]> = { ...Object.fromEntries(Object.entries(CASES).map(([k, f]) => [k, () => f(d, t)])), ...WAREHOUSE_CASES[name] };
  it.each(Object.keys(cases))('%s', (kase) => {
    const file = path.join(GOLDEN_DIR, name, `${kase}.sql`);
    const actual = render(cases[kase]!());
    if (UPDATE) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, actual);
    }
    expect(fs.existsSync(file), `missing ${path.relative(process.cwd(), file)}: run with AUDSYNC_UPDATE_GOLDEN=1 to record it`).toBe(true);
    expect(actual).toBe(fs.readFileSync(file, 'utf8'));
  });
});

describe('Snowflake dialect primitives', () => {
  const d = new SnowflakeDialect();
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

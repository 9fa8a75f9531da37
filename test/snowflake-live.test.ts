import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnowflakeWarehouseConfig } from '../engine/config/config-types.js';
import { env } from '../engine/vocabulary/env-ref.js';
import { LockError, WarehouseError } from '../engine/errors.js';
import { SnowflakeConnection } from '../engine/warehouse/snowflake/snowflake-connection.js';

/**
 * The smoke of snowflake-connection.test.ts against the real service. Runs only
 * with credentials (DESIGN.md §9):
 *   AUDSYNC_TEST_SNOWFLAKE_ACCOUNT, AUDSYNC_TEST_SNOWFLAKE_USER,
 *   AUDSYNC_TEST_SNOWFLAKE_PASSWORD or AUDSYNC_TEST_SNOWFLAKE_PRIVATE_KEY_PATH
 *   (+ optional AUDSYNC_TEST_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE),
 *   AUDSYNC_TEST_SNOWFLAKE_DATABASE, AUDSYNC_TEST_SNOWFLAKE_WAREHOUSE,
 *   optional AUDSYNC_TEST_SNOWFLAKE_ROLE.
 * Everything is created in a schema of its own, dropped at the end.
 */
const E = process.env;
const live = !!(
  E.AUDSYNC_TEST_SNOWFLAKE_ACCOUNT &&
  E.AUDSYNC_TEST_SNOWFLAKE_USER &&
  (E.AUDSYNC_TEST_SNOWFLAKE_PASSWORD || E.AUDSYNC_TEST_SNOWFLAKE_PRIVATE_KEY_PATH) &&
  E.AUDSYNC_TEST_SNOWFLAKE_DATABASE &&
  E.AUDSYNC_TEST_SNOWFLAKE_WAREHOUSE
);
if (!live) {
  process.stderr.write(
    '[audsync tests] Snowflake live suite skipped: set AUDSYNC_TEST_SNOWFLAKE_ACCOUNT, _USER, _PASSWORD (or _PRIVATE_KEY_PATH), _DATABASE and _WAREHOUSE to run it (the protocol-fake suite always runs)\n',
  );
}

/** Real statements take longer than the fake's: a lock timeout that leaves room for Snowflake's statement latency. */
const LIVE_LOCK_TIMEOUT_S = 5;

const SCHEMA = `audsync_test_${randomBytes(4).toString('hex')}`;

function config(extra: Partial<SnowflakeWarehouseConfig> = {}): SnowflakeWarehouseConfig {
  const auth: Partial<SnowflakeWarehouseConfig> = E.AUDSYNC_TEST_SNOWFLAKE_PRIVATE_KEY_PATH
    ? {
        privateKeyPath: E.AUDSYNC_TEST_SNOWFLAKE_PRIVATE_KEY_PATH,
        ...(E.AUDSYNC_TEST_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE ? { privateKeyPassphrase: env('AUDSYNC_TEST_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE') } : {}),
      }
    : { password: env('AUDSYNC_TEST_SNOWFLAKE_PASSWORD') };
  return {
    type: 'snowflake',
    account: E.AUDSYNC_TEST_SNOWFLAKE_ACCOUNT!,
    username: E.AUDSYNC_TEST_SNOWFLAKE_USER!,
    database: E.AUDSYNC_TEST_SNOWFLAKE_DATABASE!,
    warehouse: E.AUDSYNC_TEST_SNOWFLAKE_WAREHOUSE!,
    ...(E.AUDSYNC_TEST_SNOWFLAKE_ROLE ? { role: E.AUDSYNC_TEST_SNOWFLAKE_ROLE } : {}),
    ...auth,
    ...extra,
  };
}

const opened: SnowflakeConnection[] = [];
async function connect(extra: Partial<SnowflakeWarehouseConfig> = {}): Promise<SnowflakeConnection> {
  const conn = await SnowflakeConnection.open(config(extra), { stateSchema: SCHEMA, projectDir: process.cwd() });
  opened.push(conn);
  return conn;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(!live)('SnowflakeConnection against the real service', () => {
  let conn: SnowflakeConnection;
  beforeAll(async () => {
    conn = await connect();
    await conn.execute(conn.dialect.createSchema(SCHEMA));
  }, 120_000);
  afterAll(async () => {
    await conn?.execute(`DROP SCHEMA IF EXISTS ${conn.dialect.quoteIdent(SCHEMA)} CASCADE`).catch(() => undefined);
    for (const c of opened) await c.close().catch(() => undefined);
  }, 120_000);

  it('queries: typed values, lower-cased keys; columns() as Snowflake reports them', async () => {
    expect(await conn.query(`SELECT 1 AS one, 'a' AS s, TRUE AS ok, 9007199254740993 AS big, CAST('2024-01-02T03:04:05Z' AS TIMESTAMP_TZ) AS ts`)).toEqual([
      { one: 1, s: 'a', ok: true, big: '9007199254740993', ts: '2024-01-02T03:04:05.000Z' },
    ]);
    expect(await conn.columns(`SELECT 1 AS customer_id, 'x' AS "MixedCase"`)).toEqual(['CUSTOMER_ID', 'MixedCase']);
  });

  it("identifier normalization and hashing: Snowflake's functions give the reference hashes", async () => {
    const d = conn.dialect;
    const sha = (v: string) => createHash('sha256').update(v).digest('hex');
    const cases = [
      ['email', '  Foo.Bar+Tag@Example.COM ', 'foo.bar+tag@example.com'],
      ['phone', '+1 (555) 010-0200', '15550100200'],
      ['first_name', " O'Brien\\Smith-Jones ", 'obriensmithjones'],
      ['city', 'Saint-Étienne 15\tx', 'saintétiennex'],
    ] as const;
    const select = cases.map(([kind, value], i) => `${d.hashIdentifier(kind, d.quoteLiteral(value))} AS h${i}`).join(', ');
    const [row] = await conn.query(`SELECT ${select}`);
    expect(cases.map((_, i) => row![`h${i}`])).toEqual(cases.map(([, , normalized]) => sha(normalized)));
  });

  it('bulkWrite round-trips awkward text; stream yields chunks', async () => {
    const t = conn.dialect.relation(SCHEMA, 'texts');
    await conn.execute(`CREATE OR REPLACE TABLE ${t} (k VARCHAR, v VARCHAR)`);
    const awkward = ["O'Hare", 'say "hi"', 'back\\slash', 'line1\nline2\r\n\ttabbed', '🎉 emoji ✓ Zoë', '', "'); DROP TABLE texts; --", null];
    await conn.bulkWrite(SCHEMA, 'texts', awkward.map((v, i) => [String(i).padStart(2, '0'), v]));
    expect((await conn.query(`SELECT k, v FROM ${t} ORDER BY k`)).map((r) => r.v)).toEqual(awkward);

    const many = conn.dialect.relation(SCHEMA, 'many');
    await conn.execute(`CREATE OR REPLACE TABLE ${many} AS SELECT SEQ4() AS n, 'row ' || SEQ4() AS label FROM TABLE(GENERATOR(ROWCOUNT => 12000))`);
    const sizes: number[] = [];
    let count = 0;
    for await (const chunk of conn.stream(`SELECT n, label FROM ${many} ORDER BY n`)) {
      sizes.push(chunk.length);
      count += chunk.length;
    }
    expect(count).toBe(12000);
    expect(sizes).toEqual([5000, 5000, 2000]);
  }, 120_000);

  it('transaction commit and rollback; SQL errors are WarehouseErrors with the statement', async () => {
    const t = conn.dialect.relation(SCHEMA, 'tx');
    await conn.execute(`CREATE OR REPLACE TABLE ${t} (k VARCHAR)`);
    await conn.transaction(() => conn.bulkWrite(SCHEMA, 'tx', [['kept']]));
    await rejection(
      conn.transaction(async () => {
        await conn.bulkWrite(SCHEMA, 'tx', [['lost']]);
        throw new Error('boom');
      }),
    );
    expect(await conn.query(`SELECT k FROM ${t}`)).toEqual([{ k: 'kept' }]);
    const sql = `SELECT * FROM ${conn.dialect.relation(SCHEMA, 'no_such_table')}`;
    const err = await rejection(conn.query(sql));
    expect(err).toBeInstanceOf(WarehouseError);
    expect((err as WarehouseError).sql).toBe(sql);
    expect(err.message).toMatch(/\(Snowflake 002003, SQLSTATE 42S02\)$/);
  }, 120_000);

  it('an unknown user is refused with a message naming account and user', async () => {
    // An unknown user, not a wrong password for the real one: repeated failures would lock the test user out.
    const user = `${E.AUDSYNC_TEST_SNOWFLAKE_USER}_audsync_nobody`;
    const err = await rejection(SnowflakeConnection.open({ ...config(), username: user, privateKeyPath: undefined, password: 'not-a-password' }, { stateSchema: SCHEMA, projectDir: process.cwd() }));
    expect(err.message).toContain(`Snowflake refused the login of user "${user}" on Snowflake account "${E.AUDSYNC_TEST_SNOWFLAKE_ACCOUNT}"`);
    expect(err.message).not.toContain('not-a-password');
  }, 120_000);

  it('run lock: blocked while the holder heartbeats, taken over after it stops', async () => {
    const holder = await connect({ lockTimeoutSeconds: LIVE_LOCK_TIMEOUT_S });
    const other = await connect({ lockTimeoutSeconds: LIVE_LOCK_TIMEOUT_S });
    await holder.acquireRunLock('live_sync');
    const blocked = await rejection(other.acquireRunLock('live_sync'));
    expect(blocked).toBeInstanceOf(LockError);
    expect(blocked.message).toMatch(/^sync "live_sync" is being run by .+:\d+:[0-9a-f]{8} since /);
    await new Promise((r) => setTimeout(r, (LIVE_LOCK_TIMEOUT_S + 1) * 1000));
    expect(await rejection(other.acquireRunLock('live_sync'))).toBeInstanceOf(LockError);
    await holder.close();
    await new Promise((r) => setTimeout(r, (LIVE_LOCK_TIMEOUT_S + 1) * 1000));
    const release = await other.acquireRunLock('live_sync');
    await release();
  }, 120_000);
});

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCommand } from '../engine/commands/run-command.js';
import { BUILTIN_DESTINATIONS } from '../destinations/index.js';
import type { RunEvent } from '../engine/sync/run-events.js';
import { TemplateCompiler } from '../engine/compile/template-compiler.js';
import type { NormalizedConfig } from '../engine/config/normalized-config.js';
import type { WarehouseType } from '../engine/config/config-types.js';
import type { SnowflakeWarehouseConfig } from '../engine/config/config-types.js';
import { validateConfig } from '../engine/config/config-validate.js';
import { env } from '../engine/vocabulary/env-ref.js';
import { defineDestination } from '../engine/destination/destination-api.js';
import { ConfigError, LockError, WarehouseError } from '../engine/errors.js';
import { ensureSyncTables, planSync, prepareSync } from '../engine/plan/sync-planner.js';
import { commitBatch } from '../engine/state/plan-log.js';
import { streamPlanSql } from '../engine/plan/plan-sql.js';
import { BUILTIN_MACROS_DIR } from '../engine/project/project-loader.js';
import { emptyCounts, ensureStateTablesSql, finishRunSql, healthSql, insertRunSql, lastStartedSql } from '../engine/state/state-sql.js';
import { bindSlices } from '../engine/warehouse/snowflake/snowflake-binds.js';
import { SnowflakeConnection, type SnowflakeConnectionOptions } from '../engine/warehouse/snowflake/snowflake-connection.js';
import { startFakeSnowflake, type FakeSnowflake } from './fakes/snowflake-server.js';
import { snowflakeToDuckDb } from './fakes/snowflake-sql-rewrite.js';

/**
 * The real SnowflakeConnection, through the real snowflake-sdk, against a
 * protocol-level fake of Snowflake's HTTP API backed by DuckDB
 * (test/fakes/snowflake-server.ts). snowflake-live.test.ts runs the same smoke
 * against the real service when credentials are given.
 */
const PASSWORD = 'correct horse battery staple';
const PASSPHRASE = 'key passphrase 42';
const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_PEM = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const PRIVATE_PEM = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const ENCRYPTED_PEM = keys.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }).toString();
/**
 * `audsync run` in-process on Snowflake: the warehouse opener is swapped for one
 * that points snowflake-sdk at the fake (accessUrl is test-only, not config), and
 * the dialect registry learns 'snowflake' if this build has not registered it yet.
 */
const route = vi.hoisted(() => ({ accessUrl: '' }));
vi.mock('../engine/warehouse/open-warehouse.js', () => ({
  async openWarehouse(config: NormalizedConfig) {
    const { SnowflakeConnection: Conn } = await import('../engine/warehouse/snowflake/snowflake-connection.js');
    if (config.warehouse.type !== 'snowflake') throw new Error('this test file opens Snowflake only');
    return Conn.open(config.warehouse, { stateSchema: config.stateSchema, projectDir: config.projectDir, accessUrl: route.accessUrl });
  },
}));
vi.mock('../engine/warehouse/warehouse-registry.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../engine/warehouse/warehouse-registry.js')>();
  const { SnowflakeDialect } = await import('../engine/warehouse/snowflake/snowflake-dialect.js');
  return { ...original, getDialect: (name: WarehouseType) => (name === 'snowflake' ? new SnowflakeDialect() : original.getDialect(name)) };
});

/** Small result chunks in the fake, so a few thousand rows arrive as several chunks. */
const FAKE_CHUNK_ROWS = 500;

let fake: FakeSnowflake;
let dir: string;
const opened: SnowflakeConnection[] = [];

function config(extra: Partial<SnowflakeWarehouseConfig> = {}): SnowflakeWarehouseConfig {
  return { type: 'snowflake', account: 'testorg-acct', username: 'audsync_svc', database: 'ANALYTICS', warehouse: 'SYNC_WH', role: 'AUDSYNC', ...extra };
}

async function connect(extra: Partial<SnowflakeWarehouseConfig> = { password: PASSWORD }, opts: Partial<SnowflakeConnectionOptions> = {}): Promise<SnowflakeConnection> {
  const conn = await SnowflakeConnection.open(config(extra), { stateSchema: 'audsync', projectDir: dir, accessUrl: fake.url, ...opts });
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

beforeAll(async () => {
  fake = await startFakeSnowflake({ users: { AUDSYNC_SVC: { password: PASSWORD, publicKeyPem: PUBLIC_PEM } }, chunkRows: FAKE_CHUNK_ROWS });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audsync-sf-'));
  route.accessUrl = fake.url;
});

afterAll(async () => {
  for (const c of opened) await c.close().catch(() => undefined);
  await fake?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('login', () => {
  it('logs in with a password, as application audsync, into the configured database', async () => {
    await connect();
    expect(fake.logins.at(-1)).toEqual({ user: 'audsync_svc', authenticator: 'SNOWFLAKE', application: 'audsync', database: 'ANALYTICS', ok: true });
  });

  it('logs in with a key pair: privateKey from env(), or an encrypted privateKeyPath with its passphrase', async () => {
    const environment = { SF_KEY: PRIVATE_PEM.replace(/\n/g, '\\n'), SF_PASS: PASSPHRASE };
    const a = await connect({ privateKey: env('SF_KEY') }, { env: environment });
    expect(fake.logins.at(-1)).toMatchObject({ authenticator: 'SNOWFLAKE_JWT', ok: true });
    fs.writeFileSync(path.join(dir, 'rsa_key.p8'), ENCRYPTED_PEM);
    const b = await connect({ privateKeyPath: 'rsa_key.p8', privateKeyPassphrase: env('SF_PASS') }, { env: environment });
    expect(fake.logins.at(-1)).toMatchObject({ authenticator: 'SNOWFLAKE_JWT', ok: true });
    expect(await a.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(await b.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
  });

  it('a wrong password is a clear error naming account and user, never the password', async () => {
    const err = await rejection(connect({ password: 'hunter2-wrong' }));
    expect(err).toBeInstanceOf(WarehouseError);
    expect(err.message).toBe('Snowflake refused the login of user "audsync_svc" on Snowflake account "testorg-acct": Incorrect username or password was specified. (code 390100)');
    expect((err as WarehouseError).hint).toMatch(/warehouse\.password/);
    expect(JSON.stringify({ m: err.message, h: (err as WarehouseError).hint, s: err.stack })).not.toContain('hunter2');
  });

  it('a key the user does not have is refused (JWT), naming account and user', async () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const err = await rejection(connect({ privateKey: other }));
    expect(err.message).toMatch(/^Snowflake refused the login of user "audsync_svc" on Snowflake account "testorg-acct": JWT token is invalid\. \(code 390144\)$/);
    expect((err as WarehouseError).hint).toMatch(/RSA_PUBLIC_KEY/);
  });

  it('secret problems name the config path, never the value', async () => {
    const unset = await rejection(connect({ password: env('AUDSYNC_TEST_UNSET_SF_PASSWORD') }, { env: {} }));
    expect(unset).toBeInstanceOf(ConfigError);
    expect(unset.message).toBe('warehouse.password: environment variable AUDSYNC_TEST_UNSET_SF_PASSWORD is not set');
    const badPass = await rejection(connect({ privateKey: ENCRYPTED_PEM, privateKeyPassphrase: 'not-the-passphrase' }));
    expect(badPass).toBeInstanceOf(ConfigError);
    expect(badPass.message).toMatch(/^warehouse\.privateKey: not a usable PEM private key \(/);
    expect(badPass.message + (badPass as ConfigError).hint).not.toContain('not-the-passphrase');
    const missing = await rejection(connect({ privateKeyPath: 'nope.p8' }));
    expect(missing.message).toBe(`warehouse.privateKeyPath: cannot read ${path.join(dir, 'nope.p8')} (ENOENT)`);
    const timeout = await rejection(connect({ password: PASSWORD, lockTimeoutSeconds: 0 }));
    expect(timeout.message).toMatch(/^warehouse\.lockTimeoutSeconds: /);
  });
});

describe('statements', () => {
  let conn: SnowflakeConnection;
  beforeAll(async () => {
    conn = await connect();
    await conn.execute(`CREATE SCHEMA IF NOT EXISTS ${conn.dialect.quoteIdent('smoke')}`);
  });

  it('execute and query: values typed as the engine expects, keys lower-cased', async () => {
    const t = conn.dialect.relation('smoke', 'typed');
    await conn.execute(`CREATE OR REPLACE TABLE ${t} (id NUMBER(38,0), name VARCHAR, ts TIMESTAMP_TZ, ok BOOLEAN, score DOUBLE PRECISION)`);
    await conn.execute(`INSERT INTO ${t} VALUES (1, 'a', CAST('2024-01-02T03:04:05.000Z' AS TIMESTAMP_TZ), TRUE, 1.5), (2, NULL, NULL, FALSE, NULL)`);
    const rows = await conn.query(`SELECT id, name, ts, ok, score, 9007199254740993 AS big, CAST(2.50 AS NUMBER(10,2)) AS dec FROM ${t} ORDER BY id`);
    expect(rows).toEqual([
      { id: 1, name: 'a', ts: '2024-01-02T03:04:05.000Z', ok: true, score: 1.5, big: '9007199254740993', dec: '2.50' },
      { id: 2, name: null, ts: null, ok: false, score: null, big: '9007199254740993', dec: '2.50' },
    ]);
  });

  it('columns() probes with LIMIT 0 and reports names as Snowflake does (unquoted upper-case)', async () => {
    const before = fake.statements.length;
    expect(await conn.columns(`SELECT 1 AS customer_id, 'x' AS "MixedCase"`)).toEqual(['CUSTOMER_ID', 'MixedCase']);
    expect(fake.statements.slice(before)).toEqual([`SELECT * FROM (SELECT 1 AS customer_id, 'x' AS "MixedCase") AS audsync_probe LIMIT 0`]);
  });

  it('bulkWrite round-trips awkward text through array binds', async () => {
    const t = conn.dialect.relation('smoke', 'texts');
    await conn.execute(`CREATE OR REPLACE TABLE ${t} (k VARCHAR, v VARCHAR)`);
    const awkward = ["O'Hare", 'say "hi"', 'back\\slash \\n not a newline', 'line1\nline2\r\n\ttabbed', '🎉 emoji ✓ Zoë', '', '   ', "'); DROP TABLE texts; --", '?', null];
    const rows = awkward.map((v, i) => [String(i).padStart(2, '0'), v]);
    const before = fake.statements.length;
    await conn.bulkWrite('smoke', 'texts', rows);
    expect(fake.statements.slice(before)).toEqual(['INSERT INTO "SMOKE"."TEXTS" VALUES (?, ?)']);
    const back = await conn.query(`SELECT k, v FROM ${t} ORDER BY k`);
    expect(back.map((r) => r.v)).toEqual(awkward);
  });

  it('a batch past the driver\'s staging threshold stays in the transaction: inline INSERTs within the limits, never stage DDL', async () => {
    const t = conn.dialect.relation('smoke', 'wide');
    await conn.execute(`CREATE OR REPLACE TABLE ${t} (a VARCHAR, b VARCHAR, c VARCHAR, d VARCHAR)`);
    // 30,000 rows x 4 values = 120,000 binds, above the driver's 100,000 staging threshold, about 1.2 MB.
    const rows = Array.from({ length: 30_000 }, (_, i) => [String(i), `value ${i}`, null, 'd']);
    const before = fake.statements.length;
    const commitsBefore = fake.implicitCommits();
    await rejection(
      conn.transaction(async () => {
        await conn.bulkWrite('smoke', 'wide', rows);
        throw new Error('stop before commit');
      }),
    );
    const sent = fake.statements.slice(before);
    expect(sent.filter((q) => /STAGE/i.test(q))).toEqual([]);
    expect(sent.filter((q) => q.startsWith('INSERT')).length).toBeGreaterThan(1);
    expect(fake.implicitCommits()).toBe(commitsBefore);
    expect(await conn.query(`SELECT count(*) AS n FROM ${t}`)).toEqual([{ n: 0 }]);
    await conn.transaction(() => conn.bulkWrite('smoke', 'wide', rows));
    expect(await conn.query(`SELECT count(*) AS n, count(c) AS c, max(length(b)) AS w FROM ${t}`)).toEqual([{ n: 30_000, c: 0, w: 11 }]);
  });

  it('streams a few thousand rows in chunks, fetching result chunks as it goes', async () => {
    const c = await connect({ password: PASSWORD }, { streamChunkRows: 1000 });
    const t = c.dialect.relation('smoke', 'many');
    await c.execute(`CREATE OR REPLACE TABLE ${t} (n NUMBER(38,0), label VARCHAR)`);
    const total = 3500;
    await c.bulkWrite('smoke', 'many', Array.from({ length: total }, (_, i) => [String(i), `row ${i}`]));
    const fetchesBefore = fake.chunkFetches();
    const sizes: number[] = [];
    const seen: number[] = [];
    let fetchedAtFirstChunk = -1;
    for await (const chunk of c.stream(`SELECT n, label FROM ${t} ORDER BY n`)) {
      if (fetchedAtFirstChunk < 0) fetchedAtFirstChunk = fake.chunkFetches() - fetchesBefore;
      sizes.push(chunk.length);
      for (const r of chunk) seen.push(Number(r.n));
      expect(chunk[0]).toEqual({ n: expect.any(Number), label: `row ${chunk[0]!.n}` });
    }
    expect(sizes).toEqual([1000, 1000, 1000, 500]);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
    // 3500 rows = 500 inline + 6 result chunks, downloaded lazily: not all before the first rows are used.
    expect(fake.chunkFetches() - fetchesBefore).toBe(total / FAKE_CHUNK_ROWS - 1);
    expect(fetchedAtFirstChunk).toBeLessThan(total / FAKE_CHUNK_ROWS - 1);
  });

  it('transaction: committed when fn resolves, rolled back when it throws; no nesting', async () => {
    const t = conn.dialect.relation('smoke', 'tx');
    await conn.execute(`CREATE OR REPLACE TABLE ${t} (k VARCHAR)`);
    await conn.transaction(async () => {
      await conn.bulkWrite('smoke', 'tx', [['kept']]);
      await conn.execute(`INSERT INTO ${t} VALUES ('kept too')`);
    });
    const boom = await rejection(
      conn.transaction(async () => {
        await conn.bulkWrite('smoke', 'tx', [['lost']]);
        throw new Error('destination exploded');
      }),
    );
    expect(boom.message).toBe('destination exploded');
    expect((await conn.query(`SELECT k FROM ${t} ORDER BY k`)).map((r) => r.k)).toEqual(['kept', 'kept too']);
    const nested = await rejection(conn.transaction(() => conn.transaction(async () => 1)));
    expect(nested.message).toMatch(/nested transaction/);
    expect(await conn.query(`SELECT count(*) AS n FROM ${t}`)).toEqual([{ n: 2 }]);
  });

  it('identifier normalization and hashing SQL (with quotes and backslashes in literals) gives the reference hashes', async () => {
    const d = conn.dialect;
    const sha = (v: string) => crypto.createHash('sha256').update(v).digest('hex');
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

  it('a SQL error is a WarehouseError carrying the statement and Snowflake code', async () => {
    const sql = 'SELECT * FROM "SMOKE"."NO_SUCH_TABLE"';
    const err = await rejection(conn.query(sql));
    expect(err).toBeInstanceOf(WarehouseError);
    expect((err as WarehouseError).sql).toBe(sql);
    expect(err.message).toMatch(/^SQL compilation error:\n/);
    expect(err.message).toMatch(/\(Snowflake 002003, SQLSTATE 42S02\)$/);
    // The session is still usable afterwards.
    expect(await conn.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });
});

describe('run lock', () => {
  it('a second run is blocked naming the holder; a holder that stops heartbeating loses it after the timeout', async () => {
    const timeout = { password: PASSWORD, lockTimeoutSeconds: 2 };
    const holder = await connect(timeout);
    const other = await connect(timeout);
    await holder.acquireRunLock('vip_to_crm');
    const blocked = await rejection(other.acquireRunLock('vip_to_crm'));
    expect(blocked).toBeInstanceOf(LockError);
    expect(blocked.message).toMatch(
      new RegExp(`^sync "vip_to_crm" is being run by ${os.hostname()}:${process.pid}:[0-9a-f]{8} since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(last heartbeat [^;]+; its lock expires at \\d{4}-[^ ]+Z unless renewed\\)$`),
    );
    expect((blocked as LockError).hint).toMatch(/2 s after its last heartbeat \(warehouse\.lockTimeoutSeconds\)/);
    // Other syncs are independent.
    const releaseOther = await other.acquireRunLock('other_sync');
    await releaseOther();
    // The live holder heartbeats (every 0.5 s at a 2 s timeout): past the timeout it still holds.
    await new Promise((r) => setTimeout(r, 2600));
    expect(await rejection(other.acquireRunLock('vip_to_crm'))).toBeInstanceOf(LockError);
    // The holder dies without releasing (close() never frees a lock): its row expires and is taken over.
    await holder.close();
    await new Promise((r) => setTimeout(r, 2600));
    const release = await other.acquireRunLock('vip_to_crm');
    const rows = await fake.duck(`SELECT owner FROM audsync.run_locks WHERE sync_name = 'vip_to_crm'`);
    expect(rows).toHaveLength(1);
    await release();
    expect(await fake.duck(`SELECT * FROM audsync.run_locks WHERE sync_name = 'vip_to_crm'`)).toEqual([]);
  });
});

describe('the engine statements run on the fake', () => {
  it('state tables, prepare + plan, a batch commit, a second plan, finish and health', async () => {
    const conn = await connect();
    const d = conn.dialect;
    const ads = defineDestination<Record<string, never>>({
      type: 'test_ads',
      description: 'test',
      options: {},
      identifiers: { EMAIL: { kind: 'email' } },
      batchSize: { default: 10, max: 10 },
      connect: () => ({ sendBatch: async () => [] }),
    });
    const cfg = validateConfig(
      {
        warehouse: config({ password: PASSWORD }),
        destinations: { ads: { type: 'test_ads' } },
        syncs: { vip: { model: 'vip', destination: 'ads', key: 'customer_id', fields: { EMAIL: 'email', tier: 'tier' } } },
      },
      path.join(dir, 'audsync.config.ts'),
      { test_ads: ads as never },
    );
    const builtin = fs.readdirSync(BUILTIN_MACROS_DIR).filter((f) => f.endsWith('.sql'));
    const compiler = new TemplateCompiler(
      {
        dir,
        models: new Map([['vip', { name: 'vip', file: 'models/vip.sql', source: "select customer_id, email, tier from {{source 'shop' 'customers'}} where {{within_days 'last_order_at' 30}}" }]]),
        macroFiles: builtin.map((f) => ({ file: `audsync/macros/${f}`, source: fs.readFileSync(path.join(BUILTIN_MACROS_DIR, f), 'utf8'), builtin: true })),
      },
      d,
      {},
    );
    await conn.execute(`CREATE SCHEMA IF NOT EXISTS SHOP`);
    await conn.execute(`CREATE OR REPLACE TABLE shop.customers (customer_id NUMBER(38,0), email VARCHAR, tier VARCHAR, last_order_at TIMESTAMP_TZ)`);
    await conn.execute(`INSERT INTO shop.customers VALUES
      (1, '  Ann@Example.COM ', 'gold', CURRENT_TIMESTAMP()), (2, 'bob@example.com', 'silver', CURRENT_TIMESTAMP()),
      (3, NULL, 'gold', CURRENT_TIMESTAMP()), (4, 'old@example.com', 'gold', DATEADD(day, -90, CURRENT_TIMESTAMP()))`);
    for (const sql of ensureStateTablesSql(d, 'audsync')) await conn.execute(sql);

    const prepared = await prepareSync(conn, compiler, cfg, cfg.syncs.vip!, 'models/vip.sql');
    await ensureSyncTables(conn, prepared);
    const plan = await planSync(conn, prepared, { fullRefresh: false, force: true });
    expect({ members: plan.members, invalid: plan.invalid, add: plan.add, change: plan.change, remove: plan.remove }).toEqual({ members: 2, invalid: 1, add: 2, change: 0, remove: 0 });
    const rows = (await all(conn.stream(streamPlanSql(prepared.tables)))).sort((a, b) => String(a.record_key).localeCompare(String(b.record_key)));
    const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
    expect(rows.map((r) => [r.op, r.record_key, JSON.parse(String(r.fields_json))])).toEqual([
      ['add', '1', { EMAIL: sha('ann@example.com'), tier: 'gold' }],
      ['add', '2', { EMAIL: sha('bob@example.com'), tier: 'silver' }],
    ]);

    const at = '2024-05-06T07:08:09.000Z';
    await conn.execute(insertRunSql(d, 'audsync', { runId: 'r1', sync: 'vip', model: 'vip', destination: 'ads', mode: 'mirror', startedAt: at, fullRefresh: false }));
    const exceptions = rows.map((r) => ({ rowNo: Number(r.row_no), status: 'succeeded' as const, destinationRecordId: `dest-${r.record_key}`, errorCode: null, errorMessage: null }));
    const commit = { runId: 'r1', sync: 'vip', batches: [{ ranges: [[1, rows.length] as const], attemptedAt: at }], mayReplace: false, keepRemoved: false, settlesPending: false, hasFailed: false, hasRejected: false, hadTracked: false, quarantineAfterRuns: 3 };
    await commitBatch(conn, 'audsync', prepared.tables, commit, exceptions, []);
    await conn.execute(finishRunSql(d, 'audsync', 'r1', 'vip', 'success', at, { ...emptyCounts(), members: 2, planned_add: 2, succeeded_add: 2 }, null));

    await conn.execute(`UPDATE shop.customers SET tier = 'platinum' WHERE customer_id = 1`);
    await conn.execute(`DELETE FROM shop.customers WHERE customer_id = 2`);
    const second = await planSync(conn, prepared, { fullRefresh: false, force: true });
    expect({ add: second.add, change: second.change, remove: second.remove }).toEqual({ add: 0, change: 1, remove: 1 });

    const [health] = await conn.query(healthSql(d, 'audsync'));
    expect(health).toMatchObject({ sync_name: 'vip', last_run_id: 'r1', last_status: 'success', last_run_at: at, last_success_at: at, members: 2, pending_retries: 0 });
    expect(await conn.query(lastStartedSql(d, 'audsync'))).toEqual([{ sync_name: 'vip', last_started: Date.parse(at) / 1000 }]);
    expect(await conn.query(`SELECT record_key, status, destination_record_id FROM audsync.sync_changelog ORDER BY record_key`)).toEqual([
      { record_key: '1', status: 'succeeded', destination_record_id: 'dest-1' },
      { record_key: '2', status: 'succeeded', destination_record_id: 'dest-2' },
    ]);
  });
});

describe('audsync run on Snowflake (in-process, through the fake)', () => {
  it('initial load, then churn: destination output, changelog, run rows and a released lock', async () => {
    const project = fs.mkdtempSync(path.join(dir, 'project-'));
    fs.mkdirSync(path.join(project, 'models'));
    fs.writeFileSync(
      path.join(project, 'audsync.config.ts'),
      `export default {
  warehouse: { type: 'snowflake', account: 'testorg-acct', username: 'audsync_svc', password: ${JSON.stringify(PASSWORD)}, database: 'ANALYTICS', lockTimeoutSeconds: 30 },
  stateSchema: 'audsync_e2e',
  destinations: { out: { type: 'file', path: 'out.jsonl' } },
  syncs: { vip_out: { model: 'vip', destination: 'out', key: 'customer_id', fields: { email: 'email', tier: 'tier' } } },
};
`,
    );
    fs.writeFileSync(path.join(project, 'models', 'vip.sql'), "select customer_id, email, tier from {{source 'crm' 'people'}} where tier <> 'none'");
    const seed = await connect();
    await seed.execute('CREATE SCHEMA IF NOT EXISTS CRM');
    await seed.execute(`CREATE OR REPLACE TABLE crm.people (customer_id NUMBER(38,0), email VARCHAR, tier VARCHAR)`);
    await seed.execute(`INSERT INTO crm.people VALUES (1, 'a@x.io', 'gold'), (2, 'b@x.io', 'silver'), (3, 'c@x.io', 'gold'), (4, 'd@x.io', 'none')`);

    const run = async (): Promise<RunEvent[]> => {
      const events: RunEvent[] = [];
      await runCommand({ config: path.join(project, 'audsync.config.ts'), destinations: BUILTIN_DESTINATIONS, force: true }, (e) => events.push(e));
      return events;
    };
    const finished = (events: RunEvent[]) => events.find((e) => e.event === 'sync_finished') as Extract<RunEvent, { event: 'sync_finished' }>;
    const first = finished(await run());
    expect(first.status).toBe('success');
    await seed.execute(`UPDATE crm.people SET tier = 'platinum' WHERE customer_id = 1`);
    await seed.execute(`UPDATE crm.people SET tier = 'none' WHERE customer_id = 2`);
    const second = finished(await run());
    expect(second.status).toBe('success');

    const lines = fs.readFileSync(path.join(project, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { op: string; key: string; fields: Record<string, string> });
    expect(lines.map((l) => `${l.op} ${l.key} ${l.fields.tier}`).sort()).toEqual(['add 1 gold', 'add 2 silver', 'add 3 gold', 'change 1 platinum', 'remove 2 silver']);
    expect(await seed.query(`SELECT status, succeeded_add, succeeded_change, succeeded_remove FROM audsync_e2e.sync_runs ORDER BY started_at`)).toEqual([
      { status: 'success', succeeded_add: 3, succeeded_change: 0, succeeded_remove: 0 },
      { status: 'success', succeeded_add: 0, succeeded_change: 1, succeeded_remove: 1 },
    ]);
    expect(await seed.query(`SELECT count(*) AS n FROM audsync_e2e.sync_changelog`)).toEqual([{ n: 5 }]);
    expect(await seed.query(`SELECT count(*) AS n FROM audsync_e2e.run_locks`)).toEqual([{ n: 0 }]);
  });
});

describe('bulkWrite slicing', () => {
  it('cuts rows so no INSERT exceeds the value or byte budget; an oversized row goes alone', () => {
    const rows = [['aaaa', 'bb'], ['cc', null], ['x'.repeat(50), 'y'], ['d', 'e']];
    // 2 values max: one row per slice.
    expect(bindSlices(rows, 2, 1_000).map((s) => s.length)).toEqual([1, 1, 1, 1]);
    // 40 bytes: (4+2+12) + (2+0+12) = 32 fit; the 63-byte row goes alone; the last starts anew.
    expect(bindSlices(rows, 100, 40)).toEqual([[rows[0], rows[1]], [rows[2]], [rows[3]]]);
    expect(bindSlices([])).toEqual([]);
  });
});

describe('the fake models Snowflake transaction rules', () => {
  it('DDL inside an open transaction commits it first; BEGIN inside a transaction is ignored', async () => {
    const conn = await connect();
    const t = conn.dialect.relation('smoke', 'ddl_rule');
    await conn.execute(`CREATE OR REPLACE TABLE ${t} (k VARCHAR)`);
    const before = fake.implicitCommits();
    await rejection(
      conn.transaction(async () => {
        await conn.execute(`INSERT INTO ${t} VALUES ('committed by the DDL')`);
        await conn.execute(`BEGIN TRANSACTION`);
        await conn.execute(`CREATE TABLE IF NOT EXISTS ${conn.dialect.relation('smoke', 'other')} (x VARCHAR)`);
        await conn.execute(`INSERT INTO ${t} VALUES ('autocommitted')`);
        throw new Error('rollback now');
      }),
    );
    expect(fake.implicitCommits()).toBe(before + 1);
    expect((await conn.query(`SELECT k FROM ${t} ORDER BY k`)).map((r) => r.k)).toEqual(['autocommitted', 'committed by the DDL']);
  });
});

describe("the fake's rewrite table (Snowflake -> DuckDB)", () => {
  it.each([
    ['CREATE OR REPLACE TRANSIENT TABLE "A"."B" AS\nSELECT 1', 'CREATE OR REPLACE TABLE "A"."B" AS\nSELECT 1'],
    ['CREATE TRANSIENT TABLE IF NOT EXISTS x (a TIMESTAMP_TZ, b NUMBER(38,0), c NUMBER(10,2))', 'CREATE TABLE IF NOT EXISTS x (a TIMESTAMPTZ, b BIGINT, c DECIMAL(10,2))'],
    [`TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL('a', p."F_0", 'b', SHA2(x, 256)))`, `CAST(json_object('a', p."F_0", 'b', sha256(x)) AS VARCHAR)`],
    [`REGEXP_REPLACE(REGEXP_REPLACE(x, '[^0-9]', ''), '^0+', '')`, `regexp_replace(regexp_replace(x, '[^0-9]', '', 'g'), '^0+', '', 'g')`],
    [`REGEXP_LIKE(y, '^[0-9a-f]{64}$')`, `regexp_full_match(y, '^[0-9a-f]{64}$')`],
    ['(t >= DATEADD(day, -30, CURRENT_TIMESTAMP()))', '(t >= (CURRENT_TIMESTAMP + INTERVAL (-30) DAY))'],
    ['DATE_PART(epoch_second, max(started_at))', 'CAST(floor(epoch(max(started_at))) AS BIGINT)'],
    [`SELECT 'it''s \\\\ a \\n', 'SHA2(x, 256) TRANSIENT'`, `SELECT 'it''s \\ a \n', 'SHA2(x, 256) TRANSIENT'`],
    [`SELECT "TIMESTAMP_TZ" FROM t -- TRANSIENT TABLE`, `SELECT "TIMESTAMP_TZ" FROM t -- TRANSIENT TABLE`],
  ])('%s', (snowflake, duckdb) => {
    expect(snowflakeToDuckDb(snowflake)).toBe(duckdb);
  });

  it('leaves statements DuckDB runs as they are (MERGE, plain SQL)', () => {
    const merge = `MERGE INTO t AS l USING (SELECT 1 AS a) AS c ON l.a = c.a WHEN NOT MATCHED THEN INSERT (a) VALUES (c.a)`;
    expect(snowflakeToDuckDb(merge)).toBe(merge);
  });
});

async function all<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of it) out.push(...chunk);
  return out;
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';
import { POSTGRES_URL, faultMachinerySql, holdFakeLock, queueFaultSql, quote, tickSql, uniqueSchema } from './fakes/postgres-table-scenario-fake.js';

if (!POSTGRES_URL) console.warn('postgres_table destination tests SKIPPED: set AUDSYNC_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run them');

const MODEL = `select id, email, tier, score, vip, joined, tags from {{source 'src' 'customers'}} where active\n`;
const FIELDS = `{ email: 'email', tier: 'tier', score: 'score', vip: 'vip', joined: 'joined', tags: 'tags' }`;

describe.skipIf(!POSTGRES_URL)('postgres_table destination', () => {
  const url = POSTGRES_URL ?? '';
  let db: pg.Client;
  let schema: string;
  let s: string;
  let p: CliProject;
  let releaseLock: (() => Promise<void>) | undefined;
  const env = () => ({ APP_DB_URL: url });
  const run = (extra: Record<string, string> = {}) => p.cli(['run', '--json'], { ...env(), ...extra });
  const q = async (sql: string) => (await db.query(sql)).rows as Array<Record<string, unknown>>;

  function config(o: { target?: string; mode?: string; dest?: string; fields?: string; key?: string } = {}): string {
    return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: {
    app: { type: 'postgres_table', connectionString: env('APP_DB_URL'), batchSize: 4, retryBaseDelayMs: 5, timeoutMs: 5000${o.dest ?? ''} },
  },
  syncs: {
    vip: {
      model: 'customers', destination: 'app', key: '${o.key ?? 'id'}', mode: '${o.mode ?? 'mirror'}',
      fields: ${o.fields ?? FIELDS},
      target: ${o.target ?? `{ table: '${schema}.customers' }`},
    },
  },
});
`;
  }

  async function project(n: number, o: Parameters<typeof config>[0] = {}): Promise<void> {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(o), 'models/customers.sql': MODEL });
    await p.exec(
      'CREATE SCHEMA src',
      'CREATE TABLE src.customers (id INTEGER, email VARCHAR, tier VARCHAR, score DECIMAL(10,2), vip BOOLEAN, joined DATE, tags VARCHAR[], active BOOLEAN)',
      `INSERT INTO src.customers SELECT i, 'user' || i || '@example.com', CASE WHEN i % 2 = 0 THEN 'gold' ELSE 'silver' END, i * 1.5, i % 3 = 0,
         DATE '2024-01-01' + CAST(i AS INTEGER), ['a', 'b' || i], TRUE FROM generate_series(1, ${n}) t(i)`,
    );
  }

  /** The app's own table: typed columns, an unmapped column with a default, a unique email. */
  async function appTable(extra = ''): Promise<void> {
    await db.query(
      `CREATE TABLE ${s}.customers (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, tier varchar(16), score numeric(10,2), vip boolean,
         joined date, tags text[], created_at timestamptz NOT NULL DEFAULT '2000-01-01', removed_at timestamptz${extra})`,
    );
  }

  beforeEach(async () => {
    db = new pg.Client({ connectionString: url });
    await db.connect();
    schema = uniqueSchema('audsync_ptt');
    s = quote(schema);
    await db.query(`CREATE SCHEMA ${s}`);
  });
  afterEach(async () => {
    await releaseLock?.();
    releaseLock = undefined;
    await p?.cleanUp();
    await db.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await db.end();
  });

  it('upserts with the table’s own types through one merge statement per batch, leaving unmapped columns alone', async () => {
    await appTable();
    for (const sql of faultMachinerySql(schema, 'customers')) await db.query(sql);
    await project(10);
    const r = await run();
    expect(finished(r, 'vip')).toMatchObject({ status: 'success', counts: { succeeded_add: 10 } });
    // batchSize 4: 3 batches, each ONE INSERT … ON CONFLICT DO UPDATE, which fires both the INSERT and the
    // UPDATE statement-level triggers: 2 ticks per batch (a statement per row would make 20).
    expect(Number((await q(tickSql(schema)))[0]!.n)).toBe(6);
    const rows = await q(`SELECT id, email, tier, score::text AS score, vip, to_char(joined, 'YYYY-MM-DD') AS joined, tags, created_at FROM ${s}.customers WHERE id IN (2, 3) ORDER BY id`);
    expect(rows).toEqual([
      { id: '2', email: 'user2@example.com', tier: 'gold', score: '3.00', vip: false, joined: '2024-01-03', tags: ['a', 'b2'], created_at: new Date('2000-01-01T00:00:00Z') },
      { id: '3', email: 'user3@example.com', tier: 'silver', score: '4.50', vip: true, joined: '2024-01-04', tags: ['a', 'b3'], created_at: new Date('2000-01-01T00:00:00Z') },
    ]);
    await p.exec(`UPDATE src.customers SET tier = 'platinum', score = 99.99 WHERE id = 3`);
    expect(finished(await run(), 'vip')).toMatchObject({ status: 'success', counts: { succeeded_change: 1 } });
    expect(await q(`SELECT tier, score::text AS score FROM ${s}.customers WHERE id = 3`)).toEqual([{ tier: 'platinum', score: '99.99' }]);
  });

  it('remove deletes the row; with softDeleteColumn it stamps it instead and a returning member is live again', async () => {
    await appTable();
    await project(4);
    expect((await run()).code).toBe(0);
    await p.exec('UPDATE src.customers SET active = FALSE WHERE id = 1');
    expect(finished(await run(), 'vip')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1 } });
    expect((await q(`SELECT id FROM ${s}.customers ORDER BY id`)).map((x) => x.id)).toEqual(['2', '3', '4']);

    p.write({ 'audsync.config.ts': config({ target: `{ table: '${schema}.customers', softDeleteColumn: 'removed_at' }` }) });
    await p.exec('UPDATE src.customers SET active = FALSE WHERE id = 2');
    expect(finished(await run(), 'vip')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1 } });
    const [gone] = await q(`SELECT removed_at FROM ${s}.customers WHERE id = 2`);
    expect(gone!.removed_at).toBeInstanceOf(Date);
    await p.exec('UPDATE src.customers SET active = TRUE WHERE id = 2');
    expect(finished(await run(), 'vip')).toMatchObject({ status: 'success', counts: { succeeded_add: 1 } });
    expect(await q(`SELECT removed_at FROM ${s}.customers WHERE id = 2`)).toEqual([{ removed_at: null }]);
  });

  it('constraint violations reject only the offending rows, with the database error; the rest of the batch commits', async () => {
    await appTable(`, CONSTRAINT tier_known CHECK (tier <> 'banned')`);
    await db.query(`INSERT INTO ${s}.customers (id, email) VALUES (100, 'user5@example.com')`); // user5's email is taken
    await project(8);
    await p.exec(`UPDATE src.customers SET tier = 'banned' WHERE id = 2`, `UPDATE src.customers SET tier = 'a-tier-name-far-too-long' WHERE id = 7`);
    const r = await run();
    expect(r.code).toBe(0);
    expect(finished(r, 'vip')).toMatchObject({ status: 'warning', counts: { succeeded_add: 5, rejected: 3 } });
    const rej = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected' ORDER BY record_key`);
    expect(rej).toEqual([
      { record_key: '2', error_code: '23514', error_message: expect.stringMatching(/violates check constraint "tier_known".*\(constraint tier_known\)/) },
      { record_key: '5', error_code: '23505', error_message: expect.stringMatching(/duplicate key value violates unique constraint "customers_email_key"/) },
      { record_key: '7', error_code: '22001', error_message: expect.stringMatching(/value too long for type character varying\(16\)/) },
    ]);
    // DETAIL ("Failing row contains ...") repeats the row's values: it stays out of the warehouse tables.
    expect(rej.map((x) => String(x.error_message)).join(' ')).not.toMatch(/Failing row/);
    expect((await q(`SELECT id FROM ${s}.customers ORDER BY id`)).map((x) => Number(x.id))).toEqual([1, 3, 4, 6, 8, 100]);
  });

  it('a row a trigger silently skips is failed, not succeeded', async () => {
    await appTable();
    await db.query(`CREATE FUNCTION ${s}.skip_three() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = 3 THEN RETURN NULL; END IF; RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER skip_three BEFORE INSERT ON ${s}.customers FOR EACH ROW EXECUTE FUNCTION ${s}.skip_three()`);
    await project(4);
    const r = await run();
    expect(finished(r, 'vip')).toMatchObject({ status: 'warning', counts: { succeeded_add: 3, failed: 1 } });
    expect(await p.query(`SELECT record_key, error_code FROM audsync.sync_changelog WHERE status = 'failed'`)).toEqual([{ record_key: '3', error_code: 'not_written' }]);
  });

  it('createTable: true creates a missing table (types from the values), and keyColumn names its own key column', async () => {
    await project(3, { target: `{ table: '${schema}.made', keyColumn: 'customer_id', createTable: true, softDeleteColumn: 'removed_at' }` });
    const r = await run();
    expect(finished(r, 'vip')).toMatchObject({ status: 'success', counts: { succeeded_add: 3 } });
    const cols = await q(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'made' ORDER BY ordinal_position`);
    expect(cols).toEqual([
      { column_name: 'customer_id', data_type: 'text' },
      { column_name: 'email', data_type: 'text' },
      { column_name: 'tier', data_type: 'text' },
      { column_name: 'score', data_type: 'numeric' },
      { column_name: 'vip', data_type: 'boolean' },
      { column_name: 'joined', data_type: 'text' },
      { column_name: 'tags', data_type: 'jsonb' },
      { column_name: 'removed_at', data_type: 'timestamp with time zone' },
    ]);
    expect(await q(`SELECT customer_id, score::text AS score, tags FROM ${s}.made WHERE customer_id = '2'`)).toEqual([{ customer_id: '2', score: '3.0', tags: ['a', 'b2'] }]);
  });

  it('a missing table or column fails the sync with a hint, and audsync never creates or alters it unasked', async () => {
    await project(3);
    let r = await run();
    expect(r.code).toBe(1);
    let f = finished(r, 'vip');
    expect(f.error).toMatch(new RegExp(`destination app: table ${schema}\\.customers does not exist`));
    expect(f.hint).toMatch(/createTable: true/);
    expect(await q(`SELECT 1 FROM information_schema.tables WHERE table_schema = '${schema}'`)).toEqual([]);

    await db.query(`CREATE TABLE ${s}.customers (id bigint PRIMARY KEY, email text)`);
    r = await run();
    f = finished(r, 'vip');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/table .*customers has no column "tier", "score", "vip", "joined", "tags"/);
    expect(f.hint).toMatch(/never alters your table/);
    expect((await q(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = '${schema}'`))[0]!.n).toBe(2);
  });

  it('update mode changes rows the table has and inserts nothing', async () => {
    await appTable();
    await db.query(`INSERT INTO ${s}.customers (id, email, tier) VALUES (2, 'old2@example.com', 'bronze')`);
    await project(3, { mode: 'update' });
    expect(finished(await run(), 'vip')).toMatchObject({ status: 'success', counts: { succeeded_change: 3 } });
    expect(await q(`SELECT id, email, tier FROM ${s}.customers`)).toEqual([{ id: '2', email: 'user2@example.com', tier: 'gold' }]);
  });

  it('lock contention and a lost connection are transient: retried, then converged', async () => {
    await appTable();
    for (const sql of faultMachinerySql(schema, 'customers')) await db.query(sql);
    releaseLock = await holdFakeLock(url, schema);
    await db.query(queueFaultSql(schema, 'throttle', 1));
    await db.query(queueFaultSql(schema, 'fail', 1));
    await project(4);
    const r = await run();
    expect(finished(r, 'vip')).toMatchObject({ status: 'success', counts: { succeeded_add: 4 } });
    const reasons = r.events.filter((e) => e.event === 'retry').map((e) => String(e.reason));
    expect(reasons).toEqual([expect.stringMatching(/destination app: PostgreSQL: canceling statement due to lock timeout/), expect.stringMatching(/terminating connection|Connection terminated/)]);
    expect(Number((await q(`SELECT count(*) AS n FROM ${s}.customers`))[0]!.n)).toBe(4);
  });

  it('an unreachable server is retried then the rows are failed; a database that does not exist fails the sync at once', async () => {
    await appTable();
    await project(2, { dest: ', maxAttempts: 2' });
    let r = await run({ APP_DB_URL: 'postgres://postgres@127.0.0.1:1/test' });
    expect(r.code).toBe(1);
    expect(finished(r, 'vip')).toMatchObject({ status: 'failed', counts: { failed: 2 } });
    expect(finished(r, 'vip').error).toMatch(/^2 of 2 rows failed: gave up after 2 attempts: destination app: PostgreSQL: .*ECONNREFUSED/);
    expect(r.events.find((e) => e.event === 'retry')?.reason).toMatch(/destination app: PostgreSQL: .*ECONNREFUSED/);

    r = await run({ APP_DB_URL: url.replace(/\/[^/]*$/, '/audsync_no_such_database') });
    expect(r.code).toBe(1);
    const f = finished(r, 'vip');
    expect(f.error).toMatch(/destination app: PostgreSQL refused access: database "audsync_no_such_database" does not exist/);
    expect(f.hint).toMatch(/connectionString/);
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });
});

import os from 'node:os';
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env } from '../engine/vocabulary/env-ref.js';
import { ConfigError, LockError, WarehouseError } from '../engine/errors.js';
import { PostgresDialect } from '../engine/warehouse/postgres/postgres-dialect.js';
import { PostgresConnection, copyTextLine, runLockKey, sessionSettingsProblem } from '../engine/warehouse/postgres/postgres-connection.js';
import { freshDatabase, postgresTestUrl } from './support/postgres-server.js';

const url = await postgresTestUrl();
const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

describe('PostgreSQL helpers that need no server', () => {
  it('derives a stable, signed 64-bit run-lock key per sync name', () => {
    const key = runLockKey('vip_to_crm');
    expect(key).toBe(BigInt.asIntN(64, BigInt(`0x${sha256('audsync-run-lock:vip_to_crm').slice(0, 16)}`)).toString());
    expect(runLockKey('vip_to_crm')).toBe(key);
    expect(runLockKey('vip_to_ads')).not.toBe(key);
    expect(BigInt.asIntN(64, BigInt(key))).toBe(BigInt(key));
  });

  it('escapes COPY text: backslash, tab, newline, carriage return; NULL as \\N', () => {
    expect(copyTextLine(['a\tb', 'c\nd\re', 'back\\slash', null, '\\N', ''])).toBe('a\\tb\tc\\nd\\re\tback\\\\slash\t\\N\t\\\\N\t\n');
    // PostgreSQL text cannot store U+0000: it becomes U+FFFD rather than failing the commit.
    expect(copyTextLine(['nul\0byte'])).toBe('nul\uFFFDbyte\n');
  });

  it('writes the PostgreSQL spellings of the dialect intents', () => {
    const d = new PostgresDialect();
    expect(d.createTableAs('"s"."t"', 'SELECT 1', { internal: true })).toEqual(['DROP TABLE IF EXISTS "s"."t"', 'CREATE UNLOGGED TABLE "s"."t" AS\nSELECT 1']);
    expect(d.createTableAs('"s"."t"', 'SELECT 1')).toEqual(['DROP TABLE IF EXISTS "s"."t"', 'CREATE TABLE "s"."t" AS\nSELECT 1']);
    expect(d.jsonObjectText([['a', 'x'], ["it's", 'y']])).toBe(`json_build_object('a', x, 'it''s', y)::text`);
    expect(d.sha256Hex('x')).toBe(`encode(sha256(convert_to(x, 'UTF8')), 'hex')`);
    expect(d.md5Hex('x')).toBe('md5(x)');
    expect(d.digitsOnly('x')).toBe(`regexp_replace(x, '[^0-9]', '', 'g')`);
    expect(d.withinDays('ts', 30)).toBe('(ts >= now() - make_interval(days => 30))');
  });
});

describe.skipIf(!url)('PostgresConnection against a real server', () => {
  let db: { url: string; drop(): Promise<void> };
  let conn: PostgresConnection;
  const open = (connectionString = db.url): Promise<PostgresConnection> => PostgresConnection.open({ type: 'postgres', connectionString });
  const backendPid = async (c: PostgresConnection): Promise<number> => Number((await c.query('SELECT pg_backend_pid() AS pid'))[0]!.pid);

  beforeAll(async () => {
    db = await freshDatabase(url!);
    conn = await open();
  });
  afterAll(async () => {
    await conn?.close();
    await db?.drop();
  });

  it('executes, queries (bigint and numeric as strings, no Date objects) and reads columns without running the query', async () => {
    await conn.execute('CREATE TABLE typed (id INTEGER, big BIGINT, amount NUMERIC(10, 2), ratio DOUBLE PRECISION, ok BOOLEAN, at TIMESTAMPTZ, doc JSON, label TEXT)');
    await conn.execute(`INSERT INTO typed VALUES (1, 9007199254740993, 1.10, 0.5, TRUE, '2024-03-01T12:00:00Z', '{"a": [1, 2]}', 'x'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    const rows = await conn.query('SELECT * FROM typed ORDER BY id');
    expect(rows[0]).toMatchObject({ id: 1, big: '9007199254740993', amount: '1.10', ratio: 0.5, ok: true, doc: '{"a": [1, 2]}', label: 'x' });
    expect(typeof rows[0]!.at).toBe('string');
    expect(new Date(String(rows[0]!.at).replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString()).toBe('2024-03-01T12:00:00.000Z');
    expect(rows[1]).toEqual({ id: 2, big: null, amount: null, ratio: null, ok: null, at: null, doc: null, label: null });
    // Division by zero on every row: the probe must not evaluate a single one.
    expect(await conn.columns('SELECT id, label AS "Mixed Case", 1 / (id - id) AS boom FROM typed')).toEqual(['id', 'Mixed Case', 'boom']);
  });

  it('names itself in pg_stat_activity so a lock holder is recognisable', async () => {
    const [row] = await conn.query('SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()');
    expect(row!.application_name).toBe(`audsync pid=${process.pid} host=${os.hostname()}`.slice(0, 63));
  });

  it('streams 20,000 rows in several chunks on a session of its own, unaffected by commits on the main one', async () => {
    await conn.execute('CREATE TABLE numbers AS SELECT g AS n, repeat(\'x\', 20) AS pad FROM generate_series(1, 20000) AS g');
    const mainPid = await backendPid(conn);
    const sizes: number[] = [];
    let next = 1;
    let streamPid: number | undefined;
    for await (const chunk of conn.stream('SELECT n, pad, pg_backend_pid() AS pid FROM numbers ORDER BY n')) {
      sizes.push(chunk.length);
      for (const r of chunk) expect(r.n).toBe(next++);
      streamPid = Number(chunk[0]!.pid);
      // A commit on the main session between chunks must not disturb the cursor.
      await conn.transaction(() => conn.execute('CREATE TABLE IF NOT EXISTS stream_side (x TEXT)'));
    }
    expect(next - 1).toBe(20_000);
    expect(sizes.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(5000);
    expect(streamPid).not.toBe(mainPid);
    // The stream's session is gone once the stream is done.
    const [alive] = await conn.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ${streamPid}`);
    expect(alive!.n).toBe('0');
  });

  it('ends the stream session when the reader stops early', async () => {
    let pid = 0;
    for await (const chunk of conn.stream('SELECT pg_backend_pid() AS pid, g FROM generate_series(1, 20000) AS g')) {
      pid = Number(chunk[0]!.pid);
      break;
    }
    // The server drops a closed session from pg_stat_activity asynchronously: allow it a moment.
    let alive = '1';
    for (let i = 0; i < 50 && alive !== '0'; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      alive = String((await conn.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ${pid}`))[0]!.n);
    }
    expect(alive).toBe('0');
  });

  const AWKWARD: Array<Array<string | null>> = [
    ['1', 'tab\there', 'line\nbreak'],
    ['2', 'back\\slash', 'carriage\rreturn\r\n'],
    ['3', `quotes ' and " and ''`, '😀 emoji, ünïcödé, 日本語'],
    ['4', null, ''],
    ['5', '\\N', 'the two characters backslash and N'],
    ['6', 'ends with a backslash\\', '\\t is not a tab'],
    ['7', '.', ' leading and trailing spaces '],
  ];

  it('bulk-writes awkward text that round-trips exactly, NULL and empty string kept apart', async () => {
    await conn.execute('CREATE SCHEMA IF NOT EXISTS "Odd Schema"');
    await conn.execute('CREATE TABLE "Odd Schema"."awkward" (id TEXT, a TEXT, b TEXT)');
    await conn.bulkWrite('Odd Schema', 'awkward', AWKWARD);
    const rows = await conn.query('SELECT id, a, b FROM "Odd Schema"."awkward" ORDER BY id');
    expect(rows.map((r) => [r.id, r.a, r.b])).toEqual(AWKWARD);
  });

  it('bulk-writes a batch larger than one COPY chunk', async () => {
    await conn.execute('CREATE TABLE big_write (id TEXT, payload TEXT)');
    const rows = Array.from({ length: 10_000 }, (_, i) => [String(i), `row ${i}\twith\\escapes\n`.repeat(3)]);
    await conn.bulkWrite('public', 'big_write', rows);
    const [r] = await conn.query(`SELECT count(*) AS n, sum(length(payload)) AS chars FROM big_write`);
    expect(r).toEqual({ n: '10000', chars: String(rows.reduce((s, row) => s + row[1]!.length, 0)) });
  });

  it('rolls back a bulk write when the transaction fails, and commits it when it succeeds', async () => {
    await conn.execute('CREATE TABLE tx_stage (a TEXT, b TEXT)');
    const boom = new Error('destination said no');
    await expect(conn.transaction(async () => {
      await conn.bulkWrite('public', 'tx_stage', [['x', 'y']]);
      expect((await conn.query('SELECT count(*) AS n FROM tx_stage'))[0]!.n).toBe('1');
      throw boom;
    })).rejects.toBe(boom);
    expect((await conn.query('SELECT count(*) AS n FROM tx_stage'))[0]!.n).toBe('0');
    await conn.transaction(() => conn.bulkWrite('public', 'tx_stage', [['x', 'y']]));
    const other = await open();
    try {
      expect((await other.query('SELECT count(*) AS n FROM tx_stage'))[0]!.n).toBe('1');
    } finally {
      await other.close();
    }
  });

  it('rejects a nested transaction and stays usable after a failed statement inside one', async () => {
    await expect(conn.transaction(() => conn.transaction(async () => 1))).rejects.toThrow(/nested transaction/);
    await expect(conn.transaction(() => conn.execute('SELECT * FROM no_such_table'))).rejects.toBeInstanceOf(WarehouseError);
    expect(await conn.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('holds one run lock per sync: a second session gets a LockError naming the holder', async () => {
    const first = await open();
    const second = await open();
    try {
      const holderPid = await backendPid(first);
      const release = await first.acquireRunLock('vip_to_crm');
      const err = await second.acquireRunLock('vip_to_crm').then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(LockError);
      expect((err as LockError).message).toContain(`pid ${holderPid}`);
      expect((err as LockError).message).toContain(`audsync pid=${process.pid}`);
      expect((err as LockError).hint).toMatch(/pg_terminate_backend/);
      // Another sync is not blocked.
      await (await second.acquireRunLock('other_sync'))();
      await release();
      await (await second.acquireRunLock('vip_to_crm'))();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('frees the lock when its holder closes, or when its session is killed', async () => {
    const waiting = await open();
    try {
      const closing = await open();
      await closing.acquireRunLock('s_close');
      await expect(waiting.acquireRunLock('s_close')).rejects.toBeInstanceOf(LockError);
      await closing.close();
      await (await waiting.acquireRunLock('s_close'))();

      const killed = await open();
      const pid = await backendPid(killed);
      await killed.acquireRunLock('s_kill');
      await expect(waiting.acquireRunLock('s_kill')).rejects.toBeInstanceOf(LockError);
      // What kill -9 of the holding process amounts to, seen from the server.
      await conn.query(`SELECT pg_terminate_backend(${pid}) AS done`);
      for (let i = 0; i < 50 && (await conn.query(`SELECT 1 FROM pg_stat_activity WHERE pid = ${pid}`)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      await (await waiting.acquireRunLock('s_kill'))();
      // The killed session's owner sees a WarehouseError, not a crash, and can still close.
      await expect(killed.query('SELECT 1')).rejects.toBeInstanceOf(WarehouseError);
      await killed.close();
    } finally {
      await waiting.close();
    }
  });

  it('lets runs started together create the same schema, tables and view (IF NOT EXISTS races)', async () => {
    const sessions = await Promise.all([open(), open(), open(), open()]);
    try {
      for (let round = 0; round < 10; round++) {
        const schema = `race_${round}`;
        const ddl = [
          `CREATE SCHEMA IF NOT EXISTS ${schema}`,
          `CREATE TABLE IF NOT EXISTS ${schema}.runs (id TEXT)`,
          `CREATE TABLE IF NOT EXISTS ${schema}.events (id TEXT)`,
          `CREATE OR REPLACE VIEW ${schema}.health AS SELECT id FROM ${schema}.runs`,
        ];
        await Promise.all(sessions.map(async (s) => {
          for (const sql of ddl) await s.execute(sql);
        }));
      }
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
  });

  it('raises a WarehouseError with the SQLSTATE and the statement attached for bad SQL', async () => {
    const sql = 'SELEC 1';
    const err = await conn.query(sql).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WarehouseError);
    expect((err as WarehouseError).message).toMatch(/syntax error.*SQLSTATE 42601/s);
    expect((err as WarehouseError).sql).toBe(sql);
    await expect(conn.columns('SELECT nope FROM typed')).rejects.toThrow(/column "nope" does not exist/);
  });

  it('merges ?options= with the settings audsync relies on: TimeZone stays UTC, standard_conforming_strings on, the user\'s other options kept', async () => {
    const own = await freshDatabase(url!);
    try {
      const admin = await PostgresConnection.open({ type: 'postgres', connectionString: own.url });
      // A legacy server default: off, a backslash in a literal escapes the quote after it.
      await admin.execute(`ALTER DATABASE ${new URL(own.url).pathname.slice(1)} SET standard_conforming_strings = off`);
      await admin.close();
      const withOptions = `${own.url}?options=${encodeURIComponent('-c TimeZone=Asia/Tokyo -c work_mem=8MB')}`;
      const c = await PostgresConnection.open({ type: 'postgres', connectionString: withOptions });
      try {
        const [row] = await c.query(`SELECT current_setting('TimeZone') AS tz, current_setting('work_mem') AS wm, current_setting('standard_conforming_strings') AS scs, CAST(TIMESTAMPTZ '2026-01-01 09:00:00+09' AS TEXT) AS ts`);
        expect(row).toEqual({ tz: 'UTC', wm: '8MB', scs: 'on', ts: '2026-01-01 00:00:00+00' });
        // A crafted value quoted the one way the dialect quotes: it stays one literal, and nothing else runs.
        const crafted = String.raw`x\'; CREATE TABLE pwned (i int); --`;
        const [echo] = await c.query(`SELECT ${c.dialect.quoteLiteral(crafted)} AS v`);
        expect(echo?.v).toBe(crafted);
        expect(await c.query(`SELECT to_regclass('pwned') AS t`)).toEqual([{ t: null }]);
      } finally {
        await c.close();
      }
    } finally {
      await own.drop();
    }
  });

  it('refuses a session whose settings did not hold, naming each', () => {
    expect(sessionSettingsProblem({ TimeZone: 'UTC', standard_conforming_strings: 'on' })).toBeUndefined();
    expect(sessionSettingsProblem({ TimeZone: 'Europe/Paris', standard_conforming_strings: 'off' })).toBe('TimeZone is "Europe/Paris", not UTC; standard_conforming_strings is "off", not on');
  });

  it('never puts a password or connection string in an error', async () => {
    const secret = 'Sup3r-S3cret-Pw';
    const withPassword = (path: string, port?: string): string => {
      const u = new URL(url!);
      u.password = secret;
      u.pathname = path;
      if (port !== undefined) u.port = port;
      return u.toString();
    };
    const attempts = [
      withPassword('/audsync_no_such_database'),
      withPassword('/test', '1'),
      `postgres://postgres:${secret}@127.0.0.1:notaport/test`,
      `host=127.0.0.1 port=1 password=${secret} dbname=test`,
    ];
    for (const connectionString of attempts) {
      const err = await open(connectionString).then(
        async (c) => {
          await c.close();
          return null;
        },
        (e: unknown) => e,
      );
      // A malformed URL is the config's fault (ConfigError); the others are the server's answer.
      expect(err, connectionString.replace(secret, '***')).toBeInstanceOf(connectionString.includes('notaport') ? ConfigError : WarehouseError);
      const shown = `${(err as Error).message}\n${(err as WarehouseError).hint}\n${inspect(err, { depth: 10 })}`;
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain(connectionString);
    }
  });

  it('reads every setting through env(), naming the config path when a variable is missing', async () => {
    const u = new URL(db.url);
    const environment = { PGX_URL: db.url, PGX_HOST: u.hostname, PGX_PORT: u.port || '5432', PGX_USER: decodeURIComponent(u.username), PGX_DB: u.pathname.slice(1) };
    const byUrl = await PostgresConnection.open({ type: 'postgres', connectionString: env('PGX_URL') }, environment);
    await byUrl.close();
    const byParts = await PostgresConnection.open(
      { type: 'postgres', host: env('PGX_HOST') as unknown as string, port: env('PGX_PORT') as unknown as number, user: env('PGX_USER') as unknown as string, database: env('PGX_DB') as unknown as string },
      environment,
    );
    expect(await byParts.query('SELECT current_database() AS db')).toEqual([{ db: u.pathname.slice(1) }]);
    await byParts.close();
    await expect(PostgresConnection.open({ type: 'postgres', connectionString: env('PGX_MISSING') }, environment)).rejects.toThrow(ConfigError);
    await expect(PostgresConnection.open({ type: 'postgres', connectionString: env('PGX_MISSING') }, environment)).rejects.toThrow(/warehouse\.connectionString: environment variable PGX_MISSING is not set/);
  });

  it('runs the dialect SQL for real: hashes, JSON text, regexes, time windows, unlogged tables', async () => {
    const d = conn.dialect;
    const [r] = await conn.query(`SELECT ${d.sha256Hex(`'Ünïcode@Example.com'`)} AS h, ${d.sha256Hex('NULL')} AS hnull,
      ${d.jsonObjectText([['n', 'CAST(42 AS BIGINT)'], ['s', `'a"b'`], ['z', 'NULL'], ['t', 'TRUE']])} AS j,
      ${d.regexpMatches(`'${'a'.repeat(64)}'`, '^[0-9a-f]{64}$')} AS hex64, ${d.digitsOnly(`'+1 (555) 010-9999'`)} AS digits,
      ${d.withinDays(`now() - interval '2 days'`, 3)} AS recent, ${d.withinDays(`now() - interval '4 days'`, 3)} AS old,
      ${d.hashIdentifier('email', `'  Some.One+x@Example.COM '`)} AS email_hash, ${d.isTrue(`'Yes'`)} AS yes`);
    expect(r).toEqual({
      h: sha256('Ünïcode@Example.com'),
      hnull: null,
      j: '{"n" : 42, "s" : "a\\"b", "z" : null, "t" : true}',
      hex64: true,
      digits: '15550109999',
      recent: true,
      old: false,
      email_hash: sha256('some.one+x@example.com'),
      yes: true,
    });
    const many = Array.from({ length: 120 }, (_, i) => [`k${i}`, String(i)] as const);
    const [wide] = await conn.query(`SELECT ${d.jsonObjectText(many)} AS j`);
    expect(JSON.parse(String(wide!.j))).toEqual(Object.fromEntries(many.map(([k, v]) => [k, Number(v)])));
    for (const sql of d.createTableAs('"public"."internal_t"', 'SELECT 1 AS x', { internal: true })) await conn.execute(sql);
    for (const sql of d.createTableAs('"public"."internal_t"', 'SELECT 2 AS x', { internal: true })) await conn.execute(sql);
    expect(await conn.query(`SELECT relpersistence, (SELECT x FROM internal_t) AS x FROM pg_class WHERE oid = 'internal_t'::regclass`)).toEqual([{ relpersistence: 'u', x: 2 }]);
  });
});

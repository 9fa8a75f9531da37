import os from 'node:os';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import Cursor from 'pg-cursor';
import copyStreams from 'pg-copy-streams';
import type { PostgresWarehouseConfig } from './postgres-config.js';
import { isEnvRef, resolveSecret, type Secret } from '../../vocabulary/env-ref.js';
import { ConfigError, LockError, WarehouseError, WarehouseResourceError } from '../../errors.js';
import { PostgresDialect } from './postgres-dialect.js';
import type { Row, WarehouseConnection } from '../connection.js';
import { Transactions } from '../transactions.js';

/** Rows fetched per round trip by stream(): bounded memory, few round trips. */
const STREAM_CHUNK_ROWS = 5000;
/** COPY data is sent in pieces of about this many characters, so a large batch is never one huge string. */
const COPY_CHUNK_CHARS = 64 * 1024;
/** A wrong host should fail in seconds, not hang on the OS's TCP timeout. */
const CONNECT_TIMEOUT_MS = 15_000;
/** Shorter secrets are not scrubbed from messages: they would blank out ordinary words. */
const MIN_SCRUBBED_SECRET_LENGTH = 4;

/**
 * Types pg parses into JS values that fit `SqlValue` exactly (OIDs from
 * pg_type.dat: bool 16, int2 21, int4 23, oid 26, float4 700, float8 701).
 * Everything else stays as PostgreSQL's text: bigint and numeric (no precision
 * lost), timestamps (no Date objects), json (no parsing), arrays.
 */
const PARSED_TYPE_OIDS = new Set([16, 21, 23, 26, 700, 701]);
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => (PARSED_TYPE_OIDS.has(oid) || format === 'binary' ? pg.types.getTypeParser(oid, format) : (v: string) => v),
};

/**
 * CREATE … IF NOT EXISTS (and CREATE OR REPLACE VIEW of a new view) is not safe
 * against a concurrent twin: both sessions see no object, and one fails on a
 * catalog unique index (23505 on pg_type_typname_nsp_index). Every run creates
 * its tables this way before it holds any sync lock, so two runs started
 * together failed on a fresh database. Such statements are serialized
 * database-wide by a transaction-level advisory lock, released when the
 * statement's transaction ends.
 */
const IDEMPOTENT_DDL = /^\s*CREATE\s+(?:OR\s+REPLACE\s+VIEW|(?:UNLOGGED\s+)?TABLE\s+IF\s+NOT\s+EXISTS|SCHEMA\s+IF\s+NOT\s+EXISTS|(?:UNIQUE\s+)?INDEX\s+IF\s+NOT\s+EXISTS)\b/i;

/** What a client needs, resolved once; secrets are kept only to scrub them from messages. */
interface ClientSettings {
  readonly config: pg.ClientConfig;
  readonly secrets: readonly string[];
  /** host:port/database, without credentials, for messages. */
  readonly target: string;
  /** The config keys the user should check when connecting fails. */
  readonly checkKeys: string;
}

/**
 * PostgreSQL through `pg`. The main client runs statements, transactions and
 * COPY, and holds the run locks: session-level advisory locks, so a killed
 * process's locks vanish with its session. Each stream gets a client of its own,
 * so its server-side cursor is unaffected by commits on the main client.
 */
export class PostgresConnection implements WarehouseConnection {
  readonly dialect = new PostgresDialect();
  // The ROLLBACK goes straight to the client: a failure there must not be wrapped into a second error.
  private readonly transactions = new Transactions(this.dialect, (sql) => this.run(sql), (sql) => this.main.query(sql));
  private closed = false;
  private readonly streamClients = new Set<pg.Client>();

  private constructor(
    private readonly main: pg.Client,
    private readonly settings: ClientSettings,
  ) {}

  /** Connects with the `warehouse` config; env() values are read now. */
  static async open(config: PostgresWarehouseConfig, environment: NodeJS.ProcessEnv = process.env): Promise<PostgresConnection> {
    const settings = resolveSettings(config, environment);
    return new PostgresConnection(await connectClient(settings), settings);
  }

  async execute(sql: string): Promise<void> {
    // The key is our own constant, so inlining it is safe; a multi-statement string runs as one transaction.
    await this.run(IDEMPOTENT_DDL.test(sql) ? `SELECT pg_advisory_xact_lock(${DDL_LOCK_KEY});\n${sql}` : sql, [], sql);
  }

  async columns(sql: string): Promise<string[]> {
    const result = await this.run(`SELECT * FROM (${sql}) AS audsync_probe LIMIT 0`, [], sql);
    return result.fields.map((f) => f.name);
  }

  async query(sql: string): Promise<Row[]> {
    return (await this.run(sql)).rows as Row[];
  }

  async *stream(sql: string): AsyncIterable<Row[]> {
    const client = await connectClient(this.settings);
    this.streamClients.add(client);
    try {
      const cursor = client.query(new Cursor<Row>(sql, undefined, { types: TYPES }));
      for (;;) {
        let rows: Row[];
        try {
          rows = await cursor.read(STREAM_CHUNK_ROWS);
        } catch (e) {
          throw this.wrap(e, sql);
        }
        if (rows.length > 0) yield rows;
        if (rows.length < STREAM_CHUNK_ROWS) return;
      }
    } finally {
      // Ending the session discards the cursor server-side too; no separate close needed.
      this.streamClients.delete(client);
      await client.end().catch(() => undefined);
    }
  }

  async bulkWrite(schema: string, table: string, rows: ReadonlyArray<ReadonlyArray<string | null>>): Promise<void> {
    if (rows.length === 0) return;
    // Text format: tab-separated, \N for NULL; on the main client, so inside an open transaction.
    const sql = `COPY ${this.dialect.relation(schema, table)} FROM STDIN`;
    try {
      await pipeline(Readable.from(copyChunks(rows)), this.main.query(copyStreams.from(sql)));
    } catch (e) {
      throw this.wrap(e, sql);
    }
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.transactions.run(fn);
  }

  async acquireRunLock(syncName: string): Promise<() => Promise<void>> {
    const key = runLockKey(syncName);
    const [row] = (await this.run('SELECT pg_try_advisory_lock(CAST($1 AS BIGINT)) AS ok', [key])).rows as Row[];
    if (row?.ok !== true) throw await this.lockHeld(syncName, key);
    let released = false;
    return async () => {
      if (released || this.closed) return;
      released = true;
      // A failed unlock means the session is gone, and the lock with it.
      await this.main.query('SELECT pg_advisory_unlock(CAST($1 AS BIGINT))', [key]).catch(() => undefined);
    };
  }

  async sibling(): Promise<WarehouseConnection> {
    return new PostgresConnection(await connectClient(this.settings), this.settings);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const clients = [...this.streamClients, this.main];
    this.streamClients.clear();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }

  /** A LockError naming the session that holds the sync's lock (from pg_locks + pg_stat_activity). */
  private async lockHeld(syncName: string, key: string): Promise<LockError> {
    const unsigned = BigInt.asUintN(64, BigInt(key));
    // A one-bigint advisory lock shows in pg_locks as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
    const holders = await this.run(
      `SELECT l.pid, a.application_name, CAST(a.client_addr AS TEXT) AS client_addr, CAST(a.backend_start AS TEXT) AS backend_start
FROM pg_locks AS l LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND CAST(l.classid AS BIGINT) = CAST($1 AS BIGINT) AND CAST(l.objid AS BIGINT) = CAST($2 AS BIGINT)`,
      [String(unsigned >> 32n), String(unsigned & 0xffffffffn)],
    ).then(
      (r) => r.rows as Row[],
      () => null,
    );
    const hint = (pid: string): string =>
      `Wait for that run to finish. A killed run's lock is released with its session; to end a stuck session: SELECT pg_terminate_backend(${pid});`;
    if (holders === null) return new LockError(`sync ${syncName} is already running in another session`, { hint: hint('<pid>') });
    const h = holders[0];
    if (!h) return new LockError(`sync ${syncName} was running in another session, which released it just now`, { hint: 'Run again.' });
    // Without pg_read_all_stats, another role's client_addr and backend_start read as NULL: say only what is known.
    const from = h.client_addr ? `from ${String(h.client_addr)}` : h.backend_start ? 'from a local socket' : null;
    const about = [h.application_name ? String(h.application_name) : null, from, h.backend_start ? `connected since ${String(h.backend_start)}` : null].filter((x) => x !== null);
    const pid = String(h.pid);
    return new LockError(`sync ${syncName} is already running: its lock is held by PostgreSQL session pid ${pid}${about.length > 0 ? ` (${about.join(', ')})` : ''}`, {
      hint: hint(pid),
    });
  }

  private async run(sql: string, values: readonly string[] = [], shownSql = sql): Promise<pg.QueryResult> {
    try {
      const result: pg.QueryResult | pg.QueryResult[] = await this.main.query(sql, values.length > 0 ? [...values] : undefined);
      // A multi-statement string answers with one result per statement: the last is the answer.
      return Array.isArray(result) ? result[result.length - 1]! : result;
    } catch (e) {
      throw this.wrap(e, shownSql);
    }
  }

  private wrap(e: unknown, sql: string): WarehouseError {
    return queryError(e, sql, this.settings.secrets);
  }
}

/**
 * The advisory lock key of a sync's run lock: the first 8 bytes of
 * sha256('audsync-run-lock:' + name), as a signed bigint in decimal. Stable
 * across processes and machines; advisory locks are per database, so the
 * database needs no place in the key.
 */
export function runLockKey(syncName: string): string {
  return lockKey(`audsync-run-lock:${syncName}`);
}

function lockKey(text: string): string {
  return createHash('sha256').update(text).digest().readBigInt64BE(0).toString();
}

/** The advisory lock that serializes IDEMPOTENT_DDL; derived like the run locks, so it cannot collide with one. */
const DDL_LOCK_KEY = lockKey('audsync-ddl');

/** One row in COPY text format, newline included. */
export function copyTextLine(row: ReadonlyArray<string | null>): string {
  return `${row.map((v) => (v === null ? '\\N' : v.replace(COPY_SPECIAL, (c) => COPY_ESCAPES[c]!))).join('\t')}\n`;
}

/** Characters COPY's text format gives a meaning to (PostgreSQL docs, COPY, "Text Format"). */
const COPY_SPECIAL = /[\\\t\n\r\0]/g;
const COPY_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  // PostgreSQL text cannot hold U+0000 at all; only destination-supplied text (error messages) can carry one.
  '\0': '\uFFFD',
};

function* copyChunks(rows: ReadonlyArray<ReadonlyArray<string | null>>): Generator<Buffer> {
  let pending = '';
  for (const row of rows) {
    pending += copyTextLine(row);
    if (pending.length >= COPY_CHUNK_CHARS) {
      yield Buffer.from(pending, 'utf8');
      pending = '';
    }
  }
  if (pending !== '') yield Buffer.from(pending, 'utf8');
}

/** Who we are, in pg_stat_activity, so a lock holder is recognisable. */
function applicationName(): string {
  return `audsync pid=${process.pid} host=${os.hostname()}`;
}

async function connectClient(s: ClientSettings): Promise<pg.Client> {
  let client: pg.Client | undefined;
  try {
    // Inside the try: the constructor parses the connection string and throws on a malformed one.
    client = new pg.Client(s.config);
    // A session that dies while idle emits 'error'; unhandled, that would crash the process.
    // The next statement on this client fails instead, and is reported as a WarehouseError.
    client.on('error', () => undefined);
    await client.connect();
  } catch (e) {
    await client?.end().catch(() => undefined);
    throw connectError(e, s);
  }
  const settings = await client.query<Record<string, string>>(
    `SELECT ${Object.keys(REQUIRED_SETTINGS).map((k) => `current_setting('${k}') AS "${k}"`).join(', ')}`,
  );
  const problem = sessionSettingsProblem(settings.rows[0] ?? {});
  if (problem) {
    await client.end().catch(() => undefined);
    throw new WarehouseError(`the PostgreSQL session did not take the settings audsync relies on: ${problem}`, {
      hint: `A connection pooler in transaction mode drops startup options: connect to the server directly, or set them for the role (ALTER ROLE <user> SET TimeZone = 'UTC'; ALTER ROLE <user> SET standard_conforming_strings = on).`,
    });
  }
  return client;
}

function resolveSettings(w: PostgresWarehouseConfig, environment: NodeJS.ProcessEnv): ClientSettings {
  // Any setting may be an env() reference, not only the secret ones.
  const setting = (value: unknown, key: string): string | undefined =>
    value === undefined ? undefined : isEnvRef(value) || typeof value === 'string' ? resolveSecret(value as Secret, `warehouse.${key}`, environment) : String(value);
  const given = setting(w.connectionString, 'connectionString');
  // pg lets a connection string's ?options= replace the options below whole: take the user's out, to merge them.
  const { connectionString, options: userOptions } = withoutOptions(given);
  const password = setting(w.password, 'password');
  const host = setting(w.host, 'host');
  const user = setting(w.user, 'user');
  const database = setting(w.database, 'database');
  const portText = setting(w.port, 'port');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new ConfigError(`warehouse.port: ${JSON.stringify(portText)} is not a TCP port`, { hint: 'Use a whole number such as 5432.' });
  }
  const config: pg.ClientConfig = {
    connectionString,
    host,
    port,
    user,
    password,
    database,
    ssl: sslOption(w.ssl),
    // Set here, not in SQL, so it shows from the first moment of the session
    // (an application_name inside the connection string wins: the user's choice).
    application_name: applicationName(),
    options: sessionOptions(userOptions ?? environment.PGOPTIONS),
    types: TYPES,
    keepAlive: true,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  };
  const secrets = [given, connectionString, password, ...passwordsIn(connectionString)].filter((s): s is string => !!s && s.length >= MIN_SCRUBBED_SECRET_LENGTH);
  return {
    config,
    secrets,
    target: describeTarget(connectionString, host, port, database),
    checkKeys: connectionString !== undefined ? 'warehouse.connectionString' : 'warehouse.host, port, user, password and database',
  };
}

/**
 * Startup options: the user's (from ?options= or PGOPTIONS) between audsync's
 * defaults and the settings it relies on, so the later -c wins where they meet.
 * jit=off is a default: audsync's statements run once each, and compiling them
 * costs more than it saves (~0.4 s a join). Relied on: TimeZone=UTC (timestamps
 * reach destinations as text, in UTC whatever the server's or role's zone) and
 * standard_conforming_strings=on (a backslash in a quoted literal is a plain
 * character; off, a crafted value could end the literal early).
 */
function sessionOptions(user: string | undefined): string {
  return ['-c jit=off', user?.trim(), ...Object.entries(REQUIRED_SETTINGS).map(([k, v]) => `-c ${k}=${v}`)].filter(Boolean).join(' ');
}

/** Session settings audsync's SQL depends on; checked after connecting, since a pooler may drop startup options. */
const REQUIRED_SETTINGS = { TimeZone: 'UTC', standard_conforming_strings: 'on' } as const;

/** The connection string without its `options` parameter, and that parameter's value. */
function withoutOptions(connectionString: string | undefined): { connectionString: string | undefined; options: string | undefined } {
  if (connectionString === undefined || !/[?&]options=/.test(connectionString)) return { connectionString, options: undefined };
  try {
    const url = new URL(connectionString);
    const options = url.searchParams.get('options') ?? undefined;
    url.searchParams.delete('options');
    return { connectionString: url.toString(), options };
  } catch {
    // Not a URL: pg reports what is wrong with it when connecting.
    return { connectionString, options: undefined };
  }
}

/** What is wrong with the session's settings, or undefined when they hold. */
export function sessionSettingsProblem(actual: Readonly<Record<string, string>>): string | undefined {
  const wrong = Object.entries(REQUIRED_SETTINGS).filter(([k, v]) => actual[k]?.toLowerCase() !== v.toLowerCase());
  if (wrong.length === 0) return undefined;
  return wrong.map(([k, v]) => `${k} is ${JSON.stringify(actual[k] ?? null)}, not ${v}`).join('; ');
}

/** `true` and 'require' verify the server's certificate; 'no-verify' encrypts without verifying. */
function sslOption(ssl: PostgresWarehouseConfig['ssl']): pg.ClientConfig['ssl'] {
  if (ssl === undefined) return undefined;
  if (ssl === 'no-verify') return { rejectUnauthorized: false };
  return ssl === false ? false : { rejectUnauthorized: true };
}

/** The password inside a connection string, raw and decoded, so both can be scrubbed. */
function passwordsIn(connectionString: string | undefined): string[] {
  if (!connectionString) return [];
  const out: string[] = [];
  try {
    const u = new URL(connectionString);
    if (u.password) out.push(u.password, decodeURIComponent(u.password));
  } catch {
    // Not a URL: the key=value form.
  }
  const kv = /(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/.exec(connectionString);
  if (kv?.[1]) out.push(kv[1], kv[1].replace(/^'|'$/g, ''));
  return out;
}

/** host:port/database for messages, never user or password. */
function describeTarget(connectionString: string | undefined, host: string | undefined, port: number | undefined, database: string | undefined): string {
  if (connectionString === undefined) return `${host ?? 'localhost'}:${port ?? 5432}/${database ?? ''}`;
  try {
    const u = new URL(connectionString);
    return `${decodeURIComponent(u.hostname) || 'localhost'}:${u.port || 5432}${decodeURIComponent(u.pathname)}`;
  } catch {
    return 'the configured server';
  }
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

/**
 * A connection failure. The original error is not attached: some (an invalid
 * URL's TypeError) carry the connection string in their properties.
 */
function connectError(e: unknown, s: ClientSettings): WarehouseError | ConfigError {
  const err = e as { message?: string; code?: string };
  if (err.code === 'ERR_INVALID_URL') {
    // Raised while parsing, before any connection attempt: the config is wrong, not the server.
    return new ConfigError(`${s.checkKeys}: not a valid connection URL`, {
      hint: 'Use postgres://user:password@host:5432/database (percent-encode special characters in the password).',
    });
  }
  const message = scrub(err.message ?? String(e), s.secrets);
  const code = err.code ? ` (${err.code})` : '';
  return new WarehouseError(`could not connect to PostgreSQL at ${s.target}: ${message}${code}`, {
    hint: `Check ${s.checkKeys} in the config, and that the server accepts connections from this machine.`,
  });
}

/** A statement's failure, with the server's SQLSTATE, detail and hint when it gave them. */
function queryError(e: unknown, sql: string, secrets: readonly string[]): WarehouseError {
  if (e instanceof WarehouseError) return e;
  if (e instanceof pg.DatabaseError) {
    const detail = e.detail ? `\nDETAIL: ${e.detail}` : '';
    // Class 53 (insufficient resources: disk full, out of memory, too many connections): the server's limits, not the model.
    if (e.code?.startsWith('53')) {
      return new WarehouseResourceError(scrub(`${e.message} (SQLSTATE ${e.code})${detail}`, secrets), {
        hint: 'The PostgreSQL server ran out of resources (disk, memory, temp_file_limit or connections): free space or raise its limits, then run again. Rows already sent are recorded; the next run sends the rest.',
        cause: e,
        sql,
      });
    }
    return new WarehouseError(scrub(`${e.message} (SQLSTATE ${e.code ?? 'unknown'})${detail}`, secrets), {
      hint: e.hint ? scrub(e.hint, secrets) : undefined,
      cause: e,
      sql,
    });
  }
  // Not from the server: the session dropped, a COPY stream broke, the client was closed.
  const message = (e as Error)?.message ?? String(e);
  return new WarehouseError(scrub(`PostgreSQL: ${message}`, secrets), { cause: e, sql });
}

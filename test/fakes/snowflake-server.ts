import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection, type DuckDBDecimalType, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { snowflakeToDuckDb } from './snowflake-sql-rewrite.js';

/**
 * A protocol-level fake of Snowflake's HTTP API, enough for the real
 * snowflake-sdk to log in (password or key-pair JWT), run statements with
 * bindings, stream results (inline rowset plus result chunks served here),
 * heartbeat and close sessions, and get Snowflake-shaped errors. Statements
 * really run: on an in-memory DuckDB, one DuckDB connection per session (so
 * transactions are per session, as on Snowflake), after the explicit rewrite
 * table in snowflake-sql-rewrite.ts.
 *
 * Snowflake's transaction rules are modelled: DDL inside an open transaction
 * commits it first, and BEGIN inside a transaction is ignored.
 *
 * Known differences from Snowflake: quoted identifiers are matched
 * case-insensitively (DuckDB); result column names are reported upper-case
 * when they are plain lower-case names (as Snowflake reports unquoted names),
 * even if they were quoted lower-case; a statement error aborts an open
 * transaction (DuckDB) where Snowflake keeps it open; stages do not exist, so
 * the driver's stage binds fail (it then falls back to inline binds); no
 * asynchronous query polling (every result is ready in the first response).
 */
export interface FakeSnowflakeUser {
  password?: string;
  /** PEM public key (SPKI) of the user's key pair, for SNOWFLAKE_JWT logins. */
  publicKeyPem?: string;
}

export interface FakeSnowflakeOptions {
  /** Login names (case-insensitive, as on Snowflake) and their credentials. */
  users: Record<string, FakeSnowflakeUser>;
  /** Rows returned inline; the rest of a result is served as chunks of this size. Default 1000. */
  chunkRows?: number;
}

export interface LoginAttempt {
  user: string;
  authenticator: string;
  application: string | undefined;
  database: string | undefined;
  ok: boolean;
}

export interface FakeSnowflake {
  /** The accessUrl to give snowflake-sdk. */
  readonly url: string;
  /** Every statement received, as sent (Snowflake SQL), in order. */
  readonly statements: string[];
  readonly logins: LoginAttempt[];
  /** Result chunks fetched by clients so far. */
  chunkFetches(): number;
  /** Open transactions committed early because DDL ran inside them (Snowflake's rule). */
  implicitCommits(): number;
  openSessions(): number;
  /** Runs DuckDB SQL directly on the backing database (test setup and inspection). */
  duck(sql: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** Result rows per chunk unless told otherwise: small, so a few thousand rows make several chunks. */
const DEFAULT_CHUNK_ROWS = 1000;
/** Token lifetimes reported at login (Snowflake's defaults: session 1 h, master 4 h). */
const SESSION_VALIDITY_S = 3600;
const MASTER_VALIDITY_S = 14400;
/** Snowflake's default session parameters the driver reads from every response. */
const SESSION_PARAMETERS = [
  { name: 'TIMEZONE', value: 'UTC' },
  { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
  { name: 'TIMESTAMP_NTZ_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3' },
  { name: 'TIMESTAMP_LTZ_OUTPUT_FORMAT', value: '' },
  { name: 'TIMESTAMP_TZ_OUTPUT_FORMAT', value: '' },
  { name: 'DATE_OUTPUT_FORMAT', value: 'YYYY-MM-DD' },
  { name: 'TIME_OUTPUT_FORMAT', value: 'HH24:MI:SS' },
  { name: 'BINARY_OUTPUT_FORMAT', value: 'HEX' },
  { name: 'CLIENT_RESULT_CHUNK_SIZE', value: 160 },
];
/** Snowflake's statementTypeId values (the driver's statement_type.js). */
const STATEMENT_TYPE: Record<string, number> = { SELECT: 0x1000, INSERT: 0x3100, UPDATE: 0x3200, DELETE: 0x3300, MERGE: 0x3400, DDL: 0x6000 };
const DML_COUNT_COLUMN: Record<string, string> = {
  INSERT: 'number of rows inserted',
  UPDATE: 'number of rows updated',
  DELETE: 'number of rows deleted',
  MERGE: 'number of rows affected',
};

/** DuckDB error classes -> Snowflake error code, SQLSTATE, and whether Snowflake calls it a compilation error. */
const ERROR_TABLE: ReadonlyArray<{ match: RegExp; code: string; sqlState: string; compilation: boolean }> = [
  { match: /^Catalog Error/, code: '002003', sqlState: '42S02', compilation: true },
  { match: /^Binder Error/, code: '000904', sqlState: '42000', compilation: true },
  { match: /^Parser Error/, code: '001003', sqlState: '42000', compilation: true },
  { match: /^(Conversion|Invalid Input) Error/, code: '100038', sqlState: '22018', compilation: false },
  { match: /^Constraint Error/, code: '100072', sqlState: '22000', compilation: false },
];

interface Session {
  readonly id: number;
  token: string;
  masterToken: string;
  readonly user: string;
  readonly conn: DuckDBConnection;
  /** Statements of one session run one at a time, in arrival order. */
  queue: Promise<unknown>;
  inTransaction: boolean;
}

interface Rowtype {
  name: string;
  type: string;
  nullable: boolean;
  scale: number | null;
  precision: number | null;
  length: number | null;
  byteLength: number | null;
  database: string;
  schema: string;
  table: string;
}

interface StatementOutcome {
  rowtype: Rowtype[];
  rows: Array<Array<string | null>>;
  statementTypeId: number;
}

class SnowflakeSqlError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly sqlState: string,
  ) {
    super(message);
  }
}

export async function startFakeSnowflake(opts: FakeSnowflakeOptions): Promise<FakeSnowflake> {
  const instance = await DuckDBInstance.create(':memory:');
  const admin = await instance.connect();
  const users = new Map(Object.entries(opts.users).map(([name, u]) => [name.toUpperCase(), u]));
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const sessions = new Map<string, Session>();
  const chunks = new Map<string, string>();
  const statements: string[] = [];
  const logins: LoginAttempt[] = [];
  let nextSessionId = 1;
  let chunkFetches = 0;
  let implicitCommits = 0;
  let baseUrl = '';

  const json = (res: http.ServerResponse, body: unknown, status = 200): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const failure = (code: string, message: string, data: Record<string, unknown> = {}) => ({ success: false, code, message, data, headers: null });

  async function login(url: URL, body: LoginBody, res: http.ServerResponse): Promise<void> {
    const d = body.data ?? {};
    const user = String(d.LOGIN_NAME ?? '');
    const authenticator = String(d.AUTHENTICATOR ?? 'SNOWFLAKE').toUpperCase();
    const account = String(d.ACCOUNT_NAME ?? '');
    const known = users.get(user.toUpperCase());
    let ok = false;
    if (known && authenticator === 'SNOWFLAKE_JWT') ok = known.publicKeyPem !== undefined && jwtNamesUser(String(d.TOKEN ?? ''), account, user, known.publicKeyPem);
    else if (known && authenticator === 'SNOWFLAKE') ok = known.password !== undefined && d.PASSWORD === known.password;
    const attempt: LoginAttempt = {
      user,
      authenticator,
      application: d.CLIENT_ENVIRONMENT?.APPLICATION,
      database: url.searchParams.get('databaseName') ?? undefined,
      ok,
    };
    logins.push(attempt);
    if (!ok) {
      // Snowflake answers a refused login with HTTP 200 and a 390xxx code.
      if (authenticator === 'SNOWFLAKE_JWT') return json(res, failure('390144', 'JWT token is invalid.', { authnMethod: 'KEY_PAIR' }));
      return json(res, failure('390100', 'Incorrect username or password was specified.', { nextAction: 'RETRY_LOGIN', authnMethod: 'USERNAME_PASSWORD' }));
    }
    const conn = await instance.connect();
    const session: Session = { id: nextSessionId++, token: randomToken(), masterToken: randomToken(), user, conn, queue: Promise.resolve(), inTransaction: false };
    sessions.set(session.token, session);
    json(res, {
      success: true,
      code: null,
      message: null,
      data: {
        token: session.token,
        masterToken: session.masterToken,
        validityInSeconds: SESSION_VALIDITY_S,
        masterValidityInSeconds: MASTER_VALIDITY_S,
        sessionId: session.id,
        displayUserName: user.toUpperCase(),
        serverVersion: 'fake-duckdb',
        parameters: SESSION_PARAMETERS,
        sessionInfo: {
          databaseName: url.searchParams.get('databaseName'),
          schemaName: url.searchParams.get('schemaName'),
          warehouseName: url.searchParams.get('warehouse'),
          roleName: url.searchParams.get('roleName'),
        },
      },
    });
  }

  async function query(session: Session, body: QueryBody, res: http.ServerResponse): Promise<void> {
    const sql = String(body.sqlText ?? '');
    const queryId = crypto.randomUUID();
    statements.push(sql);
    if (body.bindStage) {
      // Stage binds need a cloud stage upload; the driver falls back to inline binds when this fails.
      return json(res, failure('002003', 'SQL compilation error:\nStage binds are not supported by the fake.', { sqlState: '42S02', queryId }));
    }
    const run = session.queue.then(() => execute(session, sql, body.bindings, () => implicitCommits++));
    session.queue = run.catch(() => undefined);
    let outcome: StatementOutcome;
    try {
      outcome = await run;
    } catch (e) {
      const err = e instanceof SnowflakeSqlError ? e : asSnowflakeError(e);
      return json(res, failure(err.code, err.message, { sqlState: err.sqlState, queryId, errorCode: err.code, internalError: false, age: 0 }));
    }
    const inline = outcome.rows.slice(0, chunkRows);
    const rest = [];
    for (let i = chunkRows, n = 0; i < outcome.rows.length; i += chunkRows, n++) {
      const part = outcome.rows.slice(i, i + chunkRows);
      const id = `${queryId}/${n}`;
      // A chunk body is the rows without the enclosing brackets: the driver parses '[' + body + ']'.
      const text = JSON.stringify(part).slice(1, -1);
      chunks.set(id, text);
      rest.push({ url: `${baseUrl}/fake-chunks/${id}`, rowCount: part.length, uncompressedSize: text.length, compressedSize: text.length });
    }
    json(res, {
      success: true,
      code: null,
      message: null,
      data: {
        queryId,
        rowtype: outcome.rowtype,
        rowset: inline,
        total: outcome.rows.length,
        returned: outcome.rows.length,
        queryResultFormat: 'json',
        version: 1,
        statementTypeId: outcome.statementTypeId,
        parameters: SESSION_PARAMETERS,
        ...(rest.length > 0 ? { chunks: rest, chunkHeaders: {} } : {}),
      },
    });
  }

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) json(res, failure('000603', `fake Snowflake internal error: ${(e as Error).message}`), 500);
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = await readBody(req);
    if (req.method === 'GET' && url.pathname.startsWith('/fake-chunks/')) {
      const text = chunks.get(url.pathname.slice('/fake-chunks/'.length));
      if (text === undefined) return json(res, { error: 'no such chunk' }, 404);
      chunkFetches++;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      return void res.end(text);
    }
    const body = raw.length > 0 ? (JSON.parse(raw) as Record<string, unknown>) : {};
    if (url.pathname === '/session/v1/login-request') return login(url, body as LoginBody, res);
    if (url.pathname === '/telemetry/send') return json(res, { success: true, data: null });
    const session = sessionOf(req);
    if (url.pathname === '/session/token-request') {
      const s = [...sessions.values()].find((x) => bearer(req) === x.masterToken);
      if (!s) return json(res, failure('390114', 'Authentication token has expired.'));
      sessions.delete(s.token);
      s.token = randomToken();
      sessions.set(s.token, s);
      return json(res, { success: true, data: { sessionToken: s.token, validityInSecondsST: SESSION_VALIDITY_S, masterToken: s.masterToken, validityInSecondsMT: MASTER_VALIDITY_S } });
    }
    if (!session) return json(res, failure('390104', 'Session token invalid or no longer valid.'), 401);
    if (url.pathname === '/session' && url.searchParams.get('delete') === 'true') {
      sessions.delete(session.token);
      // After the statements in flight; closing the DuckDB connection rolls back an open transaction, as Snowflake does.
      await session.queue;
      session.conn.closeSync();
      return json(res, { success: true, code: null, message: null, data: null });
    }
    if (url.pathname === '/session/heartbeat') return json(res, { success: true, code: null, message: null, data: null });
    if (url.pathname === '/queries/v1/query-request') return query(session, body as QueryBody, res);
    json(res, failure('000404', `fake Snowflake: ${req.method} ${url.pathname} is not implemented`), 404);
  }

  function sessionOf(req: http.IncomingMessage): Session | undefined {
    const token = bearer(req);
    return token === undefined ? undefined : sessions.get(token);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    statements,
    logins,
    chunkFetches: () => chunkFetches,
    implicitCommits: () => implicitCommits,
    openSessions: () => sessions.size,
    async duck(sql) {
      return (await admin.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions.values()) s.conn.closeSync();
      sessions.clear();
      admin.closeSync();
      instance.closeSync();
    },
  };
}

interface LoginBody {
  data?: {
    LOGIN_NAME?: string;
    PASSWORD?: string;
    AUTHENTICATOR?: string;
    TOKEN?: string;
    ACCOUNT_NAME?: string;
    CLIENT_ENVIRONMENT?: { APPLICATION?: string };
  };
}

interface Binding {
  type: string;
  value: string | null | Array<string | null>;
}

interface QueryBody {
  sqlText?: string;
  bindings?: Record<string, Binding>;
  bindStage?: string;
}

/** Statements Snowflake treats as DDL: each commits an open transaction before it runs. */
const DDL_KINDS = new Set(['CREATE', 'DROP', 'ALTER', 'GRANT', 'REVOKE', 'COMMENT', 'UNDROP']);
const STATUS_ONLY = { rowtype: [column('status', 'text')], rows: [['Statement executed successfully.']], statementTypeId: STATEMENT_TYPE.DDL! };

/** Runs one statement on DuckDB and shapes the result as Snowflake would. */
async function execute(session: Session, sql: string, bindings: Record<string, Binding> | undefined, onImplicitCommit: () => void): Promise<StatementOutcome> {
  const conn = session.conn;
  const kind = statementKind(sql);
  // Snowflake's transaction rules, which DuckDB does not share.
  if (kind === 'BEGIN' || kind === 'START') {
    if (session.inTransaction) return STATUS_ONLY;
    session.inTransaction = true;
  } else if (kind === 'COMMIT' || kind === 'ROLLBACK') {
    if (!session.inTransaction) return STATUS_ONLY;
    session.inTransaction = false;
  } else if (DDL_KINDS.has(kind) && session.inTransaction) {
    session.inTransaction = false;
    await conn.run('COMMIT');
    onImplicitCommit();
  }
  const duckSql = snowflakeToDuckDb(sql);
  let reader;
  try {
    const binds = bindings ? Object.keys(bindings).sort((a, b) => Number(a) - Number(b)).map((k) => bindings[k]!) : [];
    const arrayBinding = binds.some((b) => Array.isArray(b.value));
    if (arrayBinding) reader = await conn.runAndReadAll(multiRowInsert(duckSql, binds));
    else if (binds.length > 0) reader = await conn.runAndReadAll(duckSql, binds.map((b) => bindValue(b.type, b.value as string | null)));
    else reader = await conn.runAndReadAll(duckSql);
  } catch (e) {
    throw asSnowflakeError(e);
  }
  if (kind in DML_COUNT_COLUMN) {
    const count = reader.getRows()[0]?.[0];
    return { rowtype: [column(DML_COUNT_COLUMN[kind]!, 'fixed', 0, 38)], rows: [[String(count ?? 0)]], statementTypeId: STATEMENT_TYPE[kind]! };
  }
  if (!['SELECT', 'WITH', 'SHOW', 'DESC', 'DESCRIBE', 'VALUES', 'FROM'].includes(kind)) return STATUS_ONLY;
  const types = reader.columnTypes();
  const rowtype = reader.columnNames().map((n, i) => rowtypeOf(snowflakeName(n), types[i]!));
  const rows = reader.getRows().map((r) => r.map((v, i) => rawValue(v, types[i]!)));
  return { rowtype, rows, statementTypeId: STATEMENT_TYPE.SELECT! };
}

function statementKind(sql: string): string {
  const m = /^[\s(]*([A-Za-z]+)/.exec(sql.replace(/^\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/)*/g, ''));
  return (m?.[1] ?? '').toUpperCase();
}

/** `INSERT INTO t VALUES (?, ?, ...)` with array binds -> one INSERT with a VALUES row per bound row. */
function multiRowInsert(sql: string, binds: Binding[]): string {
  const m = /^\s*(INSERT\s+INTO\s+[\s\S]+?\s+VALUES)\s*\(\s*\?(?:\s*,\s*\?)*\s*\)\s*;?\s*$/i.exec(sql);
  if (!m) throw new SnowflakeSqlError('fake Snowflake: array binding is supported for INSERT ... VALUES (?, ...) only', '000002', '0A000');
  const columns = binds.map((b) => (Array.isArray(b.value) ? b.value : [b.value]));
  const rowCount = columns[0]?.length ?? 0;
  const rows: string[] = [];
  for (let r = 0; r < rowCount; r++) rows.push(`(${binds.map((b, c) => literal(b.type, columns[c]![r] ?? null)).join(', ')})`);
  return `${m[1]} ${rows.join(',\n')}`;
}

function literal(type: string, v: string | null): string {
  if (v === null) return 'NULL';
  if (type === 'FIXED' || type === 'REAL') return String(Number(v));
  if (type === 'BOOLEAN') return v === 'true' ? 'TRUE' : 'FALSE';
  return `'${v.replace(/'/g, "''")}'`;
}

function bindValue(type: string, v: string | null): DuckDBValue {
  if (v === null) return null;
  if (type === 'FIXED' || type === 'REAL') return Number(v);
  if (type === 'BOOLEAN') return v === 'true';
  return v;
}

/** Snowflake stores unquoted names upper-case: a plain lower-case DuckDB name is reported that way. */
function snowflakeName(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name.toUpperCase() : name;
}

function column(name: string, type: string, scale: number | null = null, precision: number | null = null): Rowtype {
  const text = type === 'text';
  return { name, type, nullable: true, scale, precision, length: text ? 16777216 : null, byteLength: text ? 16777216 : null, database: 'FAKE', schema: 'PUBLIC', table: '' };
}

function rowtypeOf(name: string, t: DuckDBType): Rowtype {
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return column(name, 'boolean');
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
      return column(name, 'fixed', 0, 38);
    case DuckDBTypeId.DECIMAL: {
      const d = t as DuckDBDecimalType;
      return column(name, 'fixed', d.scale, d.width);
    }
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return column(name, 'real');
    case DuckDBTypeId.DATE:
      return column(name, 'date');
    case DuckDBTypeId.TIMESTAMP_TZ:
      return column(name, 'timestamp_tz', 9, 0);
    case DuckDBTypeId.TIMESTAMP:
      return column(name, 'timestamp_ntz', 9, 0);
    default:
      return column(name, 'text');
  }
}

/** A DuckDB value in Snowflake's JSON result encoding (every value a string). */
function rawValue(v: DuckDBValue, t: DuckDBType): string | null {
  if (v === null) return null;
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return v ? '1' : '0';
    case DuckDBTypeId.DATE:
      return String((v as { days: number }).days);
    case DuckDBTypeId.TIMESTAMP_TZ:
      // Seconds.nanoseconds, then the zone as minutes + 1440 (1440 = UTC).
      return `${epochText((v as { micros: bigint }).micros)} 1440`;
    case DuckDBTypeId.TIMESTAMP:
      return epochText((v as { micros: bigint }).micros);
    default:
      return String(v);
  }
}

function epochText(micros: bigint): string {
  const million = 1_000_000n;
  let secs = micros / million;
  let frac = micros % million;
  if (frac < 0n) {
    secs -= 1n;
    frac += million;
  }
  return `${secs}.${(frac * 1000n).toString().padStart(9, '0')}`;
}

function asSnowflakeError(e: unknown): SnowflakeSqlError {
  if (e instanceof SnowflakeSqlError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const row = ERROR_TABLE.find((r) => r.match.test(message));
  if (!row) return new SnowflakeSqlError(message, '000603', 'XX000');
  return new SnowflakeSqlError(row.compilation ? `SQL compilation error:\n${message}` : message, row.code, row.sqlState);
}

/**
 * Key-pair login: the JWT must be RS256-signed by the user's registered key,
 * name the account and user in `sub`, and carry the key's fingerprint in `iss`
 * (ACCOUNT.USER.SHA256:<base64 of the SPKI DER digest>), as Snowflake checks.
 */
function jwtNamesUser(token: string, account: string, user: string, publicKeyPem: string): boolean {
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) return false;
  const key = crypto.createPublicKey(publicKeyPem);
  if (!crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) return false;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { iss?: string; sub?: string };
  const fingerprint = 'SHA256:' + crypto.createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64');
  const who = `${account.toUpperCase()}.${user.toUpperCase()}`;
  return claims.sub === who && claims.iss === `${who}.${fingerprint}`;
}

function bearer(req: http.IncomingMessage): string | undefined {
  return /Snowflake Token="([^"]*)"/.exec(req.headers.authorization ?? '')?.[1];
}

function randomToken(): string {
  return crypto.randomBytes(24).toString('hex');
}

/** The driver gzips request bodies, but may set the header without compressing: trust the magic bytes. */
async function readBody(req: http.IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  const buf = Buffer.concat(parts);
  const gzipped = buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  return (gzipped ? zlib.gunzipSync(buf) : buf).toString('utf8');
}

import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { Bind, Column, Connection, ConnectionOptions, DataType, RowStatement, SnowflakeError } from 'snowflake-sdk';
import { AudsyncError, ConfigError, WarehouseError } from '../../errors.js';
import type { SqlValue } from '../connection.js';

// The driver bundles the AWS SDK (for stage uploads), which prints a warning about
// its own future Node support on load under Node 20: noise on audsync's stderr
// that users cannot act on. A user who set the variable keeps their value.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// require(), not import: snowflake-sdk is CommonJS, and loading it (about 1 s)
// only when a Snowflake warehouse is opened keeps it out of every other command.
const sdk = createRequire(import.meta.url)('snowflake-sdk') as typeof import('snowflake-sdk');

// The driver logs at INFO by default to ./snowflake.log and the console: that
// would litter the user's project and break --json output, and its messages are
// not ours to vet for secrets. Errors reach the user through our own messages.
sdk.configure({ logLevel: 'OFF', additionalLogToConsole: false });

/**
 * Numbers come as text so NUMBER(38,0) beyond 2^53 and decimals keep every digit
 * (connection.ts: big integers and decimals arrive as strings); JSON and BINARY
 * as text because a SqlValue is a scalar.
 */
const FETCH_AS_STRING: DataType[] = ['Number', 'JSON', 'Buffer'];

/** Who is logging in, for messages (account and user, never a secret); `secrets` only to scrub them out. */
export interface SessionIdentity {
  readonly account: string;
  readonly username: string;
  readonly auth: 'password' | 'key-pair';
  /** Secret values to scrub from any message, in case a server echoes one. */
  readonly secrets: readonly string[];
}

export interface StatementResult {
  readonly names: string[];
  readonly rows: SqlValue[][];
}

/** Snowflake's login failures are 390xxx codes (e.g. 390100 wrong user/password, 390144 invalid JWT). */
const LOGIN_ERROR_CODE = /^390\d{3}$/;
/** The driver's own network error codes (ERR_SF_NETWORK_COULD_NOT_CONNECT and siblings, 401xxx). */
const NETWORK_ERROR_CODE = /^401\d{3}$/;

/**
 * One Snowflake session through snowflake-sdk, with promises and audsync errors.
 * Statements on one session share its transaction, so the run lock's heartbeat
 * gets a session of its own (see snowflake-lock.ts).
 */
export class SnowflakeSession {
  private constructor(
    private readonly conn: Connection,
    private readonly who: SessionIdentity,
  ) {}

  static async connect(options: ConnectionOptions, who: SessionIdentity): Promise<SnowflakeSession> {
    let conn: Connection;
    try {
      // A copy: the driver rewrites the options object it is given (host, accessUrl, account).
      conn = sdk.createConnection({ ...options });
    } catch (e) {
      // Raised synchronously for malformed options (account identifier, key format...).
      throw new ConfigError(`warehouse: the Snowflake driver rejected the connection settings: ${scrub(messageOf(e), who.secrets)}`, {
        hint: 'Check warehouse.account (e.g. "myorg-myaccount"), warehouse.username and the key or password settings.',
      });
    }
    await new Promise<void>((resolve, reject) => {
      conn.connect((err) => (err ? reject(loginError(err, who, options.accessUrl)) : resolve()));
    });
    return new SnowflakeSession(conn, who);
  }

  /** Runs one statement and returns every row (values converted to SqlValue). */
  run(sql: string, binds?: Bind[][]): Promise<StatementResult> {
    return new Promise((resolve, reject) => {
      try {
        this.conn.execute({
          sqlText: sql,
          ...(binds ? { binds } : {}),
          rowMode: 'array',
          fetchAsString: FETCH_AS_STRING,
          complete: (err, stmt, rows) => {
            if (err) return reject(statementError(err, sql, this.who));
            try {
              const columns = stmt.getColumns() ?? [];
              resolve({ names: columns.map((c) => c.getName()), rows: (rows ?? []).map((r) => convertRow(r as unknown[], columns)) });
            } catch (e) {
              reject(statementError(e, sql, this.who));
            }
          },
        });
      } catch (e) {
        reject(statementError(e, sql, this.who));
      }
    });
  }

  /**
   * Executes a statement whose rows are read as a stream: the driver fetches the
   * result chunk by chunk as rows are consumed, so memory stays bounded.
   */
  async openStream(sql: string): Promise<{ names: string[]; rows: AsyncIterable<SqlValue[]>; close(): void }> {
    const stmt = await new Promise<RowStatement>((resolve, reject) => {
      try {
        this.conn.execute({
          sqlText: sql,
          streamResult: true,
          rowMode: 'array',
          fetchAsString: FETCH_AS_STRING,
          complete: (err, s) => (err ? reject(statementError(err, sql, this.who)) : resolve(s)),
        });
      } catch (e) {
        reject(statementError(e, sql, this.who));
      }
    });
    const columns = stmt.getColumns() ?? [];
    const readable: Readable = stmt.streamRows();
    const who = this.who;
    async function* rows(): AsyncIterable<SqlValue[]> {
      try {
        for await (const raw of readable) yield convertRow(raw as unknown[], columns);
      } catch (e) {
        throw statementError(e, sql, who);
      }
    }
    return { names: columns.map((c) => c.getName()), rows: rows(), close: () => readable.destroy() };
  }

  /** Ends the session on the server (an open transaction there is rolled back). */
  async destroy(): Promise<void> {
    if (!this.conn.isUp()) return;
    await new Promise<void>((resolve) => this.conn.destroy(() => resolve()));
  }
}

function convertRow(raw: unknown[], columns: Column[]): SqlValue[] {
  return raw.map((v, i) => toSqlValue(v, columns[i]));
}

/** A driver value as a SqlValue: integers that fit a JS number become numbers, other numbers stay text. */
function toSqlValue(v: unknown, column: Column | undefined): SqlValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (column?.getType() === 'real') return Number(v);
    if (column?.getType() === 'fixed' && column.getScale() === 0) {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : v;
    }
    return v;
  }
  if (v instanceof Date) {
    // Timestamps as ISO-8601 UTC text; a DATE as its calendar day.
    const iso = v.toISOString();
    return column?.isDate() ? iso.slice(0, 10) : iso;
  }
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function codeOf(e: unknown): string | undefined {
  const code = (e as SnowflakeError | undefined)?.code;
  return code === undefined || code === null ? undefined : String(code);
}

/** Replaces any secret value that made its way into a message. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

function loginError(err: SnowflakeError, who: SessionIdentity, accessUrl: string | undefined): AudsyncError {
  const code = codeOf(err);
  const msg = scrub(messageOf(err), who.secrets);
  const whom = `user "${who.username}" on Snowflake account "${who.account}"`;
  if (code !== undefined && LOGIN_ERROR_CODE.test(code)) {
    return new WarehouseError(`Snowflake refused the login of ${whom}: ${msg} (code ${code})`, {
      hint:
        who.auth === 'password'
          ? 'Check warehouse.username and warehouse.password (or the environment variable its env() names).'
          : 'Check warehouse.username, the private key (warehouse.privateKey or privateKeyPath) and that its public key is set on the user (ALTER USER ... SET RSA_PUBLIC_KEY).',
    });
  }
  if (code !== undefined && NETWORK_ERROR_CODE.test(code)) {
    return new WarehouseError(`could not reach Snowflake for ${whom}${accessUrl ? ` at ${accessUrl}` : ''}: ${msg}`, {
      hint: 'Check warehouse.account (the account identifier, e.g. "myorg-myaccount") and the network or proxy settings.',
    });
  }
  return new WarehouseError(`could not connect to Snowflake as ${whom}: ${msg}${code ? ` (code ${code})` : ''}`, {
    hint: 'Check the warehouse settings in the config.',
  });
}

function statementError(e: unknown, sql: string, who: SessionIdentity): AudsyncError {
  if (e instanceof AudsyncError) return e;
  const code = codeOf(e);
  const sqlState = (e as SnowflakeError | undefined)?.sqlState;
  const msg = scrub(messageOf(e), who.secrets);
  const detail = code ? ` (Snowflake ${code}${sqlState ? `, SQLSTATE ${sqlState}` : ''})` : '';
  return new WarehouseError(`${msg}${detail}`, { cause: e, sql });
}

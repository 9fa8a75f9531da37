import type { SnowflakeWarehouseConfig } from './snowflake-config.js';
import { SnowflakeDialect } from './snowflake-dialect.js';
import { ConfigError } from '../../errors.js';
import type { Row, SqlValue, WarehouseConnection } from '../connection.js';
import { Transactions } from '../transactions.js';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, SnowflakeRunLocks } from './snowflake-lock.js';
import { bindSlices } from './snowflake-binds.js';
import { snowflakeLogin, type SnowflakeLogin } from './snowflake-options.js';
import { SnowflakeSession } from './snowflake-session.js';

/**
 * Rows per chunk yielded by stream(): the runner cuts destination batches from
 * these, and 5000 rows of plan (key, fields JSON, hash) stay within a few MB.
 */
const STREAM_CHUNK_ROWS = 5000;

export interface SnowflakeConnectionOptions {
  /** Schema of audsync's own tables (config stateSchema): the run-lock table lives there. */
  readonly stateSchema: string;
  /** Directory a relative privateKeyPath is resolved from. */
  readonly projectDir: string;
  /** Where env() secrets are read; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Test-only: an endpoint replacing https://<account>.snowflakecomputing.com (the protocol fake). */
  readonly accessUrl?: string;
  /** Rows per chunk from stream(); default STREAM_CHUNK_ROWS. */
  readonly streamChunkRows?: number;
}

/**
 * Snowflake through snowflake-sdk: one session for the run's statements and
 * transactions, a second one (opened on first use) for run locks. Row keys are
 * lower-cased, so engine code reading `row.record_key` works although
 * Snowflake reports unquoted names upper-case; columns() reports names exactly
 * as Snowflake does, for matching against the config.
 */
export class SnowflakeConnection implements WarehouseConnection {
  readonly dialect = new SnowflakeDialect();
  private readonly transactions = new Transactions(this.dialect, (sql) => this.session.run(sql));
  private lockSession: Promise<SnowflakeSession> | undefined;
  private readonly locks: SnowflakeRunLocks;

  private constructor(
    private readonly session: SnowflakeSession,
    private readonly login: SnowflakeLogin,
    stateSchema: string,
    lockTimeoutSeconds: number,
    private readonly streamChunkRows: number,
    private readonly reopen: () => Promise<SnowflakeConnection>,
  ) {
    this.locks = new SnowflakeRunLocks(() => this.openLockSession(), this.dialect, stateSchema, lockTimeoutSeconds);
  }

  static async open(config: SnowflakeWarehouseConfig, opts: SnowflakeConnectionOptions): Promise<SnowflakeConnection> {
    const timeout = config.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS;
    if (!Number.isInteger(timeout) || timeout < 1) {
      throw new ConfigError('warehouse.lockTimeoutSeconds: must be a whole number of seconds, at least 1', {
        hint: `The default, ${DEFAULT_LOCK_TIMEOUT_SECONDS}, suits most deployments.`,
      });
    }
    const login = snowflakeLogin(config, { projectDir: opts.projectDir, env: opts.env, accessUrl: opts.accessUrl });
    const session = await SnowflakeSession.connect(login.options, login.identity);
    return new SnowflakeConnection(session, login, opts.stateSchema, timeout, opts.streamChunkRows ?? STREAM_CHUNK_ROWS, () => SnowflakeConnection.open(config, opts));
  }

  /** A session of its own (and its own lock session), logged in the same way. */
  sibling(): Promise<WarehouseConnection> {
    return this.reopen();
  }

  async execute(sql: string): Promise<void> {
    await this.session.run(sql);
  }

  async columns(sql: string): Promise<string[]> {
    const { names } = await this.session.run(`SELECT * FROM (${sql}) AS audsync_probe LIMIT 0`);
    return names;
  }

  async query(sql: string): Promise<Row[]> {
    const { names, rows } = await this.session.run(sql);
    const keys = names.map((n) => n.toLowerCase());
    return rows.map((r) => toRow(keys, r));
  }

  async *stream(sql: string): AsyncIterable<Row[]> {
    const result = await this.session.openStream(sql);
    const keys = result.names.map((n) => n.toLowerCase());
    let chunk: Row[] = [];
    try {
      for await (const r of result.rows) {
        chunk.push(toRow(keys, r));
        if (chunk.length >= this.streamChunkRows) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length > 0) yield chunk;
    } finally {
      result.close();
    }
  }

  /**
   * Array binding: INSERT ... VALUES (?, ...) with the rows as binds, cut into
   * statements within Snowflake's size limit and below the driver's staging
   * threshold (see snowflake-binds.ts: staging would commit our transaction).
   * On the run's session, so inside its open transaction.
   */
  async bulkWrite(schema: string, table: string, rows: ReadonlyArray<ReadonlyArray<string | null>>): Promise<void> {
    const width = rows[0]?.length ?? 0;
    if (width === 0) return;
    const sql = `INSERT INTO ${this.dialect.relation(schema, table)} VALUES (${new Array<string>(width).fill('?').join(', ')})`;
    for (const slice of bindSlices(rows)) await this.session.run(sql, slice.map((r) => [...r]));
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.transactions.run(fn);
  }

  acquireRunLock(syncName: string): Promise<() => Promise<void>> {
    return this.locks.acquire(syncName);
  }

  /**
   * Stops heartbeats and ends both sessions. A lock not released first is left
   * to expire, exactly as if the process had died: close() never frees a lock
   * on its own, so a bug cannot let two runs overlap.
   */
  async close(): Promise<void> {
    this.locks.stopAll();
    const lockSession = this.lockSession;
    this.lockSession = undefined;
    await Promise.all([this.session.destroy(), lockSession?.then((s) => s.destroy(), () => undefined)]);
  }

  private openLockSession(): Promise<SnowflakeSession> {
    if (!this.lockSession) {
      const opening = SnowflakeSession.connect(this.login.options, this.login.identity);
      // A failed login is not cached: the next acquire tries again.
      opening.catch(() => {
        if (this.lockSession === opening) this.lockSession = undefined;
      });
      this.lockSession = opening;
    }
    return this.lockSession;
  }
}

function toRow(keys: readonly string[], values: readonly SqlValue[]): Row {
  const row: Row = {};
  for (let i = 0; i < keys.length; i++) row[keys[i]!] = values[i] ?? null;
  return row;
}

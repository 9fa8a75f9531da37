import path from 'node:path';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { DuckDBInstance as DuckDBInstanceType, DuckDBConnection as NativeConnection } from '@duckdb/node-api';
import { ConfigError, LockError, WarehouseError, WarehouseResourceError } from '../../errors.js';
import { DUCKDB_WORK_DATABASE, DuckDBDialect } from './duckdb-dialect.js';
import type { Row, WarehouseConnection } from '../connection.js';
import { Transactions } from '../transactions.js';

// require(), not import: importing this CommonJS package from ESM makes Node scan
// each of its ~100 re-exported files for export names, about 60 ms of start-up.
const { DuckDBInstance, DuckDBTypeId: TypeId } = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');
type DuckDBInstance = DuckDBInstanceType;

/** DuckDB's memory_limit unless warehouse.settings sets one (see the README's DuckDB section). */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = '512MB';

/** Column types stream() reads from the vectors itself: text, booleans and integers. */
const DIRECT_TYPES: ReadonlySet<number> = new Set([
  TypeId.VARCHAR, TypeId.BOOLEAN, TypeId.TINYINT, TypeId.SMALLINT, TypeId.INTEGER, TypeId.BIGINT,
  TypeId.UTINYINT, TypeId.USMALLINT, TypeId.UINTEGER, TypeId.UBIGINT, TypeId.HUGEINT, TypeId.UHUGEINT,
]);

/**
 * Embedded DuckDB. The database file is locked by the operating system for the
 * process that opens it, so a second audsync on the same file fails fast, and a
 * killed process's lock vanishes with it: that file lock is our run lock.
 */
export class DuckDBConnection implements WarehouseConnection {
  readonly dialect = new DuckDBDialect();
  private readonly transactions = new Transactions(this.dialect, (sql) => this.run(sql));

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: NativeConnection,
    /** The first connection owns the instance (and the file lock); siblings only their own connection. */
    private readonly ownsInstance = true,
  ) {}

  static async open(file: string, settings: Readonly<Record<string, string | number | boolean>> = {}): Promise<DuckDBConnection> {
    const target = file === ':memory:' ? ':memory:' : path.resolve(file);
    if (target !== ':memory:') fs.mkdirSync(path.dirname(target), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(target);
    } catch (e) {
      const msg = (e as Error).message;
      const holder = /Conflicting lock is held in (.*?)(?: \(PID (\d+)\))?\./.exec(msg);
      if (holder) {
        throw new LockError(`${file} is in use by another process${holder[2] ? ` (PID ${holder[2]})` : ''}: ${holder[1]}`, {
          hint: 'Another audsync run holds the embedded warehouse; wait for it to finish (one run at a time per DuckDB file).',
        });
      }
      throw new WarehouseError(`could not open DuckDB file ${file}: ${msg}`, { hint: 'Check warehouse.path in the config.' });
    }
    const conn = await instance.connect();
    // Timestamps reach destinations as text: render them in UTC whatever the machine's zone.
    await conn.run("SET GLOBAL TimeZone = 'UTC'");
    // Set-up statements the config can make fail: the database is closed again before the error is thrown.
    const setUp = async (sql: string, refused: (e: unknown) => ConfigError): Promise<void> => {
      try {
        await conn.run(sql);
      } catch (e) {
        conn.closeSync();
        instance.closeSync();
        throw refused(e);
      }
    };
    // The user's settings (memory_limit, threads, temp_directory, ...) before any work table exists.
    const dialect = new DuckDBDialect();
    const own = Object.keys(settings).map((k) => k.toLowerCase());
    // DuckDB's own default is 80% of the machine's memory; audsync runs beside other work (an orchestrator's
    // worker, a CI job), and its working tables spill to disk beyond the limit, so it asks for little by default.
    const withDefaults = own.includes('memory_limit') || own.includes('max_memory') ? settings : { memory_limit: DEFAULT_DUCKDB_MEMORY_LIMIT, ...settings };
    for (const [name, value] of Object.entries(withDefaults)) {
      await setUp(`SET GLOBAL ${name} = ${typeof value === 'string' ? dialect.quoteLiteral(value) : String(value)}`, (e) =>
        new ConfigError(`warehouse.settings.${name}: DuckDB refused it: ${firstLine((e as Error).message)}`, {
          hint: "See DuckDB's configuration reference (SELECT * FROM duckdb_settings() lists every setting).",
          cause: e,
        }),
      );
    }
    // DuckDB names the file's own database after the file: audsync_work.duckdb takes the name first.
    await setUp(`ATTACH ':memory:' AS ${DUCKDB_WORK_DATABASE}`, (e) =>
      new ConfigError(`warehouse.path: the DuckDB file ${path.basename(target)} is named like audsync's in-memory working database "${DUCKDB_WORK_DATABASE}"`, {
        hint: 'Rename the file (any other name works) and point warehouse.path at it.',
        cause: e,
      }),
    );
    return new DuckDBConnection(instance, conn);
  }

  async execute(sql: string): Promise<void> {
    await this.run(sql);
  }

  async columns(sql: string): Promise<string[]> {
    // Prepared, not run: the names as the query gives them (SELECT * over a subquery
    // would rename a second "EMAIL" beside "email" to "EMAIL_1", hiding the clash).
    let prepared: Awaited<ReturnType<NativeConnection['prepare']>>;
    try {
      prepared = await this.conn.prepare(sql);
    } catch (e) {
      throw wrap(e, sql);
    }
    try {
      return Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
    } finally {
      prepared.destroySync();
    }
  }

  async query(sql: string): Promise<Row[]> {
    const reader = await this.run(sql, true);
    return reader as Row[];
  }

  async *stream(sql: string): AsyncIterable<Row[]> {
    // A connection of its own, so commits on the main connection do not invalidate the stream.
    const reader = await this.instance.connect();
    try {
      const result = await reader.stream(sql);
      const names = result.deduplicatedColumnNames();
      if (!names.every((_, i) => DIRECT_TYPES.has(result.columnTypeId(i)))) {
        for await (const rows of result.yieldRowObjectJson()) {
          if (rows.length > 0) yield rows as Row[];
        }
        return;
      }
      // Text, booleans and integers are read straight from the vectors (the plan's columns): the same
      // values the JSON converter gives (integers of 64 bits and more as text), without its per-value dispatch.
      for await (const chunk of result) {
        const columns = names.map((_, i) => chunk.getColumnVector(i));
        // rowCount is a native call: read once per chunk.
        const n = chunk.rowCount;
        const rows: Row[] = new Array<Row>(n);
        for (let r = 0; r < n; r++) {
          const row: Row = {};
          for (let c = 0; c < names.length; c++) {
            const v = columns[c]!.getItem(r) as string | number | boolean | bigint | null;
            row[names[c]!] = typeof v === 'bigint' ? String(v) : v;
          }
          rows[r] = row;
        }
        yield rows;
      }
    } catch (e) {
      throw wrap(e, sql);
    } finally {
      reader.closeSync();
    }
  }

  async bulkWrite(schema: string, table: string, rows: ReadonlyArray<ReadonlyArray<string | null>>): Promise<void> {
    const appender = await this.conn.createAppender(table, schema);
    try {
      for (const row of rows) {
        for (const v of row) {
          if (v === null) appender.appendNull();
          else appender.appendVarchar(v);
        }
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.transactions.run(fn);
  }

  async acquireRunLock(): Promise<() => Promise<void>> {
    // The OS file lock taken in open() already excludes every other process.
    return async () => undefined;
  }

  async sibling(): Promise<WarehouseConnection> {
    // Same instance: settings, the time zone and the attached working database are the instance's; temp tables are the connection's own.
    return new DuckDBConnection(this.instance, await this.instance.connect(), false);
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }

  private async run(sql: string, read = false): Promise<Row[] | undefined> {
    try {
      if (read) {
        const reader = await this.conn.runAndReadAll(sql);
        return reader.getRowObjectsJson() as Row[];
      }
      await this.conn.run(sql);
      return undefined;
    } catch (e) {
      throw wrap(e, sql);
    }
  }
}

function wrap(e: unknown, sql: string): WarehouseError {
  const message = (e as Error).message ?? String(e);
  if (/^Out of Memory Error|No space left on device|Failed to (write|create) .*temp/i.test(message)) {
    // DuckDB's own advice follows its first line; ours names the config keys that carry it out.
    return new WarehouseResourceError(message.split('\n')[0]!, {
      cause: e,
      sql,
      hint: "DuckDB ran out of memory or temporary disk space. Set warehouse.settings: a higher memory_limit, a temp_directory on a disk with room (working tables spill there), or fewer threads (e.g. settings: { memory_limit: '8GB', temp_directory: '/big/disk/tmp', threads: 2 }).",
    });
  }
  return new WarehouseError(message, { cause: e, sql });
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '') ?? s;
}

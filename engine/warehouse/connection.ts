import type { Dialect } from './dialect.js';

/** A scalar as a warehouse returns it: big integers, decimals and timestamps arrive as strings. */
export type SqlValue = string | number | boolean | null;
export type Row = Record<string, SqlValue>;

/**
 * Executes SQL against one warehouse. Separate from the dialect, which only
 * writes SQL text.
 */
export interface WarehouseConnection {
  readonly dialect: Dialect;
  /** Runs statements that return nothing of interest. */
  execute(sql: string): Promise<void>;
  /** The column names a query would return, without running it in full. */
  columns(sql: string): Promise<string[]>;
  /** Runs a query and returns all its rows; for small results only. */
  query(sql: string): Promise<Row[]>;
  /** Streams a query's rows in chunks, never holding the whole result in memory. */
  stream(sql: string): AsyncIterable<Row[]>;
  /**
   * Appends rows of text values (or NULL) to an existing table whose columns are
   * all text; part of the current transaction when one is open.
   */
  bulkWrite(schema: string, table: string, rows: ReadonlyArray<ReadonlyArray<string | null>>): Promise<void>;
  /** Runs `fn` inside one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Takes the run lock of a sync. Returns a release function, or throws a LockError
   * naming the holder. The lock dies with the process where the warehouse can tell.
   */
  acquireRunLock(syncName: string): Promise<() => Promise<void>>;
  /**
   * Another connection to the same warehouse, with its own session (working
   * tables, transactions, locks), for a sync run beside this one (`--threads`).
   * Closing it leaves this one open.
   */
  sibling(): Promise<WarehouseConnection>;
  close(): Promise<void>;
}

export function toNumber(v: SqlValue | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v);
}

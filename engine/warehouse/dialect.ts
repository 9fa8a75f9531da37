import type { IdentifierKind, PrehashedRule } from '../vocabulary/identifier-kinds.js';

export type WorkingScope = 'connection' | 'run';

/**
 * A dialect turns intents into SQL text for one warehouse. It is pure: no I/O,
 * no connection. The base class carries the ANSI defaults; a warehouse
 * overrides only where it differs.
 */
export interface Dialect {
  readonly name: string;
  /** sql-formatter's language name for this dialect. */
  readonly formatterLanguage: 'duckdb' | 'postgresql' | 'snowflake';
  readonly types: { text: string; bigint: string; integer: string; double: string; timestamp: string; boolean: string };
  quoteIdent(name: string): string;
  quoteLiteral(value: string): string;
  relation(schema: string, name: string): string;
  createSchema(schema: string): string;
  /**
   * Where a working table lives: one that a run rebuilds and no later run reads.
   * `connection`: only the connection that builds it reads it; `run`: the run's
   * other connections read it too (the plan, streamed on a connection of its own).
   * DuckDB keeps both out of the database file (TEMP tables, and an in-memory
   * database attached at open); the others use the state schema, where
   * createTableAs's `internal` makes them light (unlogged/transient).
   */
  workingRelation(schema: string, name: string, scope: WorkingScope): string;
  /**
   * Replace a table with the result of a query. Internal tables may be lighter-weight
   * (transient/unlogged); `scope` marks a relation named by workingRelation().
   */
  createTableAs(relation: string, select: string, opts?: { internal?: boolean; scope?: WorkingScope }): string[];
  dropTable(relation: string): string;
  /** A JSON object text built from [name, expression] pairs, with NULLs kept. */
  jsonObjectText(pairs: ReadonlyArray<readonly [string, string]>): string;
  castText(expr: string): string;
  md5Hex(expr: string): string;
  /**
   * The row hash that tells a member's fields changed, of the fields JSON text
   * (so it can be computed again from the snapshot's). `rowHashType` is its
   * column type; `rowHashText` renders it as text (row_rejections keeps text).
   */
  rowHash(jsonText: string): string;
  readonly rowHashType: string;
  rowHashText(expr: string): string;
  /**
   * An expression whose value changes if the row hash function does (a new
   * warehouse engine version), or null where it is a fixed standard (md5): a
   * sync's snapshot hashes are computed again when it changed.
   */
  readonly rowHashSeal: string | null;
  sha256Hex(expr: string): string;
  /** Normalize an identifier of the given kind; the empty result becomes NULL. */
  normalizeIdentifier(kind: IdentifierKind, expr: string): string;
  /** Normalize then hash; NULL in, NULL out; 64-hex values by the prehashed rule. */
  hashIdentifier(kind: IdentifierKind, expr: string, prehashed?: PrehashedRule): string;
  /** Replace every match of a portable (POSIX-compatible) pattern. */
  regexpReplaceAll(expr: string, pattern: string, replacement: string): string;
  /** The value matches the anchored pattern. */
  regexpMatches(expr: string, pattern: string): string;
  currentTimestamp(): string;
  /** Seconds since the unix epoch of a timestamp expression, as a number. */
  epochSeconds(expr: string): string;
  /** `expr` lies within the last `days` days. */
  withinDays(expr: string, days: number): string;
  /** `expr` is true for booleans and common truthy strings ('true', 'yes', '1', 'y', 't'). */
  isTrue(expr: string): string;
  /** Keep only digits. */
  digitsOnly(expr: string): string;
  /**
   * A statement that makes concurrent writers of `relation` wait for this
   * transaction, or null where the warehouse already serializes them.
   */
  lockForWrite(relation: string): string | null;
  /**
   * An index on a column that batches select ranges of (the plan's row_no), or
   * null where the warehouse prunes such ranges by itself (zone maps, micro-partitions).
   */
  rangeIndex(relation: string, column: string): string | null;
  /** Refresh the planner statistics of a table just built, or null where the warehouse keeps them itself. */
  analyzeTable(relation: string): string | null;
  /** Empty a table inside the current transaction. */
  clearTable(relation: string): string;
  beginTransaction(): string;
  commit(): string;
  rollback(): string;
}

import { BaseDialect } from '../base-dialect.js';
import type { WorkingScope } from '../dialect.js';

/**
 * A function call takes at most FUNC_MAX_ARGS = 100 arguments (PostgreSQL docs,
 * Appendix K "PostgreSQL Limits"), so one json_build_object holds 50 pairs.
 */
const JSON_BUILD_OBJECT_MAX_PAIRS = 50;

/**
 * PostgreSQL (9.5+ for make_interval/json_build_object, 11+ for sha256()).
 * Where it costs nothing the SQL stays within what Redshift also accepts
 * (DROP + CREATE TABLE AS rather than CREATE OR REPLACE TABLE).
 */
export class PostgresDialect extends BaseDialect {
  readonly name = 'postgres';
  readonly formatterLanguage = 'postgresql' as const;
  override readonly types = { text: 'TEXT', bigint: 'BIGINT', integer: 'INTEGER', double: 'DOUBLE PRECISION', timestamp: 'TIMESTAMPTZ', boolean: 'BOOLEAN' };

  /**
   * PostgreSQL has no CREATE OR REPLACE TABLE. Internal tables are rebuilt every
   * run, so they are UNLOGGED: no WAL, much faster to fill; a server crash
   * empties them, which costs nothing because the next run rebuilds them.
   */
  override createTableAs(relation: string, select: string, opts: { internal?: boolean; scope?: WorkingScope } = {}): string[] {
    const kind = opts.internal ? 'UNLOGGED TABLE' : 'TABLE';
    return [this.dropTable(relation), `CREATE ${kind} ${relation} AS\n${select}`];
  }

  /** json_build_object keeps NULLs and each value's JSON type (numbers stay numbers). */
  jsonObjectText(pairs: ReadonlyArray<readonly [string, string]>): string {
    if (pairs.length === 0) return `'{}'`;
    const build = (chunk: ReadonlyArray<readonly [string, string]>): string =>
      `json_build_object(${chunk.map(([k, v]) => `${this.quoteLiteral(k)}, ${v}`).join(', ')})`;
    if (pairs.length <= JSON_BUILD_OBJECT_MAX_PAIRS) return `${build(pairs)}::text`;
    // More pairs than one call takes: merge the pieces as jsonb (a different but equally stable text form).
    const pieces: string[] = [];
    for (let i = 0; i < pairs.length; i += JSON_BUILD_OBJECT_MAX_PAIRS) pieces.push(`${build(pairs.slice(i, i + JSON_BUILD_OBJECT_MAX_PAIRS))}::jsonb`);
    return `(${pieces.join(' || ')})::text`;
  }

  /** sha256() takes bytea; convert_to fixes the bytes as UTF-8 whatever the database encoding. */
  sha256Hex(expr: string): string {
    return `encode(sha256(convert_to(${expr}, 'UTF8')), 'hex')`;
  }

  regexpMatches(expr: string, pattern: string): string {
    return `(${expr} ~ ${this.quoteLiteral(pattern)})`;
  }

  withinDays(expr: string, days: number): string {
    return `(${expr} >= now() - make_interval(days => ${Math.trunc(days)}))`;
  }

  override lockForWrite(relation: string): string {
    // EXCLUSIVE still lets readers (BI queries) in, but makes a second writer wait.
    return `LOCK TABLE ${relation} IN EXCLUSIVE MODE`;
  }

  /** A heap has no order to prune by: without an index every batch's commit would scan the whole plan. */
  override rangeIndex(relation: string, column: string): string {
    return `CREATE INDEX ON ${relation} (${column})`;
  }

  override analyzeTable(relation: string): string {
    // A table made by CREATE TABLE AS has no statistics until autovacuum gets to it: without
    // them the plan's FULL OUTER JOIN is estimated at a few rows and sort-merges through disk.
    return `ANALYZE ${relation}`;
  }

  override clearTable(relation: string): string {
    // TRUNCATE is transactional here and leaves no dead rows behind (DELETE would bloat the stage table).
    return `TRUNCATE ${relation}`;
  }
}

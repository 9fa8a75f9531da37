import { BaseDialect } from '../base-dialect.js';
import type { WorkingScope } from '../dialect.js';

/**
 * The in-memory database a DuckDB connection attaches for working tables that
 * more than one connection reads. A transaction may write to one database only,
 * so it holds nothing written together with the state tables.
 */
export const DUCKDB_WORK_DATABASE = 'audsync_work';

export class DuckDBDialect extends BaseDialect {
  readonly name = 'duckdb';
  readonly formatterLanguage = 'duckdb' as const;

  /**
   * Working tables never touch the database file, its WAL or its checkpoint,
   * which would double the cost of a membership of millions of rows. A TEMP
   * table is private to its connection; the plan, which the stream reads on a
   * second connection, goes to an in-memory database every connection of the
   * instance sees (attached at open). Both spill to DuckDB's temp directory when
   * memory runs short.
   */
  override workingRelation(_schema: string, name: string, scope: WorkingScope): string {
    return `${scope === 'connection' ? 'temp' : DUCKDB_WORK_DATABASE}.main.${this.quoteIdent(name)}`;
  }
  override createTableAs(relation: string, select: string, opts: { internal?: boolean; scope?: WorkingScope } = {}): string[] {
    return [`CREATE OR REPLACE ${opts.scope === 'connection' ? 'TEMP ' : ''}TABLE ${relation} AS\n${select}`];
  }

  /**
   * DuckDB's own vectorized 64-bit hash, not md5 hex: a fixed 8 bytes per member
   * to write, keep and join, where md5's 32-character text cost an initial load
   * more than writing the fields. A change goes unseen with a chance of about
   * one in 2^64 per changed row. DuckDB does not promise the function across
   * versions, hence the seal.
   */
  override rowHash(jsonText: string): string {
    return `hash(${jsonText})`;
  }
  override get rowHashType(): string {
    return 'UBIGINT';
  }
  override rowHashText(expr: string): string {
    return `CAST(${expr} AS VARCHAR)`;
  }
  override readonly rowHashSeal = `CAST(hash('audsync row hash') AS VARCHAR)`;

  jsonObjectText(pairs: ReadonlyArray<readonly [string, string]>): string {
    if (pairs.length === 0) return `'{}'`;
    // json_object keeps NULLs and the column's JSON type (numbers stay numbers).
    const args = pairs.map(([k, v]) => `${this.quoteLiteral(k)}, ${v}`).join(', ');
    return `CAST(json_object(${args}) AS VARCHAR)`;
  }
  sha256Hex(expr: string): string {
    return `sha256(${expr})`;
  }
  regexpMatches(expr: string, pattern: string): string {
    return `regexp_matches(${expr}, ${this.quoteLiteral(pattern)})`;
  }
  withinDays(expr: string, days: number): string {
    return `(${expr} >= CURRENT_TIMESTAMP - INTERVAL ${Math.trunc(days)} DAY)`;
  }
}

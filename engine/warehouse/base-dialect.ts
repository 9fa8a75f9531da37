import type { IdentifierKind, PrehashedRule } from '../vocabulary/identifier-kinds.js';
import { hashIdentifierSql, normalizeIdentifierSql } from './identifier-sql.js';
import type { Dialect, WorkingScope } from './dialect.js';

/** ANSI-leaning defaults; see duckdb/, postgres/, snowflake/ for overrides. */
export abstract class BaseDialect implements Dialect {
  abstract readonly name: string;
  abstract readonly formatterLanguage: Dialect['formatterLanguage'];
  readonly types = { text: 'VARCHAR', bigint: 'BIGINT', integer: 'INTEGER', double: 'DOUBLE PRECISION', timestamp: 'TIMESTAMPTZ', boolean: 'BOOLEAN' };

  quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
  }
  quoteLiteral(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
  }
  relation(schema: string, name: string): string {
    return `${this.quoteIdent(schema)}.${this.quoteIdent(name)}`;
  }
  createSchema(schema: string): string {
    return `CREATE SCHEMA IF NOT EXISTS ${this.quoteIdent(schema)}`;
  }
  workingRelation(schema: string, name: string, _scope: WorkingScope): string {
    return this.relation(schema, name);
  }
  createTableAs(relation: string, select: string): string[] {
    return [`CREATE OR REPLACE TABLE ${relation} AS\n${select}`];
  }
  dropTable(relation: string): string {
    return `DROP TABLE IF EXISTS ${relation}`;
  }
  abstract jsonObjectText(pairs: ReadonlyArray<readonly [string, string]>): string;
  castText(expr: string): string {
    return `CAST(${expr} AS ${this.types.text})`;
  }
  md5Hex(expr: string): string {
    return `md5(${expr})`;
  }
  /** md5 hex, the same in every warehouse and every version of it. */
  rowHash(jsonText: string): string {
    return this.md5Hex(jsonText);
  }
  get rowHashType(): string {
    return this.types.text;
  }
  rowHashText(expr: string): string {
    return expr;
  }
  readonly rowHashSeal: string | null = null;
  abstract sha256Hex(expr: string): string;
  digitsOnly(expr: string): string {
    return this.regexpReplaceAll(expr, '[^0-9]', '');
  }

  normalizeIdentifier(kind: IdentifierKind, expr: string): string {
    return normalizeIdentifierSql(this, kind, expr);
  }
  hashIdentifier(kind: IdentifierKind, expr: string, prehashed: PrehashedRule = 'passthrough'): string {
    return hashIdentifierSql(this, kind, expr, prehashed);
  }
  regexpReplaceAll(expr: string, pattern: string, replacement: string): string {
    return `regexp_replace(${expr}, ${this.quoteLiteral(pattern)}, ${this.quoteLiteral(replacement)}, 'g')`;
  }
  abstract regexpMatches(expr: string, pattern: string): string;
  currentTimestamp(): string {
    return 'CURRENT_TIMESTAMP';
  }
  epochSeconds(expr: string): string {
    return `CAST(EXTRACT(EPOCH FROM ${expr}) AS DOUBLE PRECISION)`;
  }
  abstract withinDays(expr: string, days: number): string;
  rangeIndex(_relation: string, _column: string): string | null {
    return null;
  }
  isTrue(expr: string): string {
    return `(lower(trim(${this.castText(expr)})) IN ('true', 't', 'yes', 'y', '1'))`;
  }
  lockForWrite(_relation: string): string | null {
    // DuckDB: one writer process per file. Snowflake: DML takes table locks within the transaction.
    return null;
  }
  analyzeTable(_relation: string): string | null {
    return null;
  }
  clearTable(relation: string): string {
    return `DELETE FROM ${relation}`;
  }
  beginTransaction(): string {
    return 'BEGIN TRANSACTION';
  }
  commit(): string {
    return 'COMMIT';
  }
  rollback(): string {
    return 'ROLLBACK';
  }
}

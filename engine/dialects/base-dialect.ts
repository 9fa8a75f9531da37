import type { IdentifierKind } from '../compile/identifier-kinds.js';
import type { Dialect } from './dialect.js';

/** ANSI-leaning defaults; see duckdb/, postgres/, snowflake/ for overrides. */
export abstract class BaseDialect implements Dialect {
  abstract readonly name: string;
  abstract readonly formatterLanguage: Dialect['formatterLanguage'];
  readonly types = { text: 'VARCHAR', bigint: 'BIGINT', integer: 'INTEGER', timestamp: 'TIMESTAMPTZ', boolean: 'BOOLEAN' };

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
  abstract sha256Hex(expr: string): string;
  abstract digitsOnly(expr: string): string;

  normalizeIdentifier(kind: IdentifierKind, expr: string): string {
    const text = this.castText(expr);
    let normalized: string;
    switch (kind) {
      case 'email':
      case 'first_name':
      case 'last_name':
      case 'text':
        normalized = `lower(trim(${text}))`;
        break;
      case 'phone':
        normalized = this.digitsOnly(text);
        break;
      case 'external_id':
        normalized = `trim(${text})`;
        break;
    }
    return `NULLIF(${normalized}, '')`;
  }
  hashIdentifier(kind: IdentifierKind, expr: string): string {
    return this.sha256Hex(this.normalizeIdentifier(kind, expr));
  }
  currentTimestamp(): string {
    return 'CURRENT_TIMESTAMP';
  }
  epochSeconds(expr: string): string {
    return `CAST(EXTRACT(EPOCH FROM ${expr}) AS DOUBLE PRECISION)`;
  }
  abstract withinDays(expr: string, days: number): string;
  isTrue(expr: string): string {
    return `(lower(trim(${this.castText(expr)})) IN ('true', 't', 'yes', 'y', '1'))`;
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

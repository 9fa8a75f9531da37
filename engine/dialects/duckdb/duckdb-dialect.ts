import { BaseDialect } from '../base-dialect.js';

export class DuckDBDialect extends BaseDialect {
  readonly name = 'duckdb';
  readonly formatterLanguage = 'duckdb' as const;

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

import { BaseDialect } from '../base-dialect.js';
import type { WorkingScope } from '../dialect.js';

/**
 * A name Snowflake would store upper-cased if written unquoted: lower-case
 * letters, digits, `_` and `$`, not starting with a digit (Snowflake docs,
 * "Identifier requirements": unquoted identifiers are resolved upper-case).
 */
const PLAIN_LOWER_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

/**
 * Snowflake SQL.
 *
 * Identifier rule (one rule, in quoteIdent, so relation(), createSchema() and
 * {{source}} all follow it): a name written in audsync's lower-case snake
 * style ('audsync', 'sync_runs', 'record_key', a source 'shop'.'orders') means
 * the *unquoted* identifier, so it is written the way Snowflake stores an
 * unquoted identifier: upper-case, quoted. `"AUDSYNC"."SYNC_RUNS"` is exactly
 * what a BI user gets from unquoted `audsync.sync_runs`, and matches the
 * columns plan-sql.ts and state-sql.ts write unquoted (`record_key` folds to
 * RECORD_KEY). Any other name (with upper-case letters, spaces, dashes...) is
 * quoted exactly as given: that is how a model's real column names, as
 * Snowflake reports them ('EMAIL', or a deliberately quoted 'Email'), are
 * referenced. The one name this cannot express is an all-lower-case quoted
 * identifier (a model column aliased `AS "email"`): alias it unquoted instead.
 */
export class SnowflakeDialect extends BaseDialect {
  readonly name = 'snowflake';
  readonly formatterLanguage = 'snowflake' as const;
  override readonly types = {
    text: 'VARCHAR',
    bigint: 'NUMBER(38,0)',
    integer: 'INTEGER',
    double: 'DOUBLE PRECISION',
    timestamp: 'TIMESTAMP_TZ',
    boolean: 'BOOLEAN',
  };

  override quoteIdent(name: string): string {
    const stored = PLAIN_LOWER_IDENTIFIER.test(name) ? name.toUpperCase() : name;
    return `"${stored.replace(/"/g, '""')}"`;
  }

  /** Snowflake treats backslash as an escape character inside '...' literals, so it is doubled too. */
  override quoteLiteral(value: string): string {
    return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  }

  /** Internal tables are TRANSIENT: no fail-safe period, so no fail-safe storage cost for data rebuilt every run. */
  override createTableAs(relation: string, select: string, opts: { internal?: boolean; scope?: WorkingScope } = {}): string[] {
    return [`CREATE OR REPLACE ${opts.internal ? 'TRANSIENT ' : ''}TABLE ${relation} AS\n${select}`];
  }

  jsonObjectText(pairs: ReadonlyArray<readonly [string, string]>): string {
    if (pairs.length === 0) return `'{}'`;
    // KEEP_NULL: a field that is NULL is sent as null, not dropped (OBJECT_CONSTRUCT drops it).
    const args = pairs.map(([k, v]) => `${this.quoteLiteral(k)}, ${v}`).join(', ');
    return `TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL(${args}))`;
  }

  override md5Hex(expr: string): string {
    return `MD5(${expr})`;
  }

  sha256Hex(expr: string): string {
    return `SHA2(${expr}, 256)`;
  }

  /** Snowflake's REGEXP_REPLACE replaces every occurrence by default (occurrence 0); it has no 'g' flag. */
  override regexpReplaceAll(expr: string, pattern: string, replacement: string): string {
    return `REGEXP_REPLACE(${expr}, ${this.quoteLiteral(pattern)}, ${this.quoteLiteral(replacement)})`;
  }

  override digitsOnly(expr: string): string {
    return `REGEXP_REPLACE(${expr}, '[^0-9]', '')`;
  }

  /** REGEXP_LIKE matches the whole string (implicitly anchored), as the interface asks. */
  regexpMatches(expr: string, pattern: string): string {
    return `REGEXP_LIKE(${expr}, ${this.quoteLiteral(pattern)})`;
  }

  override epochSeconds(expr: string): string {
    return `DATE_PART(epoch_second, ${expr})`;
  }

  withinDays(expr: string, days: number): string {
    // Negated as a number, not by prefixing '-': '-' before a negative literal would start a '--' comment.
    return `(${expr} >= DATEADD(day, ${-Math.trunc(days)}, CURRENT_TIMESTAMP()))`;
  }
}

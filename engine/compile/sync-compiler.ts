import type { Dialect } from '../dialects/dialect.js';
import type { NormalizedSync } from '../config/normalized-config.js';

/** Why a model row is not sent; counted in sync_runs.invalid and sync_run_metrics. */
export const INVALID_REASONS = {
  nullKey: 'null key',
  noIdentifier: 'no usable identifier',
} as const;

/**
 * The SELECT that projects a model to what a sync sends: the key as text, the
 * mapped fields as one JSON object text, and why a row cannot be sent (or NULL).
 * Identifier fields are normalized and hashed here, so only hashes leave the
 * warehouse; a row whose identifiers are all empty after normalization is
 * marked invalid rather than sent blank. `columnOf` maps a configured column
 * name to the model's actual column name.
 */
export function compileMembershipSelect(
  dialect: Dialect,
  modelSql: string,
  sync: NormalizedSync,
  columnOf: (name: string) => string = (n) => n,
): string {
  const q = (n: string): string => dialect.quoteIdent(n);
  const col = (name: string): string => `m.${q(columnOf(name))}`;
  // Fields are computed once in the inner SELECT (f_0, f_1, ...), then used by both the JSON and the validity check.
  const inner = sync.fields.map((f, i) => {
    const id = f.identifier;
    const expr = !id ? col(f.column) : id.hash ? dialect.hashIdentifier(id.kind, col(f.column), sync.prehashed) : dialect.normalizeIdentifier(id.kind, col(f.column));
    return `  ${expr} AS ${q(`f_${i}`)}`;
  });
  const json = dialect.jsonObjectText(sync.fields.map((f, i) => [f.name, `p.${q(`f_${i}`)}`] as const));
  const identifiers = sync.fields.map((f, i) => (f.identifier ? `p.${q(`f_${i}`)} IS NULL` : null)).filter((x): x is string => x !== null);
  const noIdentifier = identifiers.length > 0 ? ` WHEN ${identifiers.join(' AND ')} THEN ${dialect.quoteLiteral(INVALID_REASONS.noIdentifier)}` : '';
  return [
    `SELECT p.record_key, ${json} AS fields_json,`,
    `  CASE WHEN p.record_key IS NULL THEN ${dialect.quoteLiteral(INVALID_REASONS.nullKey)}${noIdentifier} END AS invalid_reason`,
    `FROM (`,
    `SELECT ${dialect.castText(col(sync.key))} AS record_key${inner.length ? ',\n' + inner.join(',\n') : ''}`,
    `FROM (\n${modelSql}\n) AS m`,
    `) AS p`,
  ].join('\n');
}

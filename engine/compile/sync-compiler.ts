import type { Dialect } from '../warehouse/dialect.js';
import type { NormalizedSync } from '../config/normalized-config.js';

/** Why a model row is not sent; counted in sync_runs.invalid and sync_run_metrics. */
export const INVALID_REASONS = {
  nullKey: 'null key',
  noIdentifier: 'no usable identifier',
} as const;

/**
 * A sync's model projected to what it sends, in parts the planner combines:
 * `projected` is a SELECT of the key as text (`record_key`) and each mapped
 * field computed once (`f_0`, `f_1`, ...); `fieldsJson` and `invalidReason` are
 * expressions over it, aliased `p`. Identifier fields are normalized and hashed
 * here, so only hashes leave the warehouse; a row whose identifiers are all
 * empty after normalization is marked invalid rather than sent blank.
 */
export interface Membership {
  readonly projected: string;
  /** The mapped fields as one JSON object text, over `p`. */
  readonly fieldsJson: string;
  /** Why a row of `p` cannot be sent, or NULL. */
  readonly invalidReason: string;
}

/** `columnOf` maps a configured column name to the model's actual column name. */
export function compileMembership(dialect: Dialect, modelSql: string, sync: NormalizedSync, columnOf: (name: string) => string = (n) => n): Membership {
  const q = (n: string): string => dialect.quoteIdent(n);
  const col = (name: string): string => `m.${q(columnOf(name))}`;
  const inner = sync.fields.map((f, i) => {
    const id = f.identifier;
    const expr = !id ? col(f.column) : id.hash ? dialect.hashIdentifier(id.kind, col(f.column), sync.prehashed) : dialect.normalizeIdentifier(id.kind, col(f.column));
    return `  ${expr} AS ${q(`f_${i}`)}`;
  });
  const identifiers = sync.fields.map((f, i) => (f.identifier ? `p.${q(`f_${i}`)} IS NULL` : null)).filter((x): x is string => x !== null);
  const noIdentifier = identifiers.length > 0 ? ` WHEN ${identifiers.join(' AND ')} THEN ${dialect.quoteLiteral(INVALID_REASONS.noIdentifier)}` : '';
  return {
    projected: [`SELECT ${dialect.castText(col(sync.key))} AS record_key${inner.length ? ',\n' + inner.join(',\n') : ''}`, `FROM (\n${modelSql}\n) AS m`].join('\n'),
    fieldsJson: dialect.jsonObjectText(sync.fields.map((f, i) => [f.name, `p.${q(`f_${i}`)}`] as const)),
    invalidReason: `CASE WHEN p.record_key IS NULL THEN ${dialect.quoteLiteral(INVALID_REASONS.nullKey)}${noIdentifier} END`,
  };
}

/** The whole projection as one SELECT: record_key, fields_json, invalid_reason (what `audsync compile` writes). */
export function membershipSelectSql(m: Membership): string {
  return [`SELECT p.record_key, ${m.fieldsJson} AS fields_json,`, `  ${m.invalidReason} AS invalid_reason`, `FROM (`, m.projected, `) AS p`].join('\n');
}

export function compileMembershipSelect(dialect: Dialect, modelSql: string, sync: NormalizedSync, columnOf: (name: string) => string = (n) => n): string {
  return membershipSelectSql(compileMembership(dialect, modelSql, sync, columnOf));
}

import type { Dialect } from '../dialects/dialect.js';
import type { MappedField, NormalizedSync } from '../config/normalized-config.js';

/**
 * The SELECT that projects a model to what a sync sends: the key as text and the
 * mapped fields as one JSON object text. Identifier fields are normalized and
 * hashed here, so only hashes leave the warehouse. `columnOf` maps a column
 * named in the config to the model's actual column name.
 */
export function compileMembershipSelect(
  dialect: Dialect,
  modelSql: string,
  sync: NormalizedSync,
  columnOf: (name: string) => string = (n) => n,
): string {
  const col = (name: string): string => `m.${dialect.quoteIdent(columnOf(name))}`;
  const pairs = sync.fields.map((f: MappedField) => [f.name, f.hashAs ? dialect.hashIdentifier(f.hashAs, col(f.column)) : col(f.column)] as const);
  return [
    `SELECT ${dialect.castText(col(sync.key))} AS record_key,`,
    `  ${dialect.jsonObjectText(pairs)} AS fields_json`,
    `FROM (\n${modelSql}\n) AS m`,
  ].join('\n');
}

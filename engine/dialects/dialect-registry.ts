import type { WarehouseType } from '../config/config-types.js';
import { WarehouseError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { DuckDBDialect } from './duckdb/duckdb-dialect.js';
import { PostgresDialect } from './postgres/postgres-dialect.js';
import { SnowflakeDialect } from './snowflake/snowflake-dialect.js';

const DIALECTS: Partial<Record<WarehouseType, () => Dialect>> = {
  duckdb: () => new DuckDBDialect(),
  postgres: () => new PostgresDialect(),
  snowflake: () => new SnowflakeDialect(),
};

/** The dialect for a warehouse type; throws on one audsync has no dialect for. */
export function getDialect(name: WarehouseType): Dialect {
  const make = DIALECTS[name];
  if (!make) {
    throw new WarehouseError(`no SQL dialect for warehouse type "${name}" yet`, {
      hint: `Supported: ${Object.keys(DIALECTS).join(', ')}.`,
    });
  }
  return make();
}

/** Every registered dialect, for tests that loop over them. */
export function allDialectNames(): WarehouseType[] {
  return Object.keys(DIALECTS) as WarehouseType[];
}

import { WarehouseError } from '../errors.js';
import type { WarehouseConnection } from './connection.js';
import type { Dialect } from './dialect.js';
import type { OpenContext, WarehouseKind } from './warehouse-kind.js';
import { duckdbWarehouse } from './duckdb/duckdb-warehouse.js';
import type { DuckDBWarehouseConfig } from './duckdb/duckdb-config.js';
import { postgresWarehouse } from './postgres/postgres-warehouse.js';
import type { PostgresWarehouseConfig } from './postgres/postgres-config.js';
import { snowflakeWarehouse } from './snowflake/snowflake-warehouse.js';
import type { SnowflakeWarehouseConfig } from './snowflake/snowflake-config.js';

/** Every warehouse by its `type`: adding one is a folder beside these and one line here (and in WarehouseConfig). */
const WAREHOUSES = {
  duckdb: duckdbWarehouse,
  postgres: postgresWarehouse,
  snowflake: snowflakeWarehouse,
} as const;

export type WarehouseType = keyof typeof WAREHOUSES;
export type WarehouseConfig = DuckDBWarehouseConfig | PostgresWarehouseConfig | SnowflakeWarehouseConfig;
export const WAREHOUSE_TYPES = Object.keys(WAREHOUSES) as readonly WarehouseType[];

/** The warehouse registered under `type`, or undefined for a name audsync does not know. */
export function warehouseKind(type: unknown): WarehouseKind<WarehouseConfig> | undefined {
  if (typeof type !== 'string' || !Object.hasOwn(WAREHOUSES, type)) return undefined;
  // Each kind takes its own config; the registry's key is that config's `type`, so the widening is safe.
  return WAREHOUSES[type as WarehouseType] as unknown as WarehouseKind<WarehouseConfig>;
}

function kindOf(type: string): WarehouseKind<WarehouseConfig> {
  const kind = warehouseKind(type);
  if (!kind) throw new WarehouseError(`unknown warehouse type "${type}"`, { hint: `Supported: ${WAREHOUSE_TYPES.join(', ')}.` });
  return kind;
}

/** The dialect for a warehouse type; throws on one audsync does not know. */
export function getDialect(name: WarehouseType): Dialect {
  return kindOf(name).dialect();
}

/** Every registered warehouse type, for suites that loop over them (golden SQL, conformance). */
export function allDialectNames(): WarehouseType[] {
  return [...WAREHOUSE_TYPES];
}

/** Opens a connection to the configured warehouse, loading only its own driver. */
export function openConnection(config: WarehouseConfig, ctx: OpenContext): Promise<WarehouseConnection> {
  return kindOf(config.type).open(config, ctx);
}

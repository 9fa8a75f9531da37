import type { WarehouseConnection } from '../../engine/warehouse/connection.js';
import { DuckDBConnection } from '../../engine/warehouse/duckdb-connection.js';

/** A product connection to each available warehouse, for tests that run SQL directly. */
export interface ConnectionFactory {
  readonly name: string;
  open(): Promise<WarehouseConnection>;
}

export async function availableConnections(): Promise<ConnectionFactory[]> {
  return [{ name: 'duckdb', open: () => DuckDBConnection.open(':memory:') }];
}

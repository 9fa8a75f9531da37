import type { WarehouseConnection } from '../../engine/warehouse/connection.js';
import { DuckDBConnection } from '../../engine/warehouse/duckdb/duckdb-connection.js';
import { PostgresConnection } from '../../engine/warehouse/postgres/postgres-connection.js';
import { postgresTestUrl } from './postgres-server.js';

/** A product connection to each available warehouse, for tests that run SQL directly. */
export interface ConnectionFactory {
  readonly name: string;
  open(): Promise<WarehouseConnection>;
}

export async function availableConnections(): Promise<ConnectionFactory[]> {
  const out: ConnectionFactory[] = [{ name: 'duckdb', open: () => DuckDBConnection.open(':memory:') }];
  const url = await postgresTestUrl();
  if (url) out.push({ name: 'postgres', open: () => PostgresConnection.open({ type: 'postgres', connectionString: url }) });
  return out;
}

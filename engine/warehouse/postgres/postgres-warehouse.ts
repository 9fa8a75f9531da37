import type { WarehouseKind } from '../warehouse-kind.js';
import { validatePostgresConfig, type PostgresWarehouseConfig } from './postgres-config.js';
import { PostgresDialect } from './postgres-dialect.js';

export const postgresWarehouse: WarehouseKind<PostgresWarehouseConfig> = {
  type: 'postgres',
  validate: validatePostgresConfig,
  dialect: () => new PostgresDialect(),
  async open(w) {
    // Imported here so DuckDB projects never load pg.
    const { PostgresConnection } = await import('./postgres-connection.js');
    return PostgresConnection.open(w);
  },
};

import type { WarehouseKind } from '../warehouse-kind.js';
import { validateSnowflakeConfig, type SnowflakeWarehouseConfig } from './snowflake-config.js';
import { SnowflakeDialect } from './snowflake-dialect.js';

export const snowflakeWarehouse: WarehouseKind<SnowflakeWarehouseConfig> = {
  type: 'snowflake',
  validate: validateSnowflakeConfig,
  dialect: () => new SnowflakeDialect(),
  async open(w, ctx) {
    // Imported here so other warehouses never load snowflake-sdk (about 1 s).
    const { SnowflakeConnection } = await import('./snowflake-connection.js');
    return SnowflakeConnection.open(w, { stateSchema: ctx.stateSchema, projectDir: ctx.projectDir });
  },
};

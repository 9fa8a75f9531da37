import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../errors.js';
import type { WarehouseKind } from '../warehouse-kind.js';
import { DEFAULT_DUCKDB_PATH, validateDuckDBConfig, type DuckDBWarehouseConfig } from './duckdb-config.js';
import { DuckDBDialect } from './duckdb-dialect.js';

export const duckdbWarehouse: WarehouseKind<DuckDBWarehouseConfig> = {
  type: 'duckdb',
  validate: validateDuckDBConfig,
  dialect: () => new DuckDBDialect(),
  async open(w, ctx) {
    // Imported here so commands that never open DuckDB do not pay for loading its native library.
    const { DuckDBConnection } = await import('./duckdb-connection.js');
    const file = w.path ?? DEFAULT_DUCKDB_PATH;
    if (file === ':memory:') return DuckDBConnection.open(file, w.settings);
    const resolved = path.resolve(ctx.projectDir, file);
    if (!w.createIfMissing && !fs.existsSync(resolved)) {
      throw new ConfigError(`warehouse.path: the DuckDB file ${file} does not exist (${resolved})`, {
        hint: 'Check the path for a typo. To start a new embedded warehouse there, set createIfMissing: true in the warehouse config.',
      });
    }
    return DuckDBConnection.open(resolved, w.settings);
  },
};

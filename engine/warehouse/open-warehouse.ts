import fs from 'node:fs';
import path from 'node:path';
import type { NormalizedConfig } from '../config/normalized-config.js';
import { ConfigError, WarehouseError } from '../errors.js';
import type { WarehouseConnection } from './connection.js';
import { withTimings } from './timed-connection.js';

/** Opens the configured warehouse (timed when AUDSYNC_TIMINGS_FILE is set, for benchmarks). */
export async function openWarehouse(config: NormalizedConfig): Promise<WarehouseConnection> {
  const t0 = performance.now();
  const conn = await openUntimed(config);
  const timings = process.env.AUDSYNC_TIMINGS_FILE;
  return timings ? withTimings(conn, timings, performance.now() - t0) : conn;
}

async function openUntimed(config: NormalizedConfig): Promise<WarehouseConnection> {
  const w = config.warehouse;
  switch (w.type) {
    case 'duckdb': {
      // Imported here so commands that never open DuckDB do not pay for loading its native library.
      const { DuckDBConnection } = await import('./duckdb-connection.js');
      const file = w.path ?? 'warehouse.duckdb';
      if (file === ':memory:') return DuckDBConnection.open(file, w.settings);
      const resolved = path.resolve(config.projectDir, file);
      if (!w.createIfMissing && !fs.existsSync(resolved)) {
        throw new ConfigError(`warehouse.path: the DuckDB file ${file} does not exist (${resolved})`, {
          hint: 'Check the path for a typo. To start a new embedded warehouse there, set createIfMissing: true in the warehouse config.',
        });
      }
      return DuckDBConnection.open(resolved, w.settings);
    }
    case 'postgres': {
      // Imported here so DuckDB projects never load pg.
      const { PostgresConnection } = await import('./postgres-connection.js');
      return PostgresConnection.open(w);
    }
    case 'snowflake': {
      // Imported here so other warehouses never load snowflake-sdk (about 1 s).
      const { SnowflakeConnection } = await import('./snowflake-connection.js');
      return SnowflakeConnection.open(w, { stateSchema: config.stateSchema, projectDir: config.projectDir });
    }
    default:
      throw new WarehouseError(`unknown warehouse type "${(w as { type: string }).type}"`, {
        hint: "Use { type: 'duckdb' }, { type: 'postgres' } or { type: 'snowflake' }.",
      });
  }
}

import path from 'node:path';
import type { NormalizedConfig } from '../config/normalized-config.js';
import { WarehouseError } from '../errors.js';
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
      return DuckDBConnection.open(file === ':memory:' ? file : path.resolve(config.projectDir, file));
    }
    default:
      throw new WarehouseError(`warehouse type "${w.type}" is not available in this build yet`, {
        hint: "Use { type: 'duckdb' } for now.",
      });
  }
}

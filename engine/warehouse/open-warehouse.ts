import type { WarehouseConnection } from './connection.js';
import { withTimings } from './timed-connection.js';
import type { OpenContext } from './warehouse-kind.js';
import { openConnection, type WarehouseConfig } from './warehouse-registry.js';

/** What opening the warehouse needs of a project's config (a NormalizedConfig has it). */
export interface WarehouseTarget extends OpenContext {
  readonly warehouse: WarehouseConfig;
}

/** Opens the configured warehouse (timed when AUDSYNC_TIMINGS_FILE is set, for benchmarks). */
export async function openWarehouse(config: WarehouseTarget): Promise<WarehouseConnection> {
  const t0 = performance.now();
  const conn = await openConnection(config.warehouse, { projectDir: config.projectDir, stateSchema: config.stateSchema });
  const timings = process.env.AUDSYNC_TIMINGS_FILE;
  return timings ? withTimings(conn, timings, performance.now() - t0) : conn;
}

import type { Secret } from '../../vocabulary/env-ref.js';
import type { ReportProblem } from '../warehouse-kind.js';

export interface PostgresWarehouseConfig {
  type: 'postgres';
  connectionString?: Secret;
  host?: string;
  port?: number;
  user?: string;
  password?: Secret;
  database?: string;
  ssl?: boolean | 'require' | 'no-verify';
}

export function validatePostgresConfig(w: Readonly<Record<string, unknown>>, problem: ReportProblem): PostgresWarehouseConfig {
  if (w.connectionString === undefined && w.host === undefined) {
    problem('warehouse', "postgres needs connectionString (e.g. env('AUDSYNC_PG_URL')) or host/user/database");
  }
  return w as unknown as PostgresWarehouseConfig;
}

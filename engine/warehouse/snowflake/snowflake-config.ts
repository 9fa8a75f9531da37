import type { Secret } from '../../vocabulary/env-ref.js';
import type { ReportProblem } from '../warehouse-kind.js';

export interface SnowflakeWarehouseConfig {
  type: 'snowflake';
  account: string;
  username: string;
  password?: Secret;
  privateKeyPath?: string;
  privateKey?: Secret;
  privateKeyPassphrase?: Secret;
  warehouse?: string;
  database: string;
  schema?: string;
  role?: string;
  /** Seconds after which a run lock whose holder stopped heartbeating is taken over. */
  lockTimeoutSeconds?: number;
}

export function validateSnowflakeConfig(w: Readonly<Record<string, unknown>>, problem: ReportProblem): SnowflakeWarehouseConfig {
  for (const k of ['account', 'username', 'database']) {
    if (typeof w[k] !== 'string' || w[k] === '') problem(`warehouse.${k}`, 'is required for snowflake');
  }
  if (w.password === undefined && w.privateKey === undefined && w.privateKeyPath === undefined) {
    problem('warehouse', 'snowflake needs password, privateKey or privateKeyPath');
  }
  return w as unknown as SnowflakeWarehouseConfig;
}

import { isConfigRecord, refuseUnknownKeys, type ReportProblem } from '../warehouse-kind.js';

export interface DuckDBWarehouseConfig {
  type: 'duckdb';
  /** File of the embedded database, relative to the config file; ':memory:' for none. Default 'warehouse.duckdb'. */
  path?: string;
  /**
   * DuckDB settings applied when the database opens (`SET GLOBAL name = value`),
   * e.g. { memory_limit: '4GB', threads: 4, temp_directory: '/fast/disk/tmp' }.
   */
  settings?: Record<string, string | number | boolean>;
  /**
   * Create the database file (and its directory) when it does not exist. Off by
   * default: a mistyped path must not quietly become a new, empty warehouse.
   */
  createIfMissing?: boolean;
}

export const DEFAULT_DUCKDB_PATH = 'warehouse.duckdb';

export function validateDuckDBConfig(w: Readonly<Record<string, unknown>>, problem: ReportProblem): DuckDBWarehouseConfig {
  refuseUnknownKeys(w, ['path', 'settings', 'createIfMissing'], problem);
  if (w.path !== undefined && typeof w.path !== 'string') problem('warehouse.path', 'must be a file path string');
  if (w.createIfMissing !== undefined && typeof w.createIfMissing !== 'boolean') problem('warehouse.createIfMissing', 'must be true or false');
  const settings = Object.create(null) as Record<string, string | number | boolean>;
  if (w.settings !== undefined) {
    if (!isConfigRecord(w.settings)) problem('warehouse.settings', "must be an object of DuckDB settings, e.g. { memory_limit: '4GB', threads: 4 }");
    else
      for (const [k, v] of Object.entries(w.settings)) {
        // The name is written into SQL unquoted (SET GLOBAL name = ...), so only setting-name characters.
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) problem(`warehouse.settings.${k}`, 'is not a DuckDB setting name (letters, digits, underscores)');
        else if (k.toLowerCase() === 'timezone') problem(`warehouse.settings.${k}`, 'audsync sends timestamps in UTC; convert them in the model instead');
        else if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) settings[k] = v;
        else problem(`warehouse.settings.${k}`, 'must be a string, number or boolean');
      }
  }
  return {
    type: 'duckdb',
    path: (w.path as string | undefined) ?? DEFAULT_DUCKDB_PATH,
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
    ...(w.createIfMissing === true ? { createIfMissing: true } : {}),
  };
}

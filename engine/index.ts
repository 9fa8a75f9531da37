/** The public API of the `audsync` package: what a config file and a custom destination import. */
export { defineConfig } from './config/define-config.js';
export { env, type EnvRef, type Secret } from './vocabulary/env-ref.js';
export type {
  AudsyncConfig,
  SyncConfig,
  SyncMode,
  WarehouseConfig,
  DuckDBWarehouseConfig,
  PostgresWarehouseConfig,
  SnowflakeWarehouseConfig,
  CommonDestinationOptions,
  GuardrailConfig,
} from './config/config-types.js';
// Everything a destination is written with; the kit itself (HTTP helpers, throttle) is 'audsync/destination'.
export { defineDestination } from './destination/destination-api.js';
export type * from './destination/destination-api.js';
export { AudsyncError, ConfigError, CompileError, WarehouseError, DestinationError, LockError, DataError } from './errors.js';

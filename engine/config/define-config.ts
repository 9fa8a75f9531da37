import type { AudsyncConfig } from './config-types.js';

/** Identity function that gives `audsync.config.ts` type checking and completion. */
export function defineConfig(config: AudsyncConfig): AudsyncConfig {
  return config;
}

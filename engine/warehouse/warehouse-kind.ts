import { isEnvRef } from '../vocabulary/env-ref.js';
import type { WarehouseConnection } from './connection.js';
import type { Dialect } from './dialect.js';

/** Where a warehouse's validator reports a mistake: the full config path, and what is wrong there. */
export type ReportProblem = (at: string, message: string) => void;

/** What a connection is opened with besides the warehouse's own config. */
export interface OpenContext {
  /** The config file's folder: relative paths (a DuckDB file, a private key) resolve from here. */
  readonly projectDir: string;
  readonly stateSchema: string;
}

/**
 * Everything one warehouse is, as `warehouse-registry.ts` binds it to its
 * `type`: how its config section is checked, its dialect (pure SQL text), and its
 * connection, whose driver is imported only when a run opens it.
 */
export interface WarehouseKind<C extends { readonly type: string }> {
  readonly type: C['type'];
  /** The `warehouse` section as written (its `type` already matched): problems by path; the config with defaults, or undefined. */
  validate(raw: Readonly<Record<string, unknown>>, problem: ReportProblem): C | undefined;
  dialect(): Dialect;
  open(config: C, ctx: OpenContext): Promise<WarehouseConnection>;
}

/** A plain object of the config (not an array, not an `env()` reference). */
export function isConfigRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isEnvRef(v);
}

/** Reports every key of `raw` a warehouse does not know. */
export function refuseUnknownKeys(raw: Readonly<Record<string, unknown>>, known: readonly string[], problem: ReportProblem): void {
  for (const k of Object.keys(raw)) {
    if (k !== 'type' && !known.includes(k)) problem(`warehouse.${k}`, `unknown option for ${String(raw.type)} (${known.join(', ')})`);
  }
}

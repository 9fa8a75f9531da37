import type { Secret } from '../vocabulary/env-ref.js';
import type { DestinationDefinition } from '../destination/destination-api.js';

import type { SyncMode } from '../vocabulary/sync-modes.js';

export { SYNC_MODES, type SyncMode } from '../vocabulary/sync-modes.js';

// Each warehouse's config type lives in its folder under engine/warehouse/; the public names stay here.
export type { DuckDBWarehouseConfig } from '../warehouse/duckdb/duckdb-config.js';
export type { PostgresWarehouseConfig } from '../warehouse/postgres/postgres-config.js';
export type { SnowflakeWarehouseConfig } from '../warehouse/snowflake/snowflake-config.js';
export { WAREHOUSE_TYPES, type WarehouseType, type WarehouseConfig } from '../warehouse/warehouse-registry.js';
import type { WarehouseConfig } from '../warehouse/warehouse-registry.js';

/** Options every destination accepts, beside its own. */
export interface CommonDestinationOptions {
  /** A built-in destination's name, or your own `defineDestination({...})`. */
  type: string | DestinationDefinition<never>;
  /** Operations per request; at most the destination's documented maximum. */
  batchSize?: number;
  /** Batches in flight at once. */
  concurrency?: number;
  /** Requests per second. */
  rateLimit?: number;
  /** Attempts per batch before its rows are marked failed (retried next run). Default 8. */
  maxAttempts?: number;
  /** First retry delay in ms; doubles each attempt, with jitter. Default 500. */
  retryBaseDelayMs?: number;
  /** Per-request timeout in ms. Default 30000. */
  timeoutMs?: number;
  /** Bytes of a response body read at most; past it the request fails (and is retried). Default 4 MiB. */
  maxResponseBytes?: number;
  /** Replaces the vendor's scheme and host (and optional path prefix). */
  baseUrl?: string;
  [option: string]: unknown;
}

export interface GuardrailConfig {
  /**
   * Abort when a run would remove more than this percent of the snapshot. Default 50; 100 disables.
   * In remove mode: of what the sync has removed so far plus this run's removes (a first run is 100%); no default there.
   */
  maxRemovePercent?: number;
  /** Abort when a run would remove more than this many members, in any mode. */
  maxRemove?: number;
  /** Abort when a run would add more than this percent of the snapshot (ignored on a first load). */
  maxAddPercent?: number;
  /** Abort when the audience has fewer members than this. */
  minMembers?: number;
  /** The run is `failed` (exit 1) when more than this percent of its planned rows failed after retries. Default 50. */
  maxFailedPercent?: number;
  /** The run is `failed` (exit 1) when the destination rejected more than this percent of its planned rows. Default 50. */
  maxRejectedPercent?: number;
  /**
   * Rows the destination rejected for the same reason on this many consecutive
   * runs are quarantined: not sent again until their fields change or
   * `audsync retry` releases them. Default 3; 0 turns quarantine off.
   */
  quarantineAfterRuns?: number;
}

export interface SyncConfig {
  /** Model name: models/<model>.sql */
  model: string;
  destination: string;
  /** The model column that identifies a member. */
  key: string;
  mode?: SyncMode;
  /** destination field <- model column */
  fields?: Record<string, string>;
  /** Destination-specific: audienceId, listId, object... */
  target?: Record<string, unknown>;
  /** Cron expression (5 fields, UTC) used by `audsync run --due`. */
  schedule?: string;
  /**
   * Skip this sync in every command until unpaused; its state is kept. `true`,
   * or the reason as text (shown by run, plan and status).
   */
  paused?: boolean | string;
  guardrails?: GuardrailConfig;
  /** Alert triggers of this sync (over the project-wide `alerts.on`, field by field) and the channels to use (default all); `false` silences it. */
  alerts?: false | { on?: AlertTriggerConfig; channels?: string[] };
  /**
   * Extra fields to normalize and SHA-256 hash in the warehouse, by identifier kind
   * (`{ email: 'email' }`), beside those the destination declares itself.
   */
  hash?: Record<string, string>;
  /**
   * Identifier values that already are 64-hex SHA-256 hashes: 'passthrough'
   * (default: sent as they are, never hashed twice) or 'reject' (dropped; a row
   * left with no identifier is excluded and counted invalid).
   */
  prehashed?: 'passthrough' | 'reject';
}

/** When to alert. Checked after every `run` (and, for `noSuccessFor`, by `audsync status --check`). */
export interface AlertTriggerConfig {
  /** A run ended `failed` or `aborted`. Default true. */
  failed?: boolean;
  /** Rejected plus failed rows were more than this percent of the run's planned rows. */
  rejectedPercent?: number;
  /** The audience changed by more than this percent since the last successful run. */
  sizeChangePercent?: number;
  /** No successful run for this long (`26h`, `90m`, `2d`); alerted once per stale period. */
  noSuccessFor?: string;
  /** A success after an alert fired for the sync (PagerDuty: resolves the incident). Default true. */
  recovery?: boolean;
}

export type AlertChannelConfig =
  /** A Slack incoming-webhook URL, normally `env('SLACK_WEBHOOK_URL')` (the URL is the secret). */
  | { type: 'slack'; url: Secret }
  /** Signed JSON (Standard Webhooks, as the webhook destination). */
  | { type: 'webhook'; url: Secret; secret: Secret }
  /** PagerDuty Events API v2: one incident per sync (dedup key `audsync/<sync>`), resolved on recovery. */
  | { type: 'pagerduty'; routingKey: Secret; url?: string };

export interface AlertsConfig {
  channels: Record<string, AlertChannelConfig>;
  /** Project-wide triggers; a sync's `alerts.on` overrides them field by field. */
  on?: AlertTriggerConfig;
}

export interface AudsyncConfig {
  warehouse: WarehouseConfig;
  /** Schema of audsync's own tables. Default 'audsync'. */
  stateSchema?: string;
  /** Values for {{var 'name'}} in models. */
  vars?: Record<string, string | number | boolean>;
  destinations: Record<string, CommonDestinationOptions>;
  syncs: Record<string, SyncConfig>;
  /** Where to tell people when a sync fails, goes stale or recovers. */
  alerts?: AlertsConfig;
}

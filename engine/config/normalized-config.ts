import type { WarehouseConfig, SyncMode } from './config-types.js';
import type { Secret } from '../vocabulary/env-ref.js';
import type { CronSchedule } from './cron-schedule.js';
import type { IdentifierKind, PrehashedRule } from '../vocabulary/identifier-kinds.js';
import type { DestinationDefinition } from '../destination/destination-api.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../destination/http-client.js';

/** The config after validation: every default filled in, every name checked. */
export interface NormalizedConfig {
  /** Absolute path of the config file. */
  readonly path: string;
  /** Directory of the config file: models/, macros/ and target/ live here. */
  readonly projectDir: string;
  readonly warehouse: WarehouseConfig;
  readonly stateSchema: string;
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  readonly destinations: Readonly<Record<string, NormalizedDestination>>;
  readonly syncs: Readonly<Record<string, NormalizedSync>>;
  /** Alert channels by name; empty when the config has no `alerts`. */
  readonly alertChannels: Readonly<Record<string, AlertChannel>>;
}

export type AlertChannel =
  | { readonly name: string; readonly type: 'slack'; readonly url: Secret }
  | { readonly name: string; readonly type: 'webhook'; readonly url: Secret; readonly secret: Secret }
  | { readonly name: string; readonly type: 'pagerduty'; readonly routingKey: Secret; readonly url: string };

export interface AlertTriggers {
  readonly failed: boolean;
  readonly rejectedPercent: number | undefined;
  readonly sizeChangePercent: number | undefined;
  readonly noSuccessForMs: number | undefined;
  readonly recovery: boolean;
}

/** A sync's alerting: its triggers (project-wide merged with its own) and the channels they go to. */
export interface SyncAlerts {
  readonly triggers: AlertTriggers;
  readonly channels: readonly string[];
}

export interface NormalizedDestination {
  readonly name: string;
  readonly definition: DestinationDefinition<unknown>;
  /** The destination's own options as written (secrets unresolved). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Requests per second, or null for no limit. */
  readonly rateLimit: number | null;
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly timeoutMs: number;
  /** Bytes of one response body read at most; a longer answer fails the request. */
  readonly maxResponseBytes: number;
  readonly baseUrl: string | undefined;
}

export interface MappedField {
  /** Name at the destination. */
  readonly name: string;
  /** Column of the model. */
  readonly column: string;
  /** Set when the field is an identifier, normalized (and usually hashed) in the warehouse. */
  readonly identifier: { readonly kind: IdentifierKind; readonly hash: boolean } | undefined;
}

export interface NormalizedSync {
  readonly name: string;
  readonly model: string;
  readonly destination: string;
  readonly key: string;
  readonly mode: SyncMode;
  readonly fields: readonly MappedField[];
  readonly target: Readonly<Record<string, unknown>>;
  readonly schedule: CronSchedule | undefined;
  /** Undefined when the project has no alert channels or the sync says `alerts: false`. */
  readonly alerts: SyncAlerts | undefined;
  /** Why the sync is paused (`paused` in the config), or undefined when it runs. */
  readonly paused: string | undefined;
  /** What to do with identifier values that are already 64-hex SHA-256 hashes. */
  readonly prehashed: PrehashedRule;
  readonly guardrails: {
    readonly maxRemovePercent: number;
    /** At most this many removes in one run, in every mode. */
    readonly maxRemove: number | undefined;
    readonly maxAddPercent: number | undefined;
    readonly minMembers: number | undefined;
    /** A run that failed (transiently) on more than this percent of its planned rows is `failed`, not `warning`. */
    readonly maxFailedPercent: number;
    /** A run whose destination rejected more than this percent of its planned rows is `failed`. */
    readonly maxRejectedPercent: number;
    /** Rows rejected for the same reason on this many consecutive runs are quarantined; 0 never quarantines. */
    readonly quarantineAfterRuns: number;
  };
}

export const DEFAULTS = {
  stateSchema: 'audsync',
  mode: 'mirror' as SyncMode,
  /** An emptied upstream table would remove 100%: this stops it with room for ordinary churn. */
  maxRemovePercent: 50,
  /** Past half of the plan undelivered, a run is a failure, not a partial success. */
  maxFailedPercent: 50,
  maxRejectedPercent: 50,
  quarantineAfterRuns: 3,
  maxAttempts: 8,
  retryBaseDelayMs: 500,
  timeoutMs: 30_000,
  maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
  concurrency: 4,
} as const;

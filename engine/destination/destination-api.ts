import type { SyncMode } from '../vocabulary/sync-modes.js';
import type { IdentifierKind } from '../vocabulary/identifier-kinds.js';

/** A JSON value as a destination receives it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Describes one option of a destination or of a sync's `target`, for validation and docs. */
export interface OptionSpec {
  type: 'string' | 'secret' | 'url' | 'number' | 'boolean' | 'enum' | 'object' | 'array';
  required?: boolean;
  values?: readonly string[];
  description: string;
}

/** Whether a destination field holds an identifier and how the warehouse normalizes and hashes it. */
export interface IdentifierSpec {
  kind: IdentifierKind;
  /** Hash after normalizing (default true); false for ids sent as they are (MADID, EXTERN_ID). */
  hash?: boolean;
}

export type { Op } from '../vocabulary/sync-modes.js';
import type { Op } from '../vocabulary/sync-modes.js';

/** One delta row. `fields` for a remove are the values last sent. */
export interface Operation {
  readonly op: Op;
  readonly key: string;
  /** The mapped fields as exact JSON text from the warehouse (big integers intact). */
  readonly fieldsJson: string;
  /** The same, parsed; integers beyond 2^53 arrive as strings. */
  readonly fields: Readonly<Record<string, JsonValue>>;
  /** The destination's id for this record, as returned when it was last sent. */
  readonly destinationRecordId: string | null;
  /**
   * For a record the destination already has (a change, or an add re-sent by a
   * full refresh): the fields last sent (exact JSON text), so a destination
   * keyed by identifiers can remove the old ones. Null otherwise.
   */
  readonly previousFieldsJson: string | null;
  /** The same, parsed; null when previousFieldsJson is. */
  readonly previousFields: Readonly<Record<string, JsonValue>> | null;
}

export interface Batch {
  /** Stable across retries of this batch, so receivers can de-duplicate. */
  readonly id: string;
  readonly operations: readonly Operation[];
  /** 1-based attempt number. */
  readonly attempt: number;
  /** 1-based position of this batch in the run. */
  readonly seq: number;
  /** True for the run's final batch (when every planned row fits the batches sent so far and this one). */
  readonly isLast: boolean;
}

/** What happened to one operation; results are matched to operations by position. */
export type RowResult =
  | { status: 'succeeded'; id?: string | null }
  | { status: 'rejected'; code?: string; message: string }
  /** Not confirmed (e.g. silently dropped by the API): retried next run. */
  | { status: 'failed'; code?: string; message: string };

export interface DestinationContext<Options> {
  /** The destination's name in the config. */
  readonly name: string;
  /** The destination's own options, secrets resolved. */
  readonly options: Options;
  readonly sync: { readonly name: string; readonly key: string; readonly fields: readonly string[]; readonly mode: SyncMode };
  readonly target: Readonly<Record<string, unknown>>;
  readonly runId: string;
  readonly baseUrl: string | undefined;
  readonly timeoutMs: number;
  /** This run re-sends every member (`--full-refresh`); a destination may use a replace API. */
  readonly fullRefresh: boolean;
  /** Rows planned for this run. */
  readonly plannedTotal: number;
  /**
   * Records an asynchronous job the destination started (e.g. an upload that
   * completes in hours), committed with the batch that started it. Its final
   * state is fetched later through `refreshJobs`. Rows that succeeded with the
   * job's id as their `id` are sent again if the job is later reported failed.
   */
  recordJob(jobId: string, detail: JsonValue): void;
  /** Adds to a run metric (e.g. what the platform reports: received, invalid); summed over the run and written to sync_run_metrics. */
  recordMetric(name: string, value: number): void;
  /**
   * Waits for a turn under the destination's `rateLimit` (requests per second,
   * shared by every batch of the run). A destination that declares
   * `throttlesRequests` calls it before each request that counts against the
   * vendor's limit; for the others the engine takes one turn per batch attempt.
   */
  throttle(): Promise<void>;
  /**
   * Registers a secret the destination obtained at run time (an access token it
   * minted), so it is redacted like the configured secrets from everything audsync
   * writes: logs, JSON events, errors and warehouse tables.
   */
  registerSecret(value: string): void;
  /** Directory of the config file; relative paths in options resolve from here. */
  readonly projectDir: string;
}

export interface DestinationClient {
  /**
   * Sends one batch. Returns one result per operation, in order. Throws a
   * DestinationError: retryable for transient trouble (the whole batch is tried
   * again), not retryable when the sync cannot go on (bad credentials).
   */
  sendBatch(batch: Batch): Promise<RowResult[]>;
  close?(): Promise<void>;
}

export interface DestinationDefinition<Options = Record<string, unknown>> {
  type: string;
  description: string;
  /** Options of the destination beside the common ones (batchSize, concurrency, ...). */
  options: Record<string, OptionSpec>;
  /** Options a sync gives in `target`. */
  target?: Record<string, OptionSpec>;
  /** Destination fields that are identifiers, hashed in the warehouse. */
  identifiers?: Record<string, IdentifierSpec>;
  batchSize: { default: number; max: number };
  /**
   * Default requests per second; undefined means no limit. A function picks it from
   * the destination's options as written in the config (env() not resolved), for a
   * destination whose vendor limit depends on them (e.g. which API it speaks).
   */
  rateLimit?: number | ((options: Readonly<Record<string, unknown>>) => number | undefined);
  /**
   * The destination calls `ctx.throttle()` before each request that counts against
   * the vendor's rate limit, so `rateLimit` counts those requests, however many a
   * batch makes. Without it the engine spends one turn per batch attempt, which is
   * right for one request per batch.
   */
  throttlesRequests?: boolean;
  /** Default batches in flight. */
  concurrency?: number;
  /** Modes this destination can carry out; default all. */
  modes?: readonly SyncMode[];
  /**
   * Modes in which a full refresh replaces what the destination holds (empties it,
   * or swaps it when a session completes). Such a full refresh that stops after
   * sending something leaves the destination out of step with the snapshot, so the
   * sync's next run resumes it as a full refresh.
   */
  replacesOnFullRefresh?: readonly SyncMode[];
  /**
   * Checks what the generic option specs cannot (combinations of options, a target's
   * nested structure), at load, so `compile` and `plan` already report it. Returns
   * one problem per mistake, each naming its full path; env() values are not resolved here.
   */
  validate?(input: ValidationInput): readonly ValidationProblem[];
  connect(ctx: DestinationContext<Options>): DestinationClient | Promise<DestinationClient>;
  /**
   * Fetches the state of jobs recorded by earlier runs that are still pending.
   * Called before each run of a sync and by `audsync status --refresh`; returns
   * an update per job whose state is known (omit the ones still running).
   */
  refreshJobs?(ctx: DestinationContext<Options>, jobs: readonly PendingJob[]): Promise<JobUpdate[]>;
}

/** What a destination's `validate` sees of one sync using it, as written in the config. */
export interface ValidationInput {
  /** The destination's own options (beside the common ones); env() references unresolved. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The destination's common options as written (batchSize, concurrency, rateLimit, ...). */
  readonly common: Readonly<Record<string, unknown>>;
  readonly target: Readonly<Record<string, unknown>>;
  /** Mapped destination field names. */
  readonly fields: readonly string[];
  readonly mode: SyncMode;
  /** Config paths of the destination (`destinations.<name>`) and of the sync (`syncs.<name>`). */
  readonly at: { readonly destination: string; readonly sync: string };
}

export interface ValidationProblem {
  /** Full config path, e.g. `syncs.vip.target.destinations[1].accountId`. */
  readonly path: string;
  readonly message: string;
}

export interface PendingJob {
  readonly jobId: string;
  readonly runId: string;
  readonly detail: JsonValue;
}

export interface JobUpdate {
  readonly jobId: string;
  readonly status: 'pending' | 'succeeded' | 'failed';
  /** What the destination reported (e.g. match-rate range, failure reason). */
  readonly detail: JsonValue;
}

/** Declares a destination; an identity function that gives type inference. */
export function defineDestination<Options>(definition: DestinationDefinition<Options>): DestinationDefinition<Options> {
  return definition;
}

/**
 * The destination types a host (the CLI) offers a config, each loaded only when
 * a config names it: the engine itself knows none.
 */
export interface DestinationCatalog {
  readonly types: readonly string[];
  load(types: Iterable<string>): Promise<Readonly<Record<string, DestinationDefinition<unknown>>>>;
}

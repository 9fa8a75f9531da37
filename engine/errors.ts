/**
 * One root error class. Each subclass says whose mistake it is, so the CLI can
 * print a user's mistake as a message plus hint (no stack) and a bug with its stack.
 */
export type Culprit = 'user' | 'warehouse' | 'destination' | 'audsync';

export interface ErrorDetails {
  hint?: string;
  cause?: unknown;
}

export class AudsyncError extends Error {
  readonly hint: string | undefined;
  /** Who has to act: the user (config, models), an external system, or us (a bug). */
  readonly culprit: Culprit = 'audsync';
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
  }
}

/** A mistake in audsync.config.ts or the CLI flags. */
export class ConfigError extends AudsyncError {
  override readonly culprit = 'user';
}

/** A mistake in a model or macro: template syntax, unknown ref, SQL error. */
export class CompileError extends AudsyncError {
  override readonly culprit = 'user';
}

/** The warehouse refused or failed a statement audsync wrote itself. */
export class WarehouseError extends AudsyncError {
  override readonly culprit = 'warehouse';
  /** The statement that failed, when there was one. */
  readonly sql: string | undefined;
  constructor(message: string, details: ErrorDetails & { sql?: string } = {}) {
    super(message, details);
    this.sql = details.sql;
  }
}

/** The warehouse ran out of memory or temporary disk: the statement was fine, the machine's limits were not. */
export class WarehouseResourceError extends WarehouseError {}

/** Data in the audience breaks a rule (duplicate keys): the model's author must act. */
export class DataError extends AudsyncError {
  override readonly culprit = 'user';
}

/** A destination failed. `retryable` says whether trying the same batch again may succeed. */
export class DestinationError extends AudsyncError {
  override readonly culprit = 'destination';
  readonly retryable: boolean;
  /** Milliseconds the destination asked us to wait (Retry-After), when it said. */
  readonly retryAfterMs: number | undefined;
  readonly code: string | undefined;
  constructor(message: string, opts: ErrorDetails & { retryable: boolean; retryAfterMs?: number; code?: string }) {
    super(message, opts);
    this.retryable = opts.retryable;
    this.retryAfterMs = opts.retryAfterMs;
    this.code = opts.code;
  }
}

/** Another run holds the sync (or the warehouse file). */
export class LockError extends AudsyncError {
  override readonly culprit = 'user';
}

export function isUserMistake(err: unknown): err is AudsyncError {
  return err instanceof AudsyncError && err.culprit !== 'audsync';
}

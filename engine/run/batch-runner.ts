import { setTimeout as sleep } from 'node:timers/promises';
import { DestinationError } from '../errors.js';
import type { Batch, DestinationClient, Op, RowResult } from '../destination/destination-api.js';
import { PlanOperation } from './plan-operation.js';
import { retryDelayMs } from './retry-policy.js';
import type { Row } from '../warehouse/connection.js';
import { rangesOf, subtractRanges, type RowRange } from '../plan/row-ranges.js';

/** The outcome of one operation, ready to be committed. */
export interface RowOutcome {
  readonly operation: PlanOperation;
  readonly status: 'succeeded' | 'rejected' | 'failed';
  readonly destinationRecordId: string | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly attemptedAt: string;
}

export interface Progress {
  readonly planned: number;
  readonly done: number;
  readonly succeeded: Readonly<Record<Op, number>>;
  readonly rejected: number;
  readonly failed: number;
  readonly startedAt: number;
}

/** A batch as the warehouse sees it: which plan rows it holds. */
export interface BatchRef {
  readonly id: string;
  readonly ranges: readonly RowRange[];
}

export interface BatchRunnerOptions {
  readonly runId: string;
  /** The sync's name: batch ids carry it, since the syncs of one invocation share its run id. */
  readonly sync: string;
  readonly client: DestinationClient;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Waits for a turn under the rate limit before each batch attempt; absent when the destination throttles its own requests. */
  readonly throttleBatch?: () => Promise<void>;
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly planned: number;
  /** Makes a secret-free message out of anything a destination said. */
  readonly redact: (s: string) => string;
  /** Makes the batch's intent durable before it is sent (the write-ahead log). */
  readonly logIntent: (batch: BatchRef) => Promise<void>;
  /** Commits one batch's outcomes (changelog + snapshot) in one transaction. */
  readonly commit: (batch: BatchRef, outcomes: readonly RowOutcome[]) => Promise<void>;
  readonly onProgress?: (p: Progress) => void;
  readonly onRetry?: (info: { batchId: string; attempt: number; delayMs: number; reason: string }) => void;
  /** Stops dispatching new batches; in-flight ones finish and commit. */
  readonly signal?: AbortSignal;
}

export interface RunnerResult {
  readonly progress: Progress;
  /** Set when the sync had to stop: a fatal destination error, a failed commit, or the plan stream broke. */
  readonly fatal: Error | undefined;
  readonly interrupted: boolean;
  /** Rows whose intent was logged and that were sent (not refused whole): the rest were never applied. */
  readonly dispatched: readonly RowRange[];
}

/**
 * Streams plan rows into batches, sends them with bounded concurrency and a rate
 * limit (per batch attempt, or the destination's own per request), retries
 * transient failures, and commits each batch's outcome. Every warehouse write
 * (intents and commits) goes through one queue: one connection, one
 * transaction at a time. Whatever stops the run, every batch in flight is
 * drained before this returns: its outcome committed, or left uncertain in the
 * log for the next run; nothing commits after the caller has finished the run.
 * Memory stays bounded: at most `concurrency` batches plus one chunk are held.
 */
export async function runBatches(rows: AsyncIterable<Row[]>, o: BatchRunnerOptions): Promise<RunnerResult> {
  const succeeded: Record<Op, number> = { add: 0, change: 0, remove: 0 };
  let done = 0;
  let rejected = 0;
  let failed = 0;
  let fatal: Error | undefined;
  let batchNo = 0;
  const startedAt = Date.now();
  const inFlight = new Set<Promise<void>>();
  const dispatchedRanges: RowRange[] = [];
  // Batches refused whole, or never attempted because the sync stopped: certainly not applied.
  const refusedRanges: RowRange[] = [];
  let warehouseQueue: Promise<unknown> = Promise.resolve();
  // One warehouse write at a time, in order: an intent never lands inside another batch's commit transaction.
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = warehouseQueue.then(fn);
    warehouseQueue = next.catch(() => undefined);
    return next;
  };

  const progress = (): Progress => ({ planned: o.planned, done, succeeded: { ...succeeded }, rejected, failed, startedAt });

  let dispatched = 0;
  /** The batch's outcomes, or null when the sync stopped before its first attempt (nothing was sent). */
  const sendWithRetry = async (ops: PlanOperation[], id: string, seq: number, isLast: boolean): Promise<RowOutcome[] | null> => {
    let lastReason = '';
    let interruptedWait = false;
    for (let attempt = 1; attempt <= o.maxAttempts; attempt++) {
      if (fatal) {
        if (attempt === 1) return null;
        break;
      }
      await o.throttleBatch?.();
      const at = new Date().toISOString();
      try {
        const batch: Batch = { id, operations: ops, attempt, seq, isLast };
        const results = await o.client.sendBatch(batch);
        return toOutcomes(ops, results, at, o.redact);
      } catch (e) {
        if (e instanceof DestinationError && !e.retryable) throw e;
        const err = e as Error & { code?: string };
        lastReason = o.redact(err.message ?? String(e));
        if (!(e instanceof DestinationError) && !isTransientNetworkError(err)) throw e;
        if (attempt === o.maxAttempts) break;
        const delay = retryDelayMs(attempt, o.retryBaseDelayMs, e instanceof DestinationError ? e.retryAfterMs : undefined);
        o.onRetry?.({ batchId: id, attempt, delayMs: Math.round(delay), reason: lastReason });
        try {
          // A signal ends the wait at once: a Retry-After of minutes must not hold a SIGTERM.
          await sleep(delay, undefined, o.signal ? { signal: o.signal } : undefined);
        } catch {
          interruptedWait = true;
          break;
        }
      }
    }
    const at = new Date().toISOString();
    const message = fatal
      ? 'not confirmed: the sync stopped'
      : interruptedWait
        ? `interrupted (signal) while waiting to retry after: ${lastReason}`
        : `gave up after ${o.maxAttempts} attempts: ${lastReason}`;
    return ops.map((op) => ({ operation: op, status: 'failed', destinationRecordId: null, errorCode: 'transient', errorMessage: message, attemptedAt: at }));
  };

  const dispatch = (ops: PlanOperation[]): void => {
    batchNo += 1;
    dispatched += ops.length;
    // Unique per sync and run (Standard Webhooks' webhook-id), stable across the batch's retries.
    const ref: BatchRef = { id: `${o.runId}-${o.sync}-${batchNo}`, ranges: rangesOf(ops.map((op) => op.rowNo)) };
    const seq = batchNo;
    const isLast = dispatched >= o.planned;
    const p = (async () => {
      try {
        await serially(() => o.logIntent(ref));
      } catch (e) {
        // Nothing was sent: the rows stay unsent, and the run stops.
        fatal ??= e as Error;
        return;
      }
      dispatchedRanges.push(...ref.ranges);
      let outcomes: RowOutcome[] | null;
      try {
        outcomes = await sendWithRetry(ops, ref.id, seq, isLast);
      } catch (e) {
        fatal ??= e as Error;
        // Refused whole and for good (bad credentials, a missing list): nothing of it was applied, so its
        // rows are certain: not sent. The caller records them with the rows never dispatched.
        if (e instanceof DestinationError) refusedRanges.push(...ref.ranges);
        return;
      }
      if (outcomes === null) {
        refusedRanges.push(...ref.ranges);
        return;
      }
      const settled = outcomes;
      // After a failed commit or a broken stream the warehouse is not trusted: the intent stays, uncertain.
      if (fatal && !(fatal instanceof DestinationError)) return;
      try {
        await serially(() => o.commit(ref, settled));
      } catch (e) {
        fatal ??= e as Error;
        return;
      }
      for (const r of settled) {
        if (r.status === 'succeeded') succeeded[r.operation.op] += 1;
        else if (r.status === 'rejected') rejected += 1;
        else failed += 1;
      }
      done += settled.length;
      o.onProgress?.(progress());
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  let pending: PlanOperation[] = [];
  const stopped = (): boolean => fatal !== undefined || o.signal?.aborted === true;
  try {
    outer: for await (const chunk of rows) {
      for (const row of chunk) {
        pending.push(PlanOperation.fromRow(row));
        if (pending.length >= o.batchSize) {
          while (inFlight.size >= o.concurrency) await Promise.race(inFlight);
          if (stopped()) break outer;
          dispatch(pending);
          pending = [];
        }
      }
      if (stopped()) break;
    }
    if (pending.length > 0 && !stopped()) {
      while (inFlight.size >= o.concurrency) await Promise.race(inFlight);
      if (!stopped()) dispatch(pending);
    }
  } catch (e) {
    // The plan stream broke (its session ended, the warehouse went away): stop, but drain first.
    fatal ??= e as Error;
  } finally {
    while (inFlight.size > 0) await Promise.race(inFlight);
    await warehouseQueue;
  }
  return { progress: progress(), fatal, interrupted: o.signal?.aborted === true, dispatched: subtractRanges(dispatchedRanges, refusedRanges) };
}

function toOutcomes(ops: PlanOperation[], results: RowResult[], at: string, redact: (s: string) => string): RowOutcome[] {
  if (!Array.isArray(results) || results.length !== ops.length) {
    // A destination that loses track of rows must not have them counted as sent.
    return ops.map((op) => ({
      operation: op,
      status: 'failed',
      destinationRecordId: null,
      errorCode: 'result_mismatch',
      errorMessage: `destination returned ${Array.isArray(results) ? results.length : 'no'} results for ${ops.length} operations`,
      attemptedAt: at,
    }));
  }
  return ops.map((op, i) => {
    const r = results[i]!;
    if (r.status === 'succeeded') {
      return { operation: op, status: 'succeeded', destinationRecordId: r.id ?? op.destinationRecordId, errorCode: null, errorMessage: null, attemptedAt: at };
    }
    return {
      operation: op,
      status: r.status,
      destinationRecordId: op.destinationRecordId,
      errorCode: r.code ?? null,
      errorMessage: redact(r.message).slice(0, 1000),
      attemptedAt: at,
    };
  });
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Network trouble that fetch reports as a TypeError or AbortError: worth a retry. */
export function isTransientNetworkError(e: Error & { code?: string; cause?: unknown }): boolean {
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return true;
  const cause = e.cause as { code?: string } | undefined;
  return TRANSIENT_CODES.has(e.code ?? '') || TRANSIENT_CODES.has(cause?.code ?? '') || e.message === 'fetch failed';
}

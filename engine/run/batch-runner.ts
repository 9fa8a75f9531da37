import { setTimeout as sleep } from 'node:timers/promises';
import { DestinationError } from '../errors.js';
import type { Batch, DestinationClient, Op, RowResult } from '../destination/destination-api.js';
import { PlanOperation } from './plan-operation.js';
import { retryDelayMs } from './retry-policy.js';
import type { Row } from '../warehouse/connection.js';

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

export interface BatchRunnerOptions {
  readonly runId: string;
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
  /** Commits one batch's outcomes (changelog + snapshot) in one transaction. Called one at a time. */
  readonly commit: (outcomes: readonly RowOutcome[]) => Promise<void>;
  readonly onProgress?: (p: Progress) => void;
  readonly onRetry?: (info: { batchId: string; attempt: number; delayMs: number; reason: string }) => void;
  /** Stops dispatching new batches; in-flight ones finish and commit. */
  readonly signal?: AbortSignal;
}

export interface RunnerResult {
  readonly progress: Progress;
  /** Set when the sync had to stop: a fatal destination error or a failed commit. */
  readonly fatal: Error | undefined;
  readonly interrupted: boolean;
}

/**
 * Streams plan rows into batches, sends them with bounded concurrency and a rate
 * limit (per batch attempt, or the destination's own per request), retries
 * transient failures, and commits each batch's outcome.
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
  let commitChain: Promise<void> = Promise.resolve();

  const progress = (): Progress => ({ planned: o.planned, done, succeeded: { ...succeeded }, rejected, failed, startedAt });

  let dispatched = 0;
  const sendWithRetry = async (ops: PlanOperation[], id: string, seq: number, isLast: boolean): Promise<RowOutcome[]> => {
    let lastReason = '';
    for (let attempt = 1; attempt <= o.maxAttempts; attempt++) {
      if (fatal) break;
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
        await sleep(delay);
      }
    }
    const at = new Date().toISOString();
    const message = fatal ? 'not confirmed: the sync stopped' : `gave up after ${o.maxAttempts} attempts: ${lastReason}`;
    return ops.map((op) => ({ operation: op, status: 'failed', destinationRecordId: null, errorCode: 'transient', errorMessage: message, attemptedAt: at }));
  };

  const dispatch = (ops: PlanOperation[]): void => {
    batchNo += 1;
    dispatched += ops.length;
    const id = `${o.runId}-${batchNo}`;
    const seq = batchNo;
    const isLast = dispatched >= o.planned;
    const p = (async () => {
      let outcomes: RowOutcome[];
      try {
        outcomes = await sendWithRetry(ops, id, seq, isLast);
      } catch (e) {
        fatal ??= e as Error;
        return;
      }
      // Commits are serialized: one warehouse transaction at a time.
      commitChain = commitChain.then(async () => {
        if (fatal && !(fatal instanceof DestinationError)) return;
        try {
          await o.commit(outcomes);
        } catch (e) {
          fatal ??= e as Error;
          return;
        }
        for (const r of outcomes) {
          if (r.status === 'succeeded') succeeded[r.operation.op] += 1;
          else if (r.status === 'rejected') rejected += 1;
          else failed += 1;
        }
        done += outcomes.length;
        o.onProgress?.(progress());
      });
      await commitChain;
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  let pending: PlanOperation[] = [];
  const stopped = (): boolean => fatal !== undefined || o.signal?.aborted === true;
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
  while (inFlight.size > 0) await Promise.race(inFlight);
  await commitChain;
  return { progress: progress(), fatal, interrupted: o.signal?.aborted === true };
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

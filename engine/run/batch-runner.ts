import { setTimeout as sleep } from 'node:timers/promises';
import { DestinationError } from '../errors.js';
import type { Batch, DestinationClient, Op, RowResult } from '../destination/destination-api.js';
import { PlanOperation } from './plan-operation.js';
import { retryDelayMs } from '../destination/retry-policy.js';
import type { Row } from '../warehouse/connection.js';
import { mergeRanges, rangeRows, rangesOf, subtractRanges, type RowRange } from '../plan/row-ranges.js';

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

/**
 * A batch the destination has answered, waiting for its commit: what a commit
 * needs of it, without its rows (a group of a million plain successes holds a
 * few numbers, not a million operations).
 */
export interface SettledBatch {
  readonly batch: BatchRef;
  readonly attemptedAt: string;
  readonly rows: number;
  /** The rows that did not plainly succeed, or succeeded with a new destination id. */
  readonly exceptions: readonly RowOutcome[];
  readonly succeeded: Readonly<Record<Op, number>>;
  readonly rejected: number;
  readonly failed: number;
  /** Some row succeeded whose key the snapshot may already hold (anything but an add of a key it lacks). */
  readonly replacesSnapshot: boolean;
}

/** Counts a batch's outcomes as they come; keeps only the exceptions. */
class SettledTally {
  private readonly succeeded: Record<Op, number> = { add: 0, change: 0, remove: 0 };
  private readonly exceptions: RowOutcome[] = [];
  private rejected = 0;
  private failed = 0;
  private rows = 0;
  private replacesSnapshot = false;

  /** A plain success: counted, no object kept (the common case, a million times a run). */
  succeededPlainly(op: PlanOperation): void {
    this.rows += 1;
    this.succeeded[op.op] += 1;
    if (op.op !== 'add' || op.inSnapshot) this.replacesSnapshot = true;
  }

  add(o: RowOutcome): void {
    if (o.status === 'succeeded' && o.destinationRecordId === o.operation.destinationRecordId) {
      this.succeededPlainly(o.operation);
      return;
    }
    this.rows += 1;
    if (o.status === 'succeeded') {
      this.succeeded[o.operation.op] += 1;
      if (o.operation.op !== 'add' || o.operation.inSnapshot) this.replacesSnapshot = true;
    } else if (o.status === 'rejected') this.rejected += 1;
    else this.failed += 1;
    this.exceptions.push(o);
  }

  settled(batch: BatchRef, attemptedAt: string): SettledBatch {
    const { rows, exceptions, succeeded, rejected, failed, replacesSnapshot } = this;
    return { batch, attemptedAt, rows, exceptions, succeeded, rejected, failed, replacesSnapshot };
  }
}

/** What a commit needs of a batch's outcomes. */
export function settledBatch(batch: BatchRef, outcomes: readonly RowOutcome[]): SettledBatch {
  const tally = new SettledTally();
  for (const o of outcomes) tally.add(o);
  return tally.settled(batch, outcomes[0]?.attemptedAt ?? new Date().toISOString());
}

/**
 * How outcomes are gathered into commits. Each commit is one warehouse
 * transaction; a few large ones cost far less than one per batch (DuckDB
 * writes a large transaction's rows straight to the database file instead of
 * its WAL). A batch waits for its commit at most `maxDelayMs` (a slow
 * destination's batches are committed one by one), and the destination's
 * answers for at most about 2 × `rows` are held uncommitted (as counts; only
 * refused and failed rows keep their operations). What a crash can leave
 * uncertain is what was sent and not yet committed: about a second's worth.
 */
export interface CommitGrouping {
  /** A commit waits until this many rows have settled (or the delay is over). */
  readonly rows: number;
  readonly maxDelayMs: number;
  /**
   * An intent reaches this many rows ahead of the batch that needs it, so most
   * batches go out without a write first. After a crash the rows it covered and
   * that were never sent count as uncertain too (reconciled all the same).
   */
  readonly intentAheadRows: number;
}

const OPS: readonly Op[] = ['add', 'change', 'remove'];
/** Rows refused or failed (each kept with its operation until committed) that make a commit start at once. */
const MAX_QUEUED_EXCEPTIONS = 50_000;

/** One batch, one commit, as soon as it settles: the grouping when none is given. */
const EACH_BATCH: CommitGrouping = { rows: 1, maxDelayMs: 0, intentAheadRows: 1 };

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
  /**
   * Makes rows' intent durable before any of them is sent (the write-ahead log).
   * The ranges cover the batch about to be sent and may reach ahead of it, up to
   * a commit group, so that most batches need no write before they go out.
   */
  readonly logIntent: (ranges: readonly RowRange[]) => Promise<void>;
  /** Commits settled batches' outcomes (changelog + snapshot) in one transaction. */
  readonly commit: (batches: readonly SettledBatch[]) => Promise<void>;
  readonly grouping?: CommitGrouping;
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
 * transient failures, and commits the outcomes, gathered into groups. Every
 * warehouse write (intents and commits) goes through one queue: one
 * connection, one transaction at a time. Whatever stops the run, every batch
 * in flight is drained before this returns: its outcome committed, or left
 * uncertain in the log for the next run; nothing commits after the caller has
 * finished the run. Memory stays bounded: at most `concurrency` batches in
 * flight, about two commit groups of answers, and one chunk.
 */
export async function runBatches(rows: AsyncIterable<Row[]>, o: BatchRunnerOptions): Promise<RunnerResult> {
  const grouping = o.grouping ?? EACH_BATCH;
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
  // One warehouse write at a time, in order: an intent never lands inside a commit's transaction.
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = warehouseQueue.then(fn);
    warehouseQueue = next.catch(() => undefined);
    return next;
  };
  // After a failed commit the warehouse is not trusted: what is not committed stays uncertain, for the next run.
  // (A broken plan stream ends the sending, but what the destination answered is still committed.)
  let commitFailed = false;
  const untrusted = (): boolean => commitFailed;

  const progress = (): Progress => ({ planned: o.planned, done, succeeded: { ...succeeded }, rejected, failed, startedAt });

  // ---- intents: logged ahead of the batches, so most batches go out without a write.
  const logged: RowRange[] = [];
  // Intents being written: a batch they cover waits for them instead of writing its own.
  const logging = new Set<{ ranges: readonly RowRange[]; write: Promise<void> }>();
  const ensureIntent = async (ranges: readonly RowRange[]): Promise<void> => {
    const missing = subtractRanges(ranges, [...logged, ...[...logging].flatMap((l) => l.ranges)]);
    if (missing.length > 0) {
      const last = missing[missing.length - 1]!;
      // Reach ahead, within the plan (rows 1..planned).
      const ahead: RowRange = [last[0], Math.min(Math.max(o.planned, last[1]), Math.max(last[1], last[0] + grouping.intentAheadRows - 1))];
      const toLog = mergeRanges([...missing.slice(0, -1), ahead]);
      const entry = { ranges: toLog, write: serially(() => o.logIntent(toLog)) };
      logging.add(entry);
      try {
        await entry.write;
        logged.push(...toLog);
      } finally {
        logging.delete(entry);
      }
    }
    // What another batch is writing must be durable before these rows go out (a failed write throws here).
    const covering = [...logging].filter((l) => rangeRows(subtractRanges(ranges, l.ranges)) < rangeRows(ranges));
    await Promise.all(covering.map((l) => l.write));
  };

  // ---- commits: settled batches wait in a queue and are committed together.
  let queue: SettledBatch[] = [];
  let queuedRows = 0;
  // Exceptions keep their operations: a group holds at most about MAX_QUEUED_EXCEPTIONS of them.
  let queuedExceptions = 0;
  let committing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let draining = false;
  // When the oldest answer in the queue arrived: no batch waits much longer than maxDelayMs for its commit.
  let oldestQueuedAt = 0;
  const commitQueued = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    const group = queue;
    queue = [];
    queuedRows = 0;
    queuedExceptions = 0;
    committing = (async () => {
      try {
        if (untrusted()) return;
        await serially(() => o.commit(group));
        for (const b of group) {
          for (const op of OPS) succeeded[op] += b.succeeded[op];
          rejected += b.rejected;
          failed += b.failed;
          done += b.rows;
        }
        o.onProgress?.(progress());
      } catch (e) {
        commitFailed = true;
        fatal ??= e as Error;
      }
    })().finally(() => {
      committing = null;
      maybeCommit();
    });
  };
  const maybeCommit = (): void => {
    if (committing || queue.length === 0) return;
    if (draining || queuedRows >= grouping.rows || queuedExceptions >= MAX_QUEUED_EXCEPTIONS || Date.now() - oldestQueuedAt >= grouping.maxDelayMs) {
      commitQueued();
      return;
    }
    timer ??= setTimeout(() => {
      timer = null;
      if (!committing) commitQueued();
    }, grouping.maxDelayMs);
  };
  const settle = (item: SettledBatch): void => {
    if (queue.length === 0) oldestQueuedAt = Date.now();
    queue.push(item);
    queuedRows += item.rows;
    queuedExceptions += item.exceptions.length;
    maybeCommit();
  };
  /** Waits while two groups of answers are held uncommitted (a slow warehouse holds the destination back). */
  const roomToSettle = async (): Promise<void> => {
    while (queuedRows >= 2 * grouping.rows && committing) await committing;
  };

  let dispatched = 0;
  /** The batch's outcomes, or null when the sync stopped before its first attempt (nothing was sent). */
  const sendWithRetry = async (ops: PlanOperation[], ref: BatchRef, seq: number, isLast: boolean): Promise<SettledBatch | null> => {
    const id = ref.id;
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
        return settleResults(ref, ops, results, at, o.redact);
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
    return settledBatch(
      ref,
      ops.map((op) => ({ operation: op, status: 'failed', destinationRecordId: null, errorCode: 'transient', errorMessage: message, attemptedAt: at })),
    );
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
        await ensureIntent(ref.ranges);
      } catch (e) {
        // Nothing was sent: the rows stay unsent, and the run stops.
        fatal ??= e as Error;
        return;
      }
      dispatchedRanges.push(...ref.ranges);
      let settled: SettledBatch | null;
      try {
        settled = await sendWithRetry(ops, ref, seq, isLast);
      } catch (e) {
        fatal ??= e as Error;
        // Refused whole and for good (bad credentials, a missing list): nothing of it was applied, so its
        // rows are certain: not sent. The caller records them with the rows never dispatched.
        if (e instanceof DestinationError) refusedRanges.push(...ref.ranges);
        return;
      }
      if (settled === null) {
        refusedRanges.push(...ref.ranges);
        return;
      }
      if (untrusted()) return;
      settle(settled);
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  let pending: PlanOperation[] = [];
  const stopped = (): boolean => fatal !== undefined || o.signal?.aborted === true;
  const waitForSlot = async (): Promise<void> => {
    while (inFlight.size >= o.concurrency) await Promise.race(inFlight);
    await roomToSettle();
  };
  try {
    outer: for await (const chunk of rows) {
      for (const row of chunk) {
        pending.push(PlanOperation.fromRow(row));
        if (pending.length >= o.batchSize) {
          await waitForSlot();
          if (stopped()) break outer;
          dispatch(pending);
          pending = [];
        }
      }
      if (stopped()) break;
    }
    if (pending.length > 0 && !stopped()) {
      await waitForSlot();
      if (!stopped()) dispatch(pending);
    }
  } catch (e) {
    // The plan stream broke (its session ended, the warehouse went away): stop, but drain first.
    fatal ??= e as Error;
  } finally {
    while (inFlight.size > 0) await Promise.race(inFlight);
    // Every answer is in: commit what is queued now, without waiting for a group to fill.
    draining = true;
    maybeCommit();
    while (committing) await committing;
    if (timer) clearTimeout(timer);
    await warehouseQueue;
  }
  return { progress: progress(), fatal, interrupted: o.signal?.aborted === true, dispatched: subtractRanges(dispatchedRanges, refusedRanges) };
}

/** A batch's answers, checked against its operations, as a commit needs them. */
function settleResults(batch: BatchRef, ops: PlanOperation[], results: RowResult[], at: string, redact: (s: string) => string): SettledBatch {
  const tally = new SettledTally();
  if (!Array.isArray(results) || results.length !== ops.length) {
    // A destination that loses track of rows must not have them counted as sent.
    const message = `destination returned ${Array.isArray(results) ? results.length : 'no'} results for ${ops.length} operations`;
    for (const op of ops) tally.add({ operation: op, status: 'failed', destinationRecordId: null, errorCode: 'result_mismatch', errorMessage: message, attemptedAt: at });
    return tally.settled(batch, at);
  }
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const r = results[i]!;
    if (r.status === 'succeeded') {
      const id = r.id ?? op.destinationRecordId;
      if (id === op.destinationRecordId) tally.succeededPlainly(op);
      else tally.add({ operation: op, status: 'succeeded', destinationRecordId: id, errorCode: null, errorMessage: null, attemptedAt: at });
    } else {
      tally.add({ operation: op, status: r.status, destinationRecordId: op.destinationRecordId, errorCode: r.code ?? null, errorMessage: redact(r.message).slice(0, 1000), attemptedAt: at });
    }
  }
  return tally.settled(batch, at);
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Network trouble that fetch reports as a TypeError or AbortError: worth a retry. */
export function isTransientNetworkError(e: Error & { code?: string; cause?: unknown }): boolean {
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return true;
  const cause = e.cause as { code?: string } | undefined;
  return TRANSIENT_CODES.has(e.code ?? '') || TRANSIENT_CODES.has(cause?.code ?? '') || e.message === 'fetch failed';
}

import { createHash } from 'node:crypto';
import { DestinationError, MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS } from '../../engine/destination/index.js';

/** session_id is an int64 chosen by the caller; kept below 2^53 so it travels as an exact JSON number. */
const SESSION_ID_BITS = 53n;

/**
 * The session id of a run's replace: derived from the run id (and the sync and
 * audience, since one run may replace several audiences), so every retry of
 * every batch of the run names the same session.
 */
export function sessionIdFor(runId: string, syncName: string, audienceId: string): number {
  const digest = createHash('sha256').update(`${runId}\u0000${syncName}\u0000${audienceId}`).digest();
  const id = digest.readBigUInt64BE(0) & ((1n << SESSION_ID_BITS) - 1n);
  return Number(id === 0n ? 1n : id);
}

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * Orders the batches of one --full-refresh run on one audience. Meta takes one
 * replace at a time per audience and closes the session on the batch flagged
 * last, so a batch may send only when every batch before it (by `Batch.seq`)
 * has been acknowledged, whatever the engine's concurrency: the turn is a
 * mutex handed out in seq order.
 *
 * A session with a hole must never be closed (the replace would drop the
 * missing batch's members), so when a predecessor stays unacknowledged past
 * any retry it could still be waiting for (its Retry-After, or the engine's
 * longest back-off, plus a request timeout) the session is abandoned: every
 * later batch fails for good, and Meta keeps the previous audience.
 */
export class ReplaceSession {
  private readonly done = new Set<number>();
  /** Seqs of acknowledged batches that uploaded members: their count numbers the session's batches 1..n. */
  private readonly uploaded = new Set<number>();
  private removes = 0;
  private holder: number | undefined;
  private abandoned: DestinationError | undefined;
  private readonly waiters = new Set<Waiter>();
  /** Until when a missing predecessor may still be retried by the engine. */
  private patienceUntil = Date.now();

  constructor(
    readonly sessionId: number,
    /** The per-request timeout: how long an in-flight predecessor may still take. */
    private readonly requestTimeoutMs: number,
    private readonly who: string,
  ) {
    this.extendPatience(0);
  }

  /** Resolves when batch `seq` may send; release the turn with `finish` or `fail`. */
  async turn(seq: number): Promise<void> {
    if (this.abandoned) throw this.abandoned;
    if (this.ready(seq)) {
      this.holder = seq;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout;
      const check = (): void => {
        if (this.holder !== undefined || Date.now() < this.patienceUntil) {
          timer = setTimeout(check, Math.max(50, this.patienceUntil - Date.now()));
          return;
        }
        this.waiters.delete(waiter);
        this.abandon(`batch ${this.firstMissing(seq) ?? '?'} of the session was not acknowledged in time, so batch ${seq} cannot follow it`);
        reject(this.abandoned!);
      };
      const waiter: Waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.add(waiter);
      timer = setTimeout(check, Math.max(50, this.patienceUntil - Date.now()));
    });
  }

  /** Batch `seq` was acknowledged: the next one may go. */
  finish(seq: number, uploadedMembers: boolean, removes: number): void {
    this.done.add(seq);
    if (uploadedMembers) this.uploaded.add(seq);
    this.removes += removes;
    this.extendPatience(0);
    this.release(seq);
  }

  /** Batch `seq` failed: a retryable failure keeps its place (its retry takes the turn again); a fatal one ends the session. */
  fail(seq: number, e: unknown): void {
    if (e instanceof DestinationError && !e.retryable) this.abandon(e.message, e);
    else this.extendPatience(e instanceof DestinationError && e.retryAfterMs !== undefined ? Math.min(e.retryAfterMs, MAX_RETRY_AFTER_MS) : MAX_BACKOFF_MS);
    this.release(seq);
  }

  /** Position of batch `seq` among the session's uploads (1-based); the same on each of its retries. */
  batchSeq(seq: number): number {
    let n = 1;
    for (const s of this.uploaded) if (s < seq) n += 1;
    return n;
  }

  /** Whether any batch has uploaded members (the session is open on Meta's side). */
  get started(): boolean {
    return this.uploaded.size > 0;
  }

  /** Rows the session will upload: the run's planned rows less its removes, which all come first. */
  estimatedTotal(plannedTotal: number, removesInThisBatch: number): number {
    return Math.max(0, plannedTotal - this.removes - removesInThisBatch);
  }

  private extendPatience(retryInMs: number): void {
    this.patienceUntil = Math.max(this.patienceUntil, Date.now() + retryInMs + MAX_BACKOFF_MS + this.requestTimeoutMs);
  }

  private abandon(why: string, cause?: DestinationError): void {
    this.abandoned ??= new DestinationError(`${this.who}: the --full-refresh replace session was abandoned, Meta keeps the previous audience: ${why}`, {
      retryable: false,
      code: cause?.code ?? 'replace_abandoned',
      hint: cause?.hint ?? 'Run audsync run --full-refresh again once the cause is fixed.',
    });
    for (const w of this.waiters) w.reject(this.abandoned);
    this.waiters.clear();
  }

  private ready(seq: number): boolean {
    return this.holder === undefined && this.firstMissing(seq) === undefined;
  }

  private firstMissing(seq: number): number | undefined {
    for (let s = 1; s < seq; s++) if (!this.done.has(s)) return s;
    return undefined;
  }

  private release(seq: number): void {
    if (this.holder === seq) this.holder = undefined;
    const next = [...this.waiters].sort((a, b) => a.seq - b.seq).find((w) => this.ready(w.seq));
    if (!next) return;
    this.waiters.delete(next);
    this.holder = next.seq;
    next.resolve();
  }
}

import type { NormalizedSync } from '../config/normalized-config.js';
import type { Progress, RowOutcome } from '../run/batch-runner.js';
import type { SyncStatus } from './run-events.js';

/** Why rows were not delivered: each distinct reason, how often, and one key as an example. */
export class CauseTally {
  private readonly causes = new Map<string, { status: 'rejected' | 'failed'; n: number; sampleKey: string }>();
  // A destination that puts a row id in every message would make every reason distinct: bounded, the rest are "other".
  private static readonly MAX_REASONS = 200;

  add(outcomes: readonly RowOutcome[]): void {
    for (const o of outcomes) {
      if (o.status === 'succeeded') continue;
      const reason = o.errorMessage ?? o.errorCode ?? 'no reason given';
      const id = `${o.status}\u0000${reason}`;
      const c = this.causes.get(id);
      if (c) c.n += 1;
      else if (this.causes.size < CauseTally.MAX_REASONS) this.causes.set(id, { status: o.status, n: 1, sampleKey: o.operation.key });
    }
  }

  /** The most frequent reason (ties: the first seen). */
  top(): { status: 'rejected' | 'failed'; reason: string; n: number; sampleKey: string } | undefined {
    let best: { status: 'rejected' | 'failed'; reason: string; n: number; sampleKey: string } | undefined;
    for (const [id, c] of this.causes) {
      if (!best || c.n > best.n) best = { status: c.status, reason: id.slice(id.indexOf('\u0000') + 1), n: c.n, sampleKey: c.sampleKey };
    }
    return best;
  }
}

export interface Verdict {
  readonly status: SyncStatus;
  readonly error: string | null;
  readonly hint: string | null;
}

/**
 * What a finished delivery means. Nothing delivered of a non-empty plan is a
 * failure whatever the thresholds; past `maxFailedPercent` failed or
 * `maxRejectedPercent` rejected rows, too. Below them, undelivered rows make a
 * `warning`. The error always names the main cause with its count and an example key.
 */
export function deliveryVerdict(sync: NormalizedSync, planned: number, p: Progress, causes: CauseTally, newlyQuarantined = 0): Verdict {
  const bad = p.rejected + p.failed;
  if (bad === 0) return { status: 'success', error: null, hint: null };
  const v = verdictOf(sync, planned, p, causes, bad);
  if (newlyQuarantined === 0) return v;
  // Refused the same way run after run: no longer "retried next run".
  const runs = sync.guardrails.quarantineAfterRuns;
  const q = `${newlyQuarantined} row(s) quarantined after ${runs} runs refused for the same reason: not sent again until their fields change or \`audsync retry --sync ${sync.name}\``;
  return { ...v, error: `${v.error}; ${q}` };
}

function verdictOf(sync: NormalizedSync, planned: number, p: Progress, causes: CauseTally, bad: number): Verdict {
  const delivered = p.succeeded.add + p.succeeded.change + p.succeeded.remove;
  const pct = (n: number): number => (planned > 0 ? (n / planned) * 100 : 0);
  const g = sync.guardrails;
  const top = causes.top();
  const cause = top ? `; most often (${top.n} ${top.status}): ${top.reason} (e.g. key ${top.sampleKey})` : '';
  const counts = `${p.rejected} rejected, ${p.failed} failed of ${planned} planned`;
  if (delivered === 0) {
    const all = top && top.n === bad ? `${bad} of ${planned} rows ${top.status}: ${top.reason} (e.g. key ${top.sampleKey})` : `nothing delivered: ${counts}${cause}`;
    return { status: 'failed', error: all, hint: failureHint(top?.status) };
  }
  if (pct(p.failed) > g.maxFailedPercent || pct(p.rejected) > g.maxRejectedPercent) {
    const over = pct(p.failed) > g.maxFailedPercent ? `more than ${g.maxFailedPercent}% failed` : `more than ${g.maxRejectedPercent}% rejected`;
    return { status: 'failed', error: `${over}: ${counts}${cause}`, hint: failureHint(top?.status, true) };
  }
  return { status: 'warning', error: `${counts}${cause}; they are retried next run`, hint: null };
}

function failureHint(status: 'rejected' | 'failed' | undefined, threshold = false): string {
  const why =
    status === 'rejected'
      ? 'The destination refused the rows: check the destination settings (list/audience id, field mapping) and the rows in sync_changelog (error_message).'
      : 'The destination could not be reached or kept failing: check its URL, credentials and status; each row\'s error is in sync_changelog.';
  return `${why} Undelivered rows are planned again next run.${threshold ? ' The thresholds are guardrails.maxFailedPercent and guardrails.maxRejectedPercent.' : ''}`;
}

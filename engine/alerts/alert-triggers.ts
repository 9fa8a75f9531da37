import type { NormalizedSync } from '../config/normalized-config.js';
import { formatDuration } from '../config/duration.js';
import type { RunCounts } from '../state/state-sql.js';

export type AlertTrigger = 'failed' | 'rejected' | 'size_change' | 'stale' | 'recovery';

/** One thing to tell people about one sync; sent to each of the sync's channels. */
export interface Alert {
  readonly sync: string;
  readonly trigger: AlertTrigger;
  /** PagerDuty's severity; Slack and webhooks carry it as text. */
  readonly severity: 'critical' | 'error' | 'warning' | 'info';
  /** One line for a person: what happened, with counts. */
  readonly summary: string;
  readonly runId: string | null;
  readonly status: string | null;
  readonly details: Readonly<Record<string, string | number | null>>;
}

/** What a run of a sync ended as, for its alerts. */
export interface RunFacts {
  readonly status: string;
  readonly runId: string | null;
  readonly counts: RunCounts | undefined;
  readonly error: string | null;
  readonly hint: string | null;
  /** Members of the last successful run before this one, when known. */
  readonly previousMembers: number | null;
  /** An alert for a problem was sent after the last recovery: a success now is a recovery. */
  readonly incidentOpen: boolean;
}

const planned = (c: RunCounts): number => c.planned_add + c.planned_change + c.planned_remove;
const pct = (n: number): string => `${Number(n.toFixed(1))}%`;

/** The alerts one finished run of a sync fires. Pure: state comes in through `facts`. */
export function runAlerts(sync: NormalizedSync, facts: RunFacts): Alert[] {
  const t = sync.alerts?.triggers;
  if (!t) return [];
  const out: Alert[] = [];
  const base = { sync: sync.name, runId: facts.runId, status: facts.status };
  const details = { model: sync.model, destination: sync.destination, error: facts.error, hint: facts.hint, ...(facts.counts ?? {}) };
  const bad = facts.status === 'failed' || facts.status === 'aborted';
  if (bad && t.failed) {
    out.push({ ...base, trigger: 'failed', severity: 'error', summary: `sync ${sync.name} ${facts.status}${facts.error ? `: ${facts.error}` : ''}`, details });
  }
  const c = facts.counts;
  if (!bad && c && t.rejectedPercent !== undefined && planned(c) > 0) {
    const share = ((c.rejected + c.failed) / planned(c)) * 100;
    if (share > t.rejectedPercent) {
      out.push({
        ...base,
        trigger: 'rejected',
        severity: 'warning',
        summary: `sync ${sync.name}: ${c.rejected + c.failed} of ${planned(c)} planned rows rejected or failed (${pct(share)}, alert above ${pct(t.rejectedPercent)})${facts.error ? `: ${facts.error}` : ''}`,
        details,
      });
    }
  }
  if (!bad && c && t.sizeChangePercent !== undefined && facts.previousMembers !== null && facts.previousMembers > 0) {
    const change = ((c.members - facts.previousMembers) / facts.previousMembers) * 100;
    if (Math.abs(change) > t.sizeChangePercent) {
      out.push({
        ...base,
        trigger: 'size_change',
        severity: 'warning',
        summary: `sync ${sync.name}: audience ${change > 0 ? 'grew' : 'shrank'} from ${facts.previousMembers} to ${c.members} members (${change > 0 ? '+' : ''}${pct(change)}, alert beyond ${pct(t.sizeChangePercent)})`,
        details: { ...details, previous_members: facts.previousMembers },
      });
    }
  }
  if (!bad && out.length === 0 && facts.incidentOpen && t.recovery) {
    out.push({ ...base, trigger: 'recovery', severity: 'info', summary: `sync ${sync.name} recovered: ${facts.status}`, details });
  }
  return out;
}

/** What staleness needs to know about a sync. */
export interface StaleFacts {
  /** ms since the epoch; null when it never succeeded. */
  readonly lastSuccessAt: number | null;
  /** When its first run started, for a sync that never succeeded; null when it never ran. */
  readonly firstRunAt: number | null;
  /** When staleness was last delivered for it. */
  readonly lastStaleAlertAt: number | null;
}

/**
 * `noSuccessFor`: fires once per stale period, i.e. not again until a success
 * (a later success resets it). A sync that never ran has no clock to go stale by.
 */
export function staleAlert(sync: NormalizedSync, facts: StaleFacts, now: Date): Alert | undefined {
  const limit = sync.alerts?.triggers.noSuccessForMs;
  if (limit === undefined || sync.paused !== undefined) return undefined;
  const since = facts.lastSuccessAt ?? facts.firstRunAt;
  if (since === null || now.getTime() - since <= limit) return undefined;
  if (facts.lastStaleAlertAt !== null && facts.lastStaleAlertAt >= since) return undefined;
  const age = formatDuration(now.getTime() - since);
  return {
    sync: sync.name,
    trigger: 'stale',
    severity: 'error',
    summary: `sync ${sync.name}: no successful run for ${age}${facts.lastSuccessAt === null ? ' (it never succeeded)' : ''} (alert after ${formatDuration(limit)})`,
    runId: null,
    status: null,
    details: { model: sync.model, destination: sync.destination, last_success_at: facts.lastSuccessAt === null ? null : new Date(facts.lastSuccessAt).toISOString() },
  };
}

import type { Progress } from '../run/batch-runner.js';
import type { RunCounts } from '../state/state-sql.js';
import type { SyncPlan } from '../plan/sync-planner.js';

/** What commands report while they work; the CLI renders them for a TTY or as JSON lines. */
export type RunEvent =
  | { event: 'compiled'; model: string; file: string }
  | { event: 'sync_started'; sync: string; run_id: string; destination: string; mode: string; full_refresh: boolean }
  | { event: 'planned'; sync: string; members: number; invalid: number; invalid_reasons: Readonly<Record<string, number>>; snapshot: number; add: number; change: number; remove: number; reconciled: number; quarantined: number; guardrail: string | null }
  | { event: 'progress'; sync: string; progress: Progress }
  | { event: 'retry'; sync: string; batch_id: string; attempt: number; delay_ms: number; reason: string }
  | {
      event: 'sync_finished';
      sync: string;
      run_id: string;
      status: SyncStatus;
      counts: RunCounts;
      /** Rows of the sync quarantined after this run (held back until their fields change or `audsync retry`), and how many this run added. */
      quarantined: number;
      newly_quarantined: number;
      error: string | null;
      hint: string | null;
      duration_ms: number;
    }
  | { event: 'skipped'; sync: string; reason: string }
  | { event: 'jobs_refreshed'; sync: string; changed: number }
  | { event: 'warning'; sync: string; message: string }
  | { event: 'alert_sent'; sync: string; trigger: string; channel: string; delivered: boolean };

export type SyncStatus = 'success' | 'warning' | 'failed' | 'aborted';

export type Reporter = (e: RunEvent) => void;

/** The `planned` event of a plan. */
export function plannedEvent(plan: SyncPlan): RunEvent {
  return {
    event: 'planned',
    sync: plan.prepared.sync.name,
    members: plan.members,
    invalid: plan.invalid,
    invalid_reasons: plan.invalidReasons,
    snapshot: plan.snapshot,
    add: plan.add,
    change: plan.change,
    remove: plan.remove,
    reconciled: plan.pending,
    quarantined: plan.quarantined,
    guardrail: plan.guardrail,
  };
}

import type { Batch, JsonValue, Operation, RowResult } from '../../engine/destination/index.js';
import { buildMember, droppedIdentifiers, type CustomerMatchMember } from './customer-match-member.js';
import type { CustomerMatchTransport, UploadKind } from './customer-match-transport.js';

export interface BatchUploadHooks {
  recordJob(jobId: string, detail: JsonValue): void;
  recordMetric(name: string, value: number): void;
}

/** Run metrics this destination reports (sync_run_metrics). */
export const METRICS = {
  jobs: 'jobs started',
  incompleteAddress: 'address incomplete: names not sent',
  coveredByRemoveAll: 'removes covered by removeAll',
  /** Rows whose identifiers last sent, no longer theirs, were taken off the list. */
  oldIdentifiersRemoved: 'old identifiers removed',
} as const;

/** A member to upload for row `at`; `dropped` marks the removal of identifiers the row no longer has. */
interface Slot {
  readonly at: number;
  readonly member: CustomerMatchMember;
  readonly dropped?: true;
}

/**
 * One batch: removals in one upload, additions in another (never mixed, fact
 * file), removals first so that a person re-added under a shared identifier
 * ends up in. `change` re-uploads the member's current identifiers as a create:
 * Customer Match has no update, and adding a member already in is harmless.
 * When the identifiers last sent (`previousFields`) hold some the member no
 * longer has (a new email for the same key), those go in the batch's remove
 * upload too, and the row succeeds only when both its create and that removal
 * were accepted. With `replaceAll` the create upload empties the list first;
 * `removesCovered` says a removeAll already ran (or runs in this upload) in
 * this full refresh, so removals, and old identifiers, need no request.
 */
export async function uploadBatch(
  transport: CustomerMatchTransport,
  batch: Batch,
  opts: { readonly replaceAll: boolean; readonly removesCovered: boolean },
  hooks: BatchUploadHooks,
): Promise<RowResult[]> {
  const results: Array<RowResult | undefined> = batch.operations.map(() => undefined);
  /** Outcomes of the removal of old identifiers, by row. */
  const droppedResults = new Map<number, RowResult>();
  const groups: Record<UploadKind, Slot[]> = { create: [], remove: [] };
  let incompleteAddress = 0;
  let covered = 0;
  batch.operations.forEach((op: Operation, at) => {
    if (op.op === 'remove' && opts.removesCovered) {
      results[at] = { status: 'succeeded' };
      covered += 1;
      return;
    }
    const built = buildMember(op.fields);
    if (built.incompleteAddress) incompleteAddress += 1;
    if (!built.ok) {
      results[at] = { status: 'rejected', code: built.code, message: built.message };
      return;
    }
    if (op.op === 'remove') {
      groups.remove.push({ at, member: built.member });
      return;
    }
    groups.create.push({ at, member: built.member });
    const dropped = opts.removesCovered ? undefined : droppedSinceLastSent(op, built.member);
    if (dropped) groups.remove.push({ at, member: dropped, dropped: true });
  });

  for (const kind of ['remove', 'create'] as const) {
    const group = groups[kind];
    const replaceAll = kind === 'create' && opts.replaceAll;
    if (group.length === 0 && !replaceAll) continue;
    const res = await transport.upload(
      kind,
      group.map((g) => g.member),
      { replaceAll },
    );
    res.outcomes.forEach((o, i) => {
      const slot = group[i]!;
      // An accepted member carries its job's name as its record id: if Google later fails the job, the engine
      // forgets the snapshot rows holding that id, and the next run uploads those members again.
      const accepted: RowResult = res.job ? { status: 'succeeded', id: res.job.id } : { status: 'succeeded' };
      const result: RowResult = o.accepted ? accepted : o.unconfirmed ? { status: 'failed', code: o.code, message: o.message } : { status: 'rejected', code: o.code, message: o.message };
      if (slot.dropped) droppedResults.set(slot.at, result);
      else results[slot.at] = result;
    });
    // Recorded as soon as it runs, even if the rest of the batch then fails: the job exists and changes the list either way.
    if (res.job) {
      hooks.recordJob(res.job.id, res.job.detail);
      hooks.recordMetric(METRICS.jobs, 1);
    }
  }
  let oldRemoved = 0;
  for (const [at, removal] of droppedResults) {
    if (removal.status === 'succeeded') oldRemoved += 1;
    const own = results[at];
    if (removal.status === 'succeeded' || own === undefined || own.status === 'rejected') continue;
    results[at] = { status: removal.status, code: removal.code, message: `removing the identifiers last sent: ${removal.message}` };
  }
  if (incompleteAddress > 0) hooks.recordMetric(METRICS.incompleteAddress, incompleteAddress);
  if (covered > 0) hooks.recordMetric(METRICS.coveredByRemoveAll, covered);
  if (oldRemoved > 0) hooks.recordMetric(METRICS.oldIdentifiersRemoved, oldRemoved);
  return results.map((r): RowResult => r ?? { status: 'failed', code: 'not_confirmed', message: 'no outcome recorded for this row' });
}

/**
 * The identifiers last sent for this member that it no longer has. Changes
 * carry the fields last sent; so do the adds of a --full-refresh (the plan
 * re-sends every known member as an add). Fields last sent that no longer make
 * a member (nothing usable) were never uploaded: nothing to remove.
 */
function droppedSinceLastSent(op: Operation, current: CustomerMatchMember): CustomerMatchMember | undefined {
  const previous = op.previousFields;
  if (previous === null) return undefined;
  const built = buildMember(previous);
  return built.ok ? droppedIdentifiers(built.member, current) : undefined;
}

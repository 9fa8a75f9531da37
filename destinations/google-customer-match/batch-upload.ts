import type { Batch, JsonValue, Operation, RowResult } from '../../engine/destination/destination-api.js';
import { buildMember, type CustomerMatchMember } from './customer-match-member.js';
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
} as const;

/**
 * One batch: removals in one upload, additions in another (never mixed, fact
 * file), removals first so that a person re-added under a shared identifier
 * ends up in. `change` re-uploads the member's current identifiers as a create:
 * Customer Match has no update, and adding a member already in is harmless.
 * With `replaceAll` the create upload empties the list first; `removesCovered`
 * says a removeAll already ran (or runs in this upload) in this full refresh,
 * so removals need no request.
 */
export async function uploadBatch(
  transport: CustomerMatchTransport,
  batch: Batch,
  opts: { readonly replaceAll: boolean; readonly removesCovered: boolean },
  hooks: BatchUploadHooks,
): Promise<RowResult[]> {
  const results: Array<RowResult | undefined> = batch.operations.map(() => undefined);
  const groups: Record<UploadKind, Array<{ at: number; member: CustomerMatchMember }>> = { create: [], remove: [] };
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
    groups[op.op === 'remove' ? 'remove' : 'create'].push({ at, member: built.member });
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
      const at = group[i]!.at;
      results[at] = o.accepted ? { status: 'succeeded' } : o.unconfirmed ? { status: 'failed', code: o.code, message: o.message } : { status: 'rejected', code: o.code, message: o.message };
    });
    // Recorded as soon as it runs, even if the rest of the batch then fails: the job exists and changes the list either way.
    if (res.job) {
      hooks.recordJob(res.job.id, res.job.detail);
      hooks.recordMetric(METRICS.jobs, 1);
    }
  }
  if (incompleteAddress > 0) hooks.recordMetric(METRICS.incompleteAddress, incompleteAddress);
  if (covered > 0) hooks.recordMetric(METRICS.coveredByRemoveAll, covered);
  return results.map((r): RowResult => r ?? { status: 'failed', code: 'not_confirmed', message: 'no outcome recorded for this row' });
}

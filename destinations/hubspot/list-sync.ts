import type { Operation, RowResult } from '../../engine/destination/index.js';
import type { HubSpotApi } from './hubspot-api.js';
import { chunks } from './batch-helpers.js';
import { upsertContacts } from './contact-upsert.js';
import { locateContacts, type Located } from './contact-lookup.js';

/**
 * Membership ids per add-and-remove call. HubSpot does not document a maximum
 * (destinations/hubspot/README.md: "use 1,000 and make it configurable").
 */
export const HUBSPOT_DEFAULT_MEMBERSHIP_IDS = 1000;

export interface ListSyncSettings {
  readonly listId: string;
  readonly idProperty: string;
  readonly membershipIds: number;
}

/**
 * mirror / upsert / add / remove: adds and changes upsert the contact, then
 * join the list; removes leave the list. Contacts are never deleted and never
 * unsubscribed: leaving the audience only ends list membership.
 */
export async function syncListBatch(api: HubSpotApi, ops: readonly Operation[], s: ListSyncSettings): Promise<RowResult[]> {
  const writes = ops.filter((op) => op.op !== 'remove');
  const removes = ops.filter((op) => op.op === 'remove');
  const upserted = writes.length > 0 ? await upsertContacts(api, writes, s.idProperty) : new Map<string, RowResult>();
  const located = removes.length > 0 ? await locateContacts(api, removes, s.idProperty) : new Map<string, Located>();

  const toAdd = new Set<string>();
  const toRemove = new Set<string>();
  for (const op of writes) {
    const r = upserted.get(op.key);
    if (r?.status !== 'succeeded' || !r.id) continue;
    // Changes join again too: idempotent, and it repairs a membership removed by hand.
    toAdd.add(r.id);
    // The unique property changed (a new email) and HubSpot made another contact:
    // the one sent before no longer stands for this member, so it leaves the list.
    if (op.destinationRecordId && op.destinationRecordId !== r.id) toRemove.add(op.destinationRecordId);
  }
  for (const l of located.values()) if ('id' in l) toRemove.add(l.id);
  // A contact another row of this batch keeps in the audience (a shared email) stays in the list.
  for (const id of toAdd) toRemove.delete(id);

  const missing = new Set<string>();
  const adds = chunks([...toAdd], s.membershipIds);
  const rems = chunks([...toRemove], s.membershipIds);
  for (let i = 0; i < Math.max(adds.length, rems.length); i++) {
    const answer = await api.updateMembership(s.listId, adds[i] ?? [], rems[i] ?? []);
    for (const id of answer.recordIdsMissing) missing.add(id);
  }

  return ops.map((op): RowResult => {
    if (op.op === 'remove') {
      const l = located.get(op.key)!;
      if ('result' in l) return l.result;
      // A record HubSpot no longer has (deleted, or never created) is in no list: the removal holds.
      return { status: 'succeeded', id: 'id' in l ? l.id : null };
    }
    const r = upserted.get(op.key)!;
    if (r.status === 'succeeded' && r.id && missing.has(r.id)) {
      return { status: 'failed', code: 'record_missing', message: 'HubSpot reported the upserted contact missing when adding it to the list; retried next run' };
    }
    return r;
  });
}

import type { Operation, RowResult } from '../../engine/destination/index.js';
import type { SalesforceApi } from './salesforce-api.js';
import { runIngest } from './ingest-job.js';
import { idsByField, soqlString } from './soql-lookup.js';
import { errorCode, isDeletedError, resultsBy, unconfirmed } from './result-rows.js';
import { locateRecords } from './record-writes.js';
import { storedId, type CampaignSettings, type SalesforceSyncSettings } from './sync-settings.js';

const CAMPAIGN_MEMBER = 'CampaignMember';

/**
 * campaignMember removal, joining: rows whose record was upserted become
 * members of the campaign (CampaignMember insert). The CampaignMember Id is
 * the row's destination_record_id, so leaving needs no lookup. A change of a
 * row that is already a member only updates the record.
 */
export async function joinCampaign(
  api: SalesforceApi,
  c: CampaignSettings,
  s: SalesforceSyncSettings,
  ops: readonly Operation[],
  upserted: ReadonlyMap<string, RowResult>,
): Promise<Map<string, RowResult>> {
  const out = new Map<string, RowResult>();
  const joining: Array<{ op: Operation; recordId: string }> = [];
  for (const op of ops) {
    const r = upserted.get(op.key)!;
    if (r.status !== 'succeeded' || !r.id) out.set(op.key, r.status === 'succeeded' ? unconfirmed('upsert') : r);
    else if (op.op === 'change' && storedId(op.destinationRecordId, true)) out.set(op.key, { status: 'succeeded' });
    else joining.push({ op, recordId: r.id });
  }
  if (joining.length === 0) return out;
  const header = ['CampaignId', c.memberField, ...(c.status !== undefined ? ['Status'] : [])];
  const rows = joining.map((j) => [c.campaignId, j.recordId, ...(c.status !== undefined ? [c.status] : [])]);
  const byRecord = resultsBy(await runIngest(api, { object: CAMPAIGN_MEMBER, operation: 'insert', header, rows }, s.poll), c.memberField);
  // Already a member (added by hand, or by a send whose result was lost): read the existing member's Id.
  const already = joining.filter((j) => errorCode(byRecord.get(j.recordId) ?? unconfirmed('insert')) === 'DUPLICATE_VALUE');
  const existing = already.length > 0 ? await memberIds(api, c, already.map((j) => j.recordId)) : new Map<string, string>();
  for (const j of joining) {
    const r = byRecord.get(j.recordId) ?? unconfirmed('CampaignMember insert');
    const memberId = existing.get(j.recordId);
    out.set(j.op.key, errorCode(r) === 'DUPLICATE_VALUE' ? (memberId ? { status: 'succeeded', id: memberId } : unconfirmed('CampaignMember lookup')) : r);
  }
  return out;
}

/**
 * campaignMember removal, leaving: deletes the CampaignMember. Only the
 * campaign membership goes; the Contact or Lead and its consent fields stay.
 */
export async function leaveCampaign(api: SalesforceApi, c: CampaignSettings, s: SalesforceSyncSettings, ops: readonly Operation[]): Promise<Map<string, RowResult>> {
  const memberOf = new Map<string, string>();
  const unknown: Operation[] = [];
  for (const op of ops) {
    const id = storedId(op.destinationRecordId, true);
    if (id) memberOf.set(op.key, id);
    else unknown.push(op);
  }
  if (unknown.length > 0) {
    const located = await locateRecords(api, s, unknown);
    const recordOf = new Map<string, string>();
    for (const [key, l] of located) if ('id' in l) recordOf.set(key, l.id);
    const members = recordOf.size > 0 ? await memberIds(api, c, [...recordOf.values()]) : new Map<string, string>();
    for (const [key, recordId] of recordOf) {
      const m = members.get(recordId);
      if (m) memberOf.set(key, m);
    }
  }
  const ids = [...new Set(memberOf.values())];
  const byId = ids.length > 0 ? resultsBy(await runIngest(api, { object: CAMPAIGN_MEMBER, operation: 'delete', header: ['Id'], rows: ids.map((id) => [id]) }, s.poll), 'Id') : new Map<string, RowResult>();
  return new Map(
    ops.map((op): [string, RowResult] => {
      const id = memberOf.get(op.key);
      // Not a member of the campaign (or no record at all): the removal holds.
      if (!id) return [op.key, { status: 'succeeded' }];
      const r = byId.get(id) ?? unconfirmed('CampaignMember delete');
      return [op.key, r.status === 'succeeded' || isDeletedError(r) ? { status: 'succeeded' } : r];
    }),
  );
}

/** CampaignMember Id by record Id, for members of the campaign. */
function memberIds(api: SalesforceApi, c: CampaignSettings, recordIds: readonly string[]): Promise<Map<string, string>> {
  return idsByField(api, CAMPAIGN_MEMBER, c.memberField, recordIds, `CampaignId = ${soqlString(c.campaignId)}`);
}

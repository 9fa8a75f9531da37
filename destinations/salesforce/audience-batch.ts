import type { Operation, RowResult } from '../../engine/destination/index.js';
import type { SalesforceApi } from './salesforce-api.js';
import { clearAudienceField, updateRecords, upsertRecords } from './record-writes.js';
import { joinCampaign, leaveCampaign } from './campaign-membership.js';
import type { SalesforceSyncSettings } from './sync-settings.js';

/**
 * One batch: adds and changes upsert the records (and join the campaign),
 * removes clear the audience field or leave the campaign. update mode only
 * changes records that exist. One result per operation, in order.
 */
export async function sendSalesforceBatch(api: SalesforceApi, s: SalesforceSyncSettings, ops: readonly Operation[]): Promise<RowResult[]> {
  if (s.mode === 'update') return updateRecords(api, s, ops);
  const writes = ops.filter((op) => op.op !== 'remove');
  const removes = ops.filter((op) => op.op === 'remove');
  const out = new Map<string, RowResult>();
  if (writes.length > 0) {
    const upserted = await upsertRecords(api, s, writes);
    const written = s.campaign ? await joinCampaign(api, s.campaign, s, writes, upserted) : upserted;
    for (const [k, r] of written) out.set(k, r);
  }
  if (removes.length > 0) {
    const removed = s.campaign ? await leaveCampaign(api, s.campaign, s, removes) : await clearAudienceField(api, s, removes);
    for (const [k, r] of removed) out.set(k, r);
  }
  return ops.map((op) => out.get(op.key) ?? { status: 'failed', code: 'missing_result', message: 'no result for this row; retried next run' });
}

import type { Operation, RowResult } from '../../engine/destination/index.js';
import type { SalesforceApi } from './salesforce-api.js';
import { runIngest } from './ingest-job.js';
import { bulkValue } from './bulk-csv.js';
import { idsByField } from './soql-lookup.js';
import { isDeletedError, resultsBy, unconfirmed } from './result-rows.js';
import { storedId, type SalesforceSyncSettings } from './sync-settings.js';

/**
 * Upserts the records of `ops` on the external id field (the record key),
 * with the mapped fields and, for clearField removal, the audience field set.
 * Succeeded rows carry the record's Salesforce Id.
 */
export async function upsertRecords(api: SalesforceApi, s: SalesforceSyncSettings, ops: readonly Operation[]): Promise<Map<string, RowResult>> {
  const flag = s.audienceField !== undefined ? [s.audienceField] : [];
  const header = [s.externalIdField, ...s.fields, ...flag];
  const rows = ops.map((op) => [op.key, ...s.fields.map((f) => bulkValue(op.fields[f])), ...flag.map(() => s.audienceValue)]);
  const outcome = await runIngest(api, { object: s.object, operation: 'upsert', externalIdFieldName: s.externalIdField, header, rows }, s.poll);
  const byKey = resultsBy(outcome, s.externalIdField);
  return new Map(ops.map((op) => [op.key, byKey.get(op.key) ?? unconfirmed('upsert')]));
}

/** Where a row's record is: its Id, or known not to exist. */
export type Located = { readonly id: string } | { readonly absent: true };

/**
 * The record Id of each row: the destination_record_id written back by an
 * earlier send when it is a record id, else a SOQL lookup on the external id.
 * Never creates a record (an upsert would, for a member that is not there).
 */
export async function locateRecords(api: SalesforceApi, s: SalesforceSyncSettings, ops: readonly Operation[]): Promise<Map<string, Located>> {
  const out = new Map<string, Located>();
  const unknown: string[] = [];
  for (const op of ops) {
    const id = storedId(op.destinationRecordId, false);
    if (id) out.set(op.key, { id });
    else unknown.push(op.key);
  }
  if (unknown.length > 0) {
    const found = await idsByField(api, s.object, s.externalIdField, unknown);
    for (const key of unknown) {
      const id = found.get(key);
      out.set(key, id ? { id } : { absent: true });
    }
  }
  return out;
}

/**
 * clearField removal: sets the audience field to its cleared value with an
 * update by Id. The record and its other fields stay; nothing about the
 * person's consent (HasOptedOutOfEmail and the like) is touched.
 */
export async function clearAudienceField(api: SalesforceApi, s: SalesforceSyncSettings, ops: readonly Operation[]): Promise<Map<string, RowResult>> {
  const located = await locateRecords(api, s, ops);
  const targets = ops.flatMap((op) => {
    const l = located.get(op.key)!;
    return 'id' in l ? [{ op, id: l.id }] : [];
  });
  const byId = targets.length > 0 ? await updateById(api, s, targets.map((t) => [t.id, s.clearedValue]), [s.audienceField!]) : new Map<string, RowResult>();
  return new Map(
    ops.map((op): [string, RowResult] => {
      const l = located.get(op.key)!;
      // No record carries this key: it is in no audience, so the removal holds.
      if (!('id' in l)) return [op.key, { status: 'succeeded' }];
      const r = byId.get(l.id) ?? unconfirmed('update');
      return [op.key, isDeletedError(r) ? { status: 'succeeded' } : r.status === 'succeeded' ? { status: 'succeeded', id: l.id } : r];
    }),
  );
}

/**
 * update mode: changes the mapped fields of records Salesforce already has, by
 * Id; a row with no record is rejected (update mode never creates one).
 */
export async function updateRecords(api: SalesforceApi, s: SalesforceSyncSettings, ops: readonly Operation[]): Promise<RowResult[]> {
  const located = await locateRecords(api, s, ops);
  const targets = ops.flatMap((op) => {
    const l = located.get(op.key)!;
    return 'id' in l ? [{ op, id: l.id }] : [];
  });
  const byId = targets.length > 0 ? await updateById(api, s, targets.map((t) => [t.id, ...s.fields.map((f) => bulkValue(t.op.fields[f]))]), s.fields) : new Map<string, RowResult>();
  return ops.map((op): RowResult => {
    const l = located.get(op.key)!;
    if (!('id' in l)) return { status: 'rejected', code: 'NOT_FOUND', message: `no ${s.object} has ${s.externalIdField} = this key; update mode never creates records` };
    const r = byId.get(l.id) ?? unconfirmed('update');
    return r.status === 'succeeded' ? { status: 'succeeded', id: l.id } : r;
  });
}

async function updateById(api: SalesforceApi, s: SalesforceSyncSettings, rows: string[][], columns: readonly string[]): Promise<Map<string, RowResult>> {
  const outcome = await runIngest(api, { object: s.object, operation: 'update', header: ['Id', ...columns], rows }, s.poll);
  return resultsBy(outcome, 'Id');
}

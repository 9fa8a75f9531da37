import type { Operation, RowResult } from '../../engine/destination/index.js';
import { errorsById, type HubSpotApi } from './hubspot-api.js';
import { chunks, idValueOf, missingIdProperty, rejectedBy, unconfirmed } from './batch-helpers.js';
import { comparableId } from './property-values.js';

/** Inputs per batch read call (HubSpot CRM v3 batch endpoints take at most 100 inputs). */
export const HUBSPOT_MAX_READ_INPUTS = 100;

/** Where a row's HubSpot contact is: its record id, known not to exist, or a result already decided. */
export type Located = { readonly id: string } | { readonly absent: true } | { readonly result: RowResult };

/**
 * The HubSpot record id of each row. The id written back by an earlier send
 * (destination_record_id) is used as is, so removals normally need no lookup;
 * rows without one (remove mode, rows first sent elsewhere) are looked up by
 * the unique property with batch/read, which never creates a contact.
 */
export async function locateContacts(api: HubSpotApi, ops: readonly Operation[], idProperty: string): Promise<Map<string, Located>> {
  const out = new Map<string, Located>();
  const byValue = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.destinationRecordId) {
      out.set(op.key, { id: op.destinationRecordId });
      continue;
    }
    const v = idValueOf(op, idProperty);
    if (v === undefined) {
      out.set(op.key, { result: missingIdProperty(idProperty) });
      continue;
    }
    const c = comparableId(idProperty, v);
    byValue.set(c, [...(byValue.get(c) ?? []), op]);
  }
  for (const values of chunks([...byValue.keys()], HUBSPOT_MAX_READ_INPUTS)) {
    const answer = await api.readContacts(idProperty, values);
    const found = new Map<string, string>();
    for (const r of answer.results) {
      const v = r.properties[idProperty];
      if (typeof v === 'string') found.set(comparableId(idProperty, v), r.id);
    }
    const errors = new Map([...errorsById(answer.errors)].map(([k, e]) => [comparableId(idProperty, k), e] as const));
    const ok = answer.status >= 200 && answer.status < 300;
    for (const v of values) {
      const id = found.get(v);
      const e = errors.get(v);
      const located: Located =
        id !== undefined
          ? { id }
          : e?.category === 'OBJECT_NOT_FOUND'
            ? { absent: true }
            : e
              ? { result: rejectedBy(e, answer.message) }
              : ok
                ? { result: unconfirmed(`the contact lookup with HTTP ${answer.status}`) }
                : { result: { status: 'rejected', code: answer.category ?? String(answer.status), message: `contact lookup: HTTP ${answer.status}: ${answer.message}` } };
      for (const op of byValue.get(v) ?? []) out.set(op.key, located);
    }
  }
  return out;
}

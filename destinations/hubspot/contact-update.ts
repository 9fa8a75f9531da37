import type { Operation, RowResult } from '../../engine/destination/index.js';
import { errorsById, errorsByTraceId, type HubSpotApi } from './hubspot-api.js';
import { chunks, rejectedBy, unconfirmed, uniqueRounds } from './batch-helpers.js';
import { locateContacts } from './contact-lookup.js';
import { propertiesOf } from './property-values.js';

/** Inputs per batch update call (HubSpot CRM v3 batch endpoints take at most 100 inputs). */
export const HUBSPOT_MAX_UPDATE_INPUTS = 100;

/**
 * `update` mode: changes the properties of contacts HubSpot already has, by
 * record id, and never creates one (batch/update, not upsert). A row whose
 * contact does not exist is rejected. List membership is left alone.
 */
export async function updateContacts(api: HubSpotApi, ops: readonly Operation[], idProperty: string): Promise<RowResult[]> {
  const located = await locateContacts(api, ops, idProperty);
  const out = new Map<string, RowResult>();
  const targets: Array<{ op: Operation; id: string }> = [];
  for (const op of ops) {
    const l = located.get(op.key)!;
    if ('id' in l) targets.push({ op, id: l.id });
    else if ('absent' in l) out.set(op.key, { status: 'rejected', code: 'OBJECT_NOT_FOUND', message: `no HubSpot contact has this ${idProperty}; update mode never creates contacts` });
    else out.set(op.key, l.result);
  }
  for (const round of uniqueRounds(targets, (t) => t.id)) {
    for (const chunk of chunks(round, HUBSPOT_MAX_UPDATE_INPUTS)) {
      const answer = await api.updateContacts(chunk.map((t) => ({ id: t.id, properties: propertiesOf(t.op.fields), objectWriteTraceId: t.op.key })));
      const ok = answer.status >= 200 && answer.status < 300;
      const byTrace = errorsByTraceId(answer.errors);
      const byId = errorsById(answer.errors);
      const updated = new Set(answer.results.map((r) => r.id));
      for (const t of chunk) {
        const e = byTrace.get(t.op.key) ?? byId.get(t.id);
        out.set(
          t.op.key,
          e
            ? rejectedBy(e, answer.message)
            : !ok
              ? { status: 'rejected', code: answer.category ?? String(answer.status), message: `HTTP ${answer.status}: ${answer.message}` }
              : updated.has(t.id)
                ? { status: 'succeeded', id: t.id }
                : unconfirmed(`HTTP ${answer.status}`),
        );
      }
    }
  }
  return ops.map((op) => out.get(op.key)!);
}

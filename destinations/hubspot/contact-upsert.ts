import type { Operation, RowResult } from '../../engine/destination/index.js';
import { errorsByTraceId, type BatchAnswer, type BatchResultObject, type HubSpotApi } from './hubspot-api.js';
import { chunks, comparableIdOf, idValueOf, missingIdProperty, rejectedBy, unconfirmed, uniqueRounds } from './batch-helpers.js';
import { comparableId, propertiesOf } from './property-values.js';

/** Inputs per batch upsert call (destinations/hubspot/README.md: "at most 100 inputs"). */
export const HUBSPOT_MAX_UPSERT_INPUTS = 100;

/**
 * Upserts the contacts of `ops` by `idProperty`, with objectWriteTraceId = the
 * record key so per-row errors map back to rows. Returns a result per key:
 * succeeded with the HubSpot record id, rejected, or failed when unconfirmed.
 */
export async function upsertContacts(api: HubSpotApi, ops: readonly Operation[], idProperty: string): Promise<Map<string, RowResult>> {
  const out = new Map<string, RowResult>();
  const sendable: Operation[] = [];
  for (const op of ops) {
    if (idValueOf(op, idProperty) === undefined) out.set(op.key, missingIdProperty(idProperty));
    else sendable.push(op);
  }
  for (const round of uniqueRounds(sendable, (op) => comparableIdOf(op, idProperty))) {
    for (const chunk of chunks(round, HUBSPOT_MAX_UPSERT_INPUTS)) await upsertChunk(api, chunk, idProperty, out);
  }
  return out;
}

async function upsertChunk(api: HubSpotApi, ops: readonly Operation[], idProperty: string, out: Map<string, RowResult>): Promise<void> {
  let sending = ops;
  // A 4xx writes nothing. When it names the inputs at fault, those are refused and
  // the others are sent once more, so one bad row does not reject its neighbours.
  for (let attempt = 1; sending.length > 0; attempt++) {
    const answer = await api.upsertContacts(
      sending.map((op) => ({ id: idValueOf(op, idProperty)!, idProperty, properties: propertiesOf(op.fields), objectWriteTraceId: op.key })),
    );
    if (answer.status >= 200 && answer.status < 300) {
      mapWriteAnswer(answer, sending, idProperty, out);
      return;
    }
    const named = errorsByTraceId(answer.errors);
    const rest = sending.filter((op) => !named.has(op.key));
    for (const op of sending) {
      const e = named.get(op.key);
      if (e) out.set(op.key, rejectedBy(e, answer.message));
    }
    if (rest.length === sending.length || attempt === 2) {
      for (const op of rest) out.set(op.key, { status: 'rejected', code: answer.category ?? String(answer.status), message: `HTTP ${answer.status}: ${answer.message}` });
      return;
    }
    sending = rest;
  }
}

/** Maps a 200/201/207 answer to rows: errors by trace id, results by trace id or by the unique property. */
function mapWriteAnswer(answer: BatchAnswer, ops: readonly Operation[], idProperty: string, out: Map<string, RowResult>): void {
  const byTrace = new Map<string, BatchResultObject>();
  const byValue = new Map<string, BatchResultObject>();
  for (const r of answer.results) {
    if (r.objectWriteTraceId !== undefined) byTrace.set(r.objectWriteTraceId, r);
    const v = r.properties[idProperty];
    if (typeof v === 'string') byValue.set(comparableId(idProperty, v), r);
  }
  const errors = errorsByTraceId(answer.errors);
  for (const op of ops) {
    const e = errors.get(op.key);
    if (e) {
      out.set(op.key, rejectedBy(e, 'refused by HubSpot'));
      continue;
    }
    const r = byTrace.get(op.key) ?? byValue.get(comparableIdOf(op, idProperty));
    out.set(op.key, r ? { status: 'succeeded', id: r.id } : unconfirmed(`HTTP ${answer.status}`));
  }
}

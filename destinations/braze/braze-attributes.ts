import type { JsonValue, Operation } from '../../engine/destination/index.js';
import type { BrazeTarget } from './braze-target.js';

/** Mapped field that, when present, names the Braze user instead of the record key. */
export const EXTERNAL_ID_FIELD = 'external_id';

/** One object of the /users/track `attributes` array. */
export type BrazeAttributes = Record<string, JsonValue> & { external_id: string; _update_existing_only: boolean };

/**
 * The Braze user an operation is about. A remove uses the id written back when
 * the member was sent (so a later key or field change cannot redirect it).
 */
export function externalIdOf(op: Operation): string {
  if (op.op === 'remove' && op.destinationRecordId) return op.destinationRecordId;
  const mapped = op.fields[EXTERNAL_ID_FIELD];
  return mapped === null || mapped === undefined || mapped === '' ? op.key : String(mapped);
}

/**
 * The attributes object for one operation. Adds and changes carry every mapped
 * field plus the membership attribute set to true; a remove carries only the
 * membership attribute (false or null), so profile data is left as it is, and
 * never creates a profile just to say "not a member".
 */
export function attributesFor(op: Operation, target: BrazeTarget, updateOnly: boolean): BrazeAttributes {
  const externalId = externalIdOf(op);
  if (op.op === 'remove') {
    return { external_id: externalId, [target.attribute]: target.removeValue, _update_existing_only: true } as BrazeAttributes;
  }
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(op.fields)) if (k !== EXTERNAL_ID_FIELD) out[k] = v;
  // Set last, so a mapped field of the same name cannot overwrite membership.
  out.external_id = externalId;
  out[target.attribute] = true;
  out._update_existing_only = updateOnly;
  return out as BrazeAttributes;
}

import type { JsonValue, Operation } from '../../engine/destination/index.js';
import type { IdentifyBy } from './iterable-target.js';

/** Mapped fields that name the user; everything else goes to dataFields. */
export const IDENTITY_FIELDS = ['email', 'userId'] as const;

/** One entry of `subscribers` in /api/lists/subscribe and /api/lists/unsubscribe. */
export interface Subscriber {
  email?: string;
  userId?: string;
  preferUserId?: boolean;
  dataFields?: Record<string, JsonValue>;
}

/** The value that names this row's user: the mapped email/userId field, else the record key. */
export function identityOf(op: Operation, by: IdentifyBy): string {
  const v = op.fields[by];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : op.key.trim();
}

/** How Iterable's failure lists are matched back: emails case-insensitively, user ids exactly. */
export function identityKey(id: string, by: IdentifyBy): string {
  return by === 'email' ? id.toLowerCase() : id;
}

/**
 * A subscriber for a subscribe call: the identity plus every other mapped
 * field as dataFields (the user's profile is updated with them).
 */
export function subscriberFor(op: Operation, by: IdentifyBy): Subscriber {
  const sub: Subscriber = by === 'email' ? { email: identityOf(op, by) } : { userId: identityOf(op, by), preferUserId: true };
  if (by === 'userId' && typeof op.fields.email === 'string' && op.fields.email !== '') sub.email = op.fields.email;
  const data: Record<string, JsonValue> = {};
  let any = false;
  for (const [k, v] of Object.entries(op.fields)) {
    if ((IDENTITY_FIELDS as readonly string[]).includes(k)) continue;
    data[k] = v;
    any = true;
  }
  if (any) sub.dataFields = data;
  return sub;
}

/** A subscriber for an unsubscribe call: the identity only; profile data is left alone. */
export function unsubscriberFor(op: Operation, by: IdentifyBy): Subscriber {
  return by === 'email' ? { email: identityOf(op, by) } : { userId: identityOf(op, by) };
}

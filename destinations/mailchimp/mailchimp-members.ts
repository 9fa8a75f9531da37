import { createHash } from 'node:crypto';
import type { JsonValue, Operation } from '../../engine/destination/index.js';
import type { MailchimpTarget } from './mailchimp-target.js';

/** Mapped fields that hold the member's email; if neither is mapped, the record key is the email. */
export const EMAIL_FIELDS = ['email_address', 'email'] as const;

/** One entry of the batch request's `members`. */
export interface BatchMember {
  email_address: string;
  status?: 'subscribed' | 'unsubscribed';
  status_if_new?: string;
  merge_fields?: Record<string, JsonValue>;
  tags?: string[];
}

export function emailOf(op: Operation): string {
  for (const f of EMAIL_FIELDS) {
    const v = op.fields[f];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return op.key.trim();
}

/** Mailchimp's member id: the MD5 of the lower-cased email (mailchimp.md). */
export function subscriberHash(email: string): string {
  return createHash('md5').update(email.toLowerCase()).digest('hex');
}

/**
 * The batch entry for an operation.
 * - tag mode: the tag is added and status set only for contacts new to the
 *   audience (`status_if_new`), so an existing contact's consent is untouched.
 * - status mode: a member entering the audience for the first time is
 *   subscribed; a member sent again (change, full refresh) keeps whatever status
 *   they chose since; a removal unsubscribes.
 * Removals in tag mode are not batch entries (see mailchimp-tags.ts).
 */
export function batchMemberFor(op: Operation, target: MailchimpTarget): BatchMember {
  const email_address = emailOf(op);
  if (op.op === 'remove') return { email_address, status: 'unsubscribed' };
  const merge = mergeFields(op);
  const member: BatchMember = { email_address };
  if (target.membership === 'tag') {
    member.status_if_new = target.statusIfNew;
    member.tags = [target.tag];
  } else if (op.op === 'add' && op.destinationRecordId === null) {
    member.status = 'subscribed';
  } else {
    member.status_if_new = 'subscribed';
  }
  if (merge) member.merge_fields = merge;
  return member;
}

/** Every mapped field but the email, under its own name as the merge tag (FNAME, LNAME, ...). */
function mergeFields(op: Operation): Record<string, JsonValue> | undefined {
  const out: Record<string, JsonValue> = {};
  let any = false;
  for (const [k, v] of Object.entries(op.fields)) {
    if ((EMAIL_FIELDS as readonly string[]).includes(k)) continue;
    // Mailchimp clears a merge field with an empty string; null is not a valid value.
    out[k] = v === null ? '' : v;
    any = true;
  }
  return any ? out : undefined;
}

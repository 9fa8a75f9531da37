import type { RowResult } from '../../engine/destination/index.js';
import { mailchimpPost, problemText, type MailchimpConnection } from './mailchimp-http.js';
import { MAILCHIMP_TAG_REQUESTS_IN_FLIGHT } from './mailchimp-limits.js';

/**
 * Removes the audience tag from one member: POST /lists/{id}/members/{hash}/tags
 * with status "inactive" (mailchimp.md). The member, their other tags and their
 * subscription status stay. 204 is success; 404 means Mailchimp has no such
 * member, so there is no tag to remove either: also success.
 */
export async function removeTag(c: MailchimpConnection, listId: string, hash: string, tag: string): Promise<RowResult> {
  const body = JSON.stringify({ tags: [{ name: tag, status: 'inactive' }] });
  const res = await mailchimpPost(c, `/lists/${encodeURIComponent(listId)}/members/${hash}/tags`, body);
  if (res.status >= 200 && res.status < 300) return { status: 'succeeded', id: hash };
  if (res.status === 404) return { status: 'succeeded', id: hash };
  return { status: 'rejected', code: String(res.status), message: `Mailchimp refused to remove tag ${JSON.stringify(tag)}: HTTP ${res.status}: ${problemText(res.text)}` };
}

/**
 * Runs `task` for every item with at most MAILCHIMP_TAG_REQUESTS_IN_FLIGHT at a
 * time (Mailchimp allows 10 connections per key). The first item goes alone:
 * while Mailchimp is throttling or failing, a batch costs one request, not a
 * burst of them (a 429 here means too many connections already). On the first
 * error no new task starts; running ones finish, then the error is thrown, so
 * the engine retries the whole batch (tag writes are idempotent).
 */
export async function inPool<T, R>(items: readonly T[], task: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  if (items.length === 0) return out;
  out[0] = await task(items[0]!);
  let next = 1;
  let error: unknown;
  const worker = async (): Promise<void> => {
    while (error === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await task(items[i]!);
      } catch (e) {
        error ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAILCHIMP_TAG_REQUESTS_IN_FLIGHT, items.length) }, worker));
  if (error !== undefined) throw error;
  return out;
}

import type { RowResult } from '../../engine/destination/index.js';
import { iterableError } from './iterable-http.js';
import { identityKey } from './iterable-subscribers.js';
import type { IdentifyBy } from './iterable-target.js';

export type ListCall = 'subscribe' | 'unsubscribe';

/** What a name in `failedUpdates` (or a legacy top-level list) means for the row. */
function outcomeOf(list: string, call: ListCall): RowResult {
  if (/^notFound/.test(list)) {
    // Unsubscribing someone Iterable does not know: they are not on the list, which is the goal.
    return call === 'unsubscribe'
      ? { status: 'succeeded' }
      : { status: 'rejected', code: list, message: 'Iterable has no such user (update mode creates no users)' };
  }
  if (/^forgotten/.test(list)) {
    return { status: 'rejected', code: list, message: 'privacy-deleted (forgotten) user in Iterable; audsync never re-adds them' };
  }
  if (/^invalidData/.test(list)) return { status: 'rejected', code: list, message: 'Iterable refused the data fields of this user (wrong type for an existing field)' };
  if (/^conflict/.test(list)) return { status: 'rejected', code: list, message: 'Iterable reported a conflict: the email and userId belong to different users' };
  return { status: 'rejected', code: list, message: `Iterable listed this subscriber in ${list}` };
}

/** Severity when one id appears in several lists: a refusal outranks "not found". */
const rank = (r: RowResult): number => (r.status === 'rejected' ? 2 : 1);

/**
 * Outcomes of one list call per identity key (iterable.md): HTTP 200
 * `{successCount, failCount, failedUpdates: {invalidEmails, notFoundEmails, …}}`
 * (older accounts put invalidEmails/invalidUserIds at the top level). Ids not
 * listed succeeded, unless `successCount` is smaller than their number: then
 * Iterable dropped some without saying which, and those rows are `failed`.
 * A 4xx refuses every subscriber of the call.
 */
export function mapListResponse(call: ListCall, status: number, text: string, ids: readonly string[], by: IdentifyBy): Map<string, RowResult> {
  const out = new Map<string, RowResult>();
  if (status < 200 || status >= 300) {
    const err = iterableError(text);
    const refusal: RowResult = { status: 'rejected', code: err.code || String(status), message: `Iterable refused the ${call} call: HTTP ${status}: ${err.msg}` };
    for (const id of ids) out.set(id, refusal);
    return out;
  }
  let body: Record<string, unknown> | undefined;
  try {
    const v: unknown = JSON.parse(text);
    body = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    body = undefined;
  }
  if (!body) {
    const reason: RowResult = { status: 'failed', code: 'unconfirmed', message: `Iterable answered HTTP ${status} without a readable result; retried next run` };
    for (const id of ids) out.set(id, reason);
    return out;
  }
  const lists: Array<[string, unknown]> = [];
  const failed = body.failedUpdates;
  if (failed && typeof failed === 'object') lists.push(...Object.entries(failed as Record<string, unknown>));
  for (const legacy of ['invalidEmails', 'invalidUserIds']) if (legacy in body) lists.push([legacy, body[legacy]]);
  const wanted = new Set(ids);
  for (const [name, values] of lists) {
    if (!Array.isArray(values)) continue;
    for (const v of values) {
      if (typeof v !== 'string') continue;
      const key = identityKey(v, by);
      if (!wanted.has(key)) continue;
      const r = outcomeOf(name, call);
      const prev = out.get(key);
      if (!prev || rank(r) > rank(prev)) out.set(key, r);
    }
  }
  const unlisted = ids.filter((id) => !out.has(id));
  const successCount = body.successCount;
  const confirmed = typeof successCount === 'number' && successCount < unlisted.length ? undefined : ({ status: 'succeeded' } as const);
  const dropped: RowResult = {
    status: 'failed',
    code: 'unconfirmed',
    message: `Iterable counted ${String(successCount)} successes for ${unlisted.length} subscribers it did not list as failed; not confirmed, retried next run`,
  };
  for (const id of unlisted) out.set(id, confirmed ?? dropped);
  return out;
}

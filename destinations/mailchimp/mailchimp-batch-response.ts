import type { RowResult } from '../../engine/destination/index.js';
import { problemText } from './mailchimp-http.js';

interface MemberRef {
  id?: unknown;
  email_address?: unknown;
}

interface MemberError {
  email_address?: unknown;
  error?: unknown;
  error_code?: unknown;
  field?: unknown;
  field_message?: unknown;
}

/**
 * Outcomes of one batch subscribe call by lower-cased email (mailchimp.md):
 * HTTP 200 lists `new_members` and `updated_members` (with the member `id`,
 * written back as destination_record_id) and `errors` keyed by email, which
 * are this row's refusal. An email the answer does not mention is not
 * confirmed: `failed`, retried next run. A 4xx refuses every member sent.
 */
export function mapBatchResponse(status: number, text: string, emails: readonly string[]): Map<string, RowResult> {
  const out = new Map<string, RowResult>();
  if (status < 200 || status >= 300) {
    const refusal: RowResult = { status: 'rejected', code: String(status), message: `Mailchimp refused the batch: HTTP ${status}: ${problemText(text)}` };
    for (const e of emails) out.set(e.toLowerCase(), refusal);
    return out;
  }
  let body: { new_members?: unknown; updated_members?: unknown; errors?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  for (const list of [body?.new_members, body?.updated_members]) {
    if (!Array.isArray(list)) continue;
    for (const m of list as MemberRef[]) {
      if (typeof m?.email_address !== 'string') continue;
      out.set(m.email_address.toLowerCase(), { status: 'succeeded', id: typeof m.id === 'string' ? m.id : undefined });
    }
  }
  if (Array.isArray(body?.errors)) {
    for (const e of body.errors as MemberError[]) {
      if (typeof e?.email_address !== 'string') continue;
      const field = typeof e.field === 'string' && e.field !== '' ? ` (${e.field}${typeof e.field_message === 'string' && e.field_message ? `: ${e.field_message}` : ''})` : '';
      out.set(e.email_address.toLowerCase(), {
        status: 'rejected',
        code: typeof e.error_code === 'string' && e.error_code !== '' ? e.error_code : 'error',
        message: `${typeof e.error === 'string' ? e.error : 'refused by Mailchimp'}${field}`,
      });
    }
  }
  const unconfirmed: RowResult = { status: 'failed', code: 'unconfirmed', message: "Mailchimp's answer did not mention this member; retried next run" };
  for (const e of emails) if (!out.has(e.toLowerCase())) out.set(e.toLowerCase(), unconfirmed);
  return out;
}

import { DestinationError, isTransientStatus, type HttpResponse, parseRetryAfter } from '../../engine/destination/index.js';

/** Throws a retryable DestinationError for 408/425/429/5xx, honouring Retry-After. */
export function throwIfTransient(res: HttpResponse, who: string, step: string): void {
  if (!isTransientStatus(res.status)) return;
  throw new DestinationError(`${who}: ${step}: HTTP ${res.status}${res.text ? `: ${res.text.slice(0, 200)}` : ''}`, {
    retryable: true,
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
    code: String(res.status),
  });
}

/** A REST error body `[{"errorCode","message"}]` as "CODE: message" (first entry), or the raw text. */
export function describeApiError(text: string): { code: string | undefined; message: string } {
  try {
    const parsed = JSON.parse(text) as unknown;
    const first = (Array.isArray(parsed) ? parsed[0] : parsed) as { errorCode?: unknown; message?: unknown; error?: unknown; error_description?: unknown } | undefined;
    const code = first?.errorCode ?? first?.error;
    const message = first?.message ?? first?.error_description;
    if (typeof code === 'string' || typeof message === 'string') {
      return { code: typeof code === 'string' ? code : undefined, message: [code, message].filter((x) => typeof x === 'string').join(': ') };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { code: undefined, message: text.slice(0, 300) };
}

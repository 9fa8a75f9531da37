import { DestinationError } from '../../engine/errors.js';
import { isTransientStatus, type HttpResponse } from '../../engine/destination/http-client.js';
import { parseRetryAfter } from '../../engine/run/retry-policy.js';

export interface RawRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
}

/**
 * One HTTP request that returns every status. Salesforce needs the body of a
 * 401 (to refresh the token) and of a 403 (REQUEST_LIMIT_EXCEEDED is a
 * throttle, not bad credentials), which the engine's httpRequest does not
 * return; network trouble is still a retryable DestinationError here.
 */
export async function rawRequest(req: RawRequest, who: string): Promise<HttpResponse> {
  let res: Response;
  try {
    // Never follow a redirect: the session token and member data go to the configured host or nowhere.
    res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(req.timeoutMs) });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no response within ${req.timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new DestinationError(`${who}: request failed: ${why}`, { retryable: true, cause: e, code: 'network' });
  }
  try {
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (e) {
    throw new DestinationError(`${who}: response cut off: ${(e as Error).message}`, { retryable: true, cause: e, code: 'network' });
  }
}

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

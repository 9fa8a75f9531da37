import { DestinationError } from '../errors.js';
import { parseRetryAfter } from '../run/retry-policy.js';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface HttpRequest {
  readonly method?: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  /** What to check when the destination refuses our credentials (401/403): the vendor's key, scopes, region. */
  readonly authHint?: string;
  /** Waited for before the request is sent: ctx.throttle, for requests that count against the vendor's rate limit. */
  readonly throttle?: () => Promise<void>;
}

/** Statuses that mean "try the same request again later". */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * One HTTP request with a timeout. Transient statuses (408, 425, 429, 5xx) and
 * network failures throw a retryable DestinationError carrying Retry-After;
 * 401/403 throw a non-retryable one naming `who`. Any other status is returned
 * for the destination to map per row.
 */
export async function httpRequest(req: HttpRequest, who: string): Promise<HttpResponse> {
  await req.throttle?.();
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: req.method ?? 'POST',
      headers: req.headers,
      body: req.body,
      // Never follow: fetch would repeat a POST as a GET (a 301-303 "success" from
      // another host) or forward member data and credentials there (307/308).
      redirect: 'manual',
      signal: AbortSignal.timeout(req.timeoutMs),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no response within ${req.timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new DestinationError(`${who}: request failed: ${why}`, { retryable: true, cause: e, code: 'network' });
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    throw new DestinationError(`${who}: response cut off: ${(e as Error).message}`, { retryable: true, cause: e, code: 'network' });
  }
  if (isTransientStatus(res.status)) {
    throw new DestinationError(`${who}: HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`, {
      retryable: true,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      code: String(res.status),
    });
  }
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.get('location');
    throw new DestinationError(`${who}: HTTP ${res.status} redirect to ${location ?? '(no Location)'}, not followed`, {
      retryable: false,
      code: String(res.status),
      hint: `Configure the final URL for ${who}; audsync never sends member data or credentials on to another address.`,
    });
  }
  if (res.status === 401 || res.status === 403) {
    throw new DestinationError(`${who}: HTTP ${res.status}, the destination refused our credentials${text ? `: ${text.slice(0, 200)}` : ''}`, {
      retryable: false,
      code: String(res.status),
      hint: req.authHint ?? `Check the credentials configured for ${who}.`,
    });
  }
  return { status: res.status, headers: res.headers, text };
}

/** `base` (vendor host or the configured baseUrl) joined with a path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { DestinationError } from '../errors.js';
import { parseRetryAfter } from './retry-policy.js';

/**
 * The default `maxResponseBytes`, and the cap outside a destination call: 4 MiB,
 * far more than any batch answer; an endless or misdirected body stops there.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

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
  /**
   * The answer carries credentials (an OAuth token endpoint's): returned as sent,
   * not redacted, since a token issued again may equal one already known. The
   * caller registers what it obtains (ctx.registerSecret).
   */
  readonly issuesCredentials?: boolean;
}

/** What binds every request of the destination being served. */
export interface DestinationScope {
  /** Bytes of a response body read at most. */
  readonly maxResponseBytes: number;
  /** The run's redactor: applied to each body before the destination sees it. */
  readonly redact: (text: string) => string;
}

/**
 * Set by the engine around every call into a destination (connect, sendBatch,
 * refreshJobs, close). Carried this way rather than as request fields so that
 * it binds every request made through this client, including those of custom
 * destinations that never heard of it.
 */
const destinationScope = new AsyncLocalStorage<DestinationScope>();

/** Runs `fn` (a call into a destination) under `scope`. */
export function inDestinationScope<T>(scope: DestinationScope, fn: () => T): T {
  return destinationScope.run(scope, fn);
}

/** Statuses that mean "try the same request again later". */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * One HTTP request with a timeout, every status returned, for destinations that
 * read error bodies themselves (Meta's throttling 400s, Salesforce's 401 refresh).
 * Network failures and a body cut off throw a retryable DestinationError. A
 * redirect is never followed: fetch would repeat a POST as a GET (a 301-303
 * "success" from another host) or forward member data and credentials there
 * (307/308), so a 3xx throws, naming the Location. The body is read up to the
 * destination's `maxResponseBytes`: past it the request fails (retryable, at
 * most that much read per attempt), never buffering an endless answer. Known
 * secrets are redacted from the body before anyone reads it: a credential the
 * server echoes must not survive into a message, even cut in half by an excerpt.
 */
export async function sendHttp(req: HttpRequest, who: string): Promise<HttpResponse> {
  await req.throttle?.();
  let res: Response;
  try {
    res = await fetch(req.url, { method: req.method ?? 'POST', headers: req.headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(req.timeoutMs) });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no response within ${req.timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new DestinationError(`${who}: request failed: ${why}`, { retryable: true, cause: e, code: 'network' });
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => undefined);
    const location = res.headers.get('location');
    throw new DestinationError(`${who}: HTTP ${res.status} redirect to ${location ?? '(no Location)'}, not followed`, {
      retryable: false,
      code: String(res.status),
      hint: `Configure the final URL for ${who}; audsync never sends member data or credentials on to another address.`,
    });
  }
  const scope = destinationScope.getStore();
  const text = await readBody(res, scope?.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, who);
  return { status: res.status, headers: res.headers, text: scope && !req.issuesCredentials ? scope.redact(text) : text };
}

/** The body as text, reading at most `max` bytes (after decompression, so a small gzip bomb is caught too). */
async function readBody(res: Response, max: number, who: string): Promise<string> {
  const tooLarge = (): DestinationError =>
    new DestinationError(`${who}: HTTP ${res.status} response body larger than ${max.toLocaleString('en-US')} bytes, not read further`, {
      retryable: true,
      code: 'response_too_large',
      hint: `Check that ${who} points at the API; if its answers really are this large, raise its maxResponseBytes.`,
    });
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max && !res.headers.has('content-encoding')) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof DestinationError) throw e;
    throw new DestinationError(`${who}: response cut off: ${(e as Error).message}`, { retryable: true, cause: e, code: 'network' });
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One HTTP request as sendHttp, for destinations that only read bodies of the
 * statuses they map per row. Transient statuses (408, 425, 429, 5xx) throw a
 * retryable DestinationError carrying Retry-After; 401/403 throw a
 * non-retryable one naming `who`. Any other status is returned.
 */
export async function httpRequest(req: HttpRequest, who: string): Promise<HttpResponse> {
  const res = await sendHttp(req, who);
  const { text } = res;
  if (isTransientStatus(res.status)) {
    throw new DestinationError(`${who}: HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`, {
      retryable: true,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      code: String(res.status),
    });
  }
  if (res.status === 401 || res.status === 403) {
    throw new DestinationError(`${who}: HTTP ${res.status}, the destination refused our credentials${text ? `: ${text.slice(0, 200)}` : ''}`, {
      retryable: false,
      code: String(res.status),
      hint: req.authHint ?? `Check the credentials configured for ${who}.`,
    });
  }
  return res;
}

/** `base` (vendor host or the configured baseUrl) joined with a path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

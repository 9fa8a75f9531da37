import { httpRequest, joinUrl, type HttpResponse, DestinationError } from '../../engine/destination/index.js';

export interface IterableConnection {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  /** A turn under the destination's rate limit, before every request. */
  readonly throttle?: () => Promise<void>;
  /** "destination <name> (Iterable)", the prefix of every message. */
  readonly who: string;
}

/** Iterable's error document: `{msg, code, params}`. */
export interface IterableError {
  readonly msg: string;
  readonly code: string;
}

export function iterableError(text: string): IterableError {
  try {
    const e = JSON.parse(text) as { msg?: unknown; code?: unknown };
    return { msg: typeof e.msg === 'string' ? e.msg : text.slice(0, 300), code: typeof e.code === 'string' ? e.code : '' };
  } catch {
    return { msg: text.slice(0, 300), code: '' };
  }
}

const AUTH_HINT = (who: string): string => `Check apiKey of ${who}: a server-side API key of the project that owns the list, and region ('us' or 'eu') matching the project.`;

/**
 * One JSON POST with the `Api-Key` header (iterable.md). 429 and 5xx come back
 * as retryable errors from httpRequest; Iterable's own error codes for
 * throttling and bad keys are honoured whatever status carries them.
 */
export async function iterablePost(c: IterableConnection, path: string, body: string): Promise<HttpResponse> {
  const res = await httpRequest(
    { url: joinUrl(c.baseUrl, path), headers: { 'api-key': c.apiKey, 'content-type': 'application/json', 'user-agent': 'audsync' }, body, timeoutMs: c.timeoutMs, authHint: AUTH_HINT(c.who), throttle: c.throttle },
    c.who,
  );
  if (res.status === 404) {
    // No such endpoint: every batch would fail the same way, so stop rather than reject row by row.
    throw new DestinationError(`${c.who}: HTTP 404 for ${path}`, {
      retryable: false,
      code: '404',
      hint: `Check region and baseUrl of ${c.who}: baseUrl replaces https://api.iterable.com (no /api suffix).`,
    });
  }
  if (res.status >= 400) {
    const err = iterableError(res.text);
    if (err.code === 'RateLimitExceeded') {
      throw new DestinationError(`${c.who}: HTTP ${res.status}: ${err.code}: ${err.msg}`, { retryable: true, code: err.code });
    }
    if (/ApiKey/i.test(err.code)) {
      throw new DestinationError(`${c.who}: HTTP ${res.status}, the destination refused our credentials: ${err.code}: ${err.msg}`, { retryable: false, code: err.code, hint: AUTH_HINT(c.who) });
    }
  }
  return res;
}

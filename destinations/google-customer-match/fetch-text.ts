import { DestinationError } from '../../engine/errors.js';

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * One request with a timeout; network trouble (refused, reset, timed out, body
 * cut off) is a retryable DestinationError. Every status is returned: Google's
 * bodies carry what tells a quota wait from a bad token, so the callers read them.
 */
export async function fetchText(url: string, init: { method: string; headers: Record<string, string>; body?: string }, timeoutMs: number, who: string): Promise<RawResponse> {
  let res: Response;
  try {
    // Never follow a redirect: tokens and member data go to Google's host or nowhere.
    res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no response within ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new DestinationError(`${who}: request failed: ${why}`, { retryable: true, cause: e, code: 'network' });
  }
  try {
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (e) {
    throw new DestinationError(`${who}: response cut off: ${(e as Error).message}`, { retryable: true, cause: e, code: 'network' });
  }
}

import { httpRequest, joinUrl, type HttpResponse, DestinationError } from '../../engine/destination/index.js';

export interface BrazeConnection {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  /** "destination <name> (Braze)", the prefix of every message. */
  readonly who: string;
}

/**
 * One JSON POST to Braze. Throttling (429) and 5xx come back as retryable
 * errors from httpRequest (Braze's retry headers for /users/track are not
 * reliably documented, so the engine backs off exponentially unless a
 * Retry-After is sent); 401/403 stop the sync with a Braze-specific hint.
 */
export async function brazePost(c: BrazeConnection, path: string, body: string): Promise<HttpResponse> {
  const res = await httpRequest(
    {
      url: joinUrl(c.baseUrl, path),
      headers: { authorization: `Bearer ${c.apiKey}`, 'content-type': 'application/json', 'user-agent': 'audsync' },
      body,
      timeoutMs: c.timeoutMs,
      authHint: `Check apiKey of ${c.who}: a REST API key of this workspace with the users.track permission${path.includes('subscription') ? ' and subscription.status.set' : ''}, and that baseUrl is your cluster's REST endpoint.`,
    },
    c.who,
  );
  if (res.status === 404) {
    // No such endpoint: every batch would fail the same way, so stop rather than reject row by row.
    throw new DestinationError(`${c.who}: HTTP 404 for ${path}`, {
      retryable: false,
      code: '404',
      hint: `Check baseUrl of ${c.who}: the cluster's REST endpoint without a path, e.g. https://rest.iad-01.braze.com.`,
    });
  }
  return res;
}

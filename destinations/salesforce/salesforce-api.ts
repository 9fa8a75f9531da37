import { DestinationError, joinUrl, sendHttp, type HttpResponse } from '../../engine/destination/index.js';
import { describeApiError, throwIfTransient } from './raw-request.js';
import type { OAuthSession, Session } from './oauth-session.js';

export interface ApiCall {
  readonly method: string;
  /** Path under the instance, e.g. /services/data/v62.0/jobs/ingest (or a nextRecordsUrl). */
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly accept?: string;
  /** What the call is for, in messages ("create ingest job"). */
  readonly step: string;
}

/**
 * Authenticated calls to the Salesforce REST and Bulk 2.0 APIs. A 401 refreshes
 * the access token once and repeats the call; a second 401 fails the sync.
 * REQUEST_LIMIT_EXCEEDED (Salesforce's throttle, sent as 403) and 5xx are
 * retryable; any other 4xx is returned for the caller to read.
 */
export class SalesforceApi {
  constructor(
    private readonly session: OAuthSession,
    readonly apiVersion: string,
    private readonly timeoutMs: number,
    readonly who: string,
    /** A turn under the destination's rate limit, before every API call (job steps and polls; not OAuth). */
    private readonly throttle?: () => Promise<void>,
  ) {}

  /** /services/data/v{N}/ + rest */
  dataPath(rest: string): string {
    return `/services/data/v${this.apiVersion}/${rest.replace(/^\/+/, '')}`;
  }

  async call(c: ApiCall): Promise<HttpResponse> {
    const first = await this.session.session();
    let res = await this.send(first, c);
    if (res.status === 401) {
      const renewed = await this.session.renewAfter(first);
      res = await this.send(renewed, c);
      if (res.status === 401) {
        throw new DestinationError(`${this.who}: Salesforce rejected the access token again right after refreshing it (${describeApiError(res.text).message})`, {
          retryable: false,
          code: '401',
          hint: "Check that the connected app's OAuth scopes include api and refresh_token, and that the user may use the API.",
        });
      }
    }
    throwIfTransient(res, this.who, c.step);
    if (res.status === 403) {
      const { code, message } = describeApiError(res.text);
      if (code === 'REQUEST_LIMIT_EXCEEDED') {
        const usage = res.headers.get('sforce-limit-info');
        throw new DestinationError(`${this.who}: ${c.step}: ${message}${usage ? ` (${usage})` : ''}`, { retryable: true, code });
      }
      throw new DestinationError(`${this.who}: ${c.step}: HTTP 403, Salesforce refused access (${message})`, {
        retryable: false,
        code: code ?? '403',
        hint: 'The user needs the "API Enabled" permission and access to the object and fields the sync writes.',
      });
    }
    return res;
  }

  /** A call whose answer must be one of `ok`; anything else stops the sync with what Salesforce said. */
  async expect(c: ApiCall, ok: readonly number[]): Promise<HttpResponse> {
    const res = await this.call(c);
    if (!ok.includes(res.status)) {
      const { code, message } = describeApiError(res.text);
      throw new DestinationError(`${this.who}: ${c.step}: HTTP ${res.status}: ${message}`, { retryable: false, code: code ?? String(res.status) });
    }
    return res;
  }

  private async send(s: Session, c: ApiCall): Promise<HttpResponse> {
    const headers: Record<string, string> = { authorization: `Bearer ${s.accessToken}`, accept: c.accept ?? 'application/json', 'user-agent': 'audsync' };
    if (c.contentType) headers['content-type'] = c.contentType;
    await this.throttle?.();
    return sendHttp({ method: c.method, url: joinUrl(s.apiBase, c.path), headers, body: c.body, timeoutMs: this.timeoutMs }, this.who);
  }
}

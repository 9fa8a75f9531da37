import { DestinationError, joinUrl, sendHttp, parseRetryAfter } from '../../engine/destination/index.js';
import { describeDmFailure, hasReason, parseDmFailure, type DmFailure } from './data-manager-failure.js';
import type { AccessTokenSource } from './token-cache.js';

/** Google refused one request for a reason that trying it again unchanged will not fix (a 4xx other than auth and quota). */
export class DataManagerRefusal extends DestinationError {
  constructor(
    message: string,
    readonly failure: DmFailure,
  ) {
    super(message, { retryable: false, code: failure.violations[0]?.reason ?? failure.reasons[0] ?? failure.status ?? String(failure.httpStatus) });
  }
}

export interface DataManagerEndpoint {
  /** Scheme and host (and optional path prefix): Google's, or the `baseUrl` option. */
  readonly baseUrl: string;
  /** e.g. "v1". */
  readonly apiVersion: string;
}

/** Who to blame when Google refuses the credential: the options that hold it. */
export interface CredentialNames {
  /** e.g. "serviceAccountKey" or "clientId, clientSecret and refreshToken". */
  readonly options: string;
  /** The identity Google sees, to be given access (a service account's email), when known. */
  readonly identity: string | undefined;
}

/**
 * JSON over HTTPS to the Data Manager API with an OAuth bearer token, sorting
 * failures: 429 RESOURCE_EXHAUSTED (Retry-After or RetryInfo honoured), 408 and
 * 5xx are retryable; a 401 gets one freshly minted token, then stops the sync;
 * 403 stops the sync with a hint for its cause; any other 4xx is a
 * DataManagerRefusal for the caller to map.
 */
export class DataManagerHttp {
  constructor(
    private readonly endpoint: DataManagerEndpoint,
    private readonly tokens: AccessTokenSource,
    private readonly timeoutMs: number,
    private readonly who: string,
    private readonly credential: CredentialNames,
    /** A turn under the destination's rate limit, before every request (ingest, remove, status). */
    private readonly throttle?: () => Promise<void>,
  ) {}

  /** `path` follows the version, e.g. `audienceMembers:ingest`; a body makes it a POST. */
  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
    const url = joinUrl(this.endpoint.baseUrl, `${this.endpoint.apiVersion}/${path}`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.accessToken();
      await this.throttle?.();
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'user-agent': 'audsync' };
      if (payload !== undefined) headers['content-type'] = 'application/json';
      const res = await sendHttp({ url, method, headers, ...(payload !== undefined ? { body: payload } : {}), timeoutMs: this.timeoutMs }, this.who);
      if (res.status >= 200 && res.status < 300) return parseObject(res.text, this.who);
      const failure = parseDmFailure(res.status, res.text);
      if (res.status === 401 && attempt === 1) {
        // Expired or revoked early: one new token, one more try.
        this.tokens.invalidate(token);
        continue;
      }
      throw this.classify(failure, res.headers, attempt > 1);
    }
  }

  private classify(f: DmFailure, headers: Headers, afterRefresh: boolean): DestinationError {
    const what = describeDmFailure(f);
    if (f.httpStatus === 429 || f.status === 'RESOURCE_EXHAUSTED') {
      // Limits and quotas: "Requests that exceed the limits are rejected with the error RESOURCE_EXHAUSTED and HTTP status 429".
      return new DestinationError(`${this.who}: Data Manager API quota exhausted (${what})`, {
        retryable: true,
        retryAfterMs: parseRetryAfter(headers.get('retry-after')) ?? f.retryDelayMs,
        code: 'RESOURCE_EXHAUSTED',
      });
    }
    if (f.httpStatus >= 500 || f.httpStatus === 408) {
      return new DestinationError(`${this.who}: the Data Manager API answered ${what}`, { retryable: true, code: String(f.httpStatus) });
    }
    if (f.httpStatus === 401) {
      return new DestinationError(`${this.who}: the Data Manager API refused our credentials${afterRefresh ? ' even with a freshly minted access token' : ''} (${what}); nothing more is sent`, {
        retryable: false,
        code: 'UNAUTHENTICATED',
        hint: `Check ${this.credential.options} of ${this.who}.`,
      });
    }
    if (f.httpStatus === 403) return new DestinationError(`${this.who}: the Data Manager API denied access (${what}); nothing more is sent`, { retryable: false, code: f.reasons[0] ?? 'PERMISSION_DENIED', hint: this.forbiddenHint(f) });
    return new DataManagerRefusal(`${this.who}: the Data Manager API refused the request (${what})`, f);
  }

  private forbiddenHint(f: DmFailure): string {
    if (hasReason(f, 'SERVICE_DISABLED', 'accessNotConfigured')) {
      return `Enable the Data Manager API in the Google Cloud project of the credentials in ${this.credential.options} of ${this.who} (console.cloud.google.com > APIs & Services > Library > Data Manager API).`;
    }
    if (hasReason(f, 'ACCESS_TOKEN_SCOPE_INSUFFICIENT')) {
      return `The credentials in ${this.credential.options} of ${this.who} lack the https://www.googleapis.com/auth/datamanager scope: issue the refresh token with that scope. An account already allow-listed for Customer Match through the Google Ads API can instead keep its adwords-scoped token with transport: 'googleAds'.`;
    }
    const who = this.credential.identity ? `${this.credential.identity} (from ${this.credential.options})` : `the Google account behind ${this.credential.options}`;
    return `Give ${who} access to every operating account in the sync's target.destinations (a user of the Google Ads account or Display & Video 360 advertiser), or name the manager account or partner it reaches them through in loginAccountId / loginPartnerId (${this.who}).`;
  }
}

function parseObject(text: string, who: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    throw new DestinationError(`${who}: the Data Manager API answered 2xx with a body that is not JSON`, { retryable: true, code: 'bad_response' });
  }
}

import { DestinationError, joinUrl, sendHttp, parseRetryAfter } from '../../engine/destination/index.js';
import { describeFailure, hasCode, parseFailure, type GoogleFailure } from './google-failure.js';
import type { AccessTokenSource } from './token-cache.js';

export interface GoogleAdsEndpoint {
  /** Scheme and host (and optional path prefix) of the API: Google's, or the `baseUrl` option. */
  readonly baseUrl: string;
  /** e.g. "v26". */
  readonly apiVersion: string;
  /** Manager account acting for the customer; sent as `login-customer-id` when set. */
  readonly loginCustomerId: string | undefined;
  /** Sent as `developer-token` when set (Google ignores the header since developer tokens were sunset, 2026-09-09). */
  readonly developerToken: string | undefined;
}

/** Google refused one request for a reason that trying it again will not fix (a 4xx other than auth and quota). */
export class GoogleRequestRefused extends DestinationError {
  constructor(
    message: string,
    readonly failure: GoogleFailure,
    hint?: string,
  ) {
    super(message, { retryable: false, code: failure.errors[0]?.code ?? failure.status ?? String(failure.httpStatus), hint });
  }
}

/** What to do about refusals that stop a sync (they come from the account or the list, not from a row). */
const REFUSAL_HINTS: Record<string, string> = {
  CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS:
    'Accept the Customer Match terms in the Google Ads account; an upload that adds people needs target.consent adUserData and adPersonalization other than DENIED.',
  INVALID_USER_LIST_ID: 'Check target.userListId: it must be a Customer Match (CRM-based) list of customerId.',
  INVALID_USER_LIST_TYPE: 'Check target.userListId: it must be a Customer Match (CRM-based) list of customerId.',
  USER_LIST_NOT_APPLICABLE: 'Check target.userListId: it must be a Customer Match (CRM-based) list of customerId.',
};

/** 401 codes that mean "this access token is no good": fetch a new one and try once more. */
const STALE_TOKEN_CODES = ['OAUTH_TOKEN_EXPIRED', 'OAUTH_TOKEN_INVALID', 'OAUTH_TOKEN_REVOKED', 'OAUTH_TOKEN_DISABLED', 'OAUTH_TOKEN_HEADER_INVALID'];

/**
 * POSTs JSON to the Google Ads REST API with the OAuth bearer token and the
 * account headers, and sorts failures: quota (429 / RESOURCE_EXHAUSTED, with
 * Google's retryDelay), CONCURRENT_MODIFICATION and 5xx are retryable; a stale
 * token is refreshed once; other auth failures stop the sync; any other 4xx is a
 * GoogleRequestRefused for the caller to map.
 */
export class GoogleAdsHttp {
  constructor(
    private readonly endpoint: GoogleAdsEndpoint,
    private readonly tokens: AccessTokenSource,
    private readonly timeoutMs: number,
    private readonly who: string,
    /** A turn under the destination's rate limit, before every request sent (creates, addOperations, runs, status searches). */
    private readonly throttle?: () => Promise<void>,
  ) {}

  /** `path` follows the version, e.g. `customers/123/offlineUserDataJobs:create`. */
  async post(path: string, body: unknown): Promise<Record<string, unknown>> {
    const url = joinUrl(this.endpoint.baseUrl, `${this.endpoint.apiVersion}/${path}`);
    const payload = JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.accessToken();
      await this.throttle?.();
      const res = await sendHttp({ url, method: 'POST', headers: this.headers(token), body: payload, timeoutMs: this.timeoutMs }, this.who);
      if (res.status >= 200 && res.status < 300) return parseObject(res.text, this.who);
      const failure = parseFailure(res.status, res.text);
      if (res.status === 401 && isStaleToken(failure) && attempt === 1) {
        // The token expired or was revoked early: one new token, one more try.
        this.tokens.invalidate(token);
        continue;
      }
      throw this.classify(failure, res.headers, attempt > 1);
    }
  }

  private headers(token: string): Record<string, string> {
    const h: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'user-agent': 'audsync' };
    if (this.endpoint.developerToken) h['developer-token'] = this.endpoint.developerToken;
    if (this.endpoint.loginCustomerId) h['login-customer-id'] = this.endpoint.loginCustomerId;
    return h;
  }

  private classify(f: GoogleFailure, headers: Headers, afterRefresh: boolean): DestinationError {
    const what = describeFailure(f);
    if (f.httpStatus === 429 || hasCode(f, 'RESOURCE_EXHAUSTED')) {
      return new DestinationError(`${this.who}: Google Ads quota exhausted (${what})`, {
        retryable: true,
        retryAfterMs: f.retryDelayMs ?? parseRetryAfter(headers.get('retry-after')),
        code: 'RESOURCE_EXHAUSTED',
      });
    }
    if (hasCode(f, 'CONCURRENT_MODIFICATION')) {
      // Another job is changing the same list: wait and try again (fact file: transient).
      return new DestinationError(`${this.who}: the user list is being changed by another job (${what})`, { retryable: true, code: 'CONCURRENT_MODIFICATION' });
    }
    if (f.httpStatus >= 500 || f.httpStatus === 408) {
      return new DestinationError(`${this.who}: Google Ads answered ${what}`, { retryable: true, code: String(f.httpStatus) });
    }
    if (f.httpStatus === 401) {
      return new DestinationError(
        `${this.who}: Google Ads refused our credentials${afterRefresh ? ' even with a freshly issued access token' : ''} (${what}); nothing more is sent`,
        {
          retryable: false,
          code: f.errors[0]?.code ?? 'UNAUTHENTICATED',
          hint: `Check the OAuth client (clientId, clientSecret, refreshToken) configured for ${this.who}${this.endpoint.developerToken ? ' and its developerToken' : ''}.`,
        },
      );
    }
    if (f.httpStatus === 403) {
      return new DestinationError(`${this.who}: Google Ads denied access (${what}); nothing more is sent`, {
        retryable: false,
        code: f.errors[0]?.code ?? 'PERMISSION_DENIED',
        hint: `Check customerId and loginCustomerId of ${this.who}: the OAuth user must have access to the account (through the manager account when loginCustomerId is set), and the list must belong to it.`,
      });
    }
    const hint = f.errors.map((e) => REFUSAL_HINTS[e.code]).find((h) => h !== undefined);
    return new GoogleRequestRefused(`${this.who}: Google Ads refused the request (${what})`, f, hint && `${hint} (${this.who})`);
  }
}

function isStaleToken(f: GoogleFailure): boolean {
  // A bare UNAUTHENTICATED (no Google Ads error inside) comes from the front end that checks the bearer token.
  return f.errors.length === 0 || hasCode(f, ...STALE_TOKEN_CODES);
}

function parseObject(text: string, who: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    throw new DestinationError(`${who}: Google Ads answered 2xx with a body that is not JSON`, { retryable: true, code: 'bad_response' });
  }
}

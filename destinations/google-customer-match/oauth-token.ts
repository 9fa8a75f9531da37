import { createHash } from 'node:crypto';
import { DestinationError } from '../../engine/errors.js';
import { isTransientStatus } from '../../engine/destination/http-client.js';
import { parseRetryAfter } from '../../engine/run/retry-policy.js';
import { fetchText } from './fetch-text.js';
import { TOKEN_DEFAULT_TTL_S, TOKEN_EXPIRY_MARGIN_MS } from './google-limits.js';

export interface OAuthCredentials {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
}

interface CachedToken {
  readonly accessToken: string;
  readonly expiresAt: number;
}

/**
 * Access tokens by credentials, shared in the process: a run's batches and the
 * job refresh before it use one token until it nears expiry. Keyed by a hash,
 * so the refresh token itself is not kept as a map key.
 */
const cache = new Map<string, CachedToken>();
const inFlight = new Map<string, Promise<CachedToken>>();

/**
 * An OAuth 2.0 refresh-token grant (RFC 6749 §6) against Google's token
 * endpoint: a cached access token, fetched again when it is about to expire or
 * when the API says it is no longer good (`invalidate`).
 */
export class OAuthTokenSource {
  private readonly key: string;

  constructor(
    private readonly creds: OAuthCredentials,
    private readonly timeoutMs: number,
    private readonly who: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHash('sha256').update(`${creds.tokenUrl}\n${creds.clientId}\n${creds.refreshToken}`).digest('hex');
  }

  async accessToken(): Promise<string> {
    const cached = cache.get(this.key);
    if (cached && cached.expiresAt - TOKEN_EXPIRY_MARGIN_MS > this.now()) return cached.accessToken;
    let pending = inFlight.get(this.key);
    if (!pending) {
      pending = this.fetchToken().finally(() => inFlight.delete(this.key));
      inFlight.set(this.key, pending);
    }
    const fresh = await pending;
    cache.set(this.key, fresh);
    return fresh.accessToken;
  }

  /** Forgets `token` (the API refused it) so the next call fetches a new one; a newer token is kept. */
  invalidate(token: string): void {
    if (cache.get(this.key)?.accessToken === token) cache.delete(this.key);
  }

  private async fetchToken(): Promise<CachedToken> {
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: this.creds.refreshToken,
      client_id: this.creds.clientId,
      client_secret: this.creds.clientSecret,
    }).toString();
    const res = await fetchText(this.creds.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }, this.timeoutMs, `${this.who} (OAuth token)`);
    if (isTransientStatus(res.status)) {
      throw new DestinationError(`${this.who}: the OAuth token endpoint answered HTTP ${res.status}`, {
        retryable: true,
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
        code: String(res.status),
      });
    }
    const parsed = safeJson(res.text);
    if (res.status >= 400 || typeof parsed?.access_token !== 'string') {
      // RFC 6749 §5.2 error codes (invalid_grant: refresh token expired or revoked; invalid_client: wrong client id or secret).
      const code = typeof parsed?.error === 'string' ? parsed.error : `HTTP ${res.status}`;
      const description = typeof parsed?.error_description === 'string' ? `: ${parsed.error_description}` : '';
      throw new DestinationError(`${this.who}: Google OAuth refused the credentials (${code}${description}); nothing more is sent`, {
        retryable: false,
        code: 'oauth_' + code.replace(/\W+/g, '_'),
        hint: `Check clientId, clientSecret and refreshToken of ${this.who}: the refresh token must be issued to that OAuth client with the https://www.googleapis.com/auth/adwords scope, and not revoked.`,
      });
    }
    const ttl = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : TOKEN_DEFAULT_TTL_S;
    return { accessToken: parsed.access_token, expiresAt: this.now() + ttl * 1000 };
  }
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

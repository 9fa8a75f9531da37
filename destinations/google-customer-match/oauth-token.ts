import { createHash } from 'node:crypto';
import { DestinationError, isTransientStatus, sendHttp, parseRetryAfter } from '../../engine/destination/index.js';
import { TOKEN_DEFAULT_TTL_S, TOKEN_EXPIRY_MARGIN_MS } from './google-limits.js';
import { CachedToken, type AccessTokenSource, type MintedToken } from './token-cache.js';

export interface OAuthCredentials {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
}

export interface OAuthTokenOptions {
  /** The scope the refresh token must carry, named in the hint when the token endpoint refuses it. */
  readonly scope: string;
  /** Told every access token handed out, so the run redacts it (ctx.registerSecret). */
  readonly onToken?: (token: string) => void;
  readonly now?: () => number;
}

/**
 * An OAuth 2.0 refresh-token grant (RFC 6749 §6) against Google's token
 * endpoint: a cached access token, fetched again when it is about to expire or
 * when the API says it is no longer good (`invalidate`).
 */
export class OAuthTokenSource implements AccessTokenSource {
  private readonly token: CachedToken;
  private readonly now: () => number;

  constructor(
    private readonly creds: OAuthCredentials,
    private readonly timeoutMs: number,
    private readonly who: string,
    private readonly opts: OAuthTokenOptions,
  ) {
    this.now = opts.now ?? Date.now;
    const key = createHash('sha256').update(`refresh\n${creds.tokenUrl}\n${creds.clientId}\n${creds.refreshToken}`).digest('hex');
    this.token = new CachedToken(key, () => this.fetchToken(), TOKEN_EXPIRY_MARGIN_MS, this.now, opts.onToken ?? (() => undefined));
  }

  accessToken(): Promise<string> {
    return this.token.get();
  }

  invalidate(token: string): void {
    this.token.invalidate(token);
  }

  private async fetchToken(): Promise<MintedToken> {
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: this.creds.refreshToken,
      client_id: this.creds.clientId,
      client_secret: this.creds.clientSecret,
    }).toString();
    const res = await sendHttp({ url: this.creds.tokenUrl, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, timeoutMs: this.timeoutMs, issuesCredentials: true }, `${this.who} (OAuth token)`);
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
        hint: `Check clientId, clientSecret and refreshToken of ${this.who}: the refresh token must be issued to that OAuth client with the ${this.opts.scope} scope, and not revoked.`,
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

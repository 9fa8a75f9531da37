import { DestinationError, joinUrl, sendHttp } from '../../engine/destination/index.js';
import { describeApiError, throwIfTransient } from './raw-request.js';

/** An access token and the instance it is valid for. */
export interface Session {
  readonly accessToken: string;
  /** Scheme and host API paths are appended to. */
  readonly apiBase: string;
}

export interface OAuthSettings {
  /** Where `/services/oauth2/token` lives: the login host, or the baseUrl. */
  readonly tokenBase: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly refreshToken: string;
  /** A token to start with, when configured; refreshed once it is rejected. */
  readonly accessToken: string | undefined;
  /** Fixed API host (baseUrl or the instanceUrl option); else the token response's instance_url. */
  readonly apiBase: string | undefined;
  readonly timeoutMs: number;
  readonly who: string;
  /** Told each access token obtained, so the run redacts it (ctx.registerSecret). */
  readonly onToken: (token: string) => void;
}

const REAUTHORIZE = 'Re-authorize the connected app for this user and update refreshToken (and clientId / clientSecret) in the destination config.';

/**
 * Holds the OAuth 2.0 session of one run. A token is obtained with the
 * refresh-token flow when none is configured, and refreshed when Salesforce
 * rejects the one in use; concurrent batches share one refresh.
 */
export class OAuthSession {
  private current: Session | undefined;
  private refreshing: Promise<Session> | undefined;

  constructor(private readonly s: OAuthSettings) {
    if (s.accessToken !== undefined && s.apiBase !== undefined) this.current = { accessToken: s.accessToken, apiBase: s.apiBase };
  }

  /** The session to use now. */
  async session(): Promise<Session> {
    return this.current ?? this.refresh();
  }

  /**
   * A session to retry with after Salesforce rejected `rejected`: the one
   * another batch refreshed meanwhile, or a fresh one.
   */
  async renewAfter(rejected: Session): Promise<Session> {
    if (this.current && this.current.accessToken !== rejected.accessToken) return this.current;
    return this.refresh();
  }

  private refresh(): Promise<Session> {
    this.refreshing ??= this.requestToken().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async requestToken(): Promise<Session> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: this.s.clientId, refresh_token: this.s.refreshToken });
    if (this.s.clientSecret !== undefined) form.set('client_secret', this.s.clientSecret);
    const res = await sendHttp(
      {
        method: 'POST',
        url: joinUrl(this.s.tokenBase, '/services/oauth2/token'),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'audsync' },
        body: form.toString(),
        timeoutMs: this.s.timeoutMs,
        issuesCredentials: true,
      },
      this.s.who,
    );
    throwIfTransient(res, this.s.who, 'token refresh');
    if (res.status !== 200) {
      // invalid_grant (revoked or expired refresh token), invalid_client_id, ...: no retry can fix these.
      const { code, message } = describeApiError(res.text);
      throw new DestinationError(`${this.s.who}: the OAuth token endpoint refused to refresh the access token (HTTP ${res.status}: ${message})`, {
        retryable: false,
        code: code ?? String(res.status),
        hint: REAUTHORIZE,
      });
    }
    let body: { access_token?: unknown; instance_url?: unknown };
    try {
      body = JSON.parse(res.text) as typeof body;
    } catch {
      body = {};
    }
    const apiBase = this.s.apiBase ?? (typeof body.instance_url === 'string' ? body.instance_url : undefined);
    if (typeof body.access_token !== 'string' || apiBase === undefined) {
      throw new DestinationError(`${this.s.who}: the OAuth token endpoint answered without access_token or instance_url`, { retryable: false, code: 'oauth', hint: REAUTHORIZE });
    }
    this.s.onToken(body.access_token);
    this.current = { accessToken: body.access_token, apiBase };
    return this.current;
  }
}

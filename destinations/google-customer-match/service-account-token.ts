import { createHash, createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { ConfigError, DestinationError, isTransientStatus, sendHttp, parseRetryAfter } from '../../engine/destination/index.js';
import { GOOGLE_OAUTH_TOKEN_URL, TOKEN_DEFAULT_TTL_S, TOKEN_EXPIRY_MARGIN_MS } from './google-limits.js';
import { CachedToken, type AccessTokenSource, type MintedToken } from './token-cache.js';

/** The parts of a service account's JSON key this grant uses. */
export interface ServiceAccountKey {
  readonly clientEmail: string;
  /** The PEM text, kept only to register it for redaction. */
  readonly privateKeyPem: string;
  readonly privateKey: KeyObject;
  readonly privateKeyId: string | undefined;
  /** The token endpoint the key names: the JWT's audience. */
  readonly tokenUri: string;
}

/**
 * Lifetime asked for in the assertion: Google takes at most one hour
 * (identity/protocols/oauth2/service-account: "exp ... a maximum of 1 hour after the issued time").
 */
const ASSERTION_TTL_S = 3_600;
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * Reads a service account's JSON key (the file Google Cloud's console downloads,
 * passed whole through env()). Every mistake names `at` and never quotes the key:
 * JSON.parse's own message would echo part of it.
 */
export function parseServiceAccountKey(json: string, at: string): ServiceAccountKey {
  const hint = 'Pass the whole JSON key file of the service account, e.g. serviceAccountKey: env(\'GOOGLE_SERVICE_ACCOUNT_JSON\') with GOOGLE_SERVICE_ACCOUNT_JSON="$(cat key.json)" (Google Cloud console > IAM & Admin > Service accounts > Keys > Add key > JSON).';
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ConfigError(`${at}: is not JSON (expected a service account's JSON key)`, { hint });
  }
  const o = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  if (o.type !== 'service_account') throw new ConfigError(`${at}: is not a service account key (its "type" must be "service_account")`, { hint });
  if (typeof o.client_email !== 'string' || !o.client_email.includes('@')) throw new ConfigError(`${at}: the key has no client_email`, { hint });
  if (typeof o.private_key !== 'string') throw new ConfigError(`${at}: the key has no private_key`, { hint });
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(o.private_key);
  } catch {
    throw new ConfigError(`${at}: private_key is not a PEM private key`, { hint });
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new ConfigError(`${at}: private_key is not an RSA key (Google signs service account assertions with RS256)`, { hint });
  const tokenUri = typeof o.token_uri === 'string' && /^https:\/\//.test(o.token_uri) ? o.token_uri : GOOGLE_OAUTH_TOKEN_URL;
  return { clientEmail: o.client_email, privateKeyPem: o.private_key, privateKey, privateKeyId: typeof o.private_key_id === 'string' ? o.private_key_id : undefined, tokenUri };
}

/** A signed RS256 JWT asking for `scope` (RFC 7523 §2.1; Google's service-account flow). */
export function signAssertion(key: ServiceAccountKey, scope: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' };
  if (key.privateKeyId) header.kid = key.privateKeyId;
  const claims = { iss: key.clientEmail, scope, aud: key.tokenUri, iat, exp: iat + ASSERTION_TTL_S };
  const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key.privateKey);
  return `${unsigned}.${base64url(signature)}`;
}

/**
 * Access tokens for a service account: a JWT signed with its private key is
 * exchanged at the token endpoint (JWT bearer grant) for an access token, cached
 * like the refresh-token grant's and minted again before it expires or when the
 * API refuses it.
 */
export class ServiceAccountTokenSource implements AccessTokenSource {
  private readonly token: CachedToken;
  private readonly now: () => number;

  constructor(
    private readonly key: ServiceAccountKey,
    private readonly opts: {
      readonly scope: string;
      /** Where the assertion is posted: the `tokenUrl` option, else Google's endpoint. */
      readonly tokenUrl: string;
      readonly timeoutMs: number;
      readonly who: string;
      /** The option holding the key, named in hints. */
      readonly option: string;
      /** Told every token handed out and every assertion signed, so the run redacts them. */
      readonly onToken?: (token: string) => void;
      readonly now?: () => number;
    },
  ) {
    this.now = opts.now ?? Date.now;
    const id = createHash('sha256').update(`jwt\n${opts.tokenUrl}\n${key.clientEmail}\n${key.privateKeyId ?? ''}\n${opts.scope}`).digest('hex');
    this.token = new CachedToken(id, () => this.mint(), TOKEN_EXPIRY_MARGIN_MS, this.now, opts.onToken ?? (() => undefined));
  }

  accessToken(): Promise<string> {
    return this.token.get();
  }

  invalidate(token: string): void {
    this.token.invalidate(token);
  }

  private async mint(): Promise<MintedToken> {
    const who = this.opts.who;
    const assertion = signAssertion(this.key, this.opts.scope, this.now());
    // The signed assertion buys a token for an hour: as secret as the token itself, should the endpoint echo it.
    this.opts.onToken?.(assertion);
    const body = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString();
    const res = await sendHttp({ url: this.opts.tokenUrl, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, timeoutMs: this.opts.timeoutMs, issuesCredentials: true }, `${who} (service account token)`);
    if (isTransientStatus(res.status)) {
      throw new DestinationError(`${who}: the OAuth token endpoint answered HTTP ${res.status}`, { retryable: true, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')), code: String(res.status) });
    }
    const parsed = safeJson(res.text);
    if (res.status >= 400 || typeof parsed?.access_token !== 'string' || parsed.access_token === '') {
      const code = typeof parsed?.error === 'string' ? parsed.error : `HTTP ${res.status}`;
      const description = typeof parsed?.error_description === 'string' ? `: ${parsed.error_description.slice(0, 200)}` : '';
      throw new DestinationError(`${who}: Google OAuth refused the service account ${this.key.clientEmail} (${code}${description}); nothing more is sent`, {
        retryable: false,
        code: 'oauth_' + code.replace(/\W+/g, '_'),
        hint: `Check ${this.opts.option} of ${who}: the key must belong to an existing, enabled service account and must not be deleted or disabled (Google Cloud console > IAM & Admin > Service accounts > Keys), and the machine's clock must be right (the signed assertion is valid for an hour).`,
      });
    }
    const ttl = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : TOKEN_DEFAULT_TTL_S;
    return { accessToken: parsed.access_token, expiresAt: this.now() + ttl * 1000 };
  }
}

function base64url(v: string | Buffer): string {
  return Buffer.from(v).toString('base64url');
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

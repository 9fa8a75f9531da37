import http from 'node:http';
import { generateKeyPairSync, randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { closeServer, listenOnLoopback, readRequestText } from './fake-http.js';
import { UserList, type WireIdentifier } from './google-ads-server.js';

/**
 * A fake Google Data Manager API (audienceMembers:ingest / :remove,
 * requestStatus:retrieve) and Google's OAuth token endpoint (refresh-token
 * grant and the service-account JWT bearer grant, whose RS256 signature, issuer,
 * audience, scope and lifetime it verifies), following the documented shapes
 * (developers.google.com/data-manager/api: reference/rest/v1, limits,
 * get-started/formatting, devguides/diagnostics): a real HTTP server on
 * 127.0.0.1. It checks what the API checks (bearer token it issued and its
 * scope, destinations and their accounts, at most 10,000 members and 10
 * destinations per request, at most 10 identifiers per member, SHA-256 hex,
 * encoding, consent enums, the Customer Match terms on ingests) and refuses a
 * request whole when one member is bad (400 with a BadRequest field violation on
 * `audience_members[i]`), as the quickstart shows. It ASSERTS that no raw
 * identifier reaches it: an '@' or a bare phone number in a hashed field is
 * recorded in `rawLeaks`. Accepted requests are processed later: their
 * members apply when a status read sees them finish (at once with
 * `applyOnIngest`).
 */

export type AccountType = 'GOOGLE_ADS' | 'DISPLAY_VIDEO_ADVERTISER' | 'DISPLAY_VIDEO_PARTNER' | 'DATA_PARTNER';
export interface AudienceRef {
  readonly accountType: AccountType;
  readonly accountId: string;
  readonly productDestinationId: string;
}

export const DM_SCOPE = 'https://www.googleapis.com/auth/datamanager';
export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';

export interface DataManagerFakeConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  /** Scope of tokens issued for the refresh token (e.g. the adwords scope, to provoke ACCESS_TOKEN_SCOPE_INSUFFICIENT). */
  readonly refreshTokenScope: string;
  /** Audiences that exist: Customer Match lists and DV360 first-party audiences. */
  readonly audiences: readonly AudienceRef[];
  readonly serviceAccountEmail: string;
}

export interface DataManagerFakeKnobs {
  /** The next n ingest/remove requests answer 429 RESOURCE_EXHAUSTED. */
  throttleNext: number;
  /** Retry-After header (seconds) on throttling answers; undefined sends none, only RetryInfo. */
  retryAfter: string | undefined;
  /** RetryInfo.retryDelay in throttling answers. */
  retryDelay: string;
  /** Requests allowed per rolling minute (the project quota); 429 above it. */
  perMinuteQuota: number;
  /** The next n ingest/remove requests answer 503 UNAVAILABLE. */
  failNext: number;
  /** The next n API requests find every issued token expired (401), forcing a new one. */
  expireTokensNext: number;
  /** Every API request is refused 401, even with a fresh token. */
  rejectAllTokens: boolean;
  /** The Data Manager API is not enabled in the caller's project (403 SERVICE_DISABLED). */
  serviceDisabled: boolean;
  /** Operating accounts the credentials cannot reach (403 PERMISSION_DENIED). */
  deniedAccounts: Set<string>;
  /** The token endpoint refuses the refresh token / the service account (400 invalid_grant). */
  refuseGrant: boolean;
  tokenTtlSeconds: number;
  /** Every ingest/remove waits this long before answering. */
  delayMs: number;
  /** Apply accepted requests at once and report them SUCCESS (the shared scenarios). */
  applyOnIngest: boolean;
  /** Status reads that see a request PROCESSING before it finishes. */
  pollsToFinish: number;
  /** Members holding one of these identifier values are refused with this reason. */
  rejectIdentifiers: Map<string, { reason: string; description: string }>;
  /** How the next accepted requests finish, in order (default SUCCESS); FAILED applies nothing. */
  outcomeNext: Array<'FAILED' | 'PARTIAL_SUCCESS'>;
  /** Status reads of these request ids answer 404 (Google no longer knows them). */
  forgetRequests: Set<string>;
  /** Error answers quote the caller's bearer token in their message and field violations (a hostile or careless server). */
  echoToken: boolean;
}

export interface StoredRequest {
  readonly requestId: string;
  readonly kind: 'ingest' | 'remove';
  readonly destinations: readonly AudienceRef[];
  readonly members: ReadonlyArray<{ identifiers: WireIdentifier[]; consent: Record<string, string> | undefined }>;
  readonly requestConsent: Record<string, string> | undefined;
  readonly terms: string | undefined;
  outcome: 'SUCCESS' | 'FAILED' | 'PARTIAL_SUCCESS';
  finished: boolean;
  polls: number;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  body: unknown;
  status: number;
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const RAW_EMAIL = /@/;
const RAW_PHONE = /^\+?[0-9][0-9 ().-]{5,}$/;
/** limits: 10,000 members per request, 10 identifiers per member; ErrorReason: 10 destinations per request. */
const MAX_MEMBERS = 10_000;
const MAX_IDENTIFIERS = 10;
const MAX_DESTINATIONS = 10;
const CONSENT_VALUES = ['CONSENT_STATUS_UNSPECIFIED', 'CONSENT_GRANTED', 'CONSENT_DENIED'];
const ACCOUNT_TYPES: readonly string[] = ['GOOGLE_ADS', 'DISPLAY_VIDEO_ADVERTISER', 'DISPLAY_VIDEO_PARTNER', 'DATA_PARTNER'];

export class FakeDataManagerServer {
  readonly config: DataManagerFakeConfig;
  readonly knobs: DataManagerFakeKnobs = {
    throttleNext: 0,
    retryAfter: '0',
    retryDelay: '0.01s',
    perMinuteQuota: Number.POSITIVE_INFINITY,
    failNext: 0,
    expireTokensNext: 0,
    rejectAllTokens: false,
    serviceDisabled: false,
    deniedAccounts: new Set(),
    refuseGrant: false,
    tokenTtlSeconds: 3599,
    delayMs: 0,
    applyOnIngest: false,
    pollsToFinish: 2,
    rejectIdentifiers: new Map(),
    outcomeNext: [],
    forgetRequests: new Set(),
    echoToken: false,
  };
  readonly lists = new Map<string, UserList>();
  /** Consent last given per member (email hash or first identifier), per audience. */
  readonly consents = new Map<string, Map<string, Record<string, string>>>();
  readonly stored = new Map<string, StoredRequest>();
  readonly requests: LoggedRequest[] = [];
  readonly rawLeaks: Array<{ field: string; value: string }> = [];
  /** Requests refused as malformed: a connector bug unless a test provoked it. */
  readonly malformed: Array<{ path: string; reason: string }> = [];
  /** Every access token issued, so tests can look for them in what audsync wrote. */
  readonly issuedTokens: string[] = [];
  /** JWT assertions received, decoded (header, claims). */
  readonly assertions: Array<{ header: Record<string, unknown>; claims: Record<string, unknown> }> = [];
  tokenRequests = 0;
  writeRequests = 0;
  private readonly tokens = new Map<string, { expiresAt: number; scope: string }>();
  private readonly recent: number[] = [];
  private readonly publicKey: KeyObject;
  private readonly privateKeyPem: string;
  private server: http.Server | undefined;

  constructor(config: Partial<DataManagerFakeConfig> = {}) {
    this.config = {
      clientId: 'dm-client.apps.googleusercontent.com',
      clientSecret: 'dm-client-secret',
      refreshToken: 'dm-refresh-token',
      refreshTokenScope: DM_SCOPE,
      audiences: [{ accountType: 'GOOGLE_ADS', accountId: '1234567890', productDestinationId: '555' }],
      serviceAccountEmail: 'audsync@fake-project.iam.gserviceaccount.com',
      ...config,
    };
    for (const a of this.config.audiences) this.lists.set(audienceKey(a), new UserList());
    const pair = serviceAccountKeyPair();
    this.publicKey = pair.publicKey;
    this.privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  get tokenUrl(): string {
    return `${this.baseUrl}/token`;
  }

  /** A service account JSON key whose public half this fake trusts. */
  serviceAccountKeyJson(overrides: Record<string, unknown> = {}): string {
    return JSON.stringify({
      type: 'service_account',
      project_id: 'fake-project',
      private_key_id: 'k1',
      private_key: this.privateKeyPem,
      client_email: this.config.serviceAccountEmail,
      client_id: '1',
      token_uri: GOOGLE_TOKEN_AUDIENCE,
      ...overrides,
    });
  }

  async start(): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  /** Members of an audience (default: the first configured), keyed like the Google Ads fake's lists. */
  members(ref: AudienceRef = this.config.audiences[0]!): ReadonlyMap<string, WireIdentifier[]> {
    return this.lists.get(audienceKey(ref))!.users;
  }

  /** Ingest/remove bodies answered 200. */
  accepted(kind?: 'ingest' | 'remove'): Array<Record<string, unknown>> {
    return this.requests.filter((r) => r.status === 200 && /audienceMembers:(ingest|remove)$/.test(r.path) && (!kind || r.path.endsWith(kind))).map((r) => r.body as Record<string, unknown>);
  }

  /** Finishes every accepted request, as if Google's processing were done. */
  finishAll(): void {
    for (const r of this.stored.values()) if (!r.finished) this.finish(r);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { text, path } = await readRequestText(req);
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const entry: LoggedRequest = { method: req.method ?? '', path, query, headers: req.headers, body: undefined, status: 0 };
    this.requests.push(entry);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      if (this.knobs.echoToken && status >= 400) echo(body, String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers }).end(JSON.stringify(body));
    };
    if (path === '/token') return this.token(text, send, entry);
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        return this.malformedRequest(send, path, 'body is not JSON');
      }
    }
    entry.body = body;
    await this.api(req, path, query, body, send);
  }

  // ---- OAuth ---------------------------------------------------------------

  private token(raw: string, send: (s: number, b: unknown) => void, entry: LoggedRequest): void {
    this.tokenRequests += 1;
    const form = new URLSearchParams(raw);
    const grant = form.get('grant_type');
    entry.body = { grant_type: grant };
    let scope: string;
    if (grant === 'refresh_token') {
      if (form.get('client_id') !== this.config.clientId || form.get('client_secret') !== this.config.clientSecret) return send(401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' });
      if (form.get('refresh_token') !== this.config.refreshToken || this.knobs.refuseGrant) return send(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      scope = this.config.refreshTokenScope;
    } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const problem = this.checkAssertion(form.get('assertion') ?? '');
      if (problem) return send(400, { error: 'invalid_grant', error_description: problem });
      if (this.knobs.refuseGrant) return send(400, { error: 'invalid_grant', error_description: 'Invalid grant: account not found' });
      scope = DM_SCOPE;
    } else {
      return send(400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
    }
    const token = `ya29.dm-${this.tokenRequests}-${randomBytes(8).toString('hex')}`;
    this.tokens.set(token, { expiresAt: Date.now() + this.knobs.tokenTtlSeconds * 1000, scope });
    this.issuedTokens.push(token);
    send(200, { access_token: token, expires_in: this.knobs.tokenTtlSeconds, scope, token_type: 'Bearer' });
  }

  /** Why Google would refuse this service-account assertion (identity/protocols/oauth2/service-account), or undefined. */
  private checkAssertion(jwt: string): string | undefined {
    const parts = jwt.split('.');
    if (parts.length !== 3) return 'Invalid JWT: not three parts';
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return 'Invalid JWT: not base64url JSON';
    }
    this.assertions.push({ header, claims });
    if (header.alg !== 'RS256') return 'Invalid JWT: alg must be RS256';
    if (!verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), this.publicKey, Buffer.from(parts[2]!, 'base64url'))) return 'Invalid JWT Signature.';
    if (claims.iss !== this.config.serviceAccountEmail) return 'Invalid JWT: unknown issuer';
    if (claims.aud !== GOOGLE_TOKEN_AUDIENCE) return 'Invalid JWT: aud must be the token endpoint';
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(DM_SCOPE)) return 'Invalid JWT: scope';
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return 'Invalid JWT: iat and exp are required';
    if (claims.exp - claims.iat > 3600) return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.';
    if (claims.exp <= now || claims.iat > now + 300) return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.';
    return undefined;
  }

  // ---- API -----------------------------------------------------------------

  private async api(req: http.IncomingMessage, path: string, query: URLSearchParams, body: unknown, send: (s: number, b: unknown, h?: Record<string, string>) => void): Promise<void> {
    const m = /^\/v1\/(audienceMembers:ingest|audienceMembers:remove|requestStatus:retrieve)$/.exec(path);
    if (!m) return this.malformedRequest(send, path, `no such method: ${req.method} ${path}`, 404, 'NOT_FOUND');
    const method = m[1]!;
    const wantMethod = method === 'requestStatus:retrieve' ? 'GET' : 'POST';
    if (req.method !== wantMethod) return this.malformedRequest(send, path, `${method} takes ${wantMethod}`, 404, 'NOT_FOUND');
    const denied = this.checkAuth(req);
    if (denied) return send(denied.status, denied.body);
    if (method === 'requestStatus:retrieve') return this.retrieve(query, send, path);

    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return this.malformedRequest(send, path, 'content-type must be application/json');
    this.writeRequests += 1;
    if (this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
    const now = Date.now();
    while (this.recent.length > 0 && this.recent[0]! <= now - 60_000) this.recent.shift();
    this.recent.push(now);
    if (this.knobs.throttleNext > 0 || this.recent.length > this.knobs.perMinuteQuota) {
      if (this.knobs.throttleNext > 0) this.knobs.throttleNext -= 1;
      const headers: Record<string, string> = this.knobs.retryAfter === undefined ? {} : { 'retry-after': this.knobs.retryAfter };
      return send(
        429,
        rpcError(429, 'RESOURCE_EXHAUSTED', 'Too many requests.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'RESOURCE_EXHAUSTED', domain: 'datamanager.googleapis.com' },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: this.knobs.retryDelay },
        ]),
        headers,
      );
    }
    if (this.knobs.failNext > 0) {
      this.knobs.failNext -= 1;
      return send(503, rpcError(503, 'UNAVAILABLE', 'The service is currently unavailable.', []));
    }
    return this.ingestOrRemove(method === 'audienceMembers:ingest' ? 'ingest' : 'remove', body, send, path);
  }

  private checkAuth(req: http.IncomingMessage): { status: number; body: unknown } | undefined {
    const m = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''));
    const unauthenticated = { status: 401, body: rpcError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ACCESS_TOKEN_EXPIRED', domain: 'googleapis.com' }]) };
    if (!m) return unauthenticated;
    if (this.knobs.expireTokensNext > 0) {
      this.knobs.expireTokensNext -= 1;
      for (const t of this.tokens.values()) t.expiresAt = 0;
    }
    const t = this.tokens.get(m[1]!);
    if (this.knobs.rejectAllTokens || !t || t.expiresAt <= Date.now()) return unauthenticated;
    if (this.knobs.serviceDisabled) {
      return { status: 403, body: rpcError(403, 'PERMISSION_DENIED', 'Data Manager API has not been used in project 1 before or it is disabled.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'SERVICE_DISABLED', domain: 'googleapis.com' }]) };
    }
    if (!t.scope.split(' ').includes(DM_SCOPE)) {
      return { status: 403, body: rpcError(403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT', domain: 'googleapis.com' }]) };
    }
    return undefined;
  }

  private ingestOrRemove(kind: 'ingest' | 'remove', body: unknown, send: (s: number, b: unknown) => void, path: string): void {
    if (!isObject(body)) return this.malformedRequest(send, path, 'body must be an object');
    const known = kind === 'ingest' ? ['destinations', 'audienceMembers', 'consent', 'validateOnly', 'encoding', 'encryptionInfo', 'termsOfService'] : ['destinations', 'audienceMembers', 'validateOnly', 'encoding', 'encryptionInfo'];
    for (const k of Object.keys(body)) if (!known.includes(k)) return this.malformedRequest(send, path, `Invalid JSON payload received. Unknown name "${k}"`);
    // Destinations.
    const dests = Array.isArray(body.destinations) ? body.destinations : [];
    if (dests.length === 0) return this.refuse(send, [{ field: 'destinations', reason: 'REQUIRED_FIELD_MISSING', description: 'At least one destination is required.' }]);
    if (dests.length > MAX_DESTINATIONS) return this.refuse(send, [{ field: 'destinations', reason: 'TOO_MANY_DESTINATIONS', description: `Maximum number of destinations allowed per request is ${MAX_DESTINATIONS}.` }]);
    const refs: AudienceRef[] = [];
    for (const [i, d] of dests.entries()) {
      const op = isObject(d) && isObject(d.operatingAccount) ? d.operatingAccount : undefined;
      if (!isObject(d) || !op || typeof op.accountType !== 'string' || !ACCOUNT_TYPES.includes(op.accountType) || typeof op.accountId !== 'string' || !/^\d+$/.test(op.accountId) || typeof d.productDestinationId !== 'string') {
        return this.malformedRequest(send, path, `destinations[${i}] must have operatingAccount { accountType, accountId } and productDestinationId`);
      }
      if (d.loginAccount !== undefined && !(isObject(d.loginAccount) && typeof d.loginAccount.accountType === 'string' && ACCOUNT_TYPES.includes(d.loginAccount.accountType) && typeof d.loginAccount.accountId === 'string' && /^\d+$/.test(d.loginAccount.accountId))) {
        return this.malformedRequest(send, path, `destinations[${i}].loginAccount must be { accountType, accountId }`);
      }
      const ref: AudienceRef = { accountType: op.accountType as AccountType, accountId: op.accountId, productDestinationId: d.productDestinationId };
      if (this.knobs.deniedAccounts.has(op.accountId)) {
        return send(403, rpcError(403, 'PERMISSION_DENIED', 'The caller does not have permission', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'PERMISSION_DENIED', domain: 'datamanager.googleapis.com' }]));
      }
      if (!this.lists.has(audienceKey(ref))) return this.refuse(send, [{ field: `destinations[${i}].product_destination_id`, reason: 'INVALID_USER_LIST_ID', description: 'User list is not valid.' }], 'INVALID_USER_LIST_ID');
      refs.push(ref);
    }
    if (body.encoding !== 'HEX' && body.encoding !== 'BASE64') return this.refuse(send, [{ field: 'encoding', reason: 'REQUIRED_FIELD_MISSING', description: 'Encoding is required for UserData uploads.' }]);
    let requestConsent: Record<string, string> | undefined;
    if (body.consent !== undefined) {
      requestConsent = consentOf(body.consent);
      if (!requestConsent) return this.refuse(send, [{ field: 'consent', reason: 'INVALID_ENUM_VALUE', description: 'Enum value cannot be used.' }]);
    }
    const terms = isObject(body.termsOfService) && typeof body.termsOfService.customerMatchTermsOfServiceStatus === 'string' ? body.termsOfService.customerMatchTermsOfServiceStatus : undefined;
    // ingest: "This must be accepted for all uploads to Customer Match userlists."
    if (kind === 'ingest' && terms !== 'ACCEPTED') {
      return send(400, rpcError(400, 'INVALID_ARGUMENT', 'Required terms and conditions are not accepted.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'TERMS_AND_CONDITIONS_NOT_SIGNED', domain: 'datamanager.googleapis.com' }]));
    }
    // Members.
    const members = Array.isArray(body.audienceMembers) ? body.audienceMembers : [];
    if (members.length === 0) return this.refuse(send, [{ field: 'audience_members', reason: 'REQUIRED_FIELD_MISSING', description: 'At least one audience member is required.' }]);
    if (members.length > MAX_MEMBERS) return this.refuse(send, [{ field: 'audience_members', reason: 'TOO_MANY_AUDIENCE_MEMBERS', description: `Maximum number of audience members allowed per request is ${MAX_MEMBERS.toLocaleString('en-US')}.` }]);
    const violations: Array<{ field: string; reason: string; description: string }> = [];
    const parsed: Array<{ identifiers: WireIdentifier[]; consent: Record<string, string> | undefined }> = [];
    for (const [i, member] of members.entries()) {
      const at = `audience_members.audience_members[${i}]`;
      const problem = this.checkMember(member, kind);
      if (problem) violations.push({ field: problem.field ? `${at}.${problem.field}` : at, reason: problem.reason, description: problem.description });
      else parsed.push(toStored(member as Record<string, unknown>));
    }
    if (violations.length > 0) return this.refuse(send, violations);
    // Accepted: nothing is applied until the request is processed.
    const requestId = randomUUID();
    const outcome = this.knobs.outcomeNext.shift() ?? 'SUCCESS';
    const stored: StoredRequest = { requestId, kind, destinations: refs, members: parsed, requestConsent, terms, outcome, finished: false, polls: 0 };
    this.stored.set(requestId, stored);
    if (this.knobs.applyOnIngest) this.finish(stored);
    send(200, { requestId });
  }

  /** Why Google would refuse this member, or undefined. */
  private checkMember(member: unknown, kind: 'ingest' | 'remove'): { field?: string; reason: string; description: string } | undefined {
    if (!isObject(member)) return { reason: 'INVALID_AUDIENCE_MEMBER', description: 'This audience member is not valid.' };
    for (const k of Object.keys(member)) {
      if (!['userData', 'consent', 'destinationReferences'].includes(k)) return { reason: 'INVALID_AUDIENCE_MEMBER', description: `${k} is not taken in this fake (one data type per request: userData)` };
    }
    if (member.consent !== undefined) {
      if (kind === 'remove') return { field: 'consent', reason: 'INVALID_ARGUMENT', description: 'consent is not taken on removal' };
      if (!consentOf(member.consent)) return { field: 'consent', reason: 'INVALID_ENUM_VALUE', description: 'Enum value cannot be used.' };
    }
    const ids = isObject(member.userData) && Array.isArray(member.userData.userIdentifiers) ? member.userData.userIdentifiers : undefined;
    if (!ids || ids.length === 0) return { field: 'user_data', reason: 'REQUIRED_FIELD_MISSING', description: 'At least one user identifier is required.' };
    if (ids.length > MAX_IDENTIFIERS) return { field: 'user_data.user_identifiers', reason: 'TOO_MANY_USER_IDENTIFIERS', description: `Maximum number of user identifiers allowed per audience member is ${MAX_IDENTIFIERS}.` };
    for (const id of ids) {
      const keys = isObject(id) ? Object.keys(id) : [];
      if (keys.length !== 1 || !['emailAddress', 'phoneNumber', 'address'].includes(keys[0]!)) return { field: 'user_data.user_identifiers', reason: 'INVALID_FORMAT', description: 'Exactly one of emailAddress, phoneNumber, address must be set.' };
      const o = id as Record<string, unknown>;
      const hashed: Array<[string, unknown]> = [];
      if ('emailAddress' in o) hashed.push(['emailAddress', o.emailAddress]);
      if ('phoneNumber' in o) hashed.push(['phoneNumber', o.phoneNumber]);
      if ('address' in o) {
        const a = isObject(o.address) ? o.address : {};
        hashed.push(['address.givenName', a.givenName], ['address.familyName', a.familyName]);
        if (!(typeof a.regionCode === 'string' && /^[A-Z]{2}$/.test(a.regionCode))) return { field: 'user_data.user_identifiers', reason: 'INVALID_FORMAT', description: 'regionCode must be a 2-letter ISO-3166-1 alpha-2 code.' };
        if (!(typeof a.postalCode === 'string' && a.postalCode.trim() !== '')) return { field: 'user_data.user_identifiers', reason: 'INVALID_POSTAL_CODE', description: 'Postal code is not valid.' };
      }
      for (const [field, v] of hashed) {
        if (typeof v === 'string' && (RAW_EMAIL.test(v) || RAW_PHONE.test(v))) this.rawLeaks.push({ field, value: v });
        if (!(typeof v === 'string' && SHA256_HEX.test(v))) return { field: 'user_data.user_identifiers', reason: 'INVALID_SHA256_FORMAT', description: `${field} is not a hex-encoded SHA-256 hash.` };
        const r = this.knobs.rejectIdentifiers.get(v);
        if (r) return { reason: r.reason, description: r.description };
      }
    }
    return undefined;
  }

  private retrieve(query: URLSearchParams, send: (s: number, b: unknown) => void, path: string): void {
    const id = query.get('requestId');
    if (!id) return this.malformedRequest(send, path, 'requestId is required');
    const r = this.stored.get(id);
    if (!r || this.knobs.forgetRequests.has(id)) return send(404, rpcError(404, 'NOT_FOUND', 'Request not found.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'NOT_FOUND', domain: 'datamanager.googleapis.com' }]));
    if (!r.finished) {
      r.polls += 1;
      if (r.polls >= this.knobs.pollsToFinish) this.finish(r);
    }
    const identifiers = r.members.reduce((n, m) => n + m.identifiers.length, 0);
    send(200, {
      requestStatusPerDestination: r.destinations.map((d) => {
        const status = r.finished ? r.outcome : 'PROCESSING';
        const entry: Record<string, unknown> = { destination: { operatingAccount: { accountType: d.accountType, accountId: d.accountId }, productDestinationId: d.productDestinationId }, requestStatus: status };
        const counts = { recordCount: String(r.members.length), userIdentifierCount: String(identifiers) };
        if (r.kind === 'ingest') entry.audienceMembersIngestionStatus = { userDataIngestionStatus: { ...counts, ...(r.finished ? { uploadMatchRateRange: 'MATCH_RATE_RANGE_51_TO_60' } : {}) } };
        else entry.audienceMembersRemovalStatus = { userDataRemovalStatus: counts };
        if (r.finished && r.outcome !== 'SUCCESS') entry.errorInfo = { errorCounts: [{ recordCount: r.outcome === 'FAILED' ? String(r.members.length) : '1', reason: 'PROCESSING_ERROR_REASON_INVALID_FORMAT' }] };
        return entry;
      }),
    });
  }

  private finish(r: StoredRequest): void {
    r.finished = true;
    if (r.outcome === 'FAILED') return;
    for (const d of r.destinations) {
      const list = this.lists.get(audienceKey(d))!;
      const consents = this.consents.get(audienceKey(d)) ?? new Map<string, Record<string, string>>();
      this.consents.set(audienceKey(d), consents);
      for (const m of r.members) {
        if (r.kind === 'remove') {
          list.remove(m.identifiers);
          continue;
        }
        list.add(m.identifiers);
        consents.set(memberKey(m.identifiers), { ...(r.requestConsent ?? {}), ...(m.consent ?? {}) });
      }
    }
  }

  private refuse(send: (s: number, b: unknown) => void, violations: Array<{ field: string; reason: string; description: string }>, reason = 'INVALID_ARGUMENT'): void {
    send(
      400,
      rpcError(400, 'INVALID_ARGUMENT', 'There was a problem with the request.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'datamanager.googleapis.com' },
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: violations },
      ]),
    );
  }

  private malformedRequest(send: (s: number, b: unknown) => void, path: string, reason: string, status = 400, rpc = 'INVALID_ARGUMENT'): void {
    this.malformed.push({ path, reason });
    send(status, rpcError(status, rpc, reason, []));
  }
}

let keyPair: { publicKey: KeyObject; privateKey: KeyObject } | undefined;
/** One RSA key pair per test process: generating one is slow, and each fake only needs to trust its own. */
function serviceAccountKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  keyPair ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  return keyPair;
}

export function audienceKey(a: AudienceRef): string {
  return `${a.accountType}/${a.accountId}/${a.productDestinationId}`;
}

/** The key a list holds a member under (as UserList keys them). */
export function memberKey(ids: readonly WireIdentifier[]): string {
  const email = ids.find((i) => 'hashedEmail' in i);
  if (email) return `hashedEmail:${String(email.hashedEmail)}`;
  const [k, v] = Object.entries(ids[0] ?? {})[0] ?? ['', ''];
  return `${k}:${typeof v === 'string' ? v : JSON.stringify(v)}`;
}

/** A member's identifiers in the Google Ads fake's spelling, so its UserList can hold them. */
function toStored(member: Record<string, unknown>): { identifiers: WireIdentifier[]; consent: Record<string, string> | undefined } {
  const ids = (member.userData as { userIdentifiers: Array<Record<string, unknown>> }).userIdentifiers;
  const identifiers = ids.map((id): WireIdentifier => {
    if ('emailAddress' in id) return { hashedEmail: String(id.emailAddress).toLowerCase() };
    if ('phoneNumber' in id) return { hashedPhoneNumber: String(id.phoneNumber).toLowerCase() };
    const a = id.address as Record<string, string>;
    return { addressInfo: { hashedFirstName: a.givenName!.toLowerCase(), hashedLastName: a.familyName!.toLowerCase(), countryCode: a.regionCode, postalCode: a.postalCode } };
  });
  return { identifiers, consent: member.consent === undefined ? undefined : consentOf(member.consent) };
}

function consentOf(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(v)) {
    if (!['adUserData', 'adPersonalization'].includes(k) || typeof s !== 'string' || !CONSENT_VALUES.includes(s)) return undefined;
    out[k] = s;
  }
  return out;
}

/** Quotes `token` in an error answer's message and violation descriptions. */
function echo(body: unknown, token: string): void {
  const err = isObject(body) && isObject(body.error) ? body.error : undefined;
  if (!err) return;
  err.message = `${String(err.message)} (token ${token})`;
  for (const d of Array.isArray(err.details) ? err.details : []) {
    if (isObject(d) && Array.isArray(d.fieldViolations)) for (const v of d.fieldViolations) if (isObject(v)) v.description = `${String(v.description)} (token ${token})`;
  }
}

function rpcError(code: number, status: string, message: string, details: unknown[]): unknown {
  return { error: { code, message, status, details } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

import http from 'node:http';
import { closeServer, listenOnLoopback, readRequestText } from './fake-http.js';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A fake Google Ads API (OfflineUserDataJobService + GoogleAdsService.Search)
 * and Google OAuth token endpoint, following
 * destinations/google-customer-match/README.md: a real HTTP server on
 * 127.0.0.1 that checks what the real API checks (bearer token it issued,
 * developer-token and login-customer-id headers, version and customer id in the
 * path, job type and list, no create and remove in one job, identifier limits,
 * SHA-256 format) and ASSERTS that no raw identifier reaches it: an '@' or a
 * bare phone number in a hashed field fails the request and is recorded in
 * `rawLeaks`. A user list is kept as users, each a set of identifiers; a job's
 * operations apply when it finishes (immediately on :run with `applyOnRun`).
 */

export interface GoogleFakeConfig {
  readonly customerId: string;
  readonly userListIds: readonly string[];
  readonly apiVersion: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  /** When set, every API request must carry it as developer-token (the pre-sunset API); unset, the header is ignored, as Google does now. */
  readonly developerToken?: string;
  /** When set, every API request must carry it as login-customer-id (access through a manager account). */
  readonly loginCustomerId?: string;
}

export interface GoogleFakeKnobs {
  /** The next n write requests (create, addOperations, run) answer 429 RESOURCE_EXHAUSTED with `retryDelay`. */
  throttleNext: number;
  /** retryDelay (protobuf Duration text) in the throttling answer. */
  retryDelay: string;
  /** The next n write requests answer 503 UNAVAILABLE. */
  failNext: number;
  /** The next n :run requests answer CONCURRENT_MODIFICATION (another job holds the list). */
  concurrentModificationNext: number;
  /** The next n API requests find every issued access token expired (401 OAUTH_TOKEN_EXPIRED), forcing a refresh. */
  expireTokensNext: number;
  /** Every API request is refused 401 OAUTH_TOKEN_INVALID, even with a fresh token. */
  rejectAllTokens: boolean;
  /** Every API request is refused 403 PERMISSION_DENIED / USER_PERMISSION_DENIED. */
  permissionDenied: boolean;
  /** The token endpoint refuses the refresh token (400 invalid_grant). */
  refuseRefreshToken: boolean;
  /** expires_in of issued access tokens. */
  tokenTtlSeconds: number;
  /** Every write request waits this long before answering. */
  delayMs: number;
  /** Apply a job's operations and mark it SUCCESS on :run (the shared scenarios); otherwise it finishes after `pollsToFinish` status queries. */
  applyOnRun: boolean;
  /** Status queries that see a run job before it finishes: PENDING, then RUNNING, then SUCCESS (or FAILED). */
  pollsToFinish: number;
  /** Operations holding one of these identifier values are refused per operation with this error. */
  rejectIdentifiers: Map<string, { code: string; message: string }>;
  /** Jobs (resource names) that finish FAILED with this failureReason. */
  failJobs: Map<string, string>;
  /** matchRateRange reported for running and finished jobs. */
  matchRateRange: string;
}

export type JobStatus = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILED';

export type WireIdentifier = Record<string, unknown>;
export interface StoredOperation {
  readonly kind: 'create' | 'remove' | 'removeAll';
  readonly userIdentifiers: readonly WireIdentifier[];
}

export interface FakeJob {
  readonly resourceName: string;
  readonly id: string;
  readonly type: string;
  readonly userList: string;
  readonly listId: string;
  readonly consent: Record<string, unknown> | undefined;
  readonly operations: StoredOperation[];
  ran: boolean;
  status: JobStatus;
  polls: number;
  failureReason: string | undefined;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  body: unknown;
  status: number;
}

const HASHED_FIELDS = ['hashedEmail', 'hashedPhoneNumber'] as const;
const IDENTIFIER_KEYS = ['hashedEmail', 'hashedPhoneNumber', 'addressInfo', 'mobileId', 'thirdPartyUserId'] as const;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** What a raw identifier looks like: an email, or a phone number in clear (digits, maybe "+", spaces, dashes, brackets). */
const RAW_EMAIL = /@/;
const RAW_PHONE = /^\+?[0-9][0-9 ().-]{5,}$/;
/** Fact file: at most 100,000 identifiers per addOperations request, 20 per user. */
const MAX_IDENTIFIERS_PER_REQUEST = 100_000;
const MAX_IDENTIFIERS_PER_USER = 20;

export class FakeGoogleAdsServer {
  readonly config: GoogleFakeConfig;
  readonly knobs: GoogleFakeKnobs = {
    throttleNext: 0,
    retryDelay: '0.01s',
    failNext: 0,
    concurrentModificationNext: 0,
    expireTokensNext: 0,
    rejectAllTokens: false,
    permissionDenied: false,
    refuseRefreshToken: false,
    tokenTtlSeconds: 3599,
    delayMs: 0,
    applyOnRun: false,
    pollsToFinish: 2,
    rejectIdentifiers: new Map(),
    failJobs: new Map(),
    matchRateRange: 'MATCH_RANGE_51_TO_60',
  };
  /** User lists by id. */
  readonly lists = new Map<string, UserList>();
  readonly jobs = new Map<string, FakeJob>();
  /** Every request, token endpoint included, in arrival order. */
  readonly requests: LoggedRequest[] = [];
  /** Raw identifiers found in hashed fields (a connector bug: tests assert this stays empty). */
  readonly rawLeaks: Array<{ field: string; value: string }> = [];
  /** Requests the fake refused as malformed (400/404): a connector bug unless a test provoked it. */
  readonly malformed: Array<{ path: string; reason: string }> = [];
  tokenRequests = 0;
  writeRequests = 0;
  private readonly tokens = new Map<string, number>();
  private nextJobId = 1000;
  private server: http.Server | undefined;

  constructor(config: Partial<GoogleFakeConfig> = {}) {
    this.config = {
      customerId: '1234567890',
      userListIds: ['555'],
      apiVersion: 'v26',
      clientId: 'fake-client.apps.googleusercontent.com',
      clientSecret: 'fake-client-secret',
      refreshToken: 'fake-refresh-token',
      ...config,
    };
    for (const id of this.config.userListIds) this.lists.set(id, new UserList());
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  get tokenUrl(): string {
    return `${this.baseUrl}/token`;
  }

  async start(): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  /** Users of a list (default: the first configured). */
  members(listId = this.config.userListIds[0]!): ReadonlyMap<string, WireIdentifier[]> {
    return this.lists.get(listId)!.users;
  }

  /** addOperations bodies received and answered 200, with their job. */
  get addOperations(): Array<{ job: string; body: { operations: Array<Record<string, unknown>>; enablePartialFailure?: boolean } }> {
    return this.requests
      .filter((r) => r.status === 200 && r.path.endsWith(':addOperations'))
      .map((r) => ({ job: r.path.replace(/^\/v\d+\//, '').replace(/:addOperations$/, ''), body: r.body as never }));
  }

  /** Finishes every job that was run, as if Google's processing were done. */
  finishJobs(): void {
    for (const j of this.jobs.values()) if (j.ran && (j.status === 'PENDING' || j.status === 'RUNNING')) this.finish(j);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Raw text: /token takes a form, and malformed JSON is refused as a violation.
    const { text: raw, path } = await readRequestText(req);
    const entry: LoggedRequest = { method: req.method ?? '', path, headers: req.headers, body: undefined, status: 0 };
    this.requests.push(entry);
    const send = (status: number, body: unknown): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
    };
    if (path === '/token') return this.token(raw, send, entry);
    let body: unknown;
    try {
      body = raw === '' ? {} : JSON.parse(raw);
    } catch {
      return this.refuseMalformed(send, path, 'body is not JSON');
    }
    entry.body = body;
    await this.api(req, path, body, send);
  }

  // ---- OAuth ---------------------------------------------------------------

  private token(raw: string, send: (s: number, b: unknown) => void, entry: LoggedRequest): void {
    this.tokenRequests += 1;
    const form = new URLSearchParams(raw);
    entry.body = { grant_type: form.get('grant_type'), client_id: form.get('client_id') };
    if (form.get('grant_type') !== 'refresh_token') return send(400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
    if (form.get('client_id') !== this.config.clientId || form.get('client_secret') !== this.config.clientSecret) {
      return send(401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' });
    }
    if (form.get('refresh_token') !== this.config.refreshToken || this.knobs.refuseRefreshToken) {
      return send(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
    }
    const token = `ya29.fake-${this.tokenRequests}-${randomBytes(6).toString('hex')}`;
    this.tokens.set(token, Date.now() + this.knobs.tokenTtlSeconds * 1000);
    send(200, { access_token: token, expires_in: this.knobs.tokenTtlSeconds, scope: 'https://www.googleapis.com/auth/adwords', token_type: 'Bearer' });
  }

  // ---- API -----------------------------------------------------------------

  private async api(req: http.IncomingMessage, path: string, body: unknown, send: (s: number, b: unknown) => void): Promise<void> {
    const m = /^\/(v\d+(?:_\d+)?)\/customers\/([^/]+)\/(offlineUserDataJobs:create|offlineUserDataJobs\/(\d+):(addOperations|run)|googleAds:search)$/.exec(path);
    if (req.method !== 'POST' || !m) return this.refuseMalformed(send, path, `no such method: ${req.method} ${path}`, 404, 'NOT_FOUND');
    const [, version, customerId, , jobId, verb] = m;
    if (version !== this.config.apiVersion) return this.refuseMalformed(send, path, `version ${version} not served (${this.config.apiVersion} is)`, 404, 'NOT_FOUND');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return this.refuseMalformed(send, path, 'content-type must be application/json');

    const auth = this.checkAuth(req);
    if (auth) return send(auth.status, auth.body);
    if (!/^\d+$/.test(customerId!)) return this.refuseMalformed(send, path, `customer id ${customerId} is not digits`, 400, 'INVALID_ARGUMENT', { authenticationError: 'CLIENT_CUSTOMER_ID_INVALID' });
    if (customerId !== this.config.customerId || this.knobs.permissionDenied) {
      return send(403, failure(403, 'PERMISSION_DENIED', "The caller does not have permission", [{ errorCode: { authorizationError: 'USER_PERMISSION_DENIED' }, message: "User doesn't have permission to access customer." }]));
    }

    const isWrite = verb !== undefined || path.endsWith('offlineUserDataJobs:create');
    if (isWrite) {
      this.writeRequests += 1;
      if (this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
      if (this.knobs.throttleNext > 0) {
        this.knobs.throttleNext -= 1;
        return send(
          429,
          failure(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', [
            { errorCode: { quotaError: 'RESOURCE_EXHAUSTED' }, message: 'Too many requests. Retry in the time given.', details: { quotaErrorDetails: { rateScope: 'ACCOUNT', rateName: 'Requests', retryDelay: this.knobs.retryDelay } } },
          ]),
        );
      }
      if (this.knobs.failNext > 0) {
        this.knobs.failNext -= 1;
        return send(503, { error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } });
      }
    }
    if (path.endsWith('offlineUserDataJobs:create')) return this.createJob(customerId!, body, send, path);
    if (verb === undefined) return this.search(customerId!, body, send, path);
    const resourceName = `customers/${customerId}/offlineUserDataJobs/${jobId}`;
    const job = this.jobs.get(resourceName);
    if (!job) return this.refuseMalformed(send, path, `no job ${resourceName}`, 404, 'NOT_FOUND');
    if (verb === 'run') return this.run(job, send, path);
    return this.addOperationsTo(job, body, send, path);
  }

  /** Bearer token, developer token and login-customer-id, as the API checks them. */
  private checkAuth(req: http.IncomingMessage): { status: number; body: unknown } | undefined {
    const m = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''));
    if (!m) return { status: 401, body: { error: { code: 401, message: 'Request is missing required authentication credential. Expected OAuth 2 access token.', status: 'UNAUTHENTICATED' } } };
    if (this.knobs.expireTokensNext > 0) {
      this.knobs.expireTokensNext -= 1;
      for (const t of this.tokens.keys()) this.tokens.set(t, 0);
    }
    const expiresAt = this.tokens.get(m[1]!);
    if (this.knobs.rejectAllTokens || expiresAt === undefined || expiresAt <= Date.now()) {
      const code = this.knobs.rejectAllTokens || expiresAt === undefined ? 'OAUTH_TOKEN_INVALID' : 'OAUTH_TOKEN_EXPIRED';
      return { status: 401, body: failure(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.', [{ errorCode: { authenticationError: code }, message: 'The OAuth token in the request is not valid or has expired.' }]) };
    }
    if (this.config.developerToken !== undefined && req.headers['developer-token'] !== this.config.developerToken) {
      return { status: 401, body: failure(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.', [{ errorCode: { authenticationError: 'DEVELOPER_TOKEN_INVALID' }, message: 'The developer token is not valid.' }]) };
    }
    const login = req.headers['login-customer-id'];
    if (login !== undefined && !/^\d+$/.test(String(login))) {
      return { status: 400, body: failure(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [{ errorCode: { headerError: 'INVALID_LOGIN_CUSTOMER_ID' }, message: 'The login customer ID could not be validated.' }]) };
    }
    if (this.config.loginCustomerId !== undefined && login !== this.config.loginCustomerId) {
      return { status: 403, body: failure(403, 'PERMISSION_DENIED', 'The caller does not have permission', [{ errorCode: { authorizationError: 'USER_PERMISSION_DENIED' }, message: "User doesn't have permission to access customer. Note: If you're accessing a client customer, the manager's customer id must be set in the 'login-customer-id' header." }]) };
    }
    return undefined;
  }

  private createJob(customerId: string, body: unknown, send: (s: number, b: unknown) => void, path: string): void {
    const job = isObject(body) && isObject(body.job) ? body.job : undefined;
    if (!job || job.type !== 'CUSTOMER_MATCH_USER_LIST') return this.refuseMalformed(send, path, 'job.type must be CUSTOMER_MATCH_USER_LIST', 400, 'INVALID_ARGUMENT', { offlineUserDataJobError: 'INVALID_JOB_TYPE' });
    const meta = isObject(job.customerMatchUserListMetadata) ? job.customerMatchUserListMetadata : undefined;
    const lm = typeof meta?.userList === 'string' ? /^customers\/(\d+)\/userLists\/(\d+)$/.exec(meta.userList) : null;
    if (!meta || !lm || lm[1] !== customerId) return this.refuseMalformed(send, path, `customerMatchUserListMetadata.userList must be customers/${customerId}/userLists/{id}`, 400, 'INVALID_ARGUMENT', { fieldError: 'REQUIRED' });
    if (!this.lists.has(lm[2]!)) {
      return send(400, failure(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [{ errorCode: { offlineUserDataJobError: 'INVALID_USER_LIST_ID' }, message: 'The user list ID provided for the job is invalid.' }]));
    }
    const consent = isObject(meta.consent) ? meta.consent : undefined;
    if (consent) {
      for (const [k, v] of Object.entries(consent)) {
        if (!['adUserData', 'adPersonalization'].includes(k) || !['GRANTED', 'DENIED', 'UNSPECIFIED'].includes(String(v))) {
          return this.refuseMalformed(send, path, `bad consent ${k}=${String(v)}`, 400, 'INVALID_ARGUMENT', { fieldError: 'INVALID_VALUE' });
        }
      }
      // customer-match/get-started: the API answers CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS when a consent is DENIED.
      if (Object.values(consent).includes('DENIED')) {
        return send(400, failure(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [{ errorCode: { offlineUserDataJobError: 'CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS' }, message: 'Consent was denied for this job.' }]));
      }
    }
    const id = String(this.nextJobId++);
    const resourceName = `customers/${customerId}/offlineUserDataJobs/${id}`;
    this.jobs.set(resourceName, { resourceName, id, type: String(job.type), userList: meta.userList as string, listId: lm[2]!, consent, operations: [], ran: false, status: 'PENDING', polls: 0, failureReason: undefined });
    send(200, { resourceName });
  }

  private addOperationsTo(job: FakeJob, body: unknown, send: (s: number, b: unknown) => void, path: string): void {
    if (job.ran) return this.refuseMalformed(send, path, 'operations added to a job that already ran', 400, 'INVALID_ARGUMENT', { offlineUserDataJobError: 'INVALID_JOB_STATUS' });
    const ops = isObject(body) && Array.isArray(body.operations) ? body.operations : undefined;
    if (!ops || ops.length === 0) return this.refuseMalformed(send, path, 'operations must be a non-empty list', 400, 'INVALID_ARGUMENT', { fieldError: 'REQUIRED' });
    const partial = isObject(body) && body.enablePartialFailure === true;
    // Whole-request checks: shape, removeAll placement, mixing, identifier total, raw identifiers.
    let total = 0;
    const leaksBefore = this.rawLeaks.length;
    const kinds = new Set(job.operations.map((o) => o.kind));
    for (const [i, op] of ops.entries()) {
      const keys = isObject(op) ? Object.keys(op) : [];
      if (keys.length !== 1 || !['create', 'remove', 'removeAll'].includes(keys[0]!)) return this.refuseMalformed(send, path, `operation ${i} must hold exactly one of create, remove, removeAll`);
      const kind = keys[0] as StoredOperation['kind'];
      if (kind === 'removeAll') {
        if ((op as Record<string, unknown>).removeAll !== true) return this.refuseMalformed(send, path, `operation ${i}: removeAll must be true`);
        if (i !== 0 || job.operations.length > 0) return this.refuseMalformed(send, path, `operation ${i}: removeAll must be the job's first operation`, 400, 'INVALID_ARGUMENT', { offlineUserDataJobError: 'INVALID_REMOVE_ALL_OPERATION' });
      }
      kinds.add(kind);
      if (kinds.has('create') && kinds.has('remove')) {
        return send(400, failure(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [{ errorCode: { offlineUserDataJobError: 'CONFLICTING_OPERATION' }, message: 'Mixing creation and removal of offline data in the same job is not allowed.', location: loc(i) }]));
      }
      const data = (op as Record<string, unknown>)[kind];
      if (kind !== 'removeAll') {
        const ids = isObject(data) && Array.isArray(data.userIdentifiers) ? data.userIdentifiers : [];
        total += ids.length;
        for (const id of ids) {
          for (const leak of rawIn(id)) this.rawLeaks.push(leak);
        }
      }
    }
    if (this.rawLeaks.length > leaksBefore) {
      return this.refuseMalformed(send, path, `raw identifier in a hashed field: ${this.rawLeaks.slice(leaksBefore).map((l) => l.field).join(', ')}`);
    }
    if (total > MAX_IDENTIFIERS_PER_REQUEST) {
      return send(400, failure(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [{ errorCode: { offlineUserDataJobError: 'TOO_MANY_USER_IDENTIFIERS' }, message: `More than ${MAX_IDENTIFIERS_PER_REQUEST} user identifiers in one request.` }]));
    }
    // Per-operation checks.
    const errors: Array<Record<string, unknown>> = [];
    const accepted: StoredOperation[] = [];
    for (const [i, op] of ops.entries()) {
      const kind = Object.keys(op as object)[0] as StoredOperation['kind'];
      if (kind === 'removeAll') {
        accepted.push({ kind, userIdentifiers: [] });
        continue;
      }
      const data = (op as Record<string, unknown>)[kind] as Record<string, unknown>;
      const ids = Array.isArray(data?.userIdentifiers) ? (data.userIdentifiers as WireIdentifier[]) : [];
      const problem = checkUserData(ids) ?? this.knobRefusal(ids);
      if (problem) errors.push({ errorCode: { [problem.category]: problem.code }, message: problem.message, location: loc(i) });
      else accepted.push({ kind, userIdentifiers: ids });
    }
    if (errors.length > 0 && !partial) return send(400, failure(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', errors));
    job.operations.push(...accepted);
    if (errors.length === 0) return send(200, {});
    send(200, {
      partialFailureError: {
        code: 3,
        message: `Multiple errors in 'details'. First error: ${String(errors[0]!.message)}, at operations[${(errors[0]!.location as { fieldPathElements: Array<{ index: number }> }).fieldPathElements[0]!.index}]`,
        details: [{ '@type': `type.googleapis.com/google.ads.googleads.${this.config.apiVersion}.errors.GoogleAdsFailure`, errors }],
      },
    });
  }

  private knobRefusal(ids: readonly WireIdentifier[]): { category: string; code: string; message: string } | undefined {
    for (const id of ids) {
      for (const v of Object.values(id)) {
        const r = typeof v === 'string' ? this.knobs.rejectIdentifiers.get(v) : undefined;
        if (r) return { category: 'offlineUserDataJobError', ...r };
      }
    }
    return undefined;
  }

  private run(job: FakeJob, send: (s: number, b: unknown) => void, path: string): void {
    if (job.ran) return this.refuseMalformed(send, path, 'job already ran', 400, 'INVALID_ARGUMENT', { offlineUserDataJobError: 'INVALID_JOB_STATUS' });
    if (this.knobs.concurrentModificationNext > 0) {
      this.knobs.concurrentModificationNext -= 1;
      return send(409, failure(409, 'ABORTED', 'Multiple requests were attempting to modify the same resource at once. Retry the request.', [{ errorCode: { databaseError: 'CONCURRENT_MODIFICATION' }, message: 'Multiple requests were attempting to modify the same resource at once. Retry the request.' }]));
    }
    job.ran = true;
    if (this.knobs.applyOnRun) this.finish(job);
    send(200, { name: `customers/${this.config.customerId}/operations/${job.id}`, metadata: { '@type': `type.googleapis.com/google.ads.googleads.${this.config.apiVersion}.resources.OfflineUserDataJobMetadata` } });
  }

  private search(customerId: string, body: unknown, send: (s: number, b: unknown) => void, path: string): void {
    const query = isObject(body) && typeof body.query === 'string' ? body.query : '';
    if (!/\bFROM\s+offline_user_data_job\b/i.test(query)) return this.refuseMalformed(send, path, `unsupported query: ${query}`, 400, 'INVALID_ARGUMENT', { queryError: 'PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE' });
    if (isObject(body) && body.pageSize !== undefined) return this.refuseMalformed(send, path, 'pageSize is no longer accepted', 400, 'INVALID_ARGUMENT', { requestError: 'PAGE_SIZE_NOT_SUPPORTED' });
    const where = /offline_user_data_job\.resource_name\s+(?:IN\s*\(([^)]*)\)|=\s*('[^']*'))/i.exec(query);
    if (!where) return this.refuseMalformed(send, path, `query must filter on offline_user_data_job.resource_name: ${query}`);
    const names = [...(where[1] ?? where[2] ?? '').matchAll(/'([^']*)'/g)].map((x) => x[1]!);
    const results: Array<Record<string, unknown>> = [];
    for (const name of names) {
      const job = this.jobs.get(name);
      if (!job || !name.startsWith(`customers/${customerId}/`)) continue;
      this.poll(job);
      const row: Record<string, unknown> = {
        resourceName: job.resourceName,
        status: job.status,
        customerMatchUserListMetadata: { userList: job.userList },
      };
      if (job.failureReason) row.failureReason = job.failureReason;
      if (job.status !== 'PENDING') row.operationMetadata = { matchRateRange: this.knobs.matchRateRange };
      results.push({ offlineUserDataJob: row });
    }
    send(200, { results, fieldMask: 'offlineUserDataJob.resourceName,offlineUserDataJob.status,offlineUserDataJob.failureReason,offlineUserDataJob.customerMatchUserListMetadata.userList,offlineUserDataJob.operationMetadata.matchRateRange' });
  }

  /** A status query sees a run job progress: PENDING -> RUNNING -> SUCCESS/FAILED after `pollsToFinish` queries. */
  private poll(job: FakeJob): void {
    if (!job.ran || job.status === 'SUCCESS' || job.status === 'FAILED') return;
    job.polls += 1;
    if (job.polls >= this.knobs.pollsToFinish) this.finish(job);
    else if (job.polls >= 1) job.status = 'RUNNING';
  }

  private finish(job: FakeJob): void {
    const reason = this.knobs.failJobs.get(job.resourceName);
    if (reason) {
      job.status = 'FAILED';
      job.failureReason = reason;
      return;
    }
    const list = this.lists.get(job.listId)!;
    for (const op of job.operations) {
      if (op.kind === 'removeAll') list.clear();
      else if (op.kind === 'remove') list.remove(op.userIdentifiers);
      else list.add(op.userIdentifiers);
    }
    job.status = 'SUCCESS';
  }

  private refuseMalformed(send: (s: number, b: unknown) => void, path: string, reason: string, status = 400, rpc = 'INVALID_ARGUMENT', errorCode: Record<string, string> = { requestError: 'INVALID_INPUT' }): void {
    this.malformed.push({ path, reason });
    send(status, failure(status, rpc, reason, [{ errorCode, message: reason }]));
  }
}

/** The google.rpc error envelope with a GoogleAdsFailure in its details. */
function failure(code: number, status: string, message: string, errors: Array<Record<string, unknown>>): unknown {
  return {
    error: {
      code,
      message,
      status,
      details: [{ '@type': 'type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure', errors, requestId: randomBytes(8).toString('hex') }],
    },
  };
}

function loc(index: number): { fieldPathElements: Array<{ fieldName: string; index?: number }> } {
  return { fieldPathElements: [{ fieldName: 'operations', index }] };
}

/** Raw values in the hashed fields of one UserIdentifier. */
function rawIn(id: unknown): Array<{ field: string; value: string }> {
  if (!isObject(id)) return [];
  const out: Array<{ field: string; value: string }> = [];
  const check = (field: string, v: unknown): void => {
    if (typeof v === 'string' && (RAW_EMAIL.test(v) || RAW_PHONE.test(v))) out.push({ field, value: v });
  };
  for (const f of HASHED_FIELDS) check(f, id[f]);
  if (isObject(id.addressInfo)) {
    check('addressInfo.hashedFirstName', id.addressInfo.hashedFirstName);
    check('addressInfo.hashedLastName', id.addressInfo.hashedLastName);
  }
  return out;
}

/** Why Google would refuse this UserData, per operation. */
function checkUserData(ids: readonly WireIdentifier[]): { category: string; code: string; message: string } | undefined {
  if (ids.length === 0) return { category: 'fieldError', code: 'REQUIRED', message: 'userIdentifiers is required.' };
  if (ids.length > MAX_IDENTIFIERS_PER_USER) return { category: 'offlineUserDataJobError', code: 'TOO_MANY_USER_IDENTIFIERS', message: `More than ${MAX_IDENTIFIERS_PER_USER} user identifiers for one user.` };
  for (const id of ids) {
    const keys = Object.keys(id);
    if (keys.length !== 1 || !(IDENTIFIER_KEYS as readonly string[]).includes(keys[0]!)) {
      return { category: 'fieldError', code: 'ONE_OF_FIELDS_NOT_SET', message: `a UserIdentifier holds exactly one of ${IDENTIFIER_KEYS.join(', ')}` };
    }
    for (const f of HASHED_FIELDS) {
      if (f in id && !(typeof id[f] === 'string' && SHA256_HEX.test(id[f] as string))) {
        return { category: 'offlineUserDataJobError', code: 'INVALID_SHA256_FORMAT', message: `${f} is not a SHA-256 hash in lowercase hex.` };
      }
    }
    if ('addressInfo' in id) {
      const a = id.addressInfo as Record<string, unknown>;
      for (const f of ['hashedFirstName', 'hashedLastName']) {
        if (!(typeof a?.[f] === 'string' && SHA256_HEX.test(a[f] as string))) return { category: 'offlineUserDataJobError', code: 'INVALID_SHA256_FORMAT', message: `addressInfo.${f} is not a SHA-256 hash in lowercase hex.` };
      }
      if (!(typeof a.countryCode === 'string' && /^[A-Za-z]{2}$/.test(a.countryCode))) return { category: 'offlineUserDataJobError', code: 'INVALID_COUNTRY_CODE', message: 'addressInfo.countryCode must be ISO-3166 alpha-2.' };
      if (!(typeof a.postalCode === 'string' && a.postalCode.trim() !== '')) return { category: 'fieldError', code: 'REQUIRED', message: 'addressInfo.postalCode is required with the names and country.' };
    }
    for (const f of ['mobileId', 'thirdPartyUserId']) {
      if (f in id && !(typeof id[f] === 'string' && (id[f] as string).trim() !== '')) return { category: 'fieldError', code: 'REQUIRED', message: `${f} is empty.` };
    }
  }
  return undefined;
}

/** A user's identifiers as comparable strings. */
function identifierKeys(ids: readonly WireIdentifier[]): string[] {
  return ids.map((id) => {
    const [k, v] = Object.entries(id)[0]!;
    if (k === 'addressInfo') {
      const a = v as Record<string, string>;
      return `addressInfo:${a.hashedFirstName}|${a.hashedLastName}|${String(a.countryCode).toUpperCase()}|${a.postalCode}`;
    }
    return `${k}:${String(v)}`;
  });
}

/**
 * A user list: users, each a set of identifiers, indexed by identifier so that
 * uploads of hundreds of thousands of people stay linear.
 */
export class UserList {
  /** Key (the user's email identifier, else its first) -> identifiers. */
  readonly users = new Map<string, WireIdentifier[]>();
  private readonly owner = new Map<string, string>();

  /** Drops every user who shares an identifier with `ids`. */
  remove(ids: readonly WireIdentifier[]): void {
    for (const k of identifierKeys(ids)) {
      const user = this.owner.get(k);
      if (user === undefined) continue;
      for (const own of identifierKeys(this.users.get(user)!)) this.owner.delete(own);
      this.users.delete(user);
    }
  }

  /** The user described by `ids` replaces whoever shared an identifier with it. */
  add(ids: readonly WireIdentifier[]): void {
    this.remove(ids);
    const keys = identifierKeys(ids);
    const key = keys.find((k) => k.startsWith('hashedEmail:')) ?? keys[0]!;
    this.users.set(key, [...ids]);
    for (const k of keys) this.owner.set(k, key);
  }

  clear(): void {
    this.users.clear();
    this.owner.clear();
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

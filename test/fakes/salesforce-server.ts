import http from 'node:http';
import { closeServer, listenOnLoopback, readRequestText } from './fake-http.js';
import type { AddressInfo } from 'node:net';

/**
 * A Salesforce fake (destinations/salesforce/README.md): the OAuth 2.0
 * refresh-token flow, Bulk API 2.0 ingest jobs (create, CSV upload,
 * UploadComplete, polling, successful/failed results as CSV) and the SOQL
 * query endpoint for the few shapes a connector needs (`SELECT … FROM … WHERE
 * f = 'v' AND f IN (…)`). A real HTTP server on 127.0.0.1 that keeps records
 * per object, validates auth, paths, field names and limits, and has fault
 * knobs: REQUEST_LIMIT_EXCEEDED, 5xx, delays, per-row refusals, silently
 * dropped rows, failed jobs, expired or refused tokens.
 */

/** Raw CSV per upload (destinations/salesforce/README.md). */
const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
const BULK_NULL = '#N/A';

export type SfRecord = { Id: string } & Record<string, string | null>;

type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

interface RowOutcome {
  readonly row: Record<string, string>;
  readonly id: string;
  readonly created: boolean;
  readonly error: string | null;
}

export interface FakeJob {
  readonly id: string;
  readonly object: string;
  readonly operation: string;
  readonly externalIdFieldName: string | undefined;
  state: JobState;
  csv: string | undefined;
  header: string[];
  outcomes: RowOutcome[];
  errorMessage: string | undefined;
  pollsLeft: number;
}

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly body: string;
  readonly status: number;
}

export interface SalesforceKnobs {
  /** The next n write requests (job create, upload, UploadComplete) answer 403 REQUEST_LIMIT_EXCEEDED. */
  throttleNext: number;
  /** The next n CSV uploads (after their job was created) answer 403 REQUEST_LIMIT_EXCEEDED. */
  throttleUploadsNext: number;
  /** The next n write requests answer 503. */
  failNext: number;
  /** Every write request waits this long. */
  delayMs: number;
  /** Rows whose external id (the audsync key) is refused, with this sf__Error. */
  rejectKeys: Map<string, string>;
  /** Rows whose external id is applied but left out of both result files. */
  dropKeys: Set<string>;
  /** Polls that answer InProgress before a job reports its end. */
  pollsBeforeComplete: number;
  /** The next n jobs end Failed with failJobMessage. */
  failJobs: number;
  failJobMessage: string;
}

export interface SalesforceFakeOptions {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Extra fields per object (custom fields), e.g. { Contact: ['Tier__c'] }. */
  customFields?: Record<string, string[]>;
  /** External id fields per object, e.g. { Contact: ['Audsync_Key__c'] }; added to the fields too. */
  externalIds?: Record<string, string[]>;
}

const STANDARD_FIELDS: Record<string, string[]> = {
  Contact: ['Id', 'FirstName', 'LastName', 'Email', 'Phone', 'AccountId', 'HasOptedOutOfEmail'],
  Lead: ['Id', 'FirstName', 'LastName', 'Email', 'Phone', 'Company', 'HasOptedOutOfEmail'],
  Campaign: ['Id', 'Name'],
  CampaignMember: ['Id', 'CampaignId', 'ContactId', 'LeadId', 'Status'],
};
const REQUIRED_ON_CREATE: Record<string, string[]> = { Contact: ['LastName'], Lead: ['LastName', 'Company'], CampaignMember: ['CampaignId'] };
const KEY_PREFIX: Record<string, string> = { Contact: '003', Lead: '00Q', Campaign: '701', CampaignMember: '00v' };

export class FakeSalesforceServer {
  /** Records by object, then by Id. */
  readonly records = new Map<string, Map<string, SfRecord>>();
  readonly deleted = new Set<string>();
  readonly jobs = new Map<string, FakeJob>();
  readonly requests: ReceivedRequest[] = [];
  /** Requests received, counted on arrival. */
  received = 0;
  /** Access tokens the API accepts now. */
  readonly validTokens = new Set<string>();
  /** Token endpoint calls that issued a token. */
  tokensIssued = 0;
  /** When false, tokens are issued but the API refuses them (a user without API access). */
  acceptIssuedTokens = true;
  /** When true, the refresh token is refused (revoked). */
  refreshRevoked = false;
  readonly knobs: SalesforceKnobs = { throttleNext: 0, throttleUploadsNext: 0, failNext: 0, delayMs: 0, rejectKeys: new Map(), dropKeys: new Set(), pollsBeforeComplete: 1, failJobs: 0, failJobMessage: 'InvalidBatch : Failed to process query' };
  private readonly fields = new Map<string, Set<string>>();
  private readonly externalIds = new Map<string, Set<string>>();
  private seq = 1;
  private server: http.Server | undefined;

  constructor(private readonly o: SalesforceFakeOptions) {
    for (const [obj, fs] of Object.entries(STANDARD_FIELDS)) this.fields.set(obj, new Set(fs));
    for (const [obj, fs] of Object.entries(o.customFields ?? {})) for (const f of fs) this.fieldSet(obj).add(f);
    for (const [obj, fs] of Object.entries(o.externalIds ?? {})) {
      this.externalIds.set(obj, new Set(fs));
      for (const f of fs) this.fieldSet(obj).add(f);
    }
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  /** Issues an access token directly (as if obtained earlier), valid now. */
  issueToken(): string {
    const t = `00D000000000001!fake-access-${this.seq++}`;
    this.validTokens.add(t);
    return t;
  }

  /** Every access token stops working (session timeout): the next API call answers 401. */
  expireTokens(): void {
    this.validTokens.clear();
  }

  insert(object: string, fields: Record<string, string | null>): SfRecord {
    const rec = { ...fields, Id: this.newId(object) } as SfRecord;
    this.table(object).set(rec.Id, rec);
    return rec;
  }

  all(object: string): SfRecord[] {
    return [...this.table(object).values()];
  }

  find(object: string, field: string, value: string): SfRecord | undefined {
    return this.all(object).find((r) => r[field] === value);
  }

  requestsTo(pattern: RegExp): ReceivedRequest[] {
    return this.requests.filter((r) => pattern.test(`${r.method} ${r.path}`));
  }

  private fieldSet(object: string): Set<string> {
    let s = this.fields.get(object);
    if (!s) this.fields.set(object, (s = new Set(['Id'])));
    return s;
  }

  private table(object: string): Map<string, SfRecord> {
    let t = this.records.get(object);
    if (!t) this.records.set(object, (t = new Map()));
    return t;
  }

  private newId(object: string): string {
    const n = String(this.seq++).padStart(12, '0');
    return `${KEY_PREFIX[object] ?? 'a0X'}${n}AAA`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.received += 1;
    // Raw text: bodies are forms, CSV or JSON, and the request log keeps them as sent.
    const { text: body, path } = await readRequestText(req);
    const query = (req.url ?? '').split('?', 2)[1] ?? '';
    const method = req.method ?? '';
    const send = (status: number, payload: string, contentType = 'application/json', headers: Record<string, string> = {}): void => {
      this.requests.push({ method, path, query, body, status });
      res.writeHead(status, { 'content-type': contentType, ...headers }).end(payload);
    };
    const json = (status: number, payload: unknown, headers: Record<string, string> = {}): void => send(status, JSON.stringify(payload), 'application/json', headers);
    const apiError = (status: number, errorCode: string, message: string): void => json(status, [{ errorCode, message }]);

    if (path === '/services/oauth2/token') return this.token(method, req.headers['content-type'], body, json);
    const m = /^\/services\/data\/v(\d+\.\d+)\/(.*)$/.exec(path);
    if (!m) return apiError(404, 'NOT_FOUND', `The requested resource does not exist: ${path}`);
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !this.validTokens.has(auth.slice(7))) return apiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    const rest = m[2]!;
    const isWrite = (method === 'POST' && rest === 'jobs/ingest') || method === 'PUT' || (method === 'PATCH' && !body.includes('"Aborted"'));
    if (isWrite) {
      if (this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
      const uploadThrottled = method === 'PUT' && this.knobs.throttleUploadsNext > 0;
      if (uploadThrottled) this.knobs.throttleUploadsNext -= 1;
      if (uploadThrottled || this.knobs.throttleNext > 0) {
        if (!uploadThrottled) this.knobs.throttleNext -= 1;
        return json(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], { 'sforce-limit-info': 'api-usage=15000/15000' });
      }
      if (this.knobs.failNext > 0) {
        this.knobs.failNext -= 1;
        return apiError(503, 'SERVER_UNAVAILABLE', 'Service temporarily unavailable');
      }
    }
    if (rest === 'query' || rest === 'query/') return this.query(new URLSearchParams(query).get('q') ?? '', json, apiError);
    if (method === 'POST' && rest === 'jobs/ingest') return this.createJob(req.headers['content-type'], body, json, apiError);
    const j = /^jobs\/ingest\/([^/]+)(?:\/(batches|successfulResults|failedResults|unprocessedrecords)\/?)?$/.exec(rest);
    const job = j ? this.jobs.get(j[1]!) : undefined;
    if (!j || !job) return apiError(404, 'NOT_FOUND', `The requested resource does not exist: ${rest}`);
    const sub = j[2];
    if (method === 'PUT' && sub === 'batches') return this.upload(job, req.headers['content-type'], body, send, apiError);
    if (method === 'PATCH' && !sub) return this.patchJob(job, body, json, apiError);
    if (method === 'GET' && !sub) return json(200, this.pollJob(job));
    if (method === 'GET' && (sub === 'successfulResults' || sub === 'failedResults' || sub === 'unprocessedrecords')) {
      if (job.state !== 'JobComplete') return apiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is not complete`);
      return send(200, this.results(job, sub), 'text/csv');
    }
    return apiError(405, 'METHOD_NOT_ALLOWED', `${method} not allowed on ${rest}`);
  }

  private token(method: string, contentType: string | undefined, body: string, json: (s: number, p: unknown) => void): void {
    if (method !== 'POST' || !(contentType ?? '').startsWith('application/x-www-form-urlencoded')) {
      return json(400, { error: 'invalid_request', error_description: 'must use HTTP POST with application/x-www-form-urlencoded' });
    }
    const p = new URLSearchParams(body);
    if (p.get('grant_type') !== 'refresh_token') return json(400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    if (p.get('client_id') !== this.o.clientId) return json(400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
    if (p.get('client_secret') !== this.o.clientSecret) return json(400, { error: 'invalid_client', error_description: 'invalid client credentials' });
    if (this.refreshRevoked || p.get('refresh_token') !== this.o.refreshToken) return json(400, { error: 'invalid_grant', error_description: 'expired access/refresh token' });
    const t = `00D000000000001!fake-access-${this.seq++}`;
    this.tokensIssued += 1;
    if (this.acceptIssuedTokens) this.validTokens.add(t);
    json(200, { access_token: t, instance_url: this.url, id: `${this.url}/id/00D000000000001/005000000000001`, token_type: 'Bearer', issued_at: String(Date.now()), signature: 'fake', scope: 'api refresh_token' });
  }

  private createJob(contentType: string | undefined, body: string, json: (s: number, p: unknown) => void, apiError: ApiError): void {
    if (!(contentType ?? '').startsWith('application/json')) return apiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'expected application/json');
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return apiError(400, 'JSON_PARSER_ERROR', 'malformed JSON');
    }
    const object = String(b.object ?? '');
    if (!this.fields.has(object)) return apiError(400, 'INVALIDJOB', `InvalidJob : Unable to find object: ${object}`);
    if (!['insert', 'update', 'upsert', 'delete', 'hardDelete'].includes(String(b.operation))) return apiError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${String(b.operation)}`);
    if (b.contentType !== undefined && b.contentType !== 'CSV') return apiError(400, 'INVALIDJOB', 'InvalidJob : contentType must be CSV');
    if (b.lineEnding !== undefined && b.lineEnding !== 'LF' && b.lineEnding !== 'CRLF') return apiError(400, 'INVALIDJOB', 'InvalidJob : lineEnding must be LF or CRLF');
    const ext = typeof b.externalIdFieldName === 'string' ? b.externalIdFieldName : undefined;
    if (b.operation === 'upsert' && (!ext || !this.externalIds.get(object)?.has(ext))) {
      return apiError(400, 'INVALIDJOB', `InvalidJob : Field name provided, ${String(ext)} is not an External ID or indexed field for ${object}`);
    }
    const id = `750${String(this.seq++).padStart(12, '0')}AAA`;
    const job: FakeJob = { id, object, operation: String(b.operation), externalIdFieldName: ext, state: 'Open', csv: undefined, header: [], outcomes: [], errorMessage: undefined, pollsLeft: 0 };
    this.jobs.set(id, job);
    json(200, this.info(job));
  }

  private upload(job: FakeJob, contentType: string | undefined, body: string, send: Send, apiError: ApiError): void {
    if (job.state !== 'Open') return apiError(409, 'INVALIDJOBSTATE', `Job ${job.id} is not Open`);
    if (!(contentType ?? '').startsWith('text/csv')) return apiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'expected text/csv');
    if (job.csv !== undefined) return apiError(400, 'INVALIDJOBSTATE', 'Only one upload per job');
    if (Buffer.byteLength(body, 'utf8') > MAX_UPLOAD_BYTES) return apiError(400, 'INVALIDBATCH', 'CSV exceeds 100 MB');
    if (body.includes('\r\n')) return apiError(400, 'INVALIDBATCH', 'lineEnding is LF but the CSV has CRLF line endings');
    job.csv = body;
    send(201, '', 'text/plain');
  }

  private patchJob(job: FakeJob, body: string, json: (s: number, p: unknown) => void, apiError: ApiError): void {
    const state = (JSON.parse(body || '{}') as { state?: string }).state;
    if (state === 'Aborted') {
      if (job.state === 'JobComplete' || job.state === 'Failed') return apiError(400, 'INVALIDJOBSTATE', `Job ${job.id} already ended`);
      job.state = 'Aborted';
      return json(200, this.info(job));
    }
    if (state !== 'UploadComplete') return apiError(400, 'INVALIDJOBSTATE', `Cannot change state to ${String(state)}`);
    if (job.state !== 'Open' || job.csv === undefined) return apiError(400, 'INVALIDJOBSTATE', `Job ${job.id} has no data or is not Open`);
    job.state = 'UploadComplete';
    // Salesforce processes the job whether or not anyone polls; the fake applies it now.
    this.process(job);
    job.pollsLeft = this.knobs.pollsBeforeComplete;
    json(200, this.info(job));
  }

  private pollJob(job: FakeJob): Record<string, unknown> {
    if (job.state === 'UploadComplete' || job.state === 'InProgress') {
      if (job.pollsLeft > 0) {
        job.pollsLeft -= 1;
        job.state = 'InProgress';
      } else job.state = job.errorMessage !== undefined ? 'Failed' : 'JobComplete';
    }
    return this.info(job);
  }

  private info(job: FakeJob): Record<string, unknown> {
    return {
      id: job.id,
      operation: job.operation,
      object: job.object,
      state: job.state,
      externalIdFieldName: job.externalIdFieldName,
      contentType: 'CSV',
      lineEnding: 'LF',
      numberRecordsProcessed: job.state === 'JobComplete' ? job.outcomes.length : 0,
      numberRecordsFailed: job.state === 'JobComplete' ? job.outcomes.filter((o) => o.error !== null).length : 0,
      ...(job.state === 'Failed' ? { errorMessage: job.errorMessage } : {}),
    };
  }

  /** Applies a job's rows, the way Salesforce would, recording each row's outcome. */
  private process(job: FakeJob): void {
    const rows = parseCsv(job.csv ?? '');
    job.header = rows.header;
    if (this.knobs.failJobs > 0) {
      this.knobs.failJobs -= 1;
      job.errorMessage = this.knobs.failJobMessage;
      return;
    }
    const known = this.fieldSet(job.object);
    const unknown = rows.header.find((h) => !known.has(h));
    if (unknown !== undefined) {
      job.errorMessage = `InvalidBatch : Field name not found : ${unknown}`;
      return;
    }
    const needs = job.operation === 'upsert' ? job.externalIdFieldName! : job.operation === 'insert' ? undefined : 'Id';
    if (needs !== undefined && !rows.header.includes(needs)) {
      job.errorMessage = `InvalidBatch : Field name not found : ${needs}`;
      return;
    }
    job.outcomes = rows.records.map((row) => this.applyRow(job, row));
  }

  private applyRow(job: FakeJob, row: Record<string, string>): RowOutcome {
    const table = this.table(job.object);
    const fail = (error: string, id = ''): RowOutcome => ({ row, id, created: false, error });
    const values = Object.entries(row).filter(([k, v]) => k !== 'Id' && v !== '');
    const assign = (rec: SfRecord): void => {
      for (const [k, v] of values) rec[k] = v === BULK_NULL ? null : v;
    };
    const keyOf = (rec: Record<string, string | null>): string | undefined => {
      for (const f of this.externalIds.get(job.object) ?? []) if (typeof rec[f] === 'string') return rec[f] as string;
      return undefined;
    };
    const refusal = (rec: Record<string, string | null>): string | undefined => {
      const k = keyOf(rec);
      return k === undefined ? undefined : this.knobs.rejectKeys.get(k);
    };
    switch (job.operation) {
      case 'upsert': {
        const ext = job.externalIdFieldName!;
        const key = row[ext] ?? '';
        if (key === '' || key === BULK_NULL) return fail('MISSING_ARGUMENT:External ID value is missing:--');
        const why = this.knobs.rejectKeys.get(key);
        if (why !== undefined) return fail(why);
        const existing = [...table.values()].find((r) => r[ext] === key);
        if (existing) {
          assign(existing);
          return { row, id: existing.Id, created: false, error: null };
        }
        const missing = (REQUIRED_ON_CREATE[job.object] ?? []).filter((f) => row[f] === undefined || row[f] === '' || row[f] === BULK_NULL);
        if (missing.length > 0) return fail(`REQUIRED_FIELD_MISSING:Required fields are missing: [${missing.join(', ')}]:${missing.join(' ')} --`);
        const rec = { Id: this.newId(job.object) } as SfRecord;
        assign(rec);
        table.set(rec.Id, rec);
        return { row, id: rec.Id, created: true, error: null };
      }
      case 'update': {
        const rec = table.get(row.Id ?? '');
        if (!rec) return fail(this.deleted.has(row.Id ?? '') ? 'ENTITY_IS_DELETED:entity is deleted:--' : 'INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--', row.Id);
        const why = refusal(rec);
        if (why !== undefined) return fail(why, rec.Id);
        assign(rec);
        return { row, id: rec.Id, created: false, error: null };
      }
      case 'delete':
      case 'hardDelete': {
        const rec = table.get(row.Id ?? '');
        if (!rec) return fail(this.deleted.has(row.Id ?? '') ? 'ENTITY_IS_DELETED:entity is deleted:--' : 'INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--', row.Id);
        table.delete(rec.Id);
        this.deleted.add(rec.Id);
        return { row, id: rec.Id, created: false, error: null };
      }
      default: {
        const missing = (REQUIRED_ON_CREATE[job.object] ?? []).filter((f) => !row[f]);
        if (missing.length > 0) return fail(`REQUIRED_FIELD_MISSING:Required fields are missing: [${missing.join(', ')}]:${missing.join(' ')} --`);
        if (job.object === 'CampaignMember') {
          const who = row.ContactId || row.LeadId;
          if (!this.table('Campaign').has(row.CampaignId!)) return fail(`INVALID_CROSS_REFERENCE_KEY:Campaign ID: id value of incorrect type: ${row.CampaignId}:CampaignId --`);
          const person = who ? (this.table('Contact').get(who) ?? this.table('Lead').get(who)) : undefined;
          if (!person) return fail('REQUIRED_FIELD_MISSING:Required fields are missing: [ContactId or LeadId]:--');
          const why = refusal(person);
          if (why !== undefined) return fail(why);
          if ([...table.values()].some((m) => m.CampaignId === row.CampaignId && (m.ContactId === who || m.LeadId === who))) return fail('DUPLICATE_VALUE:Already a campaign member.:--');
        }
        const rec = { Id: this.newId(job.object) } as SfRecord;
        assign(rec);
        table.set(rec.Id, rec);
        return { row, id: rec.Id, created: true, error: null };
      }
    }
  }

  private results(job: FakeJob, kind: string): string {
    const keyOf = (o: RowOutcome): string | undefined => (job.externalIdFieldName ? o.row[job.externalIdFieldName] : undefined);
    const shown = job.outcomes.filter((o) => {
      const k = keyOf(o);
      return k === undefined || !this.knobs.dropKeys.has(k);
    });
    // Row order is not guaranteed by Salesforce; reversing keeps connectors honest.
    const rows = [...shown].reverse();
    if (kind === 'successfulResults') {
      return csv(['sf__Id', 'sf__Created', ...job.header], rows.filter((o) => o.error === null).map((o) => [o.id, String(o.created), ...job.header.map((h) => o.row[h] ?? '')]));
    }
    if (kind === 'failedResults') {
      return csv(['sf__Id', 'sf__Error', ...job.header], rows.filter((o) => o.error !== null).map((o) => [o.id, o.error!, ...job.header.map((h) => o.row[h] ?? '')]));
    }
    return csv(job.header, []);
  }

  private query(soql: string, json: (s: number, p: unknown) => void, apiError: ApiError): void {
    const parsed = parseSoql(soql);
    if (typeof parsed === 'string') return apiError(400, 'MALFORMED_QUERY', parsed);
    const known = this.fields.get(parsed.object);
    if (!known) return apiError(400, 'INVALID_TYPE', `sObject type '${parsed.object}' is not supported.`);
    const bad = [...parsed.fields, ...parsed.conditions.map((c) => c.field)].find((f) => !known.has(f));
    if (bad !== undefined) return apiError(400, 'INVALID_FIELD', `No such column '${bad}' on entity '${parsed.object}'.`);
    const records = this.all(parsed.object)
      .filter((r) => parsed.conditions.every((c) => c.values.includes(String(r[c.field] ?? ''))))
      .map((r) => ({ attributes: { type: parsed.object, url: `/services/data/v62.0/sobjects/${parsed.object}/${r.Id}` }, ...Object.fromEntries(parsed.fields.map((f) => [f, r[f] ?? null])) }));
    json(200, { totalSize: records.length, done: true, records });
  }
}

type Send = (status: number, payload: string, contentType?: string) => void;
type ApiError = (status: number, errorCode: string, message: string) => void;

function csv(header: string[], rows: string[][]): string {
  const cell = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

/** RFC 4180 CSV into a header and records. */
function parseCsv(text: string): { header: string[]; records: Array<Record<string, string>> } {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  const [header = [], ...data] = rows;
  return { header, records: data.map((r) => Object.fromEntries(header.map((h, j) => [h, r[j] ?? '']))) };
}

interface Soql {
  fields: string[];
  object: string;
  conditions: Array<{ field: string; values: string[] }>;
}

/** `SELECT a, b FROM O WHERE f = 'v' AND g IN ('x', 'y')`, the shapes the fake answers. */
function parseSoql(q: string): Soql | string {
  const m = /^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?\s*$/is.exec(q);
  if (!m) return `unexpected query: ${q.slice(0, 100)}`;
  const conditions: Soql['conditions'] = [];
  let rest = (m[3] ?? '').trim();
  const literal = /^'((?:[^'\\]|\\.)*)'/;
  const unescape = (s: string): string => s.replace(/\\(.)/g, '$1');
  while (rest !== '') {
    const c = /^(\w+)\s*(=|IN)\s*/i.exec(rest);
    if (!c) return `unexpected condition: ${rest.slice(0, 60)}`;
    rest = rest.slice(c[0].length);
    const values: string[] = [];
    if (c[2] === '=') {
      const l = literal.exec(rest);
      if (!l) return 'expected a string literal';
      values.push(unescape(l[1]!));
      rest = rest.slice(l[0].length).trim();
    } else {
      if (!rest.startsWith('(')) return 'expected ( after IN';
      rest = rest.slice(1).trim();
      for (;;) {
        const l = literal.exec(rest);
        if (!l) return 'expected a string literal in IN (...)';
        values.push(unescape(l[1]!));
        rest = rest.slice(l[0].length).trim();
        if (rest.startsWith(',')) rest = rest.slice(1).trim();
        else if (rest.startsWith(')')) {
          rest = rest.slice(1).trim();
          break;
        } else return 'expected , or ) in IN (...)';
      }
    }
    conditions.push({ field: c[1]!, values });
    const and = /^AND\s+/i.exec(rest);
    if (and) rest = rest.slice(and[0].length);
    else if (rest !== '') return `unexpected text: ${rest.slice(0, 60)}`;
  }
  return { fields: m[1]!.split(',').map((f) => f.trim()), object: m[2]!, conditions };
}

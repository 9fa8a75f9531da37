import http from 'node:http';
import { closeServer, listenOnLoopback, readRequestBytes } from './fake-http.js';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A fake of the parts of Klaviyo's REST API audsync uses
 * (destinations/klaviyo/README.md): bulk profile import jobs with a list
 * relationship, their import errors and profiles, profile lookup by filter,
 * removal from a list by profile id, and bulk suppression. It validates what
 * Klaviyo validates (auth header, revision header, content type, JSON:API body
 * shapes, the 10,000-profile / 5 MB / 1,000-id / 100-page-size limits) and answers
 * 400 in Klaviyo's error shape when a request breaks them, so a connector bug
 * fails tests. A real HTTP server on 127.0.0.1.
 */

export interface FakeProfile {
  id: string;
  email?: string;
  phone_number?: string;
  external_id?: string;
  first_name?: string;
  last_name?: string;
  properties: Record<string, unknown>;
  location?: Record<string, unknown>;
  [attribute: string]: unknown;
}

export interface FakeJob {
  id: string;
  status: 'queued' | 'processing' | 'complete' | 'cancelled';
  listIds: string[];
  submitted: Array<Record<string, unknown>>;
  errors: Array<{ id: string; index: number; code: string; title: string; detail: string; payload: Record<string, unknown> }>;
  profileIds: string[];
  createdAt: string;
  completedAt: string | null;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  status: number;
}

export interface KlaviyoKnobs {
  /** The next n write requests (POST/DELETE) answer 429 with Retry-After. */
  throttleWrites: number;
  /** The next n write requests answer 503. */
  failWrites: number;
  /** The next n read requests (GET) answer 429 with Retry-After. */
  throttleReads: number;
  /** Retry-After (seconds) sent with 429s. */
  retryAfter: string;
  /** Every write request waits this long before answering. */
  delayMs: number;
  /** Profiles the import job refuses (import error), by external_id or email, with the detail. */
  rejectProfiles: Map<string, string>;
  /** Profiles an import job silently leaves out: neither imported nor in its errors. */
  dropProfiles: Set<string>;
  /** How long an import job takes from submission to `complete`. */
  jobDurationMs: number;
  /** Cancel the next n import jobs instead of completing them. */
  cancelJobs: number;
  /** Answer every request 401 (a revoked key). */
  authFail: boolean;
}

const JSON_API = 'application/vnd.api+json';
const MAX_IMPORT_PROFILES = 10_000;
const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
const MAX_LIST_REMOVE = 1_000;
const MAX_SUPPRESS = 100;
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;
const REVISION = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;
const IDENTIFIERS = ['external_id', 'email', 'phone_number'] as const;
const NAMED_ATTRIBUTES = new Set(['email', 'phone_number', 'external_id', 'first_name', 'last_name', 'organization', 'locale', 'title', 'image', 'location', 'properties']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly pointer?: string,
  ) {
    super(detail);
  }
}

export class FakeKlaviyoServer {
  readonly profiles = new Map<string, FakeProfile>();
  /** List id -> profile ids in the list. */
  readonly lists = new Map<string, Set<string>>();
  /** Emails suppressed globally (Bulk Suppress Profiles). */
  readonly suppressed = new Set<string>();
  readonly jobs = new Map<string, FakeJob>();
  readonly requests: ReceivedRequest[] = [];
  readonly knobs: KlaviyoKnobs = {
    throttleWrites: 0,
    failWrites: 0,
    throttleReads: 0,
    retryAfter: '0',
    delayMs: 0,
    rejectProfiles: new Map(),
    dropProfiles: new Set(),
    jobDurationMs: 5,
    cancelJobs: 0,
    authFail: false,
  };
  private server: http.Server | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly apiKey: string,
    listIds: string[] = ['L1'],
  ) {
    for (const l of listIds) this.lists.set(l, new Set());
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await closeServer(this.server);
  }

  /** Profiles currently in `listId`. */
  members(listId = 'L1'): FakeProfile[] {
    return [...(this.lists.get(listId) ?? [])].map((id) => this.profiles.get(id)!);
  }

  /** Requests of one kind, e.g. ('POST', '/api/profile-bulk-import-jobs'). */
  requestsTo(method: string, pathPrefix: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Raw bytes: the import size limit counts bytes, and malformed JSON gets Klaviyo's own answer.
    const raw = await readRequestBytes(req);
    const u = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const record: ReceivedRequest = { method, path: u.pathname, query: u.searchParams, headers: req.headers, body: undefined, status: 0 };
    this.requests.push(record);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': JSON_API }), 'ratelimit-limit': '150', 'ratelimit-remaining': '149', 'ratelimit-reset': '60', ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const isWrite = method === 'POST' || method === 'DELETE';
    try {
      if (isWrite && this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
      if (isWrite ? this.knobs.throttleWrites > 0 : this.knobs.throttleReads > 0) {
        if (isWrite) this.knobs.throttleWrites -= 1;
        else this.knobs.throttleReads -= 1;
        return send(429, errorBody(429, 'throttled', 'Request was throttled.', `Request was throttled. Expected available in ${this.knobs.retryAfter} seconds.`), {
          'retry-after': this.knobs.retryAfter,
        });
      }
      if (isWrite && this.knobs.failWrites > 0) {
        this.knobs.failWrites -= 1;
        return send(503, errorBody(503, 'error', 'A server error occurred.', 'Service temporarily unavailable.'));
      }
      if (this.knobs.authFail || req.headers.authorization !== `Klaviyo-API-Key ${this.apiKey}`) {
        return send(401, errorBody(401, 'not_authenticated', 'Authentication credentials were not provided.', 'Missing or invalid private key.'));
      }
      const revision = String(req.headers.revision ?? '');
      if (!REVISION.test(revision)) throw new HttpError(400, 'invalid', `Invalid or missing revision header: ${JSON.stringify(revision)}.`);
      if (isWrite) {
        if (!String(req.headers['content-type'] ?? '').startsWith(JSON_API)) throw new HttpError(415, 'unsupported_media_type', `Content-Type must be ${JSON_API}.`);
        if (u.pathname === '/api/profile-bulk-import-jobs' && raw.length > MAX_IMPORT_BYTES) throw new HttpError(413, 'request_too_large', 'Payload exceeds 5MB.');
        try {
          record.body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new HttpError(400, 'parse_error', 'Malformed JSON body.');
        }
      }
      const r = this.route(method, u, record.body);
      return send(r.status, r.body);
    } catch (e) {
      if (e instanceof HttpError) return send(e.status, errorBody(e.status, e.code, e.status === 404 ? 'Not found.' : 'Invalid input.', e.detail, e.pointer));
      return send(500, errorBody(500, 'error', 'A server error occurred.', String((e as Error).message)));
    }
  }

  private route(method: string, u: URL, body: unknown): { status: number; body?: unknown } {
    const p = u.pathname.replace(/\/+$/, '');
    let m: RegExpExecArray | null;
    if (method === 'POST' && p === '/api/profile-bulk-import-jobs') return { status: 202, body: { data: this.jobResource(this.createJob(body)) } };
    if (method === 'GET' && (m = /^\/api\/profile-bulk-import-jobs\/([^/]+)$/.exec(p))) return { status: 200, body: { data: this.jobResource(this.job(m[1]!)) } };
    if (method === 'GET' && (m = /^\/api\/profile-bulk-import-jobs\/([^/]+)\/import-errors$/.exec(p))) {
      const job = this.job(m[1]!);
      const items = job.errors.map((e) => ({
        type: 'import-error',
        id: e.id,
        attributes: { code: e.code, title: e.title, detail: e.detail, source: { pointer: `/data/attributes/profiles/data/${e.index}/attributes` }, original_payload: e.payload },
      }));
      return { status: 200, body: this.page(u, items) };
    }
    if (method === 'GET' && (m = /^\/api\/profile-bulk-import-jobs\/([^/]+)\/profiles$/.exec(p))) {
      const job = this.job(m[1]!);
      return { status: 200, body: this.page(u, job.profileIds.map((id) => this.profileResource(this.profiles.get(id)!, u))) };
    }
    if (method === 'GET' && p === '/api/profiles') {
      const found = this.filterProfiles(u.searchParams.get('filter'));
      return { status: 200, body: this.page(u, found.map((pr) => this.profileResource(pr, u))) };
    }
    if (method === 'DELETE' && (m = /^\/api\/lists\/([^/]+)\/relationships\/profiles$/.exec(p))) {
      this.removeFromList(decodeURIComponent(m[1]!), body);
      return { status: 204 };
    }
    if (method === 'POST' && p === '/api/profile-suppression-bulk-create-jobs') return { status: 202, body: this.suppress(body) };
    throw new HttpError(404, 'not_found', `No route for ${method} ${p}.`);
  }

  private createJob(body: unknown): FakeJob {
    const data = (body as { data?: Record<string, unknown> } | null)?.data;
    if (!data || data.type !== 'profile-bulk-import-job') throw new HttpError(400, 'invalid', 'data.type must be "profile-bulk-import-job".', '/data/type');
    const profiles = ((data.attributes as Record<string, unknown> | undefined)?.profiles as { data?: unknown } | undefined)?.data;
    if (!Array.isArray(profiles) || profiles.length === 0) throw new HttpError(400, 'invalid', 'At least one profile is required.', '/data/attributes/profiles/data');
    if (profiles.length > MAX_IMPORT_PROFILES) throw new HttpError(400, 'invalid', `At most ${MAX_IMPORT_PROFILES} profiles per job.`, '/data/attributes/profiles/data');
    const submitted: Array<Record<string, unknown>> = [];
    profiles.forEach((pr: { type?: unknown; attributes?: Record<string, unknown> }, i) => {
      const at = `/data/attributes/profiles/data/${i}`;
      if (pr?.type !== 'profile' || !pr.attributes || typeof pr.attributes !== 'object') throw new HttpError(400, 'invalid', 'Each profile needs type "profile" and attributes.', at);
      if (!IDENTIFIERS.some((k) => typeof pr.attributes![k] === 'string' && pr.attributes![k] !== '')) {
        throw new HttpError(400, 'invalid', 'One of email, phone_number or external_id is required.', `${at}/attributes`);
      }
      for (const [k, v] of Object.entries(pr.attributes)) {
        if (!NAMED_ATTRIBUTES.has(k)) throw new HttpError(400, 'invalid', `"${k}" is not a valid field for the resource "profile".`, `${at}/attributes/${k}`);
        if (v === null) throw new HttpError(400, 'invalid', `"${k}" may not be null.`, `${at}/attributes/${k}`);
        if (IDENTIFIERS.includes(k as never) && typeof v !== 'string') throw new HttpError(400, 'invalid', `"${k}" must be a string.`, `${at}/attributes/${k}`);
      }
      submitted.push(pr.attributes);
    });
    const rel = (data.relationships as { lists?: { data?: unknown } } | undefined)?.lists?.data;
    const listIds: string[] = [];
    if (rel !== undefined) {
      if (!Array.isArray(rel)) throw new HttpError(400, 'invalid', 'relationships.lists.data must be an array.', '/data/relationships/lists/data');
      rel.forEach((l: { type?: unknown; id?: unknown }, i) => {
        if (l?.type !== 'list' || typeof l.id !== 'string') throw new HttpError(400, 'invalid', 'Each list needs type "list" and an id.', `/data/relationships/lists/data/${i}`);
        if (!this.lists.has(l.id)) throw new HttpError(404, 'not_found', `A list with id ${l.id} does not exist.`, `/data/relationships/lists/data/${i}/id`);
        listIds.push(l.id);
      });
    }
    const job: FakeJob = { id: newId(), status: 'queued', listIds, submitted, errors: [], profileIds: [], createdAt: new Date().toISOString(), completedAt: null };
    this.jobs.set(job.id, job);
    // Klaviyo processes jobs asynchronously: queued, processing, then complete.
    this.later(0, () => job.status === 'queued' && (job.status = 'processing'));
    this.later(this.knobs.jobDurationMs, () => this.process(job));
    return job;
  }

  private process(job: FakeJob): void {
    if (this.knobs.cancelJobs > 0) {
      this.knobs.cancelJobs -= 1;
      job.status = 'cancelled';
      return;
    }
    job.submitted.forEach((attrs, index) => {
      const keys = [attrs.external_id, attrs.email].filter((x): x is string => typeof x === 'string');
      const refusal = keys.map((k) => this.knobs.rejectProfiles.get(k)).find((x) => x !== undefined);
      if (refusal !== undefined) {
        job.errors.push({ id: newId(), index, code: 'invalid', title: 'Invalid input.', detail: refusal, payload: attrs });
        return;
      }
      if (keys.some((k) => this.knobs.dropProfiles.has(k))) return;
      const profile = this.upsert(attrs);
      job.profileIds.push(profile.id);
      for (const l of job.listIds) this.lists.get(l)!.add(profile.id);
    });
    job.status = 'complete';
    job.completedAt = new Date().toISOString();
  }

  /** Klaviyo's upsert: match an existing profile by external_id, then email, then phone; else create. */
  private upsert(attrs: Record<string, unknown>): FakeProfile {
    let profile: FakeProfile | undefined;
    for (const k of IDENTIFIERS) {
      const v = attrs[k];
      if (typeof v !== 'string') continue;
      profile = [...this.profiles.values()].find((pr) => pr[k] === (k === 'email' ? v.toLowerCase() : v));
      if (profile) break;
    }
    if (!profile) {
      profile = { id: newId(), properties: {} };
      this.profiles.set(profile.id, profile);
    }
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'properties') Object.assign(profile.properties, v as Record<string, unknown>);
      else if (k === 'location') profile.location = { ...(profile.location ?? {}), ...(v as Record<string, unknown>) };
      else profile[k] = k === 'email' ? String(v).toLowerCase() : v;
    }
    return profile;
  }

  private removeFromList(listId: string, body: unknown): void {
    const data = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length === 0) throw new HttpError(400, 'invalid', 'data must be a non-empty array of profiles.', '/data');
    if (data.length > MAX_LIST_REMOVE) throw new HttpError(400, 'invalid', `At most ${MAX_LIST_REMOVE} profiles per request.`, '/data');
    data.forEach((d: { type?: unknown; id?: unknown }, i) => {
      if (d?.type !== 'profile' || typeof d.id !== 'string' || d.id === '') throw new HttpError(400, 'invalid', 'Each entry needs type "profile" and an id.', `/data/${i}`);
    });
    const list = this.lists.get(listId);
    if (!list) throw new HttpError(404, 'not_found', `A list with id ${listId} does not exist.`);
    for (const d of data as Array<{ id: string }>) list.delete(d.id);
  }

  private suppress(body: unknown): unknown {
    const data = (body as { data?: Record<string, unknown> } | null)?.data;
    if (data?.type !== 'profile-suppression-bulk-create-job') throw new HttpError(400, 'invalid', 'data.type must be "profile-suppression-bulk-create-job".', '/data/type');
    const profiles = ((data.attributes as Record<string, unknown> | undefined)?.profiles as { data?: unknown } | undefined)?.data;
    if (!Array.isArray(profiles) || profiles.length === 0 || profiles.length > MAX_SUPPRESS) {
      throw new HttpError(400, 'invalid', `Between 1 and ${MAX_SUPPRESS} profiles per request.`, '/data/attributes/profiles/data');
    }
    for (const pr of profiles as Array<{ attributes?: { email?: unknown } }>) {
      if (typeof pr.attributes?.email !== 'string') throw new HttpError(400, 'invalid', 'email is required.', '/data/attributes/profiles/data');
      this.suppressed.add(pr.attributes.email.toLowerCase());
    }
    return { data: { type: 'profile-suppression-bulk-create-job', id: newId(), attributes: { status: 'queued', total_count: profiles.length } } };
  }

  private filterProfiles(filter: string | null): FakeProfile[] {
    const m = filter ? /^(any|equals)\((email|phone_number|external_id|id),(.*)\)$/.exec(filter) : null;
    if (!m) throw new HttpError(400, 'invalid', `Unsupported filter ${JSON.stringify(filter)}.`);
    let values: unknown;
    try {
      values = JSON.parse(m[3]!);
    } catch {
      throw new HttpError(400, 'invalid', 'Malformed filter value.');
    }
    const list = m[1] === 'any' ? values : [values];
    if (!Array.isArray(list) || list.length > MAX_PAGE_SIZE) throw new HttpError(400, 'invalid', 'Filter any() takes at most 100 values.');
    const field = m[2]!;
    const wanted = new Set(list.map((v) => (field === 'email' ? String(v).toLowerCase() : String(v))));
    return [...this.profiles.values()].filter((pr) => wanted.has(String(pr[field])));
  }

  /** One page of a collection, cursor = offset, `links.next` absolute as Klaviyo gives it. */
  private page(u: URL, items: unknown[]): unknown {
    const sizeParam = u.searchParams.get('page[size]');
    const size = sizeParam === null ? DEFAULT_PAGE_SIZE : Number(sizeParam);
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw new HttpError(400, 'invalid', `page[size] must be between 1 and ${MAX_PAGE_SIZE}.`, undefined);
    const offset = Number(u.searchParams.get('page[cursor]') ?? '0');
    const slice = items.slice(offset, offset + size);
    const links: Record<string, string | null> = { self: `${this.url}${u.pathname}${u.search}`, next: null, prev: null };
    if (offset + size < items.length) {
      const next = new URLSearchParams(u.searchParams);
      next.set('page[cursor]', String(offset + size));
      links.next = `${this.url}${u.pathname}?${next.toString()}`;
    }
    return { data: slice, links };
  }

  private job(id: string): FakeJob {
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404, 'not_found', `A job with id ${id} does not exist.`);
    return job;
  }

  private jobResource(job: FakeJob): unknown {
    return {
      type: 'profile-bulk-import-job',
      id: job.id,
      attributes: {
        status: job.status,
        created_at: job.createdAt,
        total_count: job.submitted.length,
        completed_count: job.status === 'complete' ? job.profileIds.length : 0,
        failed_count: job.status === 'complete' ? job.errors.length : 0,
        completed_at: job.completedAt,
        expires_at: null,
        started_at: job.createdAt,
      },
      relationships: { lists: { data: job.listIds.map((id) => ({ type: 'list', id })) } },
      links: { self: `${this.url}/api/profile-bulk-import-jobs/${job.id}` },
    };
  }

  private profileResource(pr: FakeProfile, u: URL): unknown {
    const fieldsParam = u.searchParams.get('fields[profile]');
    const fields = fieldsParam ? fieldsParam.split(',') : Object.keys(pr).filter((k) => k !== 'id');
    const attributes: Record<string, unknown> = {};
    for (const f of fields) attributes[f] = pr[f] ?? null;
    return { type: 'profile', id: pr.id, attributes };
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

function errorBody(status: number, code: string, title: string, detail: string, pointer?: string): unknown {
  return { errors: [{ id: newId(), status, code, title, detail, source: pointer === undefined ? {} : { pointer } }] };
}

/** A 26-character id like Klaviyo's (ULID alphabet). */
function newId(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  return [...randomBytes(26)].map((b) => alphabet[b % 32]).join('');
}

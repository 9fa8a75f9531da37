import http from 'node:http';
import { closeServer, listenOnLoopback, readRequestText } from './fake-http.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A Meta Marketing API fake for customer-file Custom Audiences
 * (destinations/meta-custom-audiences/README.md): POST / DELETE
 * `/{version}/{audience}/users`, POST `/usersreplace` with sessions, and
 * GET `/{version}/{audience}` for the size estimate. A real HTTP server on
 * 127.0.0.1 that validates like the real API (token, appsecret_proof, path and
 * version, schema keys, row width, the 10,000-row limit, hash format) and
 * answers with Graph's shapes. It also ASSERTS that no raw identifier reaches
 * it: a cell of a hashed key that is not 64 lowercase hex (an email with '@',
 * a bare phone number) fails the request and is kept in `violations`, which
 * tests check.
 *
 * State: each audience is a set of hashed rows. Meta matches people, not
 * rows, so rows sharing a strong identifier (EXTERN_ID, EMAIL, PHONE, MADID)
 * are one person: re-adding a person replaces their row, and removing a row
 * removes the person it matches.
 */

/** Rows per request (fact file: "Limit: 10,000 rows per request"). */
export const META_MAX_ROWS = 10_000;
export const SCHEMA_KEYS = ['EXTERN_ID', 'EMAIL', 'PHONE', 'GEN', 'DOBY', 'DOBM', 'DOBD', 'LN', 'FN', 'FI', 'CT', 'ST', 'ZIP', 'MADID', 'COUNTRY', 'LOOKALIKE_VALUE'] as const;
/** Sent as they are: every other key must be a SHA-256 hash. */
const RAW_KEYS = new Set(['EXTERN_ID', 'MADID', 'LOOKALIKE_VALUE']);
/** Keys that identify one person: rows sharing one are the same person. */
const STRONG_KEYS = ['EXTERN_ID', 'EMAIL', 'PHONE', 'MADID'] as const;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** How old an appsecret_time may be. */
const PROOF_WINDOW_S = 300;

export type Cell = string | number;
/** A stored row: schema key -> cell. */
export type HashedRow = Readonly<Record<string, Cell>>;

export interface ThrottleSpec {
  readonly code: 4 | 17 | 613 | 80003;
  readonly subcode?: number;
  readonly message: string;
}

/** Meta's rate-limit answers (fact file; developers.facebook.com/docs/marketing-api/overview/rate-limiting). */
export const THROTTLES: Record<4 | 17 | 613 | 80003, ThrottleSpec> = {
  4: { code: 4, message: '(#4) Application request limit reached' },
  17: { code: 17, subcode: 2446079, message: '(#17) User request limit reached' },
  613: { code: 613, subcode: 1487742, message: 'There have been too many calls from this ad-account. Please wait a bit and try again.' },
  80003: { code: 80003, message: 'There have been too many calls to this ad-account (custom audience). Wait a bit and try again.' },
};

export interface GraphErrorSpec {
  readonly code: number;
  readonly subcode?: number;
  readonly message: string;
  readonly type?: string;
  readonly userTitle?: string;
  readonly userMessage?: string;
}

/** Audience errors of the fact file. */
export const AUDIENCE_ERRORS = {
  deleted: { code: 100, subcode: 1487366, message: 'Custom Audience Deleted: this custom audience has been deleted and can no longer be updated', userTitle: 'Custom Audience Deleted' },
  notShared: { code: 100, subcode: 1487301, message: 'Custom Audience Unavailable: the audience is not shared with the ad account of this token' },
  permission: { code: 294, message: '(#294) Managing advertisements requires an access token with the extended permission for ads_management' },
  flagged: { code: 100, subcode: 1713230, message: 'Invalid parameter', userTitle: 'Audience Upload Blocked', userMessage: 'Before updating user memberships, you must resolve integrity restrictions on this Data File Custom Audience.' },
} satisfies Record<string, GraphErrorSpec>;

export interface MetaKnobs {
  /** The next n write requests answer with the throttling error below. */
  throttleNext: number;
  throttle: ThrottleSpec;
  /** `estimated_time_to_regain_access` (minutes) in X-Business-Use-Case-Usage of throttled answers. */
  regainAccessMinutes: number;
  /** The next n write requests answer 500 (Graph's transient code 2). */
  failNext: number;
  /** Every call answers code 190 (expired token). */
  authFailure: boolean;
  /** Every call on an audience answers this error (e.g. AUDIENCE_ERRORS.deleted). */
  audienceError: GraphErrorSpec | undefined;
  /** Rows holding one of these cells are invalid entries with this reason (reported in invalid_entry_samples, not applied). */
  rejectCells: Map<string, string>;
  /** Invalid rows counted but left out of invalid_entry_samples (the samples are not exhaustive). */
  unsampledCells: Set<string>;
  /** Every write request waits this long before answering. */
  delayMs: number;
  /** The audience read (GET) answers 500. */
  failSizeRead: boolean;
  /** usersreplace batches with this batch_seq or later are refused (code 100): the session is never finished. */
  refuseReplaceFromSeq: number | undefined;
}

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Parsed JSON body (POST/DELETE), or undefined. */
  readonly body: unknown;
  status: number;
  /** The Graph error code answered, if any. */
  errorCode?: number;
}

export interface SessionRecord {
  readonly audienceId: string;
  readonly session_id: number;
  readonly batch_seq: number;
  readonly last_batch_flag: boolean;
  readonly estimated_num_total: unknown;
  readonly rows: number;
}

interface OpenSession {
  readonly id: number;
  readonly seqs: Set<number>;
  lastSeq: number;
  readonly people: Audience;
  closed: boolean;
}

/** A set of hashed rows, deduplicated by person (see the file comment). */
export class Audience {
  private readonly rows = new Map<number, HashedRow>();
  private readonly index = new Map<string, number>();
  private next = 1;

  add(row: HashedRow): void {
    this.remove(row);
    const id = this.next++;
    this.rows.set(id, row);
    for (const k of strongIds(row)) this.index.set(k, id);
  }

  remove(row: HashedRow): void {
    const ids = strongIds(row);
    const hit = new Set<number>();
    for (const k of ids) {
      const id = this.index.get(k);
      if (id !== undefined) hit.add(id);
    }
    if (ids.length === 0) for (const [id, r] of this.rows) if (JSON.stringify(r) === JSON.stringify(row)) hit.add(id);
    for (const id of hit) {
      for (const k of strongIds(this.rows.get(id)!)) if (this.index.get(k) === id) this.index.delete(k);
      this.rows.delete(id);
    }
  }

  all(): HashedRow[] {
    return [...this.rows.values()];
  }

  get size(): number {
    return this.rows.size;
  }
}

function strongIds(row: HashedRow): string[] {
  return STRONG_KEYS.filter((k) => row[k] !== undefined && row[k] !== '').map((k) => `${k}:${String(row[k])}`);
}

class GraphFailure extends Error {
  constructor(
    readonly status: number,
    readonly spec: GraphErrorSpec & { isTransient?: boolean },
    readonly headers: Record<string, string> = {},
  ) {
    super(spec.message);
  }
}

export class FakeMetaServer {
  readonly audiences = new Map<string, Audience>();
  readonly requests: ReceivedRequest[] = [];
  /** Every usersreplace session block received, in arrival order. */
  readonly sessionLog: SessionRecord[] = [];
  /** Broken rules the fake caught: raw identifiers, concurrent or out-of-order replaces. Tests assert it stays empty. */
  readonly violations: string[] = [];
  /** Requests received, counted on arrival (answered or not). */
  received = 0;
  readonly knobs: MetaKnobs = {
    throttleNext: 0,
    throttle: THROTTLES[17],
    regainAccessMinutes: 0,
    failNext: 0,
    authFailure: false,
    audienceError: undefined,
    rejectCells: new Map(),
    unsampledCells: new Set(),
    delayMs: 0,
    failSizeRead: false,
    refuseReplaceFromSeq: undefined,
  };
  private readonly sessions = new Map<string, OpenSession>();
  private readonly replacing = new Set<string>();
  private server: http.Server | undefined;

  constructor(
    readonly token: string,
    readonly opts: { appSecret?: string; version?: string } = {},
  ) {}

  get version(): string {
    return this.opts.version ?? 'v25.0';
  }

  /** The baseUrl to configure (Meta's host replaced; the version stays in the path). */
  get url(): string {
    const addr = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${addr.port}`;
  }

  addAudience(id: string): Audience {
    const a = new Audience();
    this.audiences.set(id, a);
    return a;
  }

  /** The rows of an audience (after replaces and updates). */
  rows(audienceId: string): HashedRow[] {
    return this.audiences.get(audienceId)?.all() ?? [];
  }

  writes(): ReceivedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  async start(): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.received += 1;
    // Raw text: an empty body and malformed JSON get Graph's own answers.
    const { text: raw } = await readRequestText(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams);
    let body: unknown;
    const record: ReceivedRequest = { method, path: url.pathname, query, body: undefined, status: 0 };
    this.requests.push(record);
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(payload));
    };
    const m = /^\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    const edge = m?.[3];
    const audienceId = m?.[2] ?? '';
    const replace = method === 'POST' && edge === 'usersreplace';
    if (replace && this.replacing.has(audienceId)) {
      this.violations.push(`concurrent usersreplace on audience ${audienceId}`);
      record.errorCode = 2650;
      reply(400, graphError({ code: 2650, message: 'Failed to update the custom audience: another replace operation is in progress' }));
      return;
    }
    if (replace) this.replacing.add(audienceId);
    try {
      if (method !== 'GET' && raw !== '') {
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw invalid('expected an application/json body');
        try {
          body = JSON.parse(raw);
        } catch {
          throw invalid('the body is not valid JSON');
        }
        (record as { body: unknown }).body = body;
      }
      const params: Record<string, unknown> = { ...query, ...(body && typeof body === 'object' ? (body as Record<string, unknown>) : {}) };
      if (method !== 'GET' && this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
      if (!m) throw new GraphFailure(400, { code: 2500, message: `Unknown path components: ${url.pathname}`, type: 'OAuthException' });
      if (m[1] !== this.version) throw new GraphFailure(400, { code: 2635, message: `Graph API version ${m[1]} is not the one this fake serves (${this.version})` });
      this.authenticate(params);
      if (method !== 'GET') this.faults();
      const audience = this.audiences.get(audienceId);
      if (!audience) throw new GraphFailure(400, { code: 100, subcode: 33, message: `Unsupported post request. Object with ID '${audienceId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, type: 'GraphMethodException' });
      if (this.knobs.audienceError) throw new GraphFailure(400, this.knobs.audienceError);
      if (method === 'GET' && edge === undefined) {
        if (this.knobs.failSizeRead) throw new GraphFailure(500, { code: 2, message: 'An unexpected error has occurred. Please retry your request later.', isTransient: true });
        const n = audience.size;
        reply(200, { id: audienceId, approximate_count_lower_bound: n, approximate_count_upper_bound: n + Math.ceil(n / 10) });
        return;
      }
      if (edge === 'users' && (method === 'POST' || method === 'DELETE')) {
        const upload = this.validateUpload(params);
        for (const row of upload.valid) {
          if (method === 'POST') audience.add(row);
          else audience.remove(row);
        }
        reply(200, uploadAnswer(audienceId, typeof (params.session as { session_id?: unknown })?.session_id === 'number' ? (params.session as { session_id: number }).session_id : Date.now(), upload));
        return;
      }
      if (replace) {
        const seq = (params.session as { batch_seq?: unknown } | undefined)?.batch_seq;
        if (this.knobs.refuseReplaceFromSeq !== undefined && typeof seq === 'number' && seq >= this.knobs.refuseReplaceFromSeq) {
          throw new GraphFailure(400, { code: 100, message: `Invalid parameter: replace batch ${seq} refused (test knob)` });
        }
        const upload = this.validateUpload(params);
        const sessionId = this.applyReplace(audienceId, params.session, upload);
        reply(200, uploadAnswer(audienceId, sessionId, upload));
        return;
      }
      throw new GraphFailure(400, { code: 100, message: `Unsupported ${method} request on ${url.pathname}`, type: 'GraphMethodException' });
    } catch (e) {
      if (!(e instanceof GraphFailure)) throw e;
      record.errorCode = e.spec.code;
      reply(e.status, graphError(e.spec), e.headers);
    } finally {
      if (replace) this.replacing.delete(audienceId);
    }
  }

  /** access_token, and appsecret_proof (HMAC of the token, or of `token|appsecret_time`) when the app requires it. */
  private authenticate(params: Record<string, unknown>): void {
    const expired = { code: 190, subcode: 463, type: 'OAuthException', message: 'Error validating access token: Session has expired on Monday, 23-Nov-26 10:00:00 PST.' };
    if (this.knobs.authFailure) throw new GraphFailure(400, expired);
    if (params.access_token !== this.token) throw new GraphFailure(400, { code: 190, type: 'OAuthException', message: 'Invalid OAuth access token - Cannot parse access token' });
    const secret = this.opts.appSecret;
    if (secret === undefined) return;
    const proof = typeof params.appsecret_proof === 'string' ? params.appsecret_proof : '';
    const time = params.appsecret_time;
    let signed = this.token;
    if (time !== undefined) {
      if (typeof time !== 'string' && typeof time !== 'number') throw badProof('appsecret_time must be a unix time');
      if (Math.abs(Date.now() / 1000 - Number(time)) > PROOF_WINDOW_S) throw badProof('appsecret_time is too old');
      signed = `${this.token}|${String(time)}`;
    }
    const want = Buffer.from(createHmac('sha256', secret).update(signed).digest('hex'));
    if (proof.length !== want.length || !timingSafeEqual(Buffer.from(proof), want)) throw badProof('Invalid appsecret_proof provided in the API argument');
  }

  private faults(): void {
    if (this.knobs.throttleNext > 0) {
      this.knobs.throttleNext -= 1;
      const usage = { '1234567890': [{ type: 'custom_audience', call_count: 100, total_cputime: 12, total_time: 35, estimated_time_to_regain_access: this.knobs.regainAccessMinutes }] };
      throw new GraphFailure(400, { ...this.knobs.throttle, type: 'OAuthException' }, { 'x-business-use-case-usage': JSON.stringify(usage) });
    }
    if (this.knobs.failNext > 0) {
      this.knobs.failNext -= 1;
      throw new GraphFailure(500, { code: 2, type: 'OAuthException', message: 'An unexpected error has occurred. Please retry your request later.', isTransient: true });
    }
  }

  /** Checks `payload` as Meta does; sorts rows into valid ones and invalid entries. */
  private validateUpload(params: Record<string, unknown>): Upload {
    let payload = params.payload;
    if (typeof payload === 'string') {
      try {
        payload = JSON.parse(payload);
      } catch {
        throw invalid('payload is not valid JSON');
      }
    }
    if (!payload || typeof payload !== 'object') throw invalid('payload is required');
    const { schema: rawSchema, data } = payload as { schema?: unknown; data?: unknown };
    const schema = typeof rawSchema === 'string' ? [rawSchema] : rawSchema;
    if (!Array.isArray(schema) || schema.length === 0 || !schema.every((k) => typeof k === 'string')) throw invalid('payload.schema must be a key or an array of keys');
    for (const k of schema) if (!(SCHEMA_KEYS as readonly string[]).includes(k as string)) throw invalid(`payload.schema: unknown key ${JSON.stringify(k)}`);
    if (new Set(schema).size !== schema.length) throw invalid('payload.schema: a key appears twice');
    if (!Array.isArray(data) || data.length === 0) throw invalid('payload.data must be a non-empty array');
    if (data.length > META_MAX_ROWS) throw invalid(`payload.data: at most ${META_MAX_ROWS} rows per request, got ${data.length}`);
    const keys = schema as string[];
    const out: Upload = { received: data.length, valid: [], invalid: [] };
    data.forEach((entry: unknown, i) => {
      const row = keys.length === 1 && !Array.isArray(entry) ? [entry] : entry;
      if (!Array.isArray(row) || row.length !== keys.length) throw invalid(`payload.data[${i}]: expected ${keys.length} values in schema order, got ${Array.isArray(row) ? row.length : typeof row}`);
      const cells: Record<string, Cell> = {};
      row.forEach((cell: unknown, j) => {
        const key = keys[j]!;
        cells[key] = this.checkCell(key, cell, i);
      });
      const reason = row.map((c) => this.knobs.rejectCells.get(String(c))).find((r) => r !== undefined);
      const quiet = row.some((c) => this.knobs.unsampledCells.has(String(c)));
      if (row.every((c) => c === '')) out.invalid.push({ row, reason: 'all values are empty', sampled: true });
      else if (reason !== undefined) out.invalid.push({ row, reason, sampled: true });
      else if (quiet) out.invalid.push({ row, reason: 'invalid entry', sampled: false });
      else out.valid.push(cells);
    });
    return out;
  }

  /** A cell as Meta expects it; a raw value under a hashed key is a privacy violation. */
  private checkCell(key: string, cell: unknown, row: number): Cell {
    if (key === 'LOOKALIKE_VALUE') {
      if (typeof cell === 'number' || cell === '') return cell;
      throw invalid(`payload.data[${row}]: LOOKALIKE_VALUE must be a number`);
    }
    if (typeof cell !== 'string') throw invalid(`payload.data[${row}]: ${key} must be a string`);
    if (RAW_KEYS.has(key) || cell === '' || SHA256_HEX.test(cell)) return cell;
    this.violations.push(`raw or malformed ${key} reached the fake: ${JSON.stringify(cell)}`);
    throw invalid(`payload.data[${row}]: ${key} must be a SHA-256 hash (64 lowercase hex characters) or ""`);
  }

  /** Adds an upload to its session; the audience becomes the session's rows when the last batch arrives. */
  private applyReplace(audienceId: string, raw: unknown, upload: Upload): number {
    if (!raw || typeof raw !== 'object') throw invalid('session is required for usersreplace');
    const s = raw as Record<string, unknown>;
    const id = s.session_id;
    const seq = s.batch_seq;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) throw invalid('session.session_id must be a positive int64');
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) throw invalid('session.batch_seq must be an integer from 1');
    if (typeof s.last_batch_flag !== 'boolean') throw invalid('session.last_batch_flag must be a boolean');
    this.sessionLog.push({ audienceId, session_id: id, batch_seq: seq, last_batch_flag: s.last_batch_flag, estimated_num_total: s.estimated_num_total, rows: upload.received });
    let session = this.sessions.get(audienceId);
    if (!session || session.id !== id) {
      // A new session supersedes one left open (its run died); it starts at batch 1.
      if (seq !== 1) {
        this.violations.push(`session ${id} on audience ${audienceId} started at batch_seq ${seq}`);
        throw invalid(`session ${id}: the first batch must have batch_seq 1`);
      }
      session = { id, seqs: new Set(), lastSeq: 0, people: new Audience(), closed: false };
      this.sessions.set(audienceId, session);
    }
    const replay = session.seqs.has(seq);
    if (session.closed && !replay) throw new GraphFailure(400, { code: 100, message: `session ${id} is already finished` });
    if (!replay && seq !== session.lastSeq + 1) {
      this.violations.push(`session ${id}: batch_seq ${seq} after ${session.lastSeq}`);
      throw invalid(`session ${id}: batch_seq ${seq} does not follow ${session.lastSeq}`);
    }
    if (session.closed) return id;
    session.seqs.add(seq);
    session.lastSeq = Math.max(session.lastSeq, seq);
    for (const row of upload.valid) session.people.add(row);
    if (s.last_batch_flag) {
      session.closed = true;
      this.audiences.set(audienceId, session.people);
    }
    return id;
  }
}

interface Upload {
  received: number;
  valid: HashedRow[];
  invalid: Array<{ row: unknown[]; reason: string; sampled: boolean }>;
}

function uploadAnswer(audienceId: string, sessionId: number, u: Upload): Record<string, unknown> {
  const samples: Record<string, string> = {};
  for (const i of u.invalid) if (i.sampled) samples[JSON.stringify(i.row)] = i.reason;
  return { audience_id: audienceId, session_id: String(sessionId), num_received: u.received, num_invalid_entries: u.invalid.length, invalid_entry_samples: samples };
}

function graphError(spec: GraphErrorSpec & { isTransient?: boolean }): Record<string, unknown> {
  return {
    error: {
      message: spec.message,
      type: spec.type ?? 'OAuthException',
      code: spec.code,
      ...(spec.subcode !== undefined ? { error_subcode: spec.subcode } : {}),
      ...(spec.userTitle ? { error_user_title: spec.userTitle } : {}),
      ...(spec.userMessage ? { error_user_msg: spec.userMessage } : {}),
      ...(spec.isTransient ? { is_transient: true } : {}),
      fbtrace_id: 'AbCdEfGhIjK',
    },
  };
}

function invalid(message: string): GraphFailure {
  return new GraphFailure(400, { code: 100, type: 'OAuthException', message: `(#100) ${message}` });
}

function badProof(message: string): GraphFailure {
  return new GraphFailure(400, { code: 100, type: 'GraphMethodException', message: /appsecret_proof/.test(message) ? message : `${message} (appsecret_proof)` });
}

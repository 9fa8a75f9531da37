import http from 'node:http';
import { closeServer, listenOnLoopback, readRequestText } from './fake-http.js';
import type { AddressInfo } from 'node:net';

/**
 * A HubSpot CRM v3 fake (destinations/hubspot/README.md): contacts batch
 * upsert / read / update and list memberships, with bearer-token auth, the
 * documented limits and error shapes, and fault knobs. A real HTTP server on
 * 127.0.0.1. State: contacts by record id, lists as sets of record ids.
 */

/** Documented maximum inputs of a CRM v3 batch call. */
const MAX_BATCH_INPUTS = 100;

export interface FakeContact {
  readonly id: string;
  readonly properties: Record<string, string>;
}

export interface FakeList {
  processingType: 'MANUAL' | 'SNAPSHOT' | 'DYNAMIC';
  readonly members: Set<string>;
}

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly status: number;
  /** Date.now() on arrival, for rate checks. */
  readonly at: number;
}

export interface HubSpotKnobs {
  /** The next n requests answer 429 RATE_LIMIT (TEN_SECONDLY_ROLLING). */
  throttleNext: number;
  /** Retry-After header (seconds) sent with 429s, when set; HubSpot usually sends none. */
  retryAfter?: string;
  /** The next n requests answer 502. */
  failNext: number;
  /** Every request waits this long before answering. */
  delayMs: number;
  /** Upsert inputs whose id (the unique property's value) is refused per row, with this message. */
  rejectIds: Map<string, string>;
  /** Upsert inputs whose id is left out of a 200 answer without an error (a silent drop). */
  dropIds: Set<string>;
  /** Echo objectWriteTraceId in upsert results (HubSpot does not document it; off by default). */
  echoTraceIds: boolean;
  /** Largest membership id list accepted per call. */
  maxMembershipIds: number;
}

export class FakeHubSpotServer {
  readonly contacts = new Map<string, FakeContact>();
  readonly lists = new Map<string, FakeList>();
  readonly requests: ReceivedRequest[] = [];
  /** Requests received, counted on arrival (answered or not). */
  received = 0;
  readonly knobs: HubSpotKnobs = { throttleNext: 0, failNext: 0, delayMs: 0, rejectIds: new Map(), dropIds: new Set(), echoTraceIds: false, maxMembershipIds: 1000 };
  /** The token the fake accepts; change it to make every request fail auth. */
  token: string;
  private nextId = 1001;
  private server: http.Server | undefined;

  constructor(token: string) {
    this.token = token;
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

  addList(listId: string, processingType: FakeList['processingType'] = 'MANUAL'): void {
    this.lists.set(listId, { processingType, members: new Set() });
  }

  /** Contacts in a list, by email (lower case). */
  listMembers(listId: string): FakeContact[] {
    return [...(this.lists.get(listId)?.members ?? [])].map((id) => this.contacts.get(id)).filter((c): c is FakeContact => c !== undefined);
  }

  contactBy(property: string, value: string): FakeContact | undefined {
    const v = comparable(property, value);
    for (const c of this.contacts.values()) if (c.properties[property] !== undefined && comparable(property, c.properties[property]) === v) return c;
    return undefined;
  }

  /** Creates a contact directly, as if made in HubSpot's UI. */
  seedContact(properties: Record<string, string>): FakeContact {
    const c = { id: String(this.nextId++), properties: { ...properties } };
    if (c.properties.email) c.properties.email = c.properties.email.toLowerCase();
    this.contacts.set(c.id, c);
    return c;
  }

  requestsTo(suffix: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path.endsWith(suffix));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.received += 1;
    const at = Date.now();
    // Raw text: a body that is not JSON is recorded as sent.
    const { text: raw, path } = await readRequestText(req);
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      this.requests.push({ method: req.method ?? '', path, body, status, at });
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(payload));
    };
    if (this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return reply(401, errorBody('INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication.'));
    }
    if (this.knobs.throttleNext > 0) {
      this.knobs.throttleNext -= 1;
      const headers: Record<string, string> = { 'x-hubspot-ratelimit-secondly-remaining': '0' };
      if (this.knobs.retryAfter !== undefined) headers['retry-after'] = this.knobs.retryAfter;
      return reply(429, { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', correlationId: 'fake', policyName: 'TEN_SECONDLY_ROLLING' }, headers);
    }
    if (this.knobs.failNext > 0) {
      this.knobs.failNext -= 1;
      return reply(502, errorBody('INTERNAL_ERROR', 'Bad gateway'));
    }
    if (req.headers['content-type'] !== 'application/json') return reply(415, errorBody('VALIDATION_ERROR', 'Content-Type must be application/json'));
    const m = /^\/crm\/v3\/lists\/([^/]+)\/memberships\/(add|remove|add-and-remove)$/.exec(path);
    if (req.method === 'POST' && path === '/crm/v3/objects/contacts/batch/upsert') return this.upsert(body, reply);
    if (req.method === 'POST' && path === '/crm/v3/objects/contacts/batch/read') return this.read(body, reply);
    if (req.method === 'POST' && path === '/crm/v3/objects/contacts/batch/update') return this.update(body, reply);
    if (req.method === 'PUT' && m) return this.membership(decodeURIComponent(m[1]!), m[2]!, body, reply);
    return reply(404, errorBody('OBJECT_NOT_FOUND', `no route ${req.method} ${path}`));
  }

  private upsert(body: unknown, reply: Reply): void {
    const inputs = batchInputs(body);
    if (typeof inputs === 'string') return reply(400, errorBody('VALIDATION_ERROR', inputs));
    for (const i of inputs) {
      if (typeof i.id !== 'string' || typeof i.idProperty !== 'string' || !isStringMap(i.properties)) {
        return reply(400, errorBody('VALIDATION_ERROR', 'each input needs id, idProperty and properties (string values)'));
      }
      if (i.objectWriteTraceId !== undefined && typeof i.objectWriteTraceId !== 'string') return reply(400, errorBody('VALIDATION_ERROR', 'objectWriteTraceId must be a string'));
    }
    const ids = inputs.map((i) => comparable(String(i.idProperty), String(i.id)));
    const dup = ids.find((id, n) => ids.indexOf(id) !== n);
    if (dup !== undefined) return reply(400, errorBody('VALIDATION_ERROR', `Duplicate IDs found in batch input: [${dup}]. IDs must be unique`));
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const i of inputs) {
      const prop = String(i.idProperty);
      const value = String(i.id);
      const refusal = this.knobs.rejectIds.get(comparable(prop, value));
      if (refusal !== undefined) {
        errors.push({ status: 'error', category: 'VALIDATION_ERROR', message: refusal, context: { objectWriteTraceId: [i.objectWriteTraceId] } });
        continue;
      }
      const props = { ...(i.properties as Record<string, string>), [prop]: value };
      if (props.email) props.email = props.email.toLowerCase();
      let c = this.contactBy(prop, value);
      const created = !c;
      if (c) Object.assign(c.properties, props);
      else c = this.seedContact(props);
      if (this.knobs.dropIds.has(comparable(prop, value))) continue;
      results.push({ id: c.id, properties: { ...c.properties, hs_object_id: c.id }, new: created, ...(this.knobs.echoTraceIds ? { objectWriteTraceId: i.objectWriteTraceId } : {}) });
    }
    // HubSpot gives no order guarantee; reversing keeps connectors honest.
    results.reverse();
    if (errors.length > 0) return reply(207, { status: 'COMPLETE', results, errors, numErrors: errors.length });
    reply(200, { status: 'COMPLETE', results });
  }

  private read(body: unknown, reply: Reply): void {
    const inputs = batchInputs(body);
    if (typeof inputs === 'string') return reply(400, errorBody('VALIDATION_ERROR', inputs));
    const b = body as { idProperty?: unknown };
    const prop = typeof b.idProperty === 'string' ? b.idProperty : undefined;
    const results: unknown[] = [];
    const missing: string[] = [];
    for (const i of inputs) {
      const c = prop === undefined ? this.contacts.get(String(i.id)) : this.contactBy(prop, String(i.id));
      if (c) results.push({ id: c.id, properties: { ...c.properties, hs_object_id: c.id } });
      else missing.push(String(i.id));
    }
    if (missing.length > 0) {
      return reply(207, { status: 'COMPLETE', results, numErrors: 1, errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not get some CONTACT objects, they may be deleted or not exist.', context: { ids: missing } }] });
    }
    reply(200, { status: 'COMPLETE', results });
  }

  private update(body: unknown, reply: Reply): void {
    const inputs = batchInputs(body);
    if (typeof inputs === 'string') return reply(400, errorBody('VALIDATION_ERROR', inputs));
    if (inputs.some((i) => typeof i.id !== 'string' || !isStringMap(i.properties))) return reply(400, errorBody('VALIDATION_ERROR', 'each input needs id and properties (string values)'));
    const ids = inputs.map((i) => String(i.id));
    if (new Set(ids).size !== ids.length) return reply(400, errorBody('VALIDATION_ERROR', 'Duplicate IDs found in batch input'));
    const results: unknown[] = [];
    const missing: string[] = [];
    for (const i of inputs) {
      const c = this.contacts.get(String(i.id));
      if (!c) {
        missing.push(String(i.id));
        continue;
      }
      Object.assign(c.properties, i.properties as Record<string, string>);
      results.push({ id: c.id, properties: { ...c.properties } });
    }
    if (missing.length > 0) {
      return reply(207, { status: 'COMPLETE', results, numErrors: 1, errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not get some CONTACT objects, they may be deleted or not exist.', context: { ids: missing } }] });
    }
    reply(200, { status: 'COMPLETE', results });
  }

  private membership(listId: string, action: string, body: unknown, reply: Reply): void {
    const list = this.lists.get(listId);
    if (!list) return reply(404, errorBody('OBJECT_NOT_FOUND', `List ${listId} does not exist.`));
    if (list.processingType === 'DYNAMIC') return reply(400, errorBody('VALIDATION_ERROR', `List ${listId} has processingType DYNAMIC; memberships cannot be changed manually.`));
    let add: unknown = [];
    let remove: unknown = [];
    if (action === 'add-and-remove') {
      const b = (body ?? {}) as { recordIdsToAdd?: unknown; recordIdsToRemove?: unknown };
      add = b.recordIdsToAdd ?? [];
      remove = b.recordIdsToRemove ?? [];
    } else if (action === 'add') add = body;
    else remove = body;
    const valid = (x: unknown): x is string[] => Array.isArray(x) && x.every((id) => typeof id === 'string' && /^\d+$/.test(id));
    if (!valid(add) || !valid(remove)) return reply(400, errorBody('VALIDATION_ERROR', 'record ids must be an array of numeric id strings'));
    if (add.length + remove.length > this.knobs.maxMembershipIds) return reply(400, errorBody('VALIDATION_ERROR', `at most ${this.knobs.maxMembershipIds} record ids per request`));
    const missing: string[] = [];
    const added: string[] = [];
    const removed: string[] = [];
    for (const id of add) {
      if (!this.contacts.has(id)) missing.push(id);
      else if (!list.members.has(id)) {
        list.members.add(id);
        added.push(id);
      }
    }
    for (const id of remove) {
      if (!this.contacts.has(id)) missing.push(id);
      else if (list.members.delete(id)) removed.push(id);
    }
    reply(200, { recordIdsMissing: missing, recordIdsRemoved: removed, recordsIdsAdded: added });
  }
}

type Reply = (status: number, payload: unknown, headers?: Record<string, string>) => void;
type Input = Record<string, unknown>;

function errorBody(category: string, message: string): Record<string, unknown> {
  return { status: 'error', message, correlationId: 'fake-correlation-id', category };
}

/** The `inputs` of a batch body, or why it is refused (HubSpot answers 400). */
function batchInputs(body: unknown): Input[] | string {
  const inputs = (body as { inputs?: unknown } | undefined)?.inputs;
  if (!Array.isArray(inputs)) return 'body must be {"inputs":[...]}';
  if (inputs.length === 0) return 'inputs must not be empty';
  if (inputs.length > MAX_BATCH_INPUTS) return `Batch size of ${inputs.length} exceeds the limit of ${MAX_BATCH_INPUTS} inputs`;
  if (inputs.some((i) => !i || typeof i !== 'object')) return 'each input must be an object';
  return inputs as Input[];
}

function isStringMap(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function comparable(property: string, value: string): string {
  return property === 'email' ? value.trim().toLowerCase() : value;
}

import http from 'node:http';
import { closeServer, listenOnLoopback, readJsonRequest } from './fake-http.js';
import type { AddressInfo } from 'node:net';

/** braze.md: at most 75 objects (attributes, events, purchases) per /users/track request. */
export const FAKE_BRAZE_MAX_OBJECTS = 75;
/** braze.md: at most 50 external ids per subscription group entry. */
export const FAKE_BRAZE_MAX_SUBSCRIPTION_IDS = 50;

const ID_FIELDS = ['external_id', 'user_alias', 'braze_id'] as const;

/** A request as the fake received it. */
export interface BrazeRequest {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
  /** Status the fake answered with. */
  status: number;
}

export interface BrazeKnobs {
  /** The next n requests answer 429 (Braze's throttling response). */
  throttleNext: number;
  /** The next n requests answer 500. */
  failNext: number;
  /** Every request waits this long before answering. */
  delayMs: number;
  /** external_id -> error type: that attributes object is refused (non-fatal, by index). */
  rejectKeys: Map<string, string>;
  /** external_ids neither applied nor reported: a silent drop (only the processed count shows it). */
  dropKeys: Set<string>;
  /** Every request answers 401 as for a revoked key. */
  revoked: boolean;
}

/**
 * A Braze REST endpoint (destinations/braze/README.md) on 127.0.0.1:
 * /users/track and /v2/subscription/status/set with Bearer auth, the 75-object
 * and 50-id limits answered with 400 like Braze, users' attributes and
 * subscription states kept as state, and per-index non-fatal errors.
 */
export class FakeBrazeServer {
  /** external_id -> custom and standard attributes. */
  readonly users = new Map<string, Record<string, unknown>>();
  /** subscription group id -> external_id -> state. */
  readonly subscriptions = new Map<string, Map<string, 'subscribed' | 'unsubscribed'>>();
  readonly requests: BrazeRequest[] = [];
  readonly knobs: BrazeKnobs = { throttleNext: 0, failNext: 0, delayMs: 0, rejectKeys: new Map(), dropKeys: new Set(), revoked: false };
  private server: http.Server | undefined;

  /** `groups`: subscription groups that exist in the workspace. */
  constructor(
    readonly apiKey: string,
    readonly groups: readonly string[] = [],
  ) {
    for (const g of groups) this.subscriptions.set(g, new Map());
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Requests to one path that the fake accepted (2xx). */
  accepted(path: string): BrazeRequest[] {
    return this.requests.filter((r) => r.path === path && r.status >= 200 && r.status < 300);
  }

  async start(): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { body, path } = await readJsonRequest(req);
    const entry: BrazeRequest = { path, headers: req.headers, body, status: 0 };
    this.requests.push(entry);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(payload));
    };
    if (this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
    if (this.knobs.revoked || req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return send(401, { message: 'Invalid API key' });
    }
    if (this.knobs.throttleNext > 0) {
      this.knobs.throttleNext -= 1;
      // Braze sends rate-limit headers but no Retry-After on /users/track.
      return send(429, { message: 'Rate limit exceeded' }, { 'x-ratelimit-limit': '3000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000)) });
    }
    if (this.knobs.failNext > 0) {
      this.knobs.failNext -= 1;
      return send(500, { message: 'Internal server error' });
    }
    if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return send(400, { message: 'Expected a POST with Content-Type application/json' });
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return send(400, { message: 'Invalid JSON body' });
    if (path === '/users/track') return this.track(body as Record<string, unknown>, send);
    if (path === '/v2/subscription/status/set') return this.subscriptionSet(body as Record<string, unknown>, send);
    return send(404, { message: `No route for ${path}` });
  }

  private track(body: Record<string, unknown>, send: (status: number, payload: unknown) => void): void {
    for (const k of ['attributes', 'events', 'purchases']) {
      if (body[k] !== undefined && !Array.isArray(body[k])) return send(400, { message: `'${k}' must be an array` });
    }
    const attributes = (body.attributes ?? []) as unknown[];
    const total = attributes.length + ((body.events as unknown[] | undefined)?.length ?? 0) + ((body.purchases as unknown[] | undefined)?.length ?? 0);
    if (total === 0) return send(400, { message: 'No attributes, events, or purchases provided' });
    if (total > FAKE_BRAZE_MAX_OBJECTS) return send(400, { message: `Received ${total} objects; at most ${FAKE_BRAZE_MAX_OBJECTS} attributes, events and purchases combined per request` });
    const errors: Array<{ type: string; input_array: string; index: number }> = [];
    let processed = 0;
    attributes.forEach((raw, index) => {
      const fail = (type: string): void => void errors.push({ type, input_array: 'attributes', index });
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return fail('Attributes object must be an object');
      const a = raw as Record<string, unknown>;
      // One of external_id, user_alias or braze_id names the user; email names it only when none is given (else it is an attribute).
      const named = ID_FIELDS.filter((k) => a[k] !== undefined).length;
      if (named > 1 || (named === 0 && a.email === undefined)) return fail("Exactly one of 'external_id', 'user_alias' or 'braze_id' (or else 'email') is required");
      if (typeof a.external_id !== 'string' || a.external_id === '') return fail("'external_id' must be a non-empty string");
      if (a._update_existing_only !== undefined && typeof a._update_existing_only !== 'boolean') return fail("'_update_existing_only' must be a boolean");
      const id = a.external_id;
      const refusal = this.knobs.rejectKeys.get(id);
      if (refusal !== undefined) return fail(refusal);
      if (this.knobs.dropKeys.has(id)) return;
      const existing = this.users.get(id);
      // Update-only objects for users Braze does not have are skipped without an error.
      if (!existing && a._update_existing_only === true) return;
      const user = existing ?? {};
      for (const [k, v] of Object.entries(a)) {
        if (k === 'external_id' || k === '_update_existing_only') continue;
        if (v === null) delete user[k];
        else user[k] = v;
      }
      this.users.set(id, user);
      processed += 1;
    });
    send(201, { message: 'success', attributes_processed: processed, ...(errors.length > 0 ? { errors } : {}) });
  }

  private subscriptionSet(body: Record<string, unknown>, send: (status: number, payload: unknown) => void): void {
    const groups = body.subscription_groups;
    if (!Array.isArray(groups) || groups.length === 0) return send(400, { message: "'subscription_groups' must be a non-empty array" });
    for (const g of groups as Array<Record<string, unknown>>) {
      const ids = g.external_ids;
      if (typeof g.subscription_group_id !== 'string') return send(400, { message: "'subscription_group_id' is required" });
      if (g.subscription_state !== 'subscribed' && g.subscription_state !== 'unsubscribed') return send(400, { message: "'subscription_state' must be 'subscribed' or 'unsubscribed'" });
      if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => typeof x === 'string')) return send(400, { message: "'external_ids' must be a non-empty array of strings" });
      if (ids.length > FAKE_BRAZE_MAX_SUBSCRIPTION_IDS) return send(400, { message: `At most ${FAKE_BRAZE_MAX_SUBSCRIPTION_IDS} external_ids per subscription group` });
      if (!this.subscriptions.has(g.subscription_group_id)) return send(400, { message: `Subscription group ${g.subscription_group_id} not found` });
    }
    for (const g of groups as Array<{ subscription_group_id: string; subscription_state: 'subscribed' | 'unsubscribed'; external_ids: string[] }>) {
      const states = this.subscriptions.get(g.subscription_group_id)!;
      for (const id of g.external_ids) states.set(id, g.subscription_state);
    }
    send(201, { message: 'success' });
  }
}

import http from 'node:http';
import { closeServer, listenOnLoopback, readJsonRequest } from './fake-http.js';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/** mailchimp.md: at most 500 members per batch subscribe request. */
export const FAKE_MAILCHIMP_MAX_MEMBERS = 500;
/** mailchimp.md: at most 10 concurrent connections; 429 beyond. */
export const FAKE_MAILCHIMP_MAX_CONNECTIONS = 10;

const STATUSES = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'] as const;
type Status = (typeof STATUSES)[number];

export interface MailchimpMember {
  id: string;
  email_address: string;
  status: Status;
  merge_fields: Record<string, unknown>;
  tags: Set<string>;
}

export interface MailchimpRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
  status: number;
}

export interface MailchimpKnobs {
  /** The next n requests answer 429 (as beyond 10 connections; no rate-limit headers). */
  throttleNext: number;
  /** The next n requests answer 500. */
  failNext: number;
  delayMs: number;
  /** lower-cased email -> error text: refused per member in `errors`. */
  rejectKeys: Map<string, string>;
  /** lower-cased emails left out of every list of the answer, and not applied. */
  dropKeys: Set<string>;
  /** Every request answers 401 as for a disabled key. */
  revoked: boolean;
}

export function fakeSubscriberHash(email: string): string {
  return createHash('md5').update(email.toLowerCase()).digest('hex');
}

/**
 * The Mailchimp Marketing API's audience endpoints (destinations/mailchimp/README.md)
 * on 127.0.0.1, under /3.0: batch subscribe (POST /lists/{id}) with per-member
 * errors keyed by email, and member tags (POST /lists/{id}/members/{hash}/tags,
 * 204). Basic auth with the API key as password; more than 10 requests in
 * flight answer 429 like Mailchimp.
 */
export class FakeMailchimpServer {
  /** list id -> subscriber hash -> member. */
  readonly lists = new Map<string, Map<string, MailchimpMember>>();
  readonly requests: MailchimpRequest[] = [];
  readonly knobs: MailchimpKnobs = { throttleNext: 0, failNext: 0, delayMs: 0, rejectKeys: new Map(), dropKeys: new Set(), revoked: false };
  /** Most requests that were in flight at once. */
  maxInFlight = 0;
  private inFlight = 0;
  private server: http.Server | undefined;

  constructor(
    readonly apiKey: string,
    listIds: readonly string[],
  ) {
    for (const id of listIds) this.lists.set(id, new Map());
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  members(listId: string): MailchimpMember[] {
    return [...(this.lists.get(listId)?.values() ?? [])];
  }

  member(listId: string, email: string): MailchimpMember | undefined {
    return this.lists.get(listId)?.get(fakeSubscriberHash(email));
  }

  async start(): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const tooMany = this.inFlight > FAKE_MAILCHIMP_MAX_CONNECTIONS;
    res.on('close', () => (this.inFlight -= 1));
    const { body, path } = await readJsonRequest(req);
    const entry: MailchimpRequest = { method: req.method ?? '', path, headers: req.headers, body, status: 0 };
    this.requests.push(entry);
    const problem = (status: number, title: string, detail: string): void => {
      entry.status = status;
      res
        .writeHead(status, { 'content-type': 'application/problem+json' })
        .end(JSON.stringify({ type: 'https://mailchimp.com/developer/marketing/docs/errors/', title, status, detail, instance: 'fake' }));
    };
    if (this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
    if (this.knobs.revoked || !this.authorized(req.headers.authorization)) {
      return problem(401, 'API Key Invalid', 'Your API key may be invalid, or you\'ve attempted to access the wrong datacenter.');
    }
    if (tooMany) return problem(429, 'Too Many Requests', `You have exceeded the limit of ${FAKE_MAILCHIMP_MAX_CONNECTIONS} simultaneous connections.`);
    if (this.knobs.throttleNext > 0) {
      this.knobs.throttleNext -= 1;
      return problem(429, 'Too Many Requests', `You have exceeded the limit of ${FAKE_MAILCHIMP_MAX_CONNECTIONS} simultaneous connections.`);
    }
    if (this.knobs.failNext > 0) {
      this.knobs.failNext -= 1;
      return problem(500, 'Internal Server Error', 'An unexpected internal error has occurred.');
    }
    if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return problem(405, 'Method Not Allowed', 'Expected POST with application/json');
    }
    const batch = /^\/3\.0\/lists\/([^/]+)$/.exec(path);
    const tags = /^\/3\.0\/lists\/([^/]+)\/members\/([0-9a-f]{32})\/tags$/.exec(path);
    const list = this.lists.get(decodeURIComponent((batch ?? tags)?.[1] ?? ''));
    if (!list) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    if (batch) return this.batchSubscribe(list, body, problem, (payload) => {
      entry.status = 200;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    });
    if (tags) return this.memberTags(list, tags[2]!, body, problem, () => {
      entry.status = 204;
      res.writeHead(204).end();
    });
    return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
  }

  private authorized(header: string | undefined): boolean {
    if (!header?.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1) === this.apiKey;
  }

  private batchSubscribe(list: Map<string, MailchimpMember>, body: unknown, problem: (s: number, t: string, d: string) => void, ok: (payload: unknown) => void): void {
    const b = body as { members?: unknown; update_existing?: unknown } | undefined;
    if (!b || !Array.isArray(b.members)) return problem(400, 'Invalid Resource', "Schema describes array, object found instead at 'members'");
    if (b.members.length > FAKE_MAILCHIMP_MAX_MEMBERS) return problem(400, 'Invalid Resource', `You can only add up to ${FAKE_MAILCHIMP_MAX_MEMBERS} members per batch call.`);
    if (b.update_existing !== undefined && typeof b.update_existing !== 'boolean') return problem(400, 'Invalid Resource', "'update_existing' must be a boolean");
    for (const m of b.members as Array<Record<string, unknown>>) {
      const bad =
        !m || typeof m !== 'object' ? 'member must be an object'
        : typeof m.email_address !== 'string' ? "'email_address' is required"
        : m.status !== undefined && !STATUSES.includes(m.status as Status) ? `invalid status ${String(m.status)}`
        : m.status_if_new !== undefined && !STATUSES.includes(m.status_if_new as Status) ? `invalid status_if_new ${String(m.status_if_new)}`
        : m.merge_fields !== undefined && (typeof m.merge_fields !== 'object' || m.merge_fields === null || Array.isArray(m.merge_fields)) ? "'merge_fields' must be an object"
        : m.tags !== undefined && (!Array.isArray(m.tags) || !m.tags.every((t) => typeof t === 'string')) ? "'tags' must be an array of strings"
        : undefined;
      if (bad) return problem(400, 'Invalid Resource', bad);
    }
    const created: unknown[] = [];
    const updated: unknown[] = [];
    const errors: unknown[] = [];
    const seen = new Set<string>();
    for (const m of b.members as Array<{ email_address: string; status?: Status; status_if_new?: Status; merge_fields?: Record<string, unknown>; tags?: string[] }>) {
      const email = m.email_address.trim();
      const lower = email.toLowerCase();
      const error = (text: string, code: string, field = '', fieldMessage = ''): void =>
        void errors.push({ email_address: email, error: text, error_code: code, field, field_message: fieldMessage });
      if (seen.has(lower)) {
        error(`${email} was given more than once in this request`, 'ERROR_GENERIC');
        continue;
      }
      seen.add(lower);
      const refusal = this.knobs.rejectKeys.get(lower);
      if (refusal !== undefined) {
        error(refusal, 'ERROR_GENERIC', 'email_address', 'Invalid email');
        continue;
      }
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
        error(`${email} looks fake or invalid, please enter a real email address.`, 'ERROR_GENERIC', 'email_address', 'Invalid email');
        continue;
      }
      if (this.knobs.dropKeys.has(lower)) continue;
      const hash = fakeSubscriberHash(email);
      const existing = list.get(hash);
      if (existing) {
        if (b.update_existing !== true) {
          error(`${email} is already a list member. Use PUT to insert or update list members.`, 'ERROR_CONTACT_EXISTS');
          continue;
        }
        if (m.status) existing.status = m.status;
        Object.assign(existing.merge_fields, m.merge_fields ?? {});
        for (const t of m.tags ?? []) existing.tags.add(t);
        updated.push(this.view(existing));
        continue;
      }
      const status = m.status ?? m.status_if_new;
      if (!status) {
        error(`${email}: status is required for a new member`, 'ERROR_GENERIC', 'status', 'required');
        continue;
      }
      const member: MailchimpMember = { id: hash, email_address: email, status, merge_fields: { ...(m.merge_fields ?? {}) }, tags: new Set(m.tags ?? []) };
      list.set(hash, member);
      created.push(this.view(member));
    }
    ok({ new_members: created, updated_members: updated, errors, total_created: created.length, total_updated: updated.length, error_count: errors.length });
  }

  private memberTags(list: Map<string, MailchimpMember>, hash: string, body: unknown, problem: (s: number, t: string, d: string) => void, noContent: () => void): void {
    const b = body as { tags?: unknown } | undefined;
    if (!b || !Array.isArray(b.tags) || b.tags.length === 0) return problem(400, 'Invalid Resource', "'tags' must be a non-empty array");
    for (const t of b.tags as Array<{ name?: unknown; status?: unknown }>) {
      if (typeof t?.name !== 'string' || (t.status !== 'active' && t.status !== 'inactive')) return problem(400, 'Invalid Resource', "each tag needs a 'name' and a 'status' of active or inactive");
    }
    const member = list.get(hash);
    if (!member) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    for (const t of b.tags as Array<{ name: string; status: 'active' | 'inactive' }>) {
      if (t.status === 'active') member.tags.add(t.name);
      else member.tags.delete(t.name);
    }
    noContent();
  }

  private view(m: MailchimpMember): Record<string, unknown> {
    return { id: m.id, email_address: m.email_address, status: m.status, merge_fields: m.merge_fields, tags: [...m.tags].map((name, i) => ({ id: i + 1, name })) };
  }
}

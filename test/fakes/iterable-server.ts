import http from 'node:http';
import { closeServer, listenOnLoopback, readJsonRequest } from './fake-http.js';
import type { AddressInfo } from 'node:net';

/** iterable.md documents no maximum; the fake enforces the connector's 1,000 so an oversized batch fails tests. */
export const FAKE_ITERABLE_MAX_SUBSCRIBERS = 1_000;

export interface IterableUser {
  email?: string;
  userId?: string;
  dataFields: Record<string, unknown>;
}

export interface IterableRequest {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
  status: number;
}

export interface IterableKnobs {
  /** The next n requests answer 429 with code RateLimitExceeded. */
  throttleNext: number;
  /** The next n requests answer 500. */
  failNext: number;
  delayMs: number;
  /** Identities (lower-cased emails or user ids) refused as invalid. */
  rejectKeys: Set<string>;
  /** Identities of privacy-deleted users: refused as forgotten, never re-created. */
  forgottenKeys: Set<string>;
  /** Identities neither applied nor listed anywhere, and not counted as successes. */
  dropKeys: Set<string>;
  /** Answer with the older account shape: invalidEmails/invalidUserIds at the top level. */
  legacyShape: boolean;
  /** Every request answers 401 as for a revoked key. */
  revoked: boolean;
}

type Failures = Record<'invalidEmails' | 'invalidUserIds' | 'notFoundEmails' | 'notFoundUserIds' | 'invalidDataEmails' | 'conflictEmails' | 'forgottenEmails', string[]>;

/**
 * Iterable's list endpoints (destinations/iterable/README.md) on
 * 127.0.0.1: /api/lists/subscribe and /api/lists/unsubscribe with the Api-Key
 * header, users and list membership kept as state, `failedUpdates` per
 * subscriber, and global (channel) unsubscribes recorded so tests can prove
 * audsync never asks for one.
 */
export class FakeIterableServer {
  readonly users: IterableUser[] = [];
  /** list id -> members. */
  readonly lists = new Map<number, Set<IterableUser>>();
  /** Users unsubscribed from every channel by a channelUnsubscribe: true call. */
  readonly channelUnsubscribed = new Set<IterableUser>();
  readonly requests: IterableRequest[] = [];
  readonly knobs: IterableKnobs = {
    throttleNext: 0,
    failNext: 0,
    delayMs: 0,
    rejectKeys: new Set(),
    forgottenKeys: new Set(),
    dropKeys: new Set(),
    legacyShape: false,
    revoked: false,
  };
  private server: http.Server | undefined;

  constructor(
    readonly apiKey: string,
    listIds: readonly number[],
  ) {
    for (const id of listIds) this.lists.set(id, new Set());
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  members(listId: number): IterableUser[] {
    return [...(this.lists.get(listId) ?? [])];
  }

  userByEmail(email: string): IterableUser | undefined {
    return this.users.find((u) => u.email?.toLowerCase() === email.toLowerCase());
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
    const entry: IterableRequest = { path, headers: req.headers, body, status: 0 };
    this.requests.push(entry);
    const send = (status: number, payload: unknown): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const error = (status: number, code: string, msg: string): void => send(status, { msg, code, params: null });
    if (this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
    if (this.knobs.revoked || req.headers['api-key'] !== this.apiKey) return error(401, 'BadApiKey', 'Invalid API key');
    if (this.knobs.throttleNext > 0) {
      this.knobs.throttleNext -= 1;
      return error(429, 'RateLimitExceeded', `Exceeded rate limit for endpoint: ${path}`);
    }
    if (this.knobs.failNext > 0) {
      this.knobs.failNext -= 1;
      return error(500, 'GenericError', 'Internal server error');
    }
    if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith('application/json')) return error(400, 'BadParams', 'Expected POST application/json');
    if (path !== '/api/lists/subscribe' && path !== '/api/lists/unsubscribe') return error(404, 'NotFound', `No endpoint ${path}`);
    const b = body as { listId?: unknown; subscribers?: unknown; updateExistingUsersOnly?: unknown; channelUnsubscribe?: unknown } | undefined;
    if (!b || typeof b.listId !== 'number' || !Number.isInteger(b.listId)) return error(400, 'BadParams', 'listId must be an integer');
    const list = this.lists.get(b.listId);
    if (!list) return error(400, 'BadParams', `List ${b.listId} does not exist`);
    if (!Array.isArray(b.subscribers) || b.subscribers.length === 0) return error(400, 'BadParams', 'subscribers must be a non-empty array');
    if (b.subscribers.length > FAKE_ITERABLE_MAX_SUBSCRIBERS) return error(400, 'BadParams', `At most ${FAKE_ITERABLE_MAX_SUBSCRIBERS} subscribers per request`);
    for (const k of ['updateExistingUsersOnly', 'channelUnsubscribe'] as const) {
      if (b[k] !== undefined && typeof b[k] !== 'boolean') return error(400, 'BadParams', `${k} must be a boolean`);
    }
    for (const s of b.subscribers as Array<Record<string, unknown>>) {
      if (!s || typeof s !== 'object' || (typeof s.email !== 'string' && typeof s.userId !== 'string')) return error(400, 'BadParams', 'each subscriber needs an email or a userId');
      if (s.dataFields !== undefined && (typeof s.dataFields !== 'object' || s.dataFields === null || Array.isArray(s.dataFields))) return error(400, 'BadParams', 'dataFields must be an object');
    }
    const subscribers = b.subscribers as Array<{ email?: string; userId?: string; dataFields?: Record<string, unknown>; preferUserId?: boolean }>;
    const fails: Failures = { invalidEmails: [], invalidUserIds: [], notFoundEmails: [], notFoundUserIds: [], invalidDataEmails: [], conflictEmails: [], forgottenEmails: [] };
    let successCount = 0;
    const subscribe = path === '/api/lists/subscribe';
    for (const s of subscribers) {
      const byUserId = typeof s.userId === 'string';
      const id = byUserId ? s.userId! : s.email!;
      const key = byUserId ? id : id.toLowerCase();
      const fail = (kind: 'invalid' | 'notFound' | 'forgotten'): void => {
        if (kind === 'forgotten') fails.forgottenEmails.push(id);
        else fails[`${kind}${byUserId ? 'UserIds' : 'Emails'}`].push(id);
      };
      if ((!byUserId && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(id)) || this.knobs.rejectKeys.has(key)) {
        fail('invalid');
        continue;
      }
      if (this.knobs.forgottenKeys.has(key)) {
        fail('forgotten');
        continue;
      }
      if (this.knobs.dropKeys.has(key)) continue;
      let user = byUserId ? this.users.find((u) => u.userId === id) : this.userByEmail(id);
      if (subscribe) {
        if (!user && b.updateExistingUsersOnly === true) {
          fail('notFound');
          continue;
        }
        if (!user) {
          user = { ...(byUserId ? { userId: id } : {}), ...(s.email ? { email: s.email } : {}), dataFields: {} };
          this.users.push(user);
        }
        Object.assign(user.dataFields, s.dataFields ?? {});
        list.add(user);
      } else {
        if (!user) {
          fail('notFound');
          continue;
        }
        list.delete(user);
        if (b.channelUnsubscribe === true) this.channelUnsubscribed.add(user);
      }
      successCount += 1;
    }
    const failCount = Object.values(fails).reduce((n, l) => n + l.length, 0);
    if (this.knobs.legacyShape) {
      const { invalidEmails, invalidUserIds, ...rest } = fails;
      return send(200, { successCount, failCount, invalidEmails, invalidUserIds, failedUpdates: rest });
    }
    send(200, { successCount, failCount, failedUpdates: fails });
  }
}

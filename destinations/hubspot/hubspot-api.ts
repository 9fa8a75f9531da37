import { httpRequest, joinUrl, type HttpResponse, DestinationError } from '../../engine/destination/index.js';

/** HubSpot's public API host (destinations/hubspot/README.md). */
export const HUBSPOT_API_HOST = 'https://api.hubapi.com';
/** How much of an error body is kept in a message. */
const MESSAGE_CHARS = 300;

/** One entry of `errors` in a batch response (207 or 4xx). */
export interface BatchError {
  readonly status?: string;
  readonly category?: string;
  readonly message?: string;
  /** Which inputs the error is about: objectWriteTraceId for writes, ids for reads and updates. */
  readonly context?: { readonly objectWriteTraceId?: readonly string[]; readonly ids?: readonly string[] };
}

export interface BatchResultObject {
  readonly id: string;
  readonly properties: Readonly<Record<string, string | null>>;
  /** Echoed by HubSpot on some write responses; used first when present. */
  readonly objectWriteTraceId?: string;
}

/** A batch endpoint's answer: 200/201 COMPLETE, 207 partial, or a 4xx naming the inputs it refused. */
export interface BatchAnswer {
  readonly status: number;
  readonly results: readonly BatchResultObject[];
  readonly errors: readonly BatchError[];
  /** Top-level message of a 4xx. */
  readonly message: string;
  readonly category: string | undefined;
}

export interface MembershipAnswer {
  readonly recordIdsMissing: ReadonlySet<string>;
}

export interface UpsertInput {
  readonly id: string;
  readonly idProperty: string;
  readonly properties: Record<string, string>;
  readonly objectWriteTraceId: string;
}

export interface UpdateInput {
  readonly id: string;
  readonly properties: Record<string, string>;
  readonly objectWriteTraceId: string;
}

/** The few HubSpot CRM v3 endpoints the connector uses, over the engine's HTTP helper. */
export class HubSpotApi {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly timeoutMs: number,
    /** Names the destination in every message. */
    readonly who: string,
    /** A turn under the destination's rate limit, before every call (HubSpot counts them all). */
    private readonly throttle?: () => Promise<void>,
  ) {}

  /** POST /crm/v3/objects/contacts/batch/upsert (at most 100 inputs). */
  upsertContacts(inputs: readonly UpsertInput[]): Promise<BatchAnswer> {
    return this.batch('/crm/v3/objects/contacts/batch/upsert', { inputs });
  }

  /** POST /crm/v3/objects/contacts/batch/read by a unique property: finds record ids without writing. */
  readContacts(idProperty: string, values: readonly string[]): Promise<BatchAnswer> {
    return this.batch('/crm/v3/objects/contacts/batch/read', { idProperty, properties: [idProperty], inputs: values.map((id) => ({ id })) });
  }

  /** POST /crm/v3/objects/contacts/batch/update by record id: changes only contacts that exist. */
  updateContacts(inputs: readonly UpdateInput[]): Promise<BatchAnswer> {
    return this.batch('/crm/v3/objects/contacts/batch/update', { inputs });
  }

  /**
   * PUT /crm/v3/lists/{listId}/memberships/add-and-remove. Idempotent: the answer
   * lists only what changed, so an id it does not mention was already in the
   * wanted state. Anything but 2xx here is a problem with the list itself
   * (unknown, or a DYNAMIC list whose membership HubSpot computes), which no
   * retry fixes: it stops the sync.
   */
  async updateMembership(listId: string, recordIdsToAdd: readonly string[], recordIdsToRemove: readonly string[]): Promise<MembershipAnswer> {
    const path = `/crm/v3/lists/${encodeURIComponent(listId)}/memberships/add-and-remove`;
    const res = await this.send('PUT', path, { recordIdsToAdd, recordIdsToRemove });
    if (res.status < 200 || res.status >= 300) {
      const body = parseJson(res.text) as { message?: unknown; category?: unknown } | undefined;
      const why = typeof body?.message === 'string' ? body.message : res.text.slice(0, MESSAGE_CHARS);
      throw new DestinationError(`${this.who}: list ${listId}: HTTP ${res.status}: ${why}`, {
        retryable: false,
        code: String(res.status),
        hint: 'target.listId must name an existing HubSpot list with processingType MANUAL or SNAPSHOT (DYNAMIC lists are computed by HubSpot and refuse API membership changes).',
      });
    }
    const body = parseJson(res.text) as { recordIdsMissing?: unknown } | undefined;
    const missing = Array.isArray(body?.recordIdsMissing) ? body.recordIdsMissing.map(String) : [];
    return { recordIdsMissing: new Set(missing) };
  }

  private async batch(path: string, body: unknown): Promise<BatchAnswer> {
    const res = await this.send('POST', path, body);
    const parsed = parseJson(res.text) as { results?: unknown; errors?: unknown; message?: unknown; category?: unknown } | undefined;
    const results = Array.isArray(parsed?.results) ? parsed.results.flatMap(toResultObject) : [];
    const errors = Array.isArray(parsed?.errors) ? (parsed.errors.filter((e) => e && typeof e === 'object') as BatchError[]) : [];
    const message = typeof parsed?.message === 'string' ? parsed.message : res.text.slice(0, MESSAGE_CHARS);
    return { status: res.status, results, errors, message, category: typeof parsed?.category === 'string' ? parsed.category : undefined };
  }

  private send(method: string, path: string, body: unknown): Promise<HttpResponse> {
    // httpRequest throws retryable errors for 429 (HubSpot's RATE_LIMIT), 5xx and network
    // trouble, and a non-retryable one for 401/403 (bad token, missing scopes).
    return httpRequest(
      {
        method,
        url: joinUrl(this.base, path),
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', 'user-agent': 'audsync' },
        body: JSON.stringify(body),
        timeoutMs: this.timeoutMs,
        throttle: this.throttle,
      },
      this.who,
    );
  }
}

/** A result entry with its id as text; entries without an id are dropped (their rows end up unconfirmed). */
function toResultObject(r: unknown): BatchResultObject[] {
  if (!r || typeof r !== 'object') return [];
  const o = r as { id?: unknown; properties?: unknown; objectWriteTraceId?: unknown };
  if (typeof o.id !== 'string' && typeof o.id !== 'number') return [];
  const properties = o.properties && typeof o.properties === 'object' ? (o.properties as Record<string, string | null>) : {};
  return [{ id: String(o.id), properties, ...(typeof o.objectWriteTraceId === 'string' ? { objectWriteTraceId: o.objectWriteTraceId } : {}) }];
}

function parseJson(text: string): unknown {
  try {
    return text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Per-input error lookup of a batch answer: trace ids for writes, input ids for reads and updates. */
export function errorsByTraceId(errors: readonly BatchError[]): Map<string, BatchError> {
  const out = new Map<string, BatchError>();
  for (const e of errors) for (const t of e.context?.objectWriteTraceId ?? []) out.set(String(t), e);
  return out;
}

export function errorsById(errors: readonly BatchError[]): Map<string, BatchError> {
  const out = new Map<string, BatchError>();
  for (const e of errors) for (const t of e.context?.ids ?? []) out.set(String(t), e);
  return out;
}

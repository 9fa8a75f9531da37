import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequest, joinUrl, type HttpResponse, DestinationError } from '../../engine/destination/index.js';
import { KLAVIYO_READ_ATTEMPTS } from './klaviyo-limits.js';

/** One entry of Klaviyo's JSON:API error body `{"errors":[...]}`. */
export interface KlaviyoError {
  code: string;
  title: string;
  detail: string;
  pointer: string | undefined;
}

/** A JSON:API resource as Klaviyo returns it. */
export interface KlaviyoResource {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
}

const JSON_API = 'application/vnd.api+json';
/** Longest wait between attempts of a read that came without Retry-After. */
const READ_BACKOFF_CAP_MS = 10_000;

/**
 * Klaviyo's REST API: auth and revision headers, JSON:API bodies, paging.
 * Writes go through `httpRequest`, so throttling and 5xx surface to the engine
 * as retryable errors (the batch is retried as a whole); idempotent reads made
 * in the middle of a batch (polls, pages) are retried here first, so a single
 * throttled poll does not re-submit an import job.
 */
export class KlaviyoApi {
  constructor(
    private readonly base: string,
    private readonly apiKey: string,
    private readonly revision: string,
    private readonly timeoutMs: number,
    /** "destination <name>", for messages. */
    readonly who: string,
    /** A turn under the destination's rate limit, before each write (job creations, list removals: the rate-limited endpoints). */
    private readonly throttle?: () => Promise<void>,
  ) {}

  private headers(withBody: boolean): Record<string, string> {
    const h: Record<string, string> = {
      authorization: `Klaviyo-API-Key ${this.apiKey}`,
      revision: this.revision,
      accept: JSON_API,
      'user-agent': 'audsync',
    };
    if (withBody) h['content-type'] = JSON_API;
    return h;
  }

  /** A POST or DELETE with a JSON:API body; transient statuses throw (retryable), others are returned. */
  write(method: 'POST' | 'DELETE', path: string, body: string): Promise<HttpResponse> {
    return httpRequest({ method, url: joinUrl(this.base, path), headers: this.headers(true), body, timeoutMs: this.timeoutMs, throttle: this.throttle }, this.who);
  }

  /**
   * A GET of `pathOrUrl` (a path, or a `links.next` URL from Klaviyo), parsed.
   * Throttling and 5xx are retried here, honouring Retry-After; a non-2xx answer
   * that is not transient throws a non-retryable error naming the path.
   */
  async read(pathOrUrl: string): Promise<Record<string, unknown>> {
    const url = this.resolve(pathOrUrl);
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await httpRequest({ method: 'GET', url, headers: this.headers(false), timeoutMs: this.timeoutMs }, this.who);
        if (res.status >= 300) {
          const e = parseErrors(res.text)[0];
          throw new DestinationError(`${this.who}: GET ${new URL(url).pathname} answered HTTP ${res.status}${e ? `: ${describe(e)}` : ''}`, {
            retryable: false,
            code: e?.code ?? String(res.status),
          });
        }
        return parseJson(res.text, this.who);
      } catch (e) {
        if (!(e instanceof DestinationError) || !e.retryable || attempt >= KLAVIYO_READ_ATTEMPTS) throw e;
        await sleep(e.retryAfterMs ?? Math.min(READ_BACKOFF_CAP_MS, 250 * 2 ** attempt));
      }
    }
  }

  /** Every resource of a paged collection, following `links.next`. */
  async readAll(path: string): Promise<KlaviyoResource[]> {
    const out: KlaviyoResource[] = [];
    let next: string | undefined = path;
    while (next) {
      const page = await this.read(next);
      out.push(...resources(page.data));
      const links = page.links as { next?: unknown } | undefined;
      next = typeof links?.next === 'string' && links.next !== '' ? links.next : undefined;
    }
    return out;
  }

  /** Paths stay on our base; Klaviyo's absolute `links.next` keep their path and query, rebased onto it (proxies, tests). */
  private resolve(pathOrUrl: string): string {
    if (!/^https?:\/\//.test(pathOrUrl)) return joinUrl(this.base, pathOrUrl);
    const u = new URL(pathOrUrl);
    return joinUrl(this.base, `${u.pathname}${u.search}`);
  }
}

export function parseJson(text: string, who: string): Record<string, unknown> {
  try {
    const v = text.trim() === '' ? {} : (JSON.parse(text) as unknown);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new DestinationError(`${who}: unexpected response body: ${text.slice(0, 200)}`, { retryable: true, code: 'bad_response' });
}

/** The `errors` of a Klaviyo error body; empty when the body has none. */
export function parseErrors(text: string): KlaviyoError[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [];
  }
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.map((e: Record<string, unknown>) => ({
    code: String(e.code ?? 'error'),
    title: String(e.title ?? ''),
    detail: String(e.detail ?? ''),
    pointer: typeof (e.source as { pointer?: unknown } | undefined)?.pointer === 'string' ? String((e.source as { pointer: string }).pointer) : undefined,
  }));
}

/** "title: detail", without repeating a detail that already says it all. */
export function describe(e: Pick<KlaviyoError, 'title' | 'detail' | 'code'>): string {
  if (e.detail && e.title && !e.detail.startsWith(e.title.replace(/\.$/, ''))) return `${e.title} ${e.detail}`.trim();
  return e.detail || e.title || e.code;
}

export function resources(data: unknown): KlaviyoResource[] {
  if (!Array.isArray(data)) return [];
  return data
    .filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
    .map((r) => ({ type: String(r.type ?? ''), id: String(r.id ?? ''), attributes: (r.attributes as Record<string, unknown> | undefined) ?? {} }));
}

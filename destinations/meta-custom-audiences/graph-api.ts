import { createHmac } from 'node:crypto';
import { joinUrl, sendHttp, type HttpResponse } from '../../engine/destination/index.js';
import { classifyGraphError, type ErrorVerdict } from './graph-errors.js';
import type { Cell, MetaSchemaKey } from './meta-schema.js';

/** Meta's Graph API host (destinations/meta-custom-audiences/README.md); `baseUrl` replaces it. */
export const GRAPH_API_HOST = 'https://graph.facebook.com';
/**
 * The Marketing API version in every path unless `apiVersion` says otherwise:
 * the version of the current reference pages
 * (developers.facebook.com/docs/marketing-api/reference/custom-audience/users,
 * examples on v25.0). Meta retires versions about two years after release.
 */
export const DEFAULT_API_VERSION = 'v25.0';
/** Audience fields read after a run's last batch (the CustomAudience object's documented size estimate). */
export const AUDIENCE_SIZE_FIELDS = ['approximate_count_lower_bound', 'approximate_count_upper_bound'] as const;

/** The replace session of a --full-refresh run (destinations/meta-custom-audiences/README.md, "session"). */
export interface UploadSession {
  readonly session_id: number;
  readonly batch_seq: number;
  readonly last_batch_flag: boolean;
  readonly estimated_num_total: number;
}

/** A 200 answer to an upload: counts, and samples of the rows Meta found invalid. */
export interface UploadAnswer {
  readonly kind: 'accepted';
  readonly numReceived: number | undefined;
  readonly numInvalidEntries: number;
  /** Row (as Meta quotes it) -> reason. Not exhaustive. */
  readonly invalidSamples: ReadonlyMap<string, string>;
}

export type Edge = 'users' | 'usersreplace';

/**
 * The few Graph calls the connector makes. Authenticates every call with the
 * access_token parameter, plus appsecret_proof and appsecret_time when an app
 * secret is configured.
 */
export class GraphApi {
  constructor(
    private readonly base: string,
    private readonly version: string,
    private readonly accessToken: string,
    private readonly appSecret: string | undefined,
    private readonly timeoutMs: number,
    /** Names the destination in every message. */
    readonly who: string,
    /** A turn under the destination's rate limit, before each upload (the audience-size read is not counted). */
    private readonly throttle?: () => Promise<void>,
  ) {}

  /** POST (add) or DELETE (remove) `/{version}/{audience}/users`, or POST `/usersreplace` with a session. */
  async upload(
    method: 'POST' | 'DELETE',
    edge: Edge,
    audienceId: string,
    schema: readonly MetaSchemaKey[],
    data: readonly (readonly Cell[])[],
    session?: UploadSession,
  ): Promise<UploadAnswer | ErrorVerdict> {
    // Before the body is built: appsecret_time is taken when the request is really sent.
    await this.throttle?.();
    const body = JSON.stringify({ ...this.authParams(), payload: { schema, data }, ...(session ? { session } : {}) });
    const res = await this.send(method, `${this.version}/${encodeURIComponent(audienceId)}/${edge}`, body);
    if (res.status < 200 || res.status >= 300) return classifyGraphError(res.status, res.headers, res.text, this.who);
    return parseUploadAnswer(res.text);
  }

  /** GET the audience's approximate size; throws on any trouble (callers treat it as optional). */
  async audienceSize(audienceId: string): Promise<Partial<Record<(typeof AUDIENCE_SIZE_FIELDS)[number], number>>> {
    const query = new URLSearchParams({ fields: AUDIENCE_SIZE_FIELDS.join(','), ...this.authParams() });
    const res = await this.send('GET', `${this.version}/${encodeURIComponent(audienceId)}?${query.toString()}`, undefined);
    if (res.status !== 200) classifyGraphError(res.status, res.headers, res.text, this.who);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    const out: Partial<Record<(typeof AUDIENCE_SIZE_FIELDS)[number], number>> = {};
    for (const f of AUDIENCE_SIZE_FIELDS) if (typeof body[f] === 'number') out[f] = body[f];
    return out;
  }

  /**
   * appsecret_proof is the hex HMAC-SHA256 of the token keyed by the app
   * secret; with appsecret_time the signed message is `token|time`, which
   * bounds a leaked proof to a few minutes (Meta's Login Security guide,
   * "generate the proof"; the form RudderStack's Meta connector sends).
   */
  private authParams(): Record<string, string> {
    if (this.appSecret === undefined) return { access_token: this.accessToken };
    const time = String(Math.floor(Date.now() / 1000));
    const proof = createHmac('sha256', this.appSecret).update(`${this.accessToken}|${time}`).digest('hex');
    return { access_token: this.accessToken, appsecret_proof: proof, appsecret_time: time };
  }

  /**
   * One request through the engine's client (timeout, no redirects, capped body).
   * Unlike httpRequest, every status comes back: Meta answers throttling with
   * 400/403 bodies, which must not be read as bad credentials.
   */
  private send(method: string, path: string, body: string | undefined): Promise<HttpResponse> {
    return sendHttp({ method, url: joinUrl(this.base, path), headers: { 'content-type': 'application/json', 'user-agent': 'audsync' }, body, timeoutMs: this.timeoutMs }, this.who);
  }
}

function parseUploadAnswer(text: string): UploadAnswer {
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // An unreadable 200 confirms nothing: numReceived stays undefined and the rows count as failed.
  }
  const samples = new Map<string, string>();
  const raw = body.invalid_entry_samples;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [row, reason] of Object.entries(raw as Record<string, unknown>)) samples.set(row, typeof reason === 'string' ? reason : JSON.stringify(reason));
  }
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
  return { kind: 'accepted', numReceived: num(body.num_received), numInvalidEntries: num(body.num_invalid_entries) ?? 0, invalidSamples: samples };
}

import { DestinationError, isTransientStatus, parseRetryAfter } from '../../engine/destination/index.js';

/** The Graph API error object: HTTP 4xx `{"error": {...}}` (destinations/meta-custom-audiences/README.md, "Errors"). */
export interface GraphError {
  readonly message: string;
  readonly type: string | undefined;
  readonly code: number | undefined;
  readonly subcode: number | undefined;
  readonly userMessage: string | undefined;
  readonly fbtraceId: string | undefined;
  /** Graph's own "try again" flag, set on temporary service errors. */
  readonly isTransient: boolean;
}

/**
 * Rate limiting: 4 (app), 17 (user; subcode 2446079), 613 (ad account; subcode
 * 1487742), 80003 (custom audience business use case). Transient
 * (destinations/meta-custom-audiences/README.md; developers.facebook.com/docs/marketing-api/overview/rate-limiting).
 */
export const THROTTLING_CODES: ReadonlySet<number> = new Set([4, 17, 613, 80003]);
/** Invalid or expired access token (OAuthException). */
export const AUTH_CODE = 190;
/**
 * Codes and subcodes that mean the audience cannot be written with these
 * credentials whatever we retry: 294 (permission), 1487301 (not shared),
 * 1487366 (deleted), 2650 (update failed), 1713230 (flagged, code 100), plus
 * Graph's generic permission codes 10 and 200, and 100/33 (no such object).
 */
const AUDIENCE_CODES: ReadonlySet<number> = new Set([294, 2650, 10, 200]);
const AUDIENCE_SUBCODES: ReadonlySet<number> = new Set([1487301, 1487366, 1713230, 33]);
/** Graph's "unknown" and "service temporarily unavailable" codes. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2]);
/** Meta reports the wait in X-Business-Use-Case-Usage in minutes. */
const MS_PER_MINUTE = 60_000;
const MESSAGE_CHARS = 300;

/** The error object of a Graph answer, or undefined when the body is not one. */
export function parseGraphError(text: string): GraphError | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!e || typeof e !== 'object') return undefined;
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    message: str(e.message) ?? 'no message',
    type: str(e.type),
    code: num(e.code),
    subcode: num(e.error_subcode),
    userMessage: str(e.error_user_msg),
    fbtraceId: str(e.fbtrace_id),
    isTransient: e.is_transient === true,
  };
}

/**
 * Milliseconds until Meta says access returns: the largest
 * `estimated_time_to_regain_access` (minutes) in X-Business-Use-Case-Usage,
 * `{"<business id>": [{"type": ..., "call_count": ..., "estimated_time_to_regain_access": N}]}`,
 * else Retry-After; undefined when neither says (the engine backs off).
 */
export function regainAccessMs(headers: Headers): number | undefined {
  const usage = headers.get('x-business-use-case-usage');
  if (usage) {
    let minutes: number | undefined;
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === 'object') {
        const m = (v as { estimated_time_to_regain_access?: unknown }).estimated_time_to_regain_access;
        if (typeof m === 'number' && m > 0) minutes = Math.max(minutes ?? 0, m);
        else Object.values(v).forEach((inner) => (typeof inner === 'object' ? visit(inner) : undefined));
      }
    };
    try {
      visit(JSON.parse(usage));
    } catch {
      // A header we cannot read gives no hint; the engine's backoff applies.
    }
    if (minutes !== undefined) return minutes * MS_PER_MINUTE;
  }
  return parseRetryAfter(headers.get('retry-after'));
}

/** What an error answer means for the request's rows. */
export type ErrorVerdict =
  /** Every row of the request is refused (a bad value, a malformed request): rejected with Meta's code and message. */
  { kind: 'rejected'; code: string; message: string };

/**
 * Maps a non-2xx Graph answer. Throws a DestinationError when the whole batch
 * must wait (throttling, 5xx: retryable) or the sync cannot go on (token,
 * audience: not retryable); returns a verdict when only these rows are refused.
 */
export function classifyGraphError(status: number, headers: Headers, text: string, who: string): ErrorVerdict {
  const err = parseGraphError(text);
  const codes = err ? `code ${err.code ?? '?'}${err.subcode !== undefined ? `, subcode ${err.subcode}` : ''}${err.fbtraceId ? `, fbtrace_id ${err.fbtraceId}` : ''}` : `HTTP ${status}`;
  const said = err ? [err.message, err.userMessage].filter(Boolean).join(' — ') : text.slice(0, MESSAGE_CHARS);
  const code = err?.code !== undefined ? String(err.code) : String(status);
  if (err?.code !== undefined && THROTTLING_CODES.has(err.code)) {
    throw new DestinationError(`${who}: throttled by Meta (${codes}): ${said}`, { retryable: true, retryAfterMs: regainAccessMs(headers), code });
  }
  if (err?.code === AUTH_CODE || (err && /appsecret_proof/i.test(err.message)) || (!err && status === 401)) {
    throw new DestinationError(`${who}: Meta refused the access token (${codes}): ${said}`, {
      retryable: false,
      code: String(err?.code ?? status),
      hint: 'Renew the system-user access token (permission ads_management) in Meta Business Settings and update the environment variable that accessToken reads; if appSecret is set, it must be the secret of the app that issued the token.',
    });
  }
  if (err && ((err.code !== undefined && AUDIENCE_CODES.has(err.code)) || (err.subcode !== undefined && AUDIENCE_SUBCODES.has(err.subcode)))) {
    throw new DestinationError(`${who}: Meta cannot update the custom audience (${codes}): ${said}`, {
      retryable: false,
      code,
      hint: 'Check target.audienceId: the audience must exist, be a customer-file custom audience shared with the ad account of the token, and not be flagged (resolve restrictions in Audience Manager).',
    });
  }
  if (isTransientStatus(status) || err?.isTransient || (err?.code !== undefined && TRANSIENT_CODES.has(err.code))) {
    throw new DestinationError(`${who}: Meta is temporarily unavailable (${codes}): ${said}`, { retryable: true, retryAfterMs: regainAccessMs(headers), code });
  }
  if (!err && status === 403) {
    throw new DestinationError(`${who}: HTTP 403 from Meta: ${said}`, { retryable: false, code, hint: 'Check the token has ads_management on the ad account that owns the audience.' });
  }
  return { kind: 'rejected', code, message: `Meta refused the request (${codes}): ${said}` };
}

/**
 * Reading Google's error shapes. A failed call answers with the google.rpc
 * envelope `{"error":{"code","message","status","details":[...]}}` whose
 * details hold a GoogleAdsFailure (`errors[]` of `{errorCode:{<category>:
 * <CODE>}, message, location, details}`) and sometimes a RetryInfo; a partial
 * failure answers 200 with the same GoogleAdsFailure under `partialFailureError`
 * (fact file), each error located by `fieldPathElements[{fieldName:
 * "operations", index}]`.
 */

export interface GoogleAdsErrorEntry {
  /** The error's code, e.g. INVALID_SHA256_FORMAT (the value of its single errorCode category). */
  readonly code: string;
  readonly message: string;
  /** Position of the failed operation in the request, when the error names one. */
  readonly operationIndex: number | undefined;
}

export interface GoogleFailure {
  readonly httpStatus: number;
  /** google.rpc status name, e.g. RESOURCE_EXHAUSTED, PERMISSION_DENIED. */
  readonly status: string | undefined;
  readonly message: string;
  readonly errors: readonly GoogleAdsErrorEntry[];
  /** The wait Google asked for (RetryInfo or QuotaErrorDetails `retryDelay`), in ms. */
  readonly retryDelayMs: number | undefined;
}

/** How much of a body without the expected envelope goes into a message. */
const RAW_BODY_CHARS = 300;

export function parseFailure(httpStatus: number, text: string): GoogleFailure {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const err = isObject(body) && isObject(body.error) ? body.error : undefined;
  if (!err) return { httpStatus, status: undefined, message: text.slice(0, RAW_BODY_CHARS) || `HTTP ${httpStatus}`, errors: [], retryDelayMs: undefined };
  return {
    httpStatus,
    status: typeof err.status === 'string' ? err.status : undefined,
    message: typeof err.message === 'string' ? err.message : `HTTP ${httpStatus}`,
    errors: adsErrors(err.details),
    retryDelayMs: findRetryDelay(err),
  };
}

/** The errors of a partialFailureError (or of any GoogleAdsFailure holder), located by operation index. */
export function partialFailureErrors(partialFailureError: unknown): GoogleAdsErrorEntry[] {
  return isObject(partialFailureError) ? adsErrors(partialFailureError.details) : [];
}

/** "CODE: message" of the first few errors, for a human. */
export function describeFailure(f: GoogleFailure): string {
  const head = `HTTP ${f.httpStatus}${f.status ? ` ${f.status}` : ''}`;
  const detail = f.errors
    .slice(0, 3)
    .map((e) => `${e.code}: ${e.message}`)
    .join('; ');
  return `${head}: ${detail || f.message}`;
}

export function hasCode(f: GoogleFailure, ...codes: string[]): boolean {
  return f.errors.some((e) => codes.includes(e.code)) || (f.status !== undefined && codes.includes(f.status));
}

/** Parses a protobuf Duration in JSON form ("30s", "1.5s"). */
export function parseDurationMs(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(s.trim());
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

function adsErrors(details: unknown): GoogleAdsErrorEntry[] {
  if (!Array.isArray(details)) return [];
  const out: GoogleAdsErrorEntry[] = [];
  for (const d of details) {
    if (!isObject(d) || !Array.isArray(d.errors)) continue;
    for (const e of d.errors) {
      if (!isObject(e)) continue;
      const codes = isObject(e.errorCode) ? Object.values(e.errorCode).filter((v): v is string => typeof v === 'string') : [];
      out.push({ code: codes[0] ?? 'UNKNOWN', message: typeof e.message === 'string' ? e.message : '', operationIndex: operationIndex(e.location) });
    }
  }
  return out;
}

function operationIndex(location: unknown): number | undefined {
  if (!isObject(location) || !Array.isArray(location.fieldPathElements)) return undefined;
  const first = location.fieldPathElements.find((p) => isObject(p) && p.fieldName === 'operations');
  if (!isObject(first)) return undefined;
  const i = first.index;
  return typeof i === 'number' && Number.isInteger(i) ? i : typeof i === 'string' && /^\d+$/.test(i) ? Number(i) : undefined;
}

/** The first `retryDelay` anywhere in the error (RetryInfo detail, or a GoogleAdsError's quotaErrorDetails). */
function findRetryDelay(v: unknown, depth = 0): number | undefined {
  if (depth > 6) return undefined;
  if (Array.isArray(v)) {
    for (const x of v) {
      const found = findRetryDelay(x, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isObject(v)) return undefined;
  const own = parseDurationMs(v.retryDelay);
  if (own !== undefined) return own;
  for (const x of Object.values(v)) {
    const found = findRetryDelay(x, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

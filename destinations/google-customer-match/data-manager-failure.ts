import { parseDurationMs } from './google-failure.js';

/**
 * Reading the Data Manager API's errors: the standard Google error model
 * (devguides/concepts/understand-errors), `{"error":{"code","message","status",
 * "details":[...]}}`, whose details may hold an ErrorInfo (`reason`, e.g.
 * SERVICE_DISABLED, ACCESS_TOKEN_SCOPE_INSUFFICIENT, or an ErrorReason such as
 * TERMS_AND_CONDITIONS_NOT_SIGNED), a BadRequest (`fieldViolations[{field,
 * description, reason}]`, e.g. field `audience_members.audience_members[0]`,
 * reason INVALID_SHA256_FORMAT, as the quickstart shows) and a RetryInfo.
 */

export interface FieldViolation {
  readonly field: string;
  readonly reason: string;
  readonly description: string;
  /** Position of the audience member the violation is about, in the request's list. */
  readonly memberIndex: number | undefined;
}

export interface DmFailure {
  readonly httpStatus: number;
  /** google.rpc status name: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, PERMISSION_DENIED... */
  readonly status: string | undefined;
  readonly message: string;
  /** ErrorInfo reasons. */
  readonly reasons: readonly string[];
  readonly violations: readonly FieldViolation[];
  /** RetryInfo.retryDelay, in ms. */
  readonly retryDelayMs: number | undefined;
}

const RAW_BODY_CHARS = 300;
/** At most this many violations are read from one answer: a body that lists millions is a hostile one. */
const MAX_VIOLATIONS = 20_000;
const MEMBER_INDEX = /(?:^|\.)audience_members\[(\d+)\]/;

export function parseDmFailure(httpStatus: number, text: string): DmFailure {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const err = isObject(body) && isObject(body.error) ? body.error : undefined;
  if (!err) return { httpStatus, status: undefined, message: text.slice(0, RAW_BODY_CHARS) || `HTTP ${httpStatus}`, reasons: [], violations: [], retryDelayMs: undefined };
  const details = Array.isArray(err.details) ? err.details.filter(isObject) : [];
  const reasons: string[] = [];
  const violations: FieldViolation[] = [];
  let retryDelayMs: number | undefined;
  for (const d of details) {
    if (typeof d.reason === 'string') reasons.push(d.reason);
    if (retryDelayMs === undefined) retryDelayMs = parseDurationMs(d.retryDelay);
    if (!Array.isArray(d.fieldViolations)) continue;
    for (const v of d.fieldViolations.slice(0, MAX_VIOLATIONS)) {
      if (!isObject(v)) continue;
      const field = typeof v.field === 'string' ? v.field : '';
      const m = MEMBER_INDEX.exec(field);
      const index = m ? Number(m[1]) : undefined;
      violations.push({
        field,
        reason: typeof v.reason === 'string' ? v.reason : 'INVALID_ARGUMENT',
        description: typeof v.description === 'string' ? v.description : '',
        memberIndex: index !== undefined && Number.isSafeInteger(index) ? index : undefined,
      });
    }
  }
  return { httpStatus, status: typeof err.status === 'string' ? err.status : undefined, message: typeof err.message === 'string' ? err.message : `HTTP ${httpStatus}`, reasons, violations, retryDelayMs };
}

/** "HTTP 400 INVALID_ARGUMENT: message (REASON; field: REASON description)", for a human. */
export function describeDmFailure(f: DmFailure): string {
  const head = `HTTP ${f.httpStatus}${f.status ? ` ${f.status}` : ''}`;
  const why = [...new Set(f.reasons)].slice(0, 3);
  const fields = f.violations.slice(0, 3).map((v) => `${v.field || 'request'}: ${v.reason}${v.description ? ` ${v.description}` : ''}`);
  const extra = [...why, ...fields].join('; ');
  return `${head}: ${f.message.slice(0, RAW_BODY_CHARS)}${extra ? ` (${extra})` : ''}`;
}

export function hasReason(f: DmFailure, ...reasons: string[]): boolean {
  return f.reasons.some((r) => reasons.includes(r)) || f.violations.some((v) => reasons.includes(v.reason));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

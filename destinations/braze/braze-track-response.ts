import type { RowResult } from '../../engine/destination/index.js';
import type { BrazeAttributes } from './braze-attributes.js';

/** How much of an unexpected body becomes the reason. */
const REASON_CHARS = 300;

interface RowError {
  readonly type: string;
}

/**
 * Per-row outcomes of one /users/track call (braze.md): `{"message":"success"}`
 * with optional `errors[{type, input_array, index}]` naming refused objects by
 * position; any other message on a 4xx is fatal for the whole batch. Rows are
 * `objects[i]` one to one.
 */
export function mapTrackResponse(status: number, text: string, objects: readonly BrazeAttributes[]): RowResult[] {
  const body = parseObject(text);
  const message = typeof body?.message === 'string' ? body.message : undefined;
  const rowErrors = errorsByIndex(body?.errors, objects.length);
  const ok = status >= 200 && status < 300;
  if (!ok) {
    const reason = `HTTP ${status}: ${message ?? text.slice(0, REASON_CHARS)}`;
    return objects.map((_, i): RowResult => {
      const e = rowErrors.get(i);
      return { status: 'rejected', code: e?.type ?? String(status), message: e ? `${e.type} (${reason})` : reason };
    });
  }
  if (message !== 'success') {
    // A 2xx that does not say "success" confirms nothing: retried next run, never counted as sent.
    const reason = `Braze answered HTTP ${status} without "success": ${text.slice(0, REASON_CHARS)}`;
    return objects.map(() => ({ status: 'failed', code: 'unconfirmed', message: reason }));
  }
  const results = objects.map((o, i): RowResult => {
    const e = rowErrors.get(i);
    return e ? { status: 'rejected', code: e.type, message: `Braze refused this user: ${e.type}` } : { status: 'succeeded', id: o.external_id };
  });
  // Braze lists refused objects but not accepted ones; its processed count is the
  // only sign of a silent drop. Update-only objects (removals) for users Braze
  // does not have are legitimately skipped, so only objects it had to write count.
  const processed = body?.attributes_processed;
  if (typeof processed === 'number') {
    const mustWrite = objects.filter((o, i) => !rowErrors.has(i) && !o._update_existing_only).length;
    if (processed < mustWrite) {
      const reason = `Braze processed ${processed} of ${mustWrite} attribute objects without saying which; not confirmed, retried next run`;
      return results.map((r) => (r.status === 'succeeded' ? { status: 'failed', code: 'unconfirmed', message: reason } : r));
    }
  }
  return results;
}

function errorsByIndex(errors: unknown, n: number): Map<number, RowError> {
  const out = new Map<number, RowError>();
  if (!Array.isArray(errors)) return out;
  for (const e of errors) {
    if (!e || typeof e !== 'object') continue;
    const { type, input_array: array, index } = e as { type?: unknown; input_array?: unknown; index?: unknown };
    if (array !== undefined && array !== 'attributes') continue;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n) continue;
    out.set(index, { type: typeof type === 'string' && type !== '' ? type : 'error' });
  }
  return out;
}

export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Longest wait audsync accepts from a Retry-After header before retrying anyway. */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;
/** Cap of the exponential backoff. */
export const MAX_BACKOFF_MS = 60_000;

/**
 * Delay before attempt `attempt + 1`: the destination's Retry-After when it gave
 * one, else exponential backoff with "equal jitter" (half fixed, half random),
 * so a storm of clients does not retry in lockstep.
 */
export function retryDelayMs(attempt: number, baseMs: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  const exp = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (attempt - 1));
  return exp / 2 + random() * (exp / 2);
}

/** Parses a Retry-After header: seconds, or an HTTP date. */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

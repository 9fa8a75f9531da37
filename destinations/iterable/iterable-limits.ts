/** Iterable facts and the choices made where they are not documented (destinations/iterable/README.md). */

/** API hosts per data center. */
export const ITERABLE_HOSTS = { us: 'https://api.iterable.com', eu: 'https://api.eu.iterable.com' } as const;
export type IterableRegion = keyof typeof ITERABLE_HOSTS;

/**
 * Subscribers per list request. Iterable documents no per-request maximum;
 * iterable.md gives 1,000 as the default, and audsync does not go above it.
 */
export const ITERABLE_MAX_SUBSCRIBERS = 1_000;

/**
 * Requests per second (subscribe and unsubscribe calls, through ctx.throttle).
 * No limit for the list endpoints is documented in iterable.md; this
 * conservative default (up to 10,000 subscribers a second) keeps clear of
 * Iterable's per-project limits, and its 429 is backed off anyway.
 */
export const ITERABLE_DEFAULT_REQUESTS_PER_SECOND = 10;

/** Batches in flight. */
export const ITERABLE_DEFAULT_CONCURRENCY = 4;

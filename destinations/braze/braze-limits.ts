/**
 * Braze's documented limits (destinations/braze/README.md). The engine
 * never sends a batch larger than the maximum and spaces batches at the rate.
 */

/** At most 75 objects per /users/track request (attributes, events and purchases combined). */
export const BRAZE_TRACK_MAX_OBJECTS = 75;

/** /users/track allows 3,000 requests per 3 seconds. */
export const BRAZE_TRACK_REQUESTS_PER_SECOND = 3_000 / 3;

/** At most 50 external ids per subscription group entry of /v2/subscription/status/set. */
export const BRAZE_SUBSCRIPTION_MAX_IDS = 50;

/** /v2/subscription/status/set allows 5,000 requests per minute. */
export const BRAZE_SUBSCRIPTION_REQUESTS_PER_SECOND = 5_000 / 60;

/**
 * Batches in flight. Braze's limit is a request rate, not a connection count,
 * so a few requests in flight keep throughput up without bursting past it.
 */
export const BRAZE_DEFAULT_CONCURRENCY = 4;

/** Braze custom attribute names: at most 255 characters and not starting with '$' (reserved). */
export const BRAZE_ATTRIBUTE_NAME_MAX = 255;

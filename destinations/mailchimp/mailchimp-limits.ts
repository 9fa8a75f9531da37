/** Mailchimp's documented limits (destinations/mailchimp/README.md). */

/** At most 500 members per batch subscribe request (POST /lists/{list_id}). */
export const MAILCHIMP_BATCH_MAX_MEMBERS = 500;

/** At most 10 concurrent connections per API key; Mailchimp answers 429 beyond. */
export const MAILCHIMP_MAX_CONNECTIONS = 10;

/**
 * Batches in flight, and per-member tag requests in flight within one batch.
 * Mailchimp limits connections, not requests per second, so audsync keeps
 * DEFAULT_CONCURRENCY x TAG_REQUESTS_IN_FLIGHT (8) under MAILCHIMP_MAX_CONNECTIONS,
 * leaving room for other clients of the same key.
 */
export const MAILCHIMP_DEFAULT_CONCURRENCY = 2;
export const MAILCHIMP_TAG_REQUESTS_IN_FLIGHT = 4;

/** The API version path appended to the data-center host or baseUrl. */
export const MAILCHIMP_API_PATH = '/3.0';

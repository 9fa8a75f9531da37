/**
 * Klaviyo's documented numbers, in one place. Sources:
 * destinations/klaviyo/README.md and Klaviyo's API reference
 * (developers.klaviyo.com, "Bulk Import Profiles", "Get Profiles for Bulk Import
 * Profiles Job", "Get Errors for Bulk Import Profiles Job", "Get Profiles",
 * "Bulk Suppress Profiles").
 */

/** Vendor host; `baseUrl` replaces it (regional hosts, proxies, tests). */
export const KLAVIYO_HOST = 'https://a.klaviyo.com';

/**
 * The API revision audsync was written and tested against. Klaviyo requires a
 * `revision` header on every call and keeps old revisions working for two years;
 * the `revision` option overrides it.
 */
export const KLAVIYO_REVISION = '2024-10-15';

/** Profiles per bulk import job (fact file: "at most 10,000 profiles and 5 MB"). */
export const KLAVIYO_MAX_IMPORT_PROFILES = 10_000;

/** Request body ceiling of a bulk import job (fact file: 5 MB); kept a little under 5 MiB for the envelope. */
export const KLAVIYO_MAX_IMPORT_BYTES = 5_000_000;

/** Profile ids per `DELETE /api/lists/{id}/relationships/profiles` (fact file: at most 1,000 per call). */
export const KLAVIYO_MAX_LIST_REMOVE = 1_000;

/** Emails per bulk suppression request (API reference, Bulk Suppress Profiles: "Email address per request limit: 100"). */
export const KLAVIYO_MAX_SUPPRESS = 100;

/** `page[size]` maximum of the collection endpoints we page through (API reference: "Default: 20. Min: 1. Max: 100."). */
export const KLAVIYO_PAGE_SIZE = 100;

/** Values in one `any(field,[...])` profile filter; the API reference does not state a maximum, 100 matches the page size. */
export const KLAVIYO_MAX_FILTER_VALUES = 100;

/** Steady rate of the bulk import and list endpoints (fact file: burst 10/s, steady 150/min). */
export const KLAVIYO_STEADY_PER_SECOND = 150 / 60;

/** How often a running import job is polled by default; jobs usually finish within seconds to minutes. */
export const KLAVIYO_DEFAULT_POLL_MS = 2_000;

/** How long one batch waits for its import job before its rows count as failed (retried next run). */
export const KLAVIYO_DEFAULT_JOB_TIMEOUT_MS = 30 * 60_000;

/** Attempts of an idempotent read (poll, page) throttled or failed mid-batch, before the whole batch is retried. */
export const KLAVIYO_READ_ATTEMPTS = 5;

/**
 * Google's documented numbers and addresses, in one place. Sources:
 * destinations/google-customer-match/README.md (the fact file), and Google's
 * pages named on each constant (developers.google.com/google-ads/api/...).
 */

/** Vendor host; `baseUrl` replaces it (regional proxies, tests). */
export const GOOGLE_ADS_HOST = 'https://googleads.googleapis.com';

/** OAuth 2.0 token endpoint that exchanges a refresh token for an access token; the `tokenUrl` option replaces it. */
export const GOOGLE_OAUTH_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/**
 * The Google Ads API major version audsync speaks. docs/sunset-dates: "If you
 * are new to the Google Ads API, we recommend that you start with v26" (released
 * October 2026, projected sunset November 2027, per the 2026 release schedule on
 * the Ads developer blog). The `apiVersion` option overrides it.
 */
export const GOOGLE_ADS_API_VERSION = 'v26';

/** Identifiers per addOperations request, hard ceiling (fact file: "at most 100,000 identifiers", TOO_MANY_USER_IDENTIFIERS above). */
export const GOOGLE_MAX_IDENTIFIERS_PER_REQUEST = 100_000;

/** Identifiers per addOperations request that audsync sends (fact file: "about 10,000 per request recommended"). */
export const GOOGLE_IDENTIFIERS_PER_REQUEST = 10_000;

/** UserIdentifiers in one UserData, i.e. per person (fact file: "At most 20 identifiers per user"). */
export const GOOGLE_MAX_IDENTIFIERS_PER_USER = 20;

/**
 * Rows per batch. A batch becomes one job per operation type, its operations
 * split over addOperations requests of at most GOOGLE_IDENTIFIERS_PER_REQUEST
 * identifiers (addOperations is repeatable on one job, fact file). Google
 * advises few large jobs over many small ones (customer-match/get-started:
 * "Creating one large job is much more efficient than several smaller ones"),
 * so the ceiling is the per-request identifier ceiling; the default keeps a
 * failed batch, which is sent again whole, small.
 */
export const GOOGLE_DEFAULT_BATCH = 10_000;
export const GOOGLE_MAX_BATCH = 100_000;

/**
 * Batches in flight: one. Two jobs on one list at once fail with
 * CONCURRENT_MODIFICATION (fact file), so sending jobs in parallel only buys retries.
 */
export const GOOGLE_CONCURRENCY = 1;

/** Refresh an access token this long before Google says it expires, so a request never carries one that lapses in flight. */
export const TOKEN_EXPIRY_MARGIN_MS = 60_000;

/** Lifetime assumed when the token endpoint omits `expires_in` (Google's access tokens last 3,600 s). */
export const TOKEN_DEFAULT_TTL_S = 3_600;

/**
 * Jobs asked about per googleAds:search query when refreshing pending jobs; a
 * GAQL `IN (...)` list of this many resource names stays far below Google's
 * query length limit, and one page (10,000 rows, docs/reporting/paging) holds the answer.
 */
export const JOB_STATUS_QUERY_CHUNK = 500;

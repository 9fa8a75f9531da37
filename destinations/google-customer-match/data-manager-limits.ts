/**
 * The Data Manager API's documented numbers and addresses, in one place. Pages
 * (developers.google.com/data-manager/api/...): `limits` (Limits and quotas),
 * `reference/rest/v1/ErrorReason`, `reference/rest/v1/audienceMembers/ingest`,
 * `devguides/diagnostics`.
 */

/** Vendor host; `baseUrl` replaces it (proxies, tests). */
export const DATA_MANAGER_HOST = 'https://datamanager.googleapis.com';

/** The API version: v1 is the only one (reference/rest). The `apiVersion` option overrides it. */
export const DATA_MANAGER_API_VERSION = 'v1';

/** OAuth scope every method requires ("Authorization scopes" on each method's page). */
export const DATA_MANAGER_SCOPE = 'https://www.googleapis.com/auth/datamanager';

/** AudienceMember resources per ingest/remove request (limits: "10,000 AudienceMember resources in the audience_members list"; TOO_MANY_AUDIENCE_MEMBERS above). */
export const DM_MAX_MEMBERS_PER_REQUEST = 10_000;

/** User identifiers per AudienceMember (limits: "10 user identifiers in the UserData for an AudienceMember"; TOO_MANY_USER_IDENTIFIERS above). */
export const DM_MAX_IDENTIFIERS_PER_MEMBER = 10;

/** Destinations per request (ErrorReason TOO_MANY_DESTINATIONS: "Maximum number of destinations allowed per request is 10"). */
export const DM_MAX_DESTINATIONS_PER_REQUEST = 10;

/**
 * Requests per second by default: the project quota is "300 requests per minute"
 * (and "100,000 requests per day") per Google Cloud project (limits), i.e. 5 a
 * second. Every request counts: ingest, remove, and the status reads.
 */
export const DM_REQUESTS_PER_MINUTE = 300;
export const DM_DEFAULT_RATE_LIMIT = DM_REQUESTS_PER_MINUTE / 60;

/**
 * A request refused because of some members (400 with BadRequest field violations
 * naming `audience_members[i]`) applied nothing; the rest are sent again without
 * them. Google names every violation at once, so one more round is the norm; the
 * bound stops a server that names one member per answer from looping for ever
 * (what is left counts as failed and goes again next run).
 */
export const DM_REFUSAL_ROUNDS = 5;

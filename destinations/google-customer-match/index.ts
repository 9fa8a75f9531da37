import { defineDestination, type Batch, type DestinationContext, type RowResult } from '../../engine/destination/index.js';
import { uploadBatch } from './batch-upload.js';
import { MEMBER_IDENTIFIERS } from './customer-match-member.js';
import type { CustomerMatchTransport } from './customer-match-transport.js';
import { dataManagerTransport } from './data-manager-connection.js';
import { DATA_MANAGER_API_VERSION, DM_DEFAULT_RATE_LIMIT } from './data-manager-limits.js';
import { checkGoogleConfig } from './google-config-check.js';
import { GoogleAdsHttp } from './google-ads-http.js';
import { GOOGLE_ADS_API_VERSION, GOOGLE_CONCURRENCY, GOOGLE_DEFAULT_BATCH, GOOGLE_MAX_BATCH, GOOGLE_OAUTH_TOKEN_URL } from './google-limits.js';
import { checkFields, CONSENT_STATUSES, readSettings, transportOf, TRANSPORTS, type GoogleCustomerMatchOptions } from './google-settings.js';
import { OAuthTokenSource } from './oauth-token.js';
import { OfflineUserDataJobTransport } from './offline-user-data-job-transport.js';
import { ReplaceGate } from './replace-gate.js';

export type { GoogleCustomerMatchOptions } from './google-settings.js';

/** The scope the googleAds transport's refresh token carries. */
const ADWORDS_SCOPE = 'https://www.googleapis.com/auth/adwords';

export const googleCustomerMatch = defineDestination<GoogleCustomerMatchOptions>({
  type: 'google_customer_match',
  description:
    'Google Customer Match: hashed members added to and removed from Google Ads Customer Match lists and Display & Video 360 first-party audiences through the Data Manager API (or, for allow-listed accounts, the Google Ads API), processed asynchronously.',
  options: {
    transport: { type: 'enum', values: TRANSPORTS, description: "'dataManager' (default: the Data Manager API, what new Customer Match integrations must use) or 'googleAds' (OfflineUserDataJobService, for accounts already allow-listed)" },
    clientId: { type: 'secret', description: "OAuth client id, e.g. env('GOOGLE_CLIENT_ID')" },
    clientSecret: { type: 'secret', description: "OAuth client secret, e.g. env('GOOGLE_CLIENT_SECRET')" },
    refreshToken: { type: 'secret', description: "OAuth refresh token (datamanager scope; adwords scope with transport 'googleAds'), e.g. env('GOOGLE_REFRESH_TOKEN')" },
    serviceAccountKey: { type: 'secret', description: "dataManager: a service account's JSON key instead of the OAuth client, e.g. env('GOOGLE_SERVICE_ACCOUNT_JSON')" },
    acceptCustomerMatchTerms: { type: 'boolean', description: 'dataManager: the Customer Match terms of service were accepted for the operating accounts (sent with every ingest)' },
    developerToken: { type: 'secret', description: "googleAds: developer token, sent as developer-token when given (Google ignores it since developer tokens were sunset, 2026-09-09)" },
    customerId: { type: 'string', description: "googleAds: the Google Ads account that owns the list, digits with or without dashes ('123-456-7890')" },
    loginCustomerId: { type: 'string', description: 'googleAds: manager account the OAuth user acts through, sent as login-customer-id' },
    apiVersion: { type: 'string', description: `API version (default ${DATA_MANAGER_API_VERSION} for dataManager, ${GOOGLE_ADS_API_VERSION} for googleAds)` },
    tokenUrl: { type: 'url', description: `OAuth token endpoint (default ${GOOGLE_OAUTH_TOKEN_URL})` },
  },
  target: {
    destinations: {
      type: 'array',
      description: "dataManager: where members go, in one request: [{ type: 'googleAds', accountId, userListId, loginAccountId? }, { type: 'displayVideo', advertiserId, audienceId, loginPartnerId? }]",
    },
    userListId: { type: 'string', description: "googleAds: numeric id of the Customer Match user list, as a string ('1234567890')" },
    consent: {
      type: 'object',
      description: `consent sent with every upload that adds people: { adUserData, adPersonalization }, each ${CONSENT_STATUSES.join(' | ')} (dataManager: the default for members whose consent columns are empty)`,
    },
  },
  identifiers: MEMBER_IDENTIFIERS,
  batchSize: { default: GOOGLE_DEFAULT_BATCH, max: GOOGLE_MAX_BATCH },
  // dataManager: the project quota, 300 requests a minute (limits); googleAds documents no per-second limit and
  // its quota refusals (429 RESOURCE_EXHAUSTED) carry a retryDelay that is honoured.
  rateLimit: (options) => (transportOf(options) === 'dataManager' ? DM_DEFAULT_RATE_LIMIT : undefined),
  concurrency: GOOGLE_CONCURRENCY,
  // `update` would need "change only people already in the list", which Customer Match cannot tell: an upload always adds.
  modes: ['mirror', 'upsert', 'add', 'remove'],
  // A rateLimit counts every request: googleAds makes at least three per batch (create, addOperations, run), dataManager
  // one per kind (ingest, remove) and one per status read.
  throttlesRequests: true,
  // googleAds: a mirror's full refresh empties the list in its first job (removeAll).
  replacesOnFullRefresh: ['mirror'],
  validate: checkGoogleConfig,
  connect(ctx: DestinationContext<GoogleCustomerMatchOptions>) {
    const transport = transportFor(ctx, true);
    // Only a mirror may empty the list: in add/upsert a full refresh re-sends members but must not drop anyone.
    const replace = ctx.fullRefresh && ctx.sync.mode === 'mirror' && transport.canReplaceAll ? new ReplaceGate() : undefined;
    const hooks = { recordJob: ctx.recordJob, recordMetric: ctx.recordMetric };
    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        if (!replace) return uploadBatch(transport, batch, { replaceAll: false, removesCovered: false }, hooks);
        // A full refresh: the first batch through empties the list (removeAll first in its create job); the
        // others wait for that, then need no request for their removals.
        return replace.run((first) => uploadBatch(transport, batch, { replaceAll: first, removesCovered: true }, hooks));
      },
    };
  },
  async refreshJobs(ctx, jobs) {
    return transportFor(ctx, false).jobStatuses(jobs);
  },
});

/** The transport the destination's options select: the Data Manager API, or OfflineUserDataJobService. */
function transportFor(ctx: DestinationContext<GoogleCustomerMatchOptions>, needTarget: boolean): CustomerMatchTransport {
  if (transportOf(ctx.options as Record<string, unknown>) === 'dataManager') return dataManagerTransport(ctx, { needTarget });
  if (needTarget) checkFields(ctx);
  const s = readSettings(ctx, { needTarget });
  const who = `destination ${ctx.name}`;
  const tokens = new OAuthTokenSource({ tokenUrl: s.tokenUrl, clientId: s.clientId, clientSecret: s.clientSecret, refreshToken: s.refreshToken }, ctx.timeoutMs, who, {
    scope: ADWORDS_SCOPE,
    onToken: (t) => ctx.registerSecret(t),
  });
  const http = new GoogleAdsHttp({ baseUrl: s.baseUrl, apiVersion: s.apiVersion, loginCustomerId: s.loginCustomerId, developerToken: s.developerToken }, tokens, ctx.timeoutMs, who, ctx.throttle);
  return new OfflineUserDataJobTransport(http, { customerId: s.customerId, userListId: s.userListId, consent: s.consent }, who);
}

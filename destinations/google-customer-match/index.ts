import { defineDestination, type Batch, type DestinationContext, type RowResult } from '../../engine/destination/destination-api.js';
import { uploadBatch } from './batch-upload.js';
import { MEMBER_IDENTIFIERS } from './customer-match-member.js';
import type { CustomerMatchTransport } from './customer-match-transport.js';
import { GoogleAdsHttp } from './google-ads-http.js';
import { GOOGLE_ADS_API_VERSION, GOOGLE_CONCURRENCY, GOOGLE_DEFAULT_BATCH, GOOGLE_MAX_BATCH, GOOGLE_OAUTH_TOKEN_URL } from './google-limits.js';
import { checkFields, CONSENT_STATUSES, readSettings, type GoogleCustomerMatchOptions } from './google-settings.js';
import { OAuthTokenSource } from './oauth-token.js';
import { OfflineUserDataJobTransport } from './offline-user-data-job-transport.js';
import { ReplaceGate } from './replace-gate.js';

export type { GoogleCustomerMatchOptions } from './google-settings.js';

export const googleCustomerMatch = defineDestination<GoogleCustomerMatchOptions>({
  type: 'google_customer_match',
  description: 'Google Ads Customer Match list: members uploaded as hashed identifiers through offline user data jobs that finish asynchronously.',
  options: {
    clientId: { type: 'secret', required: true, description: "OAuth client id, e.g. env('GOOGLE_ADS_CLIENT_ID')" },
    clientSecret: { type: 'secret', required: true, description: "OAuth client secret, e.g. env('GOOGLE_ADS_CLIENT_SECRET')" },
    refreshToken: { type: 'secret', required: true, description: "OAuth refresh token with the adwords scope, e.g. env('GOOGLE_ADS_REFRESH_TOKEN')" },
    developerToken: { type: 'secret', description: 'Google Ads developer token, sent as developer-token when given (Google ignores it since developer tokens were sunset, 2026-09-09)' },
    customerId: { type: 'string', required: true, description: "Google Ads account that owns the list, digits with or without dashes ('123-456-7890')" },
    loginCustomerId: { type: 'string', description: 'manager account the OAuth user acts through, sent as login-customer-id' },
    apiVersion: { type: 'string', description: `Google Ads API version (default ${GOOGLE_ADS_API_VERSION})` },
    tokenUrl: { type: 'url', description: `OAuth token endpoint (default ${GOOGLE_OAUTH_TOKEN_URL})` },
  },
  target: {
    userListId: { type: 'string', required: true, description: "numeric id of the Customer Match user list, as a string ('1234567890')" },
    consent: {
      type: 'object',
      description: `consent sent with every upload that adds people: { adUserData, adPersonalization }, each ${CONSENT_STATUSES.join(' | ')}`,
    },
  },
  identifiers: MEMBER_IDENTIFIERS,
  batchSize: { default: GOOGLE_DEFAULT_BATCH, max: GOOGLE_MAX_BATCH },
  // No per-second limit is documented for these services; quota refusals (429 RESOURCE_EXHAUSTED) carry a retryDelay that is honoured.
  rateLimit: undefined,
  concurrency: GOOGLE_CONCURRENCY,
  // `update` would need "change only people already in the list", which Customer Match cannot tell: an upload always adds.
  modes: ['mirror', 'upsert', 'add', 'remove'],
  // A rateLimit the user sets counts every Google Ads request (a batch makes at least three: create, addOperations, run).
  throttlesRequests: true,
  // A mirror's full refresh empties the list in its first job (removeAll).
  replacesOnFullRefresh: ['mirror'],
  connect(ctx: DestinationContext<GoogleCustomerMatchOptions>) {
    checkFields(ctx);
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

/** The OfflineUserDataJobService transport; a Data Manager API transport would be chosen here. */
function transportFor(ctx: DestinationContext<GoogleCustomerMatchOptions>, needTarget: boolean): CustomerMatchTransport {
  const s = readSettings(ctx, { needTarget });
  const who = `destination ${ctx.name}`;
  const tokens = new OAuthTokenSource({ tokenUrl: s.tokenUrl, clientId: s.clientId, clientSecret: s.clientSecret, refreshToken: s.refreshToken }, ctx.timeoutMs, who);
  const http = new GoogleAdsHttp({ baseUrl: s.baseUrl, apiVersion: s.apiVersion, loginCustomerId: s.loginCustomerId, developerToken: s.developerToken }, tokens, ctx.timeoutMs, who, ctx.throttle);
  return new OfflineUserDataJobTransport(http, { customerId: s.customerId, userListId: s.userListId, consent: s.consent }, who);
}

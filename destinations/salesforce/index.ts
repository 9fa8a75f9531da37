import { defineDestination, type Batch, type DestinationContext, type RowResult, type Secret, ConfigError } from '../../engine/destination/index.js';
import { OAuthSession } from './oauth-session.js';
import { SalesforceApi } from './salesforce-api.js';
import { sendSalesforceBatch } from './audience-batch.js';
import { salesforceSettings, type SalesforceTarget } from './target-settings.js';

/**
 * Rows per batch, and so per ingest job. Bulk API 2.0 bounds an upload by size
 * (100 MB of CSV, destinations/salesforce/README.md), not rows: bigger
 * uploads are split into further jobs. Salesforce processes a job in internal
 * batches of 10,000 records, each counted against the 15,000 batches per 24 h,
 * so the default fills exactly one; the maximum bounds the rows held in memory.
 */
export const SALESFORCE_DEFAULT_BATCH = 10_000;
export const SALESFORCE_MAX_BATCH = 100_000;
/** Default poll interval of a running job; tests use a few ms. */
export const SALESFORCE_DEFAULT_POLL_MS = 2_000;
/** How long one job may run before the batch is retried (the job is aborted first). */
export const SALESFORCE_DEFAULT_POLL_TIMEOUT_MS = 30 * 60_000;
export const SALESFORCE_DEFAULT_API_VERSION = '62.0';
export const SALESFORCE_LOGIN_URL = 'https://login.salesforce.com';

export interface SalesforceOptions {
  clientId: Secret;
  clientSecret?: Secret;
  refreshToken: Secret;
  accessToken?: Secret;
  instanceUrl?: string;
  loginUrl?: string;
  apiVersion?: string;
  pollIntervalMs?: number;
  pollTimeoutMs?: number;
}

export const salesforce = defineDestination<SalesforceOptions>({
  type: 'salesforce',
  description: 'Upserts Contacts, Leads or any object on an external id with Bulk API 2.0; removal clears an audience field or deletes CampaignMembers.',
  options: {
    clientId: { type: 'string', required: true, description: 'consumer key of the connected app' },
    clientSecret: { type: 'secret', description: "consumer secret of the connected app, e.g. env('SF_CLIENT_SECRET')" },
    refreshToken: { type: 'secret', required: true, description: "OAuth 2.0 refresh token of the integration user, e.g. env('SF_REFRESH_TOKEN')" },
    accessToken: { type: 'secret', description: 'access token to start with (refreshed when rejected); by default one is obtained with the refresh token' },
    instanceUrl: { type: 'url', description: 'https://<domain>.my.salesforce.com; by default the instance_url of the token response' },
    loginUrl: { type: 'url', description: `OAuth host (default ${SALESFORCE_LOGIN_URL}; https://test.salesforce.com for sandboxes)` },
    apiVersion: { type: 'string', description: `REST API version (default '${SALESFORCE_DEFAULT_API_VERSION}')` },
    pollIntervalMs: { type: 'number', description: `milliseconds between polls of a running ingest job (default ${SALESFORCE_DEFAULT_POLL_MS})` },
    pollTimeoutMs: { type: 'number', description: `longest wait for one ingest job before the batch is retried (default ${SALESFORCE_DEFAULT_POLL_TIMEOUT_MS})` },
  },
  target: {
    object: { type: 'string', description: "object to upsert (default 'Contact')" },
    externalIdField: { type: 'string', description: "external id field that holds the audsync record key (default 'Audsync_Key__c')" },
    removal: { type: 'enum', values: ['clearField', 'campaignMember'], description: "what leaving the audience does: 'clearField' (default) or 'campaignMember'" },
    audienceField: { type: 'string', description: 'clearField: field set on add and cleared on remove (e.g. a checkbox In_Audience__c); required when the mode removes' },
    audienceValue: { type: 'string', description: "clearField: value written on add (default 'true')" },
    clearedValue: { type: 'string', description: "clearField: value written on remove (default 'false' when audienceValue is 'true', else #N/A, i.e. null)" },
    campaignId: { type: 'string', description: 'campaignMember: the Campaign whose members are the audience' },
    campaignMemberStatus: { type: 'string', description: "campaignMember: Status of new members (default: the campaign's default status)" },
  },
  batchSize: { default: SALESFORCE_DEFAULT_BATCH, max: SALESFORCE_MAX_BATCH },
  // Salesforce documents daily allowances, not a request rate (150,000,000 records and 15,000
  // batches per 24 h): no per-second limit by default; going over them surfaces as
  // REQUEST_LIMIT_EXCEEDED, which is retried with backoff.
  rateLimit: undefined,
  // A rateLimit the user sets counts every API call: a batch is a Bulk API job of several calls and polls.
  throttlesRequests: true,
  // Parallel jobs on one object contend for record locks (UNABLE_TO_LOCK_ROW): keep few in flight.
  concurrency: 2,
  connect(ctx: DestinationContext<SalesforceOptions>) {
    const who = `destination ${ctx.name} (Salesforce)`;
    const o = ctx.options;
    const s = salesforceSettings(ctx.sync, ctx.target as SalesforceTarget, {
      intervalMs: checkedMs(o.pollIntervalMs, SALESFORCE_DEFAULT_POLL_MS, `destinations.${ctx.name}.pollIntervalMs`),
      timeoutMs: checkedMs(o.pollTimeoutMs, SALESFORCE_DEFAULT_POLL_TIMEOUT_MS, `destinations.${ctx.name}.pollTimeoutMs`),
    });
    const apiVersion = o.apiVersion ?? SALESFORCE_DEFAULT_API_VERSION;
    if (!/^\d+\.\d+$/.test(apiVersion)) throw new ConfigError(`destinations.${ctx.name}.apiVersion: must look like '${SALESFORCE_DEFAULT_API_VERSION}'`);
    // Options arrive with env() resolved by the engine.
    const session = new OAuthSession({
      tokenBase: ctx.baseUrl ?? o.loginUrl ?? SALESFORCE_LOGIN_URL,
      clientId: String(o.clientId),
      clientSecret: o.clientSecret === undefined ? undefined : String(o.clientSecret),
      refreshToken: String(o.refreshToken),
      accessToken: o.accessToken === undefined ? undefined : String(o.accessToken),
      apiBase: ctx.baseUrl ?? o.instanceUrl,
      timeoutMs: ctx.timeoutMs,
      who,
      onToken: (t) => ctx.registerSecret(t),
    });
    const api = new SalesforceApi(session, apiVersion, ctx.timeoutMs, who, ctx.throttle);
    return {
      sendBatch(batch: Batch): Promise<RowResult[]> {
        return sendSalesforceBatch(api, s, batch.operations);
      },
    };
  },
});

function checkedMs(v: number | undefined, fallback: number, at: string): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < 0) throw new ConfigError(`${at}: must be a number of milliseconds`);
  return v;
}

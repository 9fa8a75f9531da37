import { defineDestination, type Batch, type DestinationContext, type RowResult, ConfigError, type Secret } from '../../engine/destination/index.js';
import { HubSpotApi, HUBSPOT_API_HOST } from './hubspot-api.js';
import { HUBSPOT_MAX_UPSERT_INPUTS } from './contact-upsert.js';
import { updateContacts } from './contact-update.js';
import { HUBSPOT_DEFAULT_MEMBERSHIP_IDS, syncListBatch } from './list-sync.js';

/** Rows per batch: one batch is one upsert call, whose documented maximum is 100 inputs (destinations/hubspot/README.md). */
export const HUBSPOT_MAX_BATCH = HUBSPOT_MAX_UPSERT_INPUTS;
/**
 * Requests per second. HubSpot's burst limit is 100 to 200 requests per 10 s by
 * tier (destinations/hubspot/README.md): the lowest tier's 10/s. Every call
 * counts (upsert, read, update, list membership), through ctx.throttle.
 */
export const HUBSPOT_DEFAULT_RATE = 10;
/** The property HubSpot deduplicates contacts on. */
const DEFAULT_ID_PROPERTY = 'email';

interface HubSpotOptions {
  accessToken: Secret;
  membershipBatchSize?: number;
}

export const hubspot = defineDestination<HubSpotOptions>({
  type: 'hubspot',
  description: 'Upserts HubSpot contacts (CRM v3 batch upsert) and keeps a MANUAL or SNAPSHOT list equal to the audience.',
  options: {
    accessToken: { type: 'secret', required: true, description: "private app access token (scopes crm.objects.contacts.write, crm.lists.write), e.g. env('HUBSPOT_TOKEN')" },
    membershipBatchSize: { type: 'number', description: `record ids per list membership call (default ${HUBSPOT_DEFAULT_MEMBERSHIP_IDS}; HubSpot documents no maximum)` },
  },
  target: {
    listId: { type: 'string', description: 'id of the HubSpot list (processingType MANUAL or SNAPSHOT) that holds the audience; required except in update mode' },
    idProperty: { type: 'string', description: "unique contact property to upsert on, a mapped field (default 'email')" },
  },
  // Emails are matched by HubSpot as they are, so they are trimmed and lower-cased in the warehouse, never hashed.
  identifiers: { email: { kind: 'email', hash: false } },
  batchSize: { default: HUBSPOT_MAX_BATCH, max: HUBSPOT_MAX_BATCH },
  rateLimit: HUBSPOT_DEFAULT_RATE,
  throttlesRequests: true,
  concurrency: 2,
  connect(ctx: DestinationContext<HubSpotOptions>) {
    const who = `destination ${ctx.name} (HubSpot)`;
    const at = `syncs.${ctx.sync.name}.target`;
    const idProperty = stringSetting(ctx.target.idProperty, `${at}.idProperty`) ?? DEFAULT_ID_PROPERTY;
    const listId = stringSetting(ctx.target.listId, `${at}.listId`);
    if (!ctx.sync.fields.includes(idProperty)) {
      throw new ConfigError(`syncs.${ctx.sync.name}.fields: must map ${JSON.stringify(idProperty)}, the property ${who} identifies contacts by`, {
        hint: `Add ${idProperty}: '<column>' to fields, or set ${at}.idProperty to a unique property you map.`,
      });
    }
    if (listId === undefined && ctx.sync.mode !== 'update') {
      throw new ConfigError(`${at}.listId: is required for mode ${ctx.sync.mode} (the HubSpot list that holds the audience)`, {
        hint: 'Create a static (MANUAL) list in HubSpot and give its id as target.listId.',
      });
    }
    const membershipIds = ctx.options.membershipBatchSize ?? HUBSPOT_DEFAULT_MEMBERSHIP_IDS;
    if (!Number.isInteger(membershipIds) || membershipIds < 1) {
      throw new ConfigError(`destinations.${ctx.name}.membershipBatchSize: must be a whole number of at least 1`);
    }
    const api = new HubSpotApi(ctx.baseUrl ?? HUBSPOT_API_HOST, String(ctx.options.accessToken), ctx.timeoutMs, who, ctx.throttle);
    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        if (ctx.sync.mode === 'update') return updateContacts(api, batch.operations, idProperty);
        return syncListBatch(api, batch.operations, { listId: listId!, idProperty, membershipIds });
      },
    };
  },
});

/** A target setting given as a string (or a number, for ids), or undefined. */
function stringSetting(v: unknown, at: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  throw new ConfigError(`${at}: must be a string`);
}

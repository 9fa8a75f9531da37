import type { DestinationCatalog, DestinationDefinition } from '../engine/destination/index.js';

type Loader = () => Promise<DestinationDefinition<unknown>>;
const as = (d: unknown): DestinationDefinition<unknown> => d as DestinationDefinition<unknown>;

/**
 * Every built-in destination, by `type`, loaded on first use: a run imports only
 * the destinations its config names (all of them together cost ~50 ms of start-up).
 * Each key must equal its module's `type` (a test checks).
 */
export const BUILTIN_DESTINATION_LOADERS: Readonly<Record<string, Loader>> = {
  webhook: async () => as((await import('./webhook/index.js')).webhook),
  file: async () => as((await import('./file/index.js')).file),
  hubspot: async () => as((await import('./hubspot/index.js')).hubspot),
  braze: async () => as((await import('./braze/index.js')).braze),
  mailchimp: async () => as((await import('./mailchimp/index.js')).mailchimp),
  iterable: async () => as((await import('./iterable/index.js')).iterable),
  klaviyo: async () => as((await import('./klaviyo/index.js')).klaviyo),
  postgres_table: async () => as((await import('./postgres-table/index.js')).postgresTable),
  salesforce: async () => as((await import('./salesforce/index.js')).salesforce),
  meta_custom_audiences: async () => as((await import('./meta-custom-audiences/index.js')).metaCustomAudiences),
  google_customer_match: async () => as((await import('./google-customer-match/index.js')).googleCustomerMatch),
};

/** The built-in destinations among `types` (unknown names are left to config validation to report). */
export async function loadBuiltinDestinations(types: Iterable<string>): Promise<Record<string, DestinationDefinition<unknown>>> {
  const out: Record<string, DestinationDefinition<unknown>> = {};
  for (const type of new Set(types)) {
    const load = Object.hasOwn(BUILTIN_DESTINATION_LOADERS, type) ? BUILTIN_DESTINATION_LOADERS[type] : undefined;
    if (load) out[type] = await load();
  }
  return out;
}

/** The built-in destinations as the catalog the CLI hands to the engine. */
export const BUILTIN_DESTINATIONS: DestinationCatalog = { types: Object.keys(BUILTIN_DESTINATION_LOADERS), load: loadBuiltinDestinations };

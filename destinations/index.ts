import type { DestinationDefinition } from '../engine/destination/destination-api.js';
import { webhook } from './webhook/index.js';
import { file } from './file/index.js';
import { hubspot } from './hubspot/index.js';
import { braze } from './braze/index.js';
import { mailchimp } from './mailchimp/index.js';
import { iterable } from './iterable/index.js';
import { klaviyo } from './klaviyo/index.js';
import { postgresTable } from './postgres-table/index.js';
import { salesforce } from './salesforce/index.js';
import { metaCustomAudiences } from './meta-custom-audiences/index.js';
import { googleCustomerMatch } from './google-customer-match/index.js';

/** Every built-in destination, by `type`. */
export const BUILTIN_DESTINATIONS: Readonly<Record<string, DestinationDefinition<unknown>>> = {
  [webhook.type]: webhook as DestinationDefinition<unknown>,
  [file.type]: file as DestinationDefinition<unknown>,
  [hubspot.type]: hubspot as DestinationDefinition<unknown>,
  [braze.type]: braze as DestinationDefinition<unknown>,
  [mailchimp.type]: mailchimp as DestinationDefinition<unknown>,
  [iterable.type]: iterable as DestinationDefinition<unknown>,
  [klaviyo.type]: klaviyo as DestinationDefinition<unknown>,
  [postgresTable.type]: postgresTable as DestinationDefinition<unknown>,
  [salesforce.type]: salesforce as DestinationDefinition<unknown>,
  [metaCustomAudiences.type]: metaCustomAudiences as DestinationDefinition<unknown>,
  [googleCustomerMatch.type]: googleCustomerMatch as DestinationDefinition<unknown>,
};

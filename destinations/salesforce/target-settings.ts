import { ConfigError, type DestinationContext } from '../../engine/destination/index.js';
import type { PollSettings } from './ingest-job.js';
import type { Removal, SalesforceSyncSettings } from './sync-settings.js';
import { BULK_NULL } from './bulk-csv.js';

/** A sync's `target` as written in the config (validated for types by the engine). */
export interface SalesforceTarget {
  object?: string;
  externalIdField?: string;
  removal?: Removal;
  audienceField?: string;
  audienceValue?: string;
  clearedValue?: string;
  campaignId?: string;
  campaignMemberStatus?: string;
}

const DEFAULT_OBJECT = 'Contact';
/** The external id field name used in destinations/salesforce/README.md. */
const DEFAULT_EXTERNAL_ID = 'Audsync_Key__c';
/** API names go into SOQL and CSV headers: letters, digits, underscores. */
const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** A 15- or 18-character Salesforce record id. */
const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** Checks a sync's target against its mode and fields; every problem names its config path. */
export function salesforceSettings(sync: DestinationContext<unknown>['sync'], t: SalesforceTarget, poll: PollSettings): SalesforceSyncSettings {
  const at = `syncs.${sync.name}.target`;
  const object = t.object ?? DEFAULT_OBJECT;
  const externalIdField = t.externalIdField ?? DEFAULT_EXTERNAL_ID;
  const removal: Removal = t.removal ?? 'clearField';
  const apiName = (v: string | undefined, where: string): void => {
    if (v !== undefined && !API_NAME.test(v)) throw new ConfigError(`${where}: ${JSON.stringify(v)} is not a Salesforce API name`);
  };
  apiName(object, `${at}.object`);
  apiName(externalIdField, `${at}.externalIdField`);
  apiName(t.audienceField, `${at}.audienceField`);
  for (const f of sync.fields) apiName(f, `syncs.${sync.name}.fields.${f}`);
  if (sync.fields.includes(externalIdField)) {
    throw new ConfigError(`syncs.${sync.name}.fields.${externalIdField}: the external id field is filled with the sync's key; do not map it`);
  }
  if (t.audienceField !== undefined && sync.fields.includes(t.audienceField)) {
    throw new ConfigError(`syncs.${sync.name}.fields.${t.audienceField}: is the audienceField, which audsync sets itself; do not map it`);
  }
  const removes = sync.mode === 'mirror' || sync.mode === 'remove';
  let campaign: SalesforceSyncSettings['campaign'];
  if (removal === 'campaignMember') {
    if (t.campaignId === undefined || !RECORD_ID.test(t.campaignId)) {
      throw new ConfigError(`${at}.campaignId: removal 'campaignMember' needs the 15- or 18-character Id of the Campaign`);
    }
    if (object !== 'Contact' && object !== 'Lead') throw new ConfigError(`${at}.object: removal 'campaignMember' works with Contact or Lead, not ${object}`);
    if (t.audienceField !== undefined) throw new ConfigError(`${at}.audienceField: applies to removal 'clearField' only`);
    campaign = { campaignId: t.campaignId, status: t.campaignMemberStatus, memberField: object === 'Lead' ? 'LeadId' : 'ContactId' };
  } else if (removes && t.audienceField === undefined) {
    throw new ConfigError(`${at}.audienceField: mode ${sync.mode} removes members, and removal 'clearField' needs the field to clear`, {
      hint: "Name a checkbox such as In_Audience__c, or set removal: 'campaignMember' with a campaignId.",
    });
  }
  const audienceValue = t.audienceValue ?? 'true';
  return {
    mode: sync.mode,
    object,
    externalIdField,
    fields: sync.fields,
    removal,
    audienceField: removal === 'clearField' ? t.audienceField : undefined,
    audienceValue,
    clearedValue: t.clearedValue ?? (audienceValue === 'true' ? 'false' : BULK_NULL),
    campaign,
    poll,
  };
}

import type { SyncMode } from '../../engine/destination/index.js';
import type { PollSettings } from './ingest-job.js';

/** How leaving the audience shows in Salesforce. */
export type Removal = 'clearField' | 'campaignMember';

export interface CampaignSettings {
  readonly campaignId: string;
  /** CampaignMember.Status for new members; the campaign's default when undefined. */
  readonly status: string | undefined;
  /** The CampaignMember field pointing at the record: ContactId or LeadId. */
  readonly memberField: 'ContactId' | 'LeadId';
}

/** Everything a batch needs to know about the sync, checked once at connect. */
export interface SalesforceSyncSettings {
  readonly mode: SyncMode;
  readonly object: string;
  /** External id field holding the audsync record key. */
  readonly externalIdField: string;
  /** Mapped fields written to the object (the external id field excluded). */
  readonly fields: readonly string[];
  readonly removal: Removal;
  /** clearField: the field set to audienceValue on add and to clearedValue on remove. */
  readonly audienceField: string | undefined;
  readonly audienceValue: string;
  readonly clearedValue: string;
  readonly campaign: CampaignSettings | undefined;
  readonly poll: PollSettings;
}

/** Key prefix of CampaignMember record ids (every Salesforce id starts with its object's prefix). */
export const CAMPAIGN_MEMBER_PREFIX = '00v';

/**
 * The stored destination_record_id, when it is the kind this sync needs: a
 * CampaignMember id when removal is campaignMember, the record's own id
 * otherwise. An id of the other kind (the removal option changed) is ignored
 * and looked up again.
 */
export function storedId(id: string | null, wantCampaignMember: boolean): string | undefined {
  if (!id) return undefined;
  return id.startsWith(CAMPAIGN_MEMBER_PREFIX) === wantCampaignMember ? id : undefined;
}

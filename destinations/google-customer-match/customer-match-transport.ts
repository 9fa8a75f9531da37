import type { JobUpdate, JsonValue, PendingJob } from '../../engine/destination/index.js';
import type { CustomerMatchMember } from './customer-match-member.js';

/** Add people to the list, or take them off it. */
export type UploadKind = 'create' | 'remove';

/**
 * What became of one member of an upload, by position: accepted into the
 * upload, refused by the platform (the row is rejected), or not known to be in
 * (`unconfirmed`: the row counts as failed and is sent again next run).
 */
export type MemberOutcome = { accepted: true } | { accepted: false; code: string; message: string; unconfirmed?: boolean };

export interface UploadResult {
  /** One per member given to `upload`, in the same order. */
  readonly outcomes: readonly MemberOutcome[];
  /**
   * The asynchronous work that applies the accepted members, when any was
   * started: its id is recorded (destination_jobs) and asked about later through
   * `jobStatuses`. Undefined when nothing was submitted (every member refused).
   */
  readonly job?: { readonly id: string; readonly detail: Readonly<Record<string, JsonValue>> };
}

/**
 * How members reach a Customer Match list. The connector (index.ts) builds
 * members, splits a batch by kind and maps outcomes back to rows; a transport
 * only carries one upload of one kind and reports per member. Two exist or are
 * planned: OfflineUserDataJobService of the Google Ads API (this folder), and
 * Google's Data Manager API (`audienceMembers:ingest` / `:remove`), which a
 * second class implementing this interface would add without touching the rest.
 */
export interface CustomerMatchTransport {
  /** Whether `upload` can empty the list before adding (`replaceAll`), which a full refresh uses. */
  readonly canReplaceAll: boolean;
  /**
   * Uploads members of one kind; never mixes kinds. With `replaceAll` (create
   * only), the list is emptied first, in the same unit of work, so the upload
   * replaces it. Throws a DestinationError for trouble with the whole upload
   * (retryable when trying again may help).
   */
  upload(kind: UploadKind, members: readonly CustomerMatchMember[], opts: { readonly replaceAll: boolean }): Promise<UploadResult>;
  /** The state of jobs recorded by earlier uploads; jobs it cannot tell about yet are left out. */
  jobStatuses(jobs: readonly PendingJob[]): Promise<JobUpdate[]>;
}

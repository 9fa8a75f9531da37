import { DestinationError, type JobUpdate, type JsonValue, type PendingJob } from '../../engine/destination/index.js';
import type { CustomerMatchMember } from './customer-match-member.js';
import { countIdentifiers } from './customer-match-member.js';
import type { CustomerMatchTransport, MemberOutcome, UploadKind, UploadResult } from './customer-match-transport.js';
import { GoogleRequestRefused, type GoogleAdsHttp } from './google-ads-http.js';
import { partialFailureErrors } from './google-failure.js';
import { GOOGLE_IDENTIFIERS_PER_REQUEST, GOOGLE_MAX_IDENTIFIERS_PER_REQUEST, JOB_STATUS_QUERY_CHUNK } from './google-limits.js';
import type { Consent } from './google-settings.js';

export interface JobTransportSettings {
  /** Digits only. */
  readonly customerId: string;
  readonly userListId: string;
  /** Sent in the metadata of create jobs; Google requires it there and not for removals. */
  readonly consent: Consent | undefined;
}

type WireOperation = { create: WireUserData } | { remove: WireUserData } | { removeAll: true };
interface WireUserData {
  userIdentifiers: Array<Record<string, JsonValue>>;
}

const JOB_RESOURCE = /^customers\/(\d+)\/offlineUserDataJobs\/(\d+)$/;

/**
 * Customer Match through the Google Ads API's OfflineUserDataJobService (fact
 * file): per upload, `offlineUserDataJobs:create` (type CUSTOMER_MATCH_USER_LIST
 * with the list and consent), one or more `:addOperations` with partial failure
 * enabled, then `:run`. The job finishes hours later; its state is read with a
 * GAQL query (`googleAds:search`), because the service has no Get method: "the
 * processing results of the job can only be read using
 * GoogleAdsService.Search/SearchStream" (reference, OfflineUserDataJob).
 */
export class OfflineUserDataJobTransport implements CustomerMatchTransport {
  readonly canReplaceAll = true;

  constructor(
    private readonly http: GoogleAdsHttp,
    private readonly s: JobTransportSettings,
    private readonly who: string,
  ) {}

  private get userList(): string {
    return `customers/${this.s.customerId}/userLists/${this.s.userListId}`;
  }

  async upload(kind: UploadKind, members: readonly CustomerMatchMember[], opts: { readonly replaceAll: boolean }): Promise<UploadResult> {
    if (opts.replaceAll && kind !== 'create') throw new Error('replaceAll goes with a create upload');
    const job = await this.createJob(kind);
    const outcomes: MemberOutcome[] = members.map(() => ({ accepted: true }));
    // removeAll must be the job's first operation (fact file); it takes a place in the first request's indexes.
    const ops: Array<{ op: WireOperation; member: number | null; identifiers: number }> = [];
    if (opts.replaceAll) ops.push({ op: { removeAll: true }, member: null, identifiers: 0 });
    members.forEach((m, i) => ops.push({ op: kind === 'create' ? { create: toUserData(m) } : { remove: toUserData(m) }, member: i, identifiers: countIdentifiers(m) }));
    for (const chunk of chunksByIdentifiers(ops)) {
      let response: Record<string, unknown>;
      try {
        response = await this.http.post(`${job}:addOperations`, { operations: chunk.map((c) => c.op), enablePartialFailure: true });
      } catch (e) {
        // The whole request refused (e.g. TOO_MANY_USER_IDENTIFIERS): its members are refused, other requests stand.
        if (!(e instanceof GoogleRequestRefused) || chunk.some((c) => c.member === null)) throw e;
        const first = e.failure.errors[0];
        for (const c of chunk) outcomes[c.member!] = { accepted: false, code: e.code ?? 'INVALID_ARGUMENT', message: first?.message || e.message };
        continue;
      }
      for (const err of partialFailureErrors(response.partialFailureError)) {
        const c = err.operationIndex === undefined ? undefined : chunk[err.operationIndex];
        if (!c) continue;
        if (c.member === null) throw new DestinationError(`${this.who}: Google Ads refused removeAll (${err.code}: ${err.message}); the list was not replaced`, { retryable: false, code: err.code });
        outcomes[c.member] = { accepted: false, code: err.code, message: err.message || err.code };
      }
      if (response.partialFailureError !== undefined && !partialFailureErrors(response.partialFailureError).some((e) => e.operationIndex !== undefined)) {
        // A partial failure that names no operation cannot be placed: none of the chunk is known to be in.
        for (const c of chunk) {
          if (c.member !== null) outcomes[c.member] = { accepted: false, unconfirmed: true, code: 'UNLOCATED_PARTIAL_FAILURE', message: describePartial(response.partialFailureError) };
        }
      }
    }
    const accepted = outcomes.filter((o) => o.accepted).length;
    if (accepted === 0 && !opts.replaceAll) return { outcomes };
    await this.http.post(`${job}:run`, {});
    const detail: Record<string, JsonValue> = { userListId: this.s.userListId, operation: kind, rows: accepted };
    if (opts.replaceAll) detail.removeAll = true;
    return { outcomes, job: { id: job, detail } };
  }

  async jobStatuses(jobs: readonly PendingJob[]): Promise<JobUpdate[]> {
    const byCustomer = new Map<string, PendingJob[]>();
    for (const j of jobs) {
      const m = JOB_RESOURCE.exec(j.jobId);
      if (!m) continue;
      const list = byCustomer.get(m[1]!) ?? [];
      list.push(j);
      byCustomer.set(m[1]!, list);
    }
    const updates: JobUpdate[] = [];
    for (const [customerId, list] of byCustomer) {
      for (let i = 0; i < list.length; i += JOB_STATUS_QUERY_CHUNK) {
        const chunk = list.slice(i, i + JOB_STATUS_QUERY_CHUNK);
        const found = await this.searchJobs(customerId, chunk.map((j) => j.jobId));
        for (const j of chunk) {
          const row = found.get(j.jobId);
          if (row) updates.push(toUpdate(j, row));
        }
      }
    }
    return updates;
  }

  private async createJob(kind: UploadKind): Promise<string> {
    const metadata: Record<string, JsonValue> = { userList: this.userList };
    if (kind === 'create' && this.s.consent) metadata.consent = { ...this.s.consent };
    const res = await this.http.post(`customers/${this.s.customerId}/offlineUserDataJobs:create`, {
      job: { type: 'CUSTOMER_MATCH_USER_LIST', customerMatchUserListMetadata: metadata },
    });
    const name = res.resourceName;
    if (typeof name !== 'string' || !JOB_RESOURCE.test(name)) {
      throw new DestinationError(`${this.who}: Google Ads created a job but its answer names none (${JSON.stringify(res).slice(0, 200)})`, { retryable: true, code: 'bad_response' });
    }
    return name;
  }

  private async searchJobs(customerId: string, resourceNames: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const query = [
      'SELECT offline_user_data_job.resource_name, offline_user_data_job.status, offline_user_data_job.failure_reason,',
      'offline_user_data_job.customer_match_user_list_metadata.user_list, offline_user_data_job.operation_metadata.match_rate_range',
      'FROM offline_user_data_job',
      `WHERE offline_user_data_job.resource_name IN (${resourceNames.map((n) => `'${n}'`).join(', ')})`,
    ].join(' ');
    const found = new Map<string, Record<string, unknown>>();
    let pageToken: string | undefined;
    do {
      const res = await this.http.post(`customers/${customerId}/googleAds:search`, pageToken ? { query, pageToken } : { query });
      for (const r of Array.isArray(res.results) ? res.results : []) {
        const job = isObject(r) && isObject(r.offlineUserDataJob) ? r.offlineUserDataJob : undefined;
        if (job && typeof job.resourceName === 'string') found.set(job.resourceName, job);
      }
      pageToken = typeof res.nextPageToken === 'string' && res.nextPageToken !== '' ? res.nextPageToken : undefined;
    } while (pageToken);
    return found;
  }
}

function toUserData(m: CustomerMatchMember): WireUserData {
  const ids: Array<Record<string, JsonValue>> = [];
  if (m.hashedEmail) ids.push({ hashedEmail: m.hashedEmail });
  if (m.hashedPhoneNumber) ids.push({ hashedPhoneNumber: m.hashedPhoneNumber });
  if (m.address) ids.push({ addressInfo: { ...m.address } });
  if (m.mobileId) ids.push({ mobileId: m.mobileId });
  if (m.thirdPartyUserId) ids.push({ thirdPartyUserId: m.thirdPartyUserId });
  return { userIdentifiers: ids };
}

/** Consecutive operations whose identifiers add up to at most GOOGLE_IDENTIFIERS_PER_REQUEST (one operation at least). */
function chunksByIdentifiers<T extends { identifiers: number }>(ops: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let sum = 0;
  for (const op of ops) {
    if (current.length > 0 && sum + op.identifiers > GOOGLE_IDENTIFIERS_PER_REQUEST) {
      out.push(current);
      current = [];
      sum = 0;
    }
    current.push(op);
    sum += op.identifiers;
  }
  if (current.length > 0) out.push(current);
  // A single person holds at most 20 identifiers, so no chunk can pass the hard ceiling; say so if that ever changes.
  if (out.some((c) => c.reduce((n, o) => n + o.identifiers, 0) > GOOGLE_MAX_IDENTIFIERS_PER_REQUEST)) throw new Error('addOperations request above the identifier ceiling');
  return out;
}

function toUpdate(job: PendingJob, row: Record<string, unknown>): JobUpdate {
  const status = typeof row.status === 'string' ? row.status : 'UNKNOWN';
  const detail: Record<string, JsonValue> = isObject(job.detail) ? { ...(job.detail as Record<string, JsonValue>) } : {};
  detail.status = status;
  if (typeof row.failureReason === 'string') detail.failureReason = row.failureReason;
  const operationMetadata = isObject(row.operationMetadata) ? (row.operationMetadata as Record<string, JsonValue>) : undefined;
  if (operationMetadata) {
    detail.operationMetadata = operationMetadata;
    if (typeof operationMetadata.matchRateRange === 'string') detail.matchRateRange = operationMetadata.matchRateRange;
  }
  if (isObject(row.customerMatchUserListMetadata)) detail.customerMatchUserListMetadata = row.customerMatchUserListMetadata as Record<string, JsonValue>;
  const mapped = status === 'SUCCESS' ? 'succeeded' : status === 'FAILED' ? 'failed' : 'pending';
  return { jobId: job.jobId, status: mapped, detail };
}

function describePartial(pfe: unknown): string {
  const message = isObject(pfe) && typeof pfe.message === 'string' ? pfe.message : 'partial failure without a location';
  return `Google Ads reported a partial failure without naming the operation: ${message}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

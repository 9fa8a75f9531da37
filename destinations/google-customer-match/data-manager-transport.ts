import { DestinationError, type JobUpdate, type JsonValue, type PendingJob } from '../../engine/destination/index.js';
import type { CustomerMatchMember, MemberConsent } from './customer-match-member.js';
import type { CustomerMatchTransport, MemberOutcome, UploadKind, UploadResult } from './customer-match-transport.js';
import { DataManagerRefusal, type DataManagerHttp } from './data-manager-http.js';
import { DM_MAX_MEMBERS_PER_REQUEST, DM_REFUSAL_ROUNDS } from './data-manager-limits.js';
import { describeDestination, type DataManagerTarget } from './data-manager-target.js';
import type { Consent } from './google-settings.js';

export interface DataManagerTransportSettings {
  readonly target: DataManagerTarget;
  /** Sent as termsOfService on ingests: the user said the Customer Match terms were accepted. */
  readonly acceptTerms: boolean;
}

/** Marks the jobs this transport recorded, so a refresh asks only about its own request ids. */
const TRANSPORT_TAG = 'dataManager';

/** What to do about request-level refusals (they come from the config or the accounts, so every batch would hit them). */
const REFUSAL_HINTS: Record<string, string> = {
  TERMS_AND_CONDITIONS_NOT_SIGNED:
    'Uploads to Customer Match lists need the Customer Match terms of service (support.google.com/adspolicy/answer/6299717) accepted for the operating account: once they are, set acceptCustomerMatchTerms: true on the destination.',
  INVALID_DESTINATION: "Check the sync's target.destinations: each account id and list or audience id, and that the audience is a Customer Match (first-party) audience of that account.",
  INVALID_USER_LIST_ID: "Check the sync's target.destinations: the userListId / audienceId must be a Customer Match list of its account.",
  INVALID_USER_LIST_TYPE: "Check the sync's target.destinations: the list must be a Customer Match (contact information) list.",
  NOT_FOUND: "Check the sync's target.destinations: an account or audience was not found.",
  DATA_PARTNER_USER_LIST_MUTATE_NOT_ALLOWED: "Check the sync's target.destinations: the login account cannot change lists the operating account owns.",
};

/**
 * Customer Match through the Data Manager API: `audienceMembers:ingest` and
 * `audienceMembers:remove` (reference/rest/v1/audienceMembers), one request per
 * upload, every destination of the sync's target in the same request. A request
 * is validated whole: a member Google refuses (400 with a BadRequest field
 * violation on `audience_members[i]`) fails the request, nothing is applied, so
 * that member is rejected with Google's reason and the others are sent again
 * without it. An accepted request answers a `requestId`; Google processes it
 * later, and `requestStatus:retrieve` tells how it went, per destination.
 */
export class DataManagerTransport implements CustomerMatchTransport {
  /** The API has no equivalent of removeAll: a full refresh re-sends and removes explicitly. */
  readonly canReplaceAll = false;

  constructor(
    private readonly http: DataManagerHttp,
    private readonly s: DataManagerTransportSettings,
    private readonly who: string,
  ) {}

  async upload(kind: UploadKind, members: readonly CustomerMatchMember[], opts: { readonly replaceAll: boolean }): Promise<UploadResult> {
    if (opts.replaceAll) throw new Error('the Data Manager API cannot replace a list');
    if (members.length > DM_MAX_MEMBERS_PER_REQUEST) throw new Error(`an upload of ${members.length} members is above the request limit`);
    const outcomes: MemberOutcome[] = members.map(() => ({ accepted: true }));
    /** Positions (in `members`) still to send. */
    let pending = members.map((_, i) => i);
    for (let round = 1; pending.length > 0; round++) {
      if (round > DM_REFUSAL_ROUNDS) {
        for (const i of pending) outcomes[i] = { accepted: false, unconfirmed: true, code: 'NOT_SENT', message: `not sent: Google kept refusing other members of its request (${DM_REFUSAL_ROUNDS} rounds)` };
        return { outcomes };
      }
      let res: Record<string, unknown>;
      try {
        res = await this.http.call('POST', kind === 'create' ? 'audienceMembers:ingest' : 'audienceMembers:remove', this.body(kind, pending.map((i) => members[i]!)));
      } catch (e) {
        if (!(e instanceof DataManagerRefusal)) throw e;
        const located = e.failure.violations.filter((v) => v.memberIndex !== undefined && v.memberIndex < pending.length);
        if (located.length === 0) throw this.requestRefused(e);
        const refused = new Set<number>();
        for (const v of located) {
          const at = pending[v.memberIndex!]!;
          if (refused.has(at)) continue;
          refused.add(at);
          outcomes[at] = { accepted: false, code: v.reason, message: v.description ? `${v.reason}: ${v.description}` : v.reason };
        }
        pending = pending.filter((i) => !refused.has(i));
        continue;
      }
      const requestId = res.requestId;
      if (typeof requestId !== 'string' || requestId.trim() === '' || requestId.length > 200) {
        // Sent again whole: ingest and remove are set operations, so a repeat does no harm.
        throw new DestinationError(`${this.who}: the Data Manager API accepted a request but its answer names no requestId (${JSON.stringify(res).slice(0, 200)})`, { retryable: true, code: 'bad_response' });
      }
      const detail: Record<string, JsonValue> = {
        transport: TRANSPORT_TAG,
        operation: kind === 'create' ? 'ingest' : 'remove',
        rows: pending.length,
        destinations: this.s.target.destinations.map(describeDestination),
      };
      return { outcomes, job: { id: requestId, detail } };
    }
    return { outcomes };
  }

  async jobStatuses(jobs: readonly PendingJob[]): Promise<JobUpdate[]> {
    const updates: JobUpdate[] = [];
    for (const job of jobs) {
      const detail = isObject(job.detail) ? (job.detail as Record<string, JsonValue>) : {};
      if (detail.transport !== TRANSPORT_TAG) continue;
      let res: Record<string, unknown>;
      try {
        res = await this.http.call('GET', `requestStatus:retrieve?requestId=${encodeURIComponent(job.jobId)}`);
      } catch (e) {
        // Google no longer knows the request: nothing says it was applied, so its rows go again (a repeat is harmless).
        if (e instanceof DataManagerRefusal && (e.failure.httpStatus === 404 || e.failure.status === 'NOT_FOUND')) {
          updates.push({ jobId: job.jobId, status: 'failed', detail: { ...detail, requestStatus: 'NOT_FOUND' } });
          continue;
        }
        // Quota or a passing outage: keep what was learnt; the other requests are asked about next time.
        if (e instanceof DestinationError && e.retryable && updates.length > 0) return updates;
        throw e;
      }
      const update = toUpdate(job.jobId, detail, res);
      if (update) updates.push(update);
    }
    return updates;
  }

  private body(kind: UploadKind, members: readonly CustomerMatchMember[]): Record<string, JsonValue> {
    const body: Record<string, JsonValue> = {
      destinations: this.s.target.destinations.map((d) => ({ ...d }) as unknown as JsonValue),
      audienceMembers: members.map((m) => toAudienceMember(m, kind === 'create')),
      // The warehouse writes SHA-256 as lowercase hex.
      encoding: 'HEX',
    };
    if (kind === 'create') {
      const consent = this.s.target.consent ? wireConsent(this.s.target.consent) : undefined;
      if (consent) body.consent = consent;
      if (this.s.acceptTerms) body.termsOfService = { customerMatchTermsOfServiceStatus: 'ACCEPTED' };
    }
    return body;
  }

  private requestRefused(e: DataManagerRefusal): DestinationError {
    const reason = [...e.failure.reasons, ...e.failure.violations.map((v) => v.reason), e.failure.status ?? ''].find((r) => REFUSAL_HINTS[r] !== undefined);
    return new DestinationError(e.message, {
      retryable: false,
      code: reason ?? e.code,
      hint: reason ? `${REFUSAL_HINTS[reason]} (${this.who})` : `The refusal names no audience member, so it is about the request itself: check the destination's options and the sync's target (${this.who}).`,
    });
  }
}

function toAudienceMember(m: CustomerMatchMember, withConsent: boolean): JsonValue {
  const ids: JsonValue[] = [];
  if (m.hashedEmail) ids.push({ emailAddress: m.hashedEmail });
  if (m.hashedPhoneNumber) ids.push({ phoneNumber: m.hashedPhoneNumber });
  if (m.address) ids.push({ address: { givenName: m.address.hashedFirstName, familyName: m.address.hashedLastName, regionCode: m.address.countryCode, postalCode: m.address.postalCode } });
  const member: Record<string, JsonValue> = { userData: { userIdentifiers: ids } };
  const consent = withConsent && m.consent ? wireConsent(m.consent) : undefined;
  if (consent) member.consent = consent;
  return member;
}

/** Consent as the API spells it (reference, Consent: CONSENT_GRANTED, CONSENT_DENIED, CONSENT_STATUS_UNSPECIFIED). */
function wireConsent(c: MemberConsent | Consent): JsonValue | undefined {
  const spell = (v: string): string => (v === 'UNSPECIFIED' ? 'CONSENT_STATUS_UNSPECIFIED' : `CONSENT_${v}`);
  const out: Record<string, JsonValue> = {};
  if (c.adUserData) out.adUserData = spell(c.adUserData);
  if (c.adPersonalization) out.adPersonalization = spell(c.adPersonalization);
  return Object.keys(out).length > 0 ? out : undefined;
}

const FINAL = new Set(['SUCCESS', 'PARTIAL_SUCCESS', 'FAILED']);

/**
 * A request's state from its per-destination statuses (reference, requestStatus:
 * "the order of the statuses matches the order of the destinations"): failed
 * once any destination FAILED, so its rows are sent again to all (a repeat is
 * harmless); succeeded when every destination finished with SUCCESS or
 * PARTIAL_SUCCESS; otherwise still pending (undefined: asked again later).
 */
function toUpdate(jobId: string, recorded: Record<string, JsonValue>, res: Record<string, unknown>): JobUpdate | undefined {
  const list = Array.isArray(res.requestStatusPerDestination) ? res.requestStatusPerDestination.filter(isObject) : [];
  if (list.length === 0) return undefined;
  const statuses = list.map((d) => (typeof d.requestStatus === 'string' ? d.requestStatus : 'REQUEST_STATUS_UNKNOWN'));
  const failed = statuses.includes('FAILED');
  if (!failed && !statuses.every((s) => FINAL.has(s))) return undefined;
  const overall = failed ? 'FAILED' : statuses.includes('PARTIAL_SUCCESS') ? 'PARTIAL_SUCCESS' : 'SUCCESS';
  const detail: Record<string, JsonValue> = { ...recorded, requestStatus: overall, perDestination: list.map(destinationStatus) };
  return { jobId, status: failed ? 'failed' : 'succeeded', detail };
}

/** What one destination's status says, read field by field (never copied whole: only known fields reach the warehouse). */
function destinationStatus(d: Record<string, unknown>): JsonValue {
  const out: Record<string, JsonValue> = { requestStatus: typeof d.requestStatus === 'string' ? d.requestStatus : 'REQUEST_STATUS_UNKNOWN' };
  const dest = isObject(d.destination) ? d.destination : undefined;
  const op = dest && isObject(dest.operatingAccount) ? dest.operatingAccount : undefined;
  if (op && typeof op.accountId === 'string') out.accountId = op.accountId;
  if (op && typeof op.accountType === 'string') out.accountType = op.accountType;
  if (dest && typeof dest.productDestinationId === 'string') out.productDestinationId = dest.productDestinationId;
  const ingest = isObject(d.audienceMembersIngestionStatus) && isObject(d.audienceMembersIngestionStatus.userDataIngestionStatus) ? d.audienceMembersIngestionStatus.userDataIngestionStatus : undefined;
  const removal = isObject(d.audienceMembersRemovalStatus) && isObject(d.audienceMembersRemovalStatus.userDataRemovalStatus) ? d.audienceMembersRemovalStatus.userDataRemovalStatus : undefined;
  const counts = ingest ?? removal;
  if (counts) {
    const records = count(counts.recordCount);
    const identifiers = count(counts.userIdentifierCount);
    if (records !== undefined) out.recordCount = records;
    if (identifiers !== undefined) out.userIdentifierCount = identifiers;
    if (typeof counts.uploadMatchRateRange === 'string') out.matchRateRange = counts.uploadMatchRateRange;
  }
  const errors = reasonCounts(isObject(d.errorInfo) ? d.errorInfo.errorCounts : undefined);
  if (errors.length > 0) out.errors = errors;
  const warnings = reasonCounts(isObject(d.warningInfo) ? d.warningInfo.warningCounts : undefined);
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

function reasonCounts(v: unknown): JsonValue[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).slice(0, 50).map((c) => ({ reason: typeof c.reason === 'string' ? c.reason.slice(0, 100) : 'UNKNOWN', recordCount: count(c.recordCount) ?? 0 }));
}

/** int64 fields arrive as JSON strings. */
function count(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  return n;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

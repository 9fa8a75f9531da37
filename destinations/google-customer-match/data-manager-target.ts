import type { JsonValue, ValidationProblem } from '../../engine/destination/index.js';
import { CONSENT_STATUSES, type Consent } from './google-settings.js';
import { DM_MAX_DESTINATIONS_PER_REQUEST } from './data-manager-limits.js';

/** Account types of the Data Manager API's ProductAccount (reference, Destination: AccountType). */
export type DmAccountType = 'GOOGLE_ADS' | 'DISPLAY_VIDEO_ADVERTISER' | 'DISPLAY_VIDEO_PARTNER';

/** One Destination of a request, as the API takes it. */
export interface DmDestination {
  readonly operatingAccount: { readonly accountType: DmAccountType; readonly accountId: string };
  readonly loginAccount?: { readonly accountType: DmAccountType; readonly accountId: string };
  /** The Customer Match list (Google Ads) or first-party audience (Display & Video 360). */
  readonly productDestinationId: string;
}

/** What a sync's target says under the dataManager transport. */
export interface DataManagerTarget {
  readonly destinations: readonly DmDestination[];
  /** Sent as the request-level consent of ingests; a member's own consent columns override it. */
  readonly consent: Consent | undefined;
}

/** The kinds of `target.destinations[]` entries and their keys: id key of the account, of the audience, of the login account. */
const KINDS = {
  googleAds: { account: 'accountId', audience: 'userListId', login: 'loginAccountId', accountType: 'GOOGLE_ADS', loginType: 'GOOGLE_ADS' },
  displayVideo: { account: 'advertiserId', audience: 'audienceId', login: 'loginPartnerId', accountType: 'DISPLAY_VIDEO_ADVERTISER', loginType: 'DISPLAY_VIDEO_PARTNER' },
} as const;
type Kind = keyof typeof KINDS;

export const TARGET_EXAMPLE =
  "target: { destinations: [{ type: 'googleAds', accountId: '123-456-7890', userListId: '555' }, { type: 'displayVideo', advertiserId: '1234567', audienceId: '7654321' }] }";

/** Reads `target` for the dataManager transport; every mistake is a problem naming its path (`at` is `syncs.<name>.target`). */
export function parseDataManagerTarget(target: Readonly<Record<string, unknown>>, at: string): { value: DataManagerTarget | undefined; problems: ValidationProblem[] } {
  const problems: ValidationProblem[] = [];
  const add = (path: string, message: string): void => void problems.push({ path, message });
  if (target.userListId !== undefined) {
    add(`${at}.userListId`, `belongs to transport 'googleAds'; the dataManager transport (the default) names its lists in ${at}.destinations, e.g. ${TARGET_EXAMPLE}. An account allow-listed for Customer Match uploads through the Google Ads API keeps this target with transport: 'googleAds' on the destination.`);
  }
  const list = target.destinations;
  const destinations: DmDestination[] = [];
  if (!Array.isArray(list) || list.length === 0) {
    if (target.userListId === undefined) add(`${at}.destinations`, `required: the Google Ads lists and Display & Video 360 audiences to sync to, e.g. ${TARGET_EXAMPLE}`);
  } else {
    if (list.length > DM_MAX_DESTINATIONS_PER_REQUEST) add(`${at}.destinations`, `at most ${DM_MAX_DESTINATIONS_PER_REQUEST} destinations (the Data Manager API takes that many per request)`);
    const seen = new Set<string>();
    list.forEach((entry: unknown, i) => {
      const d = destinationOf(entry, `${at}.destinations[${i}]`, add);
      if (!d) return;
      const id = `${d.operatingAccount.accountType}/${d.operatingAccount.accountId}/${d.productDestinationId}`;
      if (seen.has(id)) add(`${at}.destinations[${i}]`, 'names the same account and audience as an earlier entry');
      seen.add(id);
      destinations.push(d);
    });
  }
  const consent = consentOf(target.consent, `${at}.consent`, add);
  return { value: problems.length === 0 ? { destinations, consent } : undefined, problems };
}

function destinationOf(entry: unknown, at: string, add: (path: string, message: string) => void): DmDestination | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    add(at, "must be an object such as { type: 'googleAds', accountId: '123-456-7890', userListId: '555' }");
    return undefined;
  }
  const e = entry as Record<string, unknown>;
  const type = e.type;
  if (type !== 'googleAds' && type !== 'displayVideo') {
    add(`${at}.type`, `must be 'googleAds' (a Customer Match list) or 'displayVideo' (a Display & Video 360 first-party audience), not ${JSON.stringify(type)}`);
    return undefined;
  }
  const k = KINDS[type as Kind];
  const allowed = new Set<string>(['type', k.account, k.audience, k.login]);
  for (const key of Object.keys(e)) if (!allowed.has(key)) add(`${at}.${key}`, `unknown key for type '${type}' (known: ${[...allowed].join(', ')})`);
  const accountId = digits(e[k.account], `${at}.${k.account}`, true, add);
  const audienceId = digits(e[k.audience], `${at}.${k.audience}`, false, add);
  const loginId = e[k.login] === undefined ? undefined : digits(e[k.login], `${at}.${k.login}`, true, add);
  if (accountId === undefined || audienceId === undefined || (e[k.login] !== undefined && loginId === undefined)) return undefined;
  return {
    operatingAccount: { accountType: k.accountType, accountId },
    ...(loginId !== undefined ? { loginAccount: { accountType: k.loginType, accountId: loginId } } : {}),
    productDestinationId: audienceId,
  };
}

/** An id as digits (a string, dashes allowed where `dashes`, or a whole number). */
function digits(v: unknown, at: string, dashes: boolean, add: (path: string, message: string) => void): string | undefined {
  const text = typeof v === 'string' ? (dashes ? v.replace(/-/g, '') : v).trim() : typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? String(v) : undefined;
  if (v === undefined) {
    add(at, 'is required');
    return undefined;
  }
  if (text === undefined || !/^\d+$/.test(text)) {
    add(at, `must be a numeric id written as a string${dashes ? " (dashes allowed, e.g. '123-456-7890')" : " (e.g. '1234567890')"}`);
    return undefined;
  }
  return text;
}

function consentOf(v: unknown, at: string, add: (path: string, message: string) => void): Consent | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    add(at, "must be { adUserData, adPersonalization }, e.g. { adUserData: 'GRANTED', adPersonalization: 'GRANTED' }");
    return undefined;
  }
  const out: Consent = {};
  for (const [k, status] of Object.entries(v as Record<string, unknown>)) {
    if (k !== 'adUserData' && k !== 'adPersonalization') add(`${at}.${k}`, 'unknown consent setting (adUserData | adPersonalization)');
    else if (typeof status !== 'string' || !(CONSENT_STATUSES as readonly string[]).includes(status)) add(`${at}.${k}`, `must be ${CONSENT_STATUSES.join(' | ')}`);
    else out[k] = status as Consent['adUserData'];
  }
  return out;
}

/** A destination as recorded in destination_jobs.detail: which account and audience. */
export function describeDestination(d: DmDestination): JsonValue {
  return { accountType: d.operatingAccount.accountType, accountId: d.operatingAccount.accountId, productDestinationId: d.productDestinationId };
}

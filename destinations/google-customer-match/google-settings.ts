import { ConfigError, resolveSecret, type Secret, type DestinationContext } from '../../engine/destination/index.js';
import { ADDRESS_FIELDS, MEMBER_FIELDS, STANDALONE_FIELDS } from './customer-match-member.js';
import { GOOGLE_ADS_API_VERSION, GOOGLE_ADS_HOST, GOOGLE_OAUTH_TOKEN_URL } from './google-limits.js';

/** Which Google API carries the uploads: the Data Manager API (the default), or the Google Ads API for accounts already allow-listed. */
export const TRANSPORTS = ['dataManager', 'googleAds'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface GoogleCustomerMatchOptions {
  transport?: Transport;
  /** OAuth client and refresh token (both transports). */
  clientId?: Secret;
  clientSecret?: Secret;
  refreshToken?: Secret;
  /** A service account's JSON key (dataManager only). */
  serviceAccountKey?: Secret;
  /** googleAds only. */
  developerToken?: Secret;
  customerId?: string;
  loginCustomerId?: string;
  apiVersion?: string;
  tokenUrl?: string;
  /** dataManager: the Customer Match terms of service were accepted for the operating accounts (sent as termsOfService). */
  acceptCustomerMatchTerms?: boolean;
}

/** The transport a destination's options select (`transport`, default dataManager). */
export function transportOf(options: Readonly<Record<string, unknown>>): Transport {
  return options.transport === 'googleAds' ? 'googleAds' : 'dataManager';
}

/** Consent statuses Google takes (reference, ConsentStatusEnum). */
export const CONSENT_STATUSES = ['GRANTED', 'DENIED', 'UNSPECIFIED'] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

/** The job's consent metadata (customerMatchUserListMetadata.consent). */
export interface Consent {
  adUserData?: ConsentStatus;
  adPersonalization?: ConsentStatus;
}

/** Everything a connection needs, checked and resolved. */
export interface GoogleSettings {
  readonly baseUrl: string;
  readonly apiVersion: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  readonly developerToken: string | undefined;
  readonly customerId: string;
  readonly loginCustomerId: string | undefined;
  readonly userListId: string;
  readonly consent: Consent | undefined;
}

/** Reads the destination's options and the sync's target; every mistake is a ConfigError naming its path. */
export function readSettings(ctx: DestinationContext<GoogleCustomerMatchOptions>, opts: { needTarget: boolean }): GoogleSettings {
  const at = `destinations.${ctx.name}`;
  const o = ctx.options;
  const secret = (v: Secret | undefined, name: string): string | undefined => (v === undefined ? undefined : resolveSecret(v, `${at}.${name}`));
  const apiVersion = o.apiVersion ?? GOOGLE_ADS_API_VERSION;
  if (!/^v\d+(_\d+)?$/.test(apiVersion)) throw new ConfigError(`${at}.apiVersion: ${JSON.stringify(apiVersion)} is not a Google Ads API version`, { hint: `e.g. '${GOOGLE_ADS_API_VERSION}'` });
  const target = ctx.target;
  const userListId = target.userListId;
  const targetAt = `syncs.${ctx.sync.name}.target`;
  if (opts.needTarget && (typeof userListId !== 'string' || !/^\d+$/.test(userListId.trim()))) {
    throw new ConfigError(`${targetAt}.userListId: required, the numeric id of the Customer Match list (a string)`, { hint: "e.g. target: { userListId: '1234567890' } (Google Ads: Tools > Audience manager)" });
  }
  return {
    baseUrl: ctx.baseUrl ?? GOOGLE_ADS_HOST,
    apiVersion,
    tokenUrl: o.tokenUrl ?? GOOGLE_OAUTH_TOKEN_URL,
    clientId: secret(o.clientId, 'clientId')!,
    clientSecret: secret(o.clientSecret, 'clientSecret')!,
    refreshToken: secret(o.refreshToken, 'refreshToken')!,
    developerToken: secret(o.developerToken, 'developerToken'),
    customerId: customerIdOf(o.customerId, `${at}.customerId`)!,
    loginCustomerId: customerIdOf(o.loginCustomerId, `${at}.loginCustomerId`),
    userListId: typeof userListId === 'string' ? userListId.trim() : '',
    consent: consentOf(target.consent, `${targetAt}.consent`),
  };
}

/** Mapped fields must be ones this destination sends (others would leave the warehouse for nothing) and identify people. */
export function checkFields(ctx: DestinationContext<GoogleCustomerMatchOptions>): void {
  const at = `syncs.${ctx.sync.name}.fields`;
  const known = new Set<string>(MEMBER_FIELDS);
  const unknown = ctx.sync.fields.filter((f) => !known.has(f));
  if (unknown.length > 0) {
    throw new ConfigError(`${at}: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not sent to Google Customer Match (destination ${ctx.name})`, {
      hint: `Map only ${MEMBER_FIELDS.join(', ')}.`,
    });
  }
  const has = (f: string): boolean => ctx.sync.fields.includes(f);
  if (!STANDALONE_FIELDS.some(has) && !ADDRESS_FIELDS.every(has)) {
    throw new ConfigError(`${at}: destination ${ctx.name} needs an identifier: email, phone, mobile_id, third_party_user_id, or all of ${ADDRESS_FIELDS.join(', ')}`, {
      hint: "e.g. fields: { email: 'email', phone: 'phone' }",
    });
  }
}

function customerIdOf(v: unknown, at: string): string | undefined {
  if (v === undefined) return undefined;
  const digits = typeof v === 'string' ? v.replace(/-/g, '').trim() : typeof v === 'number' ? String(v) : '';
  if (!/^\d+$/.test(digits)) throw new ConfigError(`${at}: must be a Google Ads customer id, digits with or without dashes (e.g. '123-456-7890')`);
  return digits;
}

function consentOf(v: unknown, at: string): Consent | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${at}: must be { adUserData, adPersonalization }`);
  const out: Consent = {};
  for (const [k, status] of Object.entries(v as Record<string, unknown>)) {
    if (k !== 'adUserData' && k !== 'adPersonalization') throw new ConfigError(`${at}.${k}: unknown consent setting (adUserData | adPersonalization)`);
    if (typeof status !== 'string' || !(CONSENT_STATUSES as readonly string[]).includes(status)) {
      throw new ConfigError(`${at}.${k}: must be ${CONSENT_STATUSES.join(' | ')}`);
    }
    out[k] = status as ConsentStatus;
  }
  return out;
}

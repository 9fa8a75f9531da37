import type { IdentifierSpec, JsonValue } from '../../engine/destination/index.js';
import { GOOGLE_MAX_IDENTIFIERS_PER_USER } from './google-limits.js';

/**
 * One person as Customer Match takes them, independent of the transport that
 * carries it (OfflineUserDataJobService today, the Data Manager API later).
 * Hashed values are SHA-256 lowercase hex computed in the warehouse.
 */
export interface CustomerMatchMember {
  readonly hashedEmail?: string;
  readonly hashedPhoneNumber?: string;
  /** Sent only with all four parts: Google matches an address on names, country and postal code together. */
  readonly address?: {
    readonly hashedFirstName: string;
    readonly hashedLastName: string;
    readonly countryCode: string;
    readonly postalCode: string;
  };
  readonly mobileId?: string;
  readonly thirdPartyUserId?: string;
  /** The member's own consent, from the consent columns (dataManager); unset parts fall back to the sync's target.consent. */
  readonly consent?: MemberConsent;
}

/** Consent as Google's ConsentStatus names it, without the transport's prefix. */
export type ConsentValue = 'GRANTED' | 'DENIED' | 'UNSPECIFIED';
export interface MemberConsent {
  readonly adUserData?: ConsentValue;
  readonly adPersonalization?: ConsentValue;
}

/**
 * Destination fields a sync may map. country_code and postal_code are plain
 * fields, not identifiers: Google takes them unhashed (fact file), they identify
 * nobody on their own (so a row holding only them must still count as "no usable
 * identifier" in the warehouse), and the `zip`/`country` kinds would rewrite them
 * (dashes dropped, lower case) where Google expects the postal code as written
 * and an ISO-3166 alpha-2 code; the connector trims them and upper-cases the country.
 */
export const MEMBER_FIELDS = ['email', 'phone', 'first_name', 'last_name', 'country_code', 'postal_code', 'mobile_id', 'third_party_user_id'] as const;
export type MemberField = (typeof MEMBER_FIELDS)[number];

/** How the warehouse normalizes and hashes each identifier field (engine/vocabulary/identifier-kinds.ts). */
export const MEMBER_IDENTIFIERS: Record<string, IdentifierSpec> = {
  // Google's rule: trim, lower case, and for gmail.com / googlemail.com drop dots and +tag.
  email: { kind: 'email_google' },
  // E.164 with the "+" before hashing (fact file).
  phone: { kind: 'phone_e164' },
  first_name: { kind: 'name' },
  last_name: { kind: 'name' },
  // Sent as they are: Google matches device ids and your own user ids unhashed.
  mobile_id: { kind: 'mobile_ad_id', hash: false },
  third_party_user_id: { kind: 'external_id', hash: false },
};

/**
 * Plain fields (dataManager only) holding a member's consent, sent as its
 * AudienceMember.consent: a boolean, or GRANTED / DENIED / UNSPECIFIED (any case,
 * with or without a CONSENT_ prefix); NULL leaves the sync's default.
 */
export const CONSENT_FIELDS = ['ad_user_data', 'ad_personalization'] as const;
const CONSENT_KEYS = { ad_user_data: 'adUserData', ad_personalization: 'adPersonalization' } as const;

/** Fields that identify a person by themselves. */
export const STANDALONE_FIELDS: readonly MemberField[] = ['email', 'phone', 'mobile_id', 'third_party_user_id'];
/** Fields that identify a person only together. */
export const ADDRESS_FIELDS: readonly MemberField[] = ['first_name', 'last_name', 'country_code', 'postal_code'];

const ISO_COUNTRY = /^[A-Z]{2}$/;

export type MemberBuild =
  | { ok: true; member: CustomerMatchMember; identifiers: number; incompleteAddress: boolean }
  | { ok: false; code: string; message: string; incompleteAddress: boolean };

/** Builds a member from a row's mapped fields: one identifier per kind, at most GOOGLE_MAX_IDENTIFIERS_PER_USER. */
export function buildMember(fields: Readonly<Record<string, JsonValue>>): MemberBuild {
  const text = (name: MemberField): string | undefined => {
    const v = fields[name];
    if (v === null || v === undefined) return undefined;
    const s = String(v).trim();
    return s === '' ? undefined : s;
  };
  const member: { -readonly [K in keyof CustomerMatchMember]: CustomerMatchMember[K] } = {};
  const email = text('email');
  if (email) member.hashedEmail = email;
  const phone = text('phone');
  if (phone) member.hashedPhoneNumber = phone;
  const mobileId = text('mobile_id');
  if (mobileId) member.mobileId = mobileId;
  const thirdParty = text('third_party_user_id');
  if (thirdParty) member.thirdPartyUserId = thirdParty;

  const first = text('first_name');
  const last = text('last_name');
  const country = text('country_code')?.toUpperCase();
  const postal = text('postal_code');
  const addressParts = [first, last, country, postal].filter((x) => x !== undefined).length;
  const validCountry = country !== undefined && ISO_COUNTRY.test(country);
  if (first && last && validCountry && postal) member.address = { hashedFirstName: first, hashedLastName: last, countryCode: country, postalCode: postal };
  const incompleteAddress = addressParts > 0 && member.address === undefined;

  const consent: { -readonly [K in keyof MemberConsent]: MemberConsent[K] } = {};
  for (const f of CONSENT_FIELDS) {
    const v = fields[f];
    if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) continue;
    const status = consentValue(v);
    if (!status) return { ok: false, code: 'INVALID_CONSENT', message: `not sent: ${f} is ${JSON.stringify(v).slice(0, 40)}; use true/false or GRANTED, DENIED, UNSPECIFIED`, incompleteAddress };
    consent[CONSENT_KEYS[f]] = status;
  }
  if (Object.keys(consent).length > 0) member.consent = consent;

  const identifiers = countIdentifiers(member);
  if (identifiers === 0) {
    const why = incompleteAddress
      ? 'an address needs first_name, last_name, country_code (ISO-3166 alpha-2) and postal_code together, and the row has no email, phone, mobile_id or third_party_user_id'
      : 'the row has no email, phone, address, mobile_id or third_party_user_id';
    return { ok: false, code: 'NO_USABLE_IDENTIFIER', message: `not sent: ${why}`, incompleteAddress };
  }
  if (identifiers > GOOGLE_MAX_IDENTIFIERS_PER_USER) {
    return { ok: false, code: 'TOO_MANY_USER_IDENTIFIERS', message: `not sent: ${identifiers} identifiers, Google takes at most ${GOOGLE_MAX_IDENTIFIERS_PER_USER} per person`, incompleteAddress };
  }
  return { ok: true, member, identifiers, incompleteAddress };
}

function consentValue(v: JsonValue): ConsentValue | undefined {
  if (v === true) return 'GRANTED';
  if (v === false) return 'DENIED';
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toUpperCase().replace(/^CONSENT_/, '');
  if (s === 'GRANTED' || s === 'DENIED') return s;
  if (s === 'UNSPECIFIED' || s === 'STATUS_UNSPECIFIED') return 'UNSPECIFIED';
  return undefined;
}

/** UserIdentifiers the member becomes on the wire (one per kind). */
export function countIdentifiers(m: CustomerMatchMember): number {
  return [m.hashedEmail, m.hashedPhoneNumber, m.address, m.mobileId, m.thirdPartyUserId].filter((x) => x !== undefined).length;
}

/**
 * The identifiers `previous` (as last sent) holds that `current` no longer
 * does, as a member to remove; undefined when there are none (only plain or
 * unsent fields changed, or nothing at all). An address counts as one
 * identifier: any change of its four parts drops the old one.
 */
export function droppedIdentifiers(previous: CustomerMatchMember, current: CustomerMatchMember): CustomerMatchMember | undefined {
  const dropped: { -readonly [K in keyof CustomerMatchMember]: CustomerMatchMember[K] } = {};
  if (previous.hashedEmail !== undefined && previous.hashedEmail !== current.hashedEmail) dropped.hashedEmail = previous.hashedEmail;
  if (previous.hashedPhoneNumber !== undefined && previous.hashedPhoneNumber !== current.hashedPhoneNumber) dropped.hashedPhoneNumber = previous.hashedPhoneNumber;
  if (previous.address !== undefined && !sameAddress(previous.address, current.address)) dropped.address = previous.address;
  if (previous.mobileId !== undefined && previous.mobileId !== current.mobileId) dropped.mobileId = previous.mobileId;
  if (previous.thirdPartyUserId !== undefined && previous.thirdPartyUserId !== current.thirdPartyUserId) dropped.thirdPartyUserId = previous.thirdPartyUserId;
  return countIdentifiers(dropped) > 0 ? dropped : undefined;
}

function sameAddress(a: NonNullable<CustomerMatchMember['address']>, b: CustomerMatchMember['address']): boolean {
  return b !== undefined && a.hashedFirstName === b.hashedFirstName && a.hashedLastName === b.hashedLastName && a.countryCode === b.countryCode && a.postalCode === b.postalCode;
}

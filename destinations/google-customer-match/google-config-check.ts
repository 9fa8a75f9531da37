import type { ValidationInput, ValidationProblem } from '../../engine/destination/index.js';
import { ADDRESS_FIELDS, CONSENT_FIELDS } from './customer-match-member.js';
import { DM_MAX_MEMBERS_PER_REQUEST } from './data-manager-limits.js';
import { parseDataManagerTarget } from './data-manager-target.js';
import { transportOf } from './google-settings.js';

const OAUTH = ['clientId', 'clientSecret', 'refreshToken'] as const;
/** Options only the googleAds transport reads. */
const GOOGLE_ADS_ONLY = ['customerId', 'loginCustomerId', 'developerToken'] as const;
/** Fields the dataManager transport sends: contact information (UserData) and the member's consent. */
const DM_IDENTIFIER_FIELDS = ['email', 'phone', ...ADDRESS_FIELDS] as const;

/**
 * The destination's load-time check (definition.validate): which credentials and
 * target each transport needs, and which fields it sends, so a mistake stops
 * `compile`, `plan` and `run` before anything is read or sent.
 */
export function checkGoogleConfig(input: ValidationInput): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const add = (path: string, message: string): void => void problems.push({ path, message });
  const o = input.options;
  const at = input.at.destination;
  const has = (k: string): boolean => o[k] !== undefined;
  if (transportOf(o) === 'googleAds') {
    for (const k of [...OAUTH, 'customerId']) if (!has(k)) add(`${at}.${k}`, "is required with transport 'googleAds'");
    if (has('serviceAccountKey')) add(`${at}.serviceAccountKey`, "the googleAds transport authenticates with clientId, clientSecret and refreshToken; service account keys are for the dataManager transport");
    if (has('acceptCustomerMatchTerms')) add(`${at}.acceptCustomerMatchTerms`, "is for the dataManager transport; with 'googleAds' the terms are accepted in the Google Ads account");
    if (input.target.destinations !== undefined) add(`${input.at.sync}.target.destinations`, "is for the dataManager transport; with transport 'googleAds' the target is { userListId }");
    const list = input.target.userListId;
    if (!(typeof list === 'string' && /^\d+$/.test(list.trim()))) add(`${input.at.sync}.target.userListId`, "required with transport 'googleAds': the numeric id of the Customer Match list, as a string (e.g. '1234567890')");
    return problems;
  }
  const oauthGiven = OAUTH.filter(has);
  if (has('serviceAccountKey') && oauthGiven.length > 0) {
    add(at, `give either serviceAccountKey or ${OAUTH.join(', ')}, not both`);
  } else if (!has('serviceAccountKey')) {
    if (oauthGiven.length === 0) add(at, "needs credentials: serviceAccountKey: env('GOOGLE_SERVICE_ACCOUNT_JSON') (a service account's JSON key), or clientId, clientSecret and refreshToken (an OAuth client and a refresh token with the datamanager scope)");
    else for (const k of OAUTH) if (!has(k)) add(`${at}.${k}`, `is required with ${oauthGiven.join(', ')}`);
  }
  for (const k of GOOGLE_ADS_ONLY) {
    if (has(k)) add(`${at}.${k}`, `belongs to transport 'googleAds'; the dataManager transport (the default) names accounts in each sync's target.destinations (accountId, loginAccountId). Set transport: 'googleAds' only for an account already allow-listed for Customer Match uploads through the Google Ads API.`);
  }
  if (has('apiVersion') && !(typeof o.apiVersion === 'string' && /^v\d+$/.test(o.apiVersion))) add(`${at}.apiVersion`, "must be a Data Manager API version such as 'v1'");
  const batchSize = input.common.batchSize;
  if (typeof batchSize === 'number' && batchSize > DM_MAX_MEMBERS_PER_REQUEST) {
    add(`${at}.batchSize`, `must be at most ${DM_MAX_MEMBERS_PER_REQUEST.toLocaleString('en-US')} with the dataManager transport (the Data Manager API takes that many audience members per request)`);
  }
  problems.push(...parseDataManagerTarget(input.target, `${input.at.sync}.target`).problems);
  const fieldsAt = `${input.at.sync}.fields`;
  const known = new Set<string>([...DM_IDENTIFIER_FIELDS, ...CONSENT_FIELDS]);
  for (const f of input.fields) {
    if (known.has(f)) continue;
    if (f === 'mobile_id' || f === 'third_party_user_id') {
      add(`${fieldsAt}.${f}`, `is not sent by the dataManager transport: it uploads contact information (email, phone, address), and a request carries one kind of data. Device-id and user-id lists need transport 'googleAds'.`);
    } else {
      add(`${fieldsAt}.${f}`, `is not sent to Google Customer Match (map only ${[...known].join(', ')})`);
    }
  }
  const mapped = (f: string): boolean => input.fields.includes(f);
  if (!mapped('email') && !mapped('phone') && !ADDRESS_FIELDS.every(mapped)) {
    add(fieldsAt, `needs an identifier: email, phone, or all of ${ADDRESS_FIELDS.join(', ')}`);
  }
  return problems;
}

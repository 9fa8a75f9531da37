import { FakeDataManagerServer, type AudienceRef } from './google-data-manager-server.js';
import { e164, googleEmail, sha256 } from './google-scenario-fake.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

const ADS: AudienceRef = { accountType: 'GOOGLE_ADS', accountId: '1234567890', productDestinationId: '555' };
const DV360: AudienceRef = { accountType: 'DISPLAY_VIDEO_ADVERTISER', accountId: '7654321', productDestinationId: '4242' };

/**
 * The Data Manager fake through the shared scenario interface: the default
 * transport, authenticated with a service account key (a JWT signed per token),
 * each request going to a Google Ads Customer Match list and a Display & Video
 * 360 audience at once. Requests apply at once here (the scenarios compare right
 * after a run; request status has its own tests). members() is the Google Ads
 * list, and says so when the DV360 audience holds anything else.
 * requestCount() counts ingest and remove requests: the status reads a run
 * makes first send nothing.
 */
export function googleDataManagerScenarioFake(): ScenarioFake {
  const server = new FakeDataManagerServer({ audiences: [ADS, DV360] });
  server.knobs.applyOnIngest = true;
  const view = (ref: AudienceRef): Map<string, Record<string, unknown>> => {
    const out = new Map<string, Record<string, unknown>>();
    for (const ids of server.members(ref).values()) {
      const email = ids.find((i) => 'hashedEmail' in i)?.hashedEmail;
      if (typeof email === 'string') out.set(email, { phone: ids.find((i) => 'hashedPhoneNumber' in i)?.hashedPhoneNumber ?? null });
    }
    return out;
  };
  return {
    smallBatch: 7,
    start: async () => void (await server.start()),
    stop: () => server.stop(),
    destinationConfig: () =>
      `{ type: 'google_customer_match', serviceAccountKey: env('SCENARIO_GOOGLE_SA_KEY'), acceptCustomerMatchTerms: true, tokenUrl: '${server.tokenUrl}', baseUrl: '${server.baseUrl}', rateLimit: 50 }`,
    target: () =>
      `{ destinations: [{ type: 'googleAds', accountId: '123-456-7890', userListId: '555' }, { type: 'displayVideo', advertiserId: '7654321', audienceId: '4242' }], consent: { adUserData: 'GRANTED', adPersonalization: 'GRANTED' } }`,
    fields: () => `{ email: 'email', phone: 'phone', first_name: 'first_name', last_name: 'last_name' }`,
    env: () => ({ SCENARIO_GOOGLE_SA_KEY: server.serviceAccountKeyJson() }),
    members: () => {
      const ads = view(ADS);
      const dv = view(DV360);
      const same = ads.size === dv.size && [...ads].every(([k, v]) => JSON.stringify(dv.get(k)) === JSON.stringify(v));
      if (!same) ads.set('the DV360 audience differs from the Google Ads list', { dv360: [...dv.keys()] });
      return ads;
    },
    expected: (rows: ScenarioRow[]) => new Map(rows.map((r) => [sha256(googleEmail(r.email)), { phone: sha256(e164(r.phone)) }])),
    requestCount: () => server.writeRequests,
    throttleNext: (n) => void (server.knobs.throttleNext += n),
    failNext: (n) => void (server.knobs.failNext += n),
    rejectKey: (key) => void server.knobs.rejectIdentifiers.set(sha256(googleEmail(`person${key}@example.com`)), { reason: 'INVALID_SHA256_FORMAT', description: 'The SHA256 encoded value is malformed.' }),
    setDelay: (ms) => void (server.knobs.delayMs = ms),
    clearFaults: () => {
      server.knobs.throttleNext = 0;
      server.knobs.failNext = 0;
      server.knobs.rejectIdentifiers.clear();
      server.knobs.delayMs = 0;
    },
  };
}

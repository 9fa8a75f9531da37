import { createHash } from 'node:crypto';
import { FakeGoogleAdsServer } from './google-ads-server.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Google's email rule (fact file): trim, lower case; gmail.com / googlemail.com also lose dots and +tag in the local part. */
export function googleEmail(raw: string): string {
  const e = raw.trim().toLowerCase();
  const [local = '', domain = ''] = e.split('@');
  return domain === 'gmail.com' || domain === 'googlemail.com' ? `${local.split('+')[0]!.replace(/\./g, '')}@${domain}` : e;
}

/** E.164 with "+" (fact file): the digits, leading zeros dropped. */
export function e164(raw: string): string {
  return '+' + raw.replace(/\D/g, '').replace(/^0+/, '');
}

const ENV = {
  SCENARIO_GOOGLE_CLIENT_ID: 'fake-client.apps.googleusercontent.com',
  SCENARIO_GOOGLE_CLIENT_SECRET: 'fake-client-secret',
  SCENARIO_GOOGLE_REFRESH_TOKEN: 'fake-refresh-token',
};

/**
 * The Google Ads fake through the shared scenario interface. Jobs apply on
 * :run here (the scenarios compare the list right after a run; the job
 * lifecycle has its own tests), and the list is keyed by hashed email, as
 * Google keeps it: expected() hashes the model rows with Google's normalization.
 * requestCount() counts write requests (job create, addOperations, run): the
 * job status query a run makes first is a read, not something sent.
 */
export function googleScenarioFake(): ScenarioFake {
  const server = new FakeGoogleAdsServer({
    clientId: ENV.SCENARIO_GOOGLE_CLIENT_ID,
    clientSecret: ENV.SCENARIO_GOOGLE_CLIENT_SECRET,
    refreshToken: ENV.SCENARIO_GOOGLE_REFRESH_TOKEN,
  });
  server.knobs.applyOnRun = true;
  return {
    smallBatch: 7,
    start: async () => void (await server.start()),
    stop: () => server.stop(),
    destinationConfig: () =>
      `{ type: 'google_customer_match', transport: 'googleAds', clientId: env('SCENARIO_GOOGLE_CLIENT_ID'), clientSecret: env('SCENARIO_GOOGLE_CLIENT_SECRET'), refreshToken: env('SCENARIO_GOOGLE_REFRESH_TOKEN'), customerId: '123-456-7890', tokenUrl: '${server.tokenUrl}', baseUrl: '${server.baseUrl}' }`,
    target: () => `{ userListId: '555', consent: { adUserData: 'GRANTED', adPersonalization: 'GRANTED' } }`,
    fields: () => `{ email: 'email', phone: 'phone', first_name: 'first_name', last_name: 'last_name' }`,
    env: () => ({ ...ENV }),
    members: () => {
      const out = new Map<string, Record<string, unknown>>();
      for (const ids of server.members().values()) {
        const email = ids.find((i) => 'hashedEmail' in i)?.hashedEmail;
        if (typeof email === 'string') out.set(email, { phone: ids.find((i) => 'hashedPhoneNumber' in i)?.hashedPhoneNumber ?? null });
      }
      return out;
    },
    expected: (rows: ScenarioRow[]) => new Map(rows.map((r) => [sha256(googleEmail(r.email)), { phone: sha256(e164(r.phone)) }])),
    requestCount: () => server.writeRequests,
    throttleNext: (n) => void (server.knobs.throttleNext += n),
    failNext: (n) => void (server.knobs.failNext += n),
    // Scenario keys are ids: person<id>@example.com is what reaches Google, hashed.
    rejectKey: (key) => void server.knobs.rejectIdentifiers.set(sha256(googleEmail(`person${key}@example.com`)), { code: 'INVALID_SHA256_FORMAT', message: 'The SHA256 encoded value is malformed.' }),
    setDelay: (ms) => void (server.knobs.delayMs = ms),
    clearFaults: () => {
      server.knobs.throttleNext = 0;
      server.knobs.failNext = 0;
      server.knobs.rejectIdentifiers.clear();
      server.knobs.delayMs = 0;
    },
  };
}

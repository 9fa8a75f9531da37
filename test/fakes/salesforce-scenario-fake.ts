import { FakeSalesforceServer } from './salesforce-server.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

const CLIENT_ID = 'scenario-consumer-key';
const CLIENT_SECRET = 'scenario-consumer-secret';
const REFRESH_TOKEN = 'scenario-refresh-token';
const AUDIENCE_FIELD = 'In_Audience__c';
const EXTERNAL_ID = 'Audsync_Key__c';

/**
 * The Salesforce fake seen through the shared scenario interface: Contacts
 * upserted on Audsync_Key__c, the audience being the Contacts whose
 * In_Audience__c is 'true' (removal clears it; the Contact stays).
 */
export function salesforceScenarioFake(): ScenarioFake {
  const server = new FakeSalesforceServer({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    refreshToken: REFRESH_TOKEN,
    customFields: { Contact: ['Tier__c', AUDIENCE_FIELD] },
    externalIds: { Contact: [EXTERNAL_ID] },
  });
  return {
    smallBatch: 10,
    start: async () => void (await server.start()),
    stop: () => server.stop(),
    destinationConfig: () =>
      `{ type: 'salesforce', clientId: '${CLIENT_ID}', clientSecret: env('SCENARIO_SF_CLIENT_SECRET'), refreshToken: env('SCENARIO_SF_REFRESH_TOKEN'), baseUrl: '${server.url}', pollIntervalMs: 5 }`,
    target: () => `{ object: 'Contact', externalIdField: '${EXTERNAL_ID}', audienceField: '${AUDIENCE_FIELD}' }`,
    fields: () => `{ Email: 'email', FirstName: 'first_name', LastName: 'last_name', Tier__c: 'tier' }`,
    env: () => ({ SCENARIO_SF_CLIENT_SECRET: CLIENT_SECRET, SCENARIO_SF_REFRESH_TOKEN: REFRESH_TOKEN }),
    members: () =>
      new Map(
        server
          .all('Contact')
          .filter((c) => c[AUDIENCE_FIELD] === 'true')
          .map((c) => [String(c[EXTERNAL_ID]), { Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Tier__c: c.Tier__c }]),
      ),
    expected: (rows: ScenarioRow[]) => new Map(rows.map((r) => [String(r.id), { Email: r.email, FirstName: r.first_name, LastName: r.last_name, Tier__c: r.tier }])),
    requestCount: () => server.received,
    throttleNext: (n) => void (server.knobs.throttleNext += n),
    failNext: (n) => void (server.knobs.failNext += n),
    rejectKey: (key) => void server.knobs.rejectKeys.set(key, 'INVALID_EMAIL_ADDRESS:Email: invalid email address: bad:Email --'),
    setDelay: (ms) => void (server.knobs.delayMs = ms),
    clearFaults: () => {
      server.knobs.throttleNext = 0;
      server.knobs.failNext = 0;
      server.knobs.rejectKeys.clear();
      server.knobs.dropKeys.clear();
      server.knobs.delayMs = 0;
    },
  };
}

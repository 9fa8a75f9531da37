import { FakeHubSpotServer } from './hubspot-server.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

const TOKEN = 'pat-na1-scenario-token';
const LIST_ID = '42';

/**
 * The HubSpot fake seen through the shared scenario interface. Members are the
 * contacts in the list, keyed by email (the sync's key), so a removal shows as
 * a contact leaving the list while the contact itself stays.
 */
export function hubspotScenarioFake(): ScenarioFake {
  const server = new FakeHubSpotServer(TOKEN);
  return {
    smallBatch: 7,
    keyColumn: 'email',
    start: async () => {
      await server.start();
      server.addList(LIST_ID);
    },
    stop: () => server.stop(),
    destinationConfig: () => `{ type: 'hubspot', accessToken: env('SCENARIO_HUBSPOT_TOKEN'), baseUrl: '${server.url}' }`,
    target: () => `{ listId: '${LIST_ID}' }`,
    fields: () => `{ email: 'email', firstname: 'first_name', lastname: 'last_name', tier: 'tier' }`,
    env: () => ({ SCENARIO_HUBSPOT_TOKEN: TOKEN }),
    members: () =>
      new Map(
        server.listMembers(LIST_ID).map((c) => [
          c.properties.email!,
          { email: c.properties.email, firstname: c.properties.firstname, lastname: c.properties.lastname, tier: c.properties.tier },
        ]),
      ),
    expected: (rows: ScenarioRow[]) =>
      new Map(rows.map((r) => [r.email, { email: r.email, firstname: r.first_name, lastname: r.last_name, tier: r.tier }])),
    requestCount: () => server.received,
    throttleNext: (n) => void (server.knobs.throttleNext += n),
    failNext: (n) => void (server.knobs.failNext += n),
    rejectKey: (key) => void server.knobs.rejectIds.set(key, `Property values were not valid: [{"isValid":false,"message":"Email address ${key} is invalid","error":"INVALID_EMAIL","name":"email"}]`),
    setDelay: (ms) => void (server.knobs.delayMs = ms),
    clearFaults: () => {
      server.knobs.throttleNext = 0;
      server.knobs.failNext = 0;
      server.knobs.rejectIds.clear();
      server.knobs.dropIds.clear();
      server.knobs.delayMs = 0;
    },
  };
}

import { FakeKlaviyoServer } from './klaviyo-server.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

const API_KEY = 'pk_scenario_0123456789abcdef';
const LIST_ID = 'Y6nRLr';

/**
 * The Klaviyo fake seen through the shared scenario interface. Members are the
 * profiles in the list (removal takes them off the list, the profile stays),
 * keyed by external_id, which the sync maps from the key column.
 */
export function klaviyoScenarioFake(): ScenarioFake {
  const server = new FakeKlaviyoServer(API_KEY, [LIST_ID]);
  return {
    smallBatch: 7,
    keyColumn: 'id',
    start: async () => void (await server.start()),
    stop: () => server.stop(),
    // A small poll interval and no rate limit keep the scenarios fast; production defaults are in the README.
    destinationConfig: () => `{ type: 'klaviyo', apiKey: env('KLAVIYO_API_KEY'), baseUrl: '${server.url}', pollIntervalMs: 5, rateLimit: 1000 }`,
    target: () => `{ listId: '${LIST_ID}' }`,
    fields: () => `{ external_id: 'id', email: 'email', first_name: 'first_name', tier: 'tier' }`,
    env: () => ({ KLAVIYO_API_KEY: API_KEY }),
    members: () => new Map(server.members(LIST_ID).map((p) => [String(p.external_id), { email: p.email, first_name: p.first_name, tier: p.properties.tier }])),
    expected: (rows: ScenarioRow[]) => new Map(rows.map((r) => [String(r.id), { email: r.email, first_name: r.first_name, tier: r.tier }])),
    requestCount: () => server.requests.length,
    throttleNext: (n) => {
      server.knobs.retryAfter = '0';
      server.knobs.throttleWrites += n;
    },
    failNext: (n) => void (server.knobs.failWrites += n),
    rejectKey: (key) => void server.knobs.rejectProfiles.set(key, 'Invalid email address.'),
    setDelay: (ms) => void (server.knobs.delayMs = ms),
    clearFaults: () => {
      server.knobs.throttleWrites = 0;
      server.knobs.failWrites = 0;
      server.knobs.rejectProfiles.clear();
      server.knobs.delayMs = 0;
    },
  };
}

import { FakeIterableServer } from './iterable-server.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

const API_KEY = 'iterable-scenario-key';
const LIST_ID = 4242;

/** The Iterable fake seen through the shared scenario interface: members are the list's users. */
export function iterableScenarioFake(): ScenarioFake {
  const server = new FakeIterableServer(API_KEY, [LIST_ID]);
  return {
    keyColumn: 'email',
    smallBatch: 7,
    start: async () => void (await server.start()),
    stop: () => server.stop(),
    destinationConfig: () => `{ type: 'iterable', apiKey: env('SCENARIO_ITERABLE_KEY'), baseUrl: '${server.url}' }`,
    target: () => `{ listId: ${LIST_ID} }`,
    fields: () => `{ email: 'email', firstName: 'first_name', tier: 'tier' }`,
    env: () => ({ SCENARIO_ITERABLE_KEY: API_KEY }),
    members: () => new Map(server.members(LIST_ID).map((u) => [u.email ?? '', { firstName: u.dataFields.firstName, tier: u.dataFields.tier }])),
    expected: (rows: ScenarioRow[]) => new Map(rows.map((r) => [r.email, { firstName: r.first_name, tier: r.tier }])),
    requestCount: () => server.requests.length,
    throttleNext: (n) => void (server.knobs.throttleNext += n),
    failNext: (n) => void (server.knobs.failNext += n),
    rejectKey: (key) => void server.knobs.rejectKeys.add(key.toLowerCase()),
    setDelay: (ms) => void (server.knobs.delayMs = ms),
    clearFaults: () => {
      server.knobs.throttleNext = 0;
      server.knobs.failNext = 0;
      server.knobs.delayMs = 0;
      server.knobs.rejectKeys.clear();
      server.knobs.forgottenKeys.clear();
      server.knobs.dropKeys.clear();
    },
  };
}

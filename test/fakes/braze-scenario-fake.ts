import { FakeBrazeServer } from './braze-server.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

const API_KEY = 'braze-scenario-rest-key';
/** The membership attribute the scenarios configure. */
const ATTRIBUTE = 'in_people_audience';

/** The Braze fake seen through the shared scenario interface: members are users whose membership attribute is true. */
export function brazeScenarioFake(): ScenarioFake {
  const server = new FakeBrazeServer(API_KEY);
  return {
    smallBatch: 7,
    start: async () => void (await server.start()),
    stop: () => server.stop(),
    destinationConfig: () => `{ type: 'braze', apiKey: env('SCENARIO_BRAZE_KEY'), baseUrl: '${server.url}' }`,
    target: () => `{ attribute: '${ATTRIBUTE}' }`,
    fields: () => `{ email: 'email', first_name: 'first_name', tier: 'tier' }`,
    env: () => ({ SCENARIO_BRAZE_KEY: API_KEY }),
    members: () => {
      const out = new Map<string, Record<string, unknown>>();
      for (const [id, u] of server.users) if (u[ATTRIBUTE] === true) out.set(id, { email: u.email, first_name: u.first_name, tier: u.tier });
      return out;
    },
    expected: (rows: ScenarioRow[]) => new Map(rows.map((r) => [String(r.id), { email: r.email, first_name: r.first_name, tier: r.tier }])),
    requestCount: () => server.requests.length,
    throttleNext: (n) => void (server.knobs.throttleNext += n),
    failNext: (n) => void (server.knobs.failNext += n),
    rejectKey: (key) => void server.knobs.rejectKeys.set(key, "Value for attribute 'email' is invalid"),
    setDelay: (ms) => void (server.knobs.delayMs = ms),
    clearFaults: () => {
      server.knobs.throttleNext = 0;
      server.knobs.failNext = 0;
      server.knobs.delayMs = 0;
      server.knobs.rejectKeys.clear();
      server.knobs.dropKeys.clear();
    },
  };
}

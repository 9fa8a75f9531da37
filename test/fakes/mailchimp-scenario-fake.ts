import { FakeMailchimpServer } from './mailchimp-server.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

const API_KEY = 'mailchimp-scenario-key-us21';
const LIST_ID = 'aud0scenario';
/** The default tag for sync people_sync. */
const TAG = 'audsync_people_sync';

/** The Mailchimp fake seen through the shared scenario interface: members are contacts carrying the audience tag. */
export function mailchimpScenarioFake(): ScenarioFake {
  const server = new FakeMailchimpServer(API_KEY, [LIST_ID]);
  return {
    keyColumn: 'email',
    smallBatch: 7,
    start: async () => void (await server.start()),
    stop: () => server.stop(),
    destinationConfig: () => `{ type: 'mailchimp', apiKey: env('SCENARIO_MAILCHIMP_KEY'), baseUrl: '${server.url}' }`,
    target: () => `{ listId: '${LIST_ID}' }`,
    fields: () => `{ email: 'email', FNAME: 'first_name', TIER: 'tier' }`,
    env: () => ({ SCENARIO_MAILCHIMP_KEY: API_KEY }),
    members: () =>
      new Map(
        server
          .members(LIST_ID)
          .filter((m) => m.tags.has(TAG))
          .map((m) => [m.email_address, { FNAME: m.merge_fields.FNAME, TIER: m.merge_fields.TIER }]),
      ),
    expected: (rows: ScenarioRow[]) => new Map(rows.map((r) => [r.email, { FNAME: r.first_name, TIER: r.tier }])),
    requestCount: () => server.requests.length,
    throttleNext: (n) => void (server.knobs.throttleNext += n),
    failNext: (n) => void (server.knobs.failNext += n),
    rejectKey: (key) => void server.knobs.rejectKeys.set(key.toLowerCase(), `${key} looks fake or invalid, please enter a real email address.`),
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

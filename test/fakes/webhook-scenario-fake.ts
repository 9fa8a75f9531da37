import { FakeWebhookServer } from './webhook-server.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

const SECRET = 'scenario-signing-secret';

/** The webhook fake seen through the shared scenario interface. */
export function webhookScenarioFake(): ScenarioFake {
  const server = new FakeWebhookServer(SECRET);
  return {
    smallBatch: 7,
    start: async () => void (await server.start()),
    stop: () => server.stop(),
    destinationConfig: () => `{ type: 'webhook', url: '${server.url}', secret: env('SCENARIO_SECRET') }`,
    target: () => '{}',
    fields: () => `{ email: 'email', tier: 'tier' }`,
    env: () => ({ SCENARIO_SECRET: SECRET }),
    members: () => new Map(server.audience),
    expected: (rows: ScenarioRow[]) => new Map(rows.map((r) => [String(r.id), { email: r.email, tier: r.tier }])),
    requestCount: () => server.attemptIds.length,
    throttleNext: (n) => {
      server.knobs.retryAfter = '0';
      server.knobs.failNext.push(...Array<number>(n).fill(429));
    },
    failNext: (n) => void server.knobs.failNext.push(...Array<number>(n).fill(503)),
    rejectKey: (key) => void server.knobs.rejectKeys.set(key, 'refused by the receiver'),
    setDelay: (ms) => void (server.knobs.delayMs = ms),
    clearFaults: () => {
      server.knobs.failNext.length = 0;
      server.knobs.rejectKeys.clear();
      server.knobs.delayMs = 0;
    },
  };
}

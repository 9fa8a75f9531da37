import { createHash } from 'node:crypto';
import { FakeMetaServer, type HashedRow } from './meta-server.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';

const TOKEN = 'EAAB-scenario-system-user-token';
const AUDIENCE_ID = '23850000000000001';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Meta's documented normalization (destinations/meta-custom-audiences/README.md),
 * computed here in TypeScript from the model rows, so the comparison checks
 * the warehouse SQL's bytes rather than repeating them.
 */
export const metaNormalized = {
  email: (s: string): string => s.trim().toLowerCase(),
  phone: (s: string): string => s.replace(/[^0-9]/g, '').replace(/^0+/, ''),
  name: (s: string): string => s.trim().toLowerCase().replace(/[!-/:-@[-`{-~]/g, ''),
};

export const hashedEmail = (email: string): string => sha(metaNormalized.email(email));

/** The scenario model's email of record `id` (test/support/destination-scenarios.ts seeds 'person<id>@example.com'). */
const scenarioEmail = (key: string): string => `person${key}@example.com`;

/**
 * The Meta fake seen through the shared scenario interface. The audience holds
 * hashes, not record keys, so members are keyed by the hashed EMAIL, and
 * expected() hashes the model rows the same way. A member's comparable fields
 * are its other hashed cells, so a changed name shows as a changed FN hash.
 */
export function metaScenarioFake(): ScenarioFake {
  const server = new FakeMetaServer(TOKEN);
  const members = (): Map<string, Record<string, unknown>> => {
    // A raw identifier reaching the fake fails the scenario here, whatever else converged.
    if (server.violations.length > 0) throw new Error(`the Meta fake caught: ${server.violations.join('; ')}`);
    return new Map(server.rows(AUDIENCE_ID).map((r: HashedRow) => [String(r.EMAIL), { PHONE: r.PHONE, FN: r.FN, LN: r.LN }]));
  };
  return {
    smallBatch: 7,
    start: async () => {
      await server.start();
      server.addAudience(AUDIENCE_ID);
    },
    stop: () => server.stop(),
    destinationConfig: () => `{ type: 'meta_custom_audiences', accessToken: env('SCENARIO_META_TOKEN'), baseUrl: '${server.url}' }`,
    target: () => `{ audienceId: '${AUDIENCE_ID}' }`,
    fields: () => `{ EMAIL: 'email', PHONE: 'phone', FN: 'first_name', LN: 'last_name' }`,
    env: () => ({ SCENARIO_META_TOKEN: TOKEN }),
    members,
    expected: (rows: ScenarioRow[]) =>
      new Map(
        rows.map((r) => [
          hashedEmail(r.email),
          { PHONE: sha(metaNormalized.phone(r.phone)), FN: sha(metaNormalized.name(r.first_name)), LN: sha(metaNormalized.name(r.last_name)) },
        ]),
      ),
    requestCount: () => server.received,
    throttleNext: (n) => void (server.knobs.throttleNext += n),
    failNext: (n) => void (server.knobs.failNext += n),
    // Meta never sees record keys: refuse the row holding this record's hashed email.
    rejectKey: (key) => void server.knobs.rejectCells.set(hashedEmail(scenarioEmail(key)), 'Invalid email hash for this row'),
    setDelay: (ms) => void (server.knobs.delayMs = ms),
    clearFaults: () => {
      server.knobs.throttleNext = 0;
      server.knobs.failNext = 0;
      server.knobs.rejectCells.clear();
      server.knobs.unsampledCells.clear();
      server.knobs.delayMs = 0;
      server.knobs.authFailure = false;
      server.knobs.audienceError = undefined;
    },
  };
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliProject, collect, finished } from './cli-project.js';
import type { TestWarehouse } from './warehouses.js';

/** A value, or a promise of it: fakes backed by a database answer asynchronously. */
type MaybeAsync<T> = T | Promise<T>;

/**
 * What the shared scenario set needs from a destination's fake server. Every
 * destination's fake implements this, and `describeDestinationScenarios` runs the
 * same scenarios against it on every available warehouse.
 */
export interface ScenarioFake {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** `destinations.dest` literal for audsync.config.ts, pointing at the fake (baseUrl). */
  destinationConfig(): string;
  /** `target` literal of the sync, e.g. `{ listId: 'L1' }`, or '{}'. */
  target(): string;
  /**
   * `fields` literal mapping destination fields to columns of the scenario model
   * (columns: id, email, first_name, last_name, phone, tier).
   */
  fields(): string;
  /** Environment the CLI needs (secrets). */
  env(): Record<string, string>;
  /** Key column: 'id' or 'email' (destinations keyed by email). */
  readonly keyColumn?: 'id' | 'email';
  /** The audience as the destination holds it now: key -> comparable fields. */
  members(): MaybeAsync<Map<string, Record<string, unknown>>>;
  /** What members() should hold for these model rows. */
  expected(rows: ScenarioRow[]): Map<string, Record<string, unknown>>;
  /** Requests the fake has answered (any status). */
  requestCount(): MaybeAsync<number>;
  /** The next `n` write requests answer with the destination's throttling response. */
  throttleNext(n: number): MaybeAsync<void>;
  /** The next `n` write requests answer with a 5xx. */
  failNext(n: number): MaybeAsync<void>;
  /** Refuse this member per row (e.g. invalid email) until cleared. */
  rejectKey(key: string): MaybeAsync<void>;
  /** Every write request waits this long. */
  setDelay(ms: number): MaybeAsync<void>;
  clearFaults(): MaybeAsync<void>;
  /** Batch size to configure so the scenarios make several requests. */
  readonly smallBatch: number;
}

export interface ScenarioRow {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
  phone: string;
  tier: string;
}

const MODEL = `select id, email, first_name, last_name, phone, tier
from {{source 'src' 'people'}}
where active
`;

function config(fake: ScenarioFake, extraDest = ''): string {
  return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { dest: ${fake.destinationConfig().replace(/\}\s*$/, `, batchSize: ${fake.smallBatch}, retryBaseDelayMs: 5, timeoutMs: 3000${extraDest} }`)} },
  syncs: {
    people_sync: { model: 'people', destination: 'dest', key: '${fake.keyColumn ?? 'id'}', mode: 'mirror', fields: ${fake.fields()}, target: ${fake.target()} },
  },
});
void env;
`;
}

/** n people, ids 1..n, all active. */
function seedSql(n: number): string[] {
  return [
    'CREATE SCHEMA IF NOT EXISTS src',
    'CREATE TABLE src.people (id INTEGER, email VARCHAR, first_name VARCHAR, last_name VARCHAR, phone VARCHAR, tier VARCHAR, active BOOLEAN)',
    `INSERT INTO src.people SELECT i, 'person' || i || '@example.com', 'First' || i, 'Last' || i, '+1555' || lpad(CAST(i AS VARCHAR), 7, '0'), CASE WHEN i % 2 = 0 THEN 'gold' ELSE 'silver' END, TRUE FROM generate_series(1, ${n}) AS t(i)`,
  ];
}

async function rows(p: CliProject): Promise<ScenarioRow[]> {
  const r = await p.query('SELECT id, email, first_name, last_name, phone, tier FROM src.people WHERE active ORDER BY id');
  return r.map((x) => ({ id: Number(x.id), email: String(x.email), first_name: String(x.first_name), last_name: String(x.last_name), phone: String(x.phone), tier: String(x.tier) }));
}

/**
 * The shared scenario set of DESIGN.md §6, against one destination's fake, on the
 * first available warehouse (DuckDB). A destination sees the warehouse only
 * through the JSON text of each row, which type-fidelity pins on every warehouse;
 * how each warehouse keeps state through retries, rejections and kills is the
 * sync-scenarios and write-ahead-log suites' business, on every warehouse.
 */
export function describeDestinationScenarios(name: string, makeFake: () => ScenarioFake, warehouses: TestWarehouse[]): void {
  describe.each(warehouses.slice(0, 1))(`${name} scenarios on $name`, (wh) => {
    let fake: ScenarioFake;
    let p: CliProject;
    const run = (...args: string[]) => p.cli(['run', '--json', ...args], fake.env());
    const expectConverged = async () => expect(await fake.members()).toEqual(fake.expected(await rows(p)));
    const keyOf = (id: number) => (fake.keyColumn === 'email' ? `person${id}@example.com` : String(id));

    beforeEach(async () => {
      fake = makeFake();
      await fake.start();
      p = await CliProject.create(wh, { 'audsync.config.ts': config(fake), 'models/people.sql': MODEL });
    });
    afterEach(async () => {
      await fake.stop();
      await p.cleanUp();
    });

    // One project per scenario costs a warehouse each: the initial load is the churn scenario's first run.
    it('initial load makes the destination equal to the audience; churn sends exactly the delta and converges; no change sends nothing', async () => {
      await p.exec(...seedSql(40));
      const first = await run();
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(finished(first, 'people_sync')).toMatchObject({ status: 'success', counts: { succeeded_add: 40 } });
      await expectConverged();
      await p.exec(
        `UPDATE src.people SET tier = 'platinum', first_name = 'Changed' WHERE id IN (1, 2)`,
        'UPDATE src.people SET active = FALSE WHERE id IN (3, 4)',
        'DELETE FROM src.people WHERE id = 5',
        `INSERT INTO src.people VALUES (41, 'person41@example.com', 'First41', 'Last41', '+15550000041', 'gold', TRUE)`,
      );
      const r = await run();
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(finished(r, 'people_sync')).toMatchObject({ status: 'success', counts: { planned_add: 1, planned_change: 2, planned_remove: 3, succeeded_add: 1, succeeded_change: 2, succeeded_remove: 3 } });
      await expectConverged();
      const before = await fake.requestCount();
      const idle = await run();
      expect(finished(idle, 'people_sync').counts).toMatchObject({ planned_add: 0, planned_change: 0, planned_remove: 0 });
      expect(await fake.requestCount()).toBe(before);
    });

    it('a throttling and 5xx storm still converges', async () => {
      await p.exec(...seedSql(40));
      await fake.throttleNext(3);
      const r1 = await run();
      expect(r1.code, r1.stdout + r1.stderr).toBe(0);
      await p.exec('UPDATE src.people SET active = FALSE WHERE id <= 3');
      await fake.failNext(3);
      const r2 = await run();
      expect(finished(r2, 'people_sync')).toMatchObject({ status: 'success' });
      expect(r1.events.filter((e) => e.event === 'retry').length + r2.events.filter((e) => e.event === 'retry').length).toBeGreaterThanOrEqual(6);
      await expectConverged();
    });

    it('rejected rows are recorded with the reason and retried by the next run', async () => {
      await p.exec(...seedSql(20));
      await fake.rejectKey(keyOf(7));
      const r = await run();
      expect(r.code).toBe(0);
      expect(finished(r, 'people_sync')).toMatchObject({ status: 'warning', counts: { rejected: 1, succeeded_add: 19 } });
      const [rej] = await p.query(`SELECT record_key, error_message FROM audsync.sync_changelog WHERE status = 'rejected'`);
      expect(rej?.record_key).toBe(keyOf(7));
      expect(String(rej?.error_message)).not.toBe('');
      await fake.clearFaults();
      const again = await run();
      expect(finished(again, 'people_sync')).toMatchObject({ status: 'success', counts: { planned_add: 1, succeeded_add: 1 } });
      await expectConverged();
    });

    it('kill -9 in the middle, then an immediate rerun, converges with nothing lost', async () => {
      await p.exec(...seedSql(60));
      await fake.setDelay(80);
      const child = p.spawn(['run', '--json'], fake.env());
      const done = collect(child);
      const t0 = Date.now();
      while ((await fake.requestCount()) < 3 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 10));
      child.kill('SIGKILL');
      await done;
      await fake.setDelay(0);
      const r = await run();
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(finished(r, 'people_sync').status).toBe('success');
      await expectConverged();
    });
  });
}

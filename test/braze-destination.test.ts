import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';
import { FakeBrazeServer } from './fakes/braze-server.js';

const KEY = 'braze-test-rest-key';
const ENV = { BRAZE_KEY: KEY };
const GROUP = 'sg-newsletter';

const MODEL = `select id, 'u-' || CAST(id AS VARCHAR) AS braze_user, email, first_name, tier from {{source 'src' 'people'}} where active\n`;

interface Options {
  mode?: string;
  target?: string;
  fields?: string;
  batchSize?: number;
  baseUrl?: boolean;
}

function config(bz: FakeBrazeServer, o: Options = {}): string {
  const base = o.baseUrl === false ? '' : `baseUrl: '${bz.url}', `;
  return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { bz: { type: 'braze', apiKey: env('BRAZE_KEY'), ${base}${o.batchSize ? `batchSize: ${o.batchSize}, ` : ''}retryBaseDelayMs: 5, timeoutMs: 3000 } },
  syncs: {
    people_bz: { model: 'people', destination: 'bz', key: 'id', mode: '${o.mode ?? 'mirror'}',
      fields: ${o.fields ?? `{ email: 'email', first_name: 'first_name', tier: 'tier' }`}, target: ${o.target ?? '{}'},
      guardrails: { maxRemovePercent: 100 } },
  },
});
void env;
`;
}

function seed(n: number): string[] {
  return [
    'CREATE SCHEMA IF NOT EXISTS src',
    'CREATE TABLE src.people (id INTEGER, email VARCHAR, first_name VARCHAR, tier VARCHAR, active BOOLEAN)',
    `INSERT INTO src.people SELECT i, 'person' || i || '@example.com', 'First' || i, CASE WHEN i % 2 = 0 THEN 'gold' ELSE 'silver' END, TRUE FROM generate_series(1, ${n}) AS t(i)`,
  ];
}

type Attributes = Array<Record<string, unknown>>;
const attributesOf = (bz: FakeBrazeServer): Attributes[] => bz.accepted('/users/track').map((r) => (r.body as { attributes: Attributes }).attributes);

describe('braze destination', () => {
  let bz: FakeBrazeServer;
  let p: CliProject;
  const run = (env = ENV) => p.cli(['run', '--json'], env);
  const project = async (o: Options = {}) => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(bz, o), 'models/people.sql': MODEL });
  };

  beforeEach(async () => {
    bz = await new FakeBrazeServer(KEY, [GROUP]).start();
  });
  afterEach(async () => {
    await bz.stop();
    await p.cleanUp();
  });

  it('tracks users in requests of at most 75 objects with Bearer auth, membership as audsync_<sync> = true', async () => {
    await project();
    await p.exec(...seed(160));
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 'people_bz')).toMatchObject({ status: 'success', counts: { succeeded_add: 160 } });
    const batches = attributesOf(bz);
    expect(batches.map((b) => b.length).sort((a, b) => b - a)).toEqual([75, 75, 10]);
    expect(bz.requests.every((q) => q.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(batches.flat().find((a) => a.external_id === '2')).toEqual({
      external_id: '2',
      email: 'person2@example.com',
      first_name: 'First2',
      tier: 'gold',
      audsync_people_bz: true,
      _update_existing_only: false,
    });
    // No subscription group configured: the subscription endpoint is never called.
    expect(bz.requests.filter((q) => q.path.startsWith('/v2/subscription'))).toHaveLength(0);
    const [row] = await p.query(`SELECT destination_record_id FROM audsync.sync_changelog WHERE record_key = '2'`);
    expect(row?.destination_record_id).toBe('2');
  });

  it('a removal writes only the membership attribute (false), update-only, to the external_id written back', async () => {
    await project({ fields: `{ external_id: 'braze_user', email: 'email', tier: 'tier' }`, target: `{ attribute: 'vip_audience' }` });
    await p.exec(...seed(5));
    expect((await run()).code).toBe(0);
    const [sent] = await p.query(`SELECT destination_record_id FROM audsync.sync_changelog WHERE record_key = '3'`);
    expect(sent?.destination_record_id).toBe('u-3');
    expect(bz.users.get('u-3')).toMatchObject({ vip_audience: true, email: 'person3@example.com' });
    await p.exec('UPDATE src.people SET active = FALSE WHERE id = 3');
    const before = bz.requests.length;
    const r = await run();
    expect(finished(r, 'people_bz')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1 } });
    const removal = (bz.requests.slice(before).map((q) => q.body as { attributes: Attributes })[0]!).attributes;
    expect(removal).toEqual([{ external_id: 'u-3', vip_audience: false, _update_existing_only: true }]);
    // The profile and its data stay; only membership changed.
    expect(bz.users.get('u-3')).toEqual({ email: 'person3@example.com', tier: 'silver', vip_audience: false });
  });

  it("removeValue 'null' unsets the attribute instead of setting false", async () => {
    await project({ target: `{ removeValue: 'null' }` });
    await p.exec(...seed(3));
    expect((await run()).code).toBe(0);
    await p.exec('DELETE FROM src.people WHERE id = 1');
    expect(finished(await run(), 'people_bz').counts).toMatchObject({ succeeded_remove: 1 });
    expect(bz.users.get('1')).not.toHaveProperty('audsync_people_bz');
    expect(bz.users.get('1')).toHaveProperty('email', 'person1@example.com');
  });

  it('per-index errors reject exactly those rows with the Braze error type; the rest succeed', async () => {
    await project();
    await p.exec(...seed(10));
    bz.knobs.rejectKeys.set('4', "Invalid value for attribute 'email'");
    bz.knobs.rejectKeys.set('9', 'Bad external_id');
    const r = await run();
    expect(r.code).toBe(0);
    expect(finished(r, 'people_bz')).toMatchObject({ status: 'warning', counts: { succeeded_add: 8, rejected: 2 } });
    const rows = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected' ORDER BY record_key`);
    expect(rows).toEqual([
      { record_key: '4', error_code: "Invalid value for attribute 'email'", error_message: "Braze refused this user: Invalid value for attribute 'email'" },
      { record_key: '9', error_code: 'Bad external_id', error_message: 'Braze refused this user: Bad external_id' },
    ]);
  });

  it('objects Braze silently did not process are failed, never succeeded, and sent again next run', async () => {
    await project({ batchSize: 5 });
    await p.exec(...seed(10));
    bz.knobs.dropKeys.add('7');
    const r = await run();
    // Braze reports only a count: the batch holding the drop cannot be confirmed row by row.
    expect(finished(r, 'people_bz')).toMatchObject({ status: 'warning', counts: { succeeded_add: 5, failed: 5 } });
    const [row] = await p.query(`SELECT error_code, error_message FROM audsync.sync_changelog WHERE record_key = '7'`);
    expect(row).toEqual({ error_code: 'unconfirmed', error_message: 'Braze processed 4 of 5 attribute objects without saying which; not confirmed, retried next run' });
    bz.knobs.dropKeys.clear();
    expect(finished(await run(), 'people_bz')).toMatchObject({ status: 'success', counts: { planned_add: 5, succeeded_add: 5 } });
    expect(bz.users.get('7')).toMatchObject({ audsync_people_bz: true });
  });

  it('a revoked key stops the sync at once with a message naming the destination, and nothing is retried', async () => {
    await project({ batchSize: 5 });
    await p.exec(...seed(50));
    bz.knobs.revoked = true;
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'people_bz');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/^destination bz \(Braze\): HTTP 401, the destination refused our credentials/);
    expect(f.error).not.toContain(KEY);
    expect(String(f.hint)).toMatch(/Check apiKey of destination bz \(Braze\)/);
    expect(bz.requests.length).toBeLessThanOrEqual(4); // the first wave at most (concurrency 4)
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });

  it('without baseUrl the sync fails before sending, asking for the cluster endpoint', async () => {
    await project({ baseUrl: false });
    await p.exec(...seed(3));
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'people_bz');
    expect(f.error).toBe("destinations.bz.baseUrl: is required for Braze (your cluster's REST endpoint)");
    expect(String(f.hint)).toContain('https://rest.iad-01.braze.com');
    expect(bz.requests).toHaveLength(0);
  });

  it('a baseUrl with a wrong path (404) stops the sync instead of rejecting row by row', async () => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(bz).replace(`baseUrl: '${bz.url}'`, `baseUrl: '${bz.url}/api/v1'`), 'models/people.sql': MODEL });
    await p.exec(...seed(3));
    const r = await run();
    expect(r.code).toBe(1);
    expect(finished(r, 'people_bz').error).toBe('destination bz (Braze): HTTP 404 for /users/track');
    expect(await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE status = 'rejected'`)).toBe(0);
  });

  it('update mode writes existing profiles only (_update_existing_only: true)', async () => {
    await project({ mode: 'update' });
    bz.users.set('2', { email: 'old@example.com' });
    await p.exec(...seed(3));
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(attributesOf(bz).flat().every((a) => a._update_existing_only === true)).toBe(true);
    expect([...bz.users.keys()]).toEqual(['2']);
    expect(bz.users.get('2')).toMatchObject({ email: 'person2@example.com', audsync_people_bz: true });
  });

  describe('subscription group', () => {
    it('subscribes members once when they enter, in entries of at most 50 ids; removal leaves consent alone by default', async () => {
      await project({ target: `{ subscriptionGroupId: '${GROUP}' }` });
      await p.exec(...seed(75));
      expect((await run()).code).toBe(0);
      const subs = bz.accepted('/v2/subscription/status/set').map((q) => (q.body as { subscription_groups: Array<{ subscription_group_id: string; subscription_state: string; external_ids: string[] }> }).subscription_groups);
      expect(subs.map((g) => g[0]!.external_ids.length)).toEqual([50, 25]);
      expect(subs.every((g) => g[0]!.subscription_group_id === GROUP && g[0]!.subscription_state === 'subscribed')).toBe(true);
      expect(bz.subscriptions.get(GROUP)!.size).toBe(75);

      // Person 2 unsubscribes in Braze; a later field change must not re-subscribe them.
      bz.subscriptions.get(GROUP)!.set('2', 'unsubscribed');
      await p.exec(`UPDATE src.people SET tier = 'platinum' WHERE id = 2`, 'UPDATE src.people SET active = FALSE WHERE id = 3');
      const before = bz.requests.length;
      const r = await run();
      expect(finished(r, 'people_bz')).toMatchObject({ status: 'success', counts: { succeeded_change: 1, succeeded_remove: 1 } });
      expect(bz.requests.slice(before).filter((q) => q.path.startsWith('/v2/subscription'))).toHaveLength(0);
      expect(bz.subscriptions.get(GROUP)!.get('2')).toBe('unsubscribed');
      expect(bz.subscriptions.get(GROUP)!.get('3')).toBe('subscribed');
      expect(bz.users.get('3')).toMatchObject({ audsync_people_bz: false });
    });

    it('unsubscribeOnRemove: true unsubscribes removed members, because the sync asked for it', async () => {
      await project({ target: `{ subscriptionGroupId: '${GROUP}', unsubscribeOnRemove: true }` });
      await p.exec(...seed(4));
      expect((await run()).code).toBe(0);
      await p.exec('UPDATE src.people SET active = FALSE WHERE id = 3');
      expect(finished(await run(), 'people_bz').counts).toMatchObject({ succeeded_remove: 1 });
      expect(bz.subscriptions.get(GROUP)!.get('3')).toBe('unsubscribed');
      expect(bz.subscriptions.get(GROUP)!.get('4')).toBe('subscribed');
    });

    it('a subscription call Braze refuses rejects its rows, so they are tried again next run; all refused fails the sync with the cause', async () => {
      await project({ target: `{ subscriptionGroupId: 'sg-unknown' }` });
      await p.exec(...seed(3));
      const r = await run();
      expect(r.code).toBe(1);
      const done = finished(r, 'people_bz');
      expect(done).toMatchObject({ status: 'failed', counts: { rejected: 3 } });
      expect(String(done.error)).toContain('Subscription group sg-unknown not found');
      const [row] = await p.query(`SELECT error_code, error_message FROM audsync.sync_changelog WHERE record_key = '1'`);
      expect(row).toEqual({ error_code: 'subscription_400', error_message: 'Braze refused to set subscription state subscribed: HTTP 400: Subscription group sg-unknown not found' });
    });
  });
});

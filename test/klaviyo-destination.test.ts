import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';
import { FakeKlaviyoServer } from './fakes/klaviyo-server.js';

const API_KEY = 'pk_test_0123456789abcdef0123456789';
const LIST = 'Y6nRLr';
const ENV = { KLAVIYO_API_KEY: API_KEY };

const MODEL = `select id, email, tier from {{source 'src' 'customers'}} where active\n`;

function config(url: string, o: { mode?: string; target?: string; dest?: string; fields?: string } = {}): string {
  return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: {
    kl: { type: 'klaviyo', apiKey: env('KLAVIYO_API_KEY'), baseUrl: '${url}', pollIntervalMs: 5, rateLimit: 1000, batchSize: 4, retryBaseDelayMs: 5, timeoutMs: 3000${o.dest ?? ''} },
  },
  syncs: {
    vip: {
      model: 'customers', destination: 'kl', key: 'id', mode: '${o.mode ?? 'mirror'}',
      fields: ${o.fields ?? `{ external_id: 'id', email: 'email', tier: 'tier' }`},
      target: ${o.target ?? `{ listId: '${LIST}' }`},
    },
  },
});
`;
}

describe('klaviyo destination contract', () => {
  let kl: FakeKlaviyoServer;
  let p: CliProject;
  const run = (env: Record<string, string> = ENV) => p.cli(['run', '--json'], env);
  const setUp = async (n: number, o: Parameters<typeof config>[1] = {}) => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(kl.url, o), 'models/customers.sql': MODEL });
    await p.exec(
      'CREATE SCHEMA src',
      'CREATE TABLE src.customers (id INTEGER, email VARCHAR, tier VARCHAR, active BOOLEAN)',
      `INSERT INTO src.customers SELECT i, ' User' || i || '@Example.com', CASE WHEN i % 2 = 0 THEN 'gold' ELSE 'silver' END, TRUE FROM generate_series(1, ${n}) t(i)`,
    );
  };
  const inList = () => new Set(kl.members(LIST).map((m) => m.external_id));

  beforeEach(async () => {
    kl = await new FakeKlaviyoServer(API_KEY, [LIST]).start();
  });
  afterEach(async () => {
    await kl.stop();
    await p?.cleanUp();
  });

  it('imports profiles through bulk jobs with the list relationship, pinned revision and JSON:API headers', async () => {
    await setUp(6);
    const r = await run();
    expect(finished(r, 'vip')).toMatchObject({ status: 'success', counts: { succeeded_add: 6 } });
    const posts = kl.requestsTo('POST', '/api/profile-bulk-import-jobs');
    expect(posts).toHaveLength(2); // batchSize 4: 4 + 2
    const first = posts[0]!;
    expect(first.headers.authorization).toBe(`Klaviyo-API-Key ${API_KEY}`);
    expect(first.headers.revision).toBe('2024-10-15');
    expect(first.headers['content-type']).toBe('application/vnd.api+json');
    expect(first.body).toEqual({
      data: {
        type: 'profile-bulk-import-job',
        attributes: {
          profiles: {
            data: [1, 2, 3, 4].map((i) => ({
              type: 'profile',
              // external_id as a string; email normalized in the warehouse; unknown fields become custom properties.
              attributes: { external_id: String(i), email: `user${i}@example.com`, properties: { tier: i % 2 === 0 ? 'gold' : 'silver' } },
            })),
          },
        },
        relationships: { lists: { data: [{ type: 'list', id: LIST }] } },
      },
    });
    // Each job is polled to completion, then its profiles are read for their ids (page size at the documented max).
    expect(kl.requestsTo('GET', '/api/profile-bulk-import-jobs/').length).toBeGreaterThanOrEqual(4);
    const pages = kl.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/profiles'));
    expect(pages.every((q) => q.query.get('page[size]') === '100')).toBe(true);
    expect(inList()).toEqual(new Set(['1', '2', '3', '4', '5', '6']));
    // The profile id is written back as destination_record_id.
    const rows = await p.query(`SELECT record_key, destination_record_id FROM audsync.sync_changelog ORDER BY CAST(record_key AS INTEGER)`);
    const idOf = new Map([...kl.profiles.values()].map((pr) => [pr.external_id, pr.id]));
    expect(rows).toEqual([1, 2, 3, 4, 5, 6].map((i) => ({ record_key: String(i), destination_record_id: idOf.get(String(i)) })));
  });

  it('the revision header is an option', async () => {
    await setUp(2, { dest: ", revision: '2025-07-15'" });
    expect((await run()).code).toBe(0);
    expect(new Set(kl.requests.map((q) => q.headers.revision))).toEqual(new Set(['2025-07-15']));
  });

  it('removal takes the stored profile id off the list and leaves the profile and its consent alone', async () => {
    await setUp(6);
    expect((await run()).code).toBe(0);
    const [stored] = await p.query(`SELECT destination_record_id FROM audsync.sync_changelog WHERE record_key = '3'`);
    await p.exec('UPDATE src.customers SET active = FALSE WHERE id = 3');
    kl.requests.length = 0;
    const r = await run();
    expect(finished(r, 'vip')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1 } });
    const deletes = kl.requestsTo('DELETE', `/api/lists/${LIST}/relationships/profiles`);
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.body).toEqual({ data: [{ type: 'profile', id: stored!.destination_record_id }] });
    expect(kl.requestsTo('GET', '/api/profiles')).toHaveLength(0); // no lookup: the id was kept
    expect(inList().has('3')).toBe(false);
    expect([...kl.profiles.values()].some((pr) => pr.external_id === '3')).toBe(true);
    expect(kl.suppressed.size).toBe(0);
    expect(kl.requestsTo('POST', '/api/profile-suppression-bulk-create-jobs')).toHaveLength(0);
  });

  it('suppression on removal happens only when the sync asks for it', async () => {
    await setUp(3, { target: `{ listId: '${LIST}', suppressOnRemove: true }` });
    expect((await run()).code).toBe(0);
    await p.exec('UPDATE src.customers SET active = FALSE WHERE id = 2');
    expect(finished(await run(), 'vip')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1 } });
    expect(kl.suppressed).toEqual(new Set(['user2@example.com']));
    expect(kl.requestsTo('POST', '/api/profile-suppression-bulk-create-jobs')[0]!.body).toEqual({
      data: { type: 'profile-suppression-bulk-create-job', attributes: { profiles: { data: [{ type: 'profile', attributes: { email: 'user2@example.com' } }] } } },
    });
  });

  it('import errors are mapped back to their rows; rows the job silently leaves out are failed; both retried next run', async () => {
    await setUp(6);
    kl.knobs.rejectProfiles.set('user2@example.com', 'Invalid email address');
    kl.knobs.dropProfiles.add('5');
    const r = await run();
    expect(r.code).toBe(0);
    expect(finished(r, 'vip')).toMatchObject({ status: 'warning', counts: { succeeded_add: 4, rejected: 1, failed: 1 } });
    const bad = await p.query(`SELECT record_key, status, error_code, error_message, destination_record_id FROM audsync.sync_changelog WHERE status <> 'succeeded' ORDER BY record_key`);
    expect(bad).toEqual([
      { record_key: '2', status: 'rejected', error_code: 'invalid', error_message: 'Invalid input. Invalid email address', destination_record_id: null },
      { record_key: '5', status: 'failed', error_code: 'not_confirmed', error_message: expect.stringMatching(/completed without reporting this profile/), destination_record_id: null },
    ]);
    kl.knobs.rejectProfiles.clear();
    kl.knobs.dropProfiles.clear();
    const again = await run();
    expect(finished(again, 'vip')).toMatchObject({ status: 'success', counts: { planned_add: 2, succeeded_add: 2 } });
    expect(inList()).toEqual(new Set(['1', '2', '3', '4', '5', '6']));
  });

  it('bad credentials fail the sync at once with a message naming the destination', async () => {
    await setUp(20);
    const r = await run({ KLAVIYO_API_KEY: 'pk_wrong_key_000000000000000000' });
    expect(r.code).toBe(1);
    const f = finished(r, 'vip');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/destination kl: HTTP 401, the destination refused our credentials/);
    expect(f.error).not.toContain('pk_wrong_key');
    expect(f.hint).toMatch(/Check the credentials configured for destination kl/);
    expect(kl.requests.length).toBeLessThanOrEqual(2); // concurrency 2: the first wave only, nothing retried
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });

  it('throttled polls are retried inside the batch, without re-submitting the job', async () => {
    await setUp(3);
    kl.knobs.throttleReads = 3;
    const r = await run();
    expect(finished(r, 'vip')).toMatchObject({ status: 'success', counts: { succeeded_add: 3 } });
    expect(kl.requestsTo('POST', '/api/profile-bulk-import-jobs')).toHaveLength(1);
    expect(kl.requests.filter((q) => q.status === 429)).toHaveLength(3);
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });

  it('a throttled import (429 + Retry-After) and a cancelled job are retried by the engine and converge', async () => {
    await setUp(4);
    kl.knobs.throttleWrites = 1;
    kl.knobs.cancelJobs = 1;
    const r = await run();
    expect(finished(r, 'vip')).toMatchObject({ status: 'success', counts: { succeeded_add: 4 } });
    const reasons = r.events.filter((e) => e.event === 'retry').map((e) => String(e.reason));
    expect(reasons).toEqual([expect.stringMatching(/HTTP 429/), expect.stringMatching(/cancelled/)]);
    expect(inList()).toEqual(new Set(['1', '2', '3', '4']));
  });

  it('remove mode finds profiles without a stored id by identifier, and treats an unknown person as already removed', async () => {
    await setUp(3, { mode: 'remove' });
    // Profiles that exist in Klaviyo already (imported by someone else), two of them in the list.
    kl.profiles.set('P1', { id: 'P1', external_id: '1', email: 'user1@example.com', properties: {} });
    kl.profiles.set('P2', { id: 'P2', external_id: '2', email: 'user2@example.com', properties: {} });
    kl.lists.get(LIST)!.add('P1').add('P2');
    const r = await run();
    expect(finished(r, 'vip')).toMatchObject({ status: 'success', counts: { succeeded_remove: 3 } });
    expect(kl.requestsTo('GET', '/api/profiles')[0]!.query.get('filter')).toBe('any(external_id,["1","2","3"])');
    expect(kl.requestsTo('DELETE', `/api/lists/${LIST}/relationships/profiles`)[0]!.body).toEqual({
      data: [
        { type: 'profile', id: 'P1' },
        { type: 'profile', id: 'P2' },
      ],
    });
    expect(kl.lists.get(LIST)!.size).toBe(0);
    expect(kl.profiles.size).toBe(2);
  });

  it('an unknown list fails the sync with a hint instead of rejecting every row', async () => {
    await setUp(3, { target: `{ listId: 'NoSuchList' }` });
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'vip');
    expect(f.error).toMatch(/destination kl: Klaviyo refused list "NoSuchList"/);
    expect(f.hint).toMatch(/target\.listId/);
  });

  it('update mode is refused (bulk import always creates), and batchSize is capped at 10,000', async () => {
    await setUp(1, { mode: 'update' });
    let r = await run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/syncs\.vip\.mode: destination type klaviyo supports mirror \| upsert \| add \| remove, not update/);
    p.write({ 'audsync.config.ts': config(kl.url).replace('batchSize: 4', 'batchSize: 10001') });
    r = await run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/destinations\.kl\.batchSize: must be at most 10000/);
    expect(kl.requests).toHaveLength(0);
  });
});

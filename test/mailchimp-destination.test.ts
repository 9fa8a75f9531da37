import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';
import { FakeMailchimpServer, fakeSubscriberHash } from './fakes/mailchimp-server.js';
import { mailchimpConnection } from '../destinations/mailchimp/mailchimp-http.js';
import { ConfigError } from '../engine/errors.js';

const KEY = '0123456789abcdef0123456789abcdef-us21';
const ENV = { MC_KEY: KEY };
const LIST = 'a1b2c3d4e5';
const TAG = 'audsync_people_mc';

const MODEL = `select id, email, first_name, tier from {{source 'src' 'people'}} where active\n`;

interface Options {
  mode?: string;
  target?: string;
  batchSize?: number;
  concurrency?: number;
}

function config(mc: FakeMailchimpServer, o: Options = {}): string {
  const extra = `${o.batchSize ? `batchSize: ${o.batchSize}, ` : ''}${o.concurrency ? `concurrency: ${o.concurrency}, ` : ''}`;
  return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { mc: { type: 'mailchimp', apiKey: env('MC_KEY'), baseUrl: '${mc.url}', ${extra}retryBaseDelayMs: 5, timeoutMs: 3000 } },
  syncs: {
    people_mc: { model: 'people', destination: 'mc', key: 'email', mode: '${o.mode ?? 'mirror'}',
      fields: { email: 'email', FNAME: 'first_name', TIER: 'tier' }, target: ${o.target ?? `{ listId: '${LIST}' }`},
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
    `INSERT INTO src.people SELECT i, 'Person' || i || '@Example.com', 'First' || i, CASE WHEN i % 2 = 0 THEN 'gold' ELSE NULL END, TRUE FROM generate_series(1, ${n}) AS t(i)`,
  ];
}

interface BatchBody {
  members: Array<Record<string, unknown>>;
  update_existing: boolean;
}

describe('mailchimp destination', () => {
  let mc: FakeMailchimpServer;
  let p: CliProject;
  const run = (env = ENV) => p.cli(['run', '--json'], env);
  const project = async (o: Options = {}) => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(mc, o), 'models/people.sql': MODEL });
  };
  const batches = () => mc.requests.filter((q) => q.path === `/3.0/lists/${LIST}` && q.status === 200).map((q) => q.body as BatchBody);

  beforeEach(async () => {
    mc = await new FakeMailchimpServer(KEY, [LIST]).start();
  });
  afterEach(async () => {
    await mc.stop();
    await p.cleanUp();
  });

  it('upserts in batches of at most 500 with Basic auth: tag added, status only for new contacts, merge fields by name', async () => {
    await project();
    await p.exec(...seed(600));
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 'people_mc')).toMatchObject({ status: 'success', counts: { succeeded_add: 600 } });
    const sent = batches();
    expect(sent.map((b) => b.members.length).sort((a, b) => b - a)).toEqual([500, 100]);
    expect(sent.every((b) => b.update_existing === true)).toBe(true);
    expect(mc.requests.every((q) => q.headers.authorization === `Basic ${Buffer.from(`audsync:${KEY}`).toString('base64')}`)).toBe(true);
    // Emails are trimmed and lower-cased in the warehouse; NULL merge values clear the field ('').
    expect(sent.flatMap((b) => b.members).find((m) => m.email_address === 'person1@example.com')).toEqual({
      email_address: 'person1@example.com',
      status_if_new: 'transactional',
      tags: [TAG],
      merge_fields: { FNAME: 'First1', TIER: '' },
    });
    // The member id (MD5 of the lower-cased email) is written back for later removals; the record key stays as the model has it.
    const [row] = await p.query(`SELECT destination_record_id FROM audsync.sync_changelog WHERE record_key = 'Person2@Example.com'`);
    expect(row?.destination_record_id).toBe(fakeSubscriberHash('person2@example.com'));
  });

  it('tag mode never touches consent: an unsubscribed contact gets the tag but stays unsubscribed, and removal only removes the tag', async () => {
    await project();
    mc.lists.get(LIST)!.set(fakeSubscriberHash('person2@example.com'), {
      id: fakeSubscriberHash('person2@example.com'),
      email_address: 'person2@example.com',
      status: 'unsubscribed',
      merge_fields: {},
      tags: new Set(['customer']),
    });
    await p.exec(...seed(3));
    expect((await run()).code).toBe(0);
    expect(mc.member(LIST, 'person2@example.com')).toMatchObject({ status: 'unsubscribed', tags: new Set(['customer', TAG]) });
    expect(mc.member(LIST, 'person1@example.com')).toMatchObject({ status: 'transactional', tags: new Set([TAG]) });

    await p.exec(`UPDATE src.people SET active = FALSE WHERE id IN (1, 2)`);
    const before = mc.requests.length;
    const r = await run();
    expect(finished(r, 'people_mc')).toMatchObject({ status: 'success', counts: { succeeded_remove: 2 } });
    const calls = mc.requests.slice(before);
    // One tags call per removed member, addressed by the stored member id; no batch (status) call.
    expect(calls.map((q) => q.path).sort()).toEqual(
      [`/3.0/lists/${LIST}/members/${fakeSubscriberHash('person1@example.com')}/tags`, `/3.0/lists/${LIST}/members/${fakeSubscriberHash('person2@example.com')}/tags`].sort(),
    );
    expect(calls.every((q) => JSON.stringify(q.body) === JSON.stringify({ tags: [{ name: TAG, status: 'inactive' }] }))).toBe(true);
    expect(mc.member(LIST, 'person2@example.com')).toMatchObject({ status: 'unsubscribed', tags: new Set(['customer']) });
    expect(mc.member(LIST, 'person1@example.com')).toMatchObject({ status: 'transactional', tags: new Set() });
  });

  it('removing a member Mailchimp no longer has (404) counts as done', async () => {
    await project();
    await p.exec(...seed(2));
    expect((await run()).code).toBe(0);
    mc.lists.get(LIST)!.delete(fakeSubscriberHash('person1@example.com'));
    await p.exec('DELETE FROM src.people WHERE id = 1');
    expect(finished(await run(), 'people_mc')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1 } });
  });

  it('per-member errors are mapped back by email as rejected with the error code; the rest succeed', async () => {
    await project();
    await p.exec(...seed(6));
    mc.knobs.rejectKeys.set('person4@example.com', 'person4@example.com looks fake or invalid, please enter a real email address.');
    const r = await run();
    expect(finished(r, 'people_mc')).toMatchObject({ status: 'warning', counts: { succeeded_add: 5, rejected: 1 } });
    const rows = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rows).toEqual([
      {
        record_key: 'Person4@Example.com',
        error_code: 'ERROR_GENERIC',
        error_message: 'person4@example.com looks fake or invalid, please enter a real email address. (email_address: Invalid email)',
      },
    ]);
  });

  it('a member the 200 answer does not mention is failed, never succeeded, and sent again next run', async () => {
    await project();
    await p.exec(...seed(4));
    mc.knobs.dropKeys.add('person3@example.com');
    const r = await run();
    expect(finished(r, 'people_mc')).toMatchObject({ status: 'warning', counts: { succeeded_add: 3, failed: 1 } });
    const [row] = await p.query(`SELECT record_key, error_code FROM audsync.sync_changelog WHERE status = 'failed'`);
    expect(row).toEqual({ record_key: 'Person3@Example.com', error_code: 'unconfirmed' });
    mc.knobs.dropKeys.clear();
    expect(finished(await run(), 'people_mc')).toMatchObject({ status: 'success', counts: { planned_add: 1, succeeded_add: 1 } });
  });

  it('a disabled key stops the sync at once with a message naming the destination', async () => {
    await project({ batchSize: 5 });
    await p.exec(...seed(40));
    mc.knobs.revoked = true;
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'people_mc');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/^destination mc \(Mailchimp\): HTTP 401, the destination refused our credentials/);
    expect(f.error).not.toContain(KEY);
    expect(String(f.hint)).toMatch(/Check apiKey of destination mc \(Mailchimp\)/);
    expect(mc.requests.length).toBeLessThanOrEqual(2); // concurrency 2: the first wave at most
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });

  it('an unknown audience id stops the sync with a hint about target.listId', async () => {
    await project({ target: `{ listId: 'nosuchlist' }` });
    await p.exec(...seed(3));
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'people_mc');
    expect(f.error).toBe('destination mc (Mailchimp): audience "nosuchlist" not found (HTTP 404)');
    expect(String(f.hint)).toContain('syncs.people_mc.target.listId');
  });

  it('status mode, chosen explicitly: entering subscribes, removal unsubscribes, a change never re-subscribes', async () => {
    await project({ target: `{ listId: '${LIST}', membership: 'status' }` });
    await p.exec(...seed(3));
    expect((await run()).code).toBe(0);
    expect(batches()[0]!.members.find((m) => m.email_address === 'person1@example.com')).toEqual({
      email_address: 'person1@example.com',
      status: 'subscribed',
      merge_fields: { FNAME: 'First1', TIER: '' },
    });
    expect(mc.members(LIST).map((m) => m.status)).toEqual(['subscribed', 'subscribed', 'subscribed']);
    // Person 2 unsubscribes in Mailchimp; a later change to their fields keeps that choice.
    mc.member(LIST, 'person2@example.com')!.status = 'unsubscribed';
    await p.exec(`UPDATE src.people SET tier = 'platinum' WHERE id = 2`, 'UPDATE src.people SET active = FALSE WHERE id = 3');
    const r = await run();
    expect(finished(r, 'people_mc')).toMatchObject({ status: 'success', counts: { succeeded_change: 1, succeeded_remove: 1 } });
    expect(mc.member(LIST, 'person2@example.com')).toMatchObject({ status: 'unsubscribed', merge_fields: { TIER: 'platinum' } });
    expect(mc.member(LIST, 'person3@example.com')!.status).toBe('unsubscribed');
    expect(mc.members(LIST).every((m) => m.tags.size === 0)).toBe(true);
  });

  it('removals of many members stay under Mailchimp\'s 10 connections', async () => {
    await project({ batchSize: 100 });
    await p.exec(...seed(200));
    expect((await run()).code).toBe(0);
    mc.maxInFlight = 0;
    mc.knobs.delayMs = 20;
    await p.exec('UPDATE src.people SET active = FALSE');
    const r = await run();
    expect(finished(r, 'people_mc')).toMatchObject({ status: 'success', counts: { succeeded_remove: 200 } });
    expect(mc.maxInFlight).toBeGreaterThan(1);
    expect(mc.maxInFlight).toBeLessThanOrEqual(8);
    expect(mc.members(LIST).filter((m) => m.tags.has(TAG))).toHaveLength(0);
  });

  it('update mode is refused at config load: the batch call cannot avoid creating contacts', async () => {
    await project({ mode: 'update' });
    await p.exec(...seed(1));
    const r = await run();
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain('destination type mailchimp supports mirror | upsert | add | remove, not update');
    expect(mc.requests).toHaveLength(0);
  });
});

describe('mailchimp host', () => {
  it('comes from the API key suffix unless baseUrl is set', () => {
    expect(mailchimpConnection('abc-us21', undefined, 1000, 'mc').apiBase).toBe('https://us21.api.mailchimp.com/3.0');
    expect(mailchimpConnection('abc-us21', 'http://127.0.0.1:9/proxy', 1000, 'mc').apiBase).toBe('http://127.0.0.1:9/proxy/3.0');
  });

  it('a key without a data-center suffix is a config error that does not quote the key', () => {
    const attempt = () => mailchimpConnection('secretwithoutsuffix', undefined, 1000, 'mc');
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/destinations\.mc\.apiKey: a Mailchimp API key ends with its data center/);
    try {
      attempt();
    } catch (e) {
      expect((e as Error).message).not.toContain('secretwithoutsuffix');
    }
  });
});

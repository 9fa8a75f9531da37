import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';
import { FakeIterableServer } from './fakes/iterable-server.js';

const KEY = 'iterable-test-api-key';
const ENV = { ITERABLE_KEY: KEY };
const LIST = 777;

const MODEL = `select id, email, 'user-' || CAST(id AS VARCHAR) AS user_id, first_name, tier from {{source 'src' 'people'}} where active\n`;

interface Options {
  mode?: string;
  target?: string;
  fields?: string;
  key?: string;
}

function config(it: FakeIterableServer, o: Options = {}): string {
  return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { it: { type: 'iterable', apiKey: env('ITERABLE_KEY'), baseUrl: '${it.url}', retryBaseDelayMs: 5, timeoutMs: 3000 } },
  syncs: {
    people_it: { model: 'people', destination: 'it', key: '${o.key ?? 'email'}', mode: '${o.mode ?? 'mirror'}',
      fields: ${o.fields ?? `{ email: 'email', firstName: 'first_name', tier: 'tier' }`}, target: ${o.target ?? `{ listId: ${LIST} }`},
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

interface ListBody {
  listId: number;
  subscribers: Array<Record<string, unknown>>;
  updateExistingUsersOnly?: boolean;
  channelUnsubscribe?: boolean;
}

describe('iterable destination', () => {
  let fake: FakeIterableServer;
  let p: CliProject;
  const run = (env = ENV) => p.cli(['run', '--json'], env);
  const project = async (o: Options = {}) => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(fake, o), 'models/people.sql': MODEL });
  };
  const bodies = (path: string) => fake.requests.filter((q) => q.path === path && q.status === 200).map((q) => q.body as ListBody);

  beforeEach(async () => {
    fake = await new FakeIterableServer(KEY, [LIST]).start();
  });
  afterEach(async () => {
    await fake.stop();
    await p.cleanUp();
  });

  it('subscribes in requests of at most 1,000 with the Api-Key header, other fields as dataFields', async () => {
    await project();
    await p.exec(...seed(1500));
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 'people_it')).toMatchObject({ status: 'success', counts: { succeeded_add: 1500 } });
    const sent = bodies('/api/lists/subscribe');
    expect(sent.map((b) => b.subscribers.length).sort((a, b) => b - a)).toEqual([1000, 500]);
    expect(fake.requests.every((q) => q.headers['api-key'] === KEY)).toBe(true);
    expect(sent[0]).toMatchObject({ listId: LIST, updateExistingUsersOnly: false });
    expect(sent.flatMap((b) => b.subscribers).find((s) => s.email === 'person2@example.com')).toEqual({
      email: 'person2@example.com',
      dataFields: { firstName: 'First2', tier: 'gold' },
    });
    expect(fake.members(LIST)).toHaveLength(1500);
  });

  it('removal leaves the list only: channelUnsubscribe false, identity only, the user and their channels untouched', async () => {
    await project();
    await p.exec(...seed(4));
    expect((await run()).code).toBe(0);
    await p.exec('UPDATE src.people SET active = FALSE WHERE id IN (2, 3)');
    const r = await run();
    expect(finished(r, 'people_it')).toMatchObject({ status: 'success', counts: { succeeded_remove: 2 } });
    const [body] = bodies('/api/lists/unsubscribe');
    expect({ ...body, subscribers: [...body!.subscribers].sort((a, b) => String(a.email).localeCompare(String(b.email))) }).toEqual({
      listId: LIST,
      subscribers: [{ email: 'person2@example.com' }, { email: 'person3@example.com' }],
      channelUnsubscribe: false,
    });
    expect(fake.channelUnsubscribed.size).toBe(0);
    expect(fake.userByEmail('person2@example.com')).toEqual({ email: 'person2@example.com', dataFields: { firstName: 'First2', tier: 'gold' } });
    expect(fake.members(LIST).map((u) => u.email).sort()).toEqual(['person1@example.com', 'person4@example.com']);
  });

  it('failedUpdates map to rows: invalid and forgotten rejected with the list name, the rest succeed', async () => {
    await project();
    await p.exec(...seed(5));
    fake.knobs.rejectKeys.add('person2@example.com');
    fake.knobs.forgottenKeys.add('person4@example.com');
    const r = await run();
    expect(finished(r, 'people_it')).toMatchObject({ status: 'warning', counts: { succeeded_add: 3, rejected: 2 } });
    const rows = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected' ORDER BY record_key`);
    expect(rows).toEqual([
      { record_key: 'person2@example.com', error_code: 'invalidEmails', error_message: 'Iterable listed this subscriber in invalidEmails' },
      { record_key: 'person4@example.com', error_code: 'forgottenEmails', error_message: 'privacy-deleted (forgotten) user in Iterable; audsync never re-adds them' },
    ]);
    expect(fake.userByEmail('person4@example.com')).toBeUndefined();
  });

  it('older accounts report invalidEmails at the top level: still mapped to the row', async () => {
    await project();
    await p.exec(...seed(3));
    fake.knobs.legacyShape = true;
    fake.knobs.rejectKeys.add('person1@example.com');
    const r = await run();
    expect(finished(r, 'people_it')).toMatchObject({ status: 'warning', counts: { succeeded_add: 2, rejected: 1 } });
    const [row] = await p.query(`SELECT record_key, error_code FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(row).toEqual({ record_key: 'person1@example.com', error_code: 'invalidEmails' });
  });

  it('unsubscribing a user Iterable no longer knows (notFoundEmails) counts as done', async () => {
    await project();
    await p.exec(...seed(2));
    expect((await run()).code).toBe(0);
    const gone = fake.userByEmail('person1@example.com')!;
    fake.users.splice(fake.users.indexOf(gone), 1);
    fake.lists.get(LIST)!.delete(gone);
    await p.exec('DELETE FROM src.people WHERE id = 1');
    expect(finished(await run(), 'people_it')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1 } });
  });

  it('subscribers Iterable neither counted nor listed are failed, never succeeded, and sent again next run', async () => {
    await project();
    await p.exec(...seed(4));
    fake.knobs.dropKeys.add('person3@example.com');
    const r = await run();
    // successCount says one is missing but not which: the batch's unlisted rows are unconfirmed.
    expect(finished(r, 'people_it')).toMatchObject({ status: 'failed', counts: { succeeded_add: 0, failed: 4 } });
    const [row] = await p.query(`SELECT error_code, error_message FROM audsync.sync_changelog WHERE record_key = 'person3@example.com'`);
    expect(row).toEqual({ error_code: 'unconfirmed', error_message: 'Iterable counted 3 successes for 4 subscribers it did not list as failed; not confirmed, retried next run' });
    fake.knobs.dropKeys.clear();
    expect(finished(await run(), 'people_it')).toMatchObject({ status: 'success', counts: { planned_add: 4, succeeded_add: 4 } });
  });

  it('a revoked key stops the sync at once with a message naming the destination', async () => {
    await project();
    await p.exec(...seed(10));
    fake.knobs.revoked = true;
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'people_it');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/^destination it \(Iterable\): HTTP 401, the destination refused our credentials/);
    expect(f.error).not.toContain(KEY);
    expect(String(f.hint)).toMatch(/Check apiKey of destination it \(Iterable\)/);
    expect(fake.requests).toHaveLength(1);
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });

  it('update mode subscribes existing users only; unknown ones are rejected, not created', async () => {
    await project({ mode: 'update' });
    fake.users.push({ email: 'person1@example.com', dataFields: {} });
    await p.exec(...seed(2));
    const r = await run();
    expect(finished(r, 'people_it')).toMatchObject({ status: 'warning', counts: { succeeded_change: 1, rejected: 1 } });
    expect(bodies('/api/lists/subscribe')[0]!.updateExistingUsersOnly).toBe(true);
    const [row] = await p.query(`SELECT record_key, error_code FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(row).toEqual({ record_key: 'person2@example.com', error_code: 'notFoundEmails' });
    expect(fake.users).toHaveLength(1);
  });

  it("identifyBy 'userId' names users by the userId field and matches failures by user id", async () => {
    await project({ key: 'id', target: `{ listId: ${LIST}, identifyBy: 'userId' }`, fields: `{ userId: 'user_id', email: 'email', tier: 'tier' }` });
    await p.exec(...seed(3));
    fake.knobs.rejectKeys.add('user-2');
    const r = await run();
    expect(finished(r, 'people_it')).toMatchObject({ status: 'warning', counts: { succeeded_add: 2, rejected: 1 } });
    expect(bodies('/api/lists/subscribe')[0]!.subscribers[0]).toEqual({ userId: 'user-1', preferUserId: true, email: 'person1@example.com', dataFields: { tier: 'silver' } });
    const [row] = await p.query(`SELECT record_key, error_code FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(row).toEqual({ record_key: '2', error_code: 'invalidUserIds' });
    await p.exec('UPDATE src.people SET active = FALSE WHERE id = 1');
    fake.knobs.rejectKeys.clear();
    expect((await run()).code).toBe(0);
    expect(bodies('/api/lists/unsubscribe')[0]).toEqual({ listId: LIST, subscribers: [{ userId: 'user-1' }], channelUnsubscribe: false });
  });
});

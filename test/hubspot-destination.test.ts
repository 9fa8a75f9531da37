import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';
import { FakeHubSpotServer } from './fakes/hubspot-server.js';

const TOKEN = 'pat-na1-test-token';
const ENV = { HUBSPOT_TOKEN: TOKEN };
const LIST = '77';

const MODEL = `select id, email, first_name, tier from {{source 'src' 'people'}} where active\n`;

function config(hs: FakeHubSpotServer, o: { key?: string; mode?: string; target?: string; batchSize?: number; fields?: string; rateLimit?: number } = {}): string {
  return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { hs: { type: 'hubspot', accessToken: env('HUBSPOT_TOKEN'), baseUrl: '${hs.url}', batchSize: ${o.batchSize ?? 100}, retryBaseDelayMs: 5, timeoutMs: 3000${o.rateLimit ? `, rateLimit: ${o.rateLimit}` : ''} } },
  syncs: {
    people_hs: { model: 'people', destination: 'hs', key: '${o.key ?? 'id'}', mode: '${o.mode ?? 'mirror'}',
      fields: ${o.fields ?? `{ email: 'email', firstname: 'first_name', tier: 'tier' }`}, target: ${o.target ?? `{ listId: '${LIST}' }`} },
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

interface UpsertBody {
  inputs: Array<{ id: string; idProperty: string; properties: Record<string, string>; objectWriteTraceId: string }>;
}
interface MembershipBody {
  recordIdsToAdd: string[];
  recordIdsToRemove: string[];
}

describe('hubspot destination', () => {
  let hs: FakeHubSpotServer;
  let p: CliProject;
  const run = (env = ENV) => p.cli(['run', '--json'], env);
  const project = async (o: Parameters<typeof config>[1] = {}) => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(hs, o), 'models/people.sql': MODEL });
  };

  beforeEach(async () => {
    hs = await new FakeHubSpotServer(TOKEN).start();
    hs.addList(LIST);
  });
  afterEach(async () => {
    await hs.stop();
    await p.cleanUp();
  });

  it('upserts in calls of at most 100 by email with the record key as objectWriteTraceId, then adds the returned ids to the list', async () => {
    await project();
    await p.exec(...seed(150));
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 'people_hs')).toMatchObject({ status: 'success', counts: { succeeded_add: 150 } });
    const upserts = hs.requestsTo('/batch/upsert').map((q) => q.body as UpsertBody);
    expect(upserts.map((b) => b.inputs.length)).toEqual([100, 50]);
    const first = upserts.flatMap((b) => b.inputs).find((i) => i.objectWriteTraceId === '2')!;
    // Emails are trimmed and lower-cased in the warehouse (never hashed); values go as strings, NULL as '' (clears).
    expect(first).toEqual({ id: 'person2@example.com', idProperty: 'email', objectWriteTraceId: '2', properties: { email: 'person2@example.com', firstname: 'First2', tier: 'gold' } });
    expect(upserts.flatMap((b) => b.inputs).find((i) => i.objectWriteTraceId === '1')!.properties.tier).toBe('');
    const memberships = hs.requestsTo('/memberships/add-and-remove');
    expect(memberships.every((q) => q.method === 'PUT' && q.path === `/crm/v3/lists/${LIST}/memberships/add-and-remove`)).toBe(true);
    expect(memberships.flatMap((q) => (q.body as MembershipBody).recordIdsToAdd)).toHaveLength(150);
    expect(hs.listMembers(LIST)).toHaveLength(150);
    // The HubSpot record id is written back, so a later removal needs no lookup.
    const [row] = await p.query(`SELECT destination_record_id FROM audsync.sync_changelog WHERE record_key = '2'`);
    expect(row?.destination_record_id).toBe(hs.contactBy('email', 'person2@example.com')!.id);
  });

  it('rateLimit counts requests: each batch makes two (upsert, list membership), each waits its turn', async () => {
    await project({ batchSize: 10, rateLimit: 20 });
    await p.exec(...seed(40));
    expect((await run()).code).toBe(0);
    // Counting, not timing: 4 batches make 8 requests, and each took its own turn (per batch it would be 4).
    expect(hs.requests).toHaveLength(8);
    expect(await p.count(`SELECT value FROM audsync.sync_run_metrics WHERE metric = 'rate_limit.turns'`)).toBe(8);
  });

  it('removes by the stored record id without a lookup, and never deletes or unsubscribes the contact', async () => {
    await project();
    await p.exec(...seed(10));
    expect((await run()).code).toBe(0);
    const id3 = hs.contactBy('email', 'person3@example.com')!.id;
    hs.requests.length = 0;
    await p.exec('UPDATE src.people SET active = FALSE WHERE id = 3');
    const r = await run();
    expect(finished(r, 'people_hs')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1 } });
    expect(hs.requests.map((q) => q.path)).toEqual([`/crm/v3/lists/${LIST}/memberships/add-and-remove`]);
    expect(hs.requests[0]!.body).toEqual({ recordIdsToAdd: [], recordIdsToRemove: [id3] });
    expect(hs.listMembers(LIST).map((c) => c.id)).not.toContain(id3);
    expect(hs.contacts.get(id3)).toBeDefined();
    expect(hs.contacts.size).toBe(10);
  });

  it('maps a 207 per row by objectWriteTraceId; rows a 2xx silently omits are failed, and both are retried next run', async () => {
    await project();
    await p.exec(...seed(6));
    hs.knobs.rejectIds.set('person2@example.com', 'Property values were not valid: INVALID_EMAIL');
    hs.knobs.dropIds.add('person5@example.com');
    const r = await run();
    expect(r.code).toBe(0);
    expect(finished(r, 'people_hs')).toMatchObject({ status: 'warning', counts: { succeeded_add: 4, rejected: 1, failed: 1 } });
    const rows = await p.query(`SELECT record_key, status, error_code, error_message FROM audsync.sync_changelog WHERE status <> 'succeeded' ORDER BY record_key`);
    expect(rows).toEqual([
      { record_key: '2', status: 'rejected', error_code: 'VALIDATION_ERROR', error_message: 'Property values were not valid: INVALID_EMAIL' },
      { record_key: '5', status: 'failed', error_code: 'missing_result', error_message: expect.stringMatching(/without a result for this row/) },
    ]);
    // Neither joined the list: a row is only added once HubSpot confirmed its contact.
    expect(hs.listMembers(LIST).map((c) => c.properties.email).sort()).toEqual(['person1@example.com', 'person3@example.com', 'person4@example.com', 'person6@example.com']);
    hs.knobs.rejectIds.clear();
    hs.knobs.dropIds.clear();
    const again = await run();
    expect(finished(again, 'people_hs')).toMatchObject({ status: 'success', counts: { planned_add: 2, succeeded_add: 2 } });
    expect(hs.listMembers(LIST)).toHaveLength(6);
  });

  it('a rejected token fails the sync at once with a message naming the destination', async () => {
    await project({ batchSize: 5 });
    await p.exec(...seed(40));
    const r = await run({ HUBSPOT_TOKEN: 'pat-na1-wrong' });
    expect(r.code).toBe(1);
    const f = finished(r, 'people_hs');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/^destination hs \(HubSpot\): HTTP 401, the destination refused our credentials/);
    expect(f.error).not.toContain('pat-na1-wrong');
    // Concurrency 2: at most the first wave was tried, nothing retried.
    expect(hs.requests.length).toBeLessThanOrEqual(2);
    expect(await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE status = 'aborted'`)).toBeGreaterThan(0);
  });

  it('a 429 with Retry-After is waited out and retried', async () => {
    await project();
    await p.exec(...seed(3));
    hs.knobs.throttleNext = 1;
    hs.knobs.retryAfter = '1';
    const r = await run();
    expect(finished(r, 'people_hs').status).toBe('success');
    // The wait is the retry's delay, as the runner reports it (no wall clock).
    const retry = r.events.find((e) => e.event === 'retry');
    expect(retry).toMatchObject({ delay_ms: 1000 });
    expect(String(retry?.reason)).toMatch(/HTTP 429/);
    expect(hs.requests.length).toBeGreaterThanOrEqual(2);
  });

  it('an email change moves list membership to the new contact; the old contact stays, out of the list', async () => {
    await project();
    await p.exec(...seed(3));
    expect((await run()).code).toBe(0);
    const old = hs.contactBy('email', 'person1@example.com')!;
    await p.exec(`UPDATE src.people SET email = 'renamed1@example.com' WHERE id = 1`);
    const r = await run();
    expect(finished(r, 'people_hs')).toMatchObject({ status: 'success', counts: { succeeded_change: 1 } });
    const renamed = hs.contactBy('email', 'renamed1@example.com')!;
    expect(renamed.id).not.toBe(old.id);
    expect(hs.listMembers(LIST).map((c) => c.id).sort()).toEqual([renamed.id, hs.contactBy('email', 'person2@example.com')!.id, hs.contactBy('email', 'person3@example.com')!.id].sort());
    expect(hs.contacts.has(old.id)).toBe(true);
    const [row] = await p.query(`SELECT destination_record_id FROM audsync.sync_changelog WHERE record_key = '1' AND op = 'change'`);
    expect(row?.destination_record_id).toBe(renamed.id);
  });

  it('two rows with one email in a batch are sent in separate calls, never as duplicate inputs', async () => {
    await project();
    await p.exec(...seed(4), `UPDATE src.people SET email = 'person1@example.com' WHERE id = 2`);
    const r = await run();
    expect(finished(r, 'people_hs')).toMatchObject({ status: 'success', counts: { succeeded_add: 4 } });
    expect(hs.requests.every((q) => q.status < 400)).toBe(true);
    expect(hs.requestsTo('/batch/upsert').map((q) => (q.body as UpsertBody).inputs.length)).toEqual([3, 1]);
    expect(hs.contacts.size).toBe(3);
  });

  it('remove mode looks contacts up by email (batch/read) and counts unknown ones as removed', async () => {
    const kept = hs.seedContact({ email: 'person1@example.com' });
    const gone = hs.seedContact({ email: 'person2@example.com' });
    hs.lists.get(LIST)!.members.add(kept.id).add(gone.id);
    await project({ mode: 'remove' });
    await p.exec(...seed(3), 'UPDATE src.people SET active = FALSE WHERE id = 1');
    const r = await run();
    expect(finished(r, 'people_hs')).toMatchObject({ status: 'success', counts: { succeeded_remove: 2 } });
    const read = hs.requestsTo('/batch/read')[0]!.body as { idProperty: string; inputs: Array<{ id: string }> };
    expect(read.idProperty).toBe('email');
    expect(read.inputs.map((i) => i.id).sort()).toEqual(['person2@example.com', 'person3@example.com']);
    expect([...hs.lists.get(LIST)!.members]).toEqual([kept.id]);
    expect(hs.contacts.size).toBe(2);
  });

  it('update mode changes existing contacts by record id, creates none, and leaves the list alone', async () => {
    hs.seedContact({ email: 'person1@example.com', firstname: 'Old' });
    await project({ mode: 'update', target: '{}' });
    await p.exec(...seed(2));
    const r = await run();
    expect(finished(r, 'people_hs')).toMatchObject({ status: 'warning', counts: { succeeded_change: 1, rejected: 1 } });
    expect(hs.contactBy('email', 'person1@example.com')!.properties.firstname).toBe('First1');
    expect(hs.contacts.size).toBe(1);
    expect(hs.requestsTo('/batch/upsert')).toHaveLength(0);
    expect(hs.requestsTo('/memberships/add-and-remove')).toHaveLength(0);
    const [rej] = await p.query(`SELECT record_key, error_code FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rej).toEqual({ record_key: '2', error_code: 'OBJECT_NOT_FOUND' });
  });

  it('a DYNAMIC list stops the sync with a hint instead of rejecting every row', async () => {
    hs.lists.get(LIST)!.processingType = 'DYNAMIC';
    await project({ batchSize: 2 });
    await p.exec(...seed(10));
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'people_hs');
    expect(f.error).toMatch(/destination hs \(HubSpot\): list 77: HTTP 400: .*DYNAMIC/);
    expect(String(f.hint)).toMatch(/MANUAL or SNAPSHOT/);
    expect(hs.requestsTo('/memberships/add-and-remove').length).toBeLessThanOrEqual(2);
  });

  it('a sync that does not map the id property fails before sending, naming the setting', async () => {
    await project({ fields: `{ firstname: 'first_name' }` });
    await p.exec(...seed(2));
    const r = await run();
    expect(r.code).toBe(1);
    expect(finished(r, 'people_hs').error).toMatch(/syncs\.people_hs\.fields: must map "email"/);
    expect(hs.requests).toHaveLength(0);
  });
});

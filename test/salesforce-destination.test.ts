import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';
import { FakeSalesforceServer } from './fakes/salesforce-server.js';

const CLIENT_ID = 'test-consumer-key';
const CLIENT_SECRET = 'test-consumer-secret';
const REFRESH_TOKEN = 'test-refresh-token-5Aep861';
const ENV = { SF_CLIENT_SECRET: CLIENT_SECRET, SF_REFRESH_TOKEN: REFRESH_TOKEN };
const EXT = 'Audsync_Key__c';
const FLAG = 'In_Audience__c';

const MODEL = `select id, email, first_name, last_name, tier from {{source 'src' 'people'}} where active\n`;

interface Opts {
  mode?: string;
  target?: string;
  fields?: string;
  batchSize?: number;
  extraOptions?: string;
}

function config(sf: FakeSalesforceServer, o: Opts = {}): string {
  return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { sf: { type: 'salesforce', clientId: '${CLIENT_ID}', clientSecret: env('SF_CLIENT_SECRET'), refreshToken: env('SF_REFRESH_TOKEN'),
    baseUrl: '${sf.url}', pollIntervalMs: 5, batchSize: ${o.batchSize ?? 1000}, retryBaseDelayMs: 5, timeoutMs: 3000${o.extraOptions ?? ''} } },
  syncs: {
    people_sf: { model: 'people', destination: 'sf', key: 'id', mode: '${o.mode ?? 'mirror'}',
      fields: ${o.fields ?? `{ Email: 'email', FirstName: 'first_name', LastName: 'last_name', Tier__c: 'tier' }`},
      target: ${o.target ?? `{ externalIdField: '${EXT}', audienceField: '${FLAG}' }`} },
  },
});
void env;
`;
}

function seed(n: number): string[] {
  return [
    'CREATE SCHEMA IF NOT EXISTS src',
    'CREATE TABLE src.people (id INTEGER, email VARCHAR, first_name VARCHAR, last_name VARCHAR, tier VARCHAR, active BOOLEAN)',
    `INSERT INTO src.people SELECT i, 'person' || i || '@example.com', 'First' || i, 'Last' || i, CASE WHEN i % 2 = 0 THEN 'gold' ELSE NULL END, TRUE FROM generate_series(1, ${n}) AS t(i)`,
  ];
}

/** The CSV uploaded to each job, in order. */
function uploads(sf: FakeSalesforceServer): string[] {
  return sf.requestsTo(/^PUT .*\/batches$/).map((r) => r.body);
}

describe('salesforce destination', () => {
  let sf: FakeSalesforceServer;
  let p: CliProject;
  const run = (env: Record<string, string> = ENV) => p.cli(['run', '--json'], env);
  const project = async (o: Opts = {}) => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(sf, o), 'models/people.sql': MODEL });
  };
  const contact = (key: string) => sf.find('Contact', EXT, key);

  beforeEach(async () => {
    sf = await new FakeSalesforceServer({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      refreshToken: REFRESH_TOKEN,
      customFields: { Contact: ['Tier__c', FLAG] },
      externalIds: { Contact: [EXT], Lead: [EXT] },
    }).start();
  });
  afterEach(async () => {
    await sf.stop();
    await p.cleanUp();
  });

  it('runs one ingest job per batch: create, CSV upload, UploadComplete, poll, results joined on the external id', async () => {
    sf.knobs.pollsBeforeComplete = 3;
    await project({ batchSize: 4 });
    await p.exec(...seed(6));
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 'people_sf')).toMatchObject({ status: 'success', counts: { succeeded_add: 6 } });
    // The token came from the refresh-token flow.
    const token = sf.requestsTo(/^POST \/services\/oauth2\/token$/);
    expect(token).toHaveLength(1);
    expect(Object.fromEntries(new URLSearchParams(token[0]!.body))).toEqual({ grant_type: 'refresh_token', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, refresh_token: REFRESH_TOKEN });
    const creates = sf.requestsTo(/^POST \/services\/data\/v62\.0\/jobs\/ingest$/);
    expect(creates).toHaveLength(2);
    expect(JSON.parse(creates[0]!.body)).toEqual({ object: 'Contact', operation: 'upsert', externalIdFieldName: EXT, contentType: 'CSV', lineEnding: 'LF' });
    const csvs = uploads(sf);
    expect(csvs.map((c) => c.split('\n')[0])).toEqual([`${EXT},Email,FirstName,LastName,Tier__c,${FLAG}`, `${EXT},Email,FirstName,LastName,Tier__c,${FLAG}`]);
    // A NULL goes as #N/A, which clears the field in Salesforce (an empty value would leave it as it was).
    expect(csvs.join('')).toContain('1,person1@example.com,First1,Last1,#N/A,true\n');
    const jobId = JSON.parse(sf.requestsTo(/^PATCH /)[0]!.body) as { state: string };
    expect(jobId).toEqual({ state: 'UploadComplete' });
    // Three InProgress polls and the final one, for each of the two jobs.
    expect(sf.requestsTo(/^GET \/services\/data\/v62\.0\/jobs\/ingest\/[^/]+$/)).toHaveLength(8);
    expect(sf.requestsTo(/successfulResults\/$/)).toHaveLength(2);
    expect(contact('2')).toMatchObject({ Email: 'person2@example.com', Tier__c: 'gold', [FLAG]: 'true' });
    expect(contact('1')!.Tier__c).toBeNull();
    // The results came back in reverse order; each row still got its own Contact Id.
    const rows = await p.query(`SELECT record_key, destination_record_id FROM audsync.sync_changelog ORDER BY record_key`);
    expect(rows).toEqual(['1', '2', '3', '4', '5', '6'].map((k) => ({ record_key: k, destination_record_id: contact(k)!.Id })));
  });

  it('maps failed results per row (CODE:message) and counts rows missing from both result files as failed', async () => {
    await project();
    await p.exec(...seed(5), 'UPDATE src.people SET last_name = NULL WHERE id = 4');
    sf.knobs.rejectKeys.set('2', 'INVALID_EMAIL_ADDRESS:Email: invalid email address: person2@example:Email --');
    sf.knobs.dropKeys.add('5');
    const r = await run();
    expect(r.code).toBe(0);
    expect(finished(r, 'people_sf')).toMatchObject({ status: 'warning', counts: { succeeded_add: 2, rejected: 2, failed: 1 } });
    const rows = await p.query(`SELECT record_key, status, error_code, error_message FROM audsync.sync_changelog WHERE status <> 'succeeded' ORDER BY record_key`);
    expect(rows).toEqual([
      { record_key: '2', status: 'rejected', error_code: 'INVALID_EMAIL_ADDRESS', error_message: 'INVALID_EMAIL_ADDRESS:Email: invalid email address: person2@example:Email --' },
      { record_key: '4', status: 'rejected', error_code: 'REQUIRED_FIELD_MISSING', error_message: expect.stringMatching(/^REQUIRED_FIELD_MISSING:Required fields are missing: \[LastName\]/) },
      { record_key: '5', status: 'failed', error_code: 'missing_result', error_message: expect.stringMatching(/results do not include this row/) },
    ]);
    sf.knobs.rejectKeys.clear();
    sf.knobs.dropKeys.clear();
    await p.exec(`UPDATE src.people SET last_name = 'Four' WHERE id = 4`);
    expect(finished(await run(), 'people_sf')).toMatchObject({ status: 'success', counts: { planned_add: 3, succeeded_add: 3 } });
  });

  it('removal clears the audience field by the stored Contact Id, without a lookup, and leaves the Contact and its consent alone', async () => {
    await project();
    await p.exec(...seed(4));
    expect((await run()).code).toBe(0);
    const c3 = contact('3')!;
    c3.HasOptedOutOfEmail = 'false';
    sf.requests.length = 0;
    await p.exec('UPDATE src.people SET active = FALSE WHERE id = 3');
    const r = await run();
    expect(finished(r, 'people_sf')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1 } });
    expect(sf.requestsTo(/\/query$/)).toHaveLength(0);
    expect(JSON.parse(sf.requestsTo(/^POST .*\/jobs\/ingest$/)[0]!.body)).toMatchObject({ object: 'Contact', operation: 'update' });
    expect(uploads(sf)).toEqual([`Id,${FLAG}\n${c3.Id},false\n`]);
    expect(contact('3')).toMatchObject({ Id: c3.Id, [FLAG]: 'false', HasOptedOutOfEmail: 'false', Email: 'person3@example.com' });
    expect(sf.all('Contact')).toHaveLength(4);
  });

  it('remove mode looks records up by external id (SOQL), never creates one, and counts unknown keys as removed', async () => {
    const kept = sf.insert('Contact', { [EXT]: '1', LastName: 'One', [FLAG]: 'true' });
    const leaving = sf.insert('Contact', { [EXT]: '2', LastName: 'Two', [FLAG]: 'true' });
    await project({ mode: 'remove' });
    await p.exec(...seed(3), 'UPDATE src.people SET active = FALSE WHERE id = 1');
    const r = await run();
    expect(finished(r, 'people_sf')).toMatchObject({ status: 'success', counts: { succeeded_remove: 2 } });
    const q = new URLSearchParams(sf.requestsTo(/\/query$/)[0]!.query).get('q');
    expect(q).toBe(`SELECT Id, ${EXT} FROM Contact WHERE ${EXT} IN ('2', '3')`);
    expect(uploads(sf)).toEqual([`Id,${FLAG}\n${leaving.Id},false\n`]);
    expect(sf.all('Contact').map((c) => [c.Id, c[FLAG]])).toEqual([
      [kept.Id, 'true'],
      [leaving.Id, 'false'],
    ]);
  });

  it("removal 'campaignMember' inserts CampaignMembers, keeps their Id, and deletes them on removal; the Contact stays", async () => {
    const campaign = sf.insert('Campaign', { Name: 'VIP' });
    await project({ target: `{ externalIdField: '${EXT}', removal: 'campaignMember', campaignId: '${campaign.Id}', campaignMemberStatus: 'Responded' }` });
    await p.exec(...seed(3));
    // Person 2 is already a member (added by hand): the insert says DUPLICATE_VALUE and the existing member is looked up.
    const c2 = sf.insert('Contact', { [EXT]: '2', LastName: 'Two' });
    const handMade = sf.insert('CampaignMember', { CampaignId: campaign.Id, ContactId: c2.Id, Status: 'Sent' });
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 'people_sf')).toMatchObject({ status: 'success', counts: { succeeded_add: 3 } });
    const inserts = sf.requestsTo(/^POST .*\/jobs\/ingest$/).map((q) => JSON.parse(q.body) as { object: string; operation: string });
    expect(inserts).toEqual([expect.objectContaining({ object: 'Contact', operation: 'upsert' }), expect.objectContaining({ object: 'CampaignMember', operation: 'insert' })]);
    expect(uploads(sf)[1]!.split('\n')[0]).toBe('CampaignId,ContactId,Status');
    const members = sf.all('CampaignMember');
    expect(members).toHaveLength(3);
    const ids = await p.query(`SELECT record_key, destination_record_id FROM audsync.sync_changelog ORDER BY record_key`);
    expect(ids.map((x) => String(x.destination_record_id).slice(0, 3))).toEqual(['00v', '00v', '00v']);
    expect(ids[1]!.destination_record_id).toBe(handMade.Id);

    const m1 = ids[0]!.destination_record_id as string;
    sf.requests.length = 0;
    await p.exec('UPDATE src.people SET active = FALSE WHERE id = 1', `UPDATE src.people SET tier = 'platinum' WHERE id = 3`);
    const r2 = await run();
    expect(finished(r2, 'people_sf')).toMatchObject({ status: 'success', counts: { succeeded_remove: 1, succeeded_change: 1 } });
    // The change only upserts (already a member); the removal deletes by the stored CampaignMember Id, no query.
    expect(sf.requestsTo(/\/query$/)).toHaveLength(0);
    expect(sf.requestsTo(/^POST .*\/jobs\/ingest$/).map((q) => JSON.parse(q.body).operation)).toEqual(['upsert', 'delete']);
    expect(uploads(sf)[1]).toBe(`Id\n${m1}\n`);
    expect(sf.all('CampaignMember').map((m) => m.ContactId).sort()).toEqual([c2.Id, contact('3')!.Id].sort());
    expect(contact('1')).toBeDefined();
    const [change] = await p.query(`SELECT destination_record_id FROM audsync.sync_changelog WHERE record_key = '3' AND op = 'change'`);
    expect(String(change?.destination_record_id)).toMatch(/^00v/);
  });

  it('an expired access token is refreshed once and the batch goes on', async () => {
    const stale = sf.issueToken();
    sf.expireTokens();
    await project({ extraOptions: `, accessToken: env('SF_ACCESS_TOKEN')` });
    await p.exec(...seed(3));
    const r = await run({ ...ENV, SF_ACCESS_TOKEN: stale });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 'people_sf')).toMatchObject({ status: 'success', counts: { succeeded_add: 3 } });
    expect(sf.tokensIssued).toBe(1);
    const first = sf.requests.find((q) => q.path.startsWith('/services/data/'))!;
    expect(first.status).toBe(401);
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });

  it('a configured access token that works is used as is', async () => {
    const token = sf.issueToken();
    await project({ extraOptions: `, accessToken: env('SF_ACCESS_TOKEN')` });
    await p.exec(...seed(2));
    const r = await run({ ...ENV, SF_ACCESS_TOKEN: token });
    expect(finished(r, 'people_sf').status).toBe('success');
    expect(sf.tokensIssued).toBe(0);
  });

  it('a refused refresh token fails the sync at once, clearly, without echoing secrets', async () => {
    sf.refreshRevoked = true;
    await project({ batchSize: 2 });
    await p.exec(...seed(10));
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'people_sf');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/^destination sf \(Salesforce\): the OAuth token endpoint refused to refresh the access token \(HTTP 400: invalid_grant: expired access\/refresh token\)/);
    expect(String(f.hint)).toMatch(/Re-authorize the connected app/);
    expect(r.stdout + r.stderr).not.toContain(REFRESH_TOKEN);
    expect(r.stdout + r.stderr).not.toContain(CLIENT_SECRET);
    // Concurrent batches share one refresh; nothing is retried.
    expect(sf.requestsTo(/oauth2\/token/).length).toBeLessThanOrEqual(2);
    expect(sf.requestsTo(/^POST .*\/jobs\/ingest$/)).toHaveLength(0);
    expect(await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE status = 'aborted'`)).toBeGreaterThan(0);
  });

  it('a freshly refreshed token that is rejected too fails the sync after one refresh', async () => {
    sf.acceptIssuedTokens = false;
    await project({ batchSize: 100 });
    await p.exec(...seed(3));
    const r = await run();
    expect(r.code).toBe(1);
    expect(finished(r, 'people_sf').error).toMatch(/destination sf \(Salesforce\): Salesforce rejected the access token again right after refreshing it \(INVALID_SESSION_ID: Session expired or invalid\)/);
    // The first token (from the refresh-token flow, none being configured) was rejected, refreshed once, rejected again: stop.
    expect(sf.tokensIssued).toBe(2);
    expect(sf.requests.filter((q) => q.status === 401)).toHaveLength(2);
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });

  it('a job that ends Failed (an unknown field) stops the sync with Salesforce\'s reason', async () => {
    await project({ fields: `{ Email: 'email', LastName: 'last_name', Nickname__c: 'first_name' }`, batchSize: 2 });
    await p.exec(...seed(6));
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'people_sf');
    expect(f.error).toMatch(/ingest job \w+ \(upsert Contact\) failed: InvalidBatch : Field name not found : Nickname__c/);
    expect(String(f.hint)).toMatch(/field API names/);
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });

  it('REQUEST_LIMIT_EXCEEDED (a 403) is retried as throttling, and the half-made job is aborted', async () => {
    await project();
    await p.exec(...seed(3));
    sf.knobs.throttleUploadsNext = 1;
    const r = await run();
    expect(finished(r, 'people_sf')).toMatchObject({ status: 'success', counts: { succeeded_add: 3 } });
    const retries = r.events.filter((e) => e.event === 'retry');
    expect(retries).toHaveLength(1);
    expect(String(retries[0]!.reason)).toMatch(/REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded\. \(api-usage=15000\/15000\)/);
    expect([...sf.jobs.values()].map((j) => j.state)).toEqual(['Aborted', 'JobComplete']);
    expect(sf.all('Contact')).toHaveLength(3);
  });

  it('update mode updates existing records by Id and rejects keys Salesforce does not have', async () => {
    sf.insert('Contact', { [EXT]: '1', LastName: 'Old', [FLAG]: 'true' });
    await project({ mode: 'update', target: `{ externalIdField: '${EXT}' }` });
    await p.exec(...seed(2));
    const r = await run();
    expect(finished(r, 'people_sf')).toMatchObject({ status: 'warning', counts: { succeeded_change: 1, rejected: 1 } });
    expect(sf.all('Contact')).toHaveLength(1);
    expect(contact('1')).toMatchObject({ LastName: 'Last1', FirstName: 'First1', [FLAG]: 'true' });
    expect(sf.requestsTo(/^POST .*\/jobs\/ingest$/).map((q) => JSON.parse(q.body).operation)).toEqual(['update']);
    const [rej] = await p.query(`SELECT record_key, error_code FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rej).toEqual({ record_key: '2', error_code: 'NOT_FOUND' });
  });

  it('a mirror sync without an audience field to clear fails before sending, naming the setting', async () => {
    await project({ target: `{ externalIdField: '${EXT}' }` });
    await p.exec(...seed(2));
    const r = await run();
    expect(r.code).toBe(1);
    expect(finished(r, 'people_sf').error).toMatch(/syncs\.people_sf\.target\.audienceField: mode mirror removes members/);
    expect(sf.requests).toHaveLength(0);
  });
});

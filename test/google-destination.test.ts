import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished, type CliResult } from './support/cli-project.js';
import { FakeGoogleAdsServer, type FakeJob } from './fakes/google-ads-server.js';
import { e164, googleEmail, sha256 } from './fakes/google-scenario-fake.js';

const SECRETS = {
  G_CLIENT_ID: 'cm-client.apps.googleusercontent.com',
  G_CLIENT_SECRET: 'cm-client-secret-value',
  G_REFRESH_TOKEN: 'cm-refresh-token-value',
  G_DEV_TOKEN: 'cm-developer-token',
};
const LIST = 'customers/1234567890/userLists/555';

interface Opts {
  batchSize?: number;
  mode?: string;
  consent?: string;
  fields?: string;
}

const config = (g: FakeGoogleAdsServer, o: Opts = {}) => `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: {
    gads: {
      type: 'google_customer_match', transport: 'googleAds',
      clientId: env('G_CLIENT_ID'), clientSecret: env('G_CLIENT_SECRET'), refreshToken: env('G_REFRESH_TOKEN'),
      developerToken: env('G_DEV_TOKEN'), customerId: '123-456-7890', loginCustomerId: '999-000-1111',
      tokenUrl: '${g.tokenUrl}', baseUrl: '${g.baseUrl}',
      batchSize: ${o.batchSize ?? 10}, retryBaseDelayMs: 5, timeoutMs: 3000,
    },
  },
  syncs: {
    cm: {
      model: 'people', destination: 'gads', key: 'id', mode: '${o.mode ?? 'mirror'}',
      fields: ${o.fields ?? "{ email: 'email', phone: 'phone', first_name: 'first_name', last_name: 'last_name', country_code: 'country', postal_code: 'zip' }"},
      target: { userListId: '555', consent: ${o.consent ?? "{ adUserData: 'GRANTED', adPersonalization: 'UNSPECIFIED' }"} },
    },
  },
});
`;

const MODEL = 'select id, email, phone, first_name, last_name, country, zip from {{source "src" "people"}} where active\n';

/** id 1 has a gmail address with dots and a +tag and a full address; id 2 an incomplete address; 3..n plain. */
const seed = (n: number) => [
  'CREATE SCHEMA src',
  'CREATE TABLE src.people (id INTEGER, email VARCHAR, phone VARCHAR, first_name VARCHAR, last_name VARCHAR, country VARCHAR, zip VARCHAR, active BOOLEAN)',
  `INSERT INTO src.people VALUES
    (1, ' John.Smith+x@Gmail.com ', '+1 (555) 010-0200', ' John ', 'Smith', 'us', '94045', TRUE),
    (2, 'Ada@Example.com', NULL, 'Ada', 'Lovelace', NULL, NULL, TRUE)`,
  `INSERT INTO src.people SELECT i, 'person' || i || '@example.com', '+1555' || lpad(CAST(i AS VARCHAR), 7, '0'), 'First' || i, 'Last' || i, NULL, NULL, TRUE FROM generate_series(3, ${n}) AS t(i)`,
];

const emailHash = (raw: string) => sha256(googleEmail(raw));

describe('google_customer_match destination', () => {
  let g: FakeGoogleAdsServer;
  let p: CliProject;
  const run = (...args: string[]) => p.cli(['run', '--json', ...args], SECRETS);
  const writes = () => g.requests.filter((r) => /:(create|addOperations|run)$/.test(r.path));
  const jobs = (): FakeJob[] => [...g.jobs.values()];
  const setUp = async (o: Opts = {}, n = 6) => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(g, o), 'models/people.sql': MODEL });
    await p.exec(...seed(n));
  };

  beforeEach(async () => {
    g = await new FakeGoogleAdsServer({
      clientId: SECRETS.G_CLIENT_ID,
      clientSecret: SECRETS.G_CLIENT_SECRET,
      refreshToken: SECRETS.G_REFRESH_TOKEN,
      developerToken: SECRETS.G_DEV_TOKEN,
      loginCustomerId: '9990001111',
    }).start();
  });
  afterEach(async () => {
    // Whatever a test provoked, no raw identifier may ever reach Google.
    expect(g.rawLeaks).toEqual([]);
    await g.stop();
    await p.cleanUp();
  });

  it('uploads a batch as create job -> addOperations -> run, with its headers, and never mixes creates and removes in one job', async () => {
    await setUp();
    const r1 = await run();
    expect(finished(r1, 'cm'), r1.stderr).toMatchObject({ status: 'success', counts: { succeeded_add: 6 } });
    expect(writes().map((w) => w.path)).toEqual([
      '/v26/customers/1234567890/offlineUserDataJobs:create',
      '/v26/customers/1234567890/offlineUserDataJobs/1000:addOperations',
      '/v26/customers/1234567890/offlineUserDataJobs/1000:run',
    ]);
    for (const w of writes()) {
      expect(w.headers.authorization).toMatch(/^Bearer ya29\.fake-/);
      expect(w.headers['developer-token']).toBe(SECRETS.G_DEV_TOKEN);
      expect(w.headers['login-customer-id']).toBe('9990001111');
    }
    expect(writes()[0]!.body).toEqual({
      job: { type: 'CUSTOMER_MATCH_USER_LIST', customerMatchUserListMetadata: { userList: LIST, consent: { adUserData: 'GRANTED', adPersonalization: 'UNSPECIFIED' } } },
    });
    const add = g.addOperations[0]!.body;
    expect(add.enablePartialFailure).toBe(true);
    expect(add.operations.every((o) => Object.keys(o)[0] === 'create')).toBe(true);
    // The job runs asynchronously: nothing is in the list until Google finishes it.
    expect(g.members().size).toBe(0);
    g.finishJobs();
    expect(g.members().size).toBe(6);

    await p.exec('UPDATE src.people SET active = FALSE WHERE id IN (5, 6)', `INSERT INTO src.people VALUES (7, 'new7@example.com', NULL, NULL, NULL, NULL, NULL, TRUE)`);
    const before = writes().length;
    const r2 = await run();
    expect(finished(r2, 'cm')).toMatchObject({ status: 'success', counts: { succeeded_add: 1, succeeded_remove: 2 } });
    // One batch, two jobs: removals first (no consent: Google needs none to take people off), then additions.
    const second = writes().slice(before);
    expect(second.map((w) => w.path.replace(/^.*(offlineUserDataJobs)/, '$1'))).toEqual([
      'offlineUserDataJobs:create',
      'offlineUserDataJobs/1001:addOperations',
      'offlineUserDataJobs/1001:run',
      'offlineUserDataJobs:create',
      'offlineUserDataJobs/1002:addOperations',
      'offlineUserDataJobs/1002:run',
    ]);
    expect(g.jobs.get('customers/1234567890/offlineUserDataJobs/1001')).toMatchObject({ consent: undefined });
    expect(g.jobs.get('customers/1234567890/offlineUserDataJobs/1002')!.consent).toEqual({ adUserData: 'GRANTED', adPersonalization: 'UNSPECIFIED' });
    for (const j of jobs()) expect(new Set(j.operations.map((o) => o.kind)).size).toBe(1);
    expect(jobs().map((j) => j.operations[0]!.kind)).toEqual(['create', 'remove', 'create']);
    g.finishJobs();
    expect([...g.members().keys()].sort()).toEqual(
      [emailHash(' John.Smith+x@Gmail.com '), emailHash('Ada@Example.com'), emailHash('person3@example.com'), emailHash('person4@example.com'), emailHash('new7@example.com')]
        .map((h) => `hashedEmail:${h}`)
        .sort(),
    );
    expect(g.malformed).toEqual([]);
  });

  it("hashes with Google's normalization in the warehouse: a gmail address loses dots and +tag, phones are E.164 with '+'; no raw identifier reaches Google", async () => {
    await setUp();
    const r = await run();
    expect(finished(r, 'cm').status).toBe('success');
    const users = g.addOperations[0]!.body.operations.map((o) => (o.create as { userIdentifiers: Array<Record<string, unknown>> }).userIdentifiers);
    const john = users.find((ids) => ids.some((i) => i.hashedEmail === sha256('johnsmith@gmail.com')));
    expect(john).toEqual([
      { hashedEmail: sha256('johnsmith@gmail.com') },
      { hashedPhoneNumber: sha256('+15550100200') },
      { addressInfo: { hashedFirstName: sha256('john'), hashedLastName: sha256('smith'), countryCode: 'US', postalCode: '94045' } },
    ]);
    expect(e164('+1 (555) 010-0200')).toBe('+15550100200');
    // Ada has names but no country or postal code: her address is not sent, her email is.
    expect(users).toContainEqual([{ hashedEmail: sha256('ada@example.com') }]);
    const [metric] = await p.query(`SELECT value FROM audsync.sync_run_metrics WHERE metric = 'address incomplete: names not sent'`);
    // Ada (names, no country or postal code) and ids 3..6 (names only).
    expect(Number(metric?.value)).toBe(5);
    const wire = JSON.stringify(g.requests.map((q) => q.body));
    expect(wire).not.toMatch(/@|gmail|smith|lovelace|555\) 010|\+1555/i);
    expect(g.rawLeaks).toEqual([]);
  });

  it('records each job in audsync.destination_jobs; status --refresh and the next run write its final status and match rate', async () => {
    await setUp();
    expect((await run()).code).toBe(0);
    const job1 = 'customers/1234567890/offlineUserDataJobs/1000';
    const [pending] = await p.query(`SELECT job_id, status, detail FROM audsync.destination_jobs`);
    expect(pending).toMatchObject({ job_id: job1, status: 'pending' });
    expect(JSON.parse(String(pending!.detail))).toEqual({ userListId: '555', operation: 'create', rows: 6 });

    // First look: the job is RUNNING, still pending. Second: SUCCESS, with the match rate range.
    const s1 = await p.cli(['status', '--json', '--refresh'], SECRETS);
    expect(s1.events.find((e) => e.event === 'sync_status')).toMatchObject({ sync_name: 'cm', pending_jobs: 1 });
    const s2 = await p.cli(['status', '--json', '--refresh'], SECRETS);
    expect(s2.events.find((e) => e.event === 'jobs_refreshed')).toMatchObject({ sync: 'cm', changed: 1 });
    expect(s2.events.find((e) => e.event === 'sync_status')).toMatchObject({ pending_jobs: 0 });
    const [done] = await p.query(`SELECT status, detail FROM audsync.destination_jobs WHERE job_id = '${job1}'`);
    expect(done?.status).toBe('succeeded');
    expect(JSON.parse(String(done?.detail))).toEqual({
      userListId: '555',
      operation: 'create',
      rows: 6,
      status: 'SUCCESS',
      matchRateRange: 'MATCH_RANGE_51_TO_60',
      operationMetadata: { matchRateRange: 'MATCH_RANGE_51_TO_60' },
      customerMatchUserListMetadata: { userList: LIST },
    });
    // Status comes from a GAQL query: the service has no Get method.
    const searches = g.requests.filter((q) => q.path === '/v26/customers/1234567890/googleAds:search');
    expect(searches.length).toBe(2);
    expect((searches[0]!.body as { query: string }).query).toMatch(/FROM offline_user_data_job WHERE offline_user_data_job\.resource_name IN \('customers\/1234567890\/offlineUserDataJobs\/1000'\)/);
    expect(g.members().size).toBe(6);

    // The next run refreshes too: a job Google failed is recorded failed, with its reason.
    await p.exec(`INSERT INTO src.people VALUES (8, 'p8@example.com', NULL, NULL, NULL, NULL, NULL, TRUE)`);
    expect((await run()).code).toBe(0);
    const job2 = 'customers/1234567890/offlineUserDataJobs/1001';
    g.knobs.failJobs.set(job2, 'UNKNOWN');
    g.knobs.pollsToFinish = 1;
    expect(await p.query(`SELECT record_key, destination_record_id FROM audsync.snapshot__cm WHERE record_key = '8'`)).toEqual([{ record_key: '8', destination_record_id: job2 }]);
    const r3 = await run();
    expect(r3.events.find((e) => e.event === 'jobs_refreshed')).toMatchObject({ sync: 'cm', changed: 1 });
    const [failed] = await p.query(`SELECT status, detail FROM audsync.destination_jobs WHERE job_id = '${job2}'`);
    expect(failed?.status).toBe('failed');
    expect(JSON.parse(String(failed?.detail))).toMatchObject({ operation: 'create', rows: 1, status: 'FAILED', failureReason: 'UNKNOWN' });
    // The failed job never added person 8: the same run, planning after the refresh, uploads them again in a new job.
    expect(finished(r3, 'cm')).toMatchObject({ status: 'success', counts: { planned_add: 1, succeeded_add: 1 } });
    const job3 = 'customers/1234567890/offlineUserDataJobs/1002';
    expect(await p.query(`SELECT destination_record_id FROM audsync.snapshot__cm WHERE record_key = '8'`)).toEqual([{ destination_record_id: job3 }]);
    expect([...g.members().keys()]).not.toContain(`hashedEmail:${emailHash('p8@example.com')}`);
    await p.cli(['status', '--json', '--refresh'], SECRETS);
    expect([...g.members().keys()]).toContain(`hashedEmail:${emailHash('p8@example.com')}`);
    expect(g.members().size).toBe(7);
  });

  it('a partial failure rejects exactly the refused rows, found by operation index; the rest succeed', async () => {
    await setUp();
    g.knobs.rejectIdentifiers.set(emailHash('person4@example.com'), { code: 'INVALID_SHA256_FORMAT', message: 'The SHA256 encoded value is malformed.' });
    const r = await run();
    expect(r.code).toBe(0);
    expect(finished(r, 'cm')).toMatchObject({ status: 'warning', counts: { succeeded_add: 5, rejected: 1 } });
    const rejected = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rejected).toEqual([{ record_key: '4', error_code: 'INVALID_SHA256_FORMAT', error_message: 'The SHA256 encoded value is malformed.' }]);
    const [job] = await p.query(`SELECT detail FROM audsync.destination_jobs`);
    expect(JSON.parse(String(job?.detail))).toMatchObject({ rows: 5 });
    g.finishJobs();
    expect(g.members().has(`hashedEmail:${emailHash('person4@example.com')}`)).toBe(false);
    expect(g.members().size).toBe(5);
  });

  it('a row with nothing Google can match on is rejected without being sent', async () => {
    await setUp({ fields: "{ email: 'email', first_name: 'first_name', last_name: 'last_name', country_code: 'country', postal_code: 'zip' }" });
    await p.exec(`INSERT INTO src.people VALUES (9, NULL, NULL, 'Only', 'Names', NULL, NULL, TRUE)`);
    const r = await run();
    expect(finished(r, 'cm')).toMatchObject({ status: 'warning', counts: { succeeded_add: 6, rejected: 1 } });
    const [row] = await p.query(`SELECT record_key, error_code FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(row).toEqual({ record_key: '9', error_code: 'NO_USABLE_IDENTIFIER' });
  });

  it('CONCURRENT_MODIFICATION and RESOURCE_EXHAUSTED are retried, honouring the retryDelay Google gives', async () => {
    await setUp();
    g.knobs.throttleNext = 1;
    g.knobs.retryDelay = '0.25s';
    g.knobs.concurrentModificationNext = 2;
    const r = await run();
    expect(finished(r, 'cm')).toMatchObject({ status: 'success', counts: { succeeded_add: 6 } });
    const retries = r.events.filter((e) => e.event === 'retry');
    expect(retries).toHaveLength(3);
    expect(retries[0]).toMatchObject({ delay_ms: 250 });
    expect(String(retries[0]!.reason)).toMatch(/quota exhausted.*RESOURCE_EXHAUSTED/);
    expect(retries.slice(1).every((e) => /CONCURRENT_MODIFICATION/.test(String(e.reason)))).toBe(true);
    // Jobs whose run was refused are abandoned unrun; one job ran and is recorded.
    expect(jobs().filter((j) => j.ran)).toHaveLength(1);
    expect(await p.count(`SELECT count(*) FROM audsync.destination_jobs`)).toBe(1);
  });

  it('an expired access token is refreshed once and the run goes on; the token is reused across batches', async () => {
    await setUp({ batchSize: 2 });
    g.knobs.expireTokensNext = 1;
    const r = await run();
    expect(finished(r, 'cm')).toMatchObject({ status: 'success', counts: { succeeded_add: 6 } });
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
    expect(g.tokenRequests).toBe(2);
    expect(g.requests.filter((q) => q.status === 401)).toHaveLength(1);
    expect(jobs().filter((j) => j.ran)).toHaveLength(3);
  });

  const expectStopped = async (r: CliResult, message: RegExp) => {
    expect(r.code).toBe(1);
    const f = finished(r, 'cm');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(message);
    expect(f.hint).toMatch(/destination gads/);
    expect(r.stdout + r.stderr).not.toMatch(new RegExp([SECRETS.G_CLIENT_SECRET, SECRETS.G_REFRESH_TOKEN, 'ya29\\.'].join('|')));
    expect(await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE status = 'aborted'`)).toBeGreaterThan(0);
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  };

  it('auth failures stop the sync at once with a clear message: a token refused even after a refresh', async () => {
    await setUp({ batchSize: 2 });
    g.knobs.rejectAllTokens = true;
    await expectStopped(await run(), /^destination gads: Google Ads refused our credentials even with a freshly issued access token \(HTTP 401 UNAUTHENTICATED: OAUTH_TOKEN_INVALID/);
    expect(g.tokenRequests).toBe(2);
    expect(writes()).toHaveLength(2);
  });

  it('auth failures stop the sync at once: a revoked refresh token', async () => {
    await setUp({ batchSize: 2 });
    g.knobs.refuseRefreshToken = true;
    await expectStopped(await run(), /^destination gads: Google OAuth refused the credentials \(invalid_grant: Token has been expired or revoked\.\)/);
    expect(writes()).toHaveLength(0);
  });

  it('auth failures stop the sync at once: 403 PERMISSION_DENIED, and an invalid developer token (no token refresh for it)', async () => {
    await setUp({ batchSize: 2 });
    g.knobs.permissionDenied = true;
    await expectStopped(await run(), /^destination gads: Google Ads denied access \(HTTP 403 PERMISSION_DENIED: USER_PERMISSION_DENIED/);
    g.knobs.permissionDenied = false;
    const tokensBefore = g.tokenRequests;
    const r = await p.cli(['run', '--json'], { ...SECRETS, G_DEV_TOKEN: 'not-the-developer-token' });
    await expectStopped(r, /^destination gads: Google Ads refused our credentials \(HTTP 401 UNAUTHENTICATED: DEVELOPER_TOKEN_INVALID/);
    expect(g.tokenRequests - tokensBefore).toBe(1);
  });

  it('a changed email: the identifiers last sent that the member no longer has go in the batch\'s remove job, the new ones in its create job', async () => {
    await setUp();
    expect((await run()).code).toBe(0);
    g.finishJobs();
    const before = g.jobs.size;
    // Ada (2) has only an email: without the removal her old email would stay in the list beside the new one.
    // Person 3 keeps their phone: only the old email is removed.
    await p.exec(`UPDATE src.people SET email = 'Ada.New@Example.com' WHERE id = 2`, `UPDATE src.people SET email = 'p3-new@example.com' WHERE id = 3`);
    const r = await run();
    expect(finished(r, 'cm')).toMatchObject({ status: 'success', counts: { planned_change: 2, succeeded_change: 2 } });
    const runJobs = jobs().slice(before);
    // One batch: removals first, in a job of their own (never mixed with creates), then the creates.
    expect(runJobs.map((j) => j.operations.map((o) => o.kind))).toEqual([
      ['remove', 'remove'],
      ['create', 'create'],
    ]);
    expect(runJobs[0]!.consent).toBeUndefined();
    expect(runJobs[0]!.operations.map((o) => o.userIdentifiers)).toEqual([[{ hashedEmail: emailHash('Ada@Example.com') }], [{ hashedEmail: emailHash('person3@example.com') }]]);
    expect(runJobs[1]!.operations.map((o) => o.userIdentifiers)).toEqual([
      [{ hashedEmail: emailHash('ada.new@example.com') }],
      [{ hashedEmail: emailHash('p3-new@example.com') }, { hashedPhoneNumber: sha256('+15550000003') }],
    ]);
    g.finishJobs();
    const keys = [...g.members().keys()];
    expect(keys).toEqual(expect.arrayContaining([emailHash('ada.new@example.com'), emailHash('p3-new@example.com')].map((h) => `hashedEmail:${h}`)));
    expect(keys).not.toContain(`hashedEmail:${emailHash('Ada@Example.com')}`);
    expect(keys).not.toContain(`hashedEmail:${emailHash('person3@example.com')}`);
    expect(keys).toHaveLength(6);
    const [metric] = await p.query(`SELECT value FROM audsync.sync_run_metrics WHERE metric = 'old identifiers removed'`);
    expect(Number(metric?.value)).toBe(2);
    expect(g.malformed).toEqual([]);
  });

  it('a change whose old identifiers Google refuses to remove is rejected with the reason, and sent again next run', async () => {
    await setUp();
    expect((await run()).code).toBe(0);
    g.finishJobs();
    await p.exec(`UPDATE src.people SET email = 'p4-new@example.com' WHERE id = 4`, `UPDATE src.people SET email = 'p5-new@example.com' WHERE id = 5`);
    g.knobs.rejectIdentifiers.set(emailHash('person4@example.com'), { code: 'INVALID_SHA256_FORMAT', message: 'The SHA256 encoded value is malformed.' });
    const r = await run();
    expect(finished(r, 'cm')).toMatchObject({ status: 'warning', counts: { succeeded_change: 1, rejected: 1 } });
    const rejected = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rejected).toEqual([{ record_key: '4', error_code: 'INVALID_SHA256_FORMAT', error_message: 'removing the identifiers last sent: The SHA256 encoded value is malformed.' }]);
    g.knobs.rejectIdentifiers.clear();
    const before = g.jobs.size;
    const again = await run();
    expect(finished(again, 'cm')).toMatchObject({ status: 'success', counts: { planned_change: 1, succeeded_change: 1 } });
    expect(jobs().slice(before).map((j) => j.operations.map((o) => [o.kind, o.userIdentifiers[0]]))).toEqual([
      [['remove', { hashedEmail: emailHash('person4@example.com') }]],
      [['create', { hashedEmail: emailHash('p4-new@example.com') }]],
    ]);
    g.finishJobs();
    const keys = [...g.members().keys()];
    expect(keys).not.toContain(`hashedEmail:${emailHash('person4@example.com')}`);
    expect(keys).not.toContain(`hashedEmail:${emailHash('person5@example.com')}`);
    expect(keys).toHaveLength(6);
  });

  it('a change of fields that are not sent as identifiers (a postal code, names of an incomplete address) uploads a create only: no removal', async () => {
    await setUp();
    expect((await run()).code).toBe(0);
    g.finishJobs();
    const before = g.jobs.size;
    // Persons 3..6 have no country: their address is not sent, so neither postal code nor names are identifiers on the wire.
    await p.exec(`UPDATE src.people SET zip = '10001' WHERE id = 4`, `UPDATE src.people SET first_name = 'Renamed' WHERE id = 5`);
    const r = await run();
    expect(finished(r, 'cm')).toMatchObject({ status: 'success', counts: { planned_change: 2, succeeded_change: 2 } });
    expect(jobs().slice(before).map((j) => j.operations.map((o) => o.kind))).toEqual([['create', 'create']]);
    expect(await p.count(`SELECT count(*) FROM audsync.sync_run_metrics WHERE metric = 'old identifiers removed'`)).toBe(0);
    g.finishJobs();
    expect(g.members().size).toBe(6);
  });

  it('--full-refresh of a mirror replaces the list: removeAll first in the first create job, removals need no request', async () => {
    await setUp({ batchSize: 3 });
    expect((await run()).code).toBe(0);
    g.finishJobs();
    await p.exec('UPDATE src.people SET active = FALSE WHERE id IN (1, 2)');
    const before = g.jobs.size;
    const r = await run('--full-refresh', '--force');
    expect(finished(r, 'cm')).toMatchObject({ status: 'success', counts: { succeeded_add: 4, succeeded_remove: 2 } });
    const refreshJobs = jobs().slice(before);
    // Batches: [remove, remove, add], [add, add, add]: two create jobs, no remove job.
    expect(refreshJobs.map((j) => j.operations.map((o) => o.kind))).toEqual([
      ['removeAll', 'create'],
      ['create', 'create', 'create'],
    ]);
    const [covered] = await p.query(`SELECT value FROM audsync.sync_run_metrics WHERE metric = 'removes covered by removeAll'`);
    expect(Number(covered?.value)).toBe(2);
    const details = (await p.query(`SELECT detail FROM audsync.destination_jobs ORDER BY created_at, job_id`)).map((d) => JSON.parse(String(d.detail)));
    expect(details.filter((d) => d.removeAll === true)).toHaveLength(1);
    g.finishJobs();
    expect([...g.members().keys()].sort()).toEqual([3, 4, 5, 6].map((i) => `hashedEmail:${emailHash(`person${i}@example.com`)}`).sort());
  });

  it('--full-refresh of an upsert re-sends members but never empties the list', async () => {
    await setUp({ mode: 'upsert' });
    expect((await run()).code).toBe(0);
    const r = await run('--full-refresh');
    expect(finished(r, 'cm')).toMatchObject({ status: 'success', counts: { succeeded_add: 6 } });
    expect(jobs().flatMap((j) => j.operations.map((o) => o.kind))).not.toContain('removeAll');
  });

  it('removal only takes people off the list: remove jobs carry no consent, so a DENIED consent still lets them go (and blocks additions clearly)', async () => {
    await setUp({ mode: 'remove', consent: "{ adUserData: 'DENIED', adPersonalization: 'DENIED' }" });
    const r = await run();
    expect(finished(r, 'cm')).toMatchObject({ status: 'success', counts: { succeeded_remove: 6 } });
    expect(jobs()).toHaveLength(1);
    expect(jobs()[0]).toMatchObject({ consent: undefined });
    expect(jobs()[0]!.operations.every((o) => o.kind === 'remove')).toBe(true);

    p.write({ 'audsync.config.ts': config(g, { mode: 'mirror', consent: "{ adUserData: 'DENIED', adPersonalization: 'GRANTED' }" }) });
    await p.exec(`INSERT INTO src.people VALUES (10, 'p10@example.com', NULL, NULL, NULL, NULL, NULL, TRUE)`);
    const denied = await run();
    expect(denied.code).toBe(1);
    expect(finished(denied, 'cm').error).toMatch(/^destination gads: Google Ads refused the request \(HTTP 400 INVALID_ARGUMENT: CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS/);
  });

  it('refuses to send fields Google does not take, before anything leaves the warehouse', async () => {
    await setUp({ fields: "{ email: 'email', tier: 'first_name' }" });
    const r = await run();
    expect(r.code).toBe(1);
    expect(finished(r, 'cm').error).toMatch(/syncs\.cm\.fields: tier is not sent to Google Customer Match/);
    expect(g.requests).toHaveLength(0);
  });
});

describe('the Google Ads fake refuses what Google refuses', () => {
  let g: FakeGoogleAdsServer;
  let token: string;
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${g.baseUrl}/v26/customers/1234567890/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const newJob = async () => String((await post('offlineUserDataJobs:create', { job: { type: 'CUSTOMER_MATCH_USER_LIST', customerMatchUserListMetadata: { userList: LIST } } })).body.resourceName).replace('customers/1234567890/', '');
  const create = (email: string) => ({ create: { userIdentifiers: [{ hashedEmail: email }] } });
  const remove = (email: string) => ({ remove: { userIdentifiers: [{ hashedEmail: email }] } });

  beforeEach(async () => {
    g = await new FakeGoogleAdsServer().start();
    const res = await fetch(g.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: g.config.refreshToken, client_id: g.config.clientId, client_secret: g.config.clientSecret }).toString(),
    });
    token = String(((await res.json()) as { access_token: string }).access_token);
  });
  afterEach(() => g.stop());

  it('an unknown bearer token, a wrong customer, an unknown version', async () => {
    expect((await post('offlineUserDataJobs:create', {}, { authorization: 'Bearer made-up' })).status).toBe(401);
    const other = await fetch(`${g.baseUrl}/v26/customers/999/offlineUserDataJobs:create`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(other.status).toBe(403);
    const old = await fetch(`${g.baseUrl}/v19/customers/1234567890/offlineUserDataJobs:create`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(old.status).toBe(404);
  });

  it('creates and removes in one job (CONFLICTING_OPERATION), even across requests; removeAll anywhere but first', async () => {
    const job = await newJob();
    const mixed = await post(`${job}:addOperations`, { operations: [create(sha256('a@x.io')), remove(sha256('b@x.io'))], enablePartialFailure: true });
    expect(mixed.status).toBe(400);
    expect(JSON.stringify(mixed.body)).toContain('CONFLICTING_OPERATION');
    expect((await post(`${job}:addOperations`, { operations: [create(sha256('a@x.io'))], enablePartialFailure: true })).status).toBe(200);
    expect((await post(`${job}:addOperations`, { operations: [remove(sha256('b@x.io'))], enablePartialFailure: true })).status).toBe(400);
    expect((await post(`${job}:addOperations`, { operations: [{ removeAll: true }], enablePartialFailure: true })).status).toBe(400);
  });

  it('raw identifiers in hashed fields fail the request and are recorded; a bad hash is a per-operation INVALID_SHA256_FORMAT', async () => {
    const job = await newJob();
    const raw = await post(`${job}:addOperations`, { operations: [create('someone@example.com'), { create: { userIdentifiers: [{ hashedPhoneNumber: '+1 555 010 0200' }] } }], enablePartialFailure: true });
    expect(raw.status).toBe(400);
    expect(g.rawLeaks.map((l) => l.field)).toEqual(['hashedEmail', 'hashedPhoneNumber']);
    g.rawLeaks.length = 0;
    const bad = await post(`${job}:addOperations`, { operations: [create(sha256('a@x.io')), create(sha256('b@x.io').toUpperCase())], enablePartialFailure: true });
    expect(bad.status).toBe(200);
    expect(bad.body.partialFailureError).toMatchObject({ details: [{ errors: [{ errorCode: { offlineUserDataJobError: 'INVALID_SHA256_FORMAT' }, location: { fieldPathElements: [{ fieldName: 'operations', index: 1 }] } }] }] });
  });

  it('more than 20 identifiers for one user, more than 100,000 in one request', async () => {
    const job = await newJob();
    const many = Array.from({ length: 21 }, (_, i) => ({ hashedEmail: sha256(`u${i}@x.io`) }));
    const tooMany = await post(`${job}:addOperations`, { operations: [{ create: { userIdentifiers: many } }], enablePartialFailure: true });
    expect(JSON.stringify(tooMany.body)).toContain('TOO_MANY_USER_IDENTIFIERS');
    const h = sha256('x@x.io');
    const big = Array.from({ length: 5001 }, () => ({ create: { userIdentifiers: Array.from({ length: 20 }, () => ({ hashedEmail: h })) } }));
    const over = await post(`${job}:addOperations`, { operations: big, enablePartialFailure: true });
    expect(over.status).toBe(400);
    expect(JSON.stringify(over.body)).toContain('TOO_MANY_USER_IDENTIFIERS');
  });
});

describe('OfflineUserDataJobTransport', () => {
  let g: FakeGoogleAdsServer;
  beforeEach(async () => {
    g = await new FakeGoogleAdsServer().start();
    g.knobs.applyOnRun = true;
  });
  afterEach(() => g.stop());

  it('splits a large upload over addOperations requests and maps partial failures back by index, removeAll included', async () => {
    const { OAuthTokenSource } = await import('../destinations/google-customer-match/oauth-token.js');
    const { GoogleAdsHttp } = await import('../destinations/google-customer-match/google-ads-http.js');
    const { OfflineUserDataJobTransport } = await import('../destinations/google-customer-match/offline-user-data-job-transport.js');
    const who = 'destination t';
    const tokens = new OAuthTokenSource({ tokenUrl: g.tokenUrl, clientId: g.config.clientId, clientSecret: g.config.clientSecret, refreshToken: g.config.refreshToken }, 5000, who, { scope: 'https://www.googleapis.com/auth/adwords' });
    const http = new GoogleAdsHttp({ baseUrl: g.baseUrl, apiVersion: 'v26', loginCustomerId: undefined, developerToken: undefined }, tokens, 5000, who);
    const transport = new OfflineUserDataJobTransport(http, { customerId: '1234567890', userListId: '555', consent: undefined }, who);
    // Two identifiers each: 10,000 identifiers fill one request, so 5,001 members take two.
    const members = Array.from({ length: 5001 }, (_, i) => ({ hashedEmail: sha256(`m${i}@x.io`), hashedPhoneNumber: sha256(`+1555${String(i).padStart(7, '0')}`) }));
    for (const i of [0, 4998, 5000]) g.knobs.rejectIdentifiers.set(members[i]!.hashedEmail, { code: 'INVALID_SHA256_FORMAT', message: `refused ${i}` });
    const res = await transport.upload('create', members, { replaceAll: true });
    // removeAll plus 5,000 members (10,000 identifiers) in the first request, the last member in the second.
    expect(g.addOperations.map((a) => a.body.operations.length)).toEqual([5001, 1]);
    expect(g.addOperations[0]!.body.operations[0]).toEqual({ removeAll: true });
    const refused = res.outcomes.flatMap((o, i) => (o.accepted ? [] : [[i, o.code, o.message]]));
    expect(refused).toEqual([
      [0, 'INVALID_SHA256_FORMAT', 'refused 0'],
      [4998, 'INVALID_SHA256_FORMAT', 'refused 4998'],
      [5000, 'INVALID_SHA256_FORMAT', 'refused 5000'],
    ]);
    expect(res.job).toEqual({ id: 'customers/1234567890/offlineUserDataJobs/1000', detail: { userListId: '555', operation: 'create', rows: 4998, removeAll: true } });
    expect(g.members().size).toBe(4998);
  });
});

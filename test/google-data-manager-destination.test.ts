import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished, type CliResult } from './support/cli-project.js';
import { DM_SCOPE, FakeDataManagerServer, GOOGLE_TOKEN_AUDIENCE, type AudienceRef } from './fakes/google-data-manager-server.js';
import { e164, googleEmail, sha256 } from './fakes/google-scenario-fake.js';
import { validateConfig } from '../engine/config/config-validate.js';
import { googleCustomerMatch } from '../destinations/google-customer-match/index.js';

const ADS: AudienceRef = { accountType: 'GOOGLE_ADS', accountId: '1234567890', productDestinationId: '555' };
const DV360: AudienceRef = { accountType: 'DISPLAY_VIDEO_ADVERTISER', accountId: '7654321', productDestinationId: '4242' };
const OAUTH = { DM_CLIENT_ID: 'dm-client.apps.googleusercontent.com', DM_CLIENT_SECRET: 'dm-client-secret-value', DM_REFRESH_TOKEN: 'dm-refresh-token-value' };
const TARGET = `{ destinations: [
        { type: 'googleAds', accountId: '123-456-7890', userListId: '555', loginAccountId: '999-000-1111' },
        { type: 'displayVideo', advertiserId: '7654321', audienceId: '4242' },
      ], consent: { adUserData: 'GRANTED', adPersonalization: 'UNSPECIFIED' } }`;

interface Opts {
  auth?: 'oauth' | 'serviceAccount';
  batchSize?: number;
  mode?: string;
  fields?: string;
  target?: string;
  extra?: string;
}

const config = (g: FakeDataManagerServer, o: Opts = {}) => `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: {
    gdm: {
      type: 'google_customer_match',
      ${o.auth === 'serviceAccount' ? "serviceAccountKey: env('DM_SA_KEY')," : "clientId: env('DM_CLIENT_ID'), clientSecret: env('DM_CLIENT_SECRET'), refreshToken: env('DM_REFRESH_TOKEN'),"}
      acceptCustomerMatchTerms: true, tokenUrl: '${g.tokenUrl}', baseUrl: '${g.baseUrl}',
      batchSize: ${o.batchSize ?? 10}, retryBaseDelayMs: 5, timeoutMs: 5000, rateLimit: 100, ${o.extra ?? ''}
    },
  },
  syncs: {
    cm: {
      model: 'people', destination: 'gdm', key: 'id', mode: '${o.mode ?? 'mirror'}',
      fields: ${o.fields ?? "{ email: 'email', phone: 'phone', first_name: 'first_name', last_name: 'last_name', country_code: 'country', postal_code: 'zip', ad_user_data: 'c_data', ad_personalization: 'c_pers' }"},
      target: ${o.target ?? TARGET},
    },
  },
});
`;

const MODEL = 'select id, email, phone, first_name, last_name, country, zip, c_data, c_pers from {{source "src" "people"}} where active\n';

/** id 1: a gmail address with dots and +tag, a full address, its own consent; id 2: consent columns empty; 3..n plain. */
const seed = (n: number) => [
  'CREATE SCHEMA src',
  'CREATE TABLE src.people (id INTEGER, email VARCHAR, phone VARCHAR, first_name VARCHAR, last_name VARCHAR, country VARCHAR, zip VARCHAR, c_data VARCHAR, c_pers BOOLEAN, active BOOLEAN)',
  `INSERT INTO src.people VALUES
    (1, ' John.Smith+x@Gmail.com ', '+1 (555) 010-0200', ' John ', 'Smith', 'us', '94045', 'granted', FALSE, TRUE),
    (2, 'Ada@Example.com', NULL, NULL, NULL, NULL, NULL, NULL, NULL, TRUE)`,
  `INSERT INTO src.people SELECT i, 'person' || i || '@example.com', '+1555' || lpad(CAST(i AS VARCHAR), 7, '0'), NULL, NULL, NULL, NULL, 'GRANTED', TRUE, TRUE FROM generate_series(3, ${n}) AS t(i)`,
];

const emailHash = (raw: string) => sha256(googleEmail(raw));
const key = (raw: string) => `hashedEmail:${emailHash(raw)}`;

describe('google_customer_match through the Data Manager API (the default transport)', () => {
  let g: FakeDataManagerServer;
  let p: CliProject;
  let env: Record<string, string>;
  const run = (...args: string[]) => p.cli(['run', '--json', ...args], env);
  const refresh = () => p.cli(['status', '--json', '--refresh'], env);
  const ingests = () => g.accepted('ingest');
  const setUp = async (o: Opts = {}, n = 6) => {
    env = o.auth === 'serviceAccount' ? { DM_SA_KEY: g.serviceAccountKeyJson() } : { ...OAUTH };
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(g, o), 'models/people.sql': MODEL });
    await p.exec(...seed(n));
  };
  /** Nothing audsync printed or wrote holds a token it minted, nor a configured secret. */
  const expectNoSecrets = async (r: CliResult) => {
    const tables = await Promise.all(['sync_changelog', 'sync_runs', 'destination_jobs', 'sync_run_metrics'].map((t) => p.query(`SELECT * FROM audsync.${t}`)));
    const written = r.stdout + r.stderr + JSON.stringify(tables);
    for (const secret of [...g.issuedTokens, OAUTH.DM_CLIENT_SECRET, OAUTH.DM_REFRESH_TOKEN, 'BEGIN PRIVATE KEY']) expect(written).not.toContain(secret);
  };
  const expectStopped = async (r: CliResult, message: RegExp, hint: RegExp) => {
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const f = finished(r, 'cm');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(message);
    expect(f.hint).toMatch(hint);
    expect(r.events.filter((e) => e.event === 'retry')).toHaveLength(0);
    await expectNoSecrets(r);
  };

  beforeEach(async () => {
    g = await new FakeDataManagerServer({ clientId: OAUTH.DM_CLIENT_ID, clientSecret: OAUTH.DM_CLIENT_SECRET, refreshToken: OAUTH.DM_REFRESH_TOKEN, audiences: [ADS, DV360] }).start();
  });
  afterEach(async () => {
    // Whatever a test provoked, no raw identifier may ever reach Google.
    expect(g.rawLeaks).toEqual([]);
    await g.stop();
    await p.cleanUp();
  });

  it('one ingest request per batch to a Customer Match list and a DV360 audience at once: hashed userData, consent, terms; request status recorded and refreshed', async () => {
    await setUp();
    const r1 = await run();
    expect(finished(r1, 'cm'), r1.stderr).toMatchObject({ status: 'success', counts: { succeeded_add: 6 } });
    expect(ingests()).toHaveLength(1);
    const body = ingests()[0]!;
    expect(body.destinations).toEqual([
      { operatingAccount: { accountType: 'GOOGLE_ADS', accountId: '1234567890' }, loginAccount: { accountType: 'GOOGLE_ADS', accountId: '9990001111' }, productDestinationId: '555' },
      { operatingAccount: { accountType: 'DISPLAY_VIDEO_ADVERTISER', accountId: '7654321' }, productDestinationId: '4242' },
    ]);
    expect(body).toMatchObject({ encoding: 'HEX', consent: { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_STATUS_UNSPECIFIED' }, termsOfService: { customerMatchTermsOfServiceStatus: 'ACCEPTED' } });
    const members = body.audienceMembers as Array<Record<string, unknown>>;
    // Hashed in the warehouse with Google's rules; the address goes whole, names hashed, country and postal code as written.
    expect(members[0]).toEqual({
      userData: {
        userIdentifiers: [
          { emailAddress: emailHash(' John.Smith+x@Gmail.com ') },
          { phoneNumber: sha256(e164('+1 (555) 010-0200')) },
          { address: { givenName: sha256('john'), familyName: sha256('smith'), regionCode: 'US', postalCode: '94045' } },
        ],
      },
      consent: { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_DENIED' },
    });
    // Empty consent columns leave the request's default.
    expect(members[1]).toEqual({ userData: { userIdentifiers: [{ emailAddress: emailHash('Ada@Example.com') }] } });
    const auth = g.requests.find((q) => q.path === '/v1/audienceMembers:ingest')!.headers.authorization;
    expect(auth).toMatch(/^Bearer ya29\.dm-/);

    // The request id is the job: pending until Google says otherwise; nothing is in the lists before it is processed.
    const [job] = await p.query(`SELECT job_id, status, detail FROM audsync.destination_jobs`);
    const requestId = String(job!.job_id);
    expect(job!.status).toBe('pending');
    expect(JSON.parse(String(job!.detail))).toEqual({
      transport: 'dataManager',
      operation: 'ingest',
      rows: 6,
      destinations: [
        { accountType: 'GOOGLE_ADS', accountId: '1234567890', productDestinationId: '555' },
        { accountType: 'DISPLAY_VIDEO_ADVERTISER', accountId: '7654321', productDestinationId: '4242' },
      ],
    });
    expect(await p.query(`SELECT DISTINCT destination_record_id FROM audsync.snapshot__cm`)).toEqual([{ destination_record_id: requestId }]);
    expect(g.members(ADS).size).toBe(0);
    expect(g.issuedTokens).toHaveLength(1);

    g.knobs.pollsToFinish = 1;
    const s2 = await refresh();
    expect(s2.events.find((e) => e.event === 'jobs_refreshed')).toMatchObject({ changed: 1 });
    expect(s2.events.find((e) => e.event === 'sync_status')).toMatchObject({ pending_jobs: 0 });
    const reads = g.requests.filter((q) => q.path === '/v1/requestStatus:retrieve');
    expect(reads.map((q) => [q.method, q.query.get('requestId')])).toEqual([['GET', requestId]]);
    const [done] = await p.query(`SELECT status, detail FROM audsync.destination_jobs`);
    expect(done!.status).toBe('succeeded');
    expect(JSON.parse(String(done!.detail))).toMatchObject({
      requestStatus: 'SUCCESS',
      perDestination: [
        { requestStatus: 'SUCCESS', accountType: 'GOOGLE_ADS', accountId: '1234567890', productDestinationId: '555', recordCount: 6, userIdentifierCount: 12, matchRateRange: 'MATCH_RATE_RANGE_51_TO_60' },
        { requestStatus: 'SUCCESS', accountType: 'DISPLAY_VIDEO_ADVERTISER', productDestinationId: '4242', recordCount: 6 },
      ],
    });
    expect(g.members(ADS).size).toBe(6);
    expect(g.members(DV360).size).toBe(6);
    expect(g.consents.get('GOOGLE_ADS/1234567890/555')!.get(key('Ada@Example.com'))).toEqual({ adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_STATUS_UNSPECIFIED' });

    // Removals and changed emails: a remove request first (no consent, no terms), then the ingest.
    await p.exec('UPDATE src.people SET active = FALSE WHERE id = 6', `UPDATE src.people SET email = 'new3@example.com' WHERE id = 3`);
    const r2 = await run();
    expect(finished(r2, 'cm')).toMatchObject({ status: 'success', counts: { succeeded_change: 1, succeeded_remove: 1 } });
    const removes = g.accepted('remove');
    expect(removes).toHaveLength(1);
    expect(removes[0]!.consent).toBeUndefined();
    expect(removes[0]!.termsOfService).toBeUndefined();
    expect((removes[0]!.audienceMembers as unknown[]).map((m) => JSON.stringify(m)).sort()).toEqual([
      JSON.stringify({ userData: { userIdentifiers: [{ emailAddress: emailHash('person6@example.com') }, { phoneNumber: sha256('+15550000006') }] } }),
      JSON.stringify({ userData: { userIdentifiers: [{ emailAddress: emailHash('person3@example.com') }] } }),
    ].sort());
    g.finishAll();
    expect([...g.members(DV360).keys()].sort()).toEqual([' John.Smith+x@Gmail.com ', 'Ada@Example.com', 'new3@example.com', 'person4@example.com', 'person5@example.com'].map(key).sort());
    expect(g.malformed).toEqual([]);
    await expectNoSecrets(r2);
  });

  it('a member Google refuses fails its request whole: it is rejected with the reason, the others go again without it and succeed', async () => {
    await setUp();
    g.knobs.rejectIdentifiers.set(emailHash('person4@example.com'), { reason: 'INVALID_SHA256_FORMAT', description: 'The SHA256 encoded value is malformed.' });
    g.knobs.echoToken = true;
    const r = await run();
    expect(finished(r, 'cm')).toMatchObject({ status: 'warning', counts: { succeeded_add: 5, rejected: 1 } });
    const [rej] = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rej).toMatchObject({ record_key: '4', error_code: 'INVALID_SHA256_FORMAT' });
    // The fake quotes the bearer token in its refusal: audsync writes *** instead.
    expect(String(rej!.error_message)).toMatch(/^INVALID_SHA256_FORMAT: The SHA256 encoded value is malformed\. \(token \*\*\*\)$/);
    const tried = g.requests.filter((q) => q.path === '/v1/audienceMembers:ingest');
    expect(tried.map((q) => [q.status, (q.body as { audienceMembers: unknown[] }).audienceMembers.length])).toEqual([
      [400, 6],
      [200, 5],
    ]);
    await expectNoSecrets(r);
    g.knobs.rejectIdentifiers.clear();
    const again = await run();
    expect(finished(again, 'cm')).toMatchObject({ status: 'success', counts: { planned_add: 1, succeeded_add: 1 } });
  });

  it('a request Google reports FAILED is recorded failed and its rows are planned again; PARTIAL_SUCCESS is kept with its error counts; a request Google forgot goes again', async () => {
    await setUp({ batchSize: 2 }, 4);
    g.knobs.pollsToFinish = 1;
    g.knobs.outcomeNext = ['FAILED', 'PARTIAL_SUCCESS'];
    expect((await run()).code).toBe(0);
    const jobs = await p.query(`SELECT job_id FROM audsync.destination_jobs ORDER BY created_at, job_id`);
    expect(jobs).toHaveLength(2);
    const [first, second] = [...g.stored.values()].map((s) => s.requestId);
    const r2 = await run();
    expect(r2.events.find((e) => e.event === 'jobs_refreshed')).toMatchObject({ changed: 2 });
    const states = Object.fromEntries((await p.query(`SELECT job_id, status, detail FROM audsync.destination_jobs`)).map((j) => [j.job_id, [j.status, JSON.parse(String(j.detail))]]));
    expect(states[first!]![0]).toBe('failed');
    expect(states[first!]![1]).toMatchObject({ requestStatus: 'FAILED', perDestination: [{ requestStatus: 'FAILED', errors: [{ reason: 'PROCESSING_ERROR_REASON_INVALID_FORMAT', recordCount: 2 }] }, { requestStatus: 'FAILED' }] });
    expect(states[second!]).toEqual(['succeeded', expect.objectContaining({ requestStatus: 'PARTIAL_SUCCESS' })]);
    expect(states[second!]![1].perDestination[0].errors).toEqual([{ reason: 'PROCESSING_ERROR_REASON_INVALID_FORMAT', recordCount: 1 }]);
    // The same run plans the failed request's two rows again, after the refresh.
    expect(finished(r2, 'cm')).toMatchObject({ status: 'success', counts: { planned_add: 2, succeeded_add: 2 } });
    const third = [...g.stored.values()][2]!;
    expect(third.members).toHaveLength(2);
    g.knobs.forgetRequests.add(third.requestId);
    const r3 = await run();
    expect(finished(r3, 'cm')).toMatchObject({ counts: { planned_add: 2, succeeded_add: 2 } });
    const [forgotten] = await p.query(`SELECT status, detail FROM audsync.destination_jobs WHERE job_id = '${third.requestId}'`);
    expect(forgotten).toMatchObject({ status: 'failed' });
    expect(JSON.parse(String(forgotten!.detail))).toMatchObject({ requestStatus: 'NOT_FOUND' });
  });

  it('429 RESOURCE_EXHAUSTED and 503 are retried with backoff, honouring Retry-After', async () => {
    await setUp({ batchSize: 3 });
    g.knobs.throttleNext = 1;
    g.knobs.retryAfter = '1';
    g.knobs.failNext = 1;
    const r = await run();
    expect(finished(r, 'cm')).toMatchObject({ status: 'success', counts: { succeeded_add: 6 } });
    const retries = r.events.filter((e) => e.event === 'retry');
    expect(retries.map((e) => String(e.reason).match(/HTTP (\d+)/)![1])).toEqual(['429', '503']);
    expect(retries[0]!.delay_ms).toBe(1000);
    expect(String(retries[0]!.reason)).toMatch(/Data Manager API quota exhausted \(HTTP 429 RESOURCE_EXHAUSTED/);
    expect(ingests()).toHaveLength(2);
  });

  it('a service account key: an RS256 JWT for the datamanager scope is exchanged for a token, reused across batches and minted again when it expires', async () => {
    await setUp({ auth: 'serviceAccount', batchSize: 2 });
    const r = await run();
    expect(finished(r, 'cm'), r.stderr).toMatchObject({ status: 'success', counts: { succeeded_add: 6 } });
    expect(g.tokenRequests).toBe(1);
    expect(ingests()).toHaveLength(3);
    const [a] = g.assertions;
    expect(a!.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'k1' });
    expect(a!.claims).toMatchObject({ iss: g.config.serviceAccountEmail, scope: DM_SCOPE, aud: GOOGLE_TOKEN_AUDIENCE });
    expect(Number(a!.claims.exp) - Number(a!.claims.iat)).toBe(3600);
    await expectNoSecrets(r);

    await p.exec(`UPDATE src.people SET active = FALSE WHERE id IN (1, 2)`);
    g.knobs.expireTokensNext = 1;
    const r2 = await run();
    expect(finished(r2, 'cm')).toMatchObject({ status: 'success', counts: { succeeded_remove: 2 } });
    // One new token for the expired one, and no retry spent on it.
    expect(g.tokenRequests).toBe(3);
    expect(r2.events.filter((e) => e.event === 'retry')).toHaveLength(0);
  });

  it('auth errors stop the sync at once with a hint naming the credential: a key Google refuses, a token refused even when fresh, a key that is not one', async () => {
    await setUp({ auth: 'serviceAccount', batchSize: 2 });
    g.knobs.refuseGrant = true;
    await expectStopped(await run(), /Google OAuth refused the service account audsync@fake-project\.iam\.gserviceaccount\.com \(invalid_grant/, /Check serviceAccountKey of destination gdm/);
    expect(ingests()).toHaveLength(0);
    g.knobs.refuseGrant = false;

    // The fake quotes the bearer token in its 401: what audsync prints and writes has *** instead.
    g.knobs.rejectAllTokens = true;
    g.knobs.echoToken = true;
    await expectStopped(await run(), /the Data Manager API refused our credentials even with a freshly minted access token \(HTTP 401 UNAUTHENTICATED: .*\(token \*\*\*\)/, /Check serviceAccountKey of destination gdm/);
    expect(g.issuedTokens).toHaveLength(2);

    const bad = await p.cli(['run', '--json'], { DM_SA_KEY: '{"type":"service_account","client_email":"x@y.z","private_key":"not a key SECRET-PART"}' });
    expect(bad.code).toBe(1);
    expect(finished(bad, 'cm').error).toMatch(/destinations\.gdm\.serviceAccountKey: private_key is not a PEM private key/);
    expect(bad.stdout + bad.stderr).not.toContain('SECRET-PART');
  });

  it('without acceptCustomerMatchTerms Google refuses ingests and the sync stops saying what to set; a consent column that holds no consent rejects its row unsent', async () => {
    await setUp();
    p.write({ 'audsync.config.ts': config(g).replace('acceptCustomerMatchTerms: true, ', '') });
    const r = await run();
    expect(r.code).toBe(1);
    expect(finished(r, 'cm')).toMatchObject({ status: 'failed' });
    expect(finished(r, 'cm').error).toMatch(/TERMS_AND_CONDITIONS_NOT_SIGNED/);
    expect(finished(r, 'cm').hint).toMatch(/set acceptCustomerMatchTerms: true on the destination/);

    p.write({ 'audsync.config.ts': config(g) });
    await p.exec(`UPDATE src.people SET c_data = 'maybe' WHERE id = 5`);
    const r2 = await run();
    expect(finished(r2, 'cm')).toMatchObject({ status: 'warning', counts: { succeeded_add: 5, rejected: 1 } });
    const [rej] = await p.query(`SELECT record_key, error_code FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rej).toMatchObject({ record_key: '5', error_code: 'INVALID_CONSENT' });
    expect((ingests()[0]!.audienceMembers as unknown[]).length).toBe(5);
  });

  it('10,000 members per request: a batch of the default size fills one request, the next member takes another', async () => {
    await setUp({ batchSize: 10_000, fields: "{ email: 'email' }" }, 10_001);
    const r = await run();
    expect(finished(r, 'cm'), r.stderr).toMatchObject({ status: 'success', counts: { succeeded_add: 10_001 } });
    expect(ingests().map((b) => (b.audienceMembers as unknown[]).length).sort((a, b) => b - a)).toEqual([10_000, 1]);
  });

  it('the config is checked at load, by path, before anything is read or sent', async () => {
    await setUp();
    p.write({
      'audsync.config.ts': config(g, {
        batchSize: 20_000,
        extra: "customerId: '123-456-7890',",
        fields: "{ email: 'email', mobile_id: 'phone', tier: 'zip' }",
        target: "{ userListId: '555', destinations: [{ type: 'googleAds', accountId: 'abc' }, { type: 'dv360' }], consent: { adUserData: 'YES' } }",
      }),
    });
    const r = await p.cli(['plan'], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    for (const line of [
      'destinations.gdm.batchSize: must be at most 10,000 with the dataManager transport',
      "destinations.gdm.customerId: belongs to transport 'googleAds'",
      "syncs.cm.target.userListId: belongs to transport 'googleAds'",
      'syncs.cm.target.destinations[0].accountId: must be a numeric id',
      'syncs.cm.target.destinations[0].userListId: is required',
      "syncs.cm.target.destinations[1].type: must be 'googleAds'",
      'syncs.cm.target.consent.adUserData: must be GRANTED | DENIED | UNSPECIFIED',
      'syncs.cm.fields.mobile_id: is not sent by the dataManager transport',
      'syncs.cm.fields.tier: is not sent to Google Customer Match',
    ]) {
      expect(r.stderr).toContain(line);
    }
    expect(g.requests).toHaveLength(0);
  });
});

describe('google_customer_match defaults', () => {
  const load = (dest: Record<string, unknown>, target: Record<string, unknown>) =>
    validateConfig(
      { warehouse: { type: 'duckdb', path: ':memory:' }, destinations: { g: { type: 'google_customer_match', ...dest } }, syncs: { s: { model: 'm', destination: 'g', key: 'id', fields: { email: 'email' }, target } } },
      '/p/audsync.config.ts',
      { google_customer_match: googleCustomerMatch as never },
    );
  const oauth = { clientId: 'c', clientSecret: 's', refreshToken: 'r' };

  it('dataManager is the default transport, its rate the project quota (300 requests a minute); googleAds keeps no default rate', () => {
    const dm = load(oauth, { destinations: [{ type: 'googleAds', accountId: '1', userListId: '2' }] });
    expect(dm.destinations.g!.rateLimit).toBe(5);
    expect(dm.destinations.g!.batchSize).toBe(10_000);
    const legacy = load({ ...oauth, transport: 'googleAds', customerId: '1' }, { userListId: '2' });
    expect(legacy.destinations.g!.rateLimit).toBeNull();
    expect(load({ ...oauth, rateLimit: 2 }, { destinations: [{ type: 'googleAds', accountId: '1', userListId: '2' }] }).destinations.g!.rateLimit).toBe(2);
  });

  it('credentials: one kind, complete; googleAds needs its own', () => {
    const target = { destinations: [{ type: 'googleAds', accountId: '1', userListId: '2' }] };
    expect(() => load({}, target)).toThrow(/destinations\.g: needs credentials: serviceAccountKey/);
    expect(() => load({ ...oauth, serviceAccountKey: 'k' }, target)).toThrow(/destinations\.g: give either serviceAccountKey or clientId, clientSecret, refreshToken, not both/);
    expect(() => load({ clientId: 'c' }, target)).toThrow(/destinations\.g\.clientSecret: is required with clientId/);
    expect(() => load({ transport: 'googleAds', serviceAccountKey: 'k' }, { userListId: '2' })).toThrow(/destinations\.g\.clientId: is required with transport 'googleAds'[\s\S]*destinations\.g\.serviceAccountKey: the googleAds transport authenticates with clientId/);
    expect(() => load({ ...oauth, transport: 'googleAds', customerId: '1' }, target)).toThrow(/syncs\.s\.target\.destinations: is for the dataManager transport/);
  });
});

describe('the Data Manager client and the fake, in process', () => {
  let g: FakeDataManagerServer;
  const who = 'destination t';
  const target = { destinations: [{ operatingAccount: { accountType: 'GOOGLE_ADS' as const, accountId: '1234567890' }, productDestinationId: '555' }], consent: undefined };
  const member = (i: number) => ({ hashedEmail: sha256(`m${i}@x.io`) });
  const oauthClient = async (minted: string[] = []) => {
    const { OAuthTokenSource } = await import('../destinations/google-customer-match/oauth-token.js');
    const { DataManagerHttp } = await import('../destinations/google-customer-match/data-manager-http.js');
    const { DataManagerTransport } = await import('../destinations/google-customer-match/data-manager-transport.js');
    const tokens = new OAuthTokenSource({ tokenUrl: g.tokenUrl, clientId: g.config.clientId, clientSecret: g.config.clientSecret, refreshToken: g.config.refreshToken }, 5000, who, { scope: DM_SCOPE, onToken: (t) => minted.push(t) });
    const http = new DataManagerHttp({ baseUrl: g.baseUrl, apiVersion: 'v1' }, tokens, 5000, who, { options: 'clientId, clientSecret and refreshToken', identity: undefined });
    return new DataManagerTransport(http, { target, acceptTerms: true }, who);
  };
  const fails = async (p: Promise<unknown>) => {
    const e = (await p.then(
      () => undefined,
      (err: unknown) => err,
    )) as { message: string; hint?: string; retryable: boolean; retryAfterMs?: number } | undefined;
    expect(e, 'expected a failure').toBeDefined();
    return e!;
  };

  afterEach(() => g.stop());

  it('retry hints: Retry-After first, else RetryInfo; 401 twice stops with one fresh token tried; every token handed out is registered for redaction', async () => {
    g = await new FakeDataManagerServer().start();
    const minted: string[] = [];
    const t = await oauthClient(minted);
    g.knobs.throttleNext = 1;
    g.knobs.retryAfter = undefined;
    g.knobs.retryDelay = '0.25s';
    const quota = await fails(t.upload('create', [member(1)], { replaceAll: false }));
    expect(quota).toMatchObject({ retryable: true, retryAfterMs: 250 });
    g.knobs.rejectAllTokens = true;
    const denied = await fails(t.upload('create', [member(1)], { replaceAll: false }));
    expect(denied).toMatchObject({ retryable: false });
    expect(denied.message).toMatch(/even with a freshly minted access token/);
    expect(denied.hint).toBe(`Check clientId, clientSecret and refreshToken of ${who}.`);
    expect(g.tokenRequests).toBe(2);
    expect(new Set(minted)).toEqual(new Set(g.issuedTokens));
  });

  it('403s say what to fix: the missing datamanager scope (and transport googleAds), the API not enabled, an account out of reach', async () => {
    g = await new FakeDataManagerServer({ refreshTokenScope: 'https://www.googleapis.com/auth/adwords' }).start();
    const t = await oauthClient();
    const scope = await fails(t.upload('create', [member(1)], { replaceAll: false }));
    expect(scope.retryable).toBe(false);
    expect(scope.message).toMatch(/ACCESS_TOKEN_SCOPE_INSUFFICIENT/);
    expect(scope.hint).toMatch(/clientId, clientSecret and refreshToken of destination t lack the https:\/\/www\.googleapis\.com\/auth\/datamanager scope[\s\S]*transport: 'googleAds'/);
    await g.stop();
    g = await new FakeDataManagerServer().start();
    const t2 = await oauthClient();
    g.knobs.serviceDisabled = true;
    expect((await fails(t2.upload('remove', [member(1)], { replaceAll: false }))).hint).toMatch(/^Enable the Data Manager API in the Google Cloud project/);
    g.knobs.serviceDisabled = false;
    g.knobs.deniedAccounts.add('1234567890');
    expect((await fails(t2.upload('create', [member(1)], { replaceAll: false }))).hint).toMatch(/^Give the Google account behind clientId, clientSecret and refreshToken access to every operating account/);
  });

  it('the fake refuses what the API refuses: 10,001 members, 11 identifiers, 11 destinations, an unknown list, no encoding, a raw email, a forged assertion', async () => {
    g = await new FakeDataManagerServer().start();
    const tokenRes = await fetch(g.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: g.config.refreshToken, client_id: g.config.clientId, client_secret: g.config.clientSecret }).toString() });
    const token = String(((await tokenRes.json()) as { access_token: string }).access_token);
    const dest = { operatingAccount: { accountType: 'GOOGLE_ADS', accountId: '1234567890' }, productDestinationId: '555' };
    const one = { userData: { userIdentifiers: [{ emailAddress: sha256('a@x.io') }] } };
    const ingest = async (body: Record<string, unknown>) => {
      const res = await fetch(`${g.baseUrl}/v1/audienceMembers:ingest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ destinations: [dest], audienceMembers: [one], encoding: 'HEX', termsOfService: { customerMatchTermsOfServiceStatus: 'ACCEPTED' }, ...body }) });
      return { status: res.status, text: await res.text() };
    };
    expect(await ingest({})).toMatchObject({ status: 200 });
    expect(await ingest({ audienceMembers: Array.from({ length: 10_001 }, () => one) })).toMatchObject({ status: 400, text: expect.stringContaining('TOO_MANY_AUDIENCE_MEMBERS') });
    expect(await ingest({ audienceMembers: [{ userData: { userIdentifiers: Array.from({ length: 11 }, (_, i) => ({ emailAddress: sha256(`${i}@x.io`) })) } }] })).toMatchObject({ status: 400, text: expect.stringContaining('TOO_MANY_USER_IDENTIFIERS') });
    expect(await ingest({ destinations: Array.from({ length: 11 }, () => dest) })).toMatchObject({ status: 400, text: expect.stringContaining('TOO_MANY_DESTINATIONS') });
    expect(await ingest({ destinations: [{ ...dest, productDestinationId: '999' }] })).toMatchObject({ status: 400, text: expect.stringContaining('INVALID_USER_LIST_ID') });
    expect(await ingest({ encoding: undefined })).toMatchObject({ status: 400, text: expect.stringContaining('REQUIRED_FIELD_MISSING') });
    const raw = await ingest({ audienceMembers: [one, { userData: { userIdentifiers: [{ emailAddress: 'plain@x.io' }] } }] });
    expect(raw.status).toBe(400);
    expect(JSON.parse(raw.text).error.details[1].fieldViolations[0]).toMatchObject({ field: 'audience_members.audience_members[1].user_data.user_identifiers', reason: 'INVALID_SHA256_FORMAT' });
    expect(g.rawLeaks).toEqual([{ field: 'emailAddress', value: 'plain@x.io' }]);
    expect(g.stored.size).toBe(1);

    const { generateKeyPairSync } = await import('node:crypto');
    const { parseServiceAccountKey, signAssertion } = await import('../destinations/google-customer-match/service-account-token.js');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forged = signAssertion(parseServiceAccountKey(g.serviceAccountKeyJson({ private_key: other }), 'k'), DM_SCOPE, Date.now());
    const res = await fetch(g.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: forged }).toString() });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
  });
});

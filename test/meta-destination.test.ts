import { createHash, createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';
import { AUDIENCE_ERRORS, Audience, FakeMetaServer, THROTTLES, type Cell, type ReceivedRequest } from './fakes/meta-server.js';
import { regainAccessMs } from '../destinations/meta-custom-audiences/graph-errors.js';
import { sessionIdFor } from '../destinations/meta-custom-audiences/replace-session.js';

const TOKEN = 'EAAB-test-system-user-token';
const APP_SECRET = 'test-app-secret';
const AUDIENCE = '23851234567890123';
const ENV = { META_TOKEN: TOKEN, META_APP_SECRET: APP_SECRET };
const ALL_FIELDS = `{ LN: 'last_name', MADID: 'madid', EMAIL: 'email', FN: 'first_name', EXTERN_ID: 'ext_id', PHONE: 'phone' }`;

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
/** What Meta should receive for seeded person i (the fact file's normalization, then SHA-256). */
const hashedEmail = (i: number): string => sha(`person${i}@example.com`);
const hashedPhone = (i: number): string => sha(`1555${String(i).padStart(4, '0')}`);

const MODEL = `select id, email, phone, first_name, last_name, ext_id, madid from {{source 'src' 'people'}} where active\n`;

interface Options {
  fields?: string;
  mode?: string;
  batchSize?: number;
  concurrency?: number;
  appSecret?: boolean;
}

function config(meta: FakeMetaServer, o: Options = {}): string {
  return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { meta: { type: 'meta_custom_audiences', accessToken: env('META_TOKEN')${o.appSecret ? ", appSecret: env('META_APP_SECRET')" : ''}, baseUrl: '${meta.url}',
    batchSize: ${o.batchSize ?? 100}, concurrency: ${o.concurrency ?? 2}, retryBaseDelayMs: 5, timeoutMs: 3000 } },
  syncs: {
    s: { model: 'people', destination: 'meta', key: 'id', mode: '${o.mode ?? 'mirror'}', fields: ${o.fields ?? ALL_FIELDS}, target: { audienceId: '${AUDIENCE}' } },
  },
});
void env;
`;
}

/** n people with messy raw identifiers that only the warehouse's normalization makes matchable. */
function seed(n: number): string[] {
  return [
    'CREATE SCHEMA IF NOT EXISTS src',
    'CREATE TABLE src.people (id INTEGER, email VARCHAR, phone VARCHAR, first_name VARCHAR, last_name VARCHAR, ext_id VARCHAR, madid VARCHAR, active BOOLEAN)',
    `INSERT INTO src.people SELECT i, ' Person' || i || '@Example.COM ', '+1 (555) ' || lpad(CAST(i AS VARCHAR), 4, '0'), 'Ann-' || i, 'O''Neil', ' crm-' || i || ' ', ' AD-' || i || ' ', TRUE FROM generate_series(1, ${n}) AS t(i)`,
  ];
}

interface UploadBody {
  access_token: string;
  appsecret_proof?: string;
  appsecret_time?: string;
  payload: { schema: string[]; data: Cell[][] };
  session?: { session_id: number; batch_seq: number; last_batch_flag: boolean; estimated_num_total: number };
}
const bodyOf = (r: ReceivedRequest): UploadBody => r.body as UploadBody;
const ok = (r: ReceivedRequest): boolean => r.status === 200;

describe('meta_custom_audiences destination', () => {
  let meta: FakeMetaServer;
  let p: CliProject;
  const run = (args: string[] = [], env: Record<string, string> = ENV) => p.cli(['run', '--json', ...args], env);
  const project = async (o: Options = {}, rows = 10): Promise<void> => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': config(meta, o), 'models/people.sql': MODEL });
    await p.exec(...seed(rows));
  };
  const metrics = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await p.query(`SELECT metric, sum(value) AS value FROM audsync.sync_run_metrics GROUP BY metric`)).map((m) => [String(m.metric), Number(m.value)]));

  beforeEach(async () => {
    meta = await new FakeMetaServer(TOKEN).start();
    meta.addAudience(AUDIENCE);
  });
  afterEach(async () => {
    await meta.stop();
    await p?.cleanUp();
  });

  it('adds by POST /{version}/{audience}/users with the schema in a fixed order and only hashes under hashed keys', async () => {
    await project({ batchSize: 10 }, 25);
    await p.exec(`UPDATE src.people SET phone = NULL WHERE id = 2`);
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 's')).toMatchObject({ status: 'success', counts: { succeeded_add: 25 } });
    const writes = meta.writes();
    expect(writes.map((w) => [w.method, w.path])).toEqual(Array(3).fill(['POST', `/v25.0/${AUDIENCE}/users`]));
    expect(writes.map((w) => bodyOf(w).payload.data.length).sort()).toEqual([10, 10, 5]);
    for (const w of writes) {
      expect(bodyOf(w).access_token).toBe(TOKEN);
      expect(bodyOf(w).appsecret_proof).toBeUndefined();
      // Meta's key order, whatever the order in the config.
      expect(bodyOf(w).payload.schema).toEqual(['EXTERN_ID', 'EMAIL', 'PHONE', 'LN', 'FN', 'MADID']);
    }
    const rows = writes.flatMap((w) => bodyOf(w).payload.data);
    const row = (i: number) => rows.find((d) => d[0] === `crm-${i}`);
    expect(row(7)).toEqual([`crm-7`, hashedEmail(7), hashedPhone(7), sha('oneil'), sha('ann7'), 'ad-7']);
    // A NULL field is an unknown cell.
    expect(row(2)?.[2]).toBe('');
    // No raw identifier reached Meta: every cell under a hashed key is a hash or "", in every request received.
    for (const d of rows) for (const c of d.slice(1, 5)) expect(c).toMatch(/^([0-9a-f]{64})?$/);
    expect(JSON.stringify(meta.requests)).not.toMatch(/@|example|ann-|o'neil/i);
    expect(meta.violations).toEqual([]);
    expect(meta.rows(AUDIENCE)).toHaveLength(25);
  });

  it('removes by DELETE with the row last sent, and re-adds a changed member by POST', async () => {
    await project({ fields: `{ EMAIL: 'email', FN: 'first_name' }` });
    expect((await run()).code).toBe(0);
    const sentFor3 = meta.writes().flatMap((w) => bodyOf(w).payload.data).find((d) => d[0] === hashedEmail(3));
    meta.requests.length = 0;
    await p.exec(`UPDATE src.people SET first_name = 'Zoe' WHERE id = 2`, `UPDATE src.people SET active = FALSE WHERE id = 3`);
    const r = await run();
    expect(finished(r, 's')).toMatchObject({ status: 'success', counts: { succeeded_change: 1, succeeded_remove: 1 } });
    const [del, post] = [meta.writes().find((w) => w.method === 'DELETE')!, meta.writes().find((w) => w.method === 'POST')!];
    expect(del.path).toBe(`/v25.0/${AUDIENCE}/users`);
    expect(bodyOf(del).payload).toEqual({ schema: ['EMAIL', 'FN'], data: [sentFor3] });
    expect(bodyOf(post).payload.data).toEqual([[hashedEmail(2), sha('zoe')]]);
    const audience = new Map(meta.rows(AUDIENCE).map((row) => [row.EMAIL, row.FN]));
    expect(audience.has(hashedEmail(3))).toBe(false);
    expect(audience.get(hashedEmail(2))).toBe(sha('zoe'));
    expect(audience.size).toBe(9);
  });

  it('a changed email DELETEs the row last sent before POSTing the new one: the audience holds the new hash, not the old', async () => {
    await project({ fields: `{ EMAIL: 'email', FN: 'first_name' }` });
    expect((await run()).code).toBe(0);
    const newHash = sha('new.person4@example.com');
    meta.requests.length = 0;
    // FN identifies nobody alone: without the DELETE, the old row would stay beside the new one.
    await p.exec(`UPDATE src.people SET email = ' New.Person4@Example.COM ' WHERE id = 4`);
    const r = await run();
    expect(finished(r, 's')).toMatchObject({ status: 'success', counts: { planned_change: 1, succeeded_change: 1 } });
    expect(meta.writes().map((w) => [w.method, w.path, bodyOf(w).payload])).toEqual([
      ['DELETE', `/v25.0/${AUDIENCE}/users`, { schema: ['EMAIL', 'FN'], data: [[hashedEmail(4), sha('ann4')]] }],
      ['POST', `/v25.0/${AUDIENCE}/users`, { schema: ['EMAIL', 'FN'], data: [[newHash, sha('ann4')]] }],
    ]);
    const emails = meta.rows(AUDIENCE).map((row) => row.EMAIL);
    expect(emails).toContain(newHash);
    expect(emails).not.toContain(hashedEmail(4));
    expect(emails).toHaveLength(10);
    expect(meta.violations).toEqual([]);
  });

  it('a change is rejected with the reason when Meta refuses the DELETE of its old row, and is sent again next run', async () => {
    await project({ fields: `{ EMAIL: 'email', FN: 'first_name' }` });
    expect((await run()).code).toBe(0);
    await p.exec(`UPDATE src.people SET email = 'other5@example.com' WHERE id = 5`, `UPDATE src.people SET email = 'other6@example.com' WHERE id = 6`);
    meta.knobs.rejectCells.set(hashedEmail(5), 'Invalid hash for EMAIL');
    const r = await run();
    expect(finished(r, 's')).toMatchObject({ status: 'warning', counts: { succeeded_change: 1, rejected: 1 } });
    const [rej] = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rej).toMatchObject({ record_key: '5', error_code: 'invalid_entry' });
    expect(String(rej?.error_message)).toMatch(/removing the identifiers last sent: .*Invalid hash for EMAIL/);
    meta.knobs.rejectCells.clear();
    meta.requests.length = 0;
    const again = await run();
    expect(finished(again, 's')).toMatchObject({ status: 'success', counts: { planned_change: 1, succeeded_change: 1 } });
    expect(meta.writes().map((w) => [w.method, bodyOf(w).payload.data.map((d) => d[0])])).toEqual([
      ['DELETE', [hashedEmail(5)]],
      ['POST', [sha('other5@example.com')]],
    ]);
    const emails = meta.rows(AUDIENCE).map((row) => row.EMAIL);
    expect(emails).toEqual(expect.arrayContaining([sha('other5@example.com'), sha('other6@example.com')]));
    expect(emails).not.toContain(hashedEmail(5));
    expect(emails).not.toContain(hashedEmail(6));
  });

  it('a change of a non-identifier field (LOOKALIKE_VALUE) is re-added by POST alone: no DELETE', async () => {
    await project({ fields: `{ EMAIL: 'email', LOOKALIKE_VALUE: 'ltv' }` });
    p.write({ 'models/people.sql': `select id, email, ltv from {{source 'src' 'people'}} where active\n` });
    await p.exec('ALTER TABLE src.people ADD COLUMN ltv INTEGER DEFAULT 10');
    expect((await run()).code).toBe(0);
    meta.requests.length = 0;
    await p.exec('UPDATE src.people SET ltv = 99 WHERE id = 2');
    const r = await run();
    expect(finished(r, 's')).toMatchObject({ status: 'success', counts: { planned_change: 1, succeeded_change: 1 } });
    expect(meta.writes().map((w) => [w.method, bodyOf(w).payload])).toEqual([['POST', { schema: ['EMAIL', 'LOOKALIKE_VALUE'], data: [[hashedEmail(2), 99]] }]]);
    expect(meta.rows(AUDIENCE)).toHaveLength(10);
  });

  it('--full-refresh replaces the audience through one usersreplace session, in order, after deleting who left', async () => {
    await project({ fields: `{ EMAIL: 'email', PHONE: 'phone' }`, batchSize: 5, concurrency: 3 }, 30);
    expect((await run()).code).toBe(0);
    meta.requests.length = 0;
    await p.exec(
      'UPDATE src.people SET active = FALSE WHERE id <= 3',
      `INSERT INTO src.people VALUES (31, 'person31@example.com', '+1 555 0031', 'A', 'B', 'x', 'y', TRUE), (32, 'person32@example.com', '+1 555 0032', 'A', 'B', 'x', 'y', TRUE)`,
    );
    // Slow answers and a throttled request make concurrent batches overlap; the session must stay ordered.
    meta.knobs.delayMs = 30;
    meta.knobs.throttle = THROTTLES[80003];
    meta.knobs.throttleNext = 2;
    const r = await run(['--full-refresh']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 's')).toMatchObject({ status: 'success', counts: { succeeded_add: 29, succeeded_remove: 3 } });
    const answered = meta.requests.filter(ok);
    // Who left is deleted first (the session then uploads everyone who stays).
    expect(answered[0]).toMatchObject({ method: 'DELETE', path: `/v25.0/${AUDIENCE}/users` });
    expect(bodyOf(answered[0]!).payload.data.map((d) => d[0]).sort()).toEqual([1, 2, 3].map(hashedEmail).sort());
    const replaces = answered.filter((q) => q.path.endsWith('/usersreplace'));
    expect(answered.filter((q) => q.method === 'POST' && q.path.endsWith('/users'))).toEqual([]);
    const sessions = replaces.map((q) => bodyOf(q).session!);
    // 3 removes + 29 members in batches of 5: 7 batches, each uploading members.
    expect(sessions.map((s) => s.batch_seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(sessions.map((s) => s.last_batch_flag)).toEqual([false, false, false, false, false, false, true]);
    expect(new Set(sessions.map((s) => s.session_id)).size).toBe(1);
    expect(sessions.every((s) => s.estimated_num_total === 29)).toBe(true);
    const [run2] = await p.query(`SELECT run_id FROM audsync.sync_runs WHERE full_refresh ORDER BY started_at DESC LIMIT 1`);
    expect(sessions[0]!.session_id).toBe(sessionIdFor(String(run2?.run_id), 's', AUDIENCE));
    expect(r.events.filter((e) => e.event === 'retry').length).toBe(2);
    // After the last batch the audience is exactly the hashed membership.
    const want = [...Array.from({ length: 27 }, (_, i) => i + 4), 31, 32].map(hashedEmail).sort();
    expect(meta.rows(AUDIENCE).map((row) => row.EMAIL).sort()).toEqual(want);
    expect(meta.violations).toEqual([]);
  });

  it('a full refresh that stops part-way is resumed as a full refresh by the next run: the session it abandoned left Meta with the old audience', async () => {
    await project({ fields: `{ EMAIL: 'email' }`, batchSize: 5, concurrency: 1 }, 30);
    expect((await run()).code).toBe(0);
    // The audience was lost at Meta, which is why the user asks for a full refresh; its last batch is refused.
    meta.audiences.set(AUDIENCE, new Audience());
    meta.knobs.refuseReplaceFromSeq = 6;
    const broken = await run(['--full-refresh']);
    expect(finished(broken, 's').status).toBe('failed');
    expect(meta.rows(AUDIENCE)).toHaveLength(0); // the session never finished: Meta keeps the (empty) audience
    meta.knobs.refuseReplaceFromSeq = undefined;
    // A plain run: the snapshot says 25 members were sent, but they went into the abandoned session.
    const resumed = await run();
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.events.find((e) => e.event === 'warning')?.message).toMatch(/was a full refresh that stopped before the destination acknowledged \d+ of its 30 rows: the destination replaces its contents on a full refresh, so this run resumes it as a full refresh/);
    expect(finished(resumed, 's')).toMatchObject({ status: 'success', counts: { succeeded_add: 30 } });
    expect(meta.rows(AUDIENCE).map((row) => row.EMAIL).sort()).toEqual(Array.from({ length: 30 }, (_, i) => hashedEmail(i + 1)).sort());
    const [last] = await p.query('SELECT full_refresh FROM audsync.sync_runs ORDER BY started_at DESC LIMIT 1');
    expect(last?.full_refresh).toBe(true);
    // Once a full refresh has finished, runs are incremental again.
    const after = await run();
    expect(after.events.some((e) => e.event === 'warning')).toBe(false);
    expect(finished(after, 's').counts).toMatchObject({ planned_add: 0, planned_change: 0, planned_remove: 0 });
    expect(meta.violations).toEqual([]);
  });

  it('--full-refresh of an upsert sync adds by POST /users: without removes, a replace would drop people the sync does not own', async () => {
    await project({ fields: `{ EMAIL: 'email' }`, mode: 'upsert' });
    expect((await run(['--full-refresh'])).code).toBe(0);
    expect(meta.writes().map((w) => [w.method, w.path])).toEqual([['POST', `/v25.0/${AUDIENCE}/users`]]);
  });

  it('retries Meta throttling codes, waiting as X-Business-Use-Case-Usage says', async () => {
    await project({ batchSize: 5 });
    meta.knobs.throttle = THROTTLES[613];
    meta.knobs.throttleNext = 3;
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const retries = r.events.filter((e) => e.event === 'retry');
    expect(retries).toHaveLength(3);
    expect(String(retries[0]!.reason)).toMatch(/throttled by Meta \(code 613, subcode 1487742/);
    expect(meta.rows(AUDIENCE)).toHaveLength(10);
    const usage = (minutes: number) => new Headers({ 'x-business-use-case-usage': JSON.stringify({ '42': [{ type: 'custom_audience', call_count: 100, estimated_time_to_regain_access: minutes }] }) });
    expect(regainAccessMs(usage(3))).toBe(180_000);
    expect(regainAccessMs(usage(0))).toBeUndefined();
    expect(regainAccessMs(new Headers({ 'retry-after': '7' }))).toBe(7000);
  });

  it('an expired token (code 190) stops the sync at once with a clear message and exit 1', async () => {
    await project({ batchSize: 2, concurrency: 1 });
    meta.knobs.authFailure = true;
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 's');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/Meta refused the access token \(code 190, subcode 463.*Session has expired/);
    expect(String(f.hint)).toMatch(/Renew the system-user access token/);
    expect(r.events.filter((e) => e.event === 'retry')).toEqual([]);
    expect(meta.received).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('a deleted audience fails the sync with Meta\'s message', async () => {
    await project();
    meta.knobs.audienceError = AUDIENCE_ERRORS.deleted;
    const r = await run();
    expect(r.code).toBe(1);
    expect(finished(r, 's').error).toMatch(/Meta cannot update the custom audience \(code 100, subcode 1487366.*Custom Audience Deleted/);
    expect(r.events.filter((e) => e.event === 'retry')).toEqual([]);
  });

  it('records num_received and num_invalid_entries, rejects rows quoted in invalid_entry_samples, and reads the audience size', async () => {
    await project({ fields: `{ EMAIL: 'email', PHONE: 'phone' }` });
    meta.knobs.rejectCells.set(hashedEmail(3), 'Invalid hash for EMAIL');
    // Counted invalid by Meta but not quoted: it cannot be told apart, so it counts as sent.
    meta.knobs.unsampledCells.add(hashedEmail(5));
    const r = await run();
    expect(r.code).toBe(0);
    expect(finished(r, 's')).toMatchObject({ status: 'warning', counts: { succeeded_add: 9, rejected: 1 } });
    const [rej] = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rej).toMatchObject({ record_key: '3', error_code: 'invalid_entry' });
    expect(String(rej?.error_message)).toContain('Invalid hash for EMAIL');
    expect(await metrics()).toMatchObject({
      'meta.num_received': 10,
      'meta.num_invalid_entries': 2,
      'meta.approximate_count_lower_bound': 8,
      'meta.approximate_count_upper_bound': 9,
    });
    meta.knobs.rejectCells.clear();
    const again = await run();
    expect(finished(again, 's')).toMatchObject({ status: 'success', counts: { planned_add: 1, succeeded_add: 1 } });
  });

  it('a failed audience size read does not fail the batch', async () => {
    await project({ fields: `{ EMAIL: 'email' }` });
    meta.knobs.failSizeRead = true;
    const r = await run();
    expect(finished(r, 's')).toMatchObject({ status: 'success', counts: { succeeded_add: 10 } });
    expect(meta.requests.filter((q) => q.method === 'GET').map((q) => q.status)).toEqual([500]);
    expect(Object.keys(await metrics()).filter((m) => m.startsWith('meta.approximate'))).toEqual([]);
  });

  it('a row with no usable identifier is not sent and is counted invalid', async () => {
    await project({ fields: `{ EMAIL: 'email', PHONE: 'phone' }` });
    await p.exec(`UPDATE src.people SET email = '   ', phone = NULL WHERE id = 4`, `UPDATE src.people SET email = NULL, phone = '+ ( ) -' WHERE id = 6`);
    const r = await run();
    expect(finished(r, 's')).toMatchObject({ status: 'success', counts: { members: 8, invalid: 2, succeeded_add: 8 } });
    const sent = meta.writes().flatMap((w) => bodyOf(w).payload.data);
    expect(sent).toHaveLength(8);
    expect(sent.some((d) => d.every((c) => c === ''))).toBe(false);
    expect((await metrics())['invalid: no usable identifier']).toBe(2);
  });

  it('refuses a mapped field that is not a Meta schema key, naming it, before sending anything', async () => {
    await project({ fields: `{ EMAIL: 'email', email_raw: 'email' }` });
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 's');
    expect(f.error).toMatch(/syncs\.s\.fields\.email_raw: "email_raw" is not a Meta schema key/);
    expect(meta.received).toBe(0);
  });

  it('signs every call with appsecret_proof and appsecret_time when an app secret is set', async () => {
    await meta.stop();
    meta = await new FakeMetaServer(TOKEN, { appSecret: APP_SECRET }).start();
    meta.addAudience(AUDIENCE);
    await project({ fields: `{ EMAIL: 'email' }`, appSecret: true });
    const wrong = await run([], { ...ENV, META_APP_SECRET: 'not-the-app-secret' });
    expect(wrong.code).toBe(1);
    expect(finished(wrong, 's').error).toMatch(/Meta refused the access token.*appsecret_proof/);
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const post = meta.writes().find(ok)!;
    const { appsecret_proof: proof, appsecret_time: time } = bodyOf(post);
    expect(Math.abs(Number(time) - Date.now() / 1000)).toBeLessThan(60);
    expect(proof).toBe(createHmac('sha256', APP_SECRET).update(`${TOKEN}|${time}`).digest('hex'));
    const get = meta.requests.find((q) => q.method === 'GET')!;
    expect(get.query).toMatchObject({ fields: 'approximate_count_lower_bound,approximate_count_upper_bound', access_token: TOKEN });
    expect(get.query.appsecret_proof).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stdout + r.stderr + wrong.stdout + wrong.stderr).not.toContain(APP_SECRET);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableWarehouses, itOnFirstWarehouse } from './support/warehouses.js';
import { PostgresConnection } from '../engine/warehouse/postgres/postgres-connection.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { createFixture, expectedAudience, fixtureConfig, HOOK_ENV, HOOK_SECRET } from './support/audience-fixture.js';
import { collect, finished, type CliProject } from './support/cli-project.js';
import { interruptedFullRefreshSql } from '../engine/state/state-sql.js';
import { getDialect } from '../engine/warehouse/warehouse-registry.js';
import type { WarehouseType } from '../engine/config/config-types.js';

const warehouses = await availableWarehouses();

describe.each(warehouses)('sync scenarios on $name', (wh) => {
  // Behaviour decided before or outside the warehouse (config, retries): once, on DuckDB.
  const runnerOnly = itOnFirstWarehouse(wh, warehouses);
  let hook: FakeWebhookServer;
  let p: CliProject;
  const run = (...args: string[]) => p.cli(['run', '--json', ...args], HOOK_ENV);

  beforeEach(async () => {
    hook = await new FakeWebhookServer(HOOK_SECRET).start();
  });
  afterEach(async () => {
    await hook.stop();
    await p?.cleanUp();
  });

  it('initial load sends every member once, signed, and records it', async () => {
    p = await createFixture(wh, hook, 120);
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('success');
    expect(f.counts).toMatchObject({ members: 120, planned_add: 120, succeeded_add: 120, rejected: 0, failed: 0 });
    expect(hook.audience).toEqual(await expectedAudience(p));
    expect(hook.operations).toHaveLength(120);
    expect(hook.batches.every((b) => b.operations.length <= 25)).toBe(true);
    expect(await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE status = 'succeeded' AND op = 'add'`)).toBe(120);
    const [cl] = await p.query(`SELECT destination_record_id FROM audsync.sync_changelog WHERE record_key = '7'`);
    expect(cl?.destination_record_id).toBe('id-7');
    const [run1] = await p.query('SELECT status, members, planned_add, succeeded_add, finished_at FROM audsync.sync_runs');
    expect(run1).toMatchObject({ status: 'success' });
    expect(Number(run1!.members)).toBe(120);
    expect(await p.count(`SELECT count(*) FROM audsync.audience_events WHERE event = 'enter' AND model = 'active_customers'`)).toBe(120);
  });

  it('churn sends exactly the delta, and the destination ends equal to the audience', async () => {
    p = await createFixture(wh, hook, 100);
    expect((await run()).code).toBe(0);
    hook.reset();
    await p.exec(
      `UPDATE src.customers SET tier = 'platinum' WHERE id IN (1, 2, 3)`, // change
      `UPDATE src.customers SET active = FALSE WHERE id IN (10, 11)`, // exit
      `DELETE FROM src.customers WHERE id IN (20, 21, 22)`, // deleted rows
      `INSERT INTO src.customers VALUES (101, 'new101@example.com', 'gold', TRUE), (102, 'new102@example.com', 'silver', TRUE)`, // enter
    );
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    const f = finished(r, 'active_to_hook');
    expect(f.counts).toMatchObject({ planned_add: 2, planned_change: 3, planned_remove: 5, succeeded_add: 2, succeeded_change: 3, succeeded_remove: 5 });
    const sent = hook.operations.map((o) => `${o.op}:${o.key}`).sort();
    expect(sent).toEqual(['add:101', 'add:102', 'change:1', 'change:2', 'change:3', 'remove:10', 'remove:11', 'remove:20', 'remove:21', 'remove:22'].sort());
    // A remove carries the fields last sent.
    expect(hook.operations.find((o) => o.key === '20')?.fields).toEqual({ email: 'user20@example.com', tier: 'silver' });
    expect(hook.audience).toEqual(await expectedAudience(p));
    expect(await p.count(`SELECT count(*) FROM audsync.audience_events WHERE event = 'exit'`)).toBe(5);
  });

  it('a run with no change sends nothing, and plan never sends', async () => {
    p = await createFixture(wh, hook, 50);
    const planned = await p.cli(['plan', '--json'], HOOK_ENV);
    expect(planned.code).toBe(0);
    expect(planned.events.find((e) => e.event === 'planned')).toMatchObject({ add: 50, change: 0, remove: 0 });
    expect(hook.batches).toHaveLength(0);
    expect(await p.count('SELECT count(*) FROM audsync.sync_runs')).toBe(0);
    expect((await run()).code).toBe(0);
    hook.reset();
    const again = await run();
    expect(finished(again, 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_add: 0, planned_change: 0, planned_remove: 0 } });
    expect(hook.batches).toHaveLength(0);
  });

  runnerOnly('plan works without destination secrets', async () => {
    p = await createFixture(wh, hook, 10);
    const r = await p.cli(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
  });

  runnerOnly('a 429/5xx storm and a timeout still converge', async () => {
    p = await createFixture(wh, hook, 200);
    hook.knobs.retryAfter = '0';
    hook.knobs.failNext = [429, 503, 500, 429, 502, 504, 429, 503, 500, 429];
    hook.knobs.hangNext = 1;
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'success', counts: { succeeded_add: 200, failed: 0 } });
    expect(hook.failures.length).toBe(10);
    expect(r.events.filter((e) => e.event === 'retry').length).toBeGreaterThanOrEqual(11);
    expect(hook.audience).toEqual(await expectedAudience(p));
  });

  it('a batch that exhausts its attempts is failed, and the next run sends it again', async () => {
    p = await createFixture(wh, hook, 10, { batchSize: 10 });
    hook.knobs.failNext = Array(8).fill(503);
    hook.knobs.retryAfter = '0';
    const r = await run();
    // Nothing delivered of a non-empty plan is a failure, with the cause and an example key.
    expect(r.code).toBe(1);
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'failed', counts: { failed: 10, succeeded_add: 0 } });
    expect(finished(r, 'active_to_hook').error).toMatch(/^10 of 10 rows failed: gave up after 8 attempts: .*503.* \(e\.g\. key \d+\)$/);
    expect(r.events.find((e) => e.event === 'run_finished')).toMatchObject({ exit_code: 1 });
    expect(await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE status = 'failed'`)).toBe(10);
    const again = await run();
    expect(finished(again, 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_add: 10, succeeded_add: 10 } });
    expect(hook.audience).toEqual(await expectedAudience(p));
  });

  it('rejected rows are recorded with the reason, the run is a warning, and the next run retries exactly them', async () => {
    p = await createFixture(wh, hook, 60);
    hook.knobs.rejectKeys.set('5', 'invalid email').set('44', 'unknown list');
    const r = await run();
    expect(r.code).toBe(0);
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'warning', counts: { succeeded_add: 58, rejected: 2 } });
    const rejected = await p.query(`SELECT record_key, error_message FROM audsync.sync_changelog WHERE status = 'rejected' ORDER BY record_key`);
    expect(rejected).toEqual([
      { record_key: '44', error_message: 'unknown list' },
      { record_key: '5', error_message: 'invalid email' },
    ]);
    const [health] = await p.query(`SELECT last_status, pending_retries FROM audsync.sync_health`);
    expect(health).toMatchObject({ last_status: 'warning' });
    expect(Number(health!.pending_retries)).toBe(2);
    hook.knobs.rejectKeys.clear();
    hook.reset();
    const again = await run();
    expect(finished(again, 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_add: 2, succeeded_add: 2 } });
    expect(hook.operations.map((o) => o.key).sort()).toEqual(['44', '5']);
    expect(hook.audience).toEqual(await expectedAudience(p));
  });

  it('rows refused for the same reason run after run are quarantined and held back; a field change, audsync retry or leaving releases them', async () => {
    p = await createFixture(wh, hook, 20, { guardrails: '{ quarantineAfterRuns: 2, maxRejectedPercent: 100 }' });
    for (const k of ['5', '6', '7']) hook.knobs.rejectKeys.set(k, 'invalid email');
    const quarantinedNow = async () => Number((await p.query(`SELECT quarantined FROM audsync.sync_health`))[0]!.quarantined);
    expect(finished(await run(), 'active_to_hook')).toMatchObject({ status: 'warning', counts: { rejected: 3 }, quarantined: 0, newly_quarantined: 0 });
    // Second refusal in a row, for the same reason: quarantined (something else is delivered, so the run is a warning).
    await p.exec(`UPDATE src.customers SET tier = 'platinum' WHERE id = 1`);
    const second = finished(await run(), 'active_to_hook');
    expect(second).toMatchObject({ status: 'warning', counts: { rejected: 3, succeeded_change: 1 }, quarantined: 3, newly_quarantined: 3 });
    expect(second.error).toContain('3 row(s) quarantined after 2 runs refused for the same reason');
    expect(await quarantinedNow()).toBe(3);
    const tracked = await p.query(`SELECT record_key, streak, error_message FROM audsync.row_rejections WHERE quarantined_at IS NOT NULL ORDER BY record_key`);
    expect(tracked.map((r) => [r.record_key, Number(r.streak), r.error_message])).toEqual([['5', 2, 'invalid email'], ['6', 2, 'invalid email'], ['7', 2, 'invalid email']]);
    // Held back: nothing is sent and the run is a success.
    hook.reset();
    const third = await run();
    expect(third.events.find((e) => e.event === 'planned')).toMatchObject({ add: 0, quarantined: 3 });
    expect(finished(third, 'active_to_hook')).toMatchObject({ status: 'success', quarantined: 3 });
    expect(hook.attemptIds).toHaveLength(0);
    // A field change is a new row: sent again (and accepted now).
    hook.knobs.rejectKeys.delete('5');
    await p.exec(`UPDATE src.customers SET email = 'fixed5@example.com' WHERE id = 5`);
    expect(finished(await run(), 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_add: 1, succeeded_add: 1 }, quarantined: 2 });
    expect(hook.audience.get('5')).toMatchObject({ email: 'fixed5@example.com' });
    // audsync retry releases one key, then the next run sends it.
    hook.knobs.rejectKeys.delete('6');
    const retried = await p.cli(['retry', '--sync', 'active_to_hook', '--key', '6', '--json']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.events).toContainEqual({ event: 'retry_released', sync: 'active_to_hook', released: 1 });
    expect(finished(await run(), 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_add: 1, succeeded_add: 1 }, quarantined: 1 });
    expect(hook.audience.has('6')).toBe(true);
    // A member who leaves takes their quarantine along.
    await p.exec(`UPDATE src.customers SET active = FALSE WHERE id = 7`);
    expect(finished(await run(), 'active_to_hook')).toMatchObject({ status: 'success', quarantined: 0 });
    expect(await quarantinedNow()).toBe(0);
    expect(await p.count(`SELECT count(*) FROM audsync.row_rejections`)).toBe(0);
    expect(hook.audience).toEqual(await expectedAudience(p));
    const none = await p.cli(['retry', 'active_to_hook', '--json']);
    expect(none.events).toContainEqual({ event: 'retry_released', sync: 'active_to_hook', released: 0 });
  });

  it('kill -9 in the middle of streaming, then an immediate rerun, converges with nothing lost', async () => {
    p = await createFixture(wh, hook, 400, { batchSize: 10 });
    // Slow enough that outcomes are committed (about once a second) long before the last batch goes out.
    hook.knobs.delayMs = 200;
    const child = p.spawn(['run', '--json'], HOOK_ENV);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const done = collect(child);
    // Killed once some batches are committed (a progress event follows each commit) and others are in flight.
    await until(() => out.includes('"event":"progress"') && hook.batches.length >= 8);
    child.kill('SIGKILL');
    await done;
    expect(hook.batches.length).toBeLessThan(40);
    const committed = await p.count(`SELECT count(*) FROM audsync.snapshot__active_to_hook`);
    expect(committed).toBeGreaterThan(0);
    hook.knobs.delayMs = 0;
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('success');
    // Everything committed before the kill is not planned again; the rest is.
    expect(f.counts.planned_add).toBe(400 - committed);
    expect(hook.audience).toEqual(await expectedAudience(p));
    const runs = await p.query('SELECT status FROM audsync.sync_runs ORDER BY started_at');
    expect(runs.map((x) => x.status)).toEqual(['aborted', 'success']);
    expect(await p.count(`SELECT count(*) FROM audsync.snapshot__active_to_hook`)).toBe(400);
  });

  it.runIf(wh.name === 'duckdb')('snapshot hashes of another kind (md5 text from an older audsync, or another version of the hash function) are made again; nothing is re-sent', async () => {
    p = await createFixture(wh, hook, 50);
    expect((await run()).code).toBe(0);
    // As an older audsync left it: the hash column is md5 text, and no seal.
    await p.exec(`ALTER TABLE audsync.snapshot__active_to_hook ALTER COLUMN row_hash SET DATA TYPE VARCHAR USING md5(fields_json)`);
    await p.exec(`DELETE FROM audsync.row_hash_seals`);
    await p.exec(`UPDATE src.customers SET tier = 'platinum' WHERE id = 7`);
    hook.reset();
    const r = await run();
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_add: 0, planned_change: 1, planned_remove: 0 } });
    expect(hook.audience.get('7')).toMatchObject({ tier: 'platinum' });
    expect(await p.query(`SELECT data_type FROM information_schema.columns WHERE table_name = 'snapshot__active_to_hook' AND column_name = 'row_hash'`)).toEqual([{ data_type: 'UBIGINT' }]);
    // A seal from another version of the function: the hashes (here scrambled) are computed again from the fields kept.
    await p.exec(`UPDATE audsync.row_hash_seals SET seal = 'another engine'`);
    await p.exec(`UPDATE audsync.snapshot__active_to_hook SET row_hash = 1`);
    expect(finished(await run(), 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_add: 0, planned_change: 0, planned_remove: 0 } });
    expect(await p.count(`SELECT count(*) FROM audsync.row_hash_seals WHERE seal <> 'another engine'`)).toBe(1);
  });

  it('an emptied source is stopped by the default guardrail; --force goes through', async () => {
    p = await createFixture(wh, hook, 80);
    expect((await run()).code).toBe(0);
    hook.reset();
    await p.exec('DELETE FROM src.customers');
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('aborted');
    expect(f.error).toMatch(/would remove 80 of 80 .*maxRemovePercent 50/);
    expect(hook.batches).toHaveLength(0);
    expect(await p.count('SELECT count(*) FROM audsync.snapshot__active_to_hook')).toBe(80);
    const forced = await run('--force');
    expect(forced.code).toBe(0);
    expect(finished(forced, 'active_to_hook')).toMatchObject({ status: 'success', counts: { succeeded_remove: 80 } });
    expect(hook.audience.size).toBe(0);
  });

  it('maxAddPercent and minMembers guardrails abort before sending', async () => {
    p = await createFixture(wh, hook, 20, { guardrails: '{ maxAddPercent: 10, minMembers: 5 }' });
    expect((await run()).code).toBe(0); // first load: maxAddPercent does not apply
    await p.exec(`INSERT INTO src.customers SELECT i, 'x' || i || '@example.com', 'gold', TRUE FROM generate_series(21, 30) AS t(i)`);
    hook.reset();
    const r = await run();
    expect(r.code).toBe(1);
    expect(finished(r, 'active_to_hook').error).toMatch(/maxAddPercent 10/);
    await p.exec('DELETE FROM src.customers WHERE id > 3');
    const few = await run();
    expect(finished(few, 'active_to_hook').error).toMatch(/(maxRemovePercent|fewer than minMembers 5)/);
    expect(hook.batches).toHaveLength(0);
  });

  it('--full-refresh re-sends every member and still removes who left', async () => {
    p = await createFixture(wh, hook, 30);
    expect((await run()).code).toBe(0);
    await p.exec('UPDATE src.customers SET active = FALSE WHERE id = 1');
    hook.reset();
    hook.audience.clear(); // the destination lost its data
    hook.audience.set('1', { email: 'stale' });
    const r = await run('--full-refresh');
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_add: 29, planned_remove: 1 } });
    expect(hook.audience).toEqual(await expectedAudience(p));
    const [last] = await p.query('SELECT full_refresh FROM audsync.sync_runs ORDER BY started_at DESC LIMIT 1');
    expect(last?.full_refresh).toBe(true);
    // The re-sent members replaced their snapshot rows: one row per member, none twice.
    expect(await p.count('SELECT count(*) FROM audsync.snapshot__active_to_hook')).toBe(29);
    expect(await p.count('SELECT count(DISTINCT record_key) FROM audsync.snapshot__active_to_hook')).toBe(29);
    hook.reset();
    expect(finished(await run(), 'active_to_hook').counts.planned_add).toBe(0);
  });

  it('a full refresh that stopped part-way is completed by the next run, for every destination, with a warning naming it', async () => {
    p = await createFixture(wh, hook, 60);
    expect((await run()).code).toBe(0);
    const interrupted = () => p.query(interruptedFullRefreshSql(getDialect(wh.name as WarehouseType), 'audsync', 'active_to_hook'));
    expect(await interrupted()).toEqual([]);
    hook.audience.clear(); // the reason for the refresh: the destination lost its data
    hook.reset();
    hook.knobs.failNext = [0, 401]; // the first batch is acknowledged, the second refused for good
    const r = await run('--full-refresh');
    const refresh = finished(r, 'active_to_hook');
    expect(refresh.status).toBe('failed');
    expect(await interrupted()).toEqual([{ run_id: refresh.run_id }]);
    // Batches in flight beside the refused one may have been acknowledged too.
    const acknowledged = refresh.counts.succeeded_add ?? 0;
    const owed = 60 - acknowledged;
    expect(hook.audience.size).toBe(acknowledged);
    expect(owed).toBeGreaterThan(0);
    // The webhook does not replace its contents: the next run is incremental, and sends the rows the refresh still owed.
    hook.reset();
    const next = await run();
    expect(next.code, next.stdout + next.stderr).toBe(0);
    const warning = next.events.find((e) => e.event === 'warning');
    expect(String(warning?.message)).toContain(`run ${String(refresh.run_id)} was a full refresh that stopped before the destination acknowledged ${owed} of its 60 rows: this run sends those rows again`);
    expect(finished(next, 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_add: owed, succeeded_add: owed } });
    expect(hook.audience).toEqual(await expectedAudience(p));
    // Done: the run after that has nothing to send and nothing to say.
    hook.reset();
    const after = await run();
    expect(after.events.some((e) => e.event === 'warning')).toBe(false);
    expect(finished(after, 'active_to_hook').counts).toMatchObject({ planned_add: 0, planned_change: 0, planned_remove: 0 });
  });

  it('changing the field mapping re-sends rows as change, never a wipe', async () => {
    p = await createFixture(wh, hook, 15);
    expect((await run()).code).toBe(0);
    p.write({ 'audsync.config.ts': (await import('./support/audience-fixture.js')).fixtureConfig(hook.url, { fields: `{ email: 'email', tier: 'tier', id_copy: 'id' }` }) });
    hook.reset();
    const r = await run();
    expect(finished(r, 'active_to_hook').counts).toMatchObject({ planned_add: 0, planned_change: 15, planned_remove: 0 });
    expect(hook.operations.every((o) => o.op === 'change' && 'id_copy' in o.fields)).toBe(true);
  });

  it('modes filter what is sent: upsert never removes, add only adds, update only changes', async () => {
    for (const [mode, expectOps] of [
      ['upsert', ['add:99', 'change:1']],
      ['add', ['add:99']],
      ['update', ['change:1', 'change:99']],
    ] as const) {
      p = await createFixture(wh, hook, 10, { mode });
      expect((await run()).code).toBe(0);
      await p.exec(`UPDATE src.customers SET tier = 'vip' WHERE id = 1`, 'DELETE FROM src.customers WHERE id = 2', `INSERT INTO src.customers VALUES (99, 'n@example.com', 'gold', TRUE)`);
      hook.reset();
      const r = await run();
      expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
      expect(hook.operations.map((o) => `${o.op}:${o.key}`).sort(), mode).toEqual([...expectOps]);
      await p.cleanUp();
    }
  });

  // DuckDB allows one writer process per file, so only a server warehouse can run two syncs at once.
  it.runIf(wh.name === 'duckdb')('working tables stay out of the database file (the plan, a delta, is kept there); copies an earlier version left in the state schema are dropped', async () => {
    p = await createFixture(wh, hook, 20);
    expect((await run()).code).toBe(0);
    // What versions before 84c94e0 kept in the file (a full copy of the membership, the model delta), and the old stage table.
    await p.exec(
      'CREATE TABLE audsync.members__active_to_hook AS SELECT 1 AS x',
      'CREATE TABLE audsync.model_delta__active_to_hook AS SELECT 1 AS x',
      'CREATE TABLE audsync.stage__active_to_hook AS SELECT 1 AS x',
    );
    await p.exec("UPDATE src.customers SET tier = 'platinum' WHERE id = 3");
    hook.reset();
    const r = await run();
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_change: 1 } });
    const tables = (await p.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'audsync' ORDER BY table_name`)).map((t) => t.table_name);
    expect(tables).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(members|model_delta|stage)__/)]));
    expect(tables).toEqual(expect.arrayContaining(['snapshot__active_to_hook', 'plan__active_to_hook', 'sync_changelog', 'sync_runs']));
    // The durable plan is this run's delta, not the membership.
    expect(await p.count('SELECT count(*) FROM audsync.plan__active_to_hook')).toBe(1);
  });

  it.runIf(wh.name !== 'duckdb')('syncs of one model running at once record each membership change once', async () => {
    const sync = (n: number) => `
    file_${n}: { model: 'active_customers', destination: 'out_${n}', key: 'id', fields: { email: 'email' } },`;
    p = await createFixture(wh, hook, 30_000, { extraSync: sync(1) + sync(2) + sync(3) });
    const config = fs.readFileSync(path.join(p.dir, 'audsync.config.ts'), 'utf8');
    p.write({ 'audsync.config.ts': config.replace('destinations: {', `destinations: {${[1, 2, 3].map((n) => ` out_${n}: { type: 'file', path: 'out_${n}.jsonl' },`).join('')}`) });
    const results = await Promise.all([1, 2, 3].map((n) => p.cli(['run', '--json', '--select', `file_${n}`], HOOK_ENV)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(await p.count(`SELECT count(*) FROM audsync.audience_events WHERE event = 'enter'`)).toBe(30_000);
    expect(await p.count('SELECT count(*) FROM audsync.model_keys__active_customers')).toBe(30_000);
  });

  it.runIf(wh.name === 'postgres')('the server running out of resources (temp_file_limit) fails the sync with its SQLSTATE and a resource hint, not a model error', async () => {
    p = await createFixture(wh, hook, 10);
    await p.exec(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET temp_file_limit = %L', current_database(), '1MB'); END $$`);
    // A sort far larger than work_mem must spill to temporary files, past the 1 MB limit.
    p.write({ 'models/active_customers.sql': "select i as id, md5(i::text) || repeat('x', 200) as email, 'gold' as tier from generate_series(1, 300000) as t(i) order by md5(i::text)\n" });
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const done = finished(r, 'active_to_hook');
    expect(String(done.error)).toMatch(/temp_file_limit.*\(SQLSTATE 53400\)/);
    expect(String(done.hint)).toMatch(/ran out of resources/);
    expect(String(done.error)).not.toMatch(/the model failed/);
    expect(hook.batches).toHaveLength(0);
  });

  it.runIf(wh.name === 'postgres')('a sync whose lock another run holds is skipped naming the holder; the others run', async () => {
    p = await createFixture(wh, hook, 10, { extraSync: `
    second: { model: 'active_customers', destination: 'hook', key: 'id', fields: { email: 'email' } },` });
    const url = /connectionString: "([^"]+)"/.exec(wh.configLiteral(p.dir))![1]!;
    const holder = await PostgresConnection.open({ type: 'postgres', connectionString: url });
    try {
      const release = await holder.acquireRunLock('active_to_hook');
      const r = await p.cli(['run', '--json'], HOOK_ENV);
      expect(r.code).toBe(1);
      expect(r.events.find((e) => e.event === 'skipped' && e.sync === 'active_to_hook')).toMatchObject({ reason: expect.stringMatching(/pid \d+/) });
      expect(finished(r, 'second').status).toBe('success');
      await release();
    } finally {
      await holder.close();
    }
    const after = await p.cli(['run', '--json'], HOOK_ENV);
    expect(finished(after, 'active_to_hook').status).toBe('success');
  });

  it('remove mode removes each listed member once', async () => {
    p = await createFixture(wh, hook, 5, { mode: 'remove' });
    const r = await run();
    expect(finished(r, 'active_to_hook').counts).toMatchObject({ planned_remove: 5, succeeded_remove: 5 });
    hook.reset();
    expect(finished(await run(), 'active_to_hook').counts.planned_remove).toBe(0);
    expect(hook.batches).toHaveLength(0);
  });

  it('remove mode honours maxRemovePercent (of all it will have removed) and maxRemove; --force goes through', async () => {
    p = await createFixture(wh, hook, 400, { mode: 'remove', batchSize: 100, guardrails: '{ maxRemovePercent: 1 }' });
    const capped = await run();
    expect(capped.code).toBe(1);
    expect(finished(capped, 'active_to_hook')).toMatchObject({ status: 'aborted', error: expect.stringMatching(/would remove 400 members, 100\.0% of the 400 this sync will have removed, above maxRemovePercent 1%/) });
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url, { mode: 'remove', batchSize: 100, guardrails: '{ maxRemove: 50 }' }) });
    expect(finished(await run(), 'active_to_hook')).toMatchObject({ status: 'aborted', error: expect.stringMatching(/would remove 400 members, above maxRemove 50/) });
    expect(hook.batches).toHaveLength(0);
    expect(finished(await run('--force'), 'active_to_hook').counts).toMatchObject({ succeeded_remove: 400 });
    // Later runs that remove a few more stay under 1% of everything removed.
    await p.exec(`INSERT INTO src.customers VALUES (401, 'new401@example.com', 'gold', TRUE), (402, 'new402@example.com', 'gold', TRUE)`);
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url, { mode: 'remove', batchSize: 100, guardrails: '{ maxRemovePercent: 1 }' }) });
    expect(finished(await run(), 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_remove: 2, succeeded_remove: 2 } });
  });
});

async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

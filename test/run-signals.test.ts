import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableWarehouses, itOnFirstWarehouse } from './support/warehouses.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { closedLoopbackPort } from './fakes/fake-http.js';
import { ACTIVE_MODEL, createFixture, fixtureConfig, HOOK_ENV, HOOK_SECRET } from './support/audience-fixture.js';
import { collect, CliProject, finished, type CliResult } from './support/cli-project.js';
import { PostgresConnection } from '../engine/warehouse/postgres/postgres-connection.js';

const warehouses = await availableWarehouses();

/** The exit code the run's last JSON event claims; must equal the process's. */
function claimedExit(r: CliResult): unknown {
  return r.events.find((e) => e.event === 'run_finished')?.exit_code;
}

function expectHonestExit(r: CliResult, code: number): void {
  expect(r.code, r.stderr).toBe(code);
  expect(claimedExit(r)).toBe(code);
}


async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not seen in time`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const THREE_SYNCS = (url: string): string =>
  fixtureConfig(url, {
    extraSync: `
    broken_model: { model: 'broken', destination: 'hook', key: 'id', fields: { email: 'email' } },
    no_secret: { model: 'active_customers', destination: 'hook_unset', key: 'id', fields: { email: 'email' } },`,
    // hook_unset's secret is never set in the environment.
  }).replace(/(hook: \{[^\n]*\n)/, `$1    hook_unset: { type: 'webhook', url: '${url}', secret: env('UNSET_HOOK_SECRET'), retryBaseDelayMs: 5 },\n`);

describe.each(warehouses)('run signals on $name', (wh) => {
  // Exit codes and events the runner decides without the warehouse's say: once, on DuckDB.
  const runnerOnly = itOnFirstWarehouse(wh, warehouses);
  let hook: FakeWebhookServer;
  let p: CliProject;
  const run = (...args: string[]) => p.cli(['run', '--json', ...args], HOOK_ENV);
  const health = async (): Promise<Record<string, unknown>> => (await p.query(`SELECT * FROM audsync.sync_health WHERE sync_name = 'active_to_hook'`))[0] ?? {};

  beforeEach(async () => {
    hook = await new FakeWebhookServer(HOOK_SECRET).start();
  });
  afterEach(async () => {
    await hook.stop();
    await p?.cleanUp();
  });

  runnerOnly('a success and a warning exit 0, and run_finished says so', async () => {
    p = await createFixture(wh, hook, 40);
    expectHonestExit(await run(), 0);
    await p.exec(`UPDATE src.customers SET tier = 'platinum' WHERE id <= 10`);
    hook.knobs.rejectKeys.set('3', 'email is malformed');
    const r = await run();
    expectHonestExit(r, 0);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('warning');
    expect(f.error).toMatch(/1 rejected, 0 failed of 10 planned; most often \(1 rejected\): email is malformed \(e\.g\. key 3\)/);
  });

  it('an unreachable webhook fails the sync (exit 1) naming the cause; last_success_at does not move', async () => {
    p = await createFixture(wh, hook, 30, { maxAttempts: 2 });
    expectHonestExit(await run(), 0);
    const before = await health();
    await p.exec(`UPDATE src.customers SET tier = 'platinum' WHERE id <= 12`);
    p.write({ 'audsync.config.ts': fixtureConfig(`http://127.0.0.1:${await closedLoopbackPort()}/hooks/audsync`, { maxAttempts: 2 }) });
    const r = await run();
    expectHonestExit(r, 1);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('failed');
    expect(f.counts).toMatchObject({ planned_change: 12, failed: 12, succeeded_change: 0 });
    expect(f.error).toMatch(/12 of 12 rows failed/);
    expect(f.error).toMatch(/ECONNREFUSED|connect|refused/i);
    expect(f.error).toMatch(/key "?\d+/);
    expect(r.stderr).toMatch(/error: active_to_hook: /);
    const after = await health();
    expect(after.last_status).toBe('failed');
    expect(after.last_success_at).toEqual(before.last_success_at);
    const [row] = await p.query(`SELECT status, error FROM audsync.sync_runs ORDER BY started_at DESC LIMIT 1`);
    expect(row).toMatchObject({ status: 'failed', error: expect.stringMatching(/12 of 12 rows failed/) });
  });

  runnerOnly('a webhook answering 404 to every batch fails the sync with "N of N rows rejected: HTTP 404"', async () => {
    p = await createFixture(wh, hook, 60);
    hook.knobs.failNext = Array(100).fill(404);
    const r = await run();
    expectHonestExit(r, 1);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('failed');
    expect(f.counts).toMatchObject({ planned_add: 60, rejected: 60 });
    expect(f.error).toMatch(/60 of 60 rows rejected: HTTP 404/);
    expect(f.hint).toBeTruthy();
    expect((await health()).last_success_at).toBeNull();
    // Fixed receiver: the next run delivers everything.
    hook.knobs.failNext = [];
    const again = await run();
    expectHonestExit(again, 0);
    expect(hook.audience.size).toBe(60);
  });

  runnerOnly('a guardrail abort exits 1 and says so in run_finished', async () => {
    p = await createFixture(wh, hook, 20);
    expectHonestExit(await run(), 0);
    await p.exec('DELETE FROM src.customers');
    const r = await run();
    expectHonestExit(r, 1);
    expect(finished(r, 'active_to_hook').status).toBe('aborted');
  });

  it('a broken model and a missing secret among three syncs fail alone; the healthy sync runs; exit 1; run_results.json has all three', async () => {
    p = await CliProject.create(wh, {
      'audsync.config.ts': THREE_SYNCS(hook.url),
      'models/active_customers.sql': ACTIVE_MODEL,
      'models/broken.sql': `select id, email from {{source 'src' 'no_such_table'}}\n`,
    });
    await p.exec(
      'CREATE SCHEMA IF NOT EXISTS src',
      'CREATE TABLE src.customers (id INTEGER, email VARCHAR, tier VARCHAR, active BOOLEAN)',
      `INSERT INTO src.customers SELECT i, 'user' || i || '@example.com', 'silver', TRUE FROM generate_series(1, 15) AS t(i)`,
    );
    const r = await run();
    expectHonestExit(r, 1);
    expect(finished(r, 'active_to_hook').status).toBe('success');
    expect(hook.audience.size).toBe(15);
    const broken = finished(r, 'broken_model');
    expect(broken.status).toBe('failed');
    expect(broken.error).toMatch(/no_such_table/);
    expect(broken.error).toMatch(/models[/\\]broken\.sql/);
    const unset = finished(r, 'no_secret');
    expect(unset.status).toBe('failed');
    expect(unset.error).toMatch(/UNSET_HOOK_SECRET/);
    const runs = await p.query(`SELECT sync_name, status FROM audsync.sync_runs ORDER BY sync_name`);
    expect(runs).toEqual([
      { sync_name: 'active_to_hook', status: 'success' },
      { sync_name: 'broken_model', status: 'failed' },
      { sync_name: 'no_secret', status: 'failed' },
    ]);

    const doc = JSON.parse(fs.readFileSync(path.join(p.dir, 'target', 'run_results.json'), 'utf8')) as {
      metadata: { invocation_id: string; audsync_version: string };
      args: Record<string, unknown>;
      elapsed_time: number;
      results: Array<Record<string, unknown>>;
    };
    expect(doc.args).toMatchObject({ command: 'run', full_refresh: false, fail_fast: false });
    expect(Number.isFinite(doc.elapsed_time)).toBe(true);
    expect(doc.results.map((x) => [x.sync, x.status])).toEqual([
      ['active_to_hook', 'success'],
      ['broken_model', 'failed'],
      ['no_secret', 'failed'],
    ]);
    const ok = doc.results[0]!;
    expect(ok).toMatchObject({ unique_id: 'sync.active_to_hook', error: null, counts: expect.objectContaining({ members: 15, succeeded_add: 15 }) });
    expect(ok.run_id).toBe(doc.metadata.invocation_id);
    expect(typeof ok.duration_ms).toBe('number');
    expect(doc.results[1]!.error).toMatch(/no_such_table/);
    expect(doc.results[2]!.hint).toBeTruthy();
    // No secret value ever reaches the artifact or the output.
    expect(JSON.stringify(doc)).not.toContain(HOOK_SECRET);
    expect(r.stdout + r.stderr).not.toContain(HOOK_SECRET);

    // --fail-fast: every sync is prepared before any sends, so the broken model stops the run before anything is sent.
    await p.exec(`UPDATE src.customers SET tier = 'gold' WHERE id = 1`);
    hook.reset();
    const fast = await run('--fail-fast');
    expectHonestExit(fast, 1);
    const skipped = fast.events.filter((e) => e.event === 'skipped').map((e) => e.sync);
    expect(skipped.sort()).toEqual(['active_to_hook', 'no_secret']);
    expect(finished(fast, 'broken_model').status).toBe('failed');
    expect(hook.batches).toHaveLength(0);
  });

  runnerOnly('SIGTERM during a Retry-After wait stops at once: exit 143, rows kept for the next run', async () => {
    p = await createFixture(wh, hook, 30);
    hook.knobs.failNext = [429];
    hook.knobs.retryAfter = '600';
    const child = p.spawn(['run', '--json'], HOOK_ENV);
    const done = collect(child, 30_000);
    await until(() => hook.failures.length === 1, 'the 429 answer');
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    // Without the fix this waits out the 600 s Retry-After and `collect` times out.
    const r = await done;
    expectHonestExit(r, 143);
    expect(r.events.find((e) => e.event === 'run_finished')).toMatchObject({ signal: 'SIGTERM' });
    expect(['aborted', 'failed']).toContain(finished(r, 'active_to_hook').status);
    const again = await run();
    expectHonestExit(again, 0);
    expect(hook.audience.size).toBe(30);
  });

  it('--threads 2 runs syncs of different models at once; --threads 0 is a usage error', async () => {
    p = await createFixture(wh, hook, 10, {
      extraSync: `
    gold_to_hook: { model: 'gold_customers', destination: 'hook', key: 'id', fields: { email: 'email' } },`,
    });
    p.write({ 'models/gold_customers.sql': `select id, email from {{source 'src' 'customers'}} where tier = 'gold'\n` });
    const bad = await run('--threads', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr + bad.stdout).toMatch(/--threads must be a whole number from 1 to 32/);
    expect(hook.batches).toHaveLength(0);

    // Answers are held: a sequential run never has both syncs' batches at the receiver at once.
    hook.knobs.holdAnswers = true;
    const child = p.spawn(['run', '--json', '--threads', '2'], HOOK_ENV);
    const done = collect(child, 60_000);
    try {
      await until(() => new Set(hook.applied.map((b) => b.sync)).size === 2, 'batches of both syncs in flight together');
    } finally {
      hook.knobs.holdAnswers = false;
    }
    const r = await done;
    expectHonestExit(r, 0);
    expect(r.events.filter((e) => e.event === 'sync_finished').map((e) => e.sync)).toEqual(expect.arrayContaining(['active_to_hook', 'gold_to_hook']));
    expect(r.events.find((e) => e.event === 'run_finished')).toMatchObject({ syncs: [{ sync: 'active_to_hook', status: 'success' }, { sync: 'gold_to_hook', status: 'success' }] });
    // Both syncs share the invocation's run id; their batch ids (webhook-id) must still never collide.
    const ids = hook.applied.map((b) => b.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => id.includes('-gold_to_hook-'))).toHaveLength(hook.applied.filter((b) => b.sync === 'gold_to_hook').length);
  });

  it.runIf(wh.name === 'postgres')('SIGTERM before the first sync starts exits 143 and runs nothing', async () => {
    p = await createFixture(wh, hook, 10);
    const url = /connectionString: "([^"]+)"/.exec(wh.configLiteral(p.dir))![1]!;
    const holder = await PostgresConnection.open({ type: 'postgres', connectionString: url });
    let released = false;
    try {
      // Holding the source table keeps the run in preparation, before any sync starts.
      await holder.execute('BEGIN');
      await holder.execute('LOCK TABLE src.customers IN ACCESS EXCLUSIVE MODE');
      const child = p.spawn(['run', '--json'], HOOK_ENV);
      const done = collect(child, 30_000);
      await until(async () => Number((await holder.query(`SELECT count(*) AS n FROM pg_locks WHERE NOT granted`))[0]?.n) > 0, 'the run waiting on the source');
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      await holder.execute('COMMIT');
      released = true;
      const r = await done;
      expectHonestExit(r, 143);
      expect(hook.batches).toHaveLength(0);
      expect(r.events.find((e) => e.event === 'skipped' && e.sync === 'active_to_hook')).toMatchObject({ reason: expect.stringMatching(/signal/) });
    } finally {
      if (!released) await holder.execute('ROLLBACK').catch(() => undefined);
      await holder.close();
    }
  });

  it.runIf(wh.name === 'postgres')('a sync another run holds is aborted, exit 1, and run_finished says 1', async () => {
    p = await createFixture(wh, hook, 5);
    const url = /connectionString: "([^"]+)"/.exec(wh.configLiteral(p.dir))![1]!;
    const holder = await PostgresConnection.open({ type: 'postgres', connectionString: url });
    try {
      const release = await holder.acquireRunLock('active_to_hook');
      expectHonestExit(await run(), 1);
      await release();
    } finally {
      await holder.close();
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableWarehouses } from './support/warehouses.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { createFixture, expectedAudience, fixtureConfig, HOOK_ENV, HOOK_SECRET } from './support/audience-fixture.js';
import { collect, finished, type CliProject, type CliResult } from './support/cli-project.js';

/**
 * The plan as a write-ahead log: a row whose outcome audsync cannot know (in
 * flight at a kill, its answer lost or timed out, its commit failed) is
 * uncertain, and the next run reconciles it with the audience as it is then.
 * The receiver applies each batch before it answers (or never answers), so
 * every test here is a case where the destination holds what audsync did not
 * record; after the rerun it must hold exactly the audience.
 */
const warehouses = await availableWarehouses();

describe.each(warehouses)('write-ahead log on $name', (wh) => {
  let hook: FakeWebhookServer;
  let p: CliProject;
  const run = (...args: string[]) => p.cli(['run', '--json', ...args], HOOK_ENV);
  const audienceMatches = async (): Promise<void> => expect(Object.fromEntries(hook.audience)).toEqual(Object.fromEntries(await expectedAudience(p)));
  /** Starts a run, waits until the receiver has applied `batches` batches, then kills the process with SIGKILL. */
  const killAfterApplied = async (batches: number, extraMs = 0): Promise<CliResult> => {
    const child = p.spawn(['run', '--json'], HOOK_ENV);
    const done = collect(child);
    await until(() => hook.applied.length >= batches || child.exitCode !== null);
    if (extraMs > 0) await new Promise((r) => setTimeout(r, extraMs));
    child.kill('SIGKILL');
    return done;
  };

  beforeEach(async () => {
    hook = await new FakeWebhookServer(HOOK_SECRET).start();
  });
  afterEach(async () => {
    await hook.stop();
    await p?.cleanUp();
  });

  const moves = {
    // An add reached the destination, then the member left: without reconciliation a phantom stays there for good.
    leave: {
      change: `INSERT INTO src.customers SELECT i, 'new' || i || '@example.com', 'gold', TRUE FROM generate_series(101, 110) AS t(i)`,
      back: `UPDATE src.customers SET active = FALSE WHERE id > 100`,
      applied: (a: Map<string, unknown>) => expect(a.has('105')).toBe(true),
    },
    // A remove reached the destination, then the member came back unchanged: without reconciliation the member is lost.
    return: {
      change: `UPDATE src.customers SET active = FALSE WHERE id <= 10`,
      back: `UPDATE src.customers SET active = TRUE WHERE id <= 10`,
      applied: (a: Map<string, unknown>) => expect(a.has('5')).toBe(false),
    },
    // A change reached the destination, then it was reverted: without reconciliation the destination keeps the reverted-away value.
    revert: {
      change: `UPDATE src.customers SET tier = 'platinum' WHERE id <= 10`,
      back: `UPDATE src.customers SET tier = CASE WHEN id % 3 = 0 THEN 'gold' ELSE 'silver' END WHERE id <= 10`,
      applied: (a: Map<string, unknown>) => expect((a.get('5') as { tier: string }).tier).toBe('platinum'),
    },
  };

  it.each(Object.keys(moves) as Array<keyof typeof moves>)('kill -9 after the destination applied a batch, then the audience moves back (%s): the rerun leaves the destination equal to the audience', async (move) => {
    const m = moves[move];
    p = await createFixture(wh, hook, 100, { batchSize: 10 });
    expect((await run()).code).toBe(0);
    await p.exec(m.change);
    hook.reset();
    hook.knobs.applyThenHangNext = 1_000;
    await killAfterApplied(1, 50);
    m.applied(hook.audience);
    await p.exec(m.back);
    hook.knobs.applyThenHangNext = 0;
    hook.reset();
    const r = await run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(finished(r, 'active_to_hook').status).toBe('success');
    expect(r.events.find((e) => e.event === 'warning')?.message).toMatch(/stopped with 10 rows in flight whose outcome is unknown: this run reconciles them/);
    await audienceMatches();
    // The killed run is closed: aborted, its in-flight rows recorded as failed with an unknown outcome, its counts from its changelog.
    const [killed] = await p.query(`SELECT status, failed FROM audsync.sync_runs ORDER BY started_at LIMIT 1 OFFSET 1`);
    expect(killed).toMatchObject({ status: 'aborted' });
    expect(Number(killed!.failed)).toBe(10);
    expect(await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE error_code = 'uncertain'`)).toBe(10);
    // Settled: nothing left to reconcile.
    hook.reset();
    const again = await run();
    expect(finished(again, 'active_to_hook').counts).toMatchObject({ planned_add: 0, planned_change: 0, planned_remove: 0 });
    expect(await p.count('SELECT count(*) FROM audsync.pending__active_to_hook')).toBe(0);
  });

  it('a response that times out after the destination applied it is uncertain: after a revert the next run sends the reverted value', async () => {
    p = await createFixture(wh, hook, 40, { batchSize: 10, timeoutMs: 300, maxAttempts: 2 });
    expect((await run()).code).toBe(0);
    await p.exec(moves.revert.change);
    hook.reset();
    hook.knobs.applyThenHangNext = 1_000;
    const r = await run();
    const f = finished(r, 'active_to_hook');
    expect(f.counts).toMatchObject({ planned_change: 10, succeeded_change: 0, failed: 10 });
    moves.revert.applied(hook.audience);
    await p.exec(moves.revert.back);
    hook.knobs.applyThenHangNext = 0;
    hook.reset();
    const next = await run();
    expect(finished(next, 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_change: 10, succeeded_change: 10 } });
    await audienceMatches();
  });

  it('a commit that fails after the destination applied the batch: the run fails with counts equal to its changelog, and the next run removes what then left', async () => {
    p = await createFixture(wh, hook, 40, { batchSize: 5 });
    // The warehouse refuses the changelog row of key 45 (a stand-in for any failed commit).
    await p.exec(
      'CREATE SCHEMA IF NOT EXISTS audsync',
      `CREATE TABLE audsync.sync_changelog (run_id VARCHAR NOT NULL, sync_name VARCHAR NOT NULL, record_key VARCHAR NOT NULL CHECK (record_key <> '45'), op VARCHAR NOT NULL, status VARCHAR NOT NULL,
        destination_record_id VARCHAR, error_code VARCHAR, error_message VARCHAR, attempted_at TIMESTAMPTZ NOT NULL)`,
    );
    expect((await run()).code).toBe(0);
    await p.exec(`INSERT INTO src.customers SELECT i, 'new' || i || '@example.com', 'gold', TRUE FROM generate_series(41, 60) AS t(i)`);
    hook.reset();
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('failed');
    expect(hook.audience.has('45')).toBe(true);
    const [runRow] = await p.query(`SELECT succeeded_add, failed FROM audsync.sync_runs WHERE run_id = '${String(f.run_id)}'`);
    const inLog = await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE run_id = '${String(f.run_id)}' AND status = 'succeeded'`);
    expect(Number(runRow!.succeeded_add)).toBe(inLog);
    expect(f.counts.succeeded_add).toBe(inLog);
    // The warehouse is fixed; meanwhile the new members left again.
    await p.exec(
      'CREATE TABLE audsync.changelog_copy AS SELECT * FROM audsync.sync_changelog',
      'DROP TABLE audsync.sync_changelog',
      'ALTER TABLE audsync.changelog_copy RENAME TO sync_changelog',
      'UPDATE src.customers SET active = FALSE WHERE id > 40',
    );
    hook.reset();
    const next = await run();
    expect(next.code, next.stdout + next.stderr).toBe(0);
    await audienceMatches();
    expect(hook.audience.has('45')).toBe(false);
  });

  it.runIf(wh.name === 'postgres')('the plan stream failing mid-run: batches in flight drain before the run finishes, and its counts equal its changelog', async () => {
    // More rows than one cursor fetch (5,000): the stream must go back to the server after the session is gone.
    p = await createFixture(wh, hook, 6_000, { batchSize: 100 });
    hook.knobs.holdAnswers = true;
    const child = p.spawn(['run', '--json'], HOOK_ENV);
    const done = collect(child);
    await until(() => hook.applied.length >= 2);
    // End the session that streams the plan (the warehouse restarting, a DBA's pg_terminate_backend).
    const ended = await p.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%FROM "audsync"."plan__active_to_hook" ORDER BY row_no%' AND pid <> pg_backend_pid()`);
    expect(ended).toHaveLength(1);
    hook.knobs.holdAnswers = false;
    const r = await done;
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('failed');
    // Nothing commits after the run finished: what sync_runs says is what the changelog holds, also once the process is gone.
    const [row] = await p.query(`SELECT succeeded_add FROM audsync.sync_runs WHERE run_id = '${String(f.run_id)}'`);
    const committed = await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE run_id = '${String(f.run_id)}' AND status = 'succeeded'`);
    expect(Number(row!.succeeded_add)).toBe(committed);
    expect(f.counts.succeeded_add).toBe(committed);
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(6_000);
    expect(await p.count('SELECT count(*) FROM audsync.snapshot__active_to_hook')).toBe(committed);
    expect((await run()).code).toBe(0);
    await audienceMatches();
  });

  it('plan and plan --full-refresh during a streaming run of the same sync are refused naming the holder; the run is unaffected', async () => {
    p = await createFixture(wh, hook, 300, { batchSize: 10 });
    expect((await run()).code).toBe(0);
    await p.exec(`UPDATE src.customers SET tier = 'platinum' WHERE id <= 100`);
    hook.reset();
    hook.knobs.holdAnswers = true;
    const child = p.spawn(['run', '--json'], HOOK_ENV);
    const done = collect(child);
    await until(() => hook.applied.length >= 2);
    for (const args of [['plan', '--json'], ['plan', '--json', '--full-refresh']]) {
      const planned = await p.cli(args, HOOK_ENV);
      expect(planned.code, planned.stdout + planned.stderr).toBe(1);
      expect(planned.stdout + planned.stderr).toMatch(wh.name === 'duckdb' ? /in use by another process \(PID \d+\)/ : /active_to_hook.*(held|running|in progress).*pid \d+/is);
    }
    hook.knobs.holdAnswers = false;
    const r = await done;
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'success', counts: { planned_change: 100, succeeded_change: 100 } });
    expect(await p.count('SELECT count(*) FROM audsync.snapshot__active_to_hook')).toBe(300);
    expect(await p.count('SELECT count(DISTINCT record_key) FROM audsync.snapshot__active_to_hook')).toBe(300);
    await audienceMatches();
  });

  it('an interrupted full refresh to a file is completed by the next run: every member is written again', async () => {
    p = await createFixture(wh, hook, 4_000, { batchSize: 25 });
    const config = fixtureConfig(hook.url, { batchSize: 25 }).replace("hook: { type: 'webhook'", "out: { type: 'file', path: 'out.jsonl', batchSize: 100 },\n    hook: { type: 'webhook'").replace("destination: 'hook'", "destination: 'out'");
    p.write({ 'audsync.config.ts': config });
    expect((await run()).code).toBe(0);
    const fs = await import('node:fs');
    const path = await import('node:path');
    const file = path.join(p.dir, 'out.jsonl');
    const before = fs.readFileSync(file, 'utf8').length;
    const child = p.spawn(['run', '--json', '--full-refresh'], HOOK_ENV);
    const done = collect(child);
    await until(() => fs.statSync(file).size > before + 20_000 || child.exitCode !== null);
    child.kill('SIGTERM');
    const stopped = await done;
    expect(finished(stopped, 'active_to_hook').status).toBe('aborted');
    const next = await run();
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(String(next.events.find((e) => e.event === 'warning')?.message)).toMatch(/was a full refresh that stopped before the destination acknowledged \d+ of its 4000 rows: this run sends those rows again/);
    const refreshed = new Set(
      fs.readFileSync(file, 'utf8').slice(before).trim().split('\n').map((l) => JSON.parse(l) as { op: string; key: string }).filter((o) => o.op === 'add').map((o) => o.key),
    );
    expect(refreshed.size).toBe(4_000);
  });

  // 20 trials per warehouse in the everyday suite, each a fresh random draw; AUDSYNC_WAL_TRIALS=100 for a deeper soak.
  const trials = Number(process.env.AUDSYNC_WAL_TRIALS ?? 20);
  it(`${trials} kill -9 trials at random moments, with random audience changes between kill and rerun, each converge`, async () => {
    p = await createFixture(wh, hook, 60, { batchSize: 4 });
    expect((await run()).code).toBe(0);
    let seed = 20261202;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const shuffleAudience = async (): Promise<void> => {
      const statements: string[] = [];
      for (let i = 0; i < 8; i++) {
        const id = 1 + rand(80);
        const choice = rand(3);
        if (choice === 0) statements.push(`UPDATE src.customers SET active = NOT active WHERE id = ${id}`);
        else if (choice === 1) statements.push(`UPDATE src.customers SET tier = '${['gold', 'silver', 'platinum'][rand(3)]}' WHERE id = ${id}`);
        else statements.push(`DELETE FROM src.customers WHERE id = ${id}`, `INSERT INTO src.customers VALUES (${id}, 'user${id}@example.com', 'gold', ${rand(2) === 0 ? 'TRUE' : 'FALSE'})`);
      }
      await p.exec(...statements);
    };
    for (let trial = 0; trial < trials; trial++) {
      await shuffleAudience();
      hook.reset();
      hook.knobs.answerDelayMs = 15;
      // Some trials lose every answer after applying; the rest kill between apply and answer, or mid-stream.
      hook.knobs.applyThenHangNext = rand(3) === 0 ? 1_000 : 0;
      await killAfterApplied(rand(3), rand(40));
      hook.knobs.applyThenHangNext = 0;
      hook.knobs.answerDelayMs = 0;
      await shuffleAudience();
      hook.reset();
      const r = await run();
      expect(r.code, `trial ${trial}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(Object.fromEntries(hook.audience), `trial ${trial}`).toEqual(Object.fromEntries(await expectedAudience(p)));
    }
  }, 240_000);
});

async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

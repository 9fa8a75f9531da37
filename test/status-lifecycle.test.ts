import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableWarehouses } from './support/warehouses.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { createFixture, fixtureConfig, HOOK_ENV, HOOK_SECRET } from './support/audience-fixture.js';
import { BIN, collect, finished, type CliProject, type CliResult } from './support/cli-project.js';

const warehouses = await availableWarehouses();

const statusOf = (r: CliResult, sync: string): Record<string, unknown> => {
  const e = r.events.find((x) => x.event === 'sync_status' && x.sync_name === sync);
  if (!e) throw new Error(`no sync_status for ${sync}\n${r.stdout}\n${r.stderr}`);
  return e;
};
const checked = (r: CliResult): Record<string, unknown> => r.events.find((x) => x.event === 'status_checked') ?? {};

/** Two syncs: the fixture's, and `gold_to_hook` on another model. */
const TWO_SYNCS = (url: string, extra = ''): string =>
  fixtureConfig(url, {
    extraSync: `
    gold_to_hook: { model: 'gold_customers', destination: 'hook', key: 'id', fields: { email: 'email' }${extra} },`,
  });
const GOLD_MODEL = `select id, email from {{source 'src' 'customers'}} where tier = 'gold'\n`;

describe.each(warehouses)('status and lifecycle on $name', (wh) => {
  let hook: FakeWebhookServer;
  let p: CliProject;
  const run = (...args: string[]) => p.cli(['run', '--json', ...args], HOOK_ENV);
  const status = (...args: string[]) => p.cli(['status', '--json', ...args]);

  beforeEach(async () => {
    hook = await new FakeWebhookServer(HOOK_SECRET).start();
  });
  afterEach(async () => {
    await hook.stop();
    await p?.cleanUp();
  });

  it('status is a health check: exit 1 after a failed run, with error, model, destination; --select narrows it; --max-age catches staleness', async () => {
    p = await createFixture(wh, hook, 30);
    p.write({ 'audsync.config.ts': TWO_SYNCS(hook.url), 'models/gold_customers.sql': GOLD_MODEL });
    const fresh = await status();
    expect(fresh.code).toBe(0);
    expect(statusOf(fresh, 'active_to_hook')).toMatchObject({ last_status: 'never_run', model: 'active_customers', destination: 'hook', healthy: true });
    // Never run is not a failure, but it is stale.
    const neverOk = await status('--max-age', '2h');
    expect(neverOk.code).toBe(1);
    expect(checked(neverOk)).toMatchObject({ healthy: false, exit_code: 1 });
    expect(statusOf(neverOk, 'active_to_hook').problem).toMatch(/no successful run yet/);

    expect((await run()).code).toBe(0);
    const ok = await status('--max-age', '2h');
    expect(ok.code).toBe(0);
    expect(statusOf(ok, 'active_to_hook')).toMatchObject({ last_status: 'success', members: 30, quarantined: 0, healthy: true, state: 'active' });

    // The success is made three hours old: --max-age 2h fails, 4h passes.
    await p.exec(`UPDATE audsync.sync_runs SET started_at = started_at - INTERVAL '3 hours', finished_at = finished_at - INTERVAL '3 hours'`);
    const stale = await status('--max-age', '2h');
    expect(stale.code).toBe(1);
    expect(statusOf(stale, 'active_to_hook').problem).toMatch(/no successful run for 3h( \d+m)? \(--max-age 2h\)/);
    expect((await status('--max-age', '4h')).code).toBe(0);
    const bad = await status('--max-age', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-age: "soon" is not a duration/);

    // gold_to_hook fails (every batch 404); status says so with the error; --select of the other sync stays healthy.
    await p.exec(`UPDATE src.customers SET tier = 'gold' WHERE id IN (1, 2)`);
    hook.knobs.failNext = Array(50).fill(404);
    expect((await run('--select', 'gold_to_hook')).code).toBe(1);
    const failed = await status();
    expect(failed.code).toBe(1);
    const g = statusOf(failed, 'gold_to_hook');
    expect(g).toMatchObject({ last_status: 'failed', model: 'gold_customers', destination: 'hook', healthy: false });
    expect(g.last_error).toMatch(/rows rejected: HTTP 404/);
    expect(g.problem).toMatch(/^last run failed: /);
    expect(checked(failed).problems).toEqual([{ sync: 'gold_to_hook', problem: g.problem }]);
    expect((await status('--select', 'active_to_hook')).code).toBe(0);
    expect((await status('--select', 'nope')).code).toBe(2);
  });

  // Config and rendering only: the same on every warehouse.
  it.runIf(wh.name === 'duckdb')('members are unknown after a run that never counted them; the human view shows error, model and destination', async () => {
    p = await createFixture(wh, hook, 10);
    expect((await run()).code).toBe(0);
    p.write({ 'models/active_customers.sql': `select id, email, tier from {{source 'src' 'missing_table'}}\n` });
    expect((await run()).code).toBe(1);
    const s = await status();
    expect(statusOf(s, 'active_to_hook')).toMatchObject({ last_status: 'failed', members: null });
    // util-linux `script` gives the CLI a terminal, as a person's shell would.
    const child = spawn('script', ['-qec', `${process.execPath} ${BIN} status`, '/dev/null'], { cwd: p.dir, env: { ...process.env } });
    const human = await collect(child);
    expect(human.stdout).toMatch(/active_to_hook\s+FAILED\s+active_customers -> hook/);
    expect(human.stdout).toMatch(/members unknown/);
    expect(human.stdout).toMatch(/error: .*missing_table/);
    expect(human.stdout).toMatch(/UNHEALTHY: active_to_hook/);
  });

  it('status --history N shows the last N runs with their counts, newest first; schedules give the next due time', async () => {
    p = await createFixture(wh, hook, 12);
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace("mode: 'mirror',", "mode: 'mirror', schedule: '15 * * * *',") });
    expect((await run()).code).toBe(0);
    await p.exec(`UPDATE src.customers SET tier = 'platinum' WHERE id <= 2`);
    expect((await run()).code).toBe(0);
    await p.exec(`UPDATE src.customers SET active = FALSE WHERE id = 12`);
    expect((await run()).code).toBe(0);
    const s = await status('--history', '2');
    const hist = s.events.filter((e) => e.event === 'sync_run');
    expect(hist).toHaveLength(2);
    expect(hist[0]).toMatchObject({ sync_name: 'active_to_hook', status: 'success', planned_remove: 1, succeeded_remove: 1, members: 11 });
    expect(hist[1]).toMatchObject({ planned_change: 2, succeeded_change: 2, members: 12 });
    const row = statusOf(s, 'active_to_hook');
    expect(row.schedule).toBe('15 * * * *');
    const due = new Date(String(row.next_due_at));
    expect(due.getUTCMinutes()).toBe(15);
    // Just run: not due until the next :15.
    expect(row.due_now).toBe(false);
    expect(due.getTime()).toBeGreaterThan(Date.now());
    expect((await status('--history', '0')).code).toBe(2);
  });

  // Config and rendering only: the same on every warehouse.
  it.runIf(wh.name === 'duckdb')('a paused sync is skipped with its reason by run, plan and compile, shown by status, and never unhealthy', async () => {
    p = await createFixture(wh, hook, 10);
    p.write({ 'audsync.config.ts': TWO_SYNCS(hook.url, `, paused: 'waiting for legal review'`), 'models/gold_customers.sql': GOLD_MODEL });
    for (const cmd of [['run'], ['plan'], ['compile']]) {
      const r = await p.cli([...cmd, '--json'], HOOK_ENV);
      expect(r.code, `${cmd[0]}: ${r.stderr}`).toBe(0);
      expect(r.events.find((e) => e.event === 'skipped' && e.sync === 'gold_to_hook')).toMatchObject({ reason: expect.stringMatching(/^paused: waiting for legal review/) });
    }
    expect(hook.batches.every((b) => b.sync === 'active_to_hook')).toBe(true);
    const s = await status('--max-age', '1h');
    expect(s.code).toBe(0);
    expect(statusOf(s, 'gold_to_hook')).toMatchObject({ state: 'paused', paused_reason: 'waiting for legal review', healthy: true });
    p.write({ 'audsync.config.ts': TWO_SYNCS(hook.url, `, paused: 42`) });
    const bad = await run();
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/syncs\.gold_to_hook\.paused: must be true, false or the reason as text/);
  });

  it('a sync removed from the config is shown as orphaned; prune lists, asks, and drops its state', async () => {
    p = await createFixture(wh, hook, 10);
    p.write({ 'audsync.config.ts': TWO_SYNCS(hook.url), 'models/gold_customers.sql': GOLD_MODEL });
    expect((await run()).code).toBe(0);
    // gold_to_hook is renamed: its old state is orphaned.
    p.write({ 'audsync.config.ts': TWO_SYNCS(hook.url).replace('gold_to_hook:', 'gold_v2:') });
    const s = await status();
    expect(s.code).toBe(0);
    expect(statusOf(s, 'gold_to_hook')).toMatchObject({ state: 'orphaned', healthy: true });
    expect(checked(s).orphaned).toEqual(['gold_to_hook']);
    expect(statusOf(s, 'gold_v2')).toMatchObject({ last_status: 'never_run' });
    // With --select, only what was selected.
    expect((await status('--select', 'active_to_hook')).events.filter((e) => e.event === 'sync_status')).toHaveLength(1);

    const dry = await p.cli(['prune', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const planned = dry.events.find((e) => e.event === 'forgot') as { applied: boolean; sync: string; tables: Array<{ relation: string; rows: number }>; rows: Record<string, number> };
    expect(planned).toMatchObject({ applied: false, sync: 'gold_to_hook' });
    expect(planned.tables.map((t) => t.relation).join(' ')).toMatch(/snapshot__gold_to_hook/);
    expect(planned.rows.sync_runs).toBe(1);
    expect(await p.count(`SELECT count(*) FROM audsync.sync_runs WHERE sync_name = 'gold_to_hook'`)).toBe(1);

    const unasked = await p.cli(['prune']);
    expect(unasked.code).toBe(2);
    expect(unasked.stderr).toMatch(/needs confirmation.*\n.*--yes/);
    expect(await p.count(`SELECT count(*) FROM audsync.sync_runs WHERE sync_name = 'gold_to_hook'`)).toBe(1);

    const pruned = await p.cli(['prune', '--yes', '--json']);
    expect(pruned.code).toBe(0);
    expect(pruned.events.find((e) => e.event === 'forgot')).toMatchObject({ applied: true, sync: 'gold_to_hook' });
    expect(await p.count(`SELECT count(*) FROM audsync.sync_runs WHERE sync_name = 'gold_to_hook'`)).toBe(0);
    expect(await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE sync_name = 'gold_to_hook'`)).toBe(0);
    expect(await p.count(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'audsync' AND table_name LIKE '%gold_to_hook%'`)).toBe(0);
    // The live sync is untouched.
    expect(await p.count(`SELECT count(*) FROM audsync.snapshot__active_to_hook`)).toBe(10);
    const after = await status();
    expect(after.events.some((e) => e.event === 'sync_status' && e.sync_name === 'gold_to_hook')).toBe(false);
    expect((await p.cli(['prune', '--yes', '--json'])).events[0]).toMatchObject({ event: 'forgot', applied: false, syncs: [] });
  });

  it('reset forgets the snapshot so the next run is a first load; history stays; it asks first', async () => {
    p = await createFixture(wh, hook, 15);
    hook.knobs.rejectKeys.set('4', 'invalid email');
    expect((await run()).code).toBe(0);
    const unasked = await p.cli(['reset', 'active_to_hook']);
    expect(unasked.code).toBe(2);
    expect(unasked.stderr).toMatch(/--yes/);
    expect((await p.cli(['reset', 'nope', '--yes'])).code).toBe(2);

    const r = await p.cli(['reset', 'active_to_hook', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const forgot = r.events.find((e) => e.event === 'forgot') as { applied: boolean; tables: Array<{ relation: string; rows: number }>; rows: Record<string, number> };
    expect(forgot.applied).toBe(true);
    expect(forgot.tables.find((t) => /snapshot__active_to_hook/.test(t.relation))?.rows).toBe(14);
    expect(forgot.rows.row_rejections).toBe(1);
    expect(await p.count('SELECT count(*) FROM audsync.sync_runs')).toBe(1);

    hook.reset();
    hook.knobs.rejectKeys.clear();
    const again = await run();
    expect(again.code).toBe(0);
    expect(finished(again, 'active_to_hook').counts).toMatchObject({ planned_add: 15, planned_change: 0, planned_remove: 0, succeeded_add: 15 });
    expect(await p.count('SELECT count(*) FROM audsync.sync_runs')).toBe(2);
  });

  it.runIf(wh.name === 'duckdb')('status during a DuckDB run reports the running sync and its progress instead of failing on the file lock', async () => {
    p = await createFixture(wh, hook, 40, { batchSize: 10 });
    hook.knobs.holdAnswers = true;
    const child = p.spawn(['run', '--json'], HOOK_ENV);
    const done = collect(child, 60_000);
    try {
      const end = Date.now() + 30_000;
      while (hook.applied.length === 0) {
        if (Date.now() > end) throw new Error('no batch arrived');
        await new Promise((r) => setTimeout(r, 10));
      }
      const s = await status();
      expect(s.code, s.stderr).toBe(0);
      expect(s.events.find((e) => e.event === 'run_in_progress')).toMatchObject({ pid: child.pid, command: 'run' });
      expect(statusOf(s, 'active_to_hook')).toMatchObject({ last_status: 'running', progress: { planned: 40 } });
    } finally {
      hook.knobs.holdAnswers = false;
    }
    expect((await done).code).toBe(0);
    // Once the run is over, status reads the database again.
    const after = await status();
    expect(after.events.some((e) => e.event === 'run_in_progress')).toBe(false);
    expect(statusOf(after, 'active_to_hook')).toMatchObject({ last_status: 'success', members: 40 });
  });
});

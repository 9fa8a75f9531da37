import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { createFixture, fixtureConfig, HOOK_ENV, HOOK_SECRET } from './support/audience-fixture.js';
import { BIN, collect, finished, REPO, type CliProject } from './support/cli-project.js';

describe('the CLI', () => {
  let hook: FakeWebhookServer;
  let p: CliProject;

  beforeEach(async () => {
    hook = await new FakeWebhookServer(HOOK_SECRET).start();
    p = await createFixture(duckdbWarehouse, hook, 30);
  });
  afterEach(async () => {
    await hook.stop();
    await p.cleanUp();
  });

  it('init scaffolds a project that compiles, plans and runs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audsync-init-'));
    const node = (args: string[], cwd: string) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
    expect(node(['init', 'my-project'], dir).status).toBe(0);
    const proj = path.join(dir, 'my-project');
    expect(fs.existsSync(path.join(proj, 'audsync.config.ts'))).toBe(true);
    expect(node(['compile'], proj).status).toBe(0);
    const run = node(['run'], proj);
    expect(run.status, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(proj, 'out/active_customers.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    const again = node(['init', 'my-project'], dir);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already has audsync\.config\.ts/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies DuckDB settings from the config when it opens the warehouse', async () => {
    // The model reads the settings back, so what the webhook receives shows they were in force.
    p.write({
      'audsync.config.ts': fixtureConfig(hook.url, { fields: `{ email: 'email', threads: 'threads', memory_limit: 'memory_limit' }` }).replace(
        'warehouse: __WAREHOUSE__',
        "warehouse: { type: 'duckdb', path: 'warehouse.duckdb', settings: { threads: 1, memory_limit: '300MB', preserve_insertion_order: false } }",
      ),
      'models/active_customers.sql': "select id, email, tier, current_setting('threads') as threads, current_setting('memory_limit') as memory_limit from {{source 'src' 'customers'}} where active\n",
    });
    const r = await p.cli(['run', '--json'], HOOK_ENV);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const sent = hook.operations[0]!.fields;
    expect(sent.threads).toBe(1);
    expect(String(sent.memory_limit)).toMatch(/^(286\.1 MiB|300\.0 MB)$/);
  });

  it('DuckDB running out of memory fails the sync with a hint naming the settings, not the model; nothing is sent', async () => {
    // No temp directory: nothing can spill, so 20 MB is too little for ~200 MB of membership.
    p.write({
      'audsync.config.ts': fixtureConfig(hook.url).replace('warehouse: __WAREHOUSE__', "warehouse: { type: 'duckdb', path: 'warehouse.duckdb', settings: { memory_limit: '20MB', temp_directory: '' } }"),
      'models/active_customers.sql': "select i as id, repeat('x', 1000) || i as email, 'gold' as tier from range(200000) as t(i)\n",
    });
    const r = await p.cli(['run', '--json'], HOOK_ENV);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const done = finished(r, 'active_to_hook');
    expect(done.status).toBe('failed');
    expect(String(done.error)).toMatch(/^Out of Memory Error: /);
    expect(String(done.hint)).toMatch(/warehouse\.settings: a higher memory_limit, a temp_directory/);
    expect(String(done.error)).not.toMatch(/the model failed/);
    expect(hook.batches).toHaveLength(0);
  });

  it('compile writes formatted SQL for models and syncs to target/compiled/', async () => {
    const r = await p.cli(['compile', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const model = fs.readFileSync(path.join(p.dir, 'target/compiled/models/active_customers.sql'), 'utf8');
    expect(model).toBe('-- members: active customers\nSELECT\n  id,\n  email,\n  tier\nFROM\n  "src"."customers"\nWHERE\n  active\n');
    const sync = fs.readFileSync(path.join(p.dir, 'target/compiled/syncs/active_to_hook.sql'), 'utf8');
    expect(sync).toContain(`CAST(m."id" AS VARCHAR) AS record_key`);
    expect(sync).toContain(`json_object('email', p."f_0", 'tier', p."f_1")`);
  });

  it('status reports the last run of each sync from sync_health', async () => {
    const before = await p.cli(['status', '--json']);
    expect(before.events).toEqual([
      expect.objectContaining({ event: 'sync_status', sync_name: 'active_to_hook', last_status: 'never_run' }),
      expect.objectContaining({ event: 'status_checked', healthy: true, exit_code: 0 }),
    ]);
    expect((await p.cli(['run', '--json'], HOOK_ENV)).code).toBe(0);
    const after = await p.cli(['status', '--json']);
    expect(after.events[0]).toMatchObject({ sync_name: 'active_to_hook', last_status: 'success', members: 30, pending_retries: 0 });
    expect(after.events[0]!.last_success_at).toBeTruthy();
  });

  it('run --due runs only syncs whose schedule fired since their last run', async () => {
    p.write({
      'audsync.config.ts': fixtureConfig(hook.url, {
        extraSync: `
    hourly: { model: 'active_customers', destination: 'hook', key: 'id', schedule: '0 * * * *' },
    yearly_far: { model: 'active_customers', destination: 'hook', key: 'id', schedule: '0 0 1 1 *' },`,
      }),
    });
    const first = await p.cli(['run', '--due', '--json'], HOOK_ENV);
    expect(first.code, first.stderr).toBe(0);
    const ran = first.events.filter((e) => e.event === 'sync_finished').map((e) => e.sync);
    expect(ran).toEqual(['hourly', 'yearly_far']); // never run: both due
    expect(first.events.find((e) => e.event === 'skipped' && e.sync === 'active_to_hook')).toMatchObject({ reason: expect.stringMatching(/no schedule/) });
    const second = await p.cli(['run', '--due', '--json'], HOOK_ENV);
    expect(second.events.filter((e) => e.event === 'sync_finished')).toHaveLength(0);
    expect(second.events.filter((e) => e.event === 'skipped').map((e) => e.sync).sort()).toEqual(['active_to_hook', 'hourly', 'yearly_far']);
  });

  it('a second run while one holds the warehouse exits fast naming the holder', async () => {
    hook.knobs.delayMs = 200;
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url, { batchSize: 1 }) });
    const first = p.spawn(['run', '--json'], HOOK_ENV);
    const firstDone = collect(first);
    while (hook.batches.length < 1) await new Promise((r) => setTimeout(r, 20));
    // It does not wait for the lock: a wait would outlast this timeout, as the first run is held open.
    const second = await p.cli(['run', '--json'], HOOK_ENV, 30_000);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`warehouse\\.duckdb is in use by another process \\(PID ${first.pid}\\)`));
    // run_results.json says what this invocation did, never what an earlier one did.
    const results = JSON.parse(fs.readFileSync(path.join(p.dir, 'target', 'run_results.json'), 'utf8')) as { results: Array<Record<string, unknown>> };
    expect(results.results).toEqual([expect.objectContaining({ sync: 'active_to_hook', status: 'aborted', error: expect.stringMatching(/in use by another process/) })]);
    first.kill('SIGKILL');
    await firstDone;
    hook.knobs.delayMs = 0;
    const third = await p.cli(['run', '--json'], HOOK_ENV);
    expect(finished(third, 'active_to_hook').status).toBe('success');
  });

  it('SIGTERM stops after the batches in flight and records the rest as aborted', async () => {
    hook.knobs.delayMs = 100;
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url, { batchSize: 2 }) });
    const child = p.spawn(['run', '--json'], HOOK_ENV);
    const done = collect(child);
    while (hook.batches.length < 2) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGTERM');
    const r = await done;
    // 128 + 15, as a shell reports it; the JSON says the same.
    expect(r.code).toBe(143);
    expect(r.events.find((e) => e.event === 'run_finished')).toMatchObject({ exit_code: 143, signal: 'SIGTERM' });
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('aborted');
    const aborted = await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE status = 'aborted'`);
    const succeeded = await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE status = 'succeeded'`);
    expect(aborted + succeeded).toBe(30);
    expect(aborted).toBeGreaterThan(0);
    hook.knobs.delayMs = 0;
    const again = await p.cli(['run', '--json'], HOOK_ENV);
    expect(finished(again, 'active_to_hook').counts.planned_add).toBe(aborted);
  });

  it('shows progress with rows, rate and time left on a TTY', async () => {
    hook.knobs.delayMs = 30;
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url, { batchSize: 3 }) });
    // util-linux `script` gives the CLI a pseudo-terminal, as a person's shell would.
    const child = spawn('script', ['-qec', `${process.execPath} ${BIN} run`, '/dev/null'], { cwd: p.dir, env: { ...process.env, ...HOOK_ENV } });
    const out = (await collect(child)).stdout;
    expect(out).toMatch(/active_to_hook: \d+\/30 rows\s+[\d,]+ rows\/s\s+ETA \d+s/);
    expect(out).toMatch(/active_to_hook: SUCCESS in [\d.]+s: sent \+30 ~0 -0/);
    expect(out).not.toMatch(/^\{"event"/m);
  });
});

describe('the packed package', () => {
  it('installs from its tarball and runs its bin in a separate project', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audsync-pack-'));
    try {
      const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8' }).trim().split('\n').pop()!;
      const proj = path.join(dir, 'user-project');
      fs.mkdirSync(proj);
      fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
      // --prefer-offline: what `npm ci` just fetched comes from npm's cache, not the registry again (about 20 s less).
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', '--prefer-offline', path.join(dir, tgz)], { cwd: proj, stdio: 'pipe' });
      const bin = path.join(proj, 'node_modules', '.bin', 'audsync');
      expect(spawnSync(bin, ['init', '.'], { cwd: proj, encoding: 'utf8' }).status).toBe(0);
      // The scaffolded config imports defineConfig and env from 'audsync', resolved from node_modules.
      expect(fs.readFileSync(path.join(proj, 'audsync.config.ts'), 'utf8')).toContain("from 'audsync'");
      const run = spawnSync(bin, ['run', '--json'], { cwd: proj, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const status = spawnSync(bin, ['status', '--json'], { cwd: proj, encoding: 'utf8' });
      expect(JSON.parse(status.stdout.trim().split('\n')[0]!)).toMatchObject({ sync_name: 'active_customers_to_file', last_status: 'success', members: 2 });
      // A destination of the user's own imports the kit by its published name.
      const kit = spawnSync(process.execPath, ['--input-type=module', '-e', "const k = await import('audsync/destination'); console.log(typeof k.defineDestination, typeof k.sendHttp, typeof k.RateLimiter)"], { cwd: proj, encoding: 'utf8' });
      expect(kit.stdout.trim(), kit.stderr).toBe('function function function');
      const files = execFileSync('tar', ['-tzf', path.join(dir, tgz)], { encoding: 'utf8' });
      expect(files).not.toMatch(/package\/test\//);
      expect(files).toMatch(/package\/macros\/hashing\.sql/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

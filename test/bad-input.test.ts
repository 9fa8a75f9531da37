import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableWarehouses, itOnFirstWarehouse } from './support/warehouses.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { ACTIVE_MODEL, createFixture, fixtureConfig, HOOK_ENV, HOOK_SECRET } from './support/audience-fixture.js';
import { finished, type CliProject, type CliResult } from './support/cli-project.js';

/** A user's mistake: the named culprit, a hint, no stack trace, nothing sent. */
function expectUserError(r: CliResult, code: number, message: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/hint: /);
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  expect(r.stderr).not.toMatch(/hit a bug/);
}

const warehouses = await availableWarehouses();

describe.each(warehouses)('bad input is refused clearly, with nothing sent, on $name', (wh) => {
  let hook: FakeWebhookServer;
  let p: CliProject;
  const run = (env = HOOK_ENV) => p.cli(['run', '--json'], env);
  // Mistakes refused before the warehouse has a say (the config, the templates, the secrets): once is enough.
  const beforeWarehouse = itOnFirstWarehouse(wh, warehouses);

  beforeEach(async () => {
    hook = await new FakeWebhookServer(HOOK_SECRET).start();
    p = await createFixture(wh, hook, 10);
  });
  afterEach(async () => {
    expect(hook.batches).toHaveLength(0);
    await hook.stop();
    await p.cleanUp();
  });

  beforeWarehouse('a Handlebars syntax error names the file and line', async () => {
    p.write({ 'models/active_customers.sql': 'select id, email, tier\nfrom {{source "src" "customers"}\nwhere active\n' });
    const r = await run();
    expectUserError(r, 1, /models\/active_customers\.sql:2: template syntax error/);
  });

  beforeWarehouse('an unknown ref names the file, line and the known models', async () => {
    p.write({ 'models/active_customers.sql': 'select * from\n\n{{ref "missing_model"}} as m\n' });
    const r = await run();
    expectUserError(r, 1, /models\/active_customers\.sql:3: unknown ref "missing_model"/);
    expect(r.stderr).toMatch(/Known models: active_customers/);
  });

  beforeWarehouse('an unknown macro names the file and line', async () => {
    p.write({ 'models/active_customers.sql': 'select id, email, tier from {{source "src" "customers"}}\nwhere {{no_such_macro "x"}}\n' });
    expectUserError(await run(), 1, /models\/active_customers\.sql:2: unknown macro or helper "no_such_macro"/);
  });

  it('a model that stacks a statement or modifies data is refused with its file and line before the warehouse sees it, even by plan', async () => {
    await p.exec('CREATE TABLE src.victim (x INTEGER)', 'INSERT INTO src.victim VALUES (1)');
    const attacks: Array<[string, RegExp]> = [
      // Closes the subquery audsync wraps a model in, then stacks a statement.
      [`select id, email, tier\nfrom {{source 'src' 'customers'}}\nwhere active ) as x; drop table src.victim; select * from (select 1 as id, 'e' as email, 't' as tier\n`, /models\/active_customers\.sql:3: a model is one query, but a second statement follows this ";"/],
      [`with gone as (delete from src.victim returning x)\nselect id, email, tier from {{source 'src' 'customers'}} where active and (select count(*) from gone) >= 0\n`, /models\/active_customers\.sql:1: a model only reads: "DELETE" inside it would change data/],
      [`drop table src.victim\n`, /models\/active_customers\.sql:1: a model is one query \(SELECT, or WITH \.\.\. SELECT\), not "drop"/],
    ];
    for (const [model, message] of attacks) {
      p.write({ 'models/active_customers.sql': model });
      for (const command of ['plan', 'run']) {
        const r = await p.cli([command, '--json'], HOOK_ENV);
        expect(finished(r, 'active_to_hook'), model).toMatchObject({ status: 'failed', error: expect.stringMatching(message) });
      }
      expect(await p.count('SELECT count(*) FROM src.victim'), model).toBe(1);
    }
    // Semicolons in a string, a quoted name and comments are text, and a trailing one is fine.
    p.write({ 'models/active_customers.sql': `-- a; comment\nselect id, email, tier, 'a;b' as "c;d" /* ; */\nfrom {{source 'src' 'customers'}}\nwhere active;\n-- done\n` });
    const ok = await p.cli(['plan', '--json'], HOOK_ENV);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it('a column returned twice but for case is ambiguous, naming both; fields named like Object.prototype members are plain names', async () => {
    p.write({ 'models/active_customers.sql': `select id, email, upper(email) as "EMAIL", tier from {{source 'src' 'customers'}} where active\n` });
    const r = await run();
    expect(finished(r, 'active_to_hook')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/syncs\.active_to_hook\.fields\.email: column "email" is ambiguous: model active_customers \(models\/active_customers\.sql\) returns "email" and "EMAIL", which differ only by case/),
    });
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url, { fields: `{ 'bad\\u0000name': 'email' }` }) });
    expectUserError(await run(), 2, /syncs\.active_to_hook\.fields\."bad\\u0000name": a field name cannot hold control characters/);
    p.write({
      'models/active_customers.sql': ACTIVE_MODEL,
      'audsync.config.ts': fixtureConfig(hook.url, { fields: `{ constructor: 'email', toString: 'tier', valueOf: 'id', ['__proto__']: 'email', hasOwnProperty: 'tier' }` }),
    });
    const ok = await run();
    expect(finished(ok, 'active_to_hook'), ok.stdout + ok.stderr).toMatchObject({ status: 'success', counts: { succeeded_add: 10 } });
    const sent = hook.audience.get('3')!;
    expect(Object.keys(sent).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf']);
    expect(Object.getOwnPropertyDescriptor(sent, '__proto__')?.value).toBe('user3@example.com');
    expect(sent).toMatchObject({ constructor: 'user3@example.com', toString: 'gold', valueOf: 3, hasOwnProperty: 'gold' });
    hook.batches.length = 0; // this test sends on purpose
  });

  it('a SQL error in a model names the model and what the warehouse said', async () => {
    p.write({ 'models/active_customers.sql': 'select id, email, tier, no_such_column from {{source "src" "customers"}}\n' });
    const r = await run();
    expectUserError(r, 1, /models\/active_customers\.sql: the warehouse rejected the model's SQL: .*no_such_column/);
    // The model's mistake fails its own sync (recorded, reported), not the whole invocation.
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'failed', error: expect.stringMatching(/no_such_column/) });
    expect(r.events.find((e) => e.event === 'run_finished')).toMatchObject({ exit_code: 1 });
  });

  beforeWarehouse('an unknown destination names the sync path and the known ones', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace("destination: 'hook'", "destination: 'crm'") });
    expectUserError(await run(), 2, /syncs\.active_to_hook\.destination: no destination named "crm" \(known: "hook"\)/);
  });

  beforeWarehouse('sync, destination and model names that differ only by case are refused, naming both', async () => {
    p.write({
      'audsync.config.ts': fixtureConfig(hook.url, {
        extraSync: `
    Active_To_Hook: { model: 'active_customers', destination: 'Hook', key: 'id', fields: { email: 'email' } },`,
      }).replace(/(hook: \{[^\n]*\n)/, `$1    Hook: { type: 'webhook', url: '${hook.url}', secret: env('HOOK_SECRET') },\n`),
    });
    const r = await run();
    expectUserError(r, 2, /syncs\.Active_To_Hook: differs from "active_to_hook" only by case/);
    expect(r.stderr).toMatch(/destinations\.Hook: differs from "hook" only by case/);
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url), 'models/Active_Customers.sql': ACTIVE_MODEL });
    expectUserError(await run(), 2, /two models are named "(Active_Customers|active_customers)" and "(active_customers|Active_Customers)" \(they differ only by case\)/);
  });

  beforeWarehouse('durations and counts past what a timer or a sane run can hold are refused at load, by path', async () => {
    p.write({
      'audsync.config.ts': fixtureConfig(hook.url).replace('timeoutMs: 2000', 'timeoutMs: 2 ** 31, rateLimit: Infinity, concurrency: 100000, maxResponseBytes: 2 ** 40').replace('retryBaseDelayMs: 5', 'retryBaseDelayMs: Number.NaN'),
    });
    const r = await run();
    expectUserError(r, 2, /destinations\.hook\.timeoutMs: must be at most 2147483647 \(the longest timer Node\.js keeps/);
    expect(r.stderr).toMatch(/destinations\.hook\.retryBaseDelayMs: must be a number of milliseconds from 0 to 2,147,483,647/);
    expect(r.stderr).toMatch(/destinations\.hook\.rateLimit: must be a positive, finite number/);
    expect(r.stderr).toMatch(/destinations\.hook\.concurrency: must be at most 1000/);
    expect(r.stderr).toMatch(/destinations\.hook\.maxResponseBytes: must be at most 268435456 \(what one answer can be read into, 256 MiB\)/);
  });

  beforeWarehouse('an unknown destination type names the destination and every built-in type', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace("type: 'webhook'", "type: 'webhok'") });
    expectUserError(await run(), 2, /destinations\.hook\.type: unknown destination type "webhok" \(known: "webhook", "file", .*"google_customer_match"\)/);
  });

  beforeWarehouse('an invalid mode lists the valid ones', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url, { mode: 'sync_everything' }) });
    expectUserError(await run(), 2, /syncs\.active_to_hook\.mode: invalid mode "sync_everything" \(expected mirror \| upsert \| add \| update \| remove\)/);
  });

  it('a key column missing from the model lists the columns it has', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace("key: 'id'", "key: 'customer_id'") });
    const r = await run();
    expectUserError(r, 1, /syncs\.active_to_hook\.key: column "customer_id" is not in model active_customers/);
    expect(r.stderr).toMatch(/The model returns: id, email, tier/);
  });

  it('a mapped column missing from the model names the field', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url, { fields: `{ email: 'email', phone: 'phone_number' }` }) });
    expectUserError(await run(), 1, /syncs\.active_to_hook\.fields\.phone: column "phone_number" is not in model/);
  });

  beforeWarehouse('a missing env var for a secret names the variable and who needs it', async () => {
    const r = await run({ HOOK_SECRET: '' });
    expectUserError(r, 1, /destinations\.hook\.secret: environment variable HOOK_SECRET is empty/);
    const runs = await p.query('SELECT status, error, members FROM audsync.sync_runs');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'failed', members: null });
    expect(String(runs[0]?.error)).toMatch(/HOOK_SECRET is empty/);
  });

  it('duplicate keys fail the sync before sending, with the count and samples', async () => {
    await p.exec(`INSERT INTO src.customers VALUES (3, 'dup@example.com', 'gold', TRUE), (3, 'dup2@example.com', 'gold', TRUE), (7, 'd@example.com', 'gold', TRUE)`);
    const r = await run();
    expect(r.code).toBe(1);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/3 duplicate row\(s\) for key "id" in model active_customers; e\.g\. 3 \(3×\), 7 \(2×\)/);
    const [row] = await p.query('SELECT status, error FROM audsync.sync_runs');
    expect(row?.status).toBe('failed');
    expect(await p.count('SELECT count(*) FROM audsync.snapshot__active_to_hook')).toBe(0);
  });

  it('null keys are excluded and counted as invalid', async () => {
    await p.exec(`INSERT INTO src.customers VALUES (NULL, 'nokey@example.com', 'gold', TRUE)`);
    hook.knobs.failNext = [];
    const r = await p.cli(['plan', '--json'], HOOK_ENV);
    expect(r.events.find((e) => e.event === 'planned')).toMatchObject({ members: 10, invalid: 1, add: 10 });
  });

  beforeWarehouse('a config syntax error names the config file', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace('syncs: {', 'syncs: {{') });
    expectUserError(await run(), 2, /audsync\.config\.ts: could not load the config/);
  });

  beforeWarehouse('an unknown warehouse type lists the supported ones', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace('__WAREHOUSE__', "{ type: 'bigquery' }") });
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace("warehouse: __WAREHOUSE__", "warehouse: { type: 'bigquery' } as never") });
    expectUserError(await run(), 2, /warehouse\.type: unknown warehouse type "bigquery" \(expected duckdb \| postgres \| snowflake\)/);
  });

  it.runIf(wh.name === 'duckdb')('DuckDB settings: malformed ones are refused by path at load, one DuckDB does not know when it opens', async () => {
    const withSettings = (settings: string) => fixtureConfig(hook.url).replace('warehouse: __WAREHOUSE__', `warehouse: { type: 'duckdb', path: 'warehouse.duckdb', settings: ${settings} }`);
    p.write({ 'audsync.config.ts': withSettings("{ 'threads; DROP TABLE src.customers': 1, memory_limit: ['4GB'], TimeZone: 'Europe/Paris' }") });
    const bad = await run();
    expectUserError(bad, 2, /warehouse\.settings\.threads; DROP TABLE src\.customers: is not a DuckDB setting name/);
    expect(bad.stderr).toMatch(/warehouse\.settings\.memory_limit: must be a string, number or boolean/);
    expect(bad.stderr).toMatch(/warehouse\.settings\.TimeZone: audsync sends timestamps in UTC/);
    p.write({ 'audsync.config.ts': withSettings("{ memory_limt: '4GB' }") });
    expectUserError(await run(), 2, /warehouse\.settings\.memory_limt: DuckDB refused it: .*memory_limt/);
    expect(await p.count('SELECT count(*) FROM src.customers')).toBe(10);
  });

  it.runIf(wh.name === 'duckdb')('a DuckDB path that does not exist is an error naming it, for every command, and nothing is created; createIfMissing creates it', async () => {
    const at = (extra: string) => fixtureConfig(hook.url).replace('warehouse: __WAREHOUSE__', `warehouse: { type: 'duckdb', path: 'data/warehous.duckdb'${extra} }`);
    p.write({ 'audsync.config.ts': at('') });
    for (const args of [['plan', '--json'], ['run', '--json'], ['status']]) {
      expectUserError(await p.cli(args, HOOK_ENV), 2, /warehouse\.path: the DuckDB file data\/warehous\.duckdb does not exist/);
    }
    expect(fs.existsSync(path.join(p.dir, 'data'))).toBe(false);
    p.write({ 'audsync.config.ts': at(', createIfMissing: true'), 'models/active_customers.sql': `select 1 as id, 'a@example.com' as email, 'gold' as tier\n` });
    const created = await p.cli(['plan', '--json'], HOOK_ENV);
    expect(created.code, created.stderr).toBe(0);
    expect(fs.existsSync(path.join(p.dir, 'data', 'warehous.duckdb'))).toBe(true);
  });

  it.runIf(wh.name === 'duckdb')('a DuckDB file named like the in-memory working database is refused with a rename hint', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace('warehouse: __WAREHOUSE__', "warehouse: { type: 'duckdb', path: 'audsync_work.duckdb', createIfMissing: true }") });
    expectUserError(await run(), 2, /warehouse\.path: the DuckDB file audsync_work\.duckdb is named like audsync's in-memory working database "audsync_work"/);
  });

  beforeWarehouse('an unknown option and a batch size above the maximum are refused by path', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace('batchSize: 25', 'batchSize: 50000, colour: 1') });
    const r = await run();
    expectUserError(r, 2, /destinations\.hook\.colour: unknown option/);
    expect(r.stderr).toMatch(/destinations\.hook\.batchSize: must be at most 10000/);
  });

  it('an identifier that tries SQL injection is quoted safely and the source survives', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace("key: 'id'", `key: 'id" FROM src.customers; DROP TABLE src.customers; --'`) });
    const r = await run();
    expectUserError(r, 1, /syncs\.active_to_hook\.key: column "id" FROM src\.customers; DROP TABLE src\.customers; --" is not in model/);
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url, { fields: `{ "x') ; DROP TABLE src.customers; --": 'email' }` }) });
    hook.knobs.failNext = [];
    const planned = await p.cli(['plan', '--json'], HOOK_ENV);
    expect(planned.code, planned.stderr).toBe(0);
    expect(await p.count('SELECT count(*) FROM src.customers')).toBe(10);
  });

  beforeWarehouse('a sync name that is not a plain identifier is refused', async () => {
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url).replace('active_to_hook:', '"x; DROP TABLE src.customers":') });
    expectUserError(await run(), 2, /syncs\.x; DROP TABLE src\.customers: sync names use letters, digits and underscores/);
    expect(await p.count('SELECT count(*) FROM src.customers')).toBe(10);
  });

  beforeWarehouse('unknown commands and --select names are usage errors', async () => {
    expectUserError(await p.cli(['sync']), 2, /unknown command "sync"/);
    expectUserError(await p.cli(['run', '--select', 'nope'], HOOK_ENV), 2, /--select: no sync or model named "nope"/);
  });

  beforeWarehouse('a missing config file says how to create one', async () => {
    expectUserError(await p.cli(['plan', '--config', 'nowhere.config.ts']), 2, /config file not found: nowhere\.config\.ts/);
  });

  beforeWarehouse('a secret never reaches output, errors or warehouse tables', async () => {
    hook.knobs.rejectKeys.set('2', `token ${HOOK_SECRET} was refused`);
    const r = await run();
    expect(r.stdout + r.stderr).not.toContain(HOOK_SECRET);
    const [row] = await p.query(`SELECT error_message FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(row?.error_message).toBe('token *** was refused');
    hook.batches.length = 0; // this test sends on purpose
  });
});

void ACTIVE_MODEL;

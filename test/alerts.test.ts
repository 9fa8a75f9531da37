import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableWarehouses } from './support/warehouses.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { closedLoopbackPort } from './fakes/fake-http.js';
import { FakeAlertReceivers } from './fakes/alert-receivers.js';
import { createFixture, fixtureConfig, HOOK_ENV, HOOK_SECRET } from './support/audience-fixture.js';
import { finished, type CliProject, type CliResult } from './support/cli-project.js';
import { signWebhook } from '../engine/destination/standard-webhooks.js';

const warehouses = await availableWarehouses();
const ALERT_HOOK_SECRET = 'whsec_' + Buffer.from('alert-signing-secret-abcdef012345').toString('base64');

/** The fixture's config with an alerts section (channels from the environment) and optional triggers. */
function alertingConfig(hookUrl: string, on: string, opts: { pagerDutyUrl: string; extra?: Parameters<typeof fixtureConfig>[1] }): string {
  return fixtureConfig(hookUrl, { maxAttempts: 2, ...opts.extra }).replace(
    '  syncs: {',
    `  alerts: {
    channels: {
      team_slack: { type: 'slack', url: env('SLACK_WEBHOOK_URL') },
      oncall: { type: 'pagerduty', routingKey: env('PAGERDUTY_ROUTING_KEY'), url: '${opts.pagerDutyUrl}' },
      audit: { type: 'webhook', url: env('ALERT_HOOK_URL'), secret: env('ALERT_HOOK_SECRET') },
    },
    on: ${on},
  },
  syncs: {`,
  );
}


const alertEvents = (r: CliResult) => r.events.filter((e) => e.event === 'alert_sent');

describe.each(warehouses)('alerts on $name', (wh) => {
  let hook: FakeWebhookServer;
  let rx: FakeAlertReceivers;
  let p: CliProject;
  let env: Record<string, string>;
  const run = (...args: string[]) => p.cli(['run', '--json', ...args], env);

  beforeEach(async () => {
    hook = await new FakeWebhookServer(HOOK_SECRET).start();
    rx = await new FakeAlertReceivers().start();
    env = { ...HOOK_ENV, SLACK_WEBHOOK_URL: rx.slackUrl, PAGERDUTY_ROUTING_KEY: FakeAlertReceivers.ROUTING_KEY, ALERT_HOOK_URL: rx.webhookUrl, ALERT_HOOK_SECRET };
  });
  afterEach(async () => {
    await hook.stop();
    await rx.stop();
    await p?.cleanUp();
  });

  const expectNoSecrets = (...outputs: CliResult[]): void => {
    const seen = `${rx.allText}\n${outputs.map((o) => o.stdout + o.stderr).join('\n')}`;
    for (const secret of [HOOK_SECRET, ALERT_HOOK_SECRET, FakeAlertReceivers.SLACK_PATH, 'slacktokensecret123']) expect(seen).not.toContain(secret);
    // The routing key goes to PagerDuty itself, and nowhere else.
    const elsewhere = `${rx.slack.map((a) => a.text).join('')}${rx.webhook.map((a) => a.text).join('')}${outputs.map((o) => o.stdout + o.stderr).join('')}`;
    expect(elsewhere).not.toContain(FakeAlertReceivers.ROUTING_KEY);
  };

  it('a failed run alerts Slack, PagerDuty and a signed webhook; the exit code is unchanged; the next success resolves the incident, once', async () => {
    p = await createFixture(wh, hook, 20);
    p.write({ 'audsync.config.ts': alertingConfig(hook.url, '{}', { pagerDutyUrl: rx.pagerDutyUrl }) });
    hook.knobs.failNext = Array(20).fill(404);
    const r = await run();
    expect(r.code, r.stderr).toBe(1);
    expect(r.events.find((e) => e.event === 'run_finished')?.exit_code).toBe(1);
    expect(finished(r, 'active_to_hook').status).toBe('failed');

    expect(rx.slack).toHaveLength(1);
    const text = String(rx.slack[0]!.body.text);
    expect(text).toMatch(/sync active_to_hook failed: 20 of 20 rows rejected: HTTP 404/);
    expect(text).toMatch(/model active_customers -> destination hook, run \d{8}T/);
    expect(text).toMatch(/hint: /);

    expect(rx.pagerduty).toHaveLength(1);
    expect(rx.pagerduty[0]!.body).toMatchObject({
      event_action: 'trigger',
      dedup_key: 'audsync/active_to_hook',
      payload: { source: 'audsync', severity: 'error', summary: expect.stringMatching(/active_to_hook failed/), custom_details: expect.objectContaining({ planned_add: 20, rejected: 20 }) },
    });

    expect(rx.webhook).toHaveLength(1);
    const w = rx.webhook[0]!;
    expect(w.body).toMatchObject({ type: 'audsync.alert', trigger: 'failed', sync: 'active_to_hook', status: 'failed' });
    const id = String(w.headers['webhook-id']);
    const ts = Number(w.headers['webhook-timestamp']);
    expect(w.headers['webhook-signature']).toBe(signWebhook(ALERT_HOOK_SECRET, id, ts, w.text));
    expect(w.body.alert_id).toBe(id);

    expect(alertEvents(r)).toHaveLength(3);
    expect(await p.count(`SELECT count(*) FROM audsync.alert_log WHERE trigger = 'failed' AND delivered`)).toBe(3);
    expectNoSecrets(r);

    // Fixed: the next run succeeds and resolves the incident with the same dedup key.
    hook.knobs.failNext = [];
    rx.reset();
    const ok = await run();
    expect(ok.code).toBe(0);
    expect(rx.pagerduty.map((a) => a.body)).toEqual([{ routing_key: FakeAlertReceivers.ROUTING_KEY, dedup_key: 'audsync/active_to_hook', event_action: 'resolve' }]);
    expect(String(rx.slack[0]?.body.text)).toMatch(/recovered/);
    expect(rx.webhook[0]?.body).toMatchObject({ trigger: 'recovery' });

    // Healthy and already recovered: nothing more.
    rx.reset();
    await p.exec(`UPDATE src.customers SET tier = 'gold' WHERE id = 1`);
    expect((await run()).code).toBe(0);
    expect(rx.allText).toBe('');
  });

  // Channel and trigger logic: the same on every warehouse (alert_log SQL runs on each in the tests above).
  it.runIf(wh.name === 'duckdb')('rejected rows over a percentage alert; under it they do not', async () => {
    p = await createFixture(wh, hook, 20);
    p.write({ 'audsync.config.ts': alertingConfig(hook.url, '{ rejectedPercent: 10 }', { pagerDutyUrl: rx.pagerDutyUrl }) });
    hook.knobs.rejectKeys.set('1', 'email is malformed');
    const few = await run();
    expect(finished(few, 'active_to_hook').status).toBe('warning');
    expect(rx.allText).toBe(''); // 1 of 20 = 5%

    await p.exec(`UPDATE src.customers SET tier = 'platinum' WHERE id <= 10`);
    for (const k of ['2', '3', '4']) hook.knobs.rejectKeys.set(k, 'email is malformed');
    const many = await run();
    expect(many.code).toBe(0);
    expect(finished(many, 'active_to_hook').status).toBe('warning');
    expect(rx.slack).toHaveLength(1);
    expect(String(rx.slack[0]!.body.text)).toMatch(/4 of 10 planned rows rejected or failed \(40%, alert above 10%\)/);
    expect(rx.pagerduty[0]!.body).toMatchObject({ event_action: 'trigger', payload: { severity: 'warning', class: 'rejected' } });
  });

  // Channel and trigger logic: the same on every warehouse (alert_log SQL runs on each in the tests above).
  it.runIf(wh.name === 'duckdb')('an audience that changes size by more than a percentage since the last success alerts', async () => {
    p = await createFixture(wh, hook, 20, { guardrails: '{ maxRemovePercent: 100 }' });
    p.write({ 'audsync.config.ts': alertingConfig(hook.url, '{ sizeChangePercent: 25 }', { pagerDutyUrl: rx.pagerDutyUrl, extra: { guardrails: '{ maxRemovePercent: 100 }' } }) });
    expect((await run()).code).toBe(0);
    expect(rx.allText).toBe(''); // a first load has no size to compare with
    await p.exec('DELETE FROM src.customers WHERE id > 18'); // -10%
    expect((await run()).code).toBe(0);
    expect(rx.allText).toBe('');
    await p.exec('DELETE FROM src.customers WHERE id > 9'); // 18 -> 9: -50%
    const r = await run();
    expect(r.code).toBe(0);
    expect(String(rx.slack[0]?.body.text)).toMatch(/audience shrank from 18 to 9 members \(-50%, alert beyond 25%\)/);
  });

  it('no successful run for a duration alerts once per stale period, from run and from status --check', async () => {
    p = await createFixture(wh, hook, 10);
    p.write({ 'audsync.config.ts': alertingConfig(hook.url, `{ noSuccessFor: '2h' }`, { pagerDutyUrl: rx.pagerDutyUrl }) });
    expect((await run()).code).toBe(0);
    const fresh = await p.cli(['status', '--check', '--json'], env);
    expect(fresh.code).toBe(0);
    expect(rx.allText).toBe('');

    await p.exec(`UPDATE audsync.sync_runs SET started_at = started_at - INTERVAL '3 hours', finished_at = finished_at - INTERVAL '3 hours'`);
    const stale = await p.cli(['status', '--check', '--json'], env);
    expect(stale.code, stale.stderr).toBe(0);
    expect(String(rx.slack[0]?.body.text)).toMatch(/sync active_to_hook: no successful run for 3h( \d+m)? \(alert after 2h\)/);
    expect(rx.pagerduty[0]?.body).toMatchObject({ event_action: 'trigger', dedup_key: 'audsync/active_to_hook', payload: { class: 'stale' } });
    // Once per stale period: checking again, or a failing run, does not repeat it.
    rx.reset();
    expect((await p.cli(['status', '--check', '--json'], env)).code).toBe(0);
    expect(rx.slack).toHaveLength(0);
    hook.knobs.failNext = Array(20).fill(404);
    await p.exec(`UPDATE src.customers SET tier = 'gold' WHERE id = 1`);
    const failing = await run();
    expect(failing.code).toBe(1);
    expect(rx.slack.map((a) => String(a.body.text))).toEqual([expect.stringMatching(/active_to_hook failed/)]);
    // A success ends the stale period (and resolves); the next staleness alerts again.
    rx.reset();
    hook.knobs.failNext = [];
    expect((await run()).code).toBe(0);
    expect(rx.pagerduty.map((a) => a.body.event_action)).toEqual(['resolve']);
    await p.exec(`UPDATE audsync.sync_runs SET started_at = started_at - INTERVAL '5 hours', finished_at = finished_at - INTERVAL '5 hours'`);
    await p.exec(`UPDATE audsync.alert_log SET sent_at = sent_at - INTERVAL '5 hours'`);
    rx.reset();
    await p.exec(`UPDATE src.customers SET tier = 'silver' WHERE id = 1`);
    hook.knobs.failNext = Array(20).fill(404);
    await run();
    expect(rx.slack.map((a) => String(a.body.text)).join('\n')).toMatch(/no successful run for 5h/);
  });

  // Channel and trigger logic: the same on every warehouse (alert_log SQL runs on each in the tests above).
  it.runIf(wh.name === 'duckdb')('an alert that cannot be delivered is a warning; the run outcome and exit code stay; a missing channel secret too', async () => {
    p = await createFixture(wh, hook, 10);
    const dead = `http://127.0.0.1:${await closedLoopbackPort()}/v2/enqueue`;
    p.write({ 'audsync.config.ts': alertingConfig(hook.url, '{}', { pagerDutyUrl: dead }) });
    hook.knobs.failNext = Array(20).fill(404);
    rx.failNext.push(500); // Slack answers 500 once
    const { ALERT_HOOK_SECRET: _unset, ...withoutHookSecret } = env;
    const r = await p.cli(['run', '--json'], withoutHookSecret);
    expect(r.code).toBe(1);
    expect(r.events.find((e) => e.event === 'run_finished')?.exit_code).toBe(1);
    expect(finished(r, 'active_to_hook').status).toBe('failed');
    const warnings = r.events.filter((e) => e.event === 'warning').map((e) => String(e.message));
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/alert "failed" could not be delivered to channel team_slack \(slack\): HTTP 500/),
        expect.stringMatching(/channel oncall \(pagerduty\): request failed: ECONNREFUSED/),
        expect.stringMatching(/channel audit \(webhook\): alerts\.channels\.audit\.secret: environment variable ALERT_HOOK_SECRET is not set/),
      ]),
    );
    expect(await p.count(`SELECT count(*) FROM audsync.alert_log WHERE NOT delivered`)).toBe(3);
    const logged = await p.query(`SELECT error FROM audsync.alert_log`);
    expect(JSON.stringify(logged)).not.toContain('slacktokensecret123');
    expectNoSecrets(r);

    // A success with no alert configured for the sync changes nothing either: the plain fixture runs as before.
    p.write({ 'audsync.config.ts': fixtureConfig(hook.url) });
    hook.knobs.failNext = [];
    expect((await p.cli(['run', '--json'], env)).code).toBe(0);
  });

  // Channel and trigger logic: the same on every warehouse (alert_log SQL runs on each in the tests above).
  it.runIf(wh.name === 'duckdb')('alert config mistakes are named by path before anything runs', async () => {
    p = await createFixture(wh, hook, 5);
    p.write({
      'audsync.config.ts': alertingConfig(hook.url, `{ noSuccessFor: 'soon', rejectedPercent: 120, loud: true }`, { pagerDutyUrl: rx.pagerDutyUrl }).replace(
        "mode: 'mirror',",
        "mode: 'mirror', alerts: { channels: ['pager'] },",
      ),
    });
    const r = await run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/alerts\.on\.noSuccessFor: "soon" is not a duration/);
    expect(r.stderr).toMatch(/alerts\.on\.rejectedPercent: must be a percentage from 0 to 100/);
    expect(r.stderr).toMatch(/alerts\.on\.loud: unknown trigger/);
    expect(r.stderr).toMatch(/syncs\.active_to_hook\.alerts\.channels: no alert channel named "pager"/);
    expect(hook.batches).toHaveLength(0);
  });
});

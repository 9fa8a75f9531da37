import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { createFixture, HOOK_ENV, HOOK_SECRET } from './support/audience-fixture.js';
import { finished, type CliProject } from './support/cli-project.js';

describe('webhook destination contract', () => {
  let hook: FakeWebhookServer;
  let p: CliProject;
  const run = (env = HOOK_ENV) => p.cli(['run', '--json'], env);

  beforeEach(async () => {
    hook = await new FakeWebhookServer(HOOK_SECRET).start();
  });
  afterEach(async () => {
    await hook.stop();
    await p.cleanUp();
  });

  it('keeps the batch id across retries, so receivers can de-duplicate', async () => {
    p = await createFixture(duckdbWarehouse, hook, 10, { batchSize: 10 });
    hook.knobs.failNext = [503, 429];
    hook.knobs.retryAfter = '0';
    expect((await run()).code).toBe(0);
    expect(hook.attemptIds).toHaveLength(3);
    expect(new Set(hook.attemptIds).size).toBe(1);
    expect(hook.batches[0]!.id).toBe(hook.attemptIds[0]);
    expect(hook.batches[0]!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('a 4xx other than 408/429 rejects every row of the batch with the status and body', async () => {
    p = await createFixture(duckdbWarehouse, hook, 6, { batchSize: 3 });
    hook.knobs.failNext = [422];
    const r = await run();
    expect(r.code).toBe(0);
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'warning', counts: { rejected: 3, succeeded_add: 3 } });
    const rows = await p.query(`SELECT DISTINCT error_code, error_message FROM audsync.sync_changelog WHERE status = 'rejected'`);
    expect(rows).toEqual([{ error_code: '422', error_message: 'HTTP 422: fake failure 422' }]);
    expect(hook.attemptIds).toHaveLength(2); // not retried
  });

  it('a 2xx that confirms nothing (HTML, broken JSON, results not an array) is never a success; an empty 2xx or an object without results is', async () => {
    for (const body of ['<html><body>Welcome</body></html>', '{"results": [', '{"results": "ok"}', '[]']) {
      p = await createFixture(duckdbWarehouse, hook, 4, { batchSize: 4, maxAttempts: 2 });
      hook.reset();
      hook.knobs.answerBody = body;
      const r = await run();
      expect(r.code, body).toBe(1);
      const f = finished(r, 'active_to_hook');
      expect(f.status, body).toBe('failed');
      expect(f.counts, body).toMatchObject({ succeeded_add: 0, failed: 4 });
      expect(f.error, body).toMatch(/a 2xx answer that confirms nothing/);
      expect(await p.count(`SELECT count(*) FROM audsync.snapshot__active_to_hook`), body).toBe(0);
      await p.cleanUp();
    }
    for (const body of ['', '{}', '{"received": 4}']) {
      p = await createFixture(duckdbWarehouse, hook, 4, { batchSize: 4 });
      hook.knobs.answerBody = body;
      const r = await run();
      expect(finished(r, 'active_to_hook'), JSON.stringify(body)).toMatchObject({ status: 'success', counts: { succeeded_add: 4 } });
      if (body !== '{"received": 4}') await p.cleanUp();
    }
  });

  it('a redirect (301, 302, 303, 307, 308) is never followed: nothing reaches the other host, and the sync fails naming the Location', async () => {
    const other = await new FakeWebhookServer(HOOK_SECRET).start();
    try {
      p = await createFixture(duckdbWarehouse, hook, 5, { batchSize: 5 });
      // 301-303 would make fetch repeat the POST as a GET to the other host; 307/308 would forward the body and headers.
      for (const status of [301, 302, 303, 307, 308]) {
        hook.knobs.redirectNext = [{ status, location: other.url }];
        const r = await run();
        expect(r.code, String(status)).toBe(1);
        const f = finished(r, 'active_to_hook');
        expect(f.status).toBe('failed');
        expect(f.error).toContain(`HTTP ${status} redirect to ${other.url}, not followed`);
        expect(other.attemptIds).toHaveLength(0);
        expect(await p.count(`SELECT count(*) FROM audsync.snapshot__active_to_hook`)).toBe(0);
      }
      // Without the redirect: everything is delivered on the next run.
      expect(finished(await run(), 'active_to_hook').counts.succeeded_add).toBe(5);
    } finally {
      await other.stop();
    }
  });

  it('bad credentials fail the sync at once, unsent rows recorded as aborted', async () => {
    p = await createFixture(duckdbWarehouse, hook, 50, { batchSize: 5 });
    const r = await run({ HOOK_SECRET: 'whsec_' + Buffer.from('the-wrong-secret-entirely').toString('base64') });
    expect(r.code).toBe(1);
    const f = finished(r, 'active_to_hook');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/destination hook: HTTP 401, the destination refused our credentials/);
    expect(f.hint).toMatch(/Check the credentials configured for destination hook/);
    // Concurrency 4: at most the first wave was attempted; nothing retried row by row.
    expect(hook.attemptIds.length).toBeLessThanOrEqual(4);
    expect(await p.count(`SELECT count(*) FROM audsync.sync_changelog WHERE status = 'aborted'`)).toBeGreaterThan(0);
    expect(await p.count(`SELECT count(*) FROM audsync.snapshot__active_to_hook`)).toBe(0);
    const again = await run();
    expect(finished(again, 'active_to_hook')).toMatchObject({ status: 'success', counts: { succeeded_add: 50 } });
  });

  it('rows a receiver reports with another status are failed, and retried next run', async () => {
    p = await createFixture(duckdbWarehouse, hook, 3);
    hook.knobs.otherStatus.set('2', 'error');
    const r = await run();
    expect(finished(r, 'active_to_hook')).toMatchObject({ status: 'warning', counts: { succeeded_add: 2, failed: 1 } });
    const [row] = await p.query(`SELECT record_key, error_code, error_message FROM audsync.sync_changelog WHERE status = 'failed'`);
    expect(row).toEqual({ record_key: '2', error_code: 'error', error_message: 'receiver status error' });
    hook.knobs.otherStatus.clear();
    hook.reset();
    expect(finished(await run(), 'active_to_hook').counts).toMatchObject({ planned_add: 1, succeeded_add: 1 });
    expect(hook.operations.map((o) => o.key)).toEqual(['2']);
  });
});

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';

/**
 * A project's own destination, declared in its config with defineDestination:
 * it logs every batch it gets to a file and starts an "asynchronous job" per
 * batch, the way Customer Match uploads finish hours later.
 */
const CONFIG = `import fs from 'node:fs';
import { defineConfig } from 'audsync';
import { defineDestination } from 'audsync/destination';

const jobsDone = () => fs.existsSync('jobs-done');

const recorder = defineDestination<{ log: string }>({
  type: 'recorder',
  description: 'test destination',
  options: { log: { type: 'string', required: true, description: 'log file' } },
  identifiers: { email: { kind: 'email' }, madid: { kind: 'mobile_ad_id', hash: false } },
  batchSize: { default: 4, max: 4 },
  concurrency: 2,
  connect(ctx) {
    return {
      async sendBatch(batch) {
        ctx.recordJob('job-' + batch.seq, { seq: batch.seq, rows: batch.operations.length });
        ctx.recordMetric('received', batch.operations.length);
        fs.appendFileSync(ctx.options.log, JSON.stringify({ seq: batch.seq, isLast: batch.isLast, fullRefresh: ctx.fullRefresh, planned: ctx.plannedTotal, ops: batch.operations.map((o) => o.fields), previous: batch.operations.map((o) => o.previousFields) }) + '\\n');
        return batch.operations.map(() => ({ status: 'succeeded' as const }));
      },
    };
  },
  async refreshJobs(_ctx, jobs) {
    return jobs.map((j) => ({ jobId: j.jobId, status: jobsDone() ? ('succeeded' as const) : ('pending' as const), detail: { matchRateRange: 'MATCH_RANGE_51_TO_60', was: j.detail } }));
  },
});

export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { rec: { type: recorder, log: 'batches.jsonl' } },
  syncs: { s: { model: 'm', destination: 'rec', key: 'id', fields: { email: 'email', madid: 'madid' } } },
});
`;

describe('a project-defined destination', () => {
  let p: CliProject;
  beforeEach(async () => {
    p = await CliProject.create(duckdbWarehouse, {
      'audsync.config.ts': CONFIG,
      'models/m.sql': `select i as id, 'User' || i || '@Example.com' as email, ' AD-' || i || ' ' as madid from generate_series(1, 10) as t(i)\n`,
    });
  });
  afterEach(async () => p.cleanUp());

  const batches = () =>
    fs
      .readFileSync(path.join(p.dir, 'batches.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

  it('gets batch positions, its declared identifiers hashed or only normalized, and records metrics', async () => {
    const r = await p.cli(['run', '--json']);
    expect(finished(r, 's').status, r.stderr).toBe('success');
    const got = batches().sort((a, b) => a.seq - b.seq);
    expect(got.map((b) => [b.seq, b.isLast, b.planned, b.fullRefresh])).toEqual([
      [1, false, 10, false],
      [2, false, 10, false],
      [3, true, 10, false],
    ]);
    const first = got[0].ops.find((o: { madid: string }) => o.madid === 'ad-1');
    expect(first.email).toMatch(/^[0-9a-f]{64}$/);
    const [m] = await p.query(`SELECT value FROM audsync.sync_run_metrics WHERE metric = 'received'`);
    expect(Number(m?.value)).toBe(10);
  });

  it('records the jobs it starts, and a later run or status --refresh records their final state', async () => {
    expect((await p.cli(['run', '--json'])).code).toBe(0);
    expect(await p.count(`SELECT count(*) FROM audsync.destination_jobs WHERE status = 'pending'`)).toBe(3);
    const pending = await p.cli(['status', '--json', '--refresh']);
    expect(pending.events.find((e) => e.event === 'sync_status')).toMatchObject({ sync_name: 's', pending_jobs: 3 });
    fs.writeFileSync(path.join(p.dir, 'jobs-done'), '');
    const refreshed = await p.cli(['status', '--json', '--refresh']);
    expect(refreshed.events.find((e) => e.event === 'jobs_refreshed')).toMatchObject({ sync: 's', changed: 3 });
    expect(refreshed.events.find((e) => e.event === 'sync_status')).toMatchObject({ pending_jobs: 0 });
    const [job] = await p.query(`SELECT status, detail FROM audsync.destination_jobs WHERE job_id = 'job-1'`);
    expect(job?.status).toBe('succeeded');
    expect(JSON.parse(String(job?.detail))).toEqual({ matchRateRange: 'MATCH_RANGE_51_TO_60', was: { seq: 1, rows: 4 } });
  });

  it('a change carries the fields last sent, so an identifier that changed can be removed', async () => {
    await p.cli(['run', '--json']);
    fs.rmSync(path.join(p.dir, 'batches.jsonl'));
    p.write({ 'models/m.sql': `select i as id, case when i = 3 then 'new3@example.com' else 'User' || i || '@Example.com' end as email, ' AD-' || i || ' ' as madid from generate_series(1, 10) as t(i)\n` });
    expect((await p.cli(['run', '--json'])).code).toBe(0);
    const [b] = batches();
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(b.ops).toEqual([{ email: sha('new3@example.com'), madid: 'ad-3' }]);
    expect(b.previous).toEqual([{ email: sha('user3@example.com'), madid: 'ad-3' }]);
  });

  it('--full-refresh tells the destination', async () => {
    await p.cli(['run', '--json']);
    fs.rmSync(path.join(p.dir, 'batches.jsonl'));
    p.write({ 'models/m.sql': `select i as id, 'User' || i || '@Example.com' as email, ' AD-' || i || ' ' as madid from generate_series(3, 10) as t(i)\n` });
    await p.cli(['run', '--json', '--full-refresh', '--force']);
    const got = batches().sort((a, b) => a.seq - b.seq);
    expect(got.every((b) => b.fullRefresh === true)).toBe(true);
    // Removes (ids 1, 2: fields last sent) stream first, members last.
    expect(got[0].ops.slice(0, 2).map((o: { madid: string }) => o.madid).sort()).toEqual(['ad-1', 'ad-2']);
    expect(got.at(-1).isLast).toBe(true);
  });
});

/**
 * rateLimit counts requests: a destination that declares throttlesRequests takes
 * a turn (ctx.throttle) per request, however many a batch makes; one that does
 * not gets one turn per batch from the engine.
 */
const throttleConfig = (declares: boolean) => `import fs from 'node:fs';
import { defineConfig, defineDestination } from 'audsync';

const threeCalls = defineDestination({
  type: 'three_calls',
  description: 'test destination: three requests per batch',
  options: {},
  batchSize: { default: 5, max: 5 },
  concurrency: 3,
  ${declares ? 'throttlesRequests: true,' : ''}
  connect(ctx) {
    return {
      async sendBatch(batch) {
        for (let i = 0; i < 3; i++) {
          ${declares ? 'await ctx.throttle();' : ''}
          fs.appendFileSync('requests.log', Date.now() + '\\n');
        }
        return batch.operations.map(() => ({ status: 'succeeded' as const }));
      },
    };
  },
});

export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { calls: { type: threeCalls, rateLimit: 20 } },
  syncs: { s: { model: 'm', destination: 'calls', key: 'id', fields: { n: 'id' } } },
});
`;

describe('rateLimit, in requests per second', () => {
  let p: CliProject;
  afterEach(async () => p.cleanUp());
  const turns = async (declares: boolean): Promise<{ requests: number; turns: number }> => {
    p = await CliProject.create(duckdbWarehouse, { 'audsync.config.ts': throttleConfig(declares), 'models/m.sql': 'select i as id from generate_series(1, 20) as t(i)\n' });
    const r = await p.cli(['run', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const requests = fs.readFileSync(path.join(p.dir, 'requests.log'), 'utf8').trim().split('\n').length;
    return { requests, turns: await p.count(`SELECT value FROM audsync.sync_run_metrics WHERE metric = 'rate_limit.turns'`) };
  };

  // Counting, not timing: how the limiter spaces its turns is pinned with a controllable clock in units.test.ts.
  it('a destination that throttles its requests takes one rateLimit turn per request, across batches in flight', async () => {
    const { requests, turns: taken } = await turns(true);
    expect(requests).toBe(12);
    expect(taken).toBe(12);
  });

  it('a destination that does not is limited per batch by the engine', async () => {
    const { requests, turns: taken } = await turns(false);
    expect(requests).toBe(12);
    expect(taken).toBe(4);
  });
});

import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableWarehouses } from './support/warehouses.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { CliProject, finished } from './support/cli-project.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const warehouses = await availableWarehouses();

const config = (url: string, prehashed = 'passthrough') => `import { defineConfig } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { hook: { type: 'webhook', url: '${url}' } },
  syncs: {
    hashed: {
      model: 'contacts', destination: 'hook', key: 'id', prehashed: '${prehashed}',
      fields: { email: 'email', phone: 'phone', tier: 'tier' },
      hash: { email: 'email', phone: 'phone' },
    },
  },
});
`;

describe.each(warehouses)('identifiers hashed in the warehouse on $name', (wh) => {
  let hook: FakeWebhookServer;
  let p: CliProject;
  beforeEach(async () => {
    hook = await new FakeWebhookServer().start();
    p = await CliProject.create(wh, { 'audsync.config.ts': config(hook.url), 'models/contacts.sql': 'select id, email, phone, tier from {{source "src" "contacts"}}\n' });
    await p.exec(
      'CREATE SCHEMA src',
      'CREATE TABLE src.contacts (id INTEGER, email VARCHAR, phone VARCHAR, tier VARCHAR)',
      `INSERT INTO src.contacts VALUES
        (1, ' Ada@Example.COM ', '+1 (555) 010-0200', 'gold'),
        (2, '   ', '', 'silver'),
        (3, NULL, NULL, 'gold'),
        (4, '${sha('pre@hashed.io').toUpperCase()}', NULL, 'gold'),
        (NULL, 'nokey@example.com', NULL, 'gold')`,
    );
  });
  afterEach(async () => {
    await hook.stop();
    await p.cleanUp();
  });

  it('sends only hashes, and excludes rows with no usable identifier as invalid with a reason', async () => {
    const r = await p.cli(['run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.events.find((e) => e.event === 'planned')).toMatchObject({ members: 2, invalid: 3, invalid_reasons: { 'null key': 1, 'no usable identifier': 2 } });
    expect(finished(r, 'hashed').counts).toMatchObject({ members: 2, invalid: 3, succeeded_add: 2 });
    expect(Object.fromEntries(hook.audience)).toEqual({
      '1': { email: sha('ada@example.com'), phone: sha('15550100200'), tier: 'gold' },
      '4': { email: sha('pre@hashed.io'), phone: null, tier: 'gold' },
    });
    // No raw identifier reached the destination (the operations sent: headers hold the fake's port, which may contain 555).
    const wire = JSON.stringify(hook.batches.map((b) => b.operations));
    expect(wire).not.toMatch(/example\.com|555/i);
    const metrics = await p.query(`SELECT metric, value FROM audsync.sync_run_metrics ORDER BY metric`);
    expect(metrics.map((m) => [m.metric, Number(m.value)])).toEqual([
      ['invalid: no usable identifier', 2],
      ['invalid: null key', 1],
    ]);
  });

  it("prehashed: 'reject' drops values that already look hashed", async () => {
    p.write({ 'audsync.config.ts': config(hook.url, 'reject') });
    const r = await p.cli(['run', '--json']);
    expect(r.events.find((e) => e.event === 'planned')).toMatchObject({ members: 1, invalid_reasons: { 'no usable identifier': 3 } });
    expect([...hook.audience.keys()]).toEqual(['1']);
  });
});

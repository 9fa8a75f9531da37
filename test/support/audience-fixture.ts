import { CliProject } from './cli-project.js';
import type { FakeWebhookServer } from '../fakes/webhook-server.js';
import type { TestWarehouse } from './warehouses.js';

export const HOOK_SECRET = 'whsec_' + Buffer.from('a-test-signing-secret-0123456789').toString('base64');

/** Config of the standard fixture: one mirror sync of active customers to a webhook. */
export function fixtureConfig(url: string, opts: { mode?: string; extraSync?: string; guardrails?: string; fields?: string; batchSize?: number; timeoutMs?: number; maxAttempts?: number } = {}): string {
  return `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: {
    hook: { type: 'webhook', url: '${url}', secret: env('HOOK_SECRET'), batchSize: ${opts.batchSize ?? 25}, retryBaseDelayMs: 5, maxAttempts: ${opts.maxAttempts ?? 8}, timeoutMs: ${opts.timeoutMs ?? 2000} },
  },
  syncs: {
    active_to_hook: {
      model: 'active_customers',
      destination: 'hook',
      key: 'id',
      mode: '${opts.mode ?? 'mirror'}',
      fields: ${opts.fields ?? `{ email: 'email', tier: 'tier' }`},
      ${opts.guardrails ? `guardrails: ${opts.guardrails},` : ''}
    },${opts.extraSync ?? ''}
  },
});
`;
}

export const ACTIVE_MODEL = `-- members: active customers
select id, email, tier
from {{source 'src' 'customers'}}
where active
`;

/** A project with src.customers holding `n` active customers (ids 1..n). */
export async function createFixture(wh: TestWarehouse, hook: FakeWebhookServer, n = 100, opts: Parameters<typeof fixtureConfig>[1] = {}): Promise<CliProject> {
  const p = await CliProject.create(wh, {
    'audsync.config.ts': fixtureConfig(hook.url, opts),
    'models/active_customers.sql': ACTIVE_MODEL,
  });
  await p.exec(
    'CREATE SCHEMA IF NOT EXISTS src',
    'CREATE TABLE src.customers (id INTEGER, email VARCHAR, tier VARCHAR, active BOOLEAN)',
    `INSERT INTO src.customers SELECT i, 'user' || i || '@example.com', CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'silver' END, TRUE FROM generate_series(1, ${n}) AS t(i)`,
  );
  return p;
}

export const HOOK_ENV = { HOOK_SECRET };

/** The audience as the warehouse sees it now: key -> fields. */
export async function expectedAudience(p: CliProject): Promise<Map<string, Record<string, unknown>>> {
  const rows = await p.query('SELECT id, email, tier FROM src.customers WHERE active ORDER BY id');
  return new Map(rows.map((r) => [String(r.id), { email: r.email, tier: r.tier }]));
}

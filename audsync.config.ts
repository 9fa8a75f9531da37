import { defineConfig, env } from 'audsync';

// The demo project: three audiences over sample shop data that `npm start`
// creates in the embedded DuckDB file (demo/seed-data.mjs).
const webhookUrl = process.env.AUDSYNC_DEMO_WEBHOOK_URL;

export default defineConfig({
  warehouse: { type: 'duckdb', path: 'warehouse.duckdb' },
  stateSchema: 'audsync',
  vars: { vip_min_spend: 1000, lapsed_after_days: 90 },
  destinations: {
    vip_file: { type: 'file', path: 'demo/out/vip_customers.jsonl' },
    lapsed_csv: { type: 'file', path: 'demo/out/lapsed_buyers.csv', format: 'csv' },
    newsletter_file: { type: 'file', path: 'demo/out/newsletter_subscribers.jsonl' },
    ...(webhookUrl ? { crm_hook: { type: 'webhook', url: webhookUrl, secret: env('AUDSYNC_DEMO_WEBHOOK_SECRET') } } : {}),
  },
  syncs: {
    vip_to_file: {
      model: 'vip_customers',
      destination: 'vip_file',
      key: 'customer_id',
      mode: 'mirror',
      fields: { email: 'email', tier: 'loyalty_tier', lifetime_value: 'lifetime_value' },
      hash: { email: 'email' },
      schedule: '0 * * * *',
      guardrails: { maxRemovePercent: 20 },
    },
    lapsed_to_csv: {
      model: 'lapsed_buyers',
      destination: 'lapsed_csv',
      key: 'customer_id',
      mode: 'mirror',
      fields: { email: 'email', first_name: 'first_name', last_order_at: 'last_order_at' },
      schedule: '0 6 * * *',
    },
    newsletter_to_file: {
      model: 'newsletter_subscribers',
      destination: 'newsletter_file',
      key: 'customer_id',
      mode: 'upsert',
      fields: { email: 'email', country: 'country', phone: 'phone' },
      hash: { phone: 'phone' },
    },
    ...(webhookUrl
      ? { vip_to_crm: { model: 'vip_customers', destination: 'crm_hook', key: 'customer_id', fields: { email: 'email', tier: 'loyalty_tier' } } }
      : {}),
  },
});

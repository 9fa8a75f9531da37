import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';

const FILES: Record<string, string> = {
  'audsync.config.ts': `import { defineConfig, env } from 'audsync';

export default defineConfig({
  // Embedded DuckDB: a file next to this config, created by the first run. For PostgreSQL:
  // warehouse: { type: 'postgres', connectionString: env('AUDSYNC_PG_URL') },
  warehouse: { type: 'duckdb', path: 'warehouse.duckdb', createIfMissing: true },
  destinations: {
    export_file: { type: 'file', path: 'out/active_customers.jsonl' },
    // crm_hook: { type: 'webhook', url: 'https://example.com/hooks/audsync', secret: env('CRM_HOOK_SECRET') },
  },
  syncs: {
    active_customers_to_file: {
      model: 'active_customers',
      destination: 'export_file',
      key: 'customer_id',
      mode: 'mirror',
      fields: { email: 'email', tier: 'tier' },
      guardrails: { maxRemovePercent: 50 },
    },
  },
});

// env() is read only when a destination is used, so compile and plan need no secrets.
void env;
`,
  'models/active_customers.sql': `-- An audience is one SELECT. Swap the inline sample for your own table, e.g.
--   select customer_id, email, tier from {{source 'analytics' 'customers'}} where ...
select customer_id, email, tier
from (values
  (1, 'ada@example.com', 'gold', true),
  (2, 'grace@example.com', 'silver', true),
  (3, 'linus@example.com', 'gold', false)
) as customers(customer_id, email, tier, opted_in)
where {{is_true 'opted_in'}}
`,
  'macros/README.md': `Project macros: files of {{#macro 'default__name' 'arg'}}…{{/macro}} definitions.
A macro here overrides a built-in of the same name.
`,
  '.gitignore': `warehouse.duckdb
warehouse.duckdb.wal
target/
out/
`,
  'README.md': `# audsync project

- \`audsync compile\` writes the compiled SQL to target/compiled/
- \`audsync plan\` shows what a run would send, sending nothing
- \`audsync run\` syncs; \`audsync status\` shows the last runs
`,
};

/** `audsync init [dir]`: writes a small working project. Never overwrites a file. */
export function initCommand(dir: string): string[] {
  const root = path.resolve(dir);
  const clashes = Object.keys(FILES).filter((f) => fs.existsSync(path.join(root, f)));
  if (clashes.length > 0) {
    throw new ConfigError(`${dir} already has ${clashes.join(', ')}`, { hint: 'Run init in an empty folder, or move those files away first.' });
  }
  for (const [rel, text] of Object.entries(FILES)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return Object.keys(FILES);
}

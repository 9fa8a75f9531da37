import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { freshDatabase, postgresTestUrl } from './support/postgres-server.js';
import { availableWarehouses } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';

const warehouses = await availableWarehouses();
const pgUrl = await postgresTestUrl();

const KEY_TYPES = {
  int_key: { type: 'INTEGER', values: ['1', '-2147483648', '2147483647'] },
  bigint_key: { type: 'BIGINT', values: ['9007199254740993', '-9223372036854775808', '9223372036854775807'] },
  text_key: { type: 'VARCHAR', values: ["o'brien", 'a b\nc', '🎉'] },
  uuid_key: { type: 'UUID', values: ['2f1b6c1e-3a8f-4b7d-9e2a-0c5d7f1a9b3e', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'] },
} as const;

const config = (sync: string) => `import { defineConfig } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { out: { type: 'file', path: 'out/${sync}.jsonl' } },
  syncs: { ${sync}: { model: '${sync}', destination: 'out', key: 'k', fields: { txt: 'txt', num: 'num', dbl: 'dbl', flag: 'flag', ts: 'ts', empty: 'empty' } } },
});
`;

/** The same instant whatever text form the warehouse's JSON gives a timestamp ("…+00" or "…T…+00:00"). */
function instant(s: unknown): number {
  const iso = String(s).replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
  return Date.parse(iso);
}

describe.each(warehouses)('type fidelity on $name', (wh) => {
  let p: CliProject;
  afterEach(async () => p?.cleanUp());

  it.each(Object.entries(KEY_TYPES))('%s: keys and field values reach the destination unchanged', async (name, key) => {
    p = await CliProject.create(wh, { 'audsync.config.ts': config(name), [`models/${name}.sql`]: `select * from {{source 'src' '${name}'}}\n` });
    const q = (v: string) => `'${v.replace(/'/g, "''")}'`;
    const rows = key.values.map(
      (k, i) =>
        `(CAST(${q(k)} AS ${key.type}), ${i === 0 ? q(`Zoë "quoted" it's\nnew line\ttab 🎉`) : i === 1 ? q('') : 'NULL'}, ${['12345678.90', '-0.01', 'NULL'][i]}, ${['1.5e300', '-0.25', 'NULL'][i]}, ${['TRUE', 'FALSE', 'NULL'][i]}, ${[`TIMESTAMPTZ '2024-02-29 23:59:59.123456+00'`, `TIMESTAMPTZ '1970-01-01 00:00:00+00'`, 'NULL'][i]}, NULL)`,
    );
    await p.exec(
      'CREATE SCHEMA src',
      `CREATE TABLE src.${name} (k ${key.type}, txt VARCHAR, num DECIMAL(12, 2), dbl DOUBLE PRECISION, flag BOOLEAN, ts TIMESTAMPTZ, empty VARCHAR)`,
      `INSERT INTO src.${name} VALUES ${rows.join(', ')}`,
    );
    const r = await p.cli(['run', '--json']);
    expect(finished(r, name).status, r.stderr).toBe('success');
    const got = new Map(
      fs
        .readFileSync(path.join(p.dir, `out/${name}.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { key: string; fields: Record<string, unknown> })
        .map((l) => [l.key, l.fields]),
    );
    expect([...got.keys()].sort()).toEqual([...key.values].sort());
    const [a, b, c] = key.values.map((k) => got.get(k)!);
    expect(a).toMatchObject({ txt: `Zoë "quoted" it's\nnew line\ttab 🎉`, num: 12345678.9, dbl: 1.5e300, flag: true, empty: null });
    expect(instant(a!.ts)).toBe(Date.parse('2024-02-29T23:59:59.123Z'));
    expect(String(a!.ts)).toMatch(/\.123456/);
    expect(b).toMatchObject({ txt: '', num: -0.01, dbl: -0.25, flag: false, empty: null });
    expect(instant(b!.ts)).toBe(0);
    expect(c).toEqual({ txt: null, num: null, dbl: null, flag: null, ts: null, empty: null });
    // A second run sees the same values: nothing is re-sent.
    const again = await p.cli(['run', '--json']);
    expect(finished(again, name).counts).toMatchObject({ planned_add: 0, planned_change: 0, planned_remove: 0 });
  });
});

describe.each(warehouses)('non-finite doubles on $name', (wh) => {
  it('NaN and ±Infinity go out as the strings "NaN", "Infinity", "-Infinity" to webhook, JSONL, CSV and postgres_table, and stay unchanged', async () => {
    const secret = 'whsec_' + Buffer.from('non-finite-signing-secret').toString('base64');
    const hook = await new FakeWebhookServer(secret).start();
    const app = pgUrl ? await freshDatabase(pgUrl) : undefined;
    const p = await CliProject.create(wh, {
      'audsync.config.ts': `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: {
    jsonl: { type: 'file', path: 'out/values.jsonl' },
    csv: { type: 'file', path: 'out/values.csv', format: 'csv' },
    hook: { type: 'webhook', url: '${hook.url}', secret: env('HOOK_SECRET') },
    ${app ? `app: { type: 'postgres_table', connectionString: env('APP_DB_URL') },` : ''}
  },
  syncs: {
    to_jsonl: { model: 'values', destination: 'jsonl', key: 'k', fields: { dbl: 'dbl', txt: 'txt' } },
    to_csv: { model: 'values', destination: 'csv', key: 'k', fields: { dbl: 'dbl', txt: 'txt' } },
    to_hook: { model: 'values', destination: 'hook', key: 'k', fields: { dbl: 'dbl', txt: 'txt' } },
    ${app ? `to_app: { model: 'values', destination: 'app', key: 'k', fields: { dbl: 'dbl', txt: 'txt' }, target: { table: 'public.vals' } },` : ''}
  },
});
`,
      'models/values.sql': `select * from {{source 'src' 'vals'}}\n`,
    });
    const env = { HOOK_SECRET: secret, ...(app ? { APP_DB_URL: app.url } : {}) };
    try {
      await p.exec(
        'CREATE SCHEMA src',
        'CREATE TABLE src.vals (k INTEGER, dbl DOUBLE PRECISION, txt VARCHAR)',
        `INSERT INTO src.vals VALUES (1, CAST('NaN' AS DOUBLE PRECISION), 'NaN'), (2, CAST('Infinity' AS DOUBLE PRECISION), 'x'), (3, CAST('-Infinity' AS DOUBLE PRECISION), 'y'), (4, 2.5, 'Infinity')`,
      );
      if (app) {
        const c = new pg.Client({ connectionString: app.url });
        await c.connect();
        await c.query('CREATE TABLE public.vals (k text PRIMARY KEY, dbl double precision, txt text)');
        await c.end();
      }
      const r = await p.cli(['run', '--json'], env);
      for (const sync of ['to_jsonl', 'to_csv', 'to_hook', ...(app ? ['to_app'] : [])]) {
        expect(finished(r, sync), `${sync}: ${r.stdout}${r.stderr}`).toMatchObject({ status: 'success', counts: { succeeded_add: 4 } });
      }
      const expected = { '1': { dbl: 'NaN', txt: 'NaN' }, '2': { dbl: 'Infinity', txt: 'x' }, '3': { dbl: '-Infinity', txt: 'y' }, '4': { dbl: 2.5, txt: 'Infinity' } };
      const lines = fs.readFileSync(path.join(p.dir, 'out/values.jsonl'), 'utf8').trim().split('\n');
      expect(Object.fromEntries(lines.map((l) => JSON.parse(l) as { key: string; fields: unknown }).map((l) => [l.key, l.fields]))).toEqual(expected);
      expect(Object.fromEntries(hook.audience)).toEqual(expected);
      const csv = fs.readFileSync(path.join(p.dir, 'out/values.csv'), 'utf8').trim().split('\n').slice(1).sort();
      expect(csv).toEqual(['add,1,NaN,NaN', 'add,2,Infinity,x', 'add,3,-Infinity,y', 'add,4,2.5,Infinity']);
      if (app) {
        const c = new pg.Client({ connectionString: app.url });
        await c.connect();
        const rows = (await c.query('SELECT k, dbl::text AS dbl, txt FROM public.vals ORDER BY k')).rows;
        await c.end();
        expect(rows).toEqual([
          { k: '1', dbl: 'NaN', txt: 'NaN' },
          { k: '2', dbl: 'Infinity', txt: 'x' },
          { k: '3', dbl: '-Infinity', txt: 'y' },
          { k: '4', dbl: '2.5', txt: 'Infinity' },
        ]);
      }
      const again = await p.cli(['run', '--json'], env);
      expect(finished(again, 'to_hook').counts).toMatchObject({ planned_add: 0, planned_change: 0, planned_remove: 0 });
    } finally {
      await hook.stop();
      await app?.drop();
      await p.cleanUp();
    }
  });
});

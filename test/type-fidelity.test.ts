import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { availableWarehouses } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';

const warehouses = await availableWarehouses();

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

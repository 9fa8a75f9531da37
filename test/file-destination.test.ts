import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { availableWarehouses } from './support/warehouses.js';
import { CliProject, finished } from './support/cli-project.js';

const warehouses = await availableWarehouses();

const config = (format: string) => `import { defineConfig } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: { out: { type: 'file', path: 'exports/people.${format}', batchSize: 2 } },
  syncs: { people: { model: 'people', destination: 'out', key: 'id', fields: { name: 'name', balance: 'balance', vip: 'vip', note: 'note' } } },
});
`;

describe.each(warehouses)('file destination on $name', (wh) => {
  let p: CliProject;
  afterEach(async () => p?.cleanUp());

  const setUp = async (format: string) => {
    p = await CliProject.create(wh, { 'audsync.config.ts': config(format), 'models/people.sql': 'select id, name, balance, vip, note from {{source "src" "people"}}\n' });
    await p.exec(
      'CREATE SCHEMA src',
      'CREATE TABLE src.people (id BIGINT, name VARCHAR, balance DECIMAL(12, 2), vip BOOLEAN, note VARCHAR)',
      `INSERT INTO src.people VALUES (9007199254740993, 'Zoë "Z" O''Neil', 1234.50, TRUE, 'line one
line two, with comma 🎉'), (2, 'Bob', NULL, FALSE, NULL), (3, 'Cy', 0.10, NULL, '')`,
    );
  };

  it('appends JSONL lines with exact values, big integer keys intact', async () => {
    await setUp('jsonl');
    const r = await p.cli(['run', '--json']);
    expect(finished(r, 'people').status).toBe('success');
    const lines = fs.readFileSync(path.join(p.dir, 'exports/people.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const byKey = new Map(lines.map((l) => [l.key, l]));
    expect(byKey.get('9007199254740993')).toEqual({ op: 'add', key: '9007199254740993', fields: { name: 'Zoë "Z" O\'Neil', balance: 1234.5, vip: true, note: 'line one\nline two, with comma 🎉' } });
    expect(byKey.get('2')).toEqual({ op: 'add', key: '2', fields: { name: 'Bob', balance: null, vip: false, note: null } });
    await p.exec('DELETE FROM src.people WHERE id = 2');
    await p.cli(['run', '--json', '--force']);
    const after = fs.readFileSync(path.join(p.dir, 'exports/people.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(after[after.length - 1]!)).toEqual({ op: 'remove', key: '2', fields: { name: 'Bob', balance: null, vip: false, note: null } });
  });

  it('writes CSV with a header once and quoted cells', async () => {
    await setUp('csv');
    expect((await p.cli(['run', '--json'])).code).toBe(0);
    await p.exec(`UPDATE src.people SET name = 'Cyrus' WHERE id = 3`);
    expect((await p.cli(['run', '--json'])).code).toBe(0);
    const text = fs.readFileSync(path.join(p.dir, 'exports/people.csv'), 'utf8');
    expect(text.startsWith('op,key,name,balance,vip,note\n')).toBe(true);
    expect(text.match(/^op,key/gm)).toHaveLength(1);
    expect(text).toContain('add,9007199254740993,"Zoë ""Z"" O\'Neil",1234.5,true,"line one\nline two, with comma 🎉"\n');
    expect(text.endsWith('change,3,Cyrus,0.1,,\n')).toBe(true);
  });

  // File handling only: the same on every warehouse.
  it.runIf(wh.name === 'duckdb')('a partial last record left by a killed run is cut off before appending (JSONL and CSV, also inside a quoted line break)', async () => {
    for (const [format, torn] of [
      ['jsonl', '{"op":"add","key":"77","fields":{"name":"Tor'],
      ['csv', 'add,77,"Torn, half\nwritten'],
    ] as const) {
      await setUp(format);
      expect((await p.cli(['run', '--json'])).code).toBe(0);
      const file = path.join(p.dir, `exports/people.${format}`);
      const committed = fs.readFileSync(file, 'utf8');
      // What kill -9 in the middle of an append leaves behind.
      fs.appendFileSync(file, torn);
      await p.exec(`UPDATE src.people SET name = 'Cyrus' WHERE id = 3`);
      const r = await p.cli(['run', '--json']);
      expect(finished(r, 'people').status, format).toBe('success');
      const text = fs.readFileSync(file, 'utf8');
      expect(text.startsWith(committed), format).toBe(true);
      expect(text, format).not.toContain('Tor');
      const added = text.slice(committed.length);
      if (format === 'csv') expect(added).toBe('change,3,Cyrus,0.1,,\n');
      else expect(added.trim().split('\n').map((l) => JSON.parse(l) as { op: string; key: string; fields: { name: string } })).toEqual([expect.objectContaining({ op: 'change', key: '3', fields: expect.objectContaining({ name: 'Cyrus' }) })]);
      const [metric] = await p.query(`SELECT value FROM audsync.sync_run_metrics WHERE metric = 'file.torn_bytes_removed'`);
      expect(Number(metric?.value)).toBe(Buffer.byteLength(torn));
      await p.cleanUp();
    }
    await setUp('jsonl');
  });

  // File handling only: the same on every warehouse.
  it.runIf(wh.name === 'duckdb')('a CSV whose header no longer matches the fields is refused, never written under the wrong columns', async () => {
    await setUp('csv');
    expect((await p.cli(['run', '--json'])).code).toBe(0);
    const file = path.join(p.dir, 'exports/people.csv');
    const before = fs.readFileSync(file, 'utf8');
    p.write({ 'audsync.config.ts': config('csv').replace("fields: { name: 'name', balance: 'balance', vip: 'vip', note: 'note' }", "fields: { note: 'note', name: 'name' }") });
    const r = await p.cli(['run', '--json']);
    expect(r.code).toBe(1);
    const f = finished(r, 'people');
    expect(f.status).toBe('failed');
    expect(f.error).toMatch(/the file's header is not op,key,note,name: the sync's fields changed/);
    expect(f.hint).toMatch(/Move exports\/people\.csv aside/);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    // Moved aside: the next run writes a new file with the new header.
    fs.renameSync(file, `${file}.old`);
    expect((await p.cli(['run', '--json'])).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8').startsWith('op,key,note,name\n')).toBe(true);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO } from './support/cli-project.js';
import { availableWarehouses } from './support/warehouses.js';
import { FakeWebhookServer } from './fakes/webhook-server.js';
import { createFixture, HOOK_ENV, HOOK_SECRET } from './support/audience-fixture.js';
import type { CliProject } from './support/cli-project.js';

/** Every text file of the repository that ships or documents it (not dependencies, builds or bench data). */
function repoFiles(exts: readonly string[]): string[] {
  const skip = new Set(['node_modules', 'dist', '.git', '.data', 'target']);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (skip.has(e.name)) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (exts.some((x) => e.name.endsWith(x))) out.push(full);
    }
  };
  walk(REPO);
  return out;
}

const markdown = repoFiles(['.md']);

describe('the documentation', () => {
  it('has the pages the package promises, and ships them', () => {
    for (const page of ['docs/deploying.md', 'docs/troubleshooting.md', 'docs/json-events.md', 'destinations/webhook/README.md', 'destinations/file/README.md']) {
      expect(fs.existsSync(path.join(REPO, page)), page).toBe(true);
    }
    const files = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { files: string[] }).files;
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs', 'destinations/*/README.md']));
    // Every destination folder has its page.
    for (const d of fs.readdirSync(path.join(REPO, 'destinations'), { withFileTypes: true })) {
      if (d.isDirectory()) expect(fs.existsSync(path.join(REPO, 'destinations', d.name, 'README.md')), d.name).toBe(true);
    }
  });

  it('links only to files inside the repository that exist', () => {
    const broken: string[] = [];
    for (const file of markdown) {
      const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (/^(https?:|mailto:|#)/.test(target)) continue;
        const resolved = path.resolve(path.dirname(file), decodeURIComponent(target.split('#')[0]!));
        if (!resolved.startsWith(REPO + path.sep) || !fs.existsSync(resolved)) broken.push(`${path.relative(REPO, file)} -> ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('never points outside the repository, in pages or in code comments that ship in dist/*.d.ts', () => {
    const outside = repoFiles(['.md', '.ts', '.mjs', '.json'])
      .filter((f) => !f.endsWith('docs.test.ts'))
      .filter((f) => /(\.\.\/)+shared\/|\/work\/shared/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(REPO, f));
    expect(outside).toEqual([]);
  });
});

const warehouses = await availableWarehouses();

describe.each(warehouses)('the troubleshooting SQL on $name', (wh) => {
  let hook: FakeWebhookServer;
  let p: CliProject;
  beforeEach(async () => {
    hook = await new FakeWebhookServer(HOOK_SECRET).start();
  });
  afterEach(async () => {
    await hook.stop();
    await p?.cleanUp();
  });

  it('runs as written, and finds the rejected and quarantined rows', async () => {
    p = await createFixture(wh, hook, 10);
    hook.knobs.rejectKeys.set('4', 'email is malformed');
    // The first run delivers 9 of 10 (warning); the next two plan only the refused row (failed: nothing delivered).
    for (let i = 0; i < 3; i++) expect((await p.cli(['run', '--json'], HOOK_ENV)).code).toBe(i === 0 ? 0 : 1);
    const page = fs.readFileSync(path.join(REPO, 'docs', 'troubleshooting.md'), 'utf8');
    const blocks = [...page.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/'vip_to_crm'/g, "'active_to_hook'").trim().replace(/;$/, ''));
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    if (wh.name === 'postgres') blocks.unshift("SET TIME ZONE 'UTC'");
    const results = [];
    for (const sql of blocks) results.push(await p.query(sql));
    const [lastRun, , quarantined] = wh.name === 'postgres' ? results.slice(1) : results;
    expect(lastRun).toEqual([expect.objectContaining({ status: 'rejected', error_message: 'email is malformed', example_key: '4' })]);
    expect(quarantined).toEqual([expect.objectContaining({ sync_name: 'active_to_hook', record_key: '4', error_message: 'email is malformed' })]);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestWarehouse } from './warehouses.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(REPO, 'dist', 'cli', 'bin.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON lines. */
  events: Array<Record<string, unknown>>;
}

/** A fixture project in a temp dir: files from an inline map, run by the built CLI. */
export class CliProject {
  private constructor(
    readonly dir: string,
    readonly warehouse: TestWarehouse,
  ) {}

  /**
   * Writes `files` into a fresh temp dir. In audsync.config.ts, `__WAREHOUSE__`
   * is replaced by the warehouse's config literal.
   */
  static async create(warehouse: TestWarehouse, files: Record<string, string>): Promise<CliProject> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audsync-test-'));
    const p = new CliProject(dir, warehouse);
    await warehouse.setUp(dir);
    p.write(files);
    return p;
  }

  write(files: Record<string, string>): void {
    for (const [rel, text] of Object.entries(files)) {
      const file = path.join(this.dir, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text.replace('__WAREHOUSE__', this.warehouse.configLiteral(this.dir)));
    }
  }

  /** Runs SQL in the warehouse as a user would (seeding sources); the CLI must not be running on DuckDB. */
  exec(...sql: string[]): Promise<void> {
    return this.warehouse.exec(this.dir, sql);
  }

  query(sql: string): Promise<Array<Record<string, unknown>>> {
    return this.warehouse.query(this.dir, sql);
  }

  async count(sql: string): Promise<number> {
    const rows = await this.query(sql);
    return Number(Object.values(rows[0] ?? {})[0] ?? 0);
  }

  /** Starts the CLI without waiting (for kill tests). */
  spawn(args: string[], env: Record<string, string> = {}): ChildProcess {
    return spawn(process.execPath, [BIN, ...args], { cwd: this.dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async cli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
    const child = this.spawn(args, env);
    return collect(child, timeoutMs);
  }

  async cleanUp(): Promise<void> {
    await this.warehouse.tearDown(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function collect(child: ChildProcess, timeoutMs = 60_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not finish in ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const events = stdout
        .split('\n')
        .filter((l) => l.trim().startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, stdout, stderr, events });
    });
  });
}

/** The sync_finished event of a sync. */
export function finished(r: CliResult, sync: string): Record<string, unknown> & { status: string; counts: Record<string, number>; error: string | null } {
  const e = r.events.find((x) => x.event === 'sync_finished' && x.sync === sync);
  if (!e) throw new Error(`no sync_finished event for ${sync}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return e as never;
}

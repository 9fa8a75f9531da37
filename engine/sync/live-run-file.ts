import fs from 'node:fs';
import path from 'node:path';
import type { HealthRow } from './health-row.js';
import type { Reporter, RunEvent } from './run-events.js';

/**
 * `target/run_status.json`: what a run is doing, kept up to date while it runs.
 * Embedded DuckDB lets one process open the database file, so `audsync status`
 * cannot read the state tables during a run; it reads this file instead. Written
 * atomically (a reader never sees half a file) and at most once a second for
 * progress, at once when a sync starts or finishes.
 */
export const LIVE_RUN_FILE = path.join('target', 'run_status.json');

export interface LiveSync {
  state: 'queued' | 'running' | 'finished' | 'skipped';
  status: string | null;
  error: string | null;
  done: number;
  planned: number;
}

export interface LiveRun {
  run_id: string;
  pid: number;
  command: 'run' | 'plan';
  started_at: string;
  updated_at: string;
  finished_at: string | null;
  /** sync_health as it was when the run started: what `status` shows for syncs this run has not finished. */
  health: HealthRow[];
  syncs: Record<string, LiveSync>;
}

export interface LiveRunWriter {
  /** Wraps a reporter: every event it passes on also moves the file. */
  readonly report: Reporter;
  start(health: HealthRow[], syncs: readonly string[]): void;
  finish(): void;
}

export function liveRunWriter(projectDir: string, runId: string, command: 'run' | 'plan', inner: Reporter, now: () => Date = () => new Date()): LiveRunWriter {
  const file = path.join(projectDir, LIVE_RUN_FILE);
  const doc: LiveRun = { run_id: runId, pid: process.pid, command, started_at: now().toISOString(), updated_at: '', finished_at: null, health: [], syncs: {} };
  let lastWrite = 0;
  let broken = false;
  const write = (force: boolean): void => {
    const t = now();
    if (broken || (!force && t.getTime() - lastWrite < 1000)) return;
    lastWrite = t.getTime();
    doc.updated_at = t.toISOString();
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify(doc)}\n`);
      fs.renameSync(tmp, file);
    } catch (e) {
      // A status file that cannot be written must never stop a run; say so once.
      broken = true;
      inner({ event: 'warning', sync: '*', message: `could not write ${LIVE_RUN_FILE}: ${(e as Error).message}` });
    }
  };
  const sync = (name: string): LiveSync => (doc.syncs[name] ??= { state: 'queued', status: null, error: null, done: 0, planned: 0 });
  const observe = (e: RunEvent): void => {
    switch (e.event) {
      case 'sync_started':
        sync(e.sync).state = 'running';
        return write(true);
      case 'planned': {
        const s = sync(e.sync);
        s.planned = e.add + e.change + e.remove;
        return write(true);
      }
      case 'progress': {
        const s = sync(e.sync);
        s.done = e.progress.done;
        s.planned = e.progress.planned;
        return write(false);
      }
      case 'sync_finished':
        Object.assign(sync(e.sync), { state: 'finished', status: e.status, error: e.error });
        return write(true);
      case 'skipped':
        if (doc.syncs[e.sync]) Object.assign(sync(e.sync), { state: 'skipped', error: e.reason });
        return write(true);
      default:
        return;
    }
  };
  return {
    report(e) {
      inner(e);
      observe(e);
    },
    start(health, syncs) {
      doc.health = health;
      for (const s of syncs) sync(s);
      write(true);
    },
    finish() {
      doc.finished_at = now().toISOString();
      write(true);
    },
  };
}

/** The run in progress in this project, if its file says one is and its process is alive. */
export function readLiveRun(projectDir: string): LiveRun | undefined {
  let doc: LiveRun;
  try {
    doc = JSON.parse(fs.readFileSync(path.join(projectDir, LIVE_RUN_FILE), 'utf8')) as LiveRun;
  } catch {
    return undefined;
  }
  if (doc.finished_at !== null || !Number.isInteger(doc.pid) || !processAlive(doc.pid)) return undefined;
  return doc;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, it is just not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { VERSION } from '../version.js';
import type { Reporter } from './run-events.js';
import type { SyncOutcome } from './sync-run.js';

export const RUN_RESULTS_FILE = path.join('target', 'run_results.json');

export interface RunResultsInput {
  readonly runId: string;
  readonly startedAt: Date;
  readonly args: Readonly<Record<string, string | boolean | null>>;
  readonly outcomes: readonly SyncOutcome[];
  readonly report: Reporter;
}

/**
 * `target/run_results.json`, after dbt's artifact of the same name: one result
 * per selected sync (status, counts, timing, error, hint), for orchestrators
 * that read a file rather than the JSON event stream. Written atomically, so a
 * reader never sees half a file; a file that cannot be written is a warning,
 * never a change of the run's outcome.
 */
export function writeRunResults(projectDir: string, r: RunResultsInput): void {
  const finishedAt = new Date();
  const doc = {
    metadata: { generated_at: finishedAt.toISOString(), invocation_id: r.runId, audsync_version: VERSION },
    args: { command: 'run', ...r.args },
    elapsed_time: (finishedAt.getTime() - r.startedAt.getTime()) / 1000,
    results: r.outcomes.map((o) => ({
      unique_id: `sync.${o.sync}`,
      sync: o.sync,
      status: o.status,
      run_id: o.runId ?? null,
      counts: o.counts ?? null,
      duration_ms: o.durationMs ?? null,
      error: o.error ?? null,
      hint: o.hint ?? null,
    })),
  };
  const file = path.join(projectDir, RUN_RESULTS_FILE);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`);
    fs.renameSync(tmp, file);
  } catch (e) {
    r.report({ event: 'warning', sync: '*', message: `could not write ${RUN_RESULTS_FILE}: ${(e as Error).message}` });
  }
}

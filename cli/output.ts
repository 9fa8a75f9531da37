import type { RunEvent } from '../engine/sync/run-events.js';
import type { Progress } from '../engine/run/batch-runner.js';

/** Where command events go: JSON lines for machines, short text and a live progress line for people. */
export interface Output {
  readonly json: boolean;
  event(e: RunEvent): void;
  line(obj: Record<string, unknown>, text: string): void;
  close(): void;
}

export function createOutput(json: boolean): Output {
  return json ? jsonOutput() : ttyOutput();
}

function jsonOutput(): Output {
  let lastProgress = 0;
  const write = (obj: unknown): void => void process.stdout.write(`${JSON.stringify(obj)}\n`);
  return {
    json: true,
    event(e) {
      // Progress as JSON at most every 2 s, so logs stay readable on long runs.
      if (e.event === 'progress') {
        const now = Date.now();
        if (now - lastProgress < 2000 && e.progress.done < e.progress.planned) return;
        lastProgress = now;
      }
      write(e);
      // stdout carries machine events; a person reading the orchestrator's log still sees why a sync failed.
      if (e.event === 'sync_finished' && (e.status === 'failed' || e.status === 'aborted') && e.error) {
        process.stderr.write(`error: ${e.sync}: ${e.error}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      }
    },
    line(obj) {
      write(obj);
    },
    close() {},
  };
}

function ttyOutput(): Output {
  let progressShown = false;
  let lastDraw = 0;
  const clearProgress = (): void => {
    if (progressShown) process.stderr.write('\r\x1b[2K');
    progressShown = false;
  };
  const say = (text: string): void => {
    clearProgress();
    process.stdout.write(`${text}\n`);
  };
  return {
    json: false,
    event(e) {
      switch (e.event) {
        case 'compiled':
          say(`compiled ${e.model} -> ${e.file}`);
          break;
        case 'sync_started':
          say(`${e.sync}: run ${e.run_id} -> ${e.destination} (${e.mode}${e.full_refresh ? ', full refresh' : ''})`);
          break;
        case 'planned':
          say(
            `${e.sync}: ${fmt(e.members)} members${e.invalid ? ` (${invalidText(e.invalid_reasons)}: not sent)` : ''}, snapshot ${fmt(e.snapshot)}; ` +
              `plan +${fmt(e.add)} ~${fmt(e.change)} -${fmt(e.remove)}${e.quarantined ? ` (${fmt(e.quarantined)} quarantined rows held back)` : ''}${e.guardrail ? `\n  guardrail: ${e.guardrail}` : ''}`,
          );
          break;
        case 'progress': {
          const now = Date.now();
          if (now - lastDraw < 100 && e.progress.done < e.progress.planned) return;
          lastDraw = now;
          process.stderr.write(`\r\x1b[2K${e.sync}: ${progressText(e.progress)}`);
          progressShown = true;
          break;
        }
        case 'retry':
          say(`${e.sync}: batch ${e.batch_id} attempt ${e.attempt} failed (${e.reason}); retrying in ${(e.delay_ms / 1000).toFixed(1)}s`);
          break;
        case 'sync_finished': {
          const c = e.counts;
          const sent = `sent +${fmt(c.succeeded_add)} ~${fmt(c.succeeded_change)} -${fmt(c.succeeded_remove)}`;
          const bad = c.rejected || c.failed ? `, ${fmt(c.rejected)} rejected, ${fmt(c.failed)} failed` : '';
          say(`${e.sync}: ${e.status.toUpperCase()} in ${(e.duration_ms / 1000).toFixed(1)}s: ${sent}${bad}${e.error ? `\n  ${e.error}` : ''}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
          break;
        }
        case 'skipped':
          say(`${e.sync}: skipped, ${e.reason}`);
          break;
        case 'jobs_refreshed':
          say(`${e.sync}: ${e.changed} pending destination job(s) finished since the last run`);
          break;
        case 'warning':
          say(`${e.sync}: warning: ${e.message}`);
          break;
        case 'alert_sent':
          if (e.delivered) say(`${e.sync}: alert "${e.trigger}" sent to ${e.channel}`);
          break;
      }
    },
    line(_obj, text) {
      say(text);
    },
    close() {
      clearProgress();
    },
  };
}

function invalidText(reasons: Readonly<Record<string, number>>): string {
  return Object.entries(reasons)
    .map(([reason, n]) => `${fmt(n)} ${reason}`)
    .join(', ');
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/** "12,000/30,000 rows  4,100 rows/s  ETA 4s" */
export function progressText(p: Progress): string {
  const secs = (Date.now() - p.startedAt) / 1000;
  const rate = secs > 0 ? p.done / secs : 0;
  const left = rate > 0 ? Math.ceil((p.planned - p.done) / rate) : undefined;
  return `${fmt(p.done)}/${fmt(p.planned)} rows  ${fmt(Math.round(rate))} rows/s  ETA ${left === undefined ? '?' : `${left}s`}`;
}

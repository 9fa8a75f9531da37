import type { ForgetResult } from '../engine/commands/forget-commands.js';
import type { ForgetReport } from '../engine/sync/sync-forget.js';

type Line = [Record<string, unknown>, string];

function describe(r: ForgetReport): string {
  const tables = r.tables.map((t) => `${t.relation} (${t.rows.toLocaleString('en-US')} rows)`);
  const rows = Object.entries(r.rows)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => `${n.toLocaleString('en-US')} row(s) of ${table}`);
  const all = [...tables, ...rows];
  return `${r.sync}: ${all.length === 0 ? 'no state' : all.join(', ')}`;
}

/** The confirmation question: every table and row count that would go. */
export function forgetQuestion(command: 'reset' | 'prune', planned: readonly ForgetReport[]): string {
  const what = planned.map((r) => `  ${describe(r)}`).join('\n');
  return command === 'reset'
    ? `This forgets what the destination was acknowledged to hold; the next run re-sends every member as a first load:\n${what}\nReset?`
    : `This removes all state and history of syncs no longer in the config:\n${what}\nPrune?`;
}

export function forgetLines(command: string, r: ForgetResult): Line[] {
  if (r.reports.length === 0) return [[{ event: 'forgot', command, applied: false, syncs: [] }, `${command}: nothing to do (no orphaned syncs)`]];
  const verb = r.applied ? 'dropped' : command.endsWith('--dry-run') ? 'would drop' : 'kept (not confirmed)';
  return r.reports.map((x) => [
    { event: 'forgot', command, applied: r.applied, sync: x.sync, tables: x.tables, rows: x.rows },
    `${command}: ${verb} ${describe(x)}`,
  ]);
}

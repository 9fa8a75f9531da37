import type { StatusResult } from '../engine/commands/status-command.js';
import type { SyncStatusRow } from '../engine/sync/sync-health.js';
import type { Row } from '../engine/warehouse/connection.js';

/** One output line: the JSON object for machines and the text for people. */
export type StatusLine = [Record<string, unknown>, string];

/** What `audsync status` prints: live run, one block per sync, history, and a verdict. */
export function statusLines(result: StatusResult, exitCode: number): StatusLine[] {
  const lines: StatusLine[] = [];
  if (result.live) {
    const l = result.live;
    lines.push([
      { event: 'run_in_progress', run_id: l.run_id, pid: l.pid, command: l.command, started_at: l.started_at, updated_at: l.updated_at, syncs: l.syncs },
      `a ${l.command} is in progress (run ${l.run_id}, PID ${l.pid}, since ${l.started_at}); the database is locked, so this is from its status file (updated ${l.updated_at})`,
    ]);
  }
  for (const s of result.syncs) lines.push([{ event: 'sync_status', ...s }, syncText(s)]);
  if (result.history.length > 0) lines.push(...historyLines(result.history));
  const problems = result.syncs.filter((s) => !s.healthy).map((s) => ({ sync: s.sync_name, problem: s.problem }));
  const orphans = result.syncs.filter((s) => s.state === 'orphaned').map((s) => s.sync_name);
  lines.push([
    { event: 'status_checked', healthy: result.healthy, exit_code: exitCode, syncs: result.syncs.length, problems, orphaned: orphans },
    [
      result.syncs.length === 0 ? 'no syncs' : result.healthy ? `healthy: ${result.syncs.length} sync(s)` : `UNHEALTHY: ${problems.map((p) => `${p.sync} (${p.problem})`).join('; ')}`,
      orphans.length > 0 ? `orphaned state (not in the config): ${orphans.join(', ')}; \`audsync prune\` removes it` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  ]);
  return lines;
}

function syncText(s: SyncStatusRow): string {
  const label = s.state === 'paused' ? 'PAUSED' : s.state === 'orphaned' ? 'ORPHANED' : s.last_status.toUpperCase();
  const head = `${s.sync_name.padEnd(28)} ${label.padEnd(9)} ${s.model ?? '?'} -> ${s.destination ?? '?'}`;
  const members = s.members !== null ? s.members.toLocaleString('en-US') : s.last_run_id === null ? '-' : 'unknown';
  const facts = [
    `last run ${s.last_run_at ?? 'never'}`,
    `last success ${s.last_success_at ?? 'never'}`,
    `members ${members}`,
    `pending retries ${s.pending_retries ?? 0}`,
    `quarantined ${s.quarantined}`,
    ...(s.pending_jobs > 0 ? [`pending jobs ${s.pending_jobs}`] : []),
    ...(s.schedule ? [s.due_now ? `due now (since ${s.next_due_at})` : `next due ${s.next_due_at ?? 'never'}`] : []),
  ];
  const more = [
    s.progress ? `  sending: ${s.progress.done.toLocaleString('en-US')}/${s.progress.planned.toLocaleString('en-US')} rows` : '',
    s.paused_reason ? `  paused: ${s.paused_reason}` : '',
    s.state === 'orphaned' ? '  not in the config any more: `audsync prune` removes its state' : '',
    s.last_error ? `  error: ${s.last_error}` : '',
    s.problem && !s.last_error ? `  problem: ${s.problem}` : '',
  ].filter(Boolean);
  return [head, `  ${facts.join('  ')}`, ...more].join('\n');
}

function historyLines(rows: readonly Row[]): StatusLine[] {
  const n = (v: unknown): string => (v === null || v === undefined ? '-' : Number(v).toLocaleString('en-US'));
  return rows.map((r) => [
    { event: 'sync_run', ...r },
    `${String(r.sync_name).padEnd(28)} ${String(r.started_at)}  ${String(r.status).padEnd(8)} members ${n(r.members)}  +${n(r.succeeded_add)}/${n(r.planned_add)} ~${n(r.succeeded_change)}/${n(r.planned_change)} -${n(r.succeeded_remove)}/${n(r.planned_remove)}  rejected ${n(r.rejected)} failed ${n(r.failed)}${r.full_refresh ? '  (full refresh)' : ''}${r.error ? `\n    ${String(r.error)}` : ''}`,
  ]);
}

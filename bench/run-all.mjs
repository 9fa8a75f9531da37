// Runs every benchmark, one after the other, each in its own Node process (so
// memory, DuckDB files and timings do not mix), then prints a summary table.
// Exits 1 when a benchmark missed its target or failed to run.
//   npm run bench                      (builds first)
//   node bench/run-all.mjs [name ...]  (only the named benchmarks, e.g. incremental-duckdb)
//   BENCH_ROWS=200000 node bench/run-all.mjs   (every benchmark scaled down, for a quick check)
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR, checkBuilt, machine, table } from './lib.mjs';

const ALL = ['incremental-duckdb', 'initial-load-duckdb', 'no-change-duckdb', 'stream-throughput'];
const selected = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
for (const name of selected) {
  if (!ALL.includes(name)) {
    console.error(`run-all: unknown benchmark "${name}"; known: ${ALL.join(', ')}`);
    process.exit(2);
  }
}
checkBuilt();

function runOne(name) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let result;
    let buf = '';
    const child = spawn(process.execPath, [path.join(BENCH_DIR, `${name}.mjs`)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('BENCH_RESULT ')) {
          try {
            result = JSON.parse(line.slice('BENCH_RESULT '.length));
          } catch {
            /* malformed */
          }
        } else {
          console.log(line);
        }
      }
    });
    child.on('close', (code) => resolve({ name, code, result, seconds: (performance.now() - t0) / 1000 }));
  });
}

const m = machine();
console.log(`audsync benchmarks: ${selected.join(', ')}`);
console.log(`machine: ${m.nproc} CPUs (${m.cpu}), ${m.memory} RAM, node ${m.node}, @duckdb/node-api ${m.duckdb_node_api}, ${m.platform}, ${m.date}\n`);
const outcomes = [];
for (const name of selected) {
  console.log(`\n=== ${name} ===`);
  outcomes.push(await runOne(name));
}

const fmt = (r) => {
  if (!r) return 'n/a';
  const v = r.value;
  if (r.unit === 'x') return `${v.toFixed(2)}x`;
  if (r.unit === 'ms') return `${Math.round(v)} ms`;
  if (r.unit === 'rows/s') return `${Math.round(v).toLocaleString('en-US')} rows/s`;
  if (r.unit === 'share') return `${(v * 100).toFixed(0)}%`;
  return String(v);
};
const detail = (r) => {
  if (!r) return '';
  const f = r.figures ?? {};
  switch (r.name) {
    case 'incremental-duckdb':
      return `audsync ${Math.round(f.audsync_ms)} ms vs floor ${Math.round(f.floor_ms)} ms; lean floor ${Math.round(f.lean_floor_ms)} ms: ${(f.lean_ratio ?? NaN).toFixed(2)}x (target <= ${f.lean_target}x: ${f.lean_pass ? 'PASS' : 'FAIL'}); sql ${Math.round(f.sql_ms)} ms, node ${Math.round(f.node_ms)} ms`;
    case 'initial-load-duckdb':
      return `${(f.members ?? 0).toLocaleString('en-US')} members: audsync ${Math.round(f.audsync_ms)} ms vs floor ${Math.round(f.floor_ms)} ms; peak RSS ${Math.round((f.rss_peak_bytes ?? 0) / 1024 / 1024)} MiB`;
    case 'no-change-duckdb': {
      return `${(f.members ?? 0).toLocaleString('en-US')} members; peak RSS ${Math.round((f.rss_peak_bytes ?? 0) / 1024 / 1024)} MiB (target <= ${f.rss_target_mib} MiB: ${f.rss_pass ? 'PASS' : 'FAIL'})`;
    }
    case 'stream-throughput':
      return `no-op destination ${Math.round(f.audsync_noop?.rows_per_s ?? 0).toLocaleString('en-US')} rows/s vs read floor ${Math.round(f.read_floor?.rows_per_s ?? 0).toLocaleString('en-US')} rows/s; DuckDB COPY ${Math.round(f.duckdb_copy?.rows_per_s ?? 0).toLocaleString('en-US')} rows/s (${(f.copy_over_audsync ?? NaN).toFixed(1)}x audsync)`;
    default:
      return '';
  }
};

console.log('\n=== summary ===');
table([
  ['benchmark', 'figure', 'target', 'result', 'details', 'time'],
  ...outcomes.map((o) => [
    o.name,
    fmt(o.result),
    o.result?.target ?? 'none',
    (!o.result ? `ERROR (exit ${o.code})` : o.result.pass === null ? '-' : o.result.pass ? 'PASS' : 'FAIL') + (o.result?.noisy ? ' (noisy)' : ''),
    detail(o.result),
    `${o.seconds.toFixed(0)} s`,
  ]),
]);
const failed = outcomes.filter((o) => !o.result || o.result.pass === false);
if (failed.length) {
  console.log(`\n${failed.length} benchmark(s) missed the target or failed: ${failed.map((o) => o.name).join(', ')}`);
  process.exit(1);
}

// Shared helpers for the benchmarks: scratch folders, throwaway audsync
// projects, DuckDB access, timing the CLI as a child process, and reporting.
// Plain Node ESM, no dependencies beyond the package's own.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, '..');
/** The CLI the benchmarks run: dist/, or the snapshot of it taken by useDistSnapshot(). */
export let CLI = path.join(ROOT, 'dist', 'cli', 'bin.js');
export let DIST = path.join(ROOT, 'dist');
/** Generated data lives here (git-ignored) and is deleted at the end of each benchmark. */
export const DATA_ROOT = path.join(BENCH_DIR, '.data');
export const PROBE = path.join(BENCH_DIR, 'probe.mjs');
export const SQL_WORKER = path.join(BENCH_DIR, 'sql-worker.mjs');
export const READ_FLOOR_WORKER = path.join(BENCH_DIR, 'read-floor-worker.mjs');

/**
 * A benchmark's row count: its own variable (e.g. BENCH_INCR_ROWS), else
 * BENCH_ROWS (scales every benchmark down at once, for a quick check), else the default.
 */
export function benchRows(own, fallback) {
  const raw = process.env[own] ?? process.env.BENCH_ROWS;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench: ${process.env[own] !== undefined ? own : 'BENCH_ROWS'}=${raw} is not a positive whole number of rows`);
    process.exit(2);
  }
  return n;
}

const requireFromRoot = createRequire(path.join(ROOT, 'package.json'));

/** The same @duckdb/node-api the engine uses, loaded with require() as the engine does. */
export function duckdb() {
  return requireFromRoot('@duckdb/node-api');
}

export function checkBuilt() {
  if (!fs.existsSync(CLI)) {
    console.error(`bench: ${path.relative(ROOT, CLI)} is missing; run \`npm run build\` first (or \`npm run bench\`).`);
    process.exit(2);
  }
  useDistSnapshot();
}

/**
 * Copies dist/engine and dist/destinations (the .js files) under bench/.data, so
 * every run of one benchmark uses the same build even if dist/ is rebuilt
 * meanwhile. The copy still resolves node_modules, package.json and macros/ of
 * the repository (it lives inside it). BENCH_LIVE_DIST=1 runs dist/ in place.
 */
function useDistSnapshot() {
  if (process.env.BENCH_LIVE_DIST === '1') return;
  const snap = scratchDir('dist-snapshot');
  const copy = (from, to) => {
    fs.mkdirSync(to, { recursive: true });
    for (const e of fs.readdirSync(from, { withFileTypes: true })) {
      const a = path.join(from, e.name);
      const b = path.join(to, e.name);
      if (e.isDirectory()) copy(a, b);
      else if (e.name.endsWith('.js') || e.name.endsWith('.json')) fs.copyFileSync(a, b);
    }
  };
  for (const part of ['engine', 'destinations']) copy(path.join(ROOT, 'dist', part), path.join(snap, 'dist', part));
  DIST = path.join(snap, 'dist');
  CLI = path.join(DIST, 'cli', 'bin.js');
}

// ---------------------------------------------------------------- scratch dirs

const cleanups = [];
let exitHooked = false;
function hookExit() {
  if (exitHooked) return;
  exitHooked = true;
  const runAll = () => {
    while (cleanups.length) {
      try {
        cleanups.pop()();
      } catch {
        /* best effort */
      }
    }
    try {
      if (fs.readdirSync(DATA_ROOT).length === 0) fs.rmdirSync(DATA_ROOT);
    } catch {
      /* absent or in use by another benchmark */
    }
  };
  process.on('exit', runAll);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      runAll();
      process.exit(130);
    });
  }
}

/** A fresh folder under bench/.data (or under `base`), removed when the process exits. */
export function scratchDir(name, base = DATA_ROOT) {
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, `${name}-`));
  hookExit();
  if (!KEEP) cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** BENCH_KEEP=1 keeps the generated data (for profiling by hand); delete bench/.data yourself afterwards. */
export const KEEP = process.env.BENCH_KEEP === '1';

export function removeDir(dir) {
  if (KEEP) {
    console.log(`BENCH_KEEP=1: kept ${dir}`);
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  // Leave bench/.data itself only if something else still uses it.
  try {
    if (fs.readdirSync(DATA_ROOT).length === 0) fs.rmdirSync(DATA_ROOT);
  } catch {
    /* absent */
  }
}

export function fileSize(file) {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export function duckdbFileBytes(file) {
  return fileSize(file) + fileSize(`${file}.wal`);
}

// ------------------------------------------------------------------- projects

/**
 * Writes a one-sync audsync project: audsync.config.ts (importing defineConfig
 * from 'audsync', as a user's project does) and models/<model>.sql.
 */
/**
 * A project-defined destination that acknowledges every row and sends nothing:
 * what is left is the runner itself (plan stream, batching, per-batch commits).
 * Its `type` object goes in a destination as `{ type: NOOP_DESTINATION, ... }`
 * through writeProject's `destinationTs`.
 */
export const NOOP_DESTINATION_TS = `defineDestination({
  type: 'noop',
  description: 'acknowledges every row, sends nothing (benchmark)',
  options: {},
  batchSize: { default: 10000, max: 1000000 },
  connect() {
    return { async sendBatch(batch) { return batch.operations.map(() => ({ status: 'succeeded' as const })); } };
  },
})`;

export function writeProject(dir, { model = 'audience', modelSql, sync = 'audience_to_file', key = 'customer_id', fields, destination, destinationTs, guardrails = { maxRemovePercent: 100 } }) {
  fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'models', `${model}.sql`), `${modelSql.trim()}\n`);
  // destinationTs: the destination as TypeScript source (e.g. a project-defined type), instead of JSON.
  const config = `import { defineConfig${destinationTs ? ', defineDestination' : ''} } from 'audsync';

export default defineConfig({
  warehouse: { type: 'duckdb', path: 'warehouse.duckdb' },
  destinations: {
    out: ${destinationTs ?? JSON.stringify(destination)},
  },
  syncs: {
    ${sync}: {
      model: ${JSON.stringify(model)},
      destination: 'out',
      key: ${JSON.stringify(key)},
      mode: 'mirror',
      fields: ${JSON.stringify(fields)},
      guardrails: ${JSON.stringify(guardrails)},
    },
  },
});
`;
  const configPath = path.join(dir, 'audsync.config.ts');
  fs.writeFileSync(configPath, config);
  return { configPath, warehouse: path.join(dir, 'warehouse.duckdb'), sync, model };
}

// --------------------------------------------------------------------- DuckDB

/** Opens a DuckDB file in this process; close it before any child opens the same file. */
export async function openDb(file) {
  const { DuckDBInstance } = duckdb();
  const instance = await DuckDBInstance.create(file);
  const conn = await instance.connect();
  return {
    async run(sql) {
      await conn.run(sql);
    },
    async all(sql) {
      const reader = await conn.runAndReadAll(sql);
      return reader.getRowObjectsJson();
    },
    async one(sql) {
      return (await this.all(sql))[0];
    },
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

export async function withDb(file, fn) {
  const db = await openDb(file);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/**
 * Runs SQL statements in a fresh Node process (bench/sql-worker.mjs) and times
 * it from spawn to exit, the way the CLI is timed. `timed` (statement indexes)
 * picks the statements whose time the worker reports as `timed_ms`.
 */
export async function runSqlWorker(file, statements, { timed } = {}) {
  const spec = JSON.stringify({ file, statements, timed: timed ?? statements.map((_, i) => i) });
  const r = await spawnTimed(process.execPath, [SQL_WORKER, spec], { cwd: ROOT });
  if (r.code !== 0) throw new Error(`sql-worker failed (${r.code}): ${r.stderr.slice(-2000)}`);
  const report = JSON.parse(r.stdout.trim().split('\n').pop());
  return { wallMs: r.wallMs, noise: r.noise, ...report };
}

/** audsync's plan table of a sync in a DuckDB file (the state schema is the default, `audsync`). */
export function planTable(sync, stateSchema = 'audsync') {
  return `"${stateSchema}"."plan__${sync}"`;
}

/** The query the engine streams its plan with (engine/plan/plan-sql.ts streamPlanSql). */
export function streamPlanSql(sync) {
  return `SELECT row_no, op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json, in_snapshot FROM ${planTable(sync)} ORDER BY row_no`;
}

/**
 * Reads the rows of `sql` into JavaScript the way the engine streams its plan, in a
 * fresh Node process (bench/read-floor-worker.mjs), timed from spawn to exit too.
 */
export async function runReadFloor(file, sql) {
  const r = await spawnTimed(process.execPath, [READ_FLOOR_WORKER, JSON.stringify({ file, sql })], { cwd: ROOT });
  if (r.code !== 0) throw new Error(`read-floor-worker failed (${r.code}): ${r.stderr.slice(-2000)}`);
  const report = JSON.parse(r.stdout.trim().split('\n').pop());
  return { wallMs: r.wallMs, noise: r.noise, ...report };
}

/**
 * The membership SELECT audsync compiles for a sync (`audsync compile` writes it
 * to target/compiled/syncs/<sync>.sql): record_key, fields_json, invalid_reason.
 */
export async function compiledSyncSql(project) {
  const projectDir = path.dirname(project.configPath);
  await runCli(['compile'], { cwd: projectDir, config: project.configPath, timings: false });
  const file = path.join(projectDir, 'target', 'compiled', 'syncs', `${project.sync}.sql`);
  return fs.readFileSync(file, 'utf8').trim().replace(/;$/, '');
}

// ------------------------------------------------------------------ processes

// ------------------------------------------------------------- machine noise
// The benchmarks share the machine with whatever else runs (tests, builds). Each
// timed measurement waits for the CPUs to be quiet first, and records how much
// CPU other processes used while it ran, so a noisy figure can be told apart.

const USER_HZ = 100;

/** Busy and total jiffies of all CPUs, from /proc/stat (undefined off Linux). */
function cpuTotals() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return undefined;
  }
}

/** CPU jiffies of this process and of its waited-for children (which include the timed CLI runs). */
function ownJiffies() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // fields 14..17 of proc(5) are utime, stime, cutime, cstime; f[0] is field 3.
    return f[11] + f[12] + f[13] + f[14];
  } catch {
    return undefined;
  }
}

/** Starts counting CPU used by processes other than this one and its children. */
export function foreignCpuMeter() {
  const a = cpuTotals();
  const o = ownJiffies();
  const t0 = performance.now();
  return () => {
    const b = cpuTotals();
    const o2 = ownJiffies();
    if (!a || !b || o === undefined || o2 === undefined) return undefined;
    const foreignS = Math.max(0, (b.busy - a.busy - (o2 - o)) / USER_HZ);
    const wallS = (performance.now() - t0) / 1000;
    const cpus = os.availableParallelism?.() ?? os.cpus().length;
    return { foreign_cpu_s: foreignS, foreign_share: wallS > 0 ? foreignS / (wallS * cpus) : 0 };
  };
}

/** Share of all CPUs busy over `ms`. */
export async function cpuBusy(ms = 1000) {
  const a = cpuTotals();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTotals();
  if (!a || !b || b.total === a.total) return 0;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Waits until other processes leave the CPUs mostly idle (at most `maxBusy` of
 * all CPUs over one second), at most `maxWaitMs`; then measures anyway, saying so.
 * BENCH_NO_WAIT=1 skips the wait.
 */
export async function waitForQuiet({ maxBusy = Number(process.env.BENCH_MAX_BUSY ?? 0.15), maxWaitMs = Number(process.env.BENCH_MAX_WAIT_MS ?? 300_000) } = {}) {
  if (process.env.BENCH_NO_WAIT === '1') return { busy: undefined, waited_ms: 0 };
  const t0 = Date.now();
  let said = false;
  for (;;) {
    const busy = await cpuBusy(1000);
    if (busy <= maxBusy) {
      if (said) log(`  quiet again after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      return { busy, waited_ms: Date.now() - t0 };
    }
    if (Date.now() - t0 > maxWaitMs) {
      log(`  the machine is still busy (${(busy * 100).toFixed(0)}% of all CPUs) after ${(maxWaitMs / 1000).toFixed(0)} s: measuring anyway; this figure is noisy`);
      return { busy, waited_ms: Date.now() - t0, gave_up: true };
    }
    if (!said) {
      log(`  waiting for other processes to leave the CPUs idle (${(busy * 100).toFixed(0)}% busy) ...`);
      said = true;
    }
  }
}

/** A measurement is retried when other processes used more than this share of the machine meanwhile. */
export const NOISE_MAX = Number(process.env.BENCH_NOISE_MAX ?? 0.1);
export const isNoisy = (...noises) => noises.some((n) => n && n.foreign_share > NOISE_MAX);

/** A note for a measurement during which other processes used the CPUs. */
export function noiseNote(noise) {
  if (!noise || !(noise.foreign_share > 0.05)) return '';
  return ` [NOISY: other processes used ${noise.foreign_cpu_s.toFixed(1)} CPU-s = ${(noise.foreign_share * 100).toFixed(0)}% of the machine meanwhile]`;
}

/** Spawns a process and times it from spawn to exit; collects stdout lines with their arrival time. */
export function spawnTimed(cmd, args, { cwd, env, onLine } = {}) {
  return new Promise((resolve, reject) => {
    const meter = foreignCpuMeter();
    const lines = [];
    let stdout = '';
    let stderr = '';
    let partial = '';
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let wallMs;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      const at = Date.now();
      stdout += chunk;
      partial += chunk;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        lines.push({ at, line });
        onLine?.(line, at);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('exit', () => {
      wallMs = performance.now() - t0;
    });
    child.on('close', (code, signal) => {
      if (partial) lines.push({ at: Date.now(), line: partial });
      resolve({ code, signal, wallMs: wallMs ?? performance.now() - t0, stdout, stderr, lines, noise: meter() });
    });
  });
}

let timeVAvailable;
export function hasTimeV() {
  if (timeVAvailable === undefined) {
    try {
      execFileSync('/usr/bin/time', ['-v', 'true'], { stdio: 'pipe' });
      timeVAvailable = true;
    } catch {
      timeVAvailable = false;
    }
  }
  return timeVAvailable;
}

/**
 * Runs `node dist/cli/bin.js <args> --config <config> --json` and times it
 * from spawn to exit. Options: timings (AUDSYNC_TIMINGS_FILE), timeV (wrap in
 * /usr/bin/time -v for the peak RSS), probe (preload bench/probe.mjs: per-statement
 * SQL times and start-up marks), cpuProf (a V8 CPU profile into that folder).
 */
export async function runCli(args, { cwd, config, timings = true, timeV = false, probe = false, cpuProf, env: extraEnv = {}, allowFail = false } = {}) {
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const timingsFile = timings ? path.join(os.tmpdir(), `audsync-bench-timings-${tag}.json`) : undefined;
  const probeFile = probe ? path.join(os.tmpdir(), `audsync-bench-probe-${tag}.json`) : undefined;
  const env = { ...process.env, ...extraEnv };
  delete env.AUDSYNC_TIMINGS_FILE;
  if (timingsFile) env.AUDSYNC_TIMINGS_FILE = timingsFile;
  if (probeFile) env.AUDSYNC_BENCH_PROBE_FILE = probeFile;
  const nodeArgs = [];
  if (probe) nodeArgs.push('--import', pathToFileURL(PROBE).href);
  if (cpuProf) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', cpuProf);
  const cliArgs = [...nodeArgs, CLI, ...args, '--config', config, '--json'];
  const useTimeV = timeV && hasTimeV();
  const r = useTimeV ? await spawnTimed('/usr/bin/time', ['-v', process.execPath, ...cliArgs], { cwd, env }) : await spawnTimed(process.execPath, cliArgs, { cwd, env });
  const events = [];
  for (const { at, line } of r.lines) {
    try {
      const obj = JSON.parse(line);
      events.push({ at, ...obj });
    } catch {
      /* not JSON */
    }
  }
  const readJson = (f) => {
    if (!f || !fs.existsSync(f)) return undefined;
    try {
      return JSON.parse(fs.readFileSync(f, 'utf8'));
    } finally {
      fs.rmSync(f, { force: true });
    }
  };
  const result = {
    code: r.code,
    wallMs: r.wallMs,
    events,
    stderr: r.stderr,
    timings: readJson(timingsFile),
    probe: readJson(probeFile),
    timeV: useTimeV ? parseTimeV(r.stderr) : undefined,
    noise: r.noise,
  };
  if (r.code !== 0 && !allowFail) {
    const last = events.filter((e) => e.event === 'sync_finished' || e.event === 'error' || e.error).slice(-3);
    throw new Error(`audsync ${args.join(' ')} exited ${r.code}\n${JSON.stringify(last)}\n${r.stderr.slice(-3000)}`);
  }
  return result;
}

function parseTimeV(stderr) {
  const num = (re) => {
    const m = re.exec(stderr);
    return m ? Number(m[1]) : undefined;
  };
  const maxRssKb = num(/Maximum resident set size \(kbytes\): (\d+)/);
  const m = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(stderr);
  const elapsedMs = m ? ((Number(m[1] ?? 0) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 : undefined;
  return { maxRssBytes: maxRssKb === undefined ? undefined : maxRssKb * 1024, elapsedMs, userS: num(/User time \(seconds\): ([\d.]+)/), systemS: num(/System time \(seconds\): ([\d.]+)/) };
}

/** The events of one sync from a `--json` run. */
export function syncEvents(run) {
  const by = (name) => run.events.filter((e) => e.event === name);
  return { started: by('sync_started')[0], planned: by('planned')[0], progress: by('progress'), finished: by('sync_finished')[0] };
}

// ------------------------------------------------------------------ reporting

export function median(xs) {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export const ms = (x) => (Number.isFinite(x) ? `${Math.round(x).toLocaleString('en-US')} ms` : 'n/a');
export const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
export const mib = (b) => (Number.isFinite(b) ? `${(b / 1024 / 1024).toFixed(0)} MiB` : 'n/a');
export const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');

export function log(...args) {
  const t = new Date().toISOString().slice(11, 19);
  console.log(`[${t}]`, ...args);
}

/** Times an async step in the bench process (for untimed setup, shown for information). */
export async function step(label, fn) {
  const t0 = performance.now();
  const out = await fn();
  log(`${label}: ${ms(performance.now() - t0)}`);
  return out;
}

export function machine() {
  const cpu = (() => {
    try {
      return /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim();
    } catch {
      return undefined;
    }
  })();
  let duckdbVersion;
  try {
    duckdbVersion = JSON.parse(fs.readFileSync(requireFromRoot.resolve('@duckdb/node-api/package.json'), 'utf8')).version;
  } catch {
    /* unknown */
  }
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    cpu: cpu ?? os.cpus()[0]?.model,
    node: process.version,
    duckdb_node_api: duckdbVersion,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/**
 * The last line a benchmark prints: `BENCH_RESULT {json}`, read by run-all.mjs.
 * `pass` is true, false, or null (no target).
 */
export function emitResult(result) {
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
  if (result.pass === false) process.exitCode = 1;
}

/** Prints a small aligned table. */
export function table(rows) {
  const widths = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd());
}

/** Sums the probe's statements by a label function; returns [{label, n, ms}] by cost. */
export function statementCosts(probe, labelOf) {
  const by = new Map();
  for (const s of probe?.statements ?? []) {
    const label = labelOf(s.sql, s.kind);
    const e = by.get(label) ?? { label, n: 0, ms: 0 };
    e.n += 1;
    e.ms += s.exec_ms + (s.fetch_ms ?? 0);
    by.set(label, e);
  }
  return [...by.values()].sort((a, b) => b.ms - a.ms);
}

/** A short, stable label for a statement audsync runs, for the profile tables. */
export function labelStatement(sql, kind) {
  const s = sql.replace(/\s+/g, ' ').trim();
  if (kind === 'stream') return 'stream plan (SELECT … FROM plan: chunk fetches)';
  const rel = (re) => (re.exec(s)?.[1] ?? '?').replace(/"/g, '').replace(/__.*$/, '__*');
  if (/^SELECT \* FROM \(.*\) AS audsync_probe LIMIT 0$/i.test(s)) return 'columns probe (LIMIT 0)';
  if (/^CREATE OR REPLACE (TEMP )?TABLE [^ ]+members__/i.test(s)) return 'materialize members (CREATE OR REPLACE [TEMP] TABLE members AS …)';
  if (/^CREATE OR REPLACE TABLE [^ ]+plan__/i.test(s)) return 'plan (CREATE OR REPLACE TABLE plan AS … FULL OUTER JOIN snapshot)';
  if (/^SELECT count\(\*\) AS total/i.test(s)) return 'member stats (count, count DISTINCT key)';
  if (/^SELECT count\(\*\) AS n FROM [^ ]+snapshot__/i.test(s)) return 'snapshot count';
  if (/^SELECT op, count\(\*\) AS n FROM/i.test(s)) return 'plan counts';
  if (/^CREATE OR REPLACE (TEMP )?TABLE [^ ]+model_delta__/i.test(s)) return 'model delta (CTAS: members FULL OUTER JOIN model_keys)';
  if (/^INSERT INTO [^ ]+audience_events.* FULL OUTER JOIN /i.test(s)) return 'audience_events (FULL OUTER JOIN members vs model_keys)';
  if (/^INSERT INTO [^ ]+audience_events/i.test(s)) return 'audience_events: INSERT from the model delta';
  if (/^DELETE FROM [^ ]+model_keys__\S*$/i.test(s)) return 'model_keys: DELETE all';
  if (/^DELETE FROM [^ ]+model_keys__/i.test(s)) return 'model_keys: DELETE exits';
  if (/^INSERT INTO [^ ]+model_keys__.*SELECT DISTINCT/i.test(s)) return 'model_keys: INSERT SELECT DISTINCT key FROM members';
  if (/^INSERT INTO [^ ]+model_keys__/i.test(s)) return 'model_keys: INSERT enters';
  if (/^INSERT INTO [^ ]+sync_changelog[^ ]* \(.*\) SELECT .* FROM [^ ]+stage__/i.test(s)) return 'commit: changelog INSERT from stage';
  if (/^DELETE FROM [^ ]+snapshot__.* IN \(SELECT record_key FROM [^ ]+stage__/i.test(s)) return 'commit: snapshot DELETE … IN (stage)';
  if (/^INSERT INTO [^ ]+snapshot__/i.test(s)) return 'commit: snapshot INSERT from stage';
  if (/^DELETE FROM [^ ]+stage__/i.test(s)) return 'commit: stage DELETE';
  if (/^APPENDER FLUSH/.test(s)) return 'commit: appender flush (stage rows)';
  if (/^(BEGIN|COMMIT|ROLLBACK)/i.test(s)) return s.split(' ')[0].toUpperCase();
  if (/^CREATE (TABLE|SCHEMA|OR REPLACE VIEW)/i.test(s)) return 'ensure state tables / views';
  if (/^DROP TABLE IF EXISTS/i.test(s)) return 'drop retired tables';
  const m = /^(\w+(?: \w+)?)/.exec(s);
  if (/^INSERT INTO/i.test(s)) return `INSERT INTO ${rel(/^INSERT INTO ([^ (]+)/i)}`;
  if (/^UPDATE/i.test(s)) return `UPDATE ${rel(/^UPDATE ([^ ]+)/i)}`;
  if (/^DELETE FROM/i.test(s)) return `DELETE FROM ${rel(/^DELETE FROM ([^ ]+)/i)}`;
  return (m?.[1] ?? 'other') + ': ' + s.slice(0, 60);
}

/** Prints the per-statement cost table of a probed run and returns it. */
export function printStatementCosts(probe, title = 'SQL by statement (probe)') {
  const costs = statementCosts(probe, labelStatement);
  if (costs.length === 0) return costs;
  console.log(`\n${title}:`);
  table([['statement', 'count', 'ms'], ...costs.map((c) => [c.label, String(c.n), int(c.ms)])]);
  return costs;
}

// ------------------------------------------------------- the benchmark audience

/** Pseudo-random customer columns for row number `i` (deterministic: hash() of the id). */
export function customerColumnsSql(i = 'i') {
  return `CAST(${i} AS BIGINT) AS customer_id,
  'user' || ${i} || '@' || (['example.com', 'mail.test', 'corp.test'])[1 + CAST(hash(${i}) % 3 AS INTEGER)] AS email,
  (['bronze', 'silver', 'gold', 'platinum'])[1 + CAST(hash(${i}, 7) % 4 AS INTEGER)] AS tier,
  round(CAST(hash(${i}, 13) % 1000000 AS DOUBLE) / 100, 2) AS ltv,
  TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(CAST(hash(${i}, 17) % 31536000 AS DOUBLE)) AS updated_at`;
}

/** src.customers with `n` rows (ids 1..n). */
export function createCustomersSql(n) {
  return [`CREATE SCHEMA IF NOT EXISTS src`, `CREATE OR REPLACE TABLE src.customers AS SELECT ${customerColumnsSql('i')} FROM range(1, ${n} + 1) t(i)`];
}

/** The audience keeps ~99.5% of the rows (ltv is uniform on [0, 10000)). */
export const AUDIENCE_WHERE = 'ltv >= 50';
export const MODEL_SQL = `-- bench audience: most customers
select customer_id, email, tier, ltv
from {{source 'src' 'customers'}}
where ${AUDIENCE_WHERE}`;
export const FIELDS = { email: 'email', tier: 'tier', ltv: 'ltv' };

/** The same projection audsync compiles (key as text, fields as JSON text), without audsync. */
export const AUDIENCE_PROJECTION_SQL = `SELECT CAST(customer_id AS VARCHAR) AS record_key,
  CAST(json_object('email', email, 'tier', tier, 'ltv', ltv) AS VARCHAR) AS fields_json
FROM src.customers
WHERE ${AUDIENCE_WHERE}`;

/**
 * ~1% churn of src.customers: ~0.5% of rows get a new tier and ltv, ~0.25% are
 * deleted, ~0.25% new customers are inserted. Deterministic for a given salt
 * and table, so two copies of the same data get the same churn.
 */
export function churnSql(salt, rows, maxId) {
  const inserts = Math.round(rows * 0.0025);
  return [
    `UPDATE src.customers SET
       tier = (['bronze', 'silver', 'gold', 'platinum'])[1 + CAST(hash(customer_id, ${salt}, 1) % 4 AS INTEGER)],
       ltv = round(ltv + 1 + CAST(hash(customer_id, ${salt}, 2) % 1000 AS DOUBLE) / 100, 2),
       updated_at = TIMESTAMPTZ '2025-01-01 00:00:00+00' + INTERVAL ${salt} DAY
     WHERE hash(customer_id, ${salt}, 3) % 200 = 0`,
    `DELETE FROM src.customers WHERE hash(customer_id, ${salt}, 4) % 400 = 0`,
    `INSERT INTO src.customers SELECT ${customerColumnsSql('i')} FROM range(${maxId + 1}, ${maxId + 1 + inserts}) t(i)`,
  ];
}

/** Applies churnSql to the file; returns the new max id. */
export async function applyChurn(file, salt, before = []) {
  return withDb(file, async (db) => {
    for (const sql of before) await db.run(sql);
    const { n, max_id } = await db.one(`SELECT count(*)::BIGINT AS n, max(customer_id)::BIGINT AS max_id FROM src.customers`);
    for (const sql of churnSql(salt, Number(n), Number(max_id))) await db.run(sql);
    return Number(n);
  });
}

/** Lines in a file, read in chunks (files here can be hundreds of MB). */
export function countLines(file) {
  if (!fs.existsSync(file)) return 0;
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  try {
    for (;;) {
      const got = fs.readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      for (let i = 0; i < got; i++) if (buf[i] === 10) n++;
    }
  } finally {
    fs.closeSync(fd);
  }
  return n;
}

// ------------------------------------------------------------- CPU profiles

/** Where a profiled function lives, by package. */
function profileCategory(url, name) {
  if (name === '(idle)') return '(idle: waiting on DuckDB threads / I/O)';
  if (name === '(garbage collector)') return '(garbage collector)';
  if (name === '(program)') return '(program: V8/native, not JS)';
  if (!url) return 'V8 builtins / native calls';
  if (url.includes('@duckdb/node-api')) return '@duckdb/node-api (JS: chunk → row objects)';
  if (url.includes('/dist/engine/')) return 'audsync dist/engine';
  if (url.includes('/dist/destinations/')) return 'audsync dist/destinations';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node: internals (module loading, fs, streams)';
  if (url.includes('/bench/')) return 'bench probe';
  return url;
}

/** Self time of a V8 .cpuprofile by package and by function (ms). */
export function summarizeCpuProfile(file, { top = 15 } = {}) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  prof.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const byCat = new Map();
  const byFn = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: f } = nodes.get(id);
    const cat = profileCategory(f.url, f.functionName);
    byCat.set(cat, (byCat.get(cat) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '')}:${f.lineNumber + 1}` : ''}`.trim();
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    total += us;
  }
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, us]) => ({ name: k, ms: us / 1000 }));
  return { total_ms: total / 1000, by_package: sorted(byCat), top_functions: sorted(byFn).slice(0, top) };
}

export function printCpuProfile(summary, title) {
  console.log(`\n${title} (V8 CPU profile of the CLI's main thread, self time; total ${int(summary.total_ms)} ms):`);
  table([['where', 'ms'], ...summary.by_package.map((c) => [c.name, int(c.ms)])]);
  console.log('top functions:');
  table([['function', 'ms'], ...summary.top_functions.map((c) => [c.name, int(c.ms)])]);
}

/** Runs the CLI once with --cpu-prof and returns the summary (BENCH_CPU_PROF=1 in the benchmarks). */
export async function profileCli(args, opts) {
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audsync-bench-prof-'));
  try {
    const run = await runCli(args, { ...opts, cpuProf: profDir });
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    return { run, summary: file ? summarizeCpuProfile(path.join(profDir, file)) : undefined };
  } finally {
    fs.rmSync(profDir, { recursive: true, force: true });
  }
}

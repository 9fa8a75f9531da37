// Benchmark 2: a run with nothing to send on a 10M-member audience. After an
// untimed initial run, the source is left as it is and `audsync run` is timed.
// Reported: the Node side (node_ms from AUDSYNC_TIMINGS_FILE = wall minus time
// waiting on DuckDB minus opening it; target < 200 ms), its breakdown (start-up,
// config, first statement, close), and the peak RSS of the CLI process with
// default settings (/usr/bin/time -v when available, else the timings file;
// target <= 1 GB = 1024 MiB, the highest of the counted runs).
//
//   node bench/no-change-duckdb.mjs
//   BENCH_NOCHANGE_ROWS=1000000 node bench/no-change-duckdb.mjs   (quick check; or BENCH_ROWS)
import fs from 'node:fs';
import path from 'node:path';
import {
  FIELDS,
  MODEL_SQL,
  DIST,
  SQL_WORKER,
  benchRows,
  checkBuilt,
  createCustomersSql,
  duckdbFileBytes,
  emitResult,
  hasTimeV,
  int,
  isNoisy,
  log,
  machine,
  median,
  mib,
  ms,
  noiseNote,
  printCpuProfile,
  profileCli,
  printStatementCosts,
  removeDir,
  runCli,
  scratchDir,
  spawnTimed,
  step,
  syncEvents,
  table,
  waitForQuiet,
  withDb,
  writeProject,
} from './lib.mjs';

const ROWS = benchRows('BENCH_NOCHANGE_ROWS', 10_000_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const MAX_ATTEMPTS = Number(process.env.BENCH_MAX_ATTEMPTS ?? REPS * 3);
const TARGET_NODE_MS = 200;
/** Peak RSS of a no-change run with default settings (no memory_limit), in MiB. */
const TARGET_RSS_MIB = 1024;
const STARTUP_WORKER = path.join(path.dirname(SQL_WORKER), 'startup-worker.mjs');

checkBuilt();
const dir = scratchDir('no-change');
try {
  await main();
} finally {
  removeDir(dir);
}

async function main() {
  log(`no-change-duckdb: ${int(ROWS)} members, ${REPS} timed no-change run(s), work dir ${dir}`);
  const project = writeProject(dir, {
    modelSql: MODEL_SQL,
    fields: FIELDS,
    // A large batch only speeds up the untimed initial run; the timed runs send nothing.
    destination: { type: 'file', path: 'out.jsonl', batchSize: 100_000 },
    guardrails: { maxRemovePercent: 100 },
  });
  // The audience keeps ~99.5% of the source: size the source for ROWS members.
  const sourceRows = Math.round(ROWS / 0.995);
  await step(`generate ${int(sourceRows)} source rows (untimed)`, () =>
    withDb(project.warehouse, async (db) => {
      for (const sql of createCustomersSql(sourceRows)) await db.run(sql);
    }),
  );
  const initial = await step('initial audsync run (untimed)', () => runCli(['run'], { cwd: dir, config: project.configPath }));
  const ip = syncEvents(initial).planned;
  log(`  initial: ${int(ip?.members)} members, +${int(ip?.add)} sent; sql ${ms(initial.timings?.sql_ms)}, node ${ms(initial.timings?.node_ms)}`);
  fs.rmSync(path.join(dir, 'out.jsonl'), { force: true });

  // A run during which other processes used the CPUs is done again, up to MAX_ATTEMPTS in all.
  const runs = [];
  const quiet = () => runs.filter((x) => !x.noisy).length;
  for (let r = 0; r < MAX_ATTEMPTS && quiet() < REPS; r++) {
    await waitForQuiet();
    const run = await runCli(['run'], { cwd: dir, config: project.configPath, timeV: true });
    const ev = syncEvents(run);
    const planned = (ev.planned?.add ?? 0) + (ev.planned?.change ?? 0) + (ev.planned?.remove ?? 0);
    const t = run.timings ?? {};
    runs.push({ wall_ms: run.wallMs, ...t, rss_time_v: run.timeV?.maxRssBytes, planned, status: ev.finished?.status, members: ev.planned?.members, noise: run.noise, noisy: isNoisy(run.noise) });
    log(
      `no-change run ${r + 1}: wall ${ms(run.wallMs)}; node_ms ${ms(t.node_ms)} (boot ${ms(t.node_boot_ms)}), sql ${ms(t.sql_ms)} in ${t.statements} statements, open ${ms(t.warehouse_open_ms)}; ` +
        `planned ${planned}, status ${ev.finished?.status}; peak RSS ${mib(t.rss_peak_bytes)} (time -v ${mib(run.timeV?.maxRssBytes)})${noiseNote(run.noise)}`,
    );
    if (planned !== 0) log(`  WARNING: a no-change run planned ${planned} rows`);
  }

  // Where the Node side goes: one run with the probe preloaded ...
  let p;
  for (let attempt = 1; attempt <= 3; attempt++) {
    await waitForQuiet();
    p = await runCli(['run'], { cwd: dir, config: project.configPath, probe: true });
    if (noiseNote(p.noise)) log(`probed run:${noiseNote(p.noise)}`);
    if (!isNoisy(p.noise)) break;
  }
  const costs = printStatementCosts(p.probe, `no-change run with the probe (wall ${ms(p.wallMs)}): SQL by statement`);
  const m = p.probe?.marks ?? {};
  const open = m.instance_create?.[0];
  const close = m.instance_close?.at(-1);
  const sqlBetween = (p.probe?.statements ?? []).reduce((a, s) => a + s.exec_ms + s.fetch_ms, 0);
  const phases = {
    node_boot_ms: m.node_boot,
    cli_config_compile_ms: m.duckdb_require ? m.duckdb_require[0] - (m.node_boot ?? 0) : undefined,
    duckdb_require_ms: m.duckdb_require ? m.duckdb_require[1] - m.duckdb_require[0] : undefined,
    duckdb_open_ms: open ? open[1] - open[0] : undefined,
    until_first_statement_ms: m.first_statement,
    node_between_statements_ms: close && m.first_statement !== undefined ? close[0] - m.first_statement - sqlBetween : undefined,
    close_checkpoint_ms: close ? close[1] - close[0] : undefined,
    after_close_to_exit_ms: close && m.exit ? m.exit - close[1] : undefined,
    process_exit_and_spawn_ms: m.exit ? p.wallMs - m.exit : undefined,
    sql_ms: sqlBetween,
  };
  // ... and the start-up pieces timed one by one in fresh processes (median of 3).
  const startups = [];
  for (let i = 0; i < 3; i++) {
    await waitForQuiet();
    const s = await spawnTimed(process.execPath, [STARTUP_WORKER, project.configPath, project.model], { cwd: dir, env: { ...process.env, BENCH_DIST: DIST } });
    try {
      startups.push(JSON.parse(s.stdout.trim().split('\n').pop()));
    } catch {
      log(`startup-worker failed: ${s.stderr.slice(-500)}`);
    }
  }
  const keys = [...new Set(startups.flatMap((s) => Object.keys(s)))].filter((k) => k.endsWith('_ms'));
  const startup = Object.fromEntries(keys.map((k) => [k, median(startups.map((s) => s[k]).filter((v) => typeof v === 'number'))]));

  // BENCH_CPU_PROF=1: one more no-change run under --cpu-prof (what the JS thread does, by package).
  let cpu;
  if (process.env.BENCH_CPU_PROF === '1') {
    await waitForQuiet();
    ({ summary: cpu } = await profileCli(['run'], { cwd: dir, config: project.configPath }));
    if (cpu) printCpuProfile(cpu, 'no-change run');
  }

  const noisy = quiet() === 0;
  const counted = noisy ? runs : runs.filter((x) => !x.noisy);
  if (noisy) log('WARNING: every run was disturbed by other processes: the figures below are noisy');
  const nodeMed = median(counted.map((r) => r.node_ms));
  const nodePass = nodeMed < TARGET_NODE_MS;
  // A memory ceiling: the highest peak of the counted runs must stay under it.
  const rssOf = (r) => r.rss_time_v ?? r.rss_peak_bytes;
  const rssMax = Math.max(...counted.map(rssOf).filter(Number.isFinite));
  const rssPass = rssMax <= TARGET_RSS_MIB * 1024 * 1024;
  const pass = nodePass && rssPass;
  console.log(`\nno-change run on ${int(runs[0]?.members)} members (median of ${counted.length}${noisy ? ' NOISY' : ' quiet'} run(s) of ${runs.length}):`);
  table([
    ['figure', 'value'],
    ['wall (spawn to exit)', ms(median(counted.map((r) => r.wall_ms)))],
    ['sql_ms (waiting on DuckDB)', ms(median(counted.map((r) => r.sql_ms)))],
    ['warehouse_open_ms (load driver + open)', ms(median(counted.map((r) => r.warehouse_open_ms)))],
    ['node_ms (wall - sql - open)', ms(nodeMed)],
    ['  of which node_boot_ms', ms(median(counted.map((r) => r.node_boot_ms)))],
    ['target node_ms', `< ${TARGET_NODE_MS} ms: ${nodePass ? 'PASS' : 'FAIL'}`],
    ['peak RSS (timings file, median)', mib(median(counted.map((r) => r.rss_peak_bytes)))],
    ['peak RSS (/usr/bin/time -v, median)', hasTimeV() ? mib(median(counted.map((r) => r.rss_time_v))) : 'n/a (no /usr/bin/time)'],
    ['peak RSS, highest of the counted runs', mib(rssMax)],
    ['target peak RSS', `<= ${TARGET_RSS_MIB} MiB: ${rssPass ? 'PASS' : 'FAIL'}`],
    ['warehouse file', mib(duckdbFileBytes(project.warehouse))],
  ]);
  console.log('\nbreakdown of one probed no-change run (performance.now() in the CLI process):');
  table([
    ['phase', 'ms'],
    ['node boot (before any of our code)', ms(phases.node_boot_ms)],
    ['CLI imports + config (jiti) + project + compile, until DuckDB is required', ms(phases.cli_config_compile_ms)],
    ['require @duckdb/node-api (native library)', ms(phases.duckdb_require_ms)],
    ['DuckDBInstance.create (open the file)', ms(phases.duckdb_open_ms)],
    ['=> first warehouse statement at', ms(phases.until_first_statement_ms)],
    ['SQL statements (sum)', ms(phases.sql_ms)],
    ['Node between statements', ms(phases.node_between_statements_ms)],
    ['close: DuckDB checkpoint (in sql_ms since 044aa8f; in node_ms before)', ms(phases.close_checkpoint_ms)],
    ['after close until exit', ms(phases.after_close_to_exit_ms)],
    ['process exit + spawn overhead (seen from the parent)', ms(phases.process_exit_and_spawn_ms)],
  ]);
  console.log('\nstart-up pieces timed one by one in fresh processes (bench/startup-worker.mjs, median of 3):');
  table([['piece', 'ms'], ...Object.entries(startup).map(([k, v]) => [k, ms(v)])]);

  emitResult({
    name: 'no-change-duckdb',
    metric: 'node_ms of a no-change run (and its peak RSS)',
    value: nodeMed,
    unit: 'ms',
    target: `< ${TARGET_NODE_MS} ms (and peak RSS <= ${TARGET_RSS_MIB} MiB)`,
    pass,
    noisy,
    figures: { members: runs[0]?.members, rss_peak_bytes: rssMax, rss_peak_median_bytes: median(counted.map(rssOf)), rss_target_mib: TARGET_RSS_MIB, rss_pass: rssPass, node_pass: nodePass, runs, probe_phases: phases, probe_statements: costs, cpu_profile: cpu, startup, initial_wall_ms: initial.wallMs },
    machine: machine(),
  });
}

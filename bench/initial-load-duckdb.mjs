// Benchmark 4: the first `audsync run` of a 3,000,000-member audience to the `file`
// destination (its default batch size), against a floor measured in the same
// repetition: DuckDB alone, in a fresh Node process that opens its own copy of the
// same source file, materializing the same projection audsync compiles (key and
// fields JSON, from `audsync compile`) into the snapshot table (CREATE TABLE AS)
// and writing the delta file (every member, as an add) with COPY ... (FORMAT json).
// Target: audsync wall clock <= 4x the floor (median of the repetitions).
//
//   node bench/initial-load-duckdb.mjs
//   BENCH_INITIAL_ROWS=200000 BENCH_REPS=1 node bench/initial-load-duckdb.mjs   (quick check; or BENCH_ROWS)
import fs from 'node:fs';
import path from 'node:path';
import {
  FIELDS,
  MODEL_SQL,
  benchRows,
  checkBuilt,
  compiledSyncSql,
  countLines,
  createCustomersSql,
  emitResult,
  int,
  isNoisy,
  log,
  machine,
  median,
  mib,
  ms,
  noiseNote,
  ratio,
  removeDir,
  runCli,
  runSqlWorker,
  scratchDir,
  step,
  syncEvents,
  table,
  waitForQuiet,
  withDb,
  writeProject,
} from './lib.mjs';

/** Members of the audience; the source is sized for it (the audience keeps ~99.5% of the rows). */
const MEMBERS = benchRows('BENCH_INITIAL_ROWS', 3_000_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const MAX_ATTEMPTS = Number(process.env.BENCH_MAX_ATTEMPTS ?? REPS * 3);
const TARGET = 4;

checkBuilt();
const dir = scratchDir('initial-load');
try {
  await main();
} finally {
  removeDir(dir);
}

/** A fresh project whose warehouse is a copy of the generated source (no audsync state yet). */
function freshProject(name, sourceDb) {
  const projDir = path.join(dir, name);
  // The file destination with its default batch size (no batchSize): what a first run gets.
  const project = writeProject(projDir, { modelSql: MODEL_SQL, fields: FIELDS, destination: { type: 'file', path: 'out.jsonl' }, guardrails: { maxRemovePercent: 100 } });
  fs.copyFileSync(sourceDb, project.warehouse);
  return { ...project, dir: projDir, outFile: path.join(projDir, 'out.jsonl') };
}

async function main() {
  const sourceRows = Math.round(MEMBERS / 0.995);
  log(`initial-load-duckdb: ${int(MEMBERS)} members (${int(sourceRows)} source rows), ${REPS} repetition(s), work dir ${dir}`);
  // The source is generated once; every repetition starts from a copy of it (audsync and the floor each their own).
  const sourceDb = path.join(dir, 'source.duckdb');
  await step(`generate ${int(sourceRows)} source rows (untimed)`, () =>
    withDb(sourceDb, async (db) => {
      for (const sql of createCustomersSql(sourceRows)) await db.run(sql);
      await db.run('CHECKPOINT');
    }),
  );
  // The projection audsync runs (key, fields JSON, invalid_reason), as `audsync compile` writes it.
  const membership = await compiledSyncSql(freshProject('compile', sourceDb));
  fs.rmSync(path.join(dir, 'compile'), { recursive: true, force: true });

  const reps = [];
  const quiet = () => reps.filter((x) => !x.noisy).length;
  for (let r = 0; r < MAX_ATTEMPTS && quiet() < REPS; r++) {
    const project = freshProject(`rep-${r + 1}`, sourceDb);
    const floorDb = path.join(project.dir, 'floor.duckdb');
    const floorDelta = path.join(project.dir, 'floor-delta.jsonl');
    fs.copyFileSync(sourceDb, floorDb);
    // What the floor times (spawn to exit): open the file; materialize the audience into
    // the snapshot table, which is what the next run diffs against; write the delta
    // (every member is an add) as JSONL; close (DuckDB checkpoints the new table).
    const floorStatements = [
      `CREATE TABLE floor_snapshot AS SELECT record_key, fields_json FROM (\n${membership}\n) AS p WHERE invalid_reason IS NULL`,
      `COPY (SELECT 'add' AS op, record_key AS key, json(fields_json) AS fields FROM floor_snapshot) TO '${floorDelta.replace(/'/g, "''")}' (FORMAT json)`,
    ];
    const runAudsync = async () => {
      await waitForQuiet();
      return runCli(['run'], { cwd: project.dir, config: project.configPath, timeV: true });
    };
    const runFloor = async () => {
      await waitForQuiet();
      return runSqlWorker(floorDb, floorStatements);
    };
    // Alternate which goes first, so neither always gets the warmer page cache.
    let a, f;
    if (r % 2 === 0) {
      a = await runAudsync();
      f = await runFloor();
    } else {
      f = await runFloor();
      a = await runAudsync();
    }
    const ev = syncEvents(a);
    const planned = (ev.planned?.add ?? 0) + (ev.planned?.change ?? 0) + (ev.planned?.remove ?? 0);
    const last = ev.progress.at(-1);
    const streamMs = last ? last.at - last.progress.startedAt : NaN;
    const planMs = ev.planned && ev.started ? ev.planned.at - ev.started.at : NaN;
    const written = countLines(project.outFile);
    const floorRows = countLines(floorDelta);
    const rep = {
      rep: r + 1,
      audsync_ms: a.wallMs,
      floor_ms: f.wallMs,
      ratio: a.wallMs / f.wallMs,
      members: ev.planned?.members,
      planned,
      written,
      floor_rows: floorRows,
      status: ev.finished?.status,
      plan_ms: planMs,
      stream_ms: streamMs,
      timings: a.timings,
      rss_peak_time_v: a.timeV?.maxRssBytes,
      user_s: a.timeV?.userS,
      system_s: a.timeV?.systemS,
      noise: { audsync: a.noise, floor: f.noise },
      noisy: isNoisy(a.noise, f.noise),
      floor: { node_boot_ms: f.node_boot_ms, duckdb_load_ms: f.duckdb_load_ms, open_ms: f.open_ms, statements_ms: f.statements_ms, close_ms: f.close_ms },
    };
    reps.push(rep);
    log(
      `rep ${r + 1}: audsync ${ms(a.wallMs)} (plan ${ms(planMs)}, streaming ${ms(streamMs)}; sql ${ms(a.timings?.sql_ms)}, node ${ms(a.timings?.node_ms)}, open ${ms(a.timings?.warehouse_open_ms)}, ${a.timings?.statements} statements; ` +
        `cpu user ${rep.user_s}s sys ${rep.system_s}s; peak RSS ${mib(rep.rss_peak_time_v ?? a.timings?.rss_peak_bytes)}) ` +
        `| floor ${ms(f.wallMs)} (open ${ms(f.open_ms)}, snapshot CREATE TABLE AS ${ms(f.statements_ms[0])}, COPY ${ms(f.statements_ms[1])}, close ${ms(f.close_ms)}) | ratio ${ratio(rep.ratio)}`,
    );
    if (noiseNote(a.noise) || noiseNote(f.noise)) log(`  audsync:${noiseNote(a.noise) || ' quiet'}; floor:${noiseNote(f.noise) || ' quiet'}${rep.noisy ? ' => not counted, repeating' : ''}`);
    log(`  audsync: status ${rep.status}, ${int(rep.members)} members, planned ${int(planned)} adds, file has ${int(written)} lines; floor's delta has ${int(floorRows)} lines`);
    if (planned !== floorRows || written !== planned) log(`  WARNING: audsync planned ${planned} and wrote ${written} rows, the floor wrote ${floorRows}: the two are not doing the same work`);
    // Each repetition's files (two warehouses, two deltas) go before the next one is made.
    fs.rmSync(project.dir, { recursive: true, force: true });
  }

  const noisy = quiet() === 0;
  const counted = noisy ? reps : reps.filter((x) => !x.noisy);
  if (noisy) log('WARNING: every repetition was disturbed by other processes: the figures below are noisy');
  const aMed = median(counted.map((x) => x.audsync_ms));
  const fMed = median(counted.map((x) => x.floor_ms));
  const rMed = aMed / fMed;
  const rssMed = median(counted.map((x) => x.rss_peak_time_v ?? x.timings?.rss_peak_bytes));
  const sameWork = counted.every((x) => x.planned === x.floor_rows && x.written === x.planned && x.status === 'success');
  const pass = sameWork && rMed <= TARGET;
  const med = (fn) => median(counted.map(fn));
  console.log(`\ninitial-load-duckdb (${int(counted[0]?.members)} members, first run to the file destination, median of ${counted.length}${noisy ? ' NOISY' : ' quiet'} repetition(s) of ${reps.length}):`);
  table([
    ['figure', 'value'],
    ['audsync run (spawn to exit)', ms(aMed)],
    ['  plan (sync_started to planned)', ms(med((x) => x.plan_ms))],
    ['  streaming (runner start to last batch committed)', ms(med((x) => x.stream_ms))],
    ['  sql_ms (waiting on DuckDB; overlaps while streaming)', ms(med((x) => x.timings?.sql_ms))],
    ['  warehouse_open_ms', ms(med((x) => x.timings?.warehouse_open_ms))],
    ['  node_ms (the rest)', ms(med((x) => x.timings?.node_ms))],
    ['  peak RSS (timings / time -v)', `${mib(med((x) => x.timings?.rss_peak_bytes))} / ${mib(med((x) => x.rss_peak_time_v))}`],
    ['floor: DuckDB alone (spawn to exit)', ms(fMed)],
    ['  snapshot CREATE TABLE AS / COPY / close', `${ms(med((x) => x.floor.statements_ms[0]))} / ${ms(med((x) => x.floor.statements_ms[1]))} / ${ms(med((x) => x.floor.close_ms))}`],
    ['ratio audsync / floor', ratio(rMed)],
    ['same rows (planned = written = floor delta)', sameWork ? 'yes' : 'NO'],
    ['target', `<= ${TARGET}x: ${pass ? 'PASS' : 'FAIL'}`],
  ]);
  emitResult({
    name: 'initial-load-duckdb',
    metric: 'audsync / floor wall clock of a first run',
    value: rMed,
    unit: 'x',
    target: `<= ${TARGET}x`,
    pass,
    noisy,
    figures: { members: counted[0]?.members, source_rows: sourceRows, audsync_ms: aMed, floor_ms: fMed, rss_peak_bytes: rssMed, same_work: sameWork, reps },
    machine: machine(),
  });
}

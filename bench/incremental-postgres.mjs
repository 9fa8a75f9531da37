// Benchmark (issue: PostgreSQL warehouse): an incremental `audsync run` after ~1%
// churn of a 1,000,000-row source on PostgreSQL, against a floor measured in the
// same script: PostgreSQL itself materializing the same audience (key, fields
// JSON, row hash), diffing it with a FULL OUTER JOIN against the previous
// materialization, and COPYing the delta out to a file, from a fresh process.
// Target: audsync wall clock (CLI start to exit) <= 1.5x the floor (median).
//
//   node bench/incremental-postgres.mjs
//   AUDSYNC_BENCH_POSTGRES_URL=postgres://user@host/db BENCH_PG_ROWS=200000 BENCH_REPS=1 node bench/incremental-postgres.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'bin.js');
const SERVER = process.env.AUDSYNC_BENCH_POSTGRES_URL ?? process.env.AUDSYNC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.env.BENCH_PG_ROWS ?? 1_000_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const TARGET = 1.5;

const FIELDS_JSON = `json_build_object('email', email, 'tier', tier, 'ltv', ltv)::text`;
const MODEL_WHERE = 'ltv >= 50';

if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first');
const db = `audsync_bench_${randomBytes(4).toString('hex')}`;
const dbUrl = Object.assign(new URL(SERVER), { pathname: `/${db}` }).toString();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audsync-bench-pg-'));

await admin(`CREATE DATABASE ${db}`);
try {
  await main();
} finally {
  await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`);
  await admin(`DROP DATABASE IF EXISTS ${db}`);
  if (!process.env.BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
}

async function main() {
  console.log(`incremental-postgres: ${ROWS.toLocaleString('en-US')} source rows, ${REPS} repetition(s), server ${new URL(SERVER).host}`);
  await sql(
    'CREATE SCHEMA src',
    `CREATE TABLE src.customers AS SELECT i::bigint AS customer_id, 'user' || i || '@example.com' AS email,
       (ARRAY['bronze','silver','gold'])[1 + (i % 3)] AS tier, ((i::bigint * 7919) % 1000)::double precision AS ltv, now() AS updated_at
     FROM generate_series(1, ${ROWS}) AS g(i)`,
    'ALTER TABLE src.customers ADD PRIMARY KEY (customer_id)',
    'ANALYZE src.customers',
  );
  fs.mkdirSync(path.join(dir, 'models'));
  fs.writeFileSync(path.join(dir, 'models', 'audience.sql'), `select customer_id, email, tier, ltv from {{source 'src' 'customers'}} where ${MODEL_WHERE}\n`);
  fs.writeFileSync(
    path.join(dir, 'audsync.config.ts'),
    `import { defineConfig } from 'audsync';
export default defineConfig({
  warehouse: { type: 'postgres', connectionString: ${JSON.stringify(dbUrl)} },
  destinations: { out: { type: 'file', path: 'out.jsonl' } },
  syncs: { audience_to_file: { model: 'audience', destination: 'out', key: 'customer_id', fields: { email: 'email', tier: 'tier', ltv: 'ltv' }, guardrails: { maxRemovePercent: 100 } } },
});
`,
  );
  const initial = await timed(process.execPath, [CLI, 'run', '--json']);
  console.log(`initial run (untimed for the ratio): ${initial.ms.toFixed(0)} ms`);
  // The floor's previous materialization, as the CLI's snapshot is for audsync.
  await sql(`CREATE UNLOGGED TABLE public.floor_prev AS SELECT customer_id::text AS record_key, ${FIELDS_JSON} AS fields_json, md5(${FIELDS_JSON}) AS row_hash FROM src.customers WHERE ${MODEL_WHERE}`);
  const rows = [];
  for (let rep = 1; rep <= REPS; rep++) {
    const maxId = ROWS + (rep - 1) * Math.round(ROWS * 0.0025);
    await sql(
      `UPDATE src.customers SET tier = 'platinum', ltv = ltv + 1 WHERE customer_id % 200 = ${rep}`,
      `DELETE FROM src.customers WHERE customer_id % 400 = ${rep + 7}`,
      `INSERT INTO src.customers SELECT i, 'new' || i || '@example.com', 'gold', 500, now() FROM generate_series(${maxId + 1}, ${maxId + Math.round(ROWS * 0.0025)}) AS g(i)`,
      'ANALYZE src.customers',
    );
    const run = await timed(process.execPath, [CLI, 'run', '--json'], { AUDSYNC_TIMINGS_FILE: path.join(dir, 'timings.json') });
    const finished = run.events.find((e) => e.event === 'sync_finished');
    const t = JSON.parse(fs.readFileSync(path.join(dir, 'timings.json'), 'utf8'));
    const floor = await timed(process.execPath, ['--input-type=module', '-e', floorScript()]);
    const delta = finished.counts.planned_add + finished.counts.planned_change + finished.counts.planned_remove;
    rows.push({ rep, audsync: run.ms, floor: floor.ms, ratio: run.ms / floor.ms, delta, floorDelta: Number(floor.stdout.trim()), sql: t.sql_ms, node: t.node_ms });
    console.log(`rep ${rep}: audsync ${run.ms.toFixed(0)} ms (sql ${t.sql_ms.toFixed(0)}, node ${t.node_ms.toFixed(0)}), floor ${floor.ms.toFixed(0)} ms, ratio ${(run.ms / floor.ms).toFixed(2)}x, delta ${delta} (floor ${floor.stdout.trim()})`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const r = median(rows.map((x) => x.ratio));
  console.log(`\nmedian ratio audsync / floor: ${r.toFixed(2)}x (target <= ${TARGET}x): ${r <= TARGET ? 'PASS' : 'FAIL'}`);
  console.log(JSON.stringify({ bench: 'incremental-postgres', rows: ROWS, reps: rows, median_ratio: r, target: TARGET, pass: r <= TARGET }));
  if (r > TARGET) process.exitCode = 1;
}

/** The floor, in a fresh process: materialize, FULL OUTER JOIN with the previous materialization, COPY the delta out. */
function floorScript() {
  return `
import pg from ${JSON.stringify(path.join(ROOT, 'node_modules', 'pg', 'lib', 'index.js'))};
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import copy from ${JSON.stringify(path.join(ROOT, 'node_modules', 'pg-copy-streams', 'index.js'))};
const c = new pg.Client({ connectionString: ${JSON.stringify(dbUrl)} });
await c.connect();
await c.query(\`DROP TABLE IF EXISTS public.floor_cur\`);
await c.query(\`CREATE UNLOGGED TABLE public.floor_cur AS SELECT customer_id::text AS record_key, ${FIELDS_JSON} AS fields_json, md5(${FIELDS_JSON}) AS row_hash FROM src.customers WHERE ${MODEL_WHERE}\`);
const delta = \`SELECT CASE WHEN c.record_key IS NULL THEN 'remove' WHEN p.record_key IS NULL THEN 'add' ELSE 'change' END AS op, COALESCE(c.record_key, p.record_key) AS key, COALESCE(c.fields_json, p.fields_json) AS fields
  FROM public.floor_cur c FULL OUTER JOIN public.floor_prev p ON c.record_key = p.record_key
  WHERE c.record_key IS NULL OR p.record_key IS NULL OR c.row_hash <> p.row_hash\`;
await pipeline(c.query(copy.to(\`COPY (\${delta}) TO STDOUT\`)), fs.createWriteStream(${JSON.stringify(path.join(dir, 'floor-delta.tsv'))}));
await c.query('DROP TABLE public.floor_prev');
await c.query('ALTER TABLE public.floor_cur RENAME TO floor_prev');
await c.end();
process.stdout.write(String(fs.readFileSync(${JSON.stringify(path.join(dir, 'floor-delta.tsv'))}, 'utf8').split(String.fromCharCode(10)).filter(Boolean).length));
`;
}

async function sql(...statements) {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

async function admin(statement) {
  const c = new pg.Client({ connectionString: SERVER });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

function timed(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${args.slice(0, 3).join(' ')} exited ${code}\n${stdout}\n${stderr}`));
      const events = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      resolve({ ms, stdout, events });
    });
  });
}

// The floor's worker: a fresh Node process that opens a DuckDB file, runs SQL
// statements in order, closes the file (DuckDB checkpoints on close) and prints
// one JSON line with its own timings. The benchmark times it from spawn to exit,
// exactly as it times the audsync CLI.
//   node bench/sql-worker.mjs '{"file": "...", "statements": ["..."], "timed": [0, 1]}'
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const spec = JSON.parse(process.argv[2]);
const t = () => performance.now();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// require(), as the engine does (skips the ESM export scan of the CJS package).
const { DuckDBInstance } = createRequire(path.join(root, 'package.json'))('@duckdb/node-api');
const tLoaded = t();
const instance = await DuckDBInstance.create(spec.file);
const conn = await instance.connect();
const tOpen = t();
const statementMs = [];
const results = [];
for (const sql of spec.statements) {
  const t0 = t();
  const reader = await conn.runAndReadAll(sql);
  statementMs.push(t() - t0);
  results.push(reader.columnCount > 0 ? reader.getRowObjectsJson().slice(0, 5) : null);
}
const tSql = t();
conn.closeSync();
instance.closeSync();
const tClosed = t();
const timed = new Set(spec.timed ?? []);
console.log(
  JSON.stringify({
    node_boot_ms: performance.nodeTiming.bootstrapComplete,
    duckdb_load_ms: tLoaded - performance.nodeTiming.bootstrapComplete,
    open_ms: tOpen - tLoaded,
    statements_ms: statementMs,
    timed_ms: statementMs.filter((_, i) => timed.has(i)).reduce((a, b) => a + b, 0),
    sql_ms: tSql - tOpen,
    close_ms: tClosed - tSql,
    in_process_ms: tClosed,
    results,
  }),
);

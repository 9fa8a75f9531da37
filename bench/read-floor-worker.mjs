// The read floor's worker: a fresh Node process that opens a DuckDB file and reads
// the rows of one query into JavaScript exactly as the engine streams its plan
// (engine/warehouse/duckdb-connection.ts stream(): a connection of its own,
// `stream()`, each chunk converted with yieldRowObjectJson()), counting them.
// Prints one JSON line; `read_ms` runs from the query's start to its last chunk,
// which is what audsync's streaming phase contains of the same work.
//   node bench/read-floor-worker.mjs '{"file": "...", "sql": "SELECT ..."}'
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const spec = JSON.parse(process.argv[2]);
const t = () => performance.now();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// require(), as the engine does.
const { DuckDBInstance } = createRequire(path.join(root, 'package.json'))('@duckdb/node-api');
const tLoaded = t();
const instance = await DuckDBInstance.create(spec.file);
const main = await instance.connect();
const tOpen = t();
const reader = await instance.connect();
let rows = 0;
let chunks = 0;
let firstChunkMs;
const t0 = t();
const result = await reader.stream(spec.sql);
for await (const objects of result.yieldRowObjectJson()) {
  if (objects.length === 0) continue;
  if (firstChunkMs === undefined) firstChunkMs = t() - t0;
  rows += objects.length;
  chunks += 1;
}
const readMs = t() - t0;
reader.closeSync();
main.closeSync();
instance.closeSync();
const tClosed = t();
console.log(
  JSON.stringify({
    node_boot_ms: performance.nodeTiming.bootstrapComplete,
    duckdb_load_ms: tLoaded - performance.nodeTiming.bootstrapComplete,
    open_ms: tOpen - tLoaded,
    read_ms: readMs,
    first_chunk_ms: firstChunkMs,
    rows,
    chunks,
    close_ms: tClosed - t0 - readMs,
    in_process_ms: tClosed,
  }),
);

// The read floor's worker: a fresh Node process that opens a DuckDB file and reads
// the rows of one query into JavaScript the fastest way @duckdb/node-api offers: a
// connection of its own, `stream()`, and every value of every column taken out of
// its chunk's vectors (`getItem`), with no object built for a row (the engine,
// engine/warehouse/duckdb/duckdb-connection.ts stream(), reads the same way and then
// builds one per row). It counts the rows and the characters read.
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
let chars = 0;
const result = await reader.stream(spec.sql);
for await (const chunk of result) {
  if (firstChunkMs === undefined) firstChunkMs = t() - t0;
  const n = chunk.rowCount;
  for (let c = 0; c < chunk.columnCount; c++) {
    const vector = chunk.getColumnVector(c);
    // Every value is read, and used, so that nothing is skipped.
    for (let r = 0; r < n; r++) {
      const v = vector.getItem(r);
      if (typeof v === 'string') chars += v.length;
    }
  }
  rows += n;
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
    chars,
    close_ms: tClosed - t0 - readMs,
    in_process_ms: tClosed,
  }),
);

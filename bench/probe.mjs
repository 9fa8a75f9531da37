// Preloaded into the audsync CLI by the benchmarks (`node --import bench/probe.mjs …`)
// to see where a run's time goes without touching the engine: it wraps
// @duckdb/node-api when the engine first requires it and records, per SQL
// statement, the time until DuckDB returned and the time spent fetching chunks,
// plus start-up marks. Written as JSON to $AUDSYNC_BENCH_PROBE_FILE at exit.
// All times are performance.now() (ms since the process started).
import Module from 'node:module';
import fs from 'node:fs';

const out = process.env.AUDSYNC_BENCH_PROBE_FILE;
const now = () => performance.now();
const marks = { probe_loaded: now() };
const statements = [];
const tag = Symbol('probeStatement');
let patched = false;

function record(kind, sql, conn) {
  const s = { kind, sql: String(sql), start: now(), exec_ms: 0, fetch_ms: 0, chunks: 0, stream_conn: conn };
  statements.push(s);
  if (marks.first_statement === undefined) marks.first_statement = s.start;
  return s;
}

function patch(api) {
  const { DuckDBInstance, DuckDBConnection, DuckDBResult, DuckDBAppender } = api;
  const create = DuckDBInstance.create;
  DuckDBInstance.create = async function (...args) {
    const t0 = now();
    try {
      return await create.apply(this, args);
    } finally {
      (marks.instance_create ??= []).push([t0, now()]);
    }
  };
  for (const method of ['run', 'stream']) {
    const orig = DuckDBConnection.prototype[method];
    DuckDBConnection.prototype[method] = async function (sql, ...rest) {
      const s = record(method, sql);
      try {
        const result = await orig.call(this, sql, ...rest);
        if (result && typeof result === 'object') result[tag] = s;
        return result;
      } finally {
        s.exec_ms = now() - s.start;
        marks.last_statement_end = now();
      }
    };
  }
  const fetchChunk = DuckDBResult.prototype.fetchChunk;
  DuckDBResult.prototype.fetchChunk = async function (...args) {
    const t0 = now();
    try {
      return await fetchChunk.apply(this, args);
    } finally {
      const s = this[tag];
      if (s) {
        s.fetch_ms += now() - t0;
        s.chunks += 1;
        marks.last_statement_end = Math.max(marks.last_statement_end ?? 0, now());
      }
    }
  };
  if (DuckDBAppender) {
    const flush = DuckDBAppender.prototype.flushSync;
    DuckDBAppender.prototype.flushSync = function (...args) {
      const s = record('appender_flush', 'APPENDER FLUSH');
      try {
        return flush.apply(this, args);
      } finally {
        s.exec_ms = now() - s.start;
      }
    };
  }
  const closeSync = DuckDBInstance.prototype.closeSync;
  DuckDBInstance.prototype.closeSync = function (...args) {
    const t0 = now();
    try {
      return closeSync.apply(this, args);
    } finally {
      (marks.instance_close ??= []).push([t0, now()]);
    }
  };
}

const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (!patched && request === '@duckdb/node-api') {
    const t0 = now();
    const api = load.call(this, request, parent, isMain);
    marks.duckdb_require = [t0, now()];
    patched = true;
    try {
      patch(api);
    } catch (e) {
      marks.patch_error = String(e);
    }
    return api;
  }
  return load.call(this, request, parent, isMain);
};

process.on('exit', () => {
  if (!out) return;
  marks.exit = now();
  marks.node_boot = performance.nodeTiming?.bootstrapComplete;
  const sqlMs = statements.reduce((a, s) => a + s.exec_ms + s.fetch_ms, 0);
  fs.writeFileSync(out, JSON.stringify({ marks, sql_ms: sqlMs, statements: statements.map(({ stream_conn, ...s }) => s) }));
});

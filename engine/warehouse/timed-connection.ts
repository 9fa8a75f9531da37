import fs from 'node:fs';
import type { Row, WarehouseConnection } from './connection.js';

/**
 * Wraps a connection to tally time spent waiting on the warehouse, so a
 * benchmark can tell the Node side's overhead from SQL execution. Enabled by
 * AUDSYNC_TIMINGS_FILE=<path>; the tally is written there when the connection closes.
 */
export function withTimings(inner: WarehouseConnection, file: string, openMs: number): WarehouseConnection {
  // performance.now() counts from process start, so wall_ms includes Node's start-up and module loading.
  const started = 0;
  let sqlMs = 0;
  let statements = 0;
  const timed = async <T>(p: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    statements += 1;
    try {
      return await p();
    } finally {
      sqlMs += performance.now() - t0;
    }
  };
  return {
    dialect: inner.dialect,
    execute: (sql) => timed(() => inner.execute(sql)),
    query: (sql) => timed(() => inner.query(sql)),
    columns: (sql) => timed(() => inner.columns(sql)),
    async *stream(sql): AsyncIterable<Row[]> {
      const it = inner.stream(sql)[Symbol.asyncIterator]();
      for (;;) {
        const next = await timed(() => it.next());
        if (next.done) return;
        yield next.value;
      }
    },
    bulkWrite: (schema, table, rows) => timed(() => inner.bulkWrite(schema, table, rows)),
    // Time inside fn is counted by the statements it runs.
    transaction: (fn) => inner.transaction(fn),
    acquireRunLock: (sync) => timed(() => inner.acquireRunLock(sync)),
    // Benchmarks run one sync at a time: a sibling is not timed.
    sibling: () => inner.sibling(),
    async close() {
      // Closing is warehouse work too: DuckDB checkpoints its WAL into the file here.
      const closing = performance.now();
      await inner.close();
      sqlMs += performance.now() - closing;
      const wallMs = performance.now() - started;
      fs.writeFileSync(
        file,
        JSON.stringify({
          wall_ms: wallMs,
          sql_ms: sqlMs,
          // Loading the driver's native library and opening the database.
          warehouse_open_ms: openMs,
          // Node's own start-up, before any of our code ran.
          node_boot_ms: (performance as unknown as { nodeTiming: { bootstrapComplete: number } }).nodeTiming.bootstrapComplete,
          // Everything else: audsync's own work (config, compile, orchestration, streaming, destination calls).
          node_ms: wallMs - sqlMs - openMs,
          statements,
          rss_peak_bytes: process.resourceUsage().maxRSS * 1024,
        }),
      );
    },
  };
}

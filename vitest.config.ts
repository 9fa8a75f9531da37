import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Black-box tests spawn the CLI and a warehouse: give them room on a 2-core machine.
    testTimeout: 90_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // A test spends much of its time waiting on a CLI child, DuckDB's threads or a
    // fake server, so a third worker keeps 2 cores busy: 274 s -> 237 s for the
    // whole suite on a 2-core machine (measured 2026-12-04), with no test slower
    // than its own timeouts allow.
    maxWorkers: 3,
  },
});

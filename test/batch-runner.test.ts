import { afterEach, describe, expect, it, vi } from 'vitest';
import { runBatches, type BatchRunnerOptions, type SettledBatch } from '../engine/run/batch-runner.js';
import type { Batch, RowResult } from '../engine/destination/destination-api.js';
import { mergeRanges, rangeRows, subtractRanges, type RowRange } from '../engine/plan/row-ranges.js';
import { WarehouseError } from '../engine/errors.js';
import type { Row } from '../engine/warehouse/connection.js';

/** `n` plan rows, numbered from 1, streamed in chunks of `chunk`. */
async function* planRows(n: number, chunk = 64): AsyncIterable<Row[]> {
  for (let first = 1; first <= n; first += chunk) {
    const rows: Row[] = [];
    for (let i = first; i < Math.min(n + 1, first + chunk); i++) {
      rows.push({ row_no: i, op: 'add', record_key: String(i), fields_json: '{}', destination_record_id: null, previous_fields_json: null, in_snapshot: false });
    }
    yield rows;
  }
}

interface Recorder {
  readonly options: BatchRunnerOptions;
  readonly commits: SettledBatch[][];
  readonly intents: RowRange[][];
  /** Rows sent before an intent covered them (must stay empty). */
  readonly sentUnlogged: RowRange[];
}

function recorder(planned: number, overrides: Partial<BatchRunnerOptions> = {}, send?: (b: Batch) => Promise<RowResult[]>): Recorder {
  const commits: SettledBatch[][] = [];
  const intents: RowRange[][] = [];
  const sentUnlogged: RowRange[] = [];
  const options: BatchRunnerOptions = {
    runId: 'r1',
    sync: 's',
    batchSize: 10,
    concurrency: 2,
    maxAttempts: 1,
    retryBaseDelayMs: 1,
    planned,
    redact: (s) => s,
    client: {
      async sendBatch(b: Batch) {
        // A row's key is its number here.
        const rows = mergeRanges(b.operations.map((o) => [Number(o.key), Number(o.key)] as const));
        sentUnlogged.push(...subtractRanges(rows, intents.flat()));
        return send ? send(b) : b.operations.map(() => ({ status: 'succeeded' as const }));
      },
    },
    logIntent: async (ranges) => {
      intents.push([...ranges]);
    },
    commit: async (batches) => {
      commits.push([...batches]);
    },
    ...overrides,
  };
  return { options, commits, intents, sentUnlogged };
}

const committedRows = (commits: SettledBatch[][]): number => commits.flat().reduce((n, b) => n + b.rows, 0);

describe('the batch runner gathers outcomes into commits and logs intents ahead', () => {
  afterEach(() => vi.useRealTimers());

  it('commits groups of at least `rows` (the last one excepted), every row once, each sent row under an intent logged before it', async () => {
    const r = recorder(300);
    const result = await runBatches(planRows(300), { ...r.options, grouping: { rows: 100, maxDelayMs: 60_000, intentAheadRows: 50 } });
    expect(result.fatal).toBeUndefined();
    expect(result.progress.done).toBe(300);
    expect(committedRows(r.commits)).toBe(300);
    expect(rangeRows(mergeRanges(r.commits.flat().flatMap((b) => b.batch.ranges)))).toBe(300);
    for (const group of r.commits.slice(0, -1)) expect(group.reduce((n, b) => n + b.rows, 0)).toBeGreaterThanOrEqual(100);
    expect(r.commits.length).toBeLessThanOrEqual(3);
    expect(r.sentUnlogged).toEqual([]);
    // An intent reaches 50 rows ahead: 6 writes for 30 batches, never past the plan's last row.
    expect(r.intents.length).toBe(6);
    expect(Math.max(...r.intents.flat().map(([, last]) => last))).toBe(300);
  });

  it('without grouping, each batch is committed on its own and its intent covers just it', async () => {
    const r = recorder(45);
    await runBatches(planRows(45), r.options);
    expect(r.commits.map((g) => g.length)).toEqual([1, 1, 1, 1, 1]);
    expect(r.intents.flat()).toEqual([[1, 10], [11, 20], [21, 30], [31, 40], [41, 45]]);
  });

  it('a batch waits no longer than maxDelayMs for its commit (controllable clock)', async () => {
    vi.useFakeTimers();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The second batch is held by the destination until the test lets it go.
    const r = recorder(20, { concurrency: 2 }, async (b) => {
      if (b.seq === 2) await held;
      return b.operations.map(() => ({ status: 'succeeded' as const }));
    });
    const running = runBatches(planRows(20), { ...r.options, grouping: { rows: 1_000, maxDelayMs: 1_000, intentAheadRows: 10 } });
    await vi.advanceTimersByTimeAsync(999);
    expect(r.commits).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.commits.map((g) => g.map((b) => b.batch.ranges))).toEqual([[[[1, 10]]]]);
    release();
    await vi.runAllTimersAsync();
    await running;
    expect(committedRows(r.commits)).toBe(20);
  });

  it('refused and failed rows travel as exceptions; plain successes only as counts', async () => {
    const r = recorder(30, {}, async (b) => b.operations.map((o) => (o.key === '7' ? { status: 'rejected' as const, message: 'bad email' } : o.key === '8' ? { status: 'succeeded' as const, id: 'dest-8' } : { status: 'succeeded' as const })));
    const result = await runBatches(planRows(30), { ...r.options, grouping: { rows: 1_000, maxDelayMs: 60_000, intentAheadRows: 10 } });
    const batches = r.commits.flat();
    expect(batches.flatMap((b) => b.exceptions.map((e) => [e.operation.key, e.status, e.destinationRecordId]))).toEqual([
      ['7', 'rejected', null],
      ['8', 'succeeded', 'dest-8'],
    ]);
    expect(result.progress).toMatchObject({ done: 30, rejected: 1, succeeded: { add: 29 } });
  });

  it('after a failed commit nothing else commits, and the runner still drains what is in flight', async () => {
    let calls = 0;
    const r = recorder(100, {
      concurrency: 3,
      commit: async () => {
        calls += 1;
        throw new WarehouseError('the connection went away');
      },
    });
    const result = await runBatches(planRows(100), r.options);
    expect(result.fatal?.message).toMatch(/connection went away/);
    expect(calls).toBe(1);
    expect(result.progress.done).toBe(0);
  });
});

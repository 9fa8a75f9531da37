import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * A warehouse the behavioural suite runs on. Every test project gets its own
 * isolated database (a DuckDB file in the project, or a fresh PostgreSQL database).
 */
export interface TestWarehouse {
  readonly name: string;
  /** The `warehouse: {...}` value to put in audsync.config.ts. */
  configLiteral(projectDir: string): string;
  setUp(projectDir: string): Promise<void>;
  exec(projectDir: string, sql: string[]): Promise<void>;
  query(projectDir: string, sql: string): Promise<Array<Record<string, unknown>>>;
  tearDown(projectDir: string): Promise<void>;
}

export const duckdbWarehouse: TestWarehouse = {
  name: 'duckdb',
  configLiteral: () => `{ type: 'duckdb', path: 'warehouse.duckdb' }`,
  async setUp() {},
  async exec(dir, sql) {
    await withDuck(dir, async (c) => {
      for (const s of sql) await c.run(s);
    });
  },
  async query(dir, sql) {
    return withDuck(dir, async (c) => (await c.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>);
  },
  async tearDown() {},
};

async function withDuck<T>(dir: string, fn: (c: Awaited<ReturnType<DuckDBInstance['connect']>>) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(path.join(dir, 'warehouse.duckdb'));
  const c = await db.connect();
  try {
    return await fn(c);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** Every warehouse available on this machine; DuckDB always. */
export async function availableWarehouses(): Promise<TestWarehouse[]> {
  return [duckdbWarehouse];
}

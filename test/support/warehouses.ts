import path from 'node:path';
import pg from 'pg';
import { afterAll, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { freshDatabase, postgresTestUrl } from './postgres-server.js';
import { WAREHOUSE_TYPES, type WarehouseType } from '../../engine/warehouse/warehouse-registry.js';

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
  // createIfMissing: a test may run the CLI before seeding anything (bad-input pins the default, which refuses).
  configLiteral: () => `{ type: 'duckdb', path: 'warehouse.duckdb', createIfMissing: true }`,
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

/**
 * PostgreSQL: a fresh database per project. Query results are shaped like
 * DuckDB's JSON rows (bigint and numeric as text, timestamps as text), so the
 * same assertions hold on both.
 */
export function postgresWarehouse(serverUrl: string): TestWarehouse {
  const dbs = new Map<string, { url: string; drop(): Promise<void> }>();
  const urlOf = (dir: string): string => {
    const db = dbs.get(dir);
    if (!db) throw new Error(`no database set up for ${dir}`);
    return db.url;
  };
  const withClient = async <T>(dir: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: urlOf(dir), types: { getTypeParser: (oid: number) => (oid === 16 ? (v: string) => v === 't' : oid === 23 || oid === 21 ? Number : (v: string) => v) } as pg.CustomTypesConfig });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  // A database costs about 0.1 s to create and as much to drop: the next one is created while a
  // test runs, and drops finish in the background, awaited (errors included) when the file ends.
  type Db = Awaited<ReturnType<typeof freshDatabase>>;
  let spare: Promise<Db> | undefined;
  const drops = new Set<Promise<void>>();
  const dropErrors: unknown[] = [];
  const drop = (db: Db): void => {
    const p = db
      .drop()
      .catch((e: unknown) => void dropErrors.push(e))
      .finally(() => drops.delete(p));
    drops.add(p);
  };
  afterAll(async () => {
    const left = spare;
    spare = undefined;
    if (left) drop(await left);
    await Promise.all([...drops]);
    if (dropErrors.length > 0) throw dropErrors[0];
  });
  return {
    name: 'postgres',
    configLiteral: (dir) => `{ type: 'postgres', connectionString: ${JSON.stringify(urlOf(dir))} }`,
    async setUp(dir) {
      const next = spare ?? freshDatabase(serverUrl);
      spare = freshDatabase(serverUrl);
      // Awaited by the setUp that takes it (or afterAll): a failure surfaces there, not as an unhandled rejection.
      spare.catch(() => undefined);
      dbs.set(dir, await next);
    },
    async exec(dir, sql) {
      await withClient(dir, async (c) => {
        for (const s of sql) await c.query(s);
      });
    },
    async query(dir, sql) {
      return withClient(dir, async (c) => (await c.query(sql)).rows as Array<Record<string, unknown>>);
    },
    async tearDown(dir) {
      const db = dbs.get(dir);
      dbs.delete(dir);
      if (db) drop(db);
    },
  };
}

/**
 * How the behavioural suites reach each warehouse of the registry: a harness, or
 * why this machine has none. Keyed by the registry's types, so a warehouse added
 * there does not compile here until it says how it is tested.
 */
const HARNESSES: Readonly<Record<WarehouseType, () => Promise<TestWarehouse | string>>> = {
  duckdb: async () => duckdbWarehouse,
  postgres: async () => {
    const url = await postgresTestUrl();
    return url ? postgresWarehouse(url) : 'no PostgreSQL server (set AUDSYNC_TEST_POSTGRES_URL or run a Docker engine)';
  },
  // Without an account: golden SQL, snowflake-connection.test.ts (the real driver against a protocol fake) and snowflake-live.test.ts.
  snowflake: async () => 'no Snowflake account for the behavioural suites (snowflake-live.test.ts runs with one)',
};

/**
 * Every registered warehouse this machine can run the suites on, in registry
 * order: DuckDB always. (PostgreSQL's absence is announced once by
 * postgres-server.ts; Snowflake's is permanent here and documented above.)
 */
export async function availableWarehouses(): Promise<TestWarehouse[]> {
  const out: TestWarehouse[] = [];
  for (const type of WAREHOUSE_TYPES) {
    const h = await HARNESSES[type]();
    if (typeof h !== 'string') out.push(h);
  }
  return out;
}

/**
 * `it` on the first available warehouse (DuckDB) and nothing on the others: for
 * tests in a per-warehouse suite whose subject never depends on the warehouse
 * (a config mistake refused before it is opened, a destination's fault handling).
 */
export function itOnFirstWarehouse(wh: TestWarehouse, warehouses: readonly TestWarehouse[]): (title: string, fn: () => Promise<void>) => void {
  return (title, fn) => {
    if (wh === warehouses[0]) it(title, fn);
  };
}

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { REPO } from '../support/cli-project.js';
import type { ScenarioFake, ScenarioRow } from '../support/destination-scenarios.js';
import type { TestWarehouse } from '../support/warehouses.js';

/**
 * The postgres_table destination has no HTTP server to fake: its "fake" is a
 * real PostgreSQL (AUDSYNC_TEST_POSTGRES_URL) with a schema of its own per test,
 * holding the target table, and the scenario knobs built from real database
 * behaviour:
 *
 * - every INSERT/UPDATE/DELETE statement on the table runs a statement-level
 *   trigger that takes a tick from a sequence (sequences are never rolled back,
 *   so failed attempts count too); requestCount() is that tick. An INSERT … ON
 *   CONFLICT DO UPDATE fires both the INSERT and the UPDATE statement triggers,
 *   so a merge that goes through takes two ticks, one that fails stops at the first;
 * - throttleNext(n): the next n statements meet real lock contention: the
 *   fake's own session holds an ACCESS EXCLUSIVE lock on a side table, and the
 *   trigger, with lock_timeout at 20 ms, tries to lock it: PostgreSQL answers
 *   55P03 lock_not_available, as a busy database does;
 * - failNext(n): the next n statements lose their connection: the trigger
 *   terminates its own backend (pg_terminate_backend), so the client sees
 *   57P01 and a closed socket, as in a failover or restart;
 * - rejectKey(key): a CHECK constraint (NOT VALID, so existing rows are not
 *   re-checked) that refuses that key: a genuine 23514 for that row only;
 * - setDelay(ms): the trigger runs pg_sleep(ms) before each statement.
 *
 * ScenarioFake's members(), requestCount() and knobs are synchronous, so they
 * run their SQL through a short-lived child process (`node -e` with pg).
 */
export const POSTGRES_URL = process.env.AUDSYNC_TEST_POSTGRES_URL;

/** The warehouses to run postgres_table scenarios on: none, with a visible notice, when no PostgreSQL is configured. */
export function postgresTableWarehouses(warehouses: TestWarehouse[]): TestWarehouse[] {
  if (POSTGRES_URL) return warehouses;
  console.warn('postgres_table scenarios SKIPPED: set AUDSYNC_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run them');
  return [];
}

const QUERY_SCRIPT = `
import pg from 'pg';
const c = new pg.Client({ connectionString: process.env.FAKE_PG_URL });
await c.connect();
try {
  const r = await c.query(process.env.FAKE_PG_SQL);
  process.stdout.write(JSON.stringify((Array.isArray(r) ? r[r.length - 1] : r).rows ?? []));
} finally {
  await c.end();
}
`;

/** Runs SQL synchronously (a child process), returning the last statement's rows. */
export function syncQuery(url: string, sql: string): Array<Record<string, unknown>> {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', QUERY_SCRIPT], {
    cwd: REPO,
    env: { ...process.env, FAKE_PG_URL: url, FAKE_PG_SQL: sql },
    encoding: 'utf8',
  });
  return JSON.parse(out || '[]') as Array<Record<string, unknown>>;
}

export function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A unique schema per test, so tests never see each other's tables. */
export function uniqueSchema(prefix = 'audsync_pt'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * The DDL of the fault machinery for `table` in `schema` (see the file comment).
 * The table must exist already.
 */
export function faultMachinerySql(schema: string, table: string): string[] {
  const s = quote(schema);
  return [
    `CREATE SEQUENCE ${s}.fake_tick`,
    `CREATE TABLE ${s}.fake_faults (kind text NOT NULL, from_tick bigint NOT NULL, to_tick bigint NOT NULL)`,
    `CREATE TABLE ${s}.fake_settings (delay_ms integer NOT NULL)`,
    `INSERT INTO ${s}.fake_settings VALUES (0)`,
    `CREATE TABLE ${s}.fake_lock ()`,
    `CREATE FUNCTION ${s}.fake_statement_hook() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  tick bigint := nextval(${literal(`${s}.fake_tick`)});
  fault text;
  delay integer;
BEGIN
  SELECT delay_ms INTO delay FROM ${s}.fake_settings;
  IF delay > 0 THEN PERFORM pg_sleep(delay / 1000.0); END IF;
  SELECT kind INTO fault FROM ${s}.fake_faults WHERE tick BETWEEN from_tick AND to_tick LIMIT 1;
  IF fault = 'throttle' THEN
    PERFORM set_config('lock_timeout', '20ms', true);
    LOCK TABLE ${s}.fake_lock IN ACCESS EXCLUSIVE MODE;
  ELSIF fault = 'fail' THEN
    PERFORM pg_terminate_backend(pg_backend_pid());
    PERFORM pg_sleep(5);
  END IF;
  RETURN NULL;
END
$fn$`,
    `CREATE TRIGGER fake_statement_hook BEFORE INSERT OR UPDATE OR DELETE ON ${s}.${quote(table)} FOR EACH STATEMENT EXECUTE FUNCTION ${s}.fake_statement_hook()`,
  ];
}

/** SQL that makes the next `n` write statements meet fault `kind`, after any faults already queued. */
export function queueFaultSql(schema: string, kind: 'throttle' | 'fail', n: number): string {
  const s = quote(schema);
  return (
    `INSERT INTO ${s}.fake_faults (kind, from_tick, to_tick) ` +
    `SELECT ${literal(kind)}, base + 1, base + ${n} FROM (SELECT GREATEST((SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ${s}.fake_tick), ` +
    `(SELECT COALESCE(max(to_tick), 0) FROM ${s}.fake_faults)) AS base) b`
  );
}

export function tickSql(schema: string): string {
  return `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM ${quote(schema)}.fake_tick`;
}

/**
 * Holds an ACCESS EXCLUSIVE lock on `<schema>.fake_lock` in an open transaction
 * of its own connection until released: the contention `throttle` faults meet.
 */
export async function holdFakeLock(url: string, schema: string): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  await c.query('BEGIN');
  await c.query(`LOCK TABLE ${quote(schema)}.fake_lock IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.end().catch(() => undefined);
  };
}

export async function adminExec(url: string, sql: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const s of sql) await c.query(s);
  } finally {
    await c.end();
  }
}

/** The PostgreSQL table seen through the shared scenario interface. */
export function postgresTableScenarioFake(): ScenarioFake {
  const url = POSTGRES_URL ?? '';
  const schema = uniqueSchema();
  const s = quote(schema);
  const constraints: string[] = [];
  let release: (() => Promise<void>) | undefined;
  const q = (sql: string) => syncQuery(url, sql);
  return {
    smallBatch: 7,
    keyColumn: 'id',
    async start() {
      await adminExec(url, [
        `CREATE SCHEMA ${s}`,
        // An app table: typed columns, and one audsync does not map (it must keep its default and never be touched).
        `CREATE TABLE ${s}.people (id bigint PRIMARY KEY, email text NOT NULL, first_name text, tier text, created_at timestamptz NOT NULL DEFAULT now())`,
        ...faultMachinerySql(schema, 'people'),
      ]);
      release = await holdFakeLock(url, schema);
    },
    async stop() {
      await release?.();
      await adminExec(url, [`DROP SCHEMA IF EXISTS ${s} CASCADE`]);
    },
    destinationConfig: () => `{ type: 'postgres_table', connectionString: env('SCENARIO_PG_URL') }`,
    target: () => `{ table: '${schema}.people' }`,
    fields: () => `{ email: 'email', first_name: 'first_name', tier: 'tier' }`,
    env: () => ({ SCENARIO_PG_URL: url }),
    members: () =>
      new Map(q(`SELECT id::text AS id, email, first_name, tier FROM ${s}.people`).map((r) => [String(r.id), { email: r.email, first_name: r.first_name, tier: r.tier }])),
    expected: (rows: ScenarioRow[]) => new Map(rows.map((r) => [String(r.id), { email: r.email, first_name: r.first_name, tier: r.tier }])),
    requestCount: () => Number(q(tickSql(schema))[0]?.n ?? 0),
    throttleNext: (n) => void q(queueFaultSql(schema, 'throttle', n)),
    failNext: (n) => void q(queueFaultSql(schema, 'fail', n)),
    rejectKey: (key) => {
      const name = `fake_reject_${constraints.length + 1}`;
      constraints.push(name);
      q(`ALTER TABLE ${s}.people ADD CONSTRAINT ${quote(name)} CHECK (id::text <> ${literal(key)}) NOT VALID`);
    },
    setDelay: (ms) => void q(`UPDATE ${s}.fake_settings SET delay_ms = ${Math.max(0, Math.round(ms))}`),
    clearFaults: () => {
      const drops = constraints.splice(0).map((c) => `ALTER TABLE ${s}.people DROP CONSTRAINT IF EXISTS ${quote(c)};`);
      q(`DELETE FROM ${s}.fake_faults; UPDATE ${s}.fake_settings SET delay_ms = 0; ${drops.join(' ')}`);
    },
  };
}

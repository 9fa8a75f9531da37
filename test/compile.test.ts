import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemplateCompiler } from '../engine/compile/template-compiler.js';
import { compileMembershipSelect } from '../engine/compile/sync-compiler.js';
import { getDialect, allDialectNames } from '../engine/dialects/dialect-registry.js';
import { BUILTIN_MACROS_DIR, type Project } from '../engine/project/project-loader.js';
import { validateConfig } from '../engine/config/config-validate.js';
import { defineDestination } from '../engine/destination/destination-api.js';
import { createPlanSql, materializeMembersSql } from '../engine/plan/plan-sql.js';
import { syncTables } from '../engine/plan/plan-tables.js';
import { audienceEventsSql, commitBatchSql } from '../engine/state/state-sql.js';
import type { WarehouseType } from '../engine/config/config-types.js';

function project(models: Record<string, string>, macros: Record<string, string> = {}): Project {
  const builtin = fs.readdirSync(BUILTIN_MACROS_DIR).filter((f) => f.endsWith('.sql'));
  return {
    dir: '/p',
    models: new Map(Object.entries(models).map(([name, source]) => [name, { name, file: `models/${name}.sql`, source }])),
    macroFiles: [
      ...builtin.map((f) => ({ file: `audsync/macros/${f}`, source: fs.readFileSync(path.join(BUILTIN_MACROS_DIR, f), 'utf8'), builtin: true })),
      ...Object.entries(macros).map(([f, source]) => ({ file: `macros/${f}`, source, builtin: false })),
    ],
  };
}

const compile = (dialect: WarehouseType, models: Record<string, string>, name: string, macros: Record<string, string> = {}, vars = {}) =>
  new TemplateCompiler(project(models, macros), getDialect(dialect), vars).compileModel(name);

describe('model templates', () => {
  it('inline refs, quote sources and turn vars into literals', () => {
    const sql = compile('duckdb', { base: 'select * from {{source "shop" "orders"}}', top: "select * from {{ref 'base'}} as b where b.amount > {{var 'min'}} and b.country = {{var 'country'}}" }, 'top', {}, { min: 100, country: "O'Hare" });
    expect(sql).toBe(`select * from (\nselect * from "shop"."orders"\n) as b where b.amount > 100 and b.country = 'O''Hare'`);
  });

  it('dispatches macros: <dialect>__name, then default__name; project macros override built-ins', () => {
    const model = { m: "select {{within_days 'ts' 30}} as recent, {{is_true 'flag'}} as ok" };
    expect(compile('duckdb', model, 'm')).toBe(`select (ts >= CURRENT_TIMESTAMP - TO_DAYS(CAST(30 AS INTEGER))) as recent, (lower(trim(CAST(flag AS VARCHAR))) IN ('true', 't', 'yes', 'y', '1')) as ok`);
    const own = { 'mine.sql': "{{#macro 'default__is_true' 'column'}}({{column}} = 'Y'){{/macro}}" };
    expect(compile('duckdb', model, 'm', own)).toContain(`(flag = 'Y') as ok`);
    const duckOnly = { 'mine.sql': "{{#macro 'default__greet' 'x'}}'default {{x}}'{{/macro}}{{#macro 'duckdb__greet' 'x'}}'duck {{x}}'{{/macro}}" };
    expect(compile('duckdb', { g: "select {{greet 'hi'}}" }, 'g', duckOnly)).toBe(`select 'duck hi'`);
  });

  it('compiles a macro file only when a model calls one of its macros; a later file still wins whatever the order', () => {
    // The project file is compiled first (for greet), the built-in defining is_true after it: the project's is_true stays.
    const own = { 'mine.sql': "{{#macro 'default__greet' 'x'}}'hi {{x}}'{{/macro}}\n{{~#macro \"default__is_true\" 'column'}}({{column}} = 'Y'){{/macro}}" };
    expect(compile('duckdb', { m: "select {{greet 'a'}}, {{is_true 'flag'}}" }, 'm', own)).toBe(`select 'hi a', (flag = 'Y')`);
    // A broken macro file no model uses does not stop a run; `audsync compile` (compileAllMacros) reports it by file.
    const compiler = new TemplateCompiler(project({ m: 'select 1' }, { 'broken.sql': "{{#macro 'default__x' 'c'}}{{c}" }), getDialect('duckdb'), {});
    expect(compiler.compileModel('m')).toBe('select 1');
    expect(() => compiler.compileAllMacros()).toThrow(/macros\/broken\.sql:1: template syntax error/);
    // The same file used by a model fails that model's compile, naming the macro file.
    const used = new TemplateCompiler(project({ m: "select {{x 'a'}}" }, { 'broken.sql': "{{#macro 'default__x' 'c'}}{{c}" }), getDialect('duckdb'), {});
    expect(() => used.compileModel('m')).toThrow(/macros\/broken\.sql:1: template syntax error/);
  });

  it('detects circular refs', () => {
    expect(() => compile('duckdb', { a: "select * from {{ref 'b'}} x", b: "select * from {{ref 'a'}} y" }, 'a')).toThrow(/circular ref: a -> b -> a/);
  });

  it('reports an unset var with the file and line', () => {
    expect(() => compile('duckdb', { m: "select 1\nwhere x = {{var 'nope'}}" }, 'm')).toThrow(/models\/m\.sql:2: var "nope" is not set/);
  });
});

describe('identifier hashing in the warehouse', () => {
  it('a destination that declares identifiers gets them hashed by the compiled SQL', () => {
    const adPlatform = defineDestination<Record<string, never>>({
      type: 'test_ads',
      description: 'test',
      options: {},
      identifiers: { EMAIL: { kind: 'email' }, PHONE: { kind: 'phone' } },
      batchSize: { default: 10, max: 10 },
      connect: () => ({ sendBatch: async () => [] }),
    });
    const config = validateConfig(
      { warehouse: { type: 'duckdb' }, destinations: { ads: { type: 'test_ads' } }, syncs: { s: { model: 'm', destination: 'ads', key: 'id', fields: { EMAIL: 'email', PHONE: 'phone', tier: 'tier' } } } },
      '/p/audsync.config.ts',
      { test_ads: adPlatform as never },
    );
    const sql = compileMembershipSelect(getDialect('duckdb'), 'select 1', config.syncs.s!);
    expect(sql).toBe(`SELECT p.record_key, CAST(json_object('EMAIL', p."f_0", 'PHONE', p."f_1", 'tier', p."f_2") AS VARCHAR) AS fields_json,
  CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."f_0" IS NULL AND p."f_1" IS NULL THEN 'no usable identifier' END AS invalid_reason
FROM (
SELECT CAST(m."id" AS VARCHAR) AS record_key,
  CASE WHEN regexp_matches(lower(trim(CAST(m."email" AS VARCHAR))), '^[0-9a-f]{64}$') THEN lower(trim(CAST(m."email" AS VARCHAR))) ELSE sha256(NULLIF(lower(trim(CAST(m."email" AS VARCHAR))), '')) END AS "f_0",
  CASE WHEN regexp_matches(lower(trim(CAST(m."phone" AS VARCHAR))), '^[0-9a-f]{64}$') THEN lower(trim(CAST(m."phone" AS VARCHAR))) ELSE sha256(NULLIF(regexp_replace(regexp_replace(CAST(m."phone" AS VARCHAR), '[^0-9]', '', 'g'), '^0+', '', 'g'), '')) END AS "f_1",
  m."tier" AS "f_2"
FROM (
select 1
) AS m
) AS p`);
  });
});

/** The exact SQL each dialect sends for its working tables (membership, model delta), the plan and the per-batch commit. */
const GOLDEN: Partial<Record<WarehouseType, { working: string[]; plan: string; commit: string[] }>> = {
  duckdb: {
    working: [
      `CREATE OR REPLACE TEMP TABLE temp.main."members__s" AS
SELECT record_key, fields_json, md5(fields_json) AS row_hash, invalid_reason
FROM (
SELECT 1
) AS projected`,
      `CREATE OR REPLACE TEMP TABLE temp.main."model_delta__s" AS
SELECT DISTINCT COALESCE(cur.record_key, prev.record_key) AS record_key, CASE WHEN prev.record_key IS NULL THEN 'enter' ELSE 'exit' END AS event
FROM (SELECT record_key FROM temp.main."members__s" WHERE record_key IS NOT NULL) AS cur
FULL OUTER JOIN "audsync"."model_keys__m" AS prev ON cur.record_key = prev.record_key
WHERE cur.record_key IS NULL OR prev.record_key IS NULL`,
    ],
    plan: `CREATE OR REPLACE TABLE audsync_work.main."plan__s" AS
SELECT op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json FROM (
  SELECT CASE WHEN m.record_key IS NULL THEN 'remove' ELSE CASE WHEN s.record_key IS NULL THEN 'add' ELSE 'change' END END AS op,
    COALESCE(m.record_key, s.record_key) AS record_key,
    COALESCE(m.fields_json, s.fields_json) AS fields_json,
    m.row_hash AS row_hash,
    s.destination_record_id AS destination_record_id,
    CASE WHEN m.record_key IS NOT NULL AND s.record_key IS NOT NULL THEN s.fields_json END AS previous_fields_json
  FROM (SELECT record_key, fields_json, row_hash FROM temp.main."members__s" WHERE invalid_reason IS NULL) AS m
  FULL OUTER JOIN "audsync"."snapshot__s" AS s ON m.record_key = s.record_key
  WHERE m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash
) AS delta
WHERE op IN ('add', 'change', 'remove')`,
    commit: [
      `INSERT INTO "audsync"."sync_changelog" (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, CAST(attempted_at AS TIMESTAMPTZ) FROM "audsync"."stage__s"`,
      `DELETE FROM "audsync"."snapshot__s" WHERE record_key IN (SELECT record_key FROM "audsync"."stage__s" WHERE status = 'succeeded')`,
      `INSERT INTO "audsync"."snapshot__s" (record_key, fields_json, row_hash, destination_record_id, synced_at)
SELECT record_key, fields_json, row_hash, destination_record_id, CAST(attempted_at AS TIMESTAMPTZ) FROM "audsync"."stage__s" WHERE status = 'succeeded' AND keep = 'y'`,
      `DELETE FROM "audsync"."stage__s"`,
    ],
  },
  postgres: {
    working: [
      `DROP TABLE IF EXISTS "audsync"."members__s"`,
      `CREATE UNLOGGED TABLE "audsync"."members__s" AS
SELECT record_key, fields_json, md5(fields_json) AS row_hash, invalid_reason
FROM (
SELECT 1
) AS projected`,
      `ANALYZE "audsync"."members__s"`,
      `DROP TABLE IF EXISTS "audsync"."model_delta__s"`,
    ],
    plan: `DROP TABLE IF EXISTS "audsync"."plan__s";
CREATE UNLOGGED TABLE "audsync"."plan__s" AS
SELECT op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json FROM (
  SELECT CASE WHEN m.record_key IS NULL THEN 'remove' ELSE CASE WHEN s.record_key IS NULL THEN 'add' ELSE 'change' END END AS op,
    COALESCE(m.record_key, s.record_key) AS record_key,
    COALESCE(m.fields_json, s.fields_json) AS fields_json,
    m.row_hash AS row_hash,
    s.destination_record_id AS destination_record_id,
    CASE WHEN m.record_key IS NOT NULL AND s.record_key IS NOT NULL THEN s.fields_json END AS previous_fields_json
  FROM (SELECT record_key, fields_json, row_hash FROM "audsync"."members__s" WHERE invalid_reason IS NULL) AS m
  FULL OUTER JOIN "audsync"."snapshot__s" AS s ON m.record_key = s.record_key
  WHERE m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash
) AS delta
WHERE op IN ('add', 'change', 'remove')`,
    commit: [
      `INSERT INTO "audsync"."sync_changelog" (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, CAST(attempted_at AS TIMESTAMPTZ) FROM "audsync"."stage__s"`,
      `DELETE FROM "audsync"."snapshot__s" WHERE record_key IN (SELECT record_key FROM "audsync"."stage__s" WHERE status = 'succeeded')`,
      `INSERT INTO "audsync"."snapshot__s" (record_key, fields_json, row_hash, destination_record_id, synced_at)
SELECT record_key, fields_json, row_hash, destination_record_id, CAST(attempted_at AS TIMESTAMPTZ) FROM "audsync"."stage__s" WHERE status = 'succeeded' AND keep = 'y'`,
      `TRUNCATE "audsync"."stage__s"`,
    ],
  },
  snowflake: {
    working: [
      `CREATE OR REPLACE TRANSIENT TABLE "AUDSYNC"."MEMBERS__S" AS
SELECT record_key, fields_json, MD5(fields_json) AS row_hash, invalid_reason
FROM (
SELECT 1
) AS projected`,
      `CREATE OR REPLACE TRANSIENT TABLE "AUDSYNC"."MODEL_DELTA__S" AS
SELECT DISTINCT COALESCE(cur.record_key, prev.record_key) AS record_key, CASE WHEN prev.record_key IS NULL THEN 'enter' ELSE 'exit' END AS event
FROM (SELECT record_key FROM "AUDSYNC"."MEMBERS__S" WHERE record_key IS NOT NULL) AS cur
FULL OUTER JOIN "AUDSYNC"."MODEL_KEYS__M" AS prev ON cur.record_key = prev.record_key
WHERE cur.record_key IS NULL OR prev.record_key IS NULL`,
    ],
    plan: `CREATE OR REPLACE TRANSIENT TABLE "AUDSYNC"."PLAN__S" AS
SELECT op, record_key, fields_json, row_hash, destination_record_id, previous_fields_json FROM (
  SELECT CASE WHEN m.record_key IS NULL THEN 'remove' ELSE CASE WHEN s.record_key IS NULL THEN 'add' ELSE 'change' END END AS op,
    COALESCE(m.record_key, s.record_key) AS record_key,
    COALESCE(m.fields_json, s.fields_json) AS fields_json,
    m.row_hash AS row_hash,
    s.destination_record_id AS destination_record_id,
    CASE WHEN m.record_key IS NOT NULL AND s.record_key IS NOT NULL THEN s.fields_json END AS previous_fields_json
  FROM (SELECT record_key, fields_json, row_hash FROM "AUDSYNC"."MEMBERS__S" WHERE invalid_reason IS NULL) AS m
  FULL OUTER JOIN "AUDSYNC"."SNAPSHOT__S" AS s ON m.record_key = s.record_key
  WHERE m.record_key IS NULL OR s.record_key IS NULL OR m.row_hash <> s.row_hash
) AS delta
WHERE op IN ('add', 'change', 'remove')`,
    commit: [
      `INSERT INTO "AUDSYNC"."SYNC_CHANGELOG" (run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, attempted_at)
SELECT run_id, sync_name, record_key, op, status, destination_record_id, error_code, error_message, CAST(attempted_at AS TIMESTAMP_TZ) FROM "AUDSYNC"."STAGE__S"`,
      `DELETE FROM "AUDSYNC"."SNAPSHOT__S" WHERE record_key IN (SELECT record_key FROM "AUDSYNC"."STAGE__S" WHERE status = 'succeeded')`,
      `INSERT INTO "AUDSYNC"."SNAPSHOT__S" (record_key, fields_json, row_hash, destination_record_id, synced_at)
SELECT record_key, fields_json, row_hash, destination_record_id, CAST(attempted_at AS TIMESTAMP_TZ) FROM "AUDSYNC"."STAGE__S" WHERE status = 'succeeded' AND keep = 'y'`,
      `DELETE FROM "AUDSYNC"."STAGE__S"`,
    ],
  },
};

describe.each(allDialectNames())('golden SQL for %s', (name) => {
  const d = getDialect(name);
  const t = syncTables(d, 'audsync', 's', 'm');
  it('has golden statements recorded', () => expect(GOLDEN[name], `add GOLDEN.${name}`).toBeDefined());
  it('builds the membership and the model delta as working tables', () => {
    expect([...materializeMembersSql(d, t, 'SELECT 1'), audienceEventsSql(d, 'audsync', t, 'm', 'r1', '2026-01-01T00:00:00Z')[0]]).toEqual(GOLDEN[name]!.working);
  });
  it('plans with a FULL OUTER JOIN of membership and snapshot', () => {
    expect(createPlanSql(d, t, 'mirror', false).join(';\n')).toBe(GOLDEN[name]!.plan);
  });
  it('commits a batch as changelog insert plus snapshot advance', () => {
    expect(commitBatchSql(d, 'audsync', t)).toEqual(GOLDEN[name]!.commit);
  });
  it('skips the snapshot DELETE when no row of the batch can be in the snapshot yet', () => {
    expect(commitBatchSql(d, 'audsync', t, false)).toEqual(GOLDEN[name]!.commit.filter((sql) => !sql.startsWith(`DELETE FROM ${t.snapshot}`)));
    expect(commitBatchSql(d, 'audsync', t, false)).toHaveLength(GOLDEN[name]!.commit.length - 1);
  });
});

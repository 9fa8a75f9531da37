import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemplateCompiler } from '../engine/compile/template-compiler.js';
import { compileMembershipSelect } from '../engine/compile/sync-compiler.js';
import { getDialect } from '../engine/warehouse/warehouse-registry.js';
import { BUILTIN_MACROS_DIR, type Project } from '../engine/project/project-loader.js';
import { validateConfig } from '../engine/config/config-validate.js';
import { defineDestination } from '../engine/destination/destination-api.js';
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


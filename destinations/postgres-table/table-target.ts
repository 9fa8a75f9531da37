import type pg from 'pg';
import { type Operation, DestinationError } from '../../engine/destination/index.js';

/** `schema.table` as given in the sync's target; names are used exactly as written (quoted). */
export interface TableName {
  schema: string | undefined;
  table: string;
}

/** What audsync needs to know about the target table, read from the catalog. */
export interface TableShape {
  /** `"schema"."table"`, quoted. */
  readonly sql: string;
  /** Human-readable `schema.table`. */
  readonly label: string;
  /**
   * Column name -> SQL type without modifiers (`bigint`, `character varying`):
   * what a key is cast to for comparison. Without the length on purpose: an
   * explicit cast to varchar(n) truncates silently, and could match another row.
   */
  readonly columns: ReadonlyMap<string, string>;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function parseTableName(value: string): TableName {
  const dot = value.indexOf('.');
  if (dot < 0) return { schema: undefined, table: value };
  return { schema: value.slice(0, dot), table: value.slice(dot + 1) };
}

/**
 * Reads the table's columns and checks what the merge needs: every mapped column
 * exists, and the key column has a unique, non-partial index (ON CONFLICT needs one).
 * Returns undefined when the table does not exist.
 */
export async function inspectTable(client: pg.PoolClient, name: TableName): Promise<(TableShape & { keyIsUnique: (key: string) => boolean }) | undefined> {
  const found = await client.query<{ oid: number; nspname: string; relname: string }>(
    `SELECT c.oid, n.nspname, c.relname
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND n.nspname = COALESCE($2, current_schema()) AND c.relkind IN ('r', 'p')`,
    [name.table, name.schema ?? null],
  );
  const rel = found.rows[0];
  if (!rel) return undefined;
  const cols = await client.query<{ attname: string; type: string; attnum: number }>(
    `SELECT attname, format_type(atttypid, NULL) AS type, attnum
       FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [rel.oid],
  );
  const unique = await client.query<{ attnum: number }>(
    `SELECT i.indkey[0] AS attnum FROM pg_catalog.pg_index i
      WHERE i.indrelid = $1 AND i.indisunique AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 1`,
    [rel.oid],
  );
  const uniqueAttnums = new Set(unique.rows.map((r) => Number(r.attnum)));
  const attnumOf = new Map(cols.rows.map((c) => [c.attname, Number(c.attnum)]));
  return {
    sql: `${quoteIdent(rel.nspname)}.${quoteIdent(rel.relname)}`,
    label: `${rel.nspname}.${rel.relname}`,
    columns: new Map(cols.rows.map((c) => [c.attname, c.type])),
    keyIsUnique: (key) => uniqueAttnums.has(attnumOf.get(key) ?? -1),
  };
}

/**
 * Column types for a table audsync creates, from the JSON types of the first
 * batch's values: numbers are `numeric` (exact for integers and decimals alike),
 * booleans `boolean`, objects and arrays `jsonb`, everything else (strings, dates
 * as the warehouse formats them, all-null columns) `text`. The key is `text`:
 * audsync carries it as text.
 */
export function inferColumnTypes(fields: readonly string[], ops: readonly Operation[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fields) {
    let type = 'text';
    for (const op of ops) {
      const v = op.fields[f];
      if (v === null || v === undefined) continue;
      type = typeof v === 'number' ? 'numeric' : typeof v === 'boolean' ? 'boolean' : typeof v === 'object' ? 'jsonb' : 'text';
      break;
    }
    out.set(f, type);
  }
  return out;
}

export function createTableSql(name: TableName, keyColumn: string, columns: ReadonlyMap<string, string>, softDeleteColumn: string | undefined): string[] {
  const table = name.schema === undefined ? quoteIdent(name.table) : `${quoteIdent(name.schema)}.${quoteIdent(name.table)}`;
  const defs = [`${quoteIdent(keyColumn)} text PRIMARY KEY`];
  for (const [c, t] of columns) if (c !== keyColumn && c !== softDeleteColumn) defs.push(`${quoteIdent(c)} ${t}`);
  if (softDeleteColumn !== undefined) defs.push(`${quoteIdent(softDeleteColumn)} timestamptz`);
  const sql: string[] = [];
  if (name.schema !== undefined) sql.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(name.schema)}`);
  // IF NOT EXISTS: never touches a table that appeared meanwhile (another run, a user).
  sql.push(`CREATE TABLE IF NOT EXISTS ${table} (${defs.join(', ')})`);
  return sql;
}

/** Refuses a table the merge cannot write, naming what is missing; audsync never alters it. */
export function checkShape(shape: TableShape & { keyIsUnique: (key: string) => boolean }, keyColumn: string, fields: readonly string[], softDeleteColumn: string | undefined, who: string): void {
  const missing = [keyColumn, ...fields, ...(softDeleteColumn === undefined ? [] : [softDeleteColumn])].filter((c) => !shape.columns.has(c));
  if (missing.length > 0) {
    throw new DestinationError(`${who}: table ${shape.label} has no column ${missing.map((m) => JSON.stringify(m)).join(', ')}`, {
      retryable: false,
      code: 'missing_column',
      hint: "audsync never alters your table: add the columns, or change the sync's fields / target.keyColumn / target.softDeleteColumn.",
    });
  }
  if (!shape.keyIsUnique(keyColumn)) {
    throw new DestinationError(`${who}: table ${shape.label} needs a PRIMARY KEY or UNIQUE constraint on exactly (${JSON.stringify(keyColumn)}) for INSERT … ON CONFLICT`, {
      retryable: false,
      code: 'no_unique_key',
      hint: `Add one, e.g. ALTER TABLE ${shape.label} ADD UNIQUE (${quoteIdent(keyColumn)}), or point target.keyColumn at a unique column.`,
    });
  }
}

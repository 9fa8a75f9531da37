import { quoteIdent, type TableShape } from './table-target.js';

/** Per-connection staging table; `pg_temp.` so a user table of the same name is never touched. */
export const STAGE = 'pg_temp.audsync_stage';

/** ON COMMIT DELETE ROWS: the table lives as long as the pooled connection and is empty at each batch's start. */
export const CREATE_STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS audsync_stage (ord integer NOT NULL, op text NOT NULL, key text NOT NULL, doc text NOT NULL) ON COMMIT DELETE ROWS`;

export const COPY_STAGE_SQL = `COPY ${STAGE} (ord, op, key, doc) FROM STDIN`;

export interface MergeSpec {
  readonly shape: TableShape;
  readonly keyColumn: string;
  readonly fields: readonly string[];
  readonly softDeleteColumn: string | undefined;
}

/** Escapes a value for COPY's text format (backslash, tab, newline, carriage return). */
export function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/**
 * The one merge statement for the staged adds and changes whose `ord` is in $1.
 * jsonb_populate_record converts each JSON value with the column's own type
 * input (numbers, dates, arrays, jsonb), so the table's types are respected
 * and a value a column cannot take fails as a data error for its row.
 */
export function upsertSql(m: MergeSpec): string {
  const cols = [m.keyColumn, ...m.fields.filter((f) => f !== m.keyColumn)];
  const q = cols.map(quoteIdent);
  const insertCols = [...q];
  const selectCols = q.map((c) => `r.${c}`);
  const updates = q.slice(1).map((c) => `${c} = EXCLUDED.${c}`);
  if (m.softDeleteColumn !== undefined) {
    // A member that comes back is live again.
    insertCols.push(quoteIdent(m.softDeleteColumn));
    selectCols.push('NULL');
    updates.push(`${quoteIdent(m.softDeleteColumn)} = NULL`);
  }
  const conflict = updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING';
  return (
    `INSERT INTO ${m.shape.sql} AS t (${insertCols.join(', ')}) ` +
    `SELECT ${selectCols.join(', ')} FROM ${STAGE} s ` +
    `CROSS JOIN LATERAL jsonb_populate_record(NULL::${m.shape.sql}, s.doc::jsonb || jsonb_build_object(${literal(m.keyColumn)}, s.key)) r ` +
    `WHERE s.op <> 'remove' AND s.ord = ANY($1::int[]) ` +
    `ON CONFLICT (${quoteIdent(m.keyColumn)}) ${conflict}`
  );
}

/**
 * `update` mode: the staged changes (ord in $1) update rows the table has and
 * skip the rest; nothing is inserted, and a soft-deleted row stays deleted.
 */
export function updateSql(m: MergeSpec): string {
  const key = quoteIdent(m.keyColumn);
  const sets = m.fields.filter((f) => f !== m.keyColumn).map((f) => `${quoteIdent(f)} = r.${quoteIdent(f)}`);
  // With no field to set, an update is a no-op that still proves the row exists.
  if (sets.length === 0) sets.push(`${key} = t.${key}`);
  return (
    `UPDATE ${m.shape.sql} AS t SET ${sets.join(', ')} FROM ${STAGE} s ` +
    `CROSS JOIN LATERAL jsonb_populate_record(NULL::${m.shape.sql}, s.doc::jsonb || jsonb_build_object(${literal(m.keyColumn)}, s.key)) r ` +
    `WHERE t.${key} = r.${key} AND s.op <> 'remove' AND s.ord = ANY($1::int[])`
  );
}

/** Removal of the staged removes whose `ord` is in $1: DELETE, or stamping the soft-delete column. */
export function removeSql(m: MergeSpec): string {
  const key = quoteIdent(m.keyColumn);
  const match = `t.${key} = s.key::${keyType(m)} AND s.op = 'remove' AND s.ord = ANY($1::int[])`;
  if (m.softDeleteColumn === undefined) return `DELETE FROM ${m.shape.sql} AS t USING ${STAGE} s WHERE ${match}`;
  const soft = quoteIdent(m.softDeleteColumn);
  // Keeps the first removal time when a removal is repeated (retries, at-least-once delivery).
  return `UPDATE ${m.shape.sql} AS t SET ${soft} = now() FROM ${STAGE} s WHERE ${match} AND t.${soft} IS NULL`;
}

/** Staged adds/changes (ord in $1) whose key is not in the table after the merge: a trigger or rule skipped them. */
export function unwrittenSql(m: MergeSpec): string {
  const key = quoteIdent(m.keyColumn);
  return (
    `SELECT s.ord FROM ${STAGE} s WHERE s.op <> 'remove' AND s.ord = ANY($1::int[]) ` +
    `AND NOT EXISTS (SELECT 1 FROM ${m.shape.sql} t WHERE t.${key} = s.key::${keyType(m)})`
  );
}

function keyType(m: MergeSpec): string {
  return m.shape.columns.get(m.keyColumn) ?? 'text';
}

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

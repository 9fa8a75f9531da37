import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Operation, RowResult } from '../../engine/destination/index.js';
import { classifyPgError, pgReason, sqlState } from './pg-errors.js';
import { COPY_STAGE_SQL, CREATE_STAGE_SQL, copyText, removeSql, unwrittenSql, upsertSql, updateSql, type MergeSpec } from './merge-sql.js';

/** COPY lines per chunk written to the stream: bounded memory, few writes. */
const COPY_CHUNK_LINES = 1_000;

export interface WriteOptions {
  /** `update` mode: change existing rows only, never insert. */
  readonly updateOnly: boolean;
}

/**
 * Writes one batch in one transaction: COPY into the staging table, then one
 * merge statement for the adds and changes and one statement for the removes.
 * When a statement fails because of a row (constraint, bad value, a trigger
 * that raised), the batch is bisected under savepoints until the offending rows
 * are found; they are rejected with the database's message and the rest commit.
 * Errors that are not about a row are thrown (the caller classifies them).
 */
export async function writeBatch(client: pg.PoolClient, m: MergeSpec, ops: readonly Operation[], o: WriteOptions): Promise<RowResult[]> {
  const upsert = o.updateOnly ? updateSql(m) : upsertSql(m);
  const remove = removeSql(m);
  const rejected = new Map<number, RowResult>();
  let savepoints = 0;

  /** Runs the statements for these rows; returns how many table rows the merge wrote. */
  const apply = async (ords: readonly number[]): Promise<number> => {
    const up = ords.filter((i) => ops[i]!.op !== 'remove');
    const rm = ords.filter((i) => ops[i]!.op === 'remove');
    let written = 0;
    if (up.length > 0) written = (await client.query(upsert, [up])).rowCount ?? 0;
    if (rm.length > 0) await client.query(remove, [rm]);
    return written;
  };

  /** `ords` is known to hold at least one offending row: split it and try each half under a savepoint. */
  const bisect = async (ords: readonly number[], error: unknown): Promise<number> => {
    if (ords.length === 1) {
      rejected.set(ords[0]!, { status: 'rejected', code: sqlState(error) ?? 'rejected', message: pgReason(error) });
      return 0;
    }
    const mid = ords.length >>> 1;
    let written = 0;
    for (const half of [ords.slice(0, mid), ords.slice(mid)]) {
      const sp = `audsync_sp_${++savepoints}`;
      await client.query(`SAVEPOINT ${sp}`);
      try {
        written += await apply(half);
        await client.query(`RELEASE SAVEPOINT ${sp}`);
      } catch (e) {
        if (classifyPgError(e) !== 'row') throw e;
        await client.query(`ROLLBACK TO SAVEPOINT ${sp}`);
        await client.query(`RELEASE SAVEPOINT ${sp}`);
        written += await bisect(half, e);
      }
    }
    return written;
  };

  await client.query('BEGIN');
  try {
    // Deferred constraints are checked per statement, so a violation can be traced to its row instead of failing COMMIT.
    await client.query('SET CONSTRAINTS ALL IMMEDIATE');
    await client.query(CREATE_STAGE_SQL);
    await pipeline(Readable.from(copyLines(ops)), client.query(copyStreams.from(COPY_STAGE_SQL)));
    await client.query('SAVEPOINT audsync_staged');
    const all = ops.map((_, i) => i);
    let written: number;
    try {
      written = await apply(all);
      await client.query('RELEASE SAVEPOINT audsync_staged');
    } catch (e) {
      if (classifyPgError(e) !== 'row') throw e;
      await client.query('ROLLBACK TO SAVEPOINT audsync_staged');
      written = await bisect(all, e);
    }
    const missing = o.updateOnly ? new Set<number>() : await unwritten(client, m, ops, rejected, written);
    await client.query('COMMIT');
    return ops.map((_, i): RowResult => {
      const r = rejected.get(i);
      if (r) return r;
      if (missing.has(i)) return { status: 'failed', code: 'not_written', message: 'the merge did not write this row (a trigger or rule on the table skipped it)' };
      return { status: 'succeeded' };
    });
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/**
 * Adds/changes that are not in the table after the merge. Checked only when the
 * merge wrote fewer rows than it was given, which is rare (a BEFORE trigger that
 * returns NULL, a rule, or DO NOTHING on a key-only table).
 */
async function unwritten(client: pg.PoolClient, m: MergeSpec, ops: readonly Operation[], rejected: ReadonlyMap<number, RowResult>, written: number): Promise<Set<number>> {
  const upserts = ops.map((op, i) => (op.op !== 'remove' && !rejected.has(i) ? i : -1)).filter((i) => i >= 0);
  if (written >= upserts.length) return new Set();
  const res = await client.query<{ ord: number }>(unwrittenSql(m), [upserts]);
  return new Set(res.rows.map((r) => Number(r.ord)));
}

function* copyLines(ops: readonly Operation[]): Generator<string> {
  let chunk = '';
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    chunk += `${i}\t${op.op}\t${copyText(op.key)}\t${copyText(op.fieldsJson)}\n`;
    if ((i + 1) % COPY_CHUNK_LINES === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

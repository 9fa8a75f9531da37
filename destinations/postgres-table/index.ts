import type pg from 'pg';
import { defineDestination, type Batch, type DestinationContext, type Operation, type RowResult, resolveSecret, type Secret, ConfigError, DestinationError } from '../../engine/destination/index.js';
import type { MergeSpec } from './merge-sql.js';
import { toDestinationError } from './pg-errors.js';
import { checkShape, createTableSql, inferColumnTypes, inspectTable, parseTableName } from './table-target.js';

/**
 * Rows per batch. PostgreSQL documents no limit; a batch is one transaction
 * holding its rows' locks until COMMIT, and a row-level failure costs about
 * log2(batch) extra statements to isolate, so batches stay moderate.
 */
export const PG_TABLE_DEFAULT_BATCH = 5_000;
export const PG_TABLE_MAX_BATCH = 50_000;
/** Batches in flight: disjoint keys do not block each other; more mostly adds lock and WAL contention. */
const PG_TABLE_CONCURRENCY = 2;
/** Connections the pool may open: one per batch in flight, with room for a raised `concurrency`. */
const POOL_MAX = 8;

interface PostgresTableOptions {
  connectionString: Secret;
}

interface TargetSettings {
  table: string;
  keyColumn: string;
  softDeleteColumn: string | undefined;
  createTable: boolean;
}

export const postgresTable = defineDestination<PostgresTableOptions>({
  type: 'postgres_table',
  description: 'Upserts the audience into a table of an operational PostgreSQL database (COPY + one INSERT … ON CONFLICT per batch); removes delete or soft-delete.',
  options: {
    connectionString: { type: 'secret', required: true, description: "postgres:// URL of the database, e.g. env('APP_DB_URL')" },
  },
  target: {
    table: { type: 'string', required: true, description: 'target table, schema-qualified (e.g. "crm.vip_customers"); names are used as written' },
    keyColumn: { type: 'string', description: "column that holds the sync's key (default: the sync's key name); needs a PRIMARY KEY or UNIQUE constraint" },
    softDeleteColumn: { type: 'string', description: 'timestamptz column set to now() on remove (and cleared when the member comes back) instead of deleting the row' },
    createTable: { type: 'boolean', description: 'create the table when it does not exist (default false); an existing table is never altered' },
  },
  batchSize: { default: PG_TABLE_DEFAULT_BATCH, max: PG_TABLE_MAX_BATCH },
  concurrency: PG_TABLE_CONCURRENCY,
  async connect(ctx: DestinationContext<PostgresTableOptions>) {
    // Loaded here, not at the top: every command loads the destination registry, few use this destination.
    const [{ default: pgModule }, { writeBatch }] = await Promise.all([import('pg'), import('./batch-writer.js')]);
    const t = targetSettings(ctx);
    const who = `destination ${ctx.name}`;
    const pool = new pgModule.Pool({
      connectionString: resolveSecret(ctx.options.connectionString, `destinations.${ctx.name}.connectionString`),
      max: POOL_MAX,
      connectionTimeoutMillis: ctx.timeoutMs,
      // Every statement is bounded; a timeout is a transient failure of the batch (57014), retried by the engine.
      statement_timeout: ctx.timeoutMs,
      application_name: `audsync ${ctx.sync.name}`,
    });
    // An idle pooled connection the server closes must not crash the run; the next checkout reconnects.
    pool.on('error', () => undefined);
    // A checked-out client has no 'error' listener (pg-pool removes its own), and a connection
    // the server terminates mid-batch emits one: the failing query reports it, the event must not crash the run.
    const guarded = new WeakSet<pg.PoolClient>();
    const fields = ctx.sync.fields;
    let spec: Promise<MergeSpec> | undefined;

    /** Reads (and with createTable, creates) the table once per run; a failure is retried by the next batch. */
    const prepare = (client: pg.PoolClient, ops: readonly Operation[]): Promise<MergeSpec> => {
      spec ??= (async () => {
        const name = parseTableName(t.table);
        let shape = await inspectTable(client, name);
        if (!shape && t.createTable) {
          for (const sql of createTableSql(name, t.keyColumn, inferColumnTypes(fields, ops), t.softDeleteColumn)) await client.query(sql);
          shape = await inspectTable(client, name);
        }
        if (!shape) {
          throw new DestinationError(`${who}: table ${t.table} does not exist`, {
            retryable: false,
            code: 'no_table',
            hint: 'Create it (with a unique key column), or set target.createTable: true to let audsync create it.',
          });
        }
        checkShape(shape, t.keyColumn, fields, t.softDeleteColumn, who);
        return { shape, keyColumn: t.keyColumn, fields, softDeleteColumn: t.softDeleteColumn };
      })();
      spec.catch(() => (spec = undefined));
      return spec;
    };

    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        let client: pg.PoolClient;
        try {
          client = await pool.connect();
        } catch (e) {
          throw toDestinationError(e, who, t.table);
        }
        if (!guarded.has(client)) {
          guarded.add(client);
          client.on('error', () => undefined);
        }
        let healthy = false;
        try {
          const m = await prepare(client, batch.operations);
          const results = await writeBatch(client, m, batch.operations, { updateOnly: ctx.sync.mode === 'update' });
          healthy = true;
          return results;
        } catch (e) {
          throw toDestinationError(e, who, t.table);
        } finally {
          // A connection that saw an error is dropped rather than reused: it may be mid-transaction or dead.
          client.release(!healthy);
        }
      },
      async close() {
        await pool.end();
      },
    };
  },
});

function targetSettings(ctx: DestinationContext<PostgresTableOptions>): TargetSettings {
  const at = `syncs.${ctx.sync.name}.target`;
  const str = (k: string): string | undefined => {
    const v = ctx.target[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(`${at}.${k}: must be a non-empty string`);
    return v;
  };
  const table = str('table');
  if (table === undefined) throw new ConfigError(`${at}.table: is required by destination ${ctx.name} (postgres_table)`, { hint: 'e.g. target: { table: "crm.vip_customers" }' });
  const softDeleteColumn = str('softDeleteColumn');
  const keyColumn = str('keyColumn') ?? ctx.sync.key;
  if (softDeleteColumn !== undefined && (softDeleteColumn === keyColumn || ctx.sync.fields.includes(softDeleteColumn))) {
    throw new ConfigError(`${at}.softDeleteColumn: ${JSON.stringify(softDeleteColumn)} is also the key or a mapped field`, { hint: 'Use a column of its own, e.g. "removed_at".' });
  }
  return { table, keyColumn, softDeleteColumn, createTable: ctx.target.createTable === true };
}

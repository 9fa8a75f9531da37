import { createRequire } from 'node:module';
import type { Dialect, WorkingScope } from '../warehouse/dialect.js';

/** PostgreSQL silently truncates identifiers past 63 bytes (NAMEDATALEN - 1); we never rely on truncation. */
const MAX_TABLE_NAME = 63;

/** The governance table of refused rows and quarantine (one for all syncs, by sync_name). */
export const REJECTIONS_TABLE = 'row_rejections';

/** Internal: for each sync, the seal of the row hash function its snapshot was hashed with. */
export const ROW_HASH_SEALS_TABLE = 'row_hash_seals';

/** Names of audsync's internal tables for one sync. Not a public contract. */
export interface SyncTables {
  /** The state schema and the snapshot's own name in it (for the catalog). */
  readonly schema: string;
  readonly snapshotName: string;
  /** Per sync, which row hash function its snapshot's hashes were made with (see Dialect.rowHashSeal). */
  readonly rowHashSeals: string;
  /** The membership this run (a working table: see Dialect.workingRelation). */
  readonly members: string;
  readonly snapshot: string;
  /**
   * The plan of the sync's latest run, rows numbered from 1. Durable: it stays
   * until the next run has read from it what the destination may hold (the
   * plan log says which rows were in flight), so it lives beside the snapshot.
   */
  readonly plan: string;
  /** The plan log: the plan's run, and per batch its intent (before sending) and its commit, as row ranges. */
  readonly planLog: string;
  /** Rows of the current plan whose outcome is not plain success (rejections, failures, new destination ids). */
  readonly outcomes: string;
  readonly outcomesName: string;
  /**
   * Keys whose state at the destination is not known to match the snapshot:
   * uncertain (an attempt whose outcome was lost; `fields_json` is what it may
   * have left there) or owed (an interrupted full refresh still has to send
   * them). The plan sends each again until one attempt is acknowledged.
   */
  readonly pending: string;
  /** `row_rejections`, shared by every sync (filtered by sync_name): refused rows, their streak, quarantine. */
  readonly rejections: string;
  /** Keys of the model at its last recorded run, for audience_events. */
  readonly modelKeys: string;
  /** Who entered or left the model this run (a working table). */
  readonly modelDelta: string;
  /** The keys of the plan, diffed before any fields are read (a working table; see createPlanSql's fieldsFrom). */
  readonly planKeys: string;
  /**
   * Where earlier versions kept the working tables, when that differs: dropped
   * on each run so an old database does not keep a copy of every membership.
   */
  readonly retired: readonly string[];
}

export function syncTables(dialect: Dialect, schema: string, sync: string, model: string): SyncTables {
  const outcomesName = tableName('outcomes', sync);
  const working = (kind: string, scope: WorkingScope): string => dialect.workingRelation(schema, tableName(kind, sync), scope);
  const members = working('members', 'connection');
  const modelDelta = working('model_delta', 'connection');
  const planKeys = working('plan_keys', 'connection');
  const plan = dialect.relation(schema, tableName('plan', sync));
  // Earlier versions kept the working tables in the state schema, and staged every outcome in a stage table.
  const retired = [
    ...(['members', 'model_delta'] as const).map((kind) => dialect.relation(schema, tableName(kind, sync))).filter((before) => before !== members && before !== modelDelta),
    dialect.relation(schema, tableName('stage', sync)),
  ];
  return {
    schema,
    snapshotName: tableName('snapshot', sync),
    rowHashSeals: dialect.relation(schema, ROW_HASH_SEALS_TABLE),
    members,
    snapshot: dialect.relation(schema, tableName('snapshot', sync)),
    plan,
    modelKeys: dialect.relation(schema, tableName('model_keys', model)),
    modelDelta,
    planKeys,
    planLog: dialect.relation(schema, tableName('plan_log', sync)),
    outcomes: dialect.relation(schema, outcomesName),
    outcomesName,
    pending: dialect.relation(schema, tableName('pending', sync)),
    rejections: dialect.relation(schema, REJECTIONS_TABLE),
    retired,
  };
}

/**
 * `<kind>__<name>`, or, when that is too long for every warehouse, a prefix of
 * the name plus a hash of all of it, so two long names never share a table.
 */
export function tableName(kind: string, name: string): string {
  const full = `${kind}__${name}`;
  if (full.length <= MAX_TABLE_NAME) return full;
  // node:crypto only for the rare long name: loading it costs every run a few milliseconds of start-up.
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${kind}__${name.slice(0, MAX_TABLE_NAME - kind.length - 2 - 11)}_${hash}`;
}

import { createHash } from 'node:crypto';
import type { Dialect, WorkingScope } from '../dialects/dialect.js';

/** PostgreSQL silently truncates identifiers past 63 bytes (NAMEDATALEN - 1); we never rely on truncation. */
const MAX_TABLE_NAME = 63;

/** Names of audsync's internal tables for one sync. Not a public contract. */
export interface SyncTables {
  /** The membership this run (a working table: see Dialect.workingRelation). */
  readonly members: string;
  readonly snapshot: string;
  readonly plan: string;
  /** Keys of the model at its last recorded run, for audience_events. */
  readonly modelKeys: string;
  /** Who entered or left the model this run (a working table). */
  readonly modelDelta: string;
  /** Per-batch staging of results before they are committed. */
  readonly stage: string;
  readonly stageName: string;
  /**
   * Where earlier versions kept the working tables, when that differs: dropped
   * on each run so an old database does not keep a copy of every membership.
   */
  readonly retired: readonly string[];
}

export function syncTables(dialect: Dialect, schema: string, sync: string, model: string): SyncTables {
  const stageName = tableName('stage', sync);
  const working = (kind: string, scope: WorkingScope): string => dialect.workingRelation(schema, tableName(kind, sync), scope);
  const members = working('members', 'connection');
  const modelDelta = working('model_delta', 'connection');
  const plan = working('plan', 'run');
  // Earlier versions kept these in the state schema.
  const retired = (['members', 'model_delta', 'plan'] as const)
    .map((kind) => dialect.relation(schema, tableName(kind, sync)))
    .filter((before) => before !== members && before !== modelDelta && before !== plan);
  return {
    members,
    snapshot: dialect.relation(schema, tableName('snapshot', sync)),
    plan,
    modelKeys: dialect.relation(schema, tableName('model_keys', model)),
    modelDelta,
    stage: dialect.relation(schema, stageName),
    stageName,
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
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${kind}__${name.slice(0, MAX_TABLE_NAME - kind.length - 2 - 11)}_${hash}`;
}

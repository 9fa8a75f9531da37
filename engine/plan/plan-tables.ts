import { createHash } from 'node:crypto';
import type { Dialect } from '../dialects/dialect.js';

/** PostgreSQL silently truncates identifiers past 63 bytes (NAMEDATALEN - 1); we never rely on truncation. */
const MAX_TABLE_NAME = 63;

/** Names of audsync's internal tables for one sync. Not a public contract. */
export interface SyncTables {
  readonly members: string;
  readonly snapshot: string;
  readonly plan: string;
  /** Keys of the model at its last recorded run, for audience_events. */
  readonly modelKeys: string;
  /** Who entered or left the model this run (working table). */
  readonly modelDelta: string;
  /** Per-batch staging of results before they are committed. */
  readonly stage: string;
  readonly stageName: string;
}

export function syncTables(dialect: Dialect, schema: string, sync: string, model: string): SyncTables {
  const stageName = tableName('stage', sync);
  return {
    members: dialect.relation(schema, tableName('members', sync)),
    snapshot: dialect.relation(schema, tableName('snapshot', sync)),
    plan: dialect.relation(schema, tableName('plan', sync)),
    modelKeys: dialect.relation(schema, tableName('model_keys', model)),
    modelDelta: dialect.relation(schema, tableName('model_delta', sync)),
    stage: dialect.relation(schema, stageName),
    stageName,
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

import type { Dialect } from '../dialects/dialect.js';

/** Names of audsync's internal tables for one sync. Not a public contract. */
export interface SyncTables {
  readonly members: string;
  readonly snapshot: string;
  readonly plan: string;
  /** Keys of the model at its last recorded run, for audience_events. */
  readonly modelKeys: string;
  /** Per-batch staging of results before they are committed. */
  readonly stage: string;
  readonly stageName: string;
}

export function syncTables(dialect: Dialect, schema: string, sync: string, model: string): SyncTables {
  return {
    members: dialect.relation(schema, `members__${sync}`),
    snapshot: dialect.relation(schema, `snapshot__${sync}`),
    plan: dialect.relation(schema, `plan__${sync}`),
    modelKeys: dialect.relation(schema, `model_keys__${model}`),
    stage: dialect.relation(schema, `stage__${sync}`),
    stageName: `stage__${sync}`,
  };
}

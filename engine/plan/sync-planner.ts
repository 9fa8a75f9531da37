import { CompileError, ConfigError, DataError, WarehouseError, WarehouseResourceError } from '../errors.js';
import { MODES } from '../vocabulary/sync-modes.js';
import type { NormalizedConfig, NormalizedSync } from '../config/normalized-config.js';
import type { TemplateCompiler } from '../compile/template-compiler.js';
import { compileMembership, type Membership } from '../compile/sync-compiler.js';
import { toNumber, type WarehouseConnection } from '../warehouse/connection.js';
import { syncTables, type SyncTables } from './plan-tables.js';
import {
  createPlanSql,
  duplicateSamplesSql,
  ensureSyncTablesSql,
  invalidReasonsSql,
  materializeMembersSql,
  memberStatsSql,
  pendingCountSql,
  planCountsSql,
  planDuplicateKeysSql,
  rejectionCountsSql,
  resealRowHashesSql,
  rowHashColumnTypeSql,
  rowHashSealsSql,
  snapshotCountSql,
} from './plan-sql.js';

/** How many duplicate keys an error shows. */
const DUPLICATE_SAMPLES = 5;

export interface PreparedSync {
  readonly sync: NormalizedSync;
  readonly modelFile: string;
  /** The model's SQL with refs inlined. */
  readonly modelSql: string;
  /** The projection: key as text plus the fields (identifiers hashed where needed), in the parts the planner combines. */
  readonly membership: Membership;
  readonly tables: SyncTables;
}

export interface SyncPlan {
  readonly prepared: PreparedSync;
  readonly members: number;
  readonly invalid: number;
  /** Rows not sendable, by reason ('null key', 'no usable identifier'). */
  readonly invalidReasons: Readonly<Record<string, number>>;
  readonly snapshot: number;
  readonly add: number;
  readonly change: number;
  readonly remove: number;
  /** Keys pending before this plan (uncertain or owed), reconciled by it. */
  readonly pending: number;
  /** The sync's rows tracked as refused by the destination when this plan was made. */
  readonly tracked: number;
  /** Of those, quarantined: left out of this plan while their fields stay the same. */
  readonly quarantined: number;
  /** Why a guardrail stops this plan, or null. */
  readonly guardrail: string | null;
}

/**
 * Compiles a sync's model and checks it against the warehouse without running it
 * in full: SQL errors and missing columns surface before anything runs.
 */
export async function prepareSync(conn: WarehouseConnection, compiler: TemplateCompiler, config: NormalizedConfig, sync: NormalizedSync, modelFile: string): Promise<PreparedSync> {
  const modelSql = compiler.compileModel(sync.model);
  let columns: string[];
  try {
    columns = await conn.columns(modelSql);
  } catch (e) {
    if (e instanceof WarehouseError) {
      throw new CompileError(`${modelFile}: the warehouse rejected the model's SQL: ${firstLine(e.message)}`, {
        hint: `Run \`audsync compile\` and read target/compiled/models/${sync.model}.sql to see the SQL as sent.`,
        cause: e,
      });
    }
    throw e;
  }
  const columnOf = (name: string, at: string): string => {
    // DuckDB and Snowflake resolve names regardless of case: two such columns would be picked between silently.
    const alike = columns.filter((c) => c.toLowerCase() === name.toLowerCase());
    if (alike.length > 1) {
      throw new ConfigError(`syncs.${sync.name}.${at}: column "${name}" is ambiguous: model ${sync.model} (${modelFile}) returns ${new Set(alike).size === 1 ? `it ${alike.length} times` : `${alike.map((c) => `"${c}"`).join(' and ')}, which differ only by case`}`, {
        hint: 'Give one of them another name in the model (… AS email_raw).',
      });
    }
    const exact = alike[0];
    if (exact === undefined) {
      throw new ConfigError(`syncs.${sync.name}.${at}: column "${name}" is not in model ${sync.model} (${modelFile})`, {
        hint: `The model returns: ${columns.join(', ')}.`,
      });
    }
    return exact;
  };
  columnOf(sync.key, 'key');
  for (const f of sync.fields) columnOf(f.column, `fields.${f.name}`);
  const byName = (n: string): string => columns.find((c) => c === n) ?? columns.find((c) => c.toLowerCase() === n.toLowerCase())!;
  return {
    sync,
    modelFile,
    modelSql,
    membership: compileMembership(conn.dialect, modelSql, sync, byName),
    tables: syncTables(conn.dialect, config.stateSchema, sync.name, sync.model),
  };
}

export interface PlanOptions {
  readonly fullRefresh: boolean;
  readonly force: boolean;
  /**
   * A preview (`audsync plan`): the plan goes to a working table of its own and
   * the pending keys are read from `pending` (a private copy), so no durable
   * state changes.
   */
  readonly preview?: { readonly plan: string; readonly pending: string };
}

/** Creates the sync's own tables if they are missing (snapshot, plan log, pending keys...). */
export async function ensureSyncTables(conn: WarehouseConnection, prepared: PreparedSync): Promise<void> {
  const d = conn.dialect;
  const t = prepared.tables;
  for (const sql of ensureSyncTablesSql(d, t)) await conn.execute(sql);
  const seal = d.rowHashSeal;
  if (seal === null) return;
  // Hashes of another function would make every member look changed: they are computed again first.
  // A seal that matches is the usual case, told by one tiny query; only without it is the column's type read.
  const [seals] = await conn.query(rowHashSealsSql(d, t, prepared.sync.name, seal));
  if (seals?.stored !== null && seals?.stored !== undefined && seals.stored === seals.current_seal) return;
  const [column] = await conn.query(rowHashColumnTypeSql(d, t));
  const convert = String(column?.data_type ?? d.rowHashType).toUpperCase() !== d.rowHashType.toUpperCase();
  await conn.transaction(async () => {
    for (const sql of resealRowHashesSql(d, t, prepared.sync.name, seal, convert)) await conn.execute(sql);
  });
}

/**
 * Materializes the membership, validates it, and computes the plan in the
 * warehouse. Sends nothing; the snapshot is untouched.
 */
export async function planSync(conn: WarehouseConnection, prepared: PreparedSync, opts: PlanOptions): Promise<SyncPlan> {
  const d = conn.dialect;
  const { sync } = prepared;
  // The caller has made the sync's tables exist (ensureSyncTables), and read back the last plan's log.
  const t: SyncTables = opts.preview ? { ...prepared.tables, ...opts.preview } : prepared.tables;
  const [snap] = await conn.query(snapshotCountSql(t));
  const snapshot = toNumber(snap?.n);
  // Members keep only key and hash when the plan will be a delta of them; when it sends every member
  // (a first run, a full refresh, remove mode's list) their fields are kept, read once.
  const light = !MODES[sync.mode].modelListsRemovals && !opts.fullRefresh && snapshot > 0;
  try {
    for (const sql of materializeMembersSql(d, t, prepared.membership, !light)) await conn.execute(sql);
  } catch (e) {
    // Out of memory or temp space is not the model's fault: that error keeps its own hint.
    if (e instanceof WarehouseError && !(e instanceof WarehouseResourceError)) {
      throw new CompileError(`${prepared.modelFile}: the model failed in the warehouse: ${firstLine(e.message)}`, {
        hint: `Check the model's SQL and data (see target/compiled/models/${sync.model}.sql after \`audsync compile\`).`,
        cause: e,
      });
    }
    throw e;
  }
  const [stats] = await conn.query(memberStatsSql(t));
  const total = toNumber(stats?.total);
  const withKey = toNumber(stats?.valid);
  const distinct = toNumber(stats?.distinct_keys);
  const invalidReasons: Record<string, number> = {};
  if (total > withKey) for (const r of await conn.query(invalidReasonsSql(t))) invalidReasons[String(r.invalid_reason)] = toNumber(r.n);
  if (distinct < withKey) {
    const samples = await conn.query(duplicateSamplesSql(t, DUPLICATE_SAMPLES));
    const shown = samples.map((r) => `${String(r.record_key)} (${toNumber(r.n)}×)`).join(', ');
    throw new DataError(`sync ${sync.name}: ${withKey - distinct} duplicate row(s) for key "${sync.key}" in model ${sync.model}; e.g. ${shown}`, {
      hint: `Each member must appear once: deduplicate in ${prepared.modelFile} (e.g. GROUP BY ${sync.key} or QUALIFY row_number() … = 1). Nothing was sent.`,
    });
  }
  const [pend] = await conn.query(pendingCountSql(t));
  const pending = toNumber(pend?.n);
  const [rej] = await conn.query(rejectionCountsSql(d, t, sync.name));
  const tracked = toNumber(rej?.tracked);
  const quarantined = toNumber(rej?.quarantined);
  const planSql = createPlanSql(d, t, {
    mode: sync.mode,
    fullRefresh: opts.fullRefresh,
    withPending: pending > 0,
    working: opts.preview !== undefined,
    ...(quarantined > 0 ? { quarantineOf: sync.name } : {}),
    ...(light ? { fieldsFrom: prepared.membership } : {}),
  });
  for (const sql of planSql) await conn.execute(sql);
  if (light) {
    // The changed rows read the model a second time: one that returns other rows on each read must not plan a key twice.
    const [twice] = await conn.query(planDuplicateKeysSql(t));
    if (toNumber(twice?.n) > 0) {
      throw new DataError(`sync ${sync.name}: model ${sync.model} returned different rows when read twice in one run (${toNumber(twice?.n)} key(s) twice in the plan); nothing was sent`, {
        hint: `A model must return the same rows for the same data: look in ${prepared.modelFile} for random(), now() or a LIMIT without ORDER BY deciding who is a member.`,
      });
    }
  }
  const counts = { add: 0, change: 0, remove: 0 };
  for (const r of await conn.query(planCountsSql(t))) counts[r.op as keyof typeof counts] = toNumber(r.n);
  const plan = { prepared, members: withKey, invalid: total - withKey, invalidReasons, snapshot, pending, tracked, quarantined, ...counts };
  return { ...plan, guardrail: opts.force ? null : guardrailViolation(sync, plan) };
}

function guardrailViolation(sync: NormalizedSync, p: { members: number; snapshot: number; add: number; remove: number }): string | null {
  const g = sync.guardrails;
  const pct = (n: number): number => (p.snapshot === 0 ? 0 : (n / p.snapshot) * 100);
  if (g.maxRemove !== undefined && p.remove > g.maxRemove) {
    return `would remove ${p.remove} members, above maxRemove ${g.maxRemove}`;
  }
  if (MODES[sync.mode].removeShareOf === 'removed') {
    // The destination's size is not known to a sync that only removes: the share is of all it has removed, this run's included.
    const share = p.remove === 0 ? 0 : (p.remove / (p.snapshot + p.remove)) * 100;
    if (share > g.maxRemovePercent) {
      return `would remove ${p.remove} members, ${share.toFixed(1)}% of the ${p.snapshot + p.remove} this sync will have removed, above maxRemovePercent ${g.maxRemovePercent}%`;
    }
  } else if (p.remove > 0 && pct(p.remove) > g.maxRemovePercent) {
    return `would remove ${p.remove} of ${p.snapshot} synced members (${pct(p.remove).toFixed(1)}%), above maxRemovePercent ${g.maxRemovePercent}%`;
  }
  if (g.maxAddPercent !== undefined && p.snapshot > 0 && pct(p.add) > g.maxAddPercent) {
    return `would add ${p.add} members to ${p.snapshot} (${pct(p.add).toFixed(1)}%), above maxAddPercent ${g.maxAddPercent}%`;
  }
  if (g.minMembers !== undefined && p.members < g.minMembers) {
    return `the audience has ${p.members} members, fewer than minMembers ${g.minMembers}`;
  }
  return null;
}

function firstLine(s: string): string {
  return s.split('\n').filter((l) => l.trim() !== '').slice(0, 3).join(' ');
}

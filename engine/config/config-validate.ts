import path from 'node:path';
import { ConfigError } from '../errors.js';
import { SYNC_MODES, WAREHOUSE_TYPES, type SyncMode, type WarehouseConfig } from './config-types.js';
import { MODES } from '../vocabulary/sync-modes.js';
import { warehouseKind } from '../warehouse/warehouse-registry.js';
import { DEFAULTS, type MappedField, type NormalizedConfig, type NormalizedDestination, type NormalizedSync } from './normalized-config.js';
import { parseCron } from './cron-schedule.js';
import { syncAlerts, validateAlerts, type ProjectAlerts } from './alerts-validate.js';
import { isEnvRef } from '../vocabulary/env-ref.js';
import { isIdentifierKind, PREHASHED_RULES, type IdentifierKind, type PrehashedRule } from '../vocabulary/identifier-kinds.js';
import type { DestinationDefinition, OptionSpec } from '../destination/destination-api.js';

/** Names that become part of internal table names: kept to a safe identifier alphabet. */
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const COMMON_OPTIONS = new Set(['type', 'batchSize', 'concurrency', 'rateLimit', 'maxAttempts', 'retryBaseDelayMs', 'timeoutMs', 'maxResponseBytes', 'baseUrl']);
const SYNC_KEYS = new Set(['model', 'destination', 'key', 'mode', 'fields', 'target', 'schedule', 'paused', 'alerts', 'guardrails', 'hash', 'prehashed']);

/** Destination definitions by `type`: those the config names, already loaded. */
export type DestinationRegistry = Readonly<Record<string, DestinationDefinition<unknown>>>;
type Registry = DestinationRegistry;

/** Collects every problem, then throws one ConfigError that lists them by path. */
class Problems {
  readonly list: string[] = [];
  add(at: string, message: string): void {
    // A destination's own check runs once per sync using it: say each thing once.
    const line = `${at}: ${message}`;
    if (!this.list.includes(line)) this.list.push(line);
  }
}

/**
 * A map keyed by names from the config: no prototype, so a sync, destination or
 * field named `constructor` or `__proto__` is a name like any other.
 */
function ownMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** `obj[key]` when obj has it as its own property (never Object.prototype's `constructor`, `toString`, ...). */
function own<T>(obj: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isEnvRef(v);
}

function closest(name: string, options: Iterable<string>): string {
  const all = [...options];
  if (all.length === 0) return 'none are defined';
  return `known: ${all.map((o) => JSON.stringify(o)).join(', ')}`;
}

/**
 * Validates a loaded config and fills in defaults. `file` is the config's
 * absolute path; `knownTypes` lists every built-in type, for the error of an
 * unknown one (by default, those in `registry`).
 */
export function validateConfig(raw: unknown, file: string, registry: Registry, knownTypes: readonly string[] = Object.keys(registry)): NormalizedConfig {
  const p = new Problems();
  const rel = path.basename(file);
  if (!isRecord(raw)) {
    throw new ConfigError(`${rel}: the default export must be an object (use export default defineConfig({...}))`, {
      hint: 'See the config reference in the README.',
    });
  }
  for (const k of Object.keys(raw)) {
    if (!['warehouse', 'stateSchema', 'vars', 'destinations', 'syncs', 'alerts'].includes(k)) p.add(k, 'unknown setting');
  }
  const warehouse = validateWarehouse(raw.warehouse, p);
  const stateSchema = raw.stateSchema ?? DEFAULTS.stateSchema;
  if (typeof stateSchema !== 'string' || !NAME_RE.test(stateSchema)) {
    p.add('stateSchema', 'must be a plain identifier (letters, digits, underscore)');
  }
  const vars = ownMap<string | number | boolean>();
  if (raw.vars !== undefined) {
    if (!isRecord(raw.vars)) p.add('vars', 'must be an object of name: value');
    else
      for (const [k, v] of Object.entries(raw.vars)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') vars[k] = v;
        else p.add(`vars.${k}`, 'must be a string, number or boolean');
      }
  }
  const destinations = ownMap<NormalizedDestination>();
  if (!isRecord(raw.destinations)) p.add('destinations', 'must be an object of named destinations');
  else
    for (const [name, d] of Object.entries(raw.destinations)) {
      const nd = validateDestination(name, d, registry, knownTypes, p);
      if (nd) destinations[name] = nd;
    }
  const alerts = validateAlerts(raw.alerts, (at, m) => p.add(at, m));
  const syncs = ownMap<NormalizedSync>();
  if (!isRecord(raw.syncs)) p.add('syncs', 'must be an object of named syncs');
  else
    for (const [name, s] of Object.entries(raw.syncs)) {
      const ns = validateSync(name, s, raw.destinations, destinations, alerts, p);
      if (ns) syncs[name] = ns;
    }
  if (isRecord(raw.destinations)) caseCollisions(Object.keys(raw.destinations), (n) => `destinations.${n}`, p);
  if (isRecord(raw.syncs)) caseCollisions(Object.keys(raw.syncs), (n) => `syncs.${n}`, p);
  if (p.list.length > 0) {
    const shown = p.list.slice(0, 20).map((l) => `  ${l}`).join('\n');
    const more = p.list.length > 20 ? `\n  … and ${p.list.length - 20} more` : '';
    throw new ConfigError(`${rel}: invalid configuration\n${shown}${more}`, {
      hint: 'Fix the settings named above; the README has the full config reference.',
    });
  }
  return {
    path: file,
    projectDir: path.dirname(file),
    warehouse: warehouse!,
    stateSchema: stateSchema as string,
    vars,
    destinations,
    syncs,
    alertChannels: alerts.channels,
  };
}

function validateWarehouse(w: unknown, p: Problems): WarehouseConfig | undefined {
  if (!isRecord(w)) {
    p.add('warehouse', "must be an object such as { type: 'duckdb', path: 'warehouse.duckdb' }");
    return undefined;
  }
  const kind = warehouseKind(w.type);
  if (!kind) {
    p.add('warehouse.type', `unknown warehouse type ${JSON.stringify(w.type)} (expected ${WAREHOUSE_TYPES.join(' | ')})`);
    return undefined;
  }
  return kind.validate(w, (at, message) => p.add(at, message));
}

function positiveInt(v: unknown, at: string, p: Problems, max?: number, maxWhy = "the destination's documented maximum"): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    p.add(at, 'must be a whole number of at least 1');
    return undefined;
  }
  if (max !== undefined && v > max) {
    p.add(at, `must be at most ${max} (${maxWhy})`);
    return undefined;
  }
  return v;
}

/** A response body is read into one string: past a few hundred MiB that is no longer an answer but a download. */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer delay silently becomes 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** Names that differ only by case share a table on warehouses that fold identifiers: refuse them, naming both. */
function caseCollisions(names: readonly string[], at: (name: string) => string, p: Problems): void {
  const seen = new Map<string, string>();
  for (const n of names) {
    const prior = seen.get(n.toLowerCase());
    if (prior !== undefined) p.add(at(n), `differs from ${JSON.stringify(prior)} only by case; names must differ in more than case (they would share state tables)`);
    else seen.set(n.toLowerCase(), n);
  }
}

function checkOptions(specs: Record<string, OptionSpec>, given: Record<string, unknown>, at: string, p: Problems, skip: Set<string>): void {
  for (const [k, v] of Object.entries(given)) {
    if (skip.has(k)) continue;
    const spec = own(specs, k);
    if (!spec) {
      p.add(`${at}.${k}`, `unknown option (${closest(k, Object.keys(specs))})`);
      continue;
    }
    const ok =
      spec.type === 'secret'
        ? typeof v === 'string' || isEnvRef(v)
        : spec.type === 'string' || spec.type === 'url'
          ? typeof v === 'string' || isEnvRef(v)
          : spec.type === 'number'
            ? typeof v === 'number' && Number.isFinite(v)
            : spec.type === 'boolean'
              ? typeof v === 'boolean'
              : spec.type === 'enum'
                ? typeof v === 'string' && (spec.values ?? []).includes(v)
                : spec.type === 'array'
                  ? Array.isArray(v)
                  : isRecord(v);
    if (!ok) {
      const want = spec.type === 'enum' ? `one of ${(spec.values ?? []).join(' | ')}` : spec.type === 'array' ? 'a list' : `a ${spec.type}`;
      p.add(`${at}.${k}`, `must be ${want}`);
    }
    if (spec.type === 'url' && typeof v === 'string' && !/^https?:\/\//.test(v)) p.add(`${at}.${k}`, 'must be an http(s) URL');
  }
  for (const [k, spec] of Object.entries(specs)) {
    if (spec.required && given[k] === undefined) p.add(`${at}.${k}`, `is required (${spec.description})`);
  }
}

function validateDestination(name: string, d: unknown, registry: Registry, knownTypes: readonly string[], p: Problems): NormalizedDestination | undefined {
  const at = `destinations.${name}`;
  if (!NAME_RE.test(name)) p.add(at, 'destination names use letters, digits and underscores');
  if (!isRecord(d)) {
    p.add(at, "must be an object with a type, e.g. { type: 'webhook', url: '…' }");
    return undefined;
  }
  // `type` names a built-in destination, or is a project's own defineDestination({...}) object.
  const def = typeof d.type === 'string' ? (Object.hasOwn(registry, d.type) ? registry[d.type] : undefined) : isDefinition(d.type) ? d.type : undefined;
  if (!def) {
    p.add(`${at}.type`, `unknown destination type ${JSON.stringify(d.type)} (${closest(String(d.type), knownTypes)})`);
    return undefined;
  }
  checkOptions(def.options, d, at, p, COMMON_OPTIONS);
  const batchSize = positiveInt(d.batchSize, `${at}.batchSize`, p, def.batchSize.max) ?? def.batchSize.default;
  const concurrency = positiveInt(d.concurrency, `${at}.concurrency`, p, 1000, 'requests in flight at once') ?? def.concurrency ?? DEFAULTS.concurrency;
  const maxAttempts = positiveInt(d.maxAttempts, `${at}.maxAttempts`, p, 1000, 'attempts per batch') ?? DEFAULTS.maxAttempts;
  let rateLimit: number | null = (typeof def.rateLimit === 'function' ? def.rateLimit(destinationOptions(d)) : def.rateLimit) ?? null;
  if (d.rateLimit !== undefined) {
    if (typeof d.rateLimit !== 'number' || !(d.rateLimit > 0) || !Number.isFinite(d.rateLimit)) p.add(`${at}.rateLimit`, 'must be a positive, finite number of requests per second');
    else rateLimit = d.rateLimit;
  }
  const retryBaseDelayMs = d.retryBaseDelayMs ?? DEFAULTS.retryBaseDelayMs;
  if (typeof retryBaseDelayMs !== 'number' || !(retryBaseDelayMs >= 0 && retryBaseDelayMs <= MAX_TIMER_MS)) {
    p.add(`${at}.retryBaseDelayMs`, `must be a number of milliseconds from 0 to ${MAX_TIMER_MS.toLocaleString('en-US')}`);
  }
  const timeoutMs = positiveInt(d.timeoutMs, `${at}.timeoutMs`, p, MAX_TIMER_MS, 'the longest timer Node.js keeps, about 24.8 days') ?? DEFAULTS.timeoutMs;
  const maxResponseBytes =
    positiveInt(d.maxResponseBytes, `${at}.maxResponseBytes`, p, MAX_RESPONSE_BYTES, 'what one answer can be read into, 256 MiB') ?? DEFAULTS.maxResponseBytes;
  if (d.baseUrl !== undefined && (typeof d.baseUrl !== 'string' || !/^https?:\/\/[^/]+/.test(d.baseUrl))) {
    p.add(`${at}.baseUrl`, 'must be an http(s) URL such as https://proxy.example.com/prefix');
  }
  const options = destinationOptions(d);
  return {
    name,
    definition: def,
    options,
    batchSize,
    concurrency,
    rateLimit,
    maxAttempts,
    retryBaseDelayMs: retryBaseDelayMs as number,
    timeoutMs,
    maxResponseBytes,
    baseUrl: typeof d.baseUrl === 'string' ? d.baseUrl.replace(/\/+$/, '') : undefined,
  };
}

/** The options of a destination beside the common ones. */
function destinationOptions(d: Record<string, unknown>): Record<string, unknown> {
  const options = ownMap<unknown>();
  for (const [k, v] of Object.entries(d)) if (!COMMON_OPTIONS.has(k)) options[k] = v;
  return options;
}

function isDefinition(v: unknown): v is DestinationDefinition<unknown> {
  const o = v as Partial<DestinationDefinition<unknown>> | null;
  return typeof o === 'object' && o !== null && typeof o.type === 'string' && typeof o.connect === 'function' && typeof o.batchSize === 'object' && typeof o.options === 'object';
}

function percent(v: unknown, at: string, p: Problems): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v >= 0 && v <= 100)) {
    p.add(at, 'must be a percentage from 0 to 100');
    return undefined;
  }
  return v;
}

function validateSync(
  name: string,
  s: unknown,
  rawDestinations: unknown,
  destinations: Record<string, NormalizedDestination>,
  alerts: ProjectAlerts,
  p: Problems,
): NormalizedSync | undefined {
  const at = `syncs.${name}`;
  if (!NAME_RE.test(name)) p.add(at, 'sync names use letters, digits and underscores (at most 63)');
  if (!isRecord(s)) {
    p.add(at, 'must be an object with model, destination and key');
    return undefined;
  }
  for (const k of Object.keys(s)) if (!SYNC_KEYS.has(k)) p.add(`${at}.${k}`, `unknown setting (${closest(k, SYNC_KEYS)})`);
  if (typeof s.model !== 'string' || !NAME_RE.test(s.model)) {
    p.add(`${at}.model`, 'must name a model file in models/ (letters, digits, underscores; without .sql)');
  }
  const destName = s.destination;
  const dest = typeof destName === 'string' ? own(destinations, destName) : undefined;
  if (typeof destName !== 'string') p.add(`${at}.destination`, 'is required');
  else if (!dest && !(isRecord(rawDestinations) && destName in rawDestinations)) {
    p.add(`${at}.destination`, `no destination named ${JSON.stringify(destName)} (${closest(destName, Object.keys(isRecord(rawDestinations) ? rawDestinations : {}))})`);
  }
  if (typeof s.key !== 'string' || s.key.length === 0) p.add(`${at}.key`, 'must name the model column that identifies a member');
  const mode = (s.mode ?? DEFAULTS.mode) as SyncMode;
  if (!SYNC_MODES.includes(mode)) p.add(`${at}.mode`, `invalid mode ${JSON.stringify(s.mode)} (expected ${SYNC_MODES.join(' | ')})`);
  else if (dest?.definition.modes && !dest.definition.modes.includes(mode)) {
    p.add(`${at}.mode`, `destination type ${dest.definition.type} supports ${dest.definition.modes.join(' | ')}, not ${mode}`);
  }
  const hash = ownMap<IdentifierKind>();
  if (s.hash !== undefined) {
    if (!isRecord(s.hash)) p.add(`${at}.hash`, "must map field names to identifier kinds, e.g. { email: 'email' }");
    else
      for (const [f, kind] of Object.entries(s.hash)) {
        if (typeof kind !== 'string' || !isIdentifierKind(kind)) p.add(`${at}.hash.${f}`, `unknown identifier kind ${JSON.stringify(kind)}`);
        else hash[f] = kind;
      }
  }
  const fields: MappedField[] = [];
  if (s.fields !== undefined && !isRecord(s.fields)) p.add(`${at}.fields`, 'must map destination field names to model columns');
  else
    for (const [f, col] of Object.entries((s.fields ?? {}) as Record<string, unknown>)) {
      if (typeof col !== 'string' || col.length === 0) {
        p.add(`${at}.fields.${f}`, 'must name a model column');
        continue;
      }
      if (f.length === 0 || f.length > 128) p.add(`${at}.fields`, 'field names must be 1 to 128 characters');
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(f)) p.add(`${at}.fields.${JSON.stringify(f)}`, 'a field name cannot hold control characters (NUL, line breaks, tabs)');
      const declared = own(dest?.definition.identifiers, f);
      const identifier = hash[f] ? { kind: hash[f]!, hash: true } : declared ? { kind: declared.kind, hash: declared.hash ?? true } : undefined;
      fields.push({ name: f, column: col, identifier });
    }
  for (const f of Object.keys(hash)) if (!fields.some((m) => m.name === f)) p.add(`${at}.hash.${f}`, 'is not one of the mapped fields');
  if (s.target !== undefined && !isRecord(s.target)) p.add(`${at}.target`, 'must be an object');
  const target = (isRecord(s.target) ? s.target : {}) as Record<string, unknown>;
  if (dest) checkOptions(dest.definition.target ?? {}, target, `${at}.target`, p, new Set());
  const rawDest = isRecord(rawDestinations) ? own(rawDestinations, dest?.name ?? '') : undefined;
  if (dest?.definition.validate && isRecord(rawDest)) {
    const raw = rawDest;
    const common: Record<string, unknown> = {};
    for (const k of COMMON_OPTIONS) if (k !== 'type' && raw[k] !== undefined) common[k] = raw[k];
    const problems = dest.definition.validate({
      options: dest.options,
      common,
      target,
      fields: fields.map((f) => f.name),
      mode,
      at: { destination: `destinations.${dest.name}`, sync: at },
    });
    for (const problem of problems) p.add(problem.path, problem.message);
  }
  let schedule;
  if (s.schedule !== undefined) {
    try {
      if (typeof s.schedule !== 'string') throw new Error('must be a cron string');
      schedule = parseCron(s.schedule);
    } catch (e) {
      p.add(`${at}.schedule`, `${(e as Error).message} (e.g. '0 * * * *' for hourly, UTC)`);
    }
  }
  let paused: string | undefined;
  if (s.paused === true) paused = 'paused in the config';
  else if (typeof s.paused === 'string' && s.paused.trim() !== '') paused = s.paused.trim();
  else if (s.paused !== undefined && s.paused !== false) p.add(`${at}.paused`, "must be true, false or the reason as text (e.g. paused: 'waiting for legal review')");
  const g = s.guardrails;
  if (g !== undefined && !isRecord(g)) p.add(`${at}.guardrails`, 'must be an object');
  const gr = isRecord(g) ? g : {};
  for (const k of Object.keys(gr)) {
    if (!GUARDRAIL_KEYS.includes(k)) p.add(`${at}.guardrails.${k}`, `unknown guardrail (known: ${GUARDRAIL_KEYS.join(', ')})`);
  }
  const prehashed = (s.prehashed ?? 'passthrough') as PrehashedRule;
  if (!PREHASHED_RULES.includes(prehashed)) p.add(`${at}.prehashed`, `must be ${PREHASHED_RULES.join(' | ')}`);
  const minMembers = gr.minMembers === undefined ? undefined : positiveInt(gr.minMembers, `${at}.guardrails.minMembers`, p);
  return {
    name,
    model: s.model as string,
    destination: destName as string,
    key: s.key as string,
    mode,
    fields,
    target,
    schedule,
    paused,
    alerts: syncAlerts(s.alerts, `${at}.alerts`, alerts, (path, m) => p.add(path, m)),
    prehashed,
    guardrails: {
      // MODES[mode] is undefined only for a mode already reported invalid above.
      maxRemovePercent: percent(gr.maxRemovePercent, `${at}.guardrails.maxRemovePercent`, p) ?? MODES[mode]?.defaultMaxRemovePercent ?? DEFAULTS.maxRemovePercent,
      maxRemove: gr.maxRemove === undefined ? undefined : nonNegativeInt(gr.maxRemove, `${at}.guardrails.maxRemove`, p),
      maxAddPercent: percent(gr.maxAddPercent, `${at}.guardrails.maxAddPercent`, p),
      minMembers,
      maxFailedPercent: percent(gr.maxFailedPercent, `${at}.guardrails.maxFailedPercent`, p) ?? DEFAULTS.maxFailedPercent,
      maxRejectedPercent: percent(gr.maxRejectedPercent, `${at}.guardrails.maxRejectedPercent`, p) ?? DEFAULTS.maxRejectedPercent,
      quarantineAfterRuns: gr.quarantineAfterRuns === undefined ? DEFAULTS.quarantineAfterRuns : nonNegativeInt(gr.quarantineAfterRuns, `${at}.guardrails.quarantineAfterRuns`, p),
    },
  };
}

const GUARDRAIL_KEYS = ['maxRemovePercent', 'maxRemove', 'maxAddPercent', 'minMembers', 'maxFailedPercent', 'maxRejectedPercent', 'quarantineAfterRuns'];

/** 0 is meaningful here (quarantine off); anything else must be a whole number. */
function nonNegativeInt(v: unknown, at: string, p: Problems): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1000) {
    p.add(at, 'must be a whole number from 0 to 1000 (0 turns it off)');
    return 0;
  }
  return v;
}

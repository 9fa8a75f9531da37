import type { NormalizedDestination, NormalizedSync } from '../config/normalized-config.js';
import { isEnvRef, resolveSecret } from '../vocabulary/env-ref.js';
import type { DestinationClient, DestinationContext, JsonValue } from '../destination/destination-api.js';
import type { Redactor } from '../vocabulary/redactor.js';
import { inDestinationScope } from '../destination/http-client.js';

/**
 * The destination's options with every env() resolved. Resolved values and
 * literal secrets are registered with the redactor, so they never reach a log.
 */
export function resolveDestinationOptions(dest: NormalizedDestination, redactor: Redactor): Record<string, unknown> {
  const resolve = (v: unknown, at: string, secret: boolean): unknown => {
    if (isEnvRef(v)) {
      const value = resolveSecret(v, at);
      redactor.add(value);
      return value;
    }
    if (typeof v === 'string' && secret) redactor.add(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const out = Object.create(null) as Record<string, unknown>;
      for (const [k, inner] of Object.entries(v)) out[k] = resolve(inner, `${at}.${k}`, secret);
      return out;
    }
    return v;
  };
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(dest.options)) {
    const spec = Object.hasOwn(dest.definition.options, k) ? dest.definition.options[k] : undefined;
    out[k] = resolve(v, `destinations.${dest.name}.${k}`, spec?.type === 'secret' || spec?.type === 'object');
  }
  return out;
}

export interface ContextParams {
  readonly runId: string;
  readonly projectDir: string;
  readonly redactor: Redactor;
  readonly fullRefresh: boolean;
  readonly plannedTotal: number;
  readonly recordMetric: (name: string, value: number) => void;
  readonly recordJob: (jobId: string, detail: JsonValue) => void;
  /** A turn under the destination's rate limit; no wait where nothing is sent (status --refresh polls only). */
  readonly throttle?: () => Promise<void>;
}

/** What a destination sees of the run: its resolved options, the sync, and hooks to report back. */
export function destinationContext(dest: NormalizedDestination, sync: NormalizedSync, p: ContextParams): DestinationContext<unknown> {
  return {
    name: dest.name,
    options: resolveDestinationOptions(dest, p.redactor),
    sync: { name: sync.name, key: sync.key, fields: sync.fields.map((f) => f.name), mode: sync.mode },
    target: sync.target,
    runId: p.runId,
    baseUrl: dest.baseUrl,
    timeoutMs: dest.timeoutMs,
    fullRefresh: p.fullRefresh,
    plannedTotal: p.plannedTotal,
    recordJob: p.recordJob,
    recordMetric: p.recordMetric,
    throttle: p.throttle ?? (async () => undefined),
    registerSecret: (value: string) => p.redactor.add(value),
    projectDir: p.projectDir,
  };
}

/** Runs a call into the destination under its body cap and the run's redactor (see inDestinationScope). */
export function callDestination<T>(dest: NormalizedDestination, redactor: Redactor, fn: () => T): T {
  return inDestinationScope({ maxResponseBytes: dest.maxResponseBytes, redact: redactor.redact }, fn);
}

/** Connects the destination; every call into it (connect, each batch, close) runs through callDestination. */
export async function connectDestination(dest: NormalizedDestination, ctx: DestinationContext<unknown>, redactor: Redactor): Promise<DestinationClient> {
  const capped = <T>(fn: () => T): T => callDestination(dest, redactor, fn);
  const client = await capped(() => dest.definition.connect(ctx));
  const close = client.close?.bind(client);
  return {
    sendBatch: (batch) => capped(() => client.sendBatch(batch)),
    ...(close ? { close: () => capped(close) } : {}),
  };
}

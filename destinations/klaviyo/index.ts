import { defineDestination, type Batch, type DestinationContext, type Operation, type RowResult, resolveSecret, type Secret, ConfigError } from '../../engine/destination/index.js';
import { KlaviyoApi } from './klaviyo-api.js';
import { importProfiles } from './import-job.js';
import { removeFromList } from './list-removal.js';
import { PROFILE_IDENTIFIERS } from './profile-payload.js';
import {
  KLAVIYO_DEFAULT_JOB_TIMEOUT_MS,
  KLAVIYO_DEFAULT_POLL_MS,
  KLAVIYO_HOST,
  KLAVIYO_MAX_IMPORT_PROFILES,
  KLAVIYO_REVISION,
  KLAVIYO_STEADY_PER_SECOND,
} from './klaviyo-limits.js';

interface KlaviyoOptions {
  apiKey: Secret;
  revision?: string;
  pollIntervalMs?: number;
  jobTimeoutMs?: number;
}

/** Batches in flight: each waits on its own import job, so two overlap polling with submitting without crowding the 10/s burst. */
const KLAVIYO_CONCURRENCY = 2;

export const klaviyo = defineDestination<KlaviyoOptions>({
  type: 'klaviyo',
  description: 'Klaviyo list membership: profiles upserted through bulk import jobs that add them to a list; removals take them off the list by profile id.',
  options: {
    apiKey: { type: 'secret', required: true, description: "private API key (pk_...), e.g. env('KLAVIYO_API_KEY')" },
    revision: { type: 'string', description: `Klaviyo API revision header (default ${KLAVIYO_REVISION})` },
    pollIntervalMs: { type: 'number', description: `how often a running import job is polled (default ${KLAVIYO_DEFAULT_POLL_MS} ms)` },
    jobTimeoutMs: { type: 'number', description: `how long a batch waits for its import job before its rows count as failed (default ${KLAVIYO_DEFAULT_JOB_TIMEOUT_MS} ms)` },
  },
  target: {
    listId: { type: 'string', required: true, description: 'id of the Klaviyo list that holds the audience' },
    suppressOnRemove: {
      type: 'boolean',
      description: 'also suppress the email of every removed member (global: stops all email marketing); default false, removal only leaves the list',
    },
  },
  // Klaviyo normalizes these itself, but doing it in the warehouse makes matching and ids stable; never hashed (Klaviyo needs them in clear).
  identifiers: {
    email: { kind: 'email', hash: false },
    phone_number: { kind: 'phone_e164', hash: false },
    external_id: { kind: 'external_id', hash: false },
  },
  batchSize: { default: KLAVIYO_MAX_IMPORT_PROFILES, max: KLAVIYO_MAX_IMPORT_PROFILES },
  rateLimit: KLAVIYO_STEADY_PER_SECOND,
  // Counts writes (import jobs, list removals); reads (job polls, pages, lookups) are not part of that limit.
  throttlesRequests: true,
  concurrency: KLAVIYO_CONCURRENCY,
  // `update` would need "update only if the profile exists", which bulk import cannot do: it always creates.
  modes: ['mirror', 'upsert', 'add', 'remove'],
  connect(ctx: DestinationContext<KlaviyoOptions>) {
    const who = `destination ${ctx.name}`;
    const listId = ctx.target.listId;
    if (typeof listId !== 'string' || listId === '') {
      throw new ConfigError(`syncs.${ctx.sync.name}.target.listId: required by ${who} (klaviyo)`, { hint: 'Give the id of the Klaviyo list, e.g. target: { listId: "Y6nRLr" }.' });
    }
    if (!ctx.sync.fields.some((f) => (PROFILE_IDENTIFIERS as readonly string[]).includes(f))) {
      throw new ConfigError(`syncs.${ctx.sync.name}.fields: ${who} (klaviyo) needs at least one of ${PROFILE_IDENTIFIERS.join(', ')} to identify profiles`, {
        hint: "Map e.g. fields: { email: 'email', external_id: 'customer_id' }.",
      });
    }
    const api = new KlaviyoApi(
      ctx.baseUrl ?? KLAVIYO_HOST,
      resolveSecret(ctx.options.apiKey, `destinations.${ctx.name}.apiKey`),
      ctx.options.revision ?? KLAVIYO_REVISION,
      ctx.timeoutMs,
      who,
      ctx.throttle,
    );
    const pollIntervalMs = Math.max(0, ctx.options.pollIntervalMs ?? KLAVIYO_DEFAULT_POLL_MS);
    const jobTimeoutMs = Math.max(0, ctx.options.jobTimeoutMs ?? KLAVIYO_DEFAULT_JOB_TIMEOUT_MS);
    const suppressOnRemove = ctx.target.suppressOnRemove === true;
    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        const removes: Array<{ at: number; op: Operation }> = [];
        const upserts: Array<{ at: number; op: Operation }> = [];
        batch.operations.forEach((op, at) => (op.op === 'remove' ? removes : upserts).push({ at, op }));
        const results = new Map<number, RowResult>();
        // Removals first: they are quick, and a retry of the batch repeats them harmlessly.
        if (removes.length > 0) for (const [at, r] of await removeFromList(api, removes, { listId, suppressOnRemove })) results.set(at, r);
        if (upserts.length > 0) {
          for (const [at, r] of await importProfiles(api, upserts, { listId, pollIntervalMs, jobTimeoutMs, recordMetric: ctx.recordMetric })) results.set(at, r);
        }
        return batch.operations.map(
          (_, at): RowResult => results.get(at) ?? { status: 'failed', code: 'not_confirmed', message: 'no outcome recorded for this row' },
        );
      },
    };
  },
});

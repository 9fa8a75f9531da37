import { defineDestination, type Batch, type DestinationContext, type RowResult, ConfigError, RateLimiter } from '../../engine/destination/index.js';
import { BRAZE_DEFAULT_CONCURRENCY, BRAZE_SUBSCRIPTION_REQUESTS_PER_SECOND, BRAZE_TRACK_MAX_OBJECTS, BRAZE_TRACK_REQUESTS_PER_SECOND } from './braze-limits.js';
import { BRAZE_TARGET_OPTIONS, readBrazeTarget } from './braze-target.js';
import { attributesFor } from './braze-attributes.js';
import { mapTrackResponse } from './braze-track-response.js';
import { subscriptionCalls, subscriptionRefusal } from './braze-subscriptions.js';
import { brazePost, type BrazeConnection } from './braze-http.js';

interface BrazeOptions {
  /** Resolved by the engine (env() or literal), redacted from every message. */
  apiKey: string;
}

/**
 * Braze users (destinations/braze/README.md): audience membership is a
 * custom attribute written with /users/track, optionally with a subscription
 * group state when the sync asks for one explicitly.
 */
export const braze = defineDestination<BrazeOptions>({
  type: 'braze',
  description: 'Braze users: mapped fields as user attributes and membership as a custom attribute via /users/track; optional subscription group.',
  options: {
    apiKey: { type: 'secret', required: true, description: 'REST API key with users.track (and subscription.status.set when a subscription group is used)' },
  },
  target: BRAZE_TARGET_OPTIONS,
  // Sent as they are: external_id is the Braze user id, not a hash.
  identifiers: { external_id: { kind: 'external_id', hash: false } },
  batchSize: { default: BRAZE_TRACK_MAX_OBJECTS, max: BRAZE_TRACK_MAX_OBJECTS },
  rateLimit: BRAZE_TRACK_REQUESTS_PER_SECOND,
  concurrency: BRAZE_DEFAULT_CONCURRENCY,
  connect(ctx: DestinationContext<BrazeOptions>) {
    const who = `destination ${ctx.name} (Braze)`;
    if (!ctx.baseUrl) {
      // Braze has no global host: every workspace lives on one cluster.
      throw new ConfigError(`destinations.${ctx.name}.baseUrl: is required for Braze (your cluster's REST endpoint)`, {
        hint: "Set baseUrl to the REST endpoint shown in Braze's API settings, e.g. 'https://rest.iad-01.braze.com' or 'https://rest.fra-01.braze.eu'.",
      });
    }
    const target = readBrazeTarget(ctx.target, ctx.sync.name, `syncs.${ctx.sync.name}.target`);
    const conn: BrazeConnection = { baseUrl: ctx.baseUrl, apiKey: ctx.options.apiKey, timeoutMs: ctx.timeoutMs, who };
    // update mode: only profiles Braze already has are written.
    const updateOnly = ctx.sync.mode === 'update';
    // Shared by every batch of this run: the subscription endpoint has its own, lower limit.
    const subscriptionLimiter = new RateLimiter(BRAZE_SUBSCRIPTION_REQUESTS_PER_SECOND);
    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        const ops = batch.operations;
        const objects = ops.map((op) => attributesFor(op, target, updateOnly));
        const res = await brazePost(conn, '/users/track', JSON.stringify({ attributes: objects }));
        const results = mapTrackResponse(res.status, res.text, objects);
        // Subscription state follows only rows whose attribute write Braze accepted.
        for (const call of subscriptionCalls(ops, results, target)) {
          await subscriptionLimiter.take();
          const sub = await brazePost(conn, '/v2/subscription/status/set', call.body);
          if (sub.status >= 200 && sub.status < 300) continue;
          const refusal = subscriptionRefusal(sub.status, sub.text, call.state);
          for (const i of call.rows) results[i] = refusal;
        }
        return results;
      },
    };
  },
});

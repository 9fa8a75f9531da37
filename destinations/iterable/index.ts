import { defineDestination, type Batch, type DestinationContext, type Operation, type RowResult } from '../../engine/destination/index.js';
import { ITERABLE_DEFAULT_CONCURRENCY, ITERABLE_DEFAULT_REQUESTS_PER_SECOND, ITERABLE_HOSTS, ITERABLE_MAX_SUBSCRIBERS, type IterableRegion } from './iterable-limits.js';
import { ITERABLE_TARGET_OPTIONS, readIterableTarget, type IterableTarget } from './iterable-target.js';
import { iterablePost, type IterableConnection } from './iterable-http.js';
import { identityKey, identityOf, subscriberFor, unsubscriberFor, type Subscriber } from './iterable-subscribers.js';
import { mapListResponse, type ListCall } from './iterable-response.js';

interface IterableOptions {
  /** Resolved by the engine (env() or literal), redacted from every message. */
  apiKey: string;
  region?: IterableRegion;
}

/**
 * Iterable static lists (destinations/iterable/README.md): members are
 * subscribed to the list (their profile updated with the mapped fields) and
 * removed from it with channelUnsubscribe false, so removal never touches a
 * user's channel or message-type subscriptions.
 */
export const iterable = defineDestination<IterableOptions>({
  type: 'iterable',
  description: 'Iterable list membership: subscribe with data fields, unsubscribe from the list only (channelUnsubscribe: false).',
  options: {
    apiKey: { type: 'secret', required: true, description: 'server-side API key of the Iterable project' },
    region: { type: 'enum', values: ['us', 'eu'], description: "data center of the project: 'us' (default, api.iterable.com) or 'eu' (api.eu.iterable.com)" },
  },
  target: ITERABLE_TARGET_OPTIONS,
  // Iterable needs the address or id itself: normalized in the warehouse, not hashed.
  identifiers: { email: { kind: 'email', hash: false }, userId: { kind: 'external_id', hash: false } },
  batchSize: { default: ITERABLE_MAX_SUBSCRIBERS, max: ITERABLE_MAX_SUBSCRIBERS },
  rateLimit: ITERABLE_DEFAULT_REQUESTS_PER_SECOND,
  throttlesRequests: true,
  concurrency: ITERABLE_DEFAULT_CONCURRENCY,
  connect(ctx: DestinationContext<IterableOptions>) {
    const target = readIterableTarget(ctx.target, `syncs.${ctx.sync.name}.target`);
    const conn: IterableConnection = {
      baseUrl: ctx.baseUrl ?? ITERABLE_HOSTS[ctx.options.region ?? 'us'],
      apiKey: ctx.options.apiKey,
      timeoutMs: ctx.timeoutMs,
      throttle: ctx.throttle,
      who: `destination ${ctx.name} (Iterable)`,
    };
    // update mode: Iterable must not create users it does not have.
    const updateOnly = ctx.sync.mode === 'update';
    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        const ops = batch.operations;
        const results = new Array<RowResult>(ops.length);
        const joins = ops.flatMap((op, i) => (op.op === 'remove' ? [] : [i]));
        const leaves = ops.flatMap((op, i) => (op.op === 'remove' ? [i] : []));
        if (joins.length > 0) {
          const extra = { updateExistingUsersOnly: updateOnly };
          await listCall(conn, target, 'subscribe', ops, joins, (op) => subscriberFor(op, target.identifyBy), extra, results);
        }
        if (leaves.length > 0) {
          // channelUnsubscribe false: off this list only, never a global or channel unsubscribe.
          const extra = { channelUnsubscribe: false };
          await listCall(conn, target, 'unsubscribe', ops, leaves, (op) => unsubscriberFor(op, target.identifyBy), extra, results);
        }
        return results;
      },
    };
  },
});

/**
 * One subscribe or unsubscribe request for the rows `rows`, its outcomes
 * written into `results`. One subscriber per user (the last row wins), so a
 * user named twice in a batch is counted once on both sides.
 */
async function listCall(
  conn: IterableConnection,
  target: IterableTarget,
  call: ListCall,
  ops: readonly Operation[],
  rows: readonly number[],
  toSubscriber: (op: Operation) => Subscriber,
  extra: Record<string, boolean>,
  results: RowResult[],
): Promise<void> {
  const keyOf = (op: Operation): string => identityKey(identityOf(op, target.identifyBy), target.identifyBy);
  const subscribers = new Map<string, Subscriber>();
  for (const i of rows) subscribers.set(keyOf(ops[i]!), toSubscriber(ops[i]!));
  const body = JSON.stringify({ listId: target.listId, subscribers: [...subscribers.values()], ...extra });
  const res = await iterablePost(conn, `/api/lists/${call}`, body);
  const byKey = mapListResponse(call, res.status, res.text, [...subscribers.keys()], target.identifyBy);
  for (const i of rows) results[i] = byKey.get(keyOf(ops[i]!))!;
}

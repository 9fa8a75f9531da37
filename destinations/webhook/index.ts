import { defineDestination, type RowResult, type Batch, type DestinationContext, httpRequest, resolveSecret, type Secret, signWebhook, DestinationError } from '../../engine/destination/index.js';

/** Default and ceiling of operations per request (destinations/webhook/README.md). */
export const WEBHOOK_DEFAULT_BATCH = 500;
export const WEBHOOK_MAX_BATCH = 10_000;
/** How much of an error body becomes the rejection reason. */
const REASON_CHARS = 500;

interface WebhookOptions {
  url: Secret;
  secret?: Secret;
  headers?: Record<string, Secret>;
}

export const webhook = defineDestination<WebhookOptions>({
  type: 'webhook',
  description: "POSTs batches of operations as JSON to your endpoint, signed per the Standard Webhooks convention.",
  options: {
    url: { type: 'url', required: true, description: 'endpoint that receives the batches' },
    secret: { type: 'secret', description: 'signing secret (whsec_<base64> or any string)' },
    headers: { type: 'object', description: 'extra request headers (values may use env())' },
  },
  batchSize: { default: WEBHOOK_DEFAULT_BATCH, max: WEBHOOK_MAX_BATCH },
  concurrency: 4,
  connect(ctx: DestinationContext<WebhookOptions>) {
    const who = `destination ${ctx.name}`;
    const url = ctx.baseUrl ? rebase(resolveSecret(ctx.options.url, `destinations.${ctx.name}.url`), ctx.baseUrl) : resolveSecret(ctx.options.url, `destinations.${ctx.name}.url`);
    const secret = ctx.options.secret === undefined ? undefined : resolveSecret(ctx.options.secret, `destinations.${ctx.name}.secret`);
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx.options.headers ?? {})) extra[k] = resolveSecret(v, `destinations.${ctx.name}.headers.${k}`);
    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        // Built by concatenation so each row's fields go out exactly as the warehouse wrote them.
        const ops = batch.operations.map((op) => `{"op":${JSON.stringify(op.op)},"key":${JSON.stringify(op.key)},"fields":${op.fieldsJson}}`);
        const body = `{"sync":${JSON.stringify(ctx.sync.name)},"run_id":${JSON.stringify(ctx.runId)},"batch_id":${JSON.stringify(batch.id)},"operations":[${ops.join(',')}]}`;
        const timestamp = Math.floor(Date.now() / 1000);
        const headers: Record<string, string> = {
          ...extra,
          'content-type': 'application/json',
          'user-agent': 'audsync',
          'webhook-id': batch.id,
          'webhook-timestamp': String(timestamp),
        };
        if (secret !== undefined) headers['webhook-signature'] = signWebhook(secret, batch.id, timestamp, body);
        const res = await httpRequest({ url, headers, body, timeoutMs: ctx.timeoutMs }, who);
        if (res.status >= 400) {
          const reason = `HTTP ${res.status}: ${res.text.slice(0, REASON_CHARS)}`;
          return batch.operations.map(() => ({ status: 'rejected', code: String(res.status), message: reason }));
        }
        return mapResults(batch, res.text, who);
      },
    };
  },
});

/**
 * Per-row outcomes from a 2xx body (the contract in README.md): an empty body or
 * a JSON object without `results` accepts every row; keys `results` does not list
 * count as succeeded. Any other body confirms nothing, so the batch fails (and is
 * retried with the same webhook-id): a success must never be assumed.
 */
function mapResults(batch: Batch, text: string, who: string): RowResult[] {
  if (text.trim() === '') return batch.operations.map(() => ({ status: 'succeeded' }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw unreadable(who, 'the body is not JSON', text);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw unreadable(who, 'the body is not a JSON object', text);
  if (!('results' in parsed)) return batch.operations.map(() => ({ status: 'succeeded' }));
  const results = (parsed as { results: unknown }).results;
  if (!Array.isArray(results)) throw unreadable(who, '`results` is not an array', text);
  const byKey = new Map<string, { status?: unknown; id?: unknown; error?: unknown; code?: unknown }>();
  for (const r of results) if (r && typeof r === 'object' && 'key' in r) byKey.set(String((r as { key: unknown }).key), r as never);
  return batch.operations.map((op): RowResult => {
    const r = byKey.get(op.key);
    if (!r || r.status === 'succeeded' || r.status === undefined) {
      return { status: 'succeeded', id: r?.id === undefined || r.id === null ? undefined : String(r.id) };
    }
    if (r.status === 'rejected') {
      // Without a code, the message is the reason refusals are compared by (quarantine).
      return { status: 'rejected', code: r.code === undefined || r.code === null ? undefined : String(r.code), message: String(r.error ?? 'rejected by the receiver') };
    }
    return { status: 'failed', code: String(r.status), message: String(r.error ?? `receiver reported status ${String(r.status)}`) };
  });
}

function unreadable(who: string, why: string, text: string): DestinationError {
  return new DestinationError(`${who}: a 2xx answer that confirms nothing (${why}): ${text.slice(0, 120)}`, {
    retryable: true,
    code: 'unreadable_response',
    hint: 'Answer 2xx with an empty body, a JSON object, or {"results": [...]} (see the webhook destination page).',
  });
}

/** Keeps the path and query of `url`, replacing scheme and host (and prefixing the baseUrl's path). */
function rebase(url: string, baseUrl: string): string {
  const u = new URL(url);
  return `${baseUrl}${u.pathname}${u.search}`;
}

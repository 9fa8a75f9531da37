import { defineDestination, type Batch, type DestinationContext, type RowResult, DestinationError } from '../../engine/destination/index.js';
import { MAILCHIMP_BATCH_MAX_MEMBERS, MAILCHIMP_DEFAULT_CONCURRENCY } from './mailchimp-limits.js';
import { MAILCHIMP_TARGET_OPTIONS, readMailchimpTarget } from './mailchimp-target.js';
import { mailchimpConnection, mailchimpPost } from './mailchimp-http.js';
import { batchMemberFor, emailOf, subscriberHash, type BatchMember } from './mailchimp-members.js';
import { mapBatchResponse } from './mailchimp-batch-response.js';
import { inPool, removeTag } from './mailchimp-tags.js';

interface MailchimpOptions {
  /** Resolved by the engine (env() or literal), redacted from every message. */
  apiKey: string;
}

/**
 * Mailchimp audiences (destinations/mailchimp/README.md): members are
 * upserted with the batch subscribe call; membership is a tag by default
 * (consent untouched) or the subscription status when the sync says so.
 */
export const mailchimp = defineDestination<MailchimpOptions>({
  type: 'mailchimp',
  description: 'Mailchimp audience members: merge fields upserted in batches of 500; membership as a tag (default) or as subscription status.',
  options: {
    apiKey: { type: 'secret', required: true, description: "API key, ending in its data center (e.g. '…-us21')" },
  },
  target: MAILCHIMP_TARGET_OPTIONS,
  // Mailchimp needs the address itself: normalized in the warehouse, not hashed.
  identifiers: { email: { kind: 'email', hash: false }, email_address: { kind: 'email', hash: false } },
  batchSize: { default: MAILCHIMP_BATCH_MAX_MEMBERS, max: MAILCHIMP_BATCH_MAX_MEMBERS },
  concurrency: MAILCHIMP_DEFAULT_CONCURRENCY,
  // No request-rate limit is documented, only 10 connections (kept by concurrency); 429s are backed off.
  rateLimit: undefined,
  // A rateLimit the user sets counts every request: the batch call and each tag removal.
  throttlesRequests: true,
  // The batch call has no "update existing only" switch: an update-mode sync would create contacts.
  modes: ['mirror', 'upsert', 'add', 'remove'],
  connect(ctx: DestinationContext<MailchimpOptions>) {
    const conn = mailchimpConnection(ctx.options.apiKey, ctx.baseUrl, ctx.timeoutMs, ctx.name, ctx.throttle);
    // The key goes out base64-encoded inside the Basic header: a server echoing the header must not show it either.
    ctx.registerSecret(conn.authorization.replace(/^Basic /, ''));
    const target = readMailchimpTarget(ctx.target, ctx.sync.name, `syncs.${ctx.sync.name}.target`);
    const listPath = `/lists/${encodeURIComponent(target.listId)}`;
    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        const ops = batch.operations;
        const results = new Array<RowResult>(ops.length);
        const untag: number[] = [];
        // One entry per email (the last row wins), so duplicates never split a batch's answer.
        const members = new Map<string, BatchMember>();
        ops.forEach((op, i) => {
          if (op.op === 'remove' && target.membership === 'tag') untag.push(i);
          else {
            const m = batchMemberFor(op, target);
            members.set(m.email_address.toLowerCase(), m);
          }
        });
        if (members.size > 0) {
          const res = await mailchimpPost(conn, listPath, JSON.stringify({ members: [...members.values()], update_existing: true }));
          if (res.status === 404) {
            throw new DestinationError(`${conn.who}: audience ${JSON.stringify(target.listId)} not found (HTTP 404)`, {
              retryable: false,
              code: '404',
              hint: `Check syncs.${ctx.sync.name}.target.listId: the audience id from Audience > Settings > Audience name and defaults.`,
            });
          }
          const byEmail = mapBatchResponse(res.status, res.text, [...members.keys()]);
          ops.forEach((op, i) => {
            if (!(op.op === 'remove' && target.membership === 'tag')) results[i] = byEmail.get(emailOf(op).toLowerCase())!;
          });
        }
        if (untag.length > 0) {
          const removed = await inPool(untag, (i) => {
            const op = ops[i]!;
            return removeTag(conn, target.listId, op.destinationRecordId ?? subscriberHash(emailOf(op)), target.tag);
          });
          untag.forEach((row, j) => (results[row] = removed[j]!));
        }
        return results;
      },
    };
  },
});

import { defineDestination, type Batch, type DestinationContext, type Operation, type RowResult, ConfigError, DestinationError } from '../../engine/destination/index.js';
import { DEFAULT_API_VERSION, GRAPH_API_HOST, GraphApi, type Edge, type UploadSession } from './graph-api.js';
import { META_IDENTIFIERS, META_SCHEMA_KEYS, isMetaSchemaKey, replacedRowOf, rowOf, schemaOf, type Cell, type MetaSchemaKey } from './meta-schema.js';
import { ReplaceSession, sessionIdFor } from './replace-session.js';
import { uploadResults } from './upload-results.js';

/** Rows per request: "Limit: 10,000 rows per request" (destinations/meta-custom-audiences/README.md). */
export const META_MAX_BATCH = 10_000;
/**
 * Requests per second. Meta's limits are business-use-case formulas, not a
 * fixed rate (developers.facebook.com/docs/marketing-api/overview/rate-limiting);
 * 5 requests of up to 10,000 rows stays well inside the quota of a standard
 * access tier, and throttling answers (codes 4, 17, 613, 80003) slow us further.
 */
export const META_DEFAULT_RATE = 5;
/** Run metrics written to sync_run_metrics. */
export const METRICS = {
  received: 'meta.num_received',
  invalid: 'meta.num_invalid_entries',
  lowerBound: 'meta.approximate_count_lower_bound',
  upperBound: 'meta.approximate_count_upper_bound',
} as const;

interface MetaOptions {
  accessToken: string;
  appSecret?: string;
  apiVersion?: string;
}

export const metaCustomAudiences = defineDestination<MetaOptions>({
  type: 'meta_custom_audiences',
  description: 'Keeps a Meta (Facebook) customer-file Custom Audience equal to the audience, with identifiers normalized and SHA-256 hashed in the warehouse.',
  options: {
    accessToken: { type: 'secret', required: true, description: "system-user access token with ads_management, e.g. env('META_TOKEN')" },
    appSecret: { type: 'secret', description: 'app secret; when set every call carries appsecret_proof and appsecret_time' },
    apiVersion: { type: 'string', description: `Graph API version in the path (default ${DEFAULT_API_VERSION})` },
  },
  target: {
    audienceId: { type: 'string', required: true, description: 'id of the customer-file custom audience (a numeric string)' },
  },
  identifiers: META_IDENTIFIERS,
  batchSize: { default: META_MAX_BATCH, max: META_MAX_BATCH },
  rateLimit: META_DEFAULT_RATE,
  // Each upload counts (a changed member's old row is a DELETE before its POST).
  throttlesRequests: true,
  concurrency: 2,
  // A mirror's full refresh is a usersreplace session: stopped part-way, Meta keeps the old audience.
  replacesOnFullRefresh: ['mirror'],
  connect(ctx: DestinationContext<MetaOptions>) {
    const who = `destination ${ctx.name} (Meta Custom Audiences)`;
    const schema = checkFields(ctx, who);
    const audienceId = checkAudienceId(ctx.target.audienceId, `syncs.${ctx.sync.name}.target.audienceId`);
    const version = ctx.options.apiVersion ?? DEFAULT_API_VERSION;
    if (!/^v\d+\.\d+$/.test(version)) throw new ConfigError(`destinations.${ctx.name}.apiVersion: ${JSON.stringify(version)} is not a Graph API version such as '${DEFAULT_API_VERSION}'`);
    const api = new GraphApi(ctx.baseUrl ?? GRAPH_API_HOST, version, String(ctx.options.accessToken), ctx.options.appSecret === undefined ? undefined : String(ctx.options.appSecret), ctx.timeoutMs, who, ctx.throttle);
    // Only a mirror's full refresh uploads the whole audience, so only then may a replace drop who is not uploaded.
    const session = ctx.fullRefresh && ctx.sync.mode === 'mirror' ? new ReplaceSession(sessionIdFor(ctx.runId, ctx.sync.name, audienceId), ctx.timeoutMs, who) : undefined;

    /** One request with some of the batch's rows; fills their slots (`at`, positions in the batch) of `results`. */
    const upload = async (method: 'POST' | 'DELETE', edge: Edge, rows: readonly (readonly Cell[])[], at: readonly number[], results: RowResult[], s?: UploadSession): Promise<'accepted' | 'rejected'> => {
      const answer = await api.upload(method, edge, audienceId, schema, rows, s);
      if (answer.kind === 'accepted') {
        if (answer.numReceived !== undefined) ctx.recordMetric(METRICS.received, answer.numReceived);
        ctx.recordMetric(METRICS.invalid, answer.numInvalidEntries);
      }
      uploadResults(rows, answer).forEach((r, i) => (results[at[i]!] = r));
      return answer.kind;
    };
    const rowsOf = (part: Part): Cell[][] => part.ops.map((op) => rowOf(op, schema));

    /**
     * Adds (and changes: Meta has no update, re-adding is a set operation) by
     * POST, removes by DELETE. A member whose identifier cells differ from
     * those last sent (a new email for the same key) also has its old row
     * DELETEd, in a request of its own between the two: after the removes, so
     * their refusal stays theirs, and before the POST, so that a person the
     * old and the new row share (the same phone) ends up in. Such a member
     * succeeds only when both its DELETE and its POST did.
     */
    const sendIncremental = async (batch: Batch): Promise<RowResult[]> => {
      const results: RowResult[] = new Array<RowResult>(batch.operations.length);
      const { removes, members } = split(batch.operations);
      if (removes.at.length > 0) await upload('DELETE', 'users', rowsOf(removes), removes.at, results);
      const replaced = replacedRows(members, schema);
      const removals: RowResult[] = new Array<RowResult>(batch.operations.length);
      if (replaced.at.length > 0) await upload('DELETE', 'users', replaced.rows, replaced.at, removals);
      if (members.at.length > 0) await upload('POST', 'users', rowsOf(members), members.at, results);
      for (const at of replaced.at) results[at] = withRemoval(results[at]!, removals[at]!);
      return results;
    };

    /**
     * A mirror's --full-refresh: members go to usersreplace in one session, in
     * batch order. Removes (streamed first) still go by DELETE before the
     * session opens, so they hold even if the session never closes, or when
     * nobody is left to upload.
     */
    const sendReplacing = async (batch: Batch, s: ReplaceSession): Promise<RowResult[]> => {
      await s.turn(batch.seq);
      try {
        const results: RowResult[] = new Array<RowResult>(batch.operations.length);
        const { removes, members } = split(batch.operations);
        if (removes.at.length > 0) await upload('DELETE', 'users', rowsOf(removes), removes.at, results);
        // A member whose identifiers changed needs no DELETE of its old row here: when the session closes,
        // Meta swaps the audience for exactly the rows uploaded in it, so the old identifiers go with
        // everything else that was not re-uploaded. A DELETE would only take the person out before the swap.
        if (members.at.length > 0) {
          const session: UploadSession = {
            session_id: s.sessionId,
            batch_seq: s.batchSeq(batch.seq),
            last_batch_flag: batch.isLast,
            estimated_num_total: s.estimatedTotal(ctx.plannedTotal, removes.at.length),
          };
          const kind = await upload('POST', 'usersreplace', rowsOf(members), members.at, results, session);
          if (kind === 'rejected') {
            // Going on would close the session without these members: the replace would drop them.
            const first = results[members.at[0]!] as { message: string };
            throw new DestinationError(`${who}: ${first.message}`, { retryable: false, code: 'replace_refused', hint: 'Meta refused a batch of the replace session; the audience keeps its previous members.' });
          }
        } else if (batch.isLast && s.started) {
          throw new DestinationError(`${who}: the last batch of the replace session holds no members, so the session cannot be closed`, { retryable: false, code: 'replace_order' });
        }
        s.finish(batch.seq, members.at.length > 0, removes.at.length);
        return results;
      } catch (e) {
        s.fail(batch.seq, e);
        throw e;
      }
    };

    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        const results = session ? await sendReplacing(batch, session) : await sendIncremental(batch);
        if (batch.isLast) await recordAudienceSize(api, audienceId, ctx);
        return results;
      },
    };
  },
});

/** The audience's approximate size after the run, as run metrics; reading it is best effort. */
async function recordAudienceSize(api: GraphApi, audienceId: string, ctx: DestinationContext<MetaOptions>): Promise<void> {
  try {
    const size = await api.audienceSize(audienceId);
    if (size.approximate_count_lower_bound !== undefined) ctx.recordMetric(METRICS.lowerBound, size.approximate_count_lower_bound);
    if (size.approximate_count_upper_bound !== undefined) ctx.recordMetric(METRICS.upperBound, size.approximate_count_upper_bound);
  } catch {
    // The batch was delivered; a size we cannot read now is not worth failing it.
  }
}

interface Part {
  readonly ops: Operation[];
  /** Positions of `ops` in the batch. */
  readonly at: number[];
}

function split(operations: readonly Operation[]): { removes: Part; members: Part } {
  const removes: Part = { ops: [], at: [] };
  const members: Part = { ops: [], at: [] };
  operations.forEach((op, i) => {
    const part = op.op === 'remove' ? removes : members;
    part.ops.push(op);
    part.at.push(i);
  });
  return { removes, members };
}

/** The old rows to DELETE of the members whose identifier cells changed, with their positions in the batch. */
function replacedRows(members: Part, schema: readonly MetaSchemaKey[]): { rows: Cell[][]; at: number[] } {
  const out: { rows: Cell[][]; at: number[] } = { rows: [], at: [] };
  members.ops.forEach((op, i) => {
    const old = replacedRowOf(op, schema);
    if (old === undefined) return;
    out.rows.push(old);
    out.at.push(members.at[i]!);
  });
  return out;
}

/** A member's outcome when its old row was DELETEd too: succeeded only if both requests took it. */
function withRemoval(add: RowResult, removal: RowResult): RowResult {
  if (removal.status === 'succeeded' || add.status === 'rejected') return add;
  return { status: removal.status, ...(removal.code !== undefined ? { code: removal.code } : {}), message: `removing the identifiers last sent: ${removal.message}` };
}

/** The sync's fields must all be Meta schema keys, with at least one identifier; their fixed-order schema. */
function checkFields(ctx: DestinationContext<MetaOptions>, who: string): MetaSchemaKey[] {
  for (const f of ctx.sync.fields) {
    if (!isMetaSchemaKey(f)) {
      const upper = f.toUpperCase();
      throw new DestinationError(`syncs.${ctx.sync.name}.fields.${f}: ${JSON.stringify(f)} is not a Meta schema key, so ${who} cannot send it`, {
        retryable: false,
        code: 'unknown_schema_key',
        hint: `Key fields by Meta's schema names${isMetaSchemaKey(upper) ? ` (${upper}, not ${f})` : ''}: ${META_SCHEMA_KEYS.join(', ')}. Identifier keys are normalized and hashed in the warehouse.`,
      });
    }
  }
  const schema = schemaOf(ctx.sync.fields);
  if (!schema.some((k) => k !== 'LOOKALIKE_VALUE')) {
    throw new DestinationError(`syncs.${ctx.sync.name}.fields: ${who} needs at least one identifier field (EMAIL, PHONE, EXTERN_ID, MADID, …)`, {
      retryable: false,
      code: 'no_identifier',
    });
  }
  return schema;
}

function checkAudienceId(v: unknown, at: string): string {
  const id = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^\d+$/.test(id)) throw new ConfigError(`${at}: must be the numeric id of a custom audience, as a string (got ${JSON.stringify(v)})`);
  return id;
}

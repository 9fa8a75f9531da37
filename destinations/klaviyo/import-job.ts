import { setTimeout as sleep } from 'node:timers/promises';
import { type Operation, type RowResult, DestinationError } from '../../engine/destination/index.js';
import { describe, parseErrors, parseJson, type KlaviyoApi, type KlaviyoResource } from './klaviyo-api.js';
import { KLAVIYO_MAX_IMPORT_BYTES, KLAVIYO_MAX_IMPORT_PROFILES, KLAVIYO_PAGE_SIZE } from './klaviyo-limits.js';
import { identifiersOf, profileResource, PROFILE_IDENTIFIERS, type Identifiers } from './profile-payload.js';

export interface ImportSettings {
  listId: string;
  pollIntervalMs: number;
  jobTimeoutMs: number;
  recordMetric(name: string, value: number): void;
}

/** One row of a batch headed for an import job. */
interface ImportRow {
  /** Position in the batch. */
  readonly at: number;
  readonly op: Operation;
  readonly ids: Identifiers;
  /** The profile resource as JSON text. */
  readonly json: string;
}

const JOBS_PATH = '/api/profile-bulk-import-jobs';
/** A pointer into the submitted profiles, e.g. `/data/attributes/profiles/data/3/attributes/email`. */
const PROFILE_POINTER = /^\/data\/attributes\/profiles\/data\/(\d+)(\/|$)/;
/** Envelope bytes around the profiles (type, relationships), kept out of the per-job byte budget. */
const ENVELOPE_BYTES = 512;

/**
 * Upserts the add/change rows as profiles through bulk import jobs that also
 * add them to the list, waits for each job, and maps its outcome back to rows:
 * an import error is `rejected` with Klaviyo's code and detail; a row the job
 * reports among its profiles is `succeeded` with the profile id (kept as
 * destination_record_id for removals); a row the job mentions nowhere is
 * `failed`, so the next run sends it again.
 */
export async function importProfiles(api: KlaviyoApi, ops: ReadonlyArray<{ at: number; op: Operation }>, s: ImportSettings): Promise<Map<number, RowResult>> {
  const results = new Map<number, RowResult>();
  const rows: ImportRow[] = [];
  for (const { at, op } of ops) {
    const ids = identifiersOf(op.fields);
    if (Object.keys(ids).length === 0) {
      results.set(at, { status: 'rejected', code: 'missing_identifier', message: `no ${PROFILE_IDENTIFIERS.join(', ')} value: Klaviyo needs one to identify the profile` });
      continue;
    }
    rows.push({ at, op, ids, json: JSON.stringify(profileResource(op.fields)) });
  }
  for (const chunk of chunks(rows)) {
    for (const [at, r] of await runJob(api, chunk, s)) results.set(at, r);
  }
  return results;
}

/** Splits rows into jobs of at most 10,000 profiles and 5 MB. */
function chunks(rows: ImportRow[]): ImportRow[][] {
  const out: ImportRow[][] = [];
  let cur: ImportRow[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const r of rows) {
    const size = Buffer.byteLength(r.json) + 1;
    if (cur.length > 0 && (cur.length >= KLAVIYO_MAX_IMPORT_PROFILES || bytes + size > KLAVIYO_MAX_IMPORT_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = ENVELOPE_BYTES;
    }
    cur.push(r);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function jobBody(rows: readonly ImportRow[], listId: string): string {
  // Built by concatenation so each profile goes out exactly as serialized once.
  return (
    `{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[${rows.map((r) => r.json).join(',')}]}},` +
    `"relationships":{"lists":{"data":[{"type":"list","id":${JSON.stringify(listId)}}]}}}}`
  );
}

async function runJob(api: KlaviyoApi, rows: ImportRow[], s: ImportSettings): Promise<Map<number, RowResult>> {
  const results = new Map<number, RowResult>();
  let pending = rows;
  // A 400 that points at particular profiles rejects those and submits the rest again, once.
  for (let round = 0; pending.length > 0; round++) {
    const res = await api.write('POST', JOBS_PATH, jobBody(pending, s.listId));
    if (res.status >= 200 && res.status < 300) {
      const jobId = String((parseJson(res.text, api.who).data as { id?: unknown } | undefined)?.id ?? '');
      if (!jobId) throw new DestinationError(`${api.who}: the import job was accepted without an id`, { retryable: true, code: 'bad_response' });
      s.recordMetric('klaviyo import jobs', 1);
      for (const [at, r] of await awaitJob(api, jobId, pending, s)) results.set(at, r);
      return results;
    }
    const errors = parseErrors(res.text);
    if (res.status === 404 || errors.some((e) => e.pointer?.startsWith('/data/relationships/lists'))) {
      // Every row would fail the same way: a configuration mistake, not a row's.
      throw new DestinationError(`${api.who}: Klaviyo refused list ${JSON.stringify(s.listId)}: ${errors[0] ? describe(errors[0]) : `HTTP ${res.status}`}`, {
        retryable: false,
        code: errors[0]?.code ?? String(res.status),
        hint: 'Check target.listId: it must be the id of an existing Klaviyo list (Lists > list settings).',
      });
    }
    const blamed = new Map<number, string>();
    for (const e of errors) {
      const m = e.pointer ? PROFILE_POINTER.exec(e.pointer) : null;
      if (m && Number(m[1]) < pending.length && !blamed.has(Number(m[1]))) blamed.set(Number(m[1]), `${e.code}: ${describe(e)}`);
    }
    const why = errors[0] ? `${errors[0].code}: ${describe(errors[0])}` : `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
    if (blamed.size === 0 || round > 0) {
      for (const r of pending) results.set(r.at, { status: 'rejected', code: errors[0]?.code ?? String(res.status), message: `import refused: ${why}` });
      return results;
    }
    const rest: ImportRow[] = [];
    pending.forEach((r, i) => {
      const reason = blamed.get(i);
      if (reason === undefined) rest.push(r);
      else results.set(r.at, { status: 'rejected', code: reason.slice(0, reason.indexOf(':')), message: reason });
    });
    pending = rest;
  }
  return results;
}

/** Polls the job until it is done, then maps its import errors and profiles to rows. */
async function awaitJob(api: KlaviyoApi, jobId: string, rows: ImportRow[], s: ImportSettings): Promise<Map<number, RowResult>> {
  const deadline = Date.now() + s.jobTimeoutMs;
  let attrs: Record<string, unknown> = {};
  for (;;) {
    const doc = await api.read(`${JOBS_PATH}/${encodeURIComponent(jobId)}`);
    attrs = ((doc.data as { attributes?: Record<string, unknown> } | undefined)?.attributes ?? {}) as Record<string, unknown>;
    const status = String(attrs.status ?? '');
    if (status === 'complete') break;
    if (status === 'cancelled') {
      throw new DestinationError(`${api.who}: import job ${jobId} was cancelled by Klaviyo`, { retryable: true, code: 'job_cancelled' });
    }
    if (Date.now() + s.pollIntervalMs > deadline) {
      const message = `import job ${jobId} still ${status || 'unknown'} after ${s.jobTimeoutMs} ms; sent again next run`;
      return new Map(rows.map((r) => [r.at, { status: 'failed', code: 'job_timeout', message }]));
    }
    await sleep(s.pollIntervalMs);
  }
  const failedCount = Number(attrs.failed_count ?? 0);
  if (failedCount > 0) s.recordMetric('klaviyo import errors', failedCount);
  // failed_count may be null on some revisions: ask for errors unless it says none.
  const errors = attrs.failed_count === 0 ? [] : await api.readAll(`${JOBS_PATH}/${encodeURIComponent(jobId)}/import-errors?page[size]=${KLAVIYO_PAGE_SIZE}`);
  const profiles = await api.readAll(
    `${JOBS_PATH}/${encodeURIComponent(jobId)}/profiles?fields[profile]=${PROFILE_IDENTIFIERS.join(',')}&page[size]=${KLAVIYO_PAGE_SIZE}`,
  );
  return mapOutcome(jobId, rows, errors, profiles);
}

function mapOutcome(jobId: string, rows: ImportRow[], errors: KlaviyoResource[], profiles: KlaviyoResource[]): Map<number, RowResult> {
  const rejected = new Map<number, RowResult>();
  for (const e of errors) {
    const i = errorRow(e, rows, rejected);
    if (i === undefined) continue;
    const a = e.attributes;
    const code = String(a.code ?? 'invalid');
    rejected.set(i, { status: 'rejected', code, message: describe({ code, title: String(a.title ?? ''), detail: String(a.detail ?? '') }) });
  }
  const byIdentifier = new Map<string, string>();
  for (const p of profiles) {
    for (const [k, v] of Object.entries(identifiersOf(p.attributes))) if (!byIdentifier.has(`${k}\u0000${v}`)) byIdentifier.set(`${k}\u0000${v}`, p.id);
  }
  const out = new Map<number, RowResult>();
  rows.forEach((r, i) => {
    const rej = rejected.get(i);
    if (rej) return void out.set(r.at, rej);
    const id = PROFILE_IDENTIFIERS.map((k) => (r.ids[k] === undefined ? undefined : byIdentifier.get(`${k}\u0000${r.ids[k]}`))).find((x) => x !== undefined);
    out.set(
      r.at,
      id !== undefined
        ? { status: 'succeeded', id }
        : { status: 'failed', code: 'not_confirmed', message: `import job ${jobId} completed without reporting this profile (neither imported nor in its import errors)` },
    );
  });
  return out;
}

/** Which submitted row an import error is about: by pointer index, else by the identifiers of its original payload. */
function errorRow(e: KlaviyoResource, rows: ImportRow[], taken: ReadonlyMap<number, unknown>): number | undefined {
  const pointer = (e.attributes.source as { pointer?: unknown } | undefined)?.pointer;
  const m = typeof pointer === 'string' ? PROFILE_POINTER.exec(pointer) : null;
  if (m && Number(m[1]) < rows.length) return Number(m[1]);
  const payload = e.attributes.original_payload as Record<string, unknown> | null | undefined;
  if (!payload || typeof payload !== 'object') return undefined;
  const ids = identifiersOf((payload.attributes as Record<string, unknown> | undefined) ?? payload);
  const keys = Object.keys(ids) as Array<keyof Identifiers>;
  if (keys.length === 0) return undefined;
  const matches = (r: ImportRow) => keys.every((k) => r.ids[k] === ids[k]);
  const i = rows.findIndex((r, idx) => !taken.has(idx) && matches(r));
  return i >= 0 ? i : undefined;
}

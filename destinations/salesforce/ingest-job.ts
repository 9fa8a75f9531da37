import { setTimeout as sleep } from 'node:timers/promises';
import { DestinationError } from '../../engine/destination/index.js';
import type { SalesforceApi } from './salesforce-api.js';
import { csvText, parseCsv } from './bulk-csv.js';

/** Raw CSV per upload (destinations/salesforce/README.md: "At most 100 MB of raw CSV per upload"). */
export const BULK_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

export type IngestOperation = 'insert' | 'update' | 'upsert' | 'delete';

export interface IngestSpec {
  readonly object: string;
  readonly operation: IngestOperation;
  /** For upsert. */
  readonly externalIdFieldName?: string;
  readonly header: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
}

/** What a finished job says about its rows: each result CSV record carries the uploaded columns. */
export interface IngestOutcome {
  /** sf__Id, sf__Created + the uploaded columns. */
  readonly successful: ReadonlyArray<Record<string, string>>;
  /** sf__Id, sf__Error ("CODE:message") + the uploaded columns. */
  readonly failed: ReadonlyArray<Record<string, string>>;
}

export interface PollSettings {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

/**
 * Runs Bulk API 2.0 ingest jobs for `spec`: create, upload the CSV, mark
 * UploadComplete, poll until the job ends, read its successful and failed
 * results. Rows whose CSV would pass the upload limit go in further jobs.
 */
export async function runIngest(api: SalesforceApi, spec: IngestSpec, poll: PollSettings): Promise<IngestOutcome> {
  const successful: Array<Record<string, string>> = [];
  const failed: Array<Record<string, string>> = [];
  for (const part of splitBySize(spec)) {
    const o = await runOneJob(api, part, poll);
    successful.push(...o.successful);
    failed.push(...o.failed);
  }
  return { successful, failed };
}

function* splitBySize(spec: IngestSpec): Generator<{ spec: IngestSpec; csv: string }> {
  const csv = csvText(spec.header, spec.rows);
  if (Buffer.byteLength(csv, 'utf8') <= BULK_MAX_UPLOAD_BYTES || spec.rows.length <= 1) {
    yield { spec, csv };
    return;
  }
  const half = Math.ceil(spec.rows.length / 2);
  yield* splitBySize({ ...spec, rows: spec.rows.slice(0, half) });
  yield* splitBySize({ ...spec, rows: spec.rows.slice(half) });
}

async function runOneJob(api: SalesforceApi, part: { spec: IngestSpec; csv: string }, poll: PollSettings): Promise<IngestOutcome> {
  const { spec, csv } = part;
  const what = `${spec.operation} ${spec.object}`;
  const created = await api.expect(
    {
      method: 'POST',
      path: api.dataPath('jobs/ingest'),
      contentType: 'application/json',
      body: JSON.stringify({
        object: spec.object,
        operation: spec.operation,
        ...(spec.externalIdFieldName ? { externalIdFieldName: spec.externalIdFieldName } : {}),
        contentType: 'CSV',
        lineEnding: 'LF',
      }),
      step: `create ingest job (${what})`,
    },
    [200, 201],
  );
  const jobId = (jsonObject(created.text) as { id?: unknown }).id;
  if (typeof jobId !== 'string') throw new DestinationError(`${api.who}: create ingest job (${what}): the answer has no job id`, { retryable: true, code: 'bulk' });
  const jobPath = api.dataPath(`jobs/ingest/${jobId}`);
  try {
    await api.expect({ method: 'PUT', path: `${jobPath}/batches`, contentType: 'text/csv', body: csv, step: `upload CSV to job ${jobId}` }, [201]);
    await api.expect({ method: 'PATCH', path: jobPath, contentType: 'application/json', body: JSON.stringify({ state: 'UploadComplete' }), step: `close job ${jobId}` }, [200]);
    await waitForJob(api, jobId, what, poll);
  } catch (e) {
    // A job left Open or half-processed would linger in the org: abort it, then let the batch be retried (upserts are idempotent).
    await api.call({ method: 'PATCH', path: jobPath, contentType: 'application/json', body: JSON.stringify({ state: 'Aborted' }), step: `abort job ${jobId}` }).catch(() => undefined);
    throw e;
  }
  const read = async (kind: string): Promise<Array<Record<string, string>>> =>
    parseCsv((await api.expect({ method: 'GET', path: `${jobPath}/${kind}/`, accept: 'text/csv', step: `read ${kind} of job ${jobId}` }, [200])).text);
  return { successful: await read('successfulResults'), failed: await read('failedResults') };
}

async function waitForJob(api: SalesforceApi, jobId: string, what: string, poll: PollSettings): Promise<void> {
  const deadline = Date.now() + poll.timeoutMs;
  for (;;) {
    const res = await api.expect({ method: 'GET', path: api.dataPath(`jobs/ingest/${jobId}`), step: `poll job ${jobId}` }, [200]);
    const info = jsonObject(res.text) as { state?: JobState; errorMessage?: unknown };
    if (info.state === 'JobComplete') return;
    if (info.state === 'Failed') {
      // The whole job failed (an unknown field, a bad external id field): every batch would, so the sync stops.
      throw new DestinationError(`${api.who}: ingest job ${jobId} (${what}) failed: ${String(info.errorMessage ?? 'no reason given')}`, {
        retryable: false,
        code: 'JobFailed',
        hint: 'Check the object, the external id field and the field API names the sync maps.',
      });
    }
    if (info.state === 'Aborted') throw new DestinationError(`${api.who}: ingest job ${jobId} (${what}) was aborted in Salesforce`, { retryable: true, code: 'JobAborted' });
    if (Date.now() + poll.intervalMs > deadline) {
      throw new DestinationError(`${api.who}: ingest job ${jobId} (${what}) did not finish within ${poll.timeoutMs} ms (state ${String(info.state)})`, { retryable: true, code: 'JobTimeout' });
    }
    await sleep(poll.intervalMs);
  }
}

function jsonObject(text: string): object {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

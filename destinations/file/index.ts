import fs from 'node:fs/promises';
import path from 'node:path';
import { defineDestination, type Batch, type DestinationContext, type RowResult, DestinationError } from '../../engine/destination/index.js';
import { csvLine } from './csv-line.js';
import { completeLength, headerMismatch } from './file-repair.js';

/** Rows per write: large, since a local append is cheap; each batch is one fsync. */
export const FILE_DEFAULT_BATCH = 10_000;
export const FILE_MAX_BATCH = 100_000;

interface FileOptions {
  path: string;
  format?: 'jsonl' | 'csv';
}

export const file = defineDestination<FileOptions>({
  type: 'file',
  description: 'Appends every operation to a local JSONL or CSV file (op, key, fields), fsynced per batch.',
  options: {
    path: { type: 'string', required: true, description: 'file to append to, relative to the config file' },
    format: { type: 'enum', values: ['jsonl', 'csv'], description: "'jsonl' (default) or 'csv'" },
  },
  batchSize: { default: FILE_DEFAULT_BATCH, max: FILE_MAX_BATCH },
  // Appends to one file must not interleave.
  concurrency: 1,
  async connect(ctx: DestinationContext<FileOptions>) {
    const target = path.resolve(ctx.projectDir, ctx.options.path);
    const format = ctx.options.format ?? (target.endsWith('.csv') ? 'csv' : 'jsonl');
    await fs.mkdir(path.dirname(target), { recursive: true });
    const who = `destination ${ctx.name} (${ctx.options.path})`;
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(target, 'a');
    } catch (e) {
      throw new DestinationError(`${who}: cannot open for appending: ${(e as Error).message}`, { retryable: false });
    }
    const fieldNames = ctx.sync.fields;
    const header = csvLine(['op', 'key', ...fieldNames]);
    try {
      // A run killed mid-append left a partial last record: cut it off (its rows were never committed, so they are sent again).
      const size = (await handle.stat()).size;
      const complete = await completeLength(target, format);
      if (complete < size) {
        await handle.truncate(complete);
        ctx.recordMetric('file.torn_bytes_removed', size - complete);
      }
      if (format === 'csv' && complete > 0) {
        const start = Buffer.alloc(Math.min(complete, header.length + 1));
        const fd = await fs.open(target, 'r');
        try {
          await fd.read(start, 0, start.length, 0);
        } finally {
          await fd.close();
        }
        if (headerMismatch(start.toString('utf8'), header)) {
          throw new DestinationError(`${who}: the file's header is not ${header.trim()}: the sync's fields changed since it was started, and its rows would land under the wrong columns`, {
            retryable: false,
            hint: `Move ${ctx.options.path} aside (or point path to a new file); the next run writes a new file with the new header.`,
          });
        }
      }
    } catch (e) {
      await handle.close();
      throw e instanceof DestinationError ? e : new DestinationError(`${who}: cannot check the file's last record: ${(e as Error).message}`, { retryable: false });
    }
    let needsHeader = format === 'csv' && (await handle.stat()).size === 0;
    let writing = Promise.resolve();
    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        let text = '';
        if (needsHeader) text += header;
        for (const op of batch.operations) {
          text +=
            format === 'csv'
              ? csvLine([op.op, op.key, ...fieldNames.map((f) => op.fields[f])])
              : `{"op":${JSON.stringify(op.op)},"key":${JSON.stringify(op.key)},"fields":${op.fieldsJson}}\n`;
        }
        const write = writing.then(async () => {
          await handle.appendFile(text, 'utf8');
          await handle.sync();
        });
        writing = write.catch(() => undefined);
        try {
          await write;
        } catch (e) {
          throw new DestinationError(`${who}: write failed: ${(e as Error).message}`, { retryable: true });
        }
        needsHeader = false;
        return batch.operations.map(() => ({ status: 'succeeded' }));
      },
      async close() {
        await writing;
        await handle.close();
      },
    };
  },
});

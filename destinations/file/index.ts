import fs from 'node:fs/promises';
import path from 'node:path';
import { defineDestination, type Batch, type DestinationContext, type RowResult } from '../../engine/destination/destination-api.js';
import { DestinationError } from '../../engine/errors.js';
import { csvLine } from './csv-line.js';

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
    let needsHeader = format === 'csv' && (await handle.stat()).size === 0;
    let writing = Promise.resolve();
    return {
      async sendBatch(batch: Batch): Promise<RowResult[]> {
        let text = '';
        if (needsHeader) text += csvLine(['op', 'key', ...fieldNames]);
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

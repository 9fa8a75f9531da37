import fs from 'node:fs/promises';
import { createReadStream } from 'node:fs';

/**
 * The length of the file up to its last complete record: a run killed in the
 * middle of an append leaves a partial last record, and the next run must not
 * glue its first line onto it. JSONL records never hold a raw line break, so the
 * last one ends the last record; CSV records may (inside quotes), so the file is
 * read through once, tracking quotes (only when it does not end with a line
 * break outside quotes can it be torn, but that needs the whole prefix to tell).
 */
export async function completeLength(file: string, format: 'jsonl' | 'csv'): Promise<number> {
  const { size } = await fs.stat(file);
  if (size === 0) return 0;
  if (format === 'jsonl') {
    const handle = await fs.open(file, 'r');
    try {
      // Back from the end in 64 KiB steps to the last line break.
      const chunk = Buffer.alloc(65_536);
      for (let end = size; end > 0; end -= chunk.length) {
        const start = Math.max(0, end - chunk.length);
        const { bytesRead } = await handle.read(chunk, 0, end - start, start);
        const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
        if (at >= 0) return start + at + 1;
      }
      return 0;
    } finally {
      await handle.close();
    }
  }
  let inQuotes = false;
  let offset = 0;
  let complete = 0;
  for await (const buf of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      if (b === 0x22) inQuotes = !inQuotes; // a doubled quote toggles twice: still right
      else if (b === 0x0a && !inQuotes) complete = offset + i + 1;
    }
    offset += buf.length;
  }
  return complete;
}

/** The header a CSV file must start with, for these fields. */
export function headerMismatch(existingStart: string, header: string): boolean {
  return !existingStart.startsWith(header);
}

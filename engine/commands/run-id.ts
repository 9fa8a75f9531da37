import { randomBytes } from 'node:crypto';

/** Sortable, unique: 20261123T204011Z-3fa9c2 */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

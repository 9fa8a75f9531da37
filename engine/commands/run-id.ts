/**
 * Sortable, unique: 20261123T204011Z-3fa9c2. The suffix only separates runs that
 * start in the same second, so Math.random is enough (node:crypto's first
 * randomBytes call costs ~5 ms of start-up seeding its generator).
 */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const suffix = Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, '0');
  return `${stamp}-${suffix}`;
}

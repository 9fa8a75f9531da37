const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A duration written for people: a whole number and a unit, `90s`, `30m`,
 * `2h`, `1d`, `1w` (combinations like `1h30m` too). Returns milliseconds, or
 * throws an Error saying what is wrong, for the caller to attach a path to.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  const parts = [...trimmed.matchAll(/(\d+)\s*([smhdw])/g)];
  if (trimmed === '' || parts.map((m) => m[0]).join('').replace(/\s/g, '') !== trimmed.replace(/\s/g, '')) {
    throw new Error(`"${text}" is not a duration (e.g. 90s, 30m, 2h, 1d, 1h30m)`);
  }
  const ms = parts.reduce((sum, m) => sum + Number(m[1]) * UNITS[m[2]!]!, 0);
  if (ms <= 0 || !Number.isSafeInteger(ms)) throw new Error(`"${text}" must be a positive duration`);
  return ms;
}

/** "2h 5m" for messages: the largest unit and, when not zero, the one below it ("3h" for 3h 0m 20s). */
export function formatDuration(ms: number): string {
  const units = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const;
  const total = Math.max(0, Math.round(ms / 1000)) * 1000;
  const i = units.findIndex(([, size]) => total >= size);
  if (i < 0) return '0s';
  const [unit, size] = units[i]!;
  const out = [`${Math.floor(total / size)}${unit}`];
  const below = units[i + 1];
  if (below && Math.floor((total % size) / below[1]) > 0) out.push(`${Math.floor((total % size) / below[1])}${below[0]}`);
  return out.join(' ');
}

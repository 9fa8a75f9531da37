/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), in UTC.
 * Supports `*`, lists, ranges, steps and the usual names; day-of-month and
 * day-of-week combine with OR when both are restricted, as in Vixie cron.
 */
export interface CronSchedule {
  readonly expression: string;
  /** The latest scheduled minute at or before `at`, or null if none in the past year. */
  previous(at: Date): Date | null;
  /** The first scheduled minute after `at`, or null if none in the next year. */
  next(at: Date): Date | null;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
};

/** Parses a cron expression; throws an Error whose message says what is wrong. */
export function parseCron(expression: string): CronSchedule {
  const expanded = MACROS[expression.trim()] ?? expression.trim();
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) throw new Error(`expected 5 fields (minute hour day month weekday), got ${parts.length}`);
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]!));
  const [minutes, hours, doms, months, dows] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (dows.has(7)) dows.add(0);
  const domStar = parts[2] === '*' || parts[2] === '?';
  const dowStar = parts[4] === '*' || parts[4] === '?';
  const matches = (d: Date): boolean => {
    if (!minutes.has(d.getUTCMinutes()) || !hours.has(d.getUTCHours()) || !months.has(d.getUTCMonth() + 1)) return false;
    const domOk = doms.has(d.getUTCDate());
    const dowOk = dows.has(d.getUTCDay());
    if (domStar || dowStar) return domOk && dowOk;
    return domOk || dowOk;
  };
  return {
    expression,
    previous(at: Date): Date | null {
      const t = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
      // Walk back minute by minute, skipping whole hours/days that cannot match.
      const limit = at.getTime() - 366 * 24 * 3600_000;
      while (t.getTime() >= limit) {
        if (!months.has(t.getUTCMonth() + 1) || !dayMatches(t)) {
          t.setUTCHours(0, 0, 0, 0);
          t.setTime(t.getTime() - 60_000);
          continue;
        }
        if (!hours.has(t.getUTCHours())) {
          t.setUTCMinutes(0, 0, 0);
          t.setTime(t.getTime() - 60_000);
          continue;
        }
        if (matches(t)) return new Date(t);
        t.setTime(t.getTime() - 60_000);
      }
      return null;
    },
    next(at: Date): Date | null {
      const t = new Date(Math.floor(at.getTime() / 60_000) * 60_000 + 60_000);
      // Walk forward minute by minute, skipping whole days/hours that cannot match.
      const limit = at.getTime() + 366 * 24 * 3600_000;
      while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1) || !dayMatches(t)) {
          t.setUTCHours(24, 0, 0, 0);
          continue;
        }
        if (!hours.has(t.getUTCHours())) {
          t.setUTCMinutes(60, 0, 0);
          continue;
        }
        if (matches(t)) return new Date(t);
        t.setTime(t.getTime() + 60_000);
      }
      return null;
    },
  };
  function dayMatches(d: Date): boolean {
    const domOk = doms.has(d.getUTCDate());
    const dowOk = dows.has(d.getUTCDay());
    if (domStar || dowStar) return domOk && dowOk;
    return domOk || dowOk;
  }
}

function parseField(text: string, spec: (typeof FIELDS)[number]): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const [rangePart, stepPart] = item.split('/') as [string, string | undefined];
    const step = stepPart === undefined ? 1 : Number(stepPart);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step "${stepPart}" in ${spec.name}`);
    let lo: number;
    let hi: number;
    if (rangePart === '*' || rangePart === '?') {
      lo = spec.min;
      hi = spec.name === 'day of week' ? 6 : spec.max;
    } else {
      const [a, b] = rangePart.split('-') as [string, string | undefined];
      lo = value(a, spec);
      hi = b === undefined ? (stepPart === undefined ? lo : spec.max) : value(b, spec);
    }
    if (lo > hi) throw new Error(`range ${rangePart} in ${spec.name} runs backwards`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function value(text: string, spec: (typeof FIELDS)[number]): number {
  const names: readonly string[] | undefined = 'names' in spec ? spec.names : undefined;
  const byName = names?.indexOf(text.toLowerCase()) ?? -1;
  const v = byName >= 0 ? byName + (spec.name === 'month' ? 1 : 0) : Number(text);
  if (!Number.isInteger(v) || v < spec.min || v > spec.max) {
    throw new Error(`"${text}" is not a valid ${spec.name} (${spec.min}-${spec.max})`);
  }
  return v;
}

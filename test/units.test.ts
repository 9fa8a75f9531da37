import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCron } from '../engine/config/cron-schedule.js';
import { formatDuration, parseDuration } from '../engine/config/duration.js';
import { warehouseTime } from '../engine/sync/sync-health.js';
import { parseJsonLossless } from '../engine/destination/lossless-json.js';
import { parseRetryAfter, retryDelayMs, MAX_BACKOFF_MS } from '../engine/destination/retry-policy.js';
import { signWebhook } from '../engine/destination/standard-webhooks.js';
import { csvLine } from '../destinations/file/csv-line.js';
import { env, resolveSecret } from '../engine/vocabulary/env-ref.js';
import { ConfigError } from '../engine/errors.js';
import { Redactor } from '../engine/vocabulary/redactor.js';
import { RateLimiter, type LimiterClock } from '../engine/destination/rate-limiter.js';
import { inRangesSql, mergeRanges, rangesOf, subtractRanges } from '../engine/plan/row-ranges.js';
import { Transactions } from '../engine/warehouse/transactions.js';
import { DuckDBDialect } from '../engine/warehouse/duckdb/duckdb-dialect.js';

describe('durations and warehouse timestamps', () => {
  it('reads durations people write and refuses the rest', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    for (const bad of ['', '2', 'h', '2x', '-1h', '0m', '1.5h', '2h soon']) expect(() => parseDuration(bad), bad).toThrow(/duration/);
    expect(formatDuration(3 * 3_600_000 + 20_000)).toBe('3h');
    expect(formatDuration(3 * 3_600_000 + 5 * 60_000)).toBe('3h 5m');
    expect(formatDuration(400)).toBe('0s');
  });
  it('reads state timestamps as UTC whatever the warehouse prints', () => {
    const t = Date.parse('2026-12-03T07:40:43.362Z');
    for (const s of ['2026-12-03 07:40:43.362+00', '2026-12-03 07:40:43.362', '2026-12-03T07:40:43.362Z', '2026-12-03 09:40:43.362+02:00']) expect(warehouseTime(s), s).toBe(t);
    expect(() => warehouseTime('yesterday')).toThrow(/cannot read/);
  });
});

describe('cron schedules (UTC)', () => {
  const at = (s: string) => new Date(s);
  it('finds the latest fire time at or before a moment', () => {
    expect(parseCron('0 * * * *').previous(at('2026-11-23T20:47:10Z'))?.toISOString()).toBe('2026-11-23T20:00:00.000Z');
    expect(parseCron('*/15 9-17 * * mon-fri').previous(at('2026-11-22T12:00:00Z'))?.toISOString()).toBe('2026-11-20T17:45:00.000Z');
    expect(parseCron('30 6 1 * *').previous(at('2026-11-23T00:00:00Z'))?.toISOString()).toBe('2026-11-01T06:30:00.000Z');
    expect(parseCron('@daily').previous(at('2026-11-23T00:00:00Z'))?.toISOString()).toBe('2026-11-23T00:00:00.000Z');
    // day-of-month and day-of-week both restricted: either matches (Vixie cron)
    expect(parseCron('0 0 13 * 5').previous(at('2026-11-23T00:00:00Z'))?.toISOString()).toBe('2026-11-20T00:00:00.000Z');
    expect(parseCron('0 0 * * 7').previous(at('2026-11-23T00:00:00Z'))?.toISOString()).toBe('2026-11-22T00:00:00.000Z');
  });
  it('finds the first fire time after a moment', () => {
    expect(parseCron('0 * * * *').next(at('2026-11-23T20:47:10Z'))?.toISOString()).toBe('2026-11-23T21:00:00.000Z');
    // Strictly after: a moment on a fire time gives the following one.
    expect(parseCron('0 * * * *').next(at('2026-11-23T21:00:00Z'))?.toISOString()).toBe('2026-11-23T22:00:00.000Z');
    expect(parseCron('*/15 9-17 * * mon-fri').next(at('2026-11-20T17:50:00Z'))?.toISOString()).toBe('2026-11-23T09:00:00.000Z');
    expect(parseCron('30 6 1 * *').next(at('2026-11-23T00:00:00Z'))?.toISOString()).toBe('2026-12-01T06:30:00.000Z');
    expect(parseCron('0 0 29 2 *').next(at('2026-03-01T00:00:00Z'))).toBeNull();
    expect(parseCron('@yearly').next(at('2026-12-31T23:59:30Z'))?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
  it('refuses malformed expressions with a reason', () => {
    expect(() => parseCron('* * * *')).toThrow(/expected 5 fields/);
    expect(() => parseCron('61 * * * *')).toThrow(/"61" is not a valid minute/);
    expect(() => parseCron('0 0 * * funday')).toThrow(/not a valid day of week/);
    expect(() => parseCron('*/0 * * * *')).toThrow(/bad step/);
  });
});

describe('lossless JSON', () => {
  it('keeps integers beyond 2^53 exact, as strings', () => {
    expect(parseJsonLossless('{"id":12345678901234567,"n":-98765432109876543,"s":"12345678901234567","f":1.5,"small":42}')).toEqual({
      id: '12345678901234567',
      n: '-98765432109876543',
      s: '12345678901234567',
      f: 1.5,
      small: 42,
    });
    expect(parseJsonLossless('{"q":"a \\" 12345678901234567 \\\\","x":[9007199254740993]}')).toEqual({ q: 'a " 12345678901234567 \\', x: ['9007199254740993'] });
  });
});

describe('retry policy', () => {
  it('honours Retry-After in seconds and as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(retryDelayMs(1, 500, 2500)).toBe(2500);
  });
  it('backs off exponentially with jitter, capped', () => {
    expect(retryDelayMs(1, 500, undefined, () => 0)).toBe(250);
    expect(retryDelayMs(1, 500, undefined, () => 1)).toBe(500);
    expect(retryDelayMs(4, 500, undefined, () => 1)).toBe(4000);
    expect(retryDelayMs(30, 500, undefined, () => 1)).toBe(MAX_BACKOFF_MS);
  });
});

describe('webhook signing (Standard Webhooks)', () => {
  it('signs id.timestamp.body with the base64-decoded whsec_ secret', () => {
    const key = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
    const expected = createHmac('sha256', key).update('msg_1.1614265330.{"a":1}').digest('base64');
    expect(signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', 1614265330, '{"a":1}')).toBe(`v1,${expected}`);
    const plain = createHmac('sha256', Buffer.from('plain-secret')).update('b.1.x').digest('base64');
    expect(signWebhook('plain-secret', 'b', 1, 'x')).toBe(`v1,${plain}`);
  });
});

describe('CSV lines', () => {
  it('quotes commas, quotes and newlines', () => {
    expect(csvLine(['add', '1', 'a,b', 'say "hi"', 'two\nlines', null, 3, true])).toBe('add,1,"a,b","say ""hi""","two\nlines",,3,true\n');
  });
});

describe('secrets', () => {
  it('env() is resolved only when used, and a missing one names the variable and who needs it', () => {
    const ref = env('SOME_TOKEN');
    expect(String(ref)).toBe('env(SOME_TOKEN)');
    expect(JSON.stringify({ ref })).toBe('{"ref":"env(SOME_TOKEN)"}');
    expect(resolveSecret(ref, 'destinations.x.token', { SOME_TOKEN: 'abc' })).toBe('abc');
    expect(() => resolveSecret(ref, 'destinations.x.token', {})).toThrow(ConfigError);
    expect(() => resolveSecret(ref, 'destinations.x.token', {})).toThrow(/destinations\.x\.token: environment variable SOME_TOKEN is not set/);
    expect(() => env('not valid')).toThrow(/not a valid environment variable name/);
  });
  it('the redactor blanks every registered secret', () => {
    const r = new Redactor();
    r.add('s3cr3t-token');
    expect(r.redact('auth s3cr3t-token failed; s3cr3t-token again')).toBe('auth *** failed; *** again');
  });
  it('the redactor blanks the forms a server echoes: percent-encoded, JSON-escaped, and the credentials inside a URL', () => {
    const r = new Redactor();
    r.add('pa"ss/word+1');
    expect(r.redact('got pa%22ss%2Fword%2B1 and {"k":"pa\\"ss/word+1"}')).toBe('got *** and {"k":"***"}');
    r.add('https://user:hunter22@hooks.example.com/in?token=abc%2Fdef123&format=json');
    expect(r.redact('token abc/def123 refused; raw abc%2Fdef123; user hunter22')).toBe('token *** refused; raw ***; user ***');
    // Short query values are not taken from a URL: they are words, not credentials.
    expect(r.redact('format json')).toBe('format json');
  });
  it('the redactor blanks a short secret as a whole token only, and a longer secret before one it contains', () => {
    const r = new Redactor();
    r.add('k9z');
    expect(r.redact('key k9z refused (k9z); k9zebra stays')).toBe('key *** refused (***); k9zebra stays');
    r.add('abcdef');
    r.add('xxabcdefyy');
    expect(r.redact('xxabcdefyy abcdef')).toBe('*** ***');
  });
});

describe('internal table names', () => {
  it('stay within 63 characters and never collide for long names', async () => {
    const { tableName } = await import('../engine/plan/plan-tables.js');
    const a = `${'x'.repeat(60)}_a`;
    const b = `${'x'.repeat(60)}_b`;
    expect(tableName('members', 'vip')).toBe('members__vip');
    expect(tableName('model_keys', a).length).toBeLessThanOrEqual(63);
    expect(tableName('model_keys', a)).not.toBe(tableName('model_keys', b));
  });
});

describe('the built-in destination catalog', () => {
  it('loads each destination under its own type, and only those asked for', async () => {
    const { BUILTIN_DESTINATION_LOADERS, loadBuiltinDestinations } = await import('../destinations/index.js');
    for (const [type, load] of Object.entries(BUILTIN_DESTINATION_LOADERS)) expect((await load()).type).toBe(type);
    expect(Object.keys(await loadBuiltinDestinations(['file', 'webhook', 'file', 'no_such', 'constructor']))).toEqual(['file', 'webhook']);
  });
});

describe('rate limiter, on a controllable clock', () => {
  /** A clock that stands still unless a test moves it: every wait is recorded, none is real. */
  const fakeClock = (): LimiterClock & { t: number; waits: number[] } => {
    const c = { t: 1_000, waits: [] as number[], now: () => c.t, sleep: async (ms: number) => void c.waits.push(ms) };
    return c;
  };

  it('spaces turns 1000/perSecond apart, counting each', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(20, clock);
    for (let i = 0; i < 5; i++) await limiter.take();
    expect(limiter.turns).toBe(5);
    // Time stood still: each turn waits one more interval than the one before.
    expect(clock.waits).toEqual([50, 100, 150, 200]);
    // Once the clock has passed the next free turn, no wait.
    clock.t += 1_000;
    await limiter.take();
    expect(clock.waits).toHaveLength(4);
  });

  it('turns taken at once by batches in flight queue behind each other', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(10, clock);
    await Promise.all([limiter.take(), limiter.take(), limiter.take()]);
    expect(clock.waits.sort((a, b) => a - b)).toEqual([100, 200]);
  });

  it('no limit: no wait and no turn counted', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(null, clock);
    await limiter.take();
    expect([limiter.turns, clock.waits]).toEqual([0, []]);
  });
});

describe('plan row ranges', () => {
  it('merges, subtracts and renders ranges of plan rows', () => {
    expect(mergeRanges([[11, 20], [1, 10], [30, 30]])).toEqual([[1, 20], [30, 30]]);
    expect(subtractRanges([[1, 100]], [[1, 10], [21, 30], [100, 100]])).toEqual([[11, 20], [31, 99]]);
    expect(subtractRanges([[1, 10]], [[1, 10]])).toEqual([]);
    expect(rangesOf([5, 3, 4, 9])).toEqual([[3, 5], [9, 9]]);
    expect(inRangesSql('p.row_no', [[3, 5], [9, 9]])).toBe('(p.row_no BETWEEN 3 AND 5 OR p.row_no = 9)');
    expect(inRangesSql('p.row_no', [])).toBe('1 = 0');
  });
});

describe('transactions (shared by every connection)', () => {
  /** A connection's statements, recorded; `fail` names statements that throw. */
  const recorder = (fail: Set<string> = new Set()) => {
    const sent: string[] = [];
    const exec = async (sql: string): Promise<void> => {
      sent.push(sql);
      if (fail.has(sql)) throw new Error(`${sql} failed`);
    };
    return { sent, tx: new Transactions(new DuckDBDialect(), exec) };
  };

  it('commits what fn did, and returns its value', async () => {
    const { sent, tx } = recorder();
    expect(await tx.run(async () => 42)).toBe(42);
    expect(sent).toEqual(['BEGIN TRANSACTION', 'COMMIT']);
    expect(tx.inTransaction).toBe(false);
  });

  it('rolls back when fn throws or the COMMIT fails, and rethrows the first error even when the ROLLBACK fails too', async () => {
    const a = recorder();
    await expect(a.tx.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(a.sent).toEqual(['BEGIN TRANSACTION', 'ROLLBACK']);
    const b = recorder(new Set(['COMMIT', 'ROLLBACK']));
    await expect(b.tx.run(async () => 1)).rejects.toThrow('COMMIT failed');
    expect(b.sent).toEqual(['BEGIN TRANSACTION', 'COMMIT', 'ROLLBACK']);
    expect(b.tx.inTransaction).toBe(false);
  });

  it('refuses a nested transaction; a BEGIN that fails leaves the connection free for the next one', async () => {
    const { tx } = recorder();
    await expect(tx.run(() => tx.run(async () => 1))).rejects.toThrow('nested transaction');
    const c = recorder(new Set(['BEGIN TRANSACTION']));
    await expect(c.tx.run(async () => 1)).rejects.toThrow('BEGIN TRANSACTION failed');
    expect(c.tx.inTransaction).toBe(false);
    expect(c.sent).toEqual(['BEGIN TRANSACTION']);
  });
});

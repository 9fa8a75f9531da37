import { setTimeout as sleep } from 'node:timers/promises';

/** Time as the limiter sees it: real by default, controllable in tests. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: LimiterClock = { now: () => Date.now(), sleep: (ms) => sleep(ms) };

/** Spaces requests evenly at `perSecond`; shared by every batch of one destination. */
export class RateLimiter {
  private next = 0;
  /** Turns taken so far (recorded as the run metric `rate_limit.turns`). */
  turns = 0;
  constructor(
    private readonly perSecond: number | null,
    private readonly clock: LimiterClock = REAL_CLOCK,
  ) {}

  async take(): Promise<void> {
    if (this.perSecond === null) return;
    this.turns += 1;
    const now = this.clock.now();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.perSecond;
    if (at > now) await this.clock.sleep(at - now);
  }
}

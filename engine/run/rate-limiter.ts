import { setTimeout as sleep } from 'node:timers/promises';

/** Spaces requests evenly at `perSecond`; shared by every batch of one destination. */
export class RateLimiter {
  private next = 0;
  constructor(private readonly perSecond: number | null) {}

  async take(): Promise<void> {
    if (this.perSecond === null) return;
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.perSecond;
    if (at > now) await sleep(at - now);
  }
}

import { WarehouseError } from '../errors.js';
import type { Dialect } from './dialect.js';

/**
 * `transaction(fn)` for every connection, written once: BEGIN, then `fn`, then
 * COMMIT; if `fn` or the COMMIT throws, ROLLBACK (its own failure ignored: the
 * first error is the one that matters) and rethrow. One at a time: a nested call
 * is a bug in audsync, refused before it can commit the outer transaction's work
 * early. A BEGIN that fails leaves the connection free for the next one.
 */
export class Transactions {
  private open = false;

  constructor(
    private readonly dialect: Dialect,
    /** Runs a statement on the connection's main session (where the transaction lives). */
    private readonly exec: (sql: string) => Promise<unknown>,
    /** How the ROLLBACK is sent, when it must bypass the connection's own error wrapping. */
    private readonly execRollback: (sql: string) => Promise<unknown> = exec,
  ) {}

  get inTransaction(): boolean {
    return this.open;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.open) throw new WarehouseError('nested transaction (a bug in audsync)');
    this.open = true;
    try {
      await this.exec(this.dialect.beginTransaction());
      try {
        const out = await fn();
        await this.exec(this.dialect.commit());
        return out;
      } catch (e) {
        await this.execRollback(this.dialect.rollback()).catch(() => undefined);
        throw e;
      }
    } finally {
      this.open = false;
    }
  }
}

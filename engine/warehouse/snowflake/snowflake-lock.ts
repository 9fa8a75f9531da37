import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Dialect } from '../dialect.js';
import { LockError } from '../../errors.js';
import type { SnowflakeSession } from './snowflake-session.js';
import { acquireLockSql, ensureLockTableSql, heartbeatLockSql, lockHolderSql, lockTable, releaseLockSql, type LockTable } from './snowflake-lock-sql.js';

/**
 * Default seconds without a heartbeat after which a run lock is taken over.
 * Long enough to ride out what delays a heartbeat on a healthy run (a
 * suspended warehouse resuming, statements queued on a busy warehouse, a
 * network blip): about a dozen heartbeats are missed before it expires. Short
 * enough that a rerun after a kill -9 proceeds within two minutes, which
 * orchestrators' retry delays usually cover.
 */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 120;
/** Heartbeats per timeout: a lock survives three missed heartbeats in a row even at the shortest timeouts. */
const HEARTBEATS_PER_TIMEOUT = 4;
/** Never heartbeat less often than this, so long timeouts still leave many chances (120 s -> every 10 s). */
const MAX_HEARTBEAT_MS = 10_000;

/**
 * Run locks on Snowflake, which has no advisory locks: a row per sync in
 * RUN_LOCKS, taken atomically, kept alive by a heartbeat while the run lives,
 * and taken over by the next run once a dead holder's row expires.
 * Statements go through a session of their own: on the run's session a
 * heartbeat would join (and could be rolled back with) a batch's transaction.
 */
export class SnowflakeRunLocks {
  private readonly table: LockTable;
  private tableReady = false;
  private readonly heartbeats = new Set<NodeJS.Timeout>();

  constructor(
    private readonly session: () => Promise<SnowflakeSession>,
    private readonly dialect: Dialect,
    private readonly stateSchema: string,
    private readonly timeoutSeconds: number,
  ) {
    this.table = lockTable(dialect, stateSchema);
  }

  get heartbeatMs(): number {
    return Math.min(MAX_HEARTBEAT_MS, (this.timeoutSeconds * 1000) / HEARTBEATS_PER_TIMEOUT);
  }

  async acquire(sync: string): Promise<() => Promise<void>> {
    const s = await this.session();
    const d = this.dialect;
    if (!this.tableReady) {
      for (const sql of ensureLockTableSql(d, this.stateSchema)) await s.run(sql);
      this.tableReady = true;
    }
    const owner = ownerId();
    await s.run(acquireLockSql(d, this.table, sync, owner, this.timeoutSeconds));
    const { rows } = await s.run(lockHolderSql(d, this.table, sync));
    const holders = rows.map(([o, acquired, beat, expires]) => ({ owner: String(o), acquired: String(acquired), beat: String(beat), expires: String(expires) }));
    const other = holders.find((h) => h.owner !== owner);
    if (other || holders.length === 0) {
      // Only ever one row per sync after the MERGE; should a race leave two, neither run proceeds and both rows expire.
      if (holders.some((h) => h.owner === owner)) await s.run(releaseLockSql(d, this.table, sync, owner));
      throw new LockError(
        other
          ? `sync "${sync}" is being run by ${other.owner} since ${other.acquired} (last heartbeat ${other.beat}; its lock expires at ${other.expires} unless renewed)`
          : `sync "${sync}": the run lock could not be taken (its row vanished while being read); try again`,
        {
          hint: `Wait for that run to finish. If its process died, the lock is taken over ${this.timeoutSeconds} s after its last heartbeat (warehouse.lockTimeoutSeconds).`,
        },
      );
    }
    const timer = this.startHeartbeat(s, sync, owner);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.stopHeartbeat(timer);
      await s.run(releaseLockSql(d, this.table, sync, owner));
    };
  }

  /** Stops every heartbeat; rows not released are then taken over after the timeout, as after a crash. */
  stopAll(): void {
    for (const t of this.heartbeats) clearInterval(t);
    this.heartbeats.clear();
  }

  private startHeartbeat(s: SnowflakeSession, sync: string, owner: string): NodeJS.Timeout {
    let inFlight = false;
    const sql = heartbeatLockSql(this.dialect, this.table, sync, owner, this.timeoutSeconds);
    const timer = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      // A failed heartbeat is retried on the next tick; the timeout leaves room for several.
      s.run(sql)
        .catch(() => undefined)
        .finally(() => {
          inFlight = false;
        });
    }, this.heartbeatMs);
    // The heartbeat must never keep a finished process alive.
    timer.unref();
    this.heartbeats.add(timer);
    return timer;
  }

  private stopHeartbeat(timer: NodeJS.Timeout): void {
    clearInterval(timer);
    this.heartbeats.delete(timer);
  }
}

/** `host:pid:runid`, the runid telling apart two locks taken by one process. */
function ownerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

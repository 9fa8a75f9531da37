import type { WarehouseConnection } from '../warehouse/connection.js';
import type { PreparedSync } from '../plan/sync-planner.js';

/**
 * Runs syncs `threads` at a time, each lane on a connection of its own (its
 * working tables, transactions and locks are its session's). Syncs of one model
 * share a lane and run one after another: they move that model's key set, and
 * embedded DuckDB would refuse two connections rewriting the same rows at once.
 * The first lane uses `conn`; the others open siblings, closed when done.
 */
export async function runInLanes<T>(
  conn: WarehouseConnection,
  prepared: readonly PreparedSync[],
  threads: number,
  runOne: (c: WarehouseConnection, p: PreparedSync) => Promise<T>,
  onOutcome: (o: T) => void,
): Promise<void> {
  const groups = new Map<string, PreparedSync[]>();
  for (const p of prepared) groups.set(p.sync.model, [...(groups.get(p.sync.model) ?? []), p]);
  const queue = [...groups.values()];
  const lanes = Math.max(1, Math.min(threads, queue.length));
  const lane = async (c: WarehouseConnection): Promise<void> => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      for (const p of group) onOutcome(await runOne(c, p));
    }
  };
  // Every connection is opened before any sync starts, so a warehouse that refuses one more stops nothing half-way.
  const siblings: WarehouseConnection[] = [];
  try {
    for (let i = 1; i < lanes; i++) siblings.push(await conn.sibling());
    // Every lane finishes (a sync's failure is its outcome); a bug in one still lets the others drain first.
    const settled = await Promise.allSettled([conn, ...siblings].map((c) => lane(c)));
    const broken = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (broken) throw broken.reason;
  } finally {
    for (const c of siblings) await c.close().catch(() => undefined);
  }
}

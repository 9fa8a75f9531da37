import type { Operation, RowResult } from '../../engine/destination/index.js';
import type { BatchError } from './hubspot-api.js';
import { comparableId } from './property-values.js';

/** Splits `items` into slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Splits `items` into rounds in which `keyOf` is unique, keeping order: HubSpot
 * refuses a whole batch that names the same record twice, and two audience rows
 * may share an email (the later one is written last, as it would be one by one).
 */
export function uniqueRounds<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const rounds: T[][] = [];
  let pending = [...items];
  while (pending.length > 0) {
    const seen = new Set<string>();
    const round: T[] = [];
    const rest: T[] = [];
    for (const item of pending) {
      const k = keyOf(item);
      if (seen.has(k)) rest.push(item);
      else {
        seen.add(k);
        round.push(item);
      }
    }
    rounds.push(round);
    pending = rest;
  }
  return rounds;
}

/** The value of the sync's unique property (the upsert/read id) in a row, or undefined when blank. */
export function idValueOf(op: Operation, idProperty: string): string | undefined {
  const v = op.fields[idProperty];
  if (v === null || v === undefined) return undefined;
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.trim() === '' ? undefined : s;
}

export function comparableIdOf(op: Operation, idProperty: string): string {
  return comparableId(idProperty, idValueOf(op, idProperty) ?? '');
}

export function missingIdProperty(idProperty: string): RowResult {
  return { status: 'rejected', code: 'missing_id_property', message: `the row has no value for ${idProperty}, the property HubSpot identifies contacts by` };
}

/** A per-row error HubSpot reported, as a rejection (category as the code). */
export function rejectedBy(e: BatchError, fallback: string): RowResult {
  return { status: 'rejected', code: e.category ?? 'error', message: e.message ?? fallback };
}

/** A row a 2xx answer did not account for: not confirmed, so retried next run. */
export function unconfirmed(what: string): RowResult {
  return { status: 'failed', code: 'missing_result', message: `HubSpot answered ${what} without a result for this row; retried next run` };
}

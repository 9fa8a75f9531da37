/**
 * How bulkWrite cuts rows into INSERT statements with inline array binds.
 *
 * Past its bind threshold snowflake-sdk uploads binds through a temporary stage
 * it creates with CREATE OR REPLACE TEMPORARY STAGE. That is DDL, and DDL on
 * Snowflake commits the open transaction: a batch's stage rows, changelog and
 * snapshot advance would silently stop being one transaction. So the driver's
 * threshold is pinned (connection option arrayBindingThreshold) and no INSERT
 * ever carries more values than it: every bind is inline, inside our transaction.
 */

/** The driver's default CLIENT_STAGE_ARRAY_BINDING_THRESHOLD (snowflake-sdk parameters.js); pinned as arrayBindingThreshold. */
export const MAX_INLINE_BIND_VALUES = 100_000;

/**
 * Snowflake docs, "Limits on query text size": keep each statement within 1 MB,
 * bound values included (larger requests are also refused with HTTP 413).
 */
export const MAX_BIND_BYTES = 1_000_000;

/** Upper bound of a value's encoding overhead in the request JSON: quotes and comma, or the text `null`. */
const BIND_OVERHEAD_BYTES = 6;

/**
 * Consecutive slices of `rows`, each within both limits. A single row larger
 * than the byte budget still goes, alone: rows are never split.
 */
export function bindSlices<T extends ReadonlyArray<string | null>>(rows: readonly T[], maxValues = MAX_INLINE_BIND_VALUES, maxBytes = MAX_BIND_BYTES): T[][] {
  const slices: T[][] = [];
  let current: T[] = [];
  let values = 0;
  let bytes = 0;
  for (const row of rows) {
    let rowBytes = row.length * BIND_OVERHEAD_BYTES;
    for (const v of row) if (v !== null) rowBytes += Buffer.byteLength(v, 'utf8');
    if (current.length > 0 && (values + row.length > maxValues || bytes + rowBytes > maxBytes)) {
      slices.push(current);
      current = [];
      values = 0;
      bytes = 0;
    }
    current.push(row);
    values += row.length;
    bytes += rowBytes;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}

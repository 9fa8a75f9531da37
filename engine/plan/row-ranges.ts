/** An inclusive range of plan row numbers: a batch, its intent, its commit. */
export type RowRange = readonly [first: number, last: number];

/** Sorted, with touching and overlapping ranges merged: [[1,10],[11,20]] → [[1,20]]. */
export function mergeRanges(ranges: Iterable<RowRange>): RowRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [first, last] of sorted) {
    const prev = out[out.length - 1];
    if (prev && first <= prev[1] + 1) prev[1] = Math.max(prev[1], last);
    else out.push([first, last]);
  }
  return out;
}

/** The parts of `from` not covered by `minus`. */
export function subtractRanges(from: Iterable<RowRange>, minus: Iterable<RowRange>): RowRange[] {
  const cut = mergeRanges(minus);
  const out: RowRange[] = [];
  for (const [first, last] of mergeRanges(from)) {
    let start = first;
    for (const [a, b] of cut) {
      if (b < start || a > last) continue;
      if (a > start) out.push([start, a - 1]);
      start = Math.max(start, b + 1);
      if (start > last) break;
    }
    if (start <= last) out.push([start, last]);
  }
  return out;
}

/** The ranges a set of row numbers falls into, fewest first: a batch streamed in row order is one range. */
export function rangesOf(rowNos: Iterable<number>): RowRange[] {
  // One pass for rows in ascending order (a streamed batch); otherwise sorted and merged.
  const out: Array<[number, number]> = [];
  for (const n of rowNos) {
    const prev = out[out.length - 1];
    if (prev === undefined || n > prev[1] + 1) out.push([n, n]);
    else if (n === prev[1] + 1) prev[1] = n;
    else return mergeRanges([...rowNos].map((x) => [x, x] as const));
  }
  return out;
}

export function rangeRows(ranges: Iterable<RowRange>): number {
  let n = 0;
  for (const [a, b] of ranges) n += b - a + 1;
  return n;
}

/** A SQL predicate: `column` lies in one of the ranges (false for none). */
export function inRangesSql(column: string, ranges: readonly RowRange[]): string {
  if (ranges.length === 0) return '1 = 0';
  const parts = ranges.map(([a, b]) => (a === b ? `${column} = ${Math.trunc(a)}` : `${column} BETWEEN ${Math.trunc(a)} AND ${Math.trunc(b)}`));
  return parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`;
}

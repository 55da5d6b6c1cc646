/**
 * Address ranges → prefixes, in the registry's one 128-bit space (IPv4 a.b.c.d is ::ffff:a.b.c.d).
 *
 * The source tables give inclusive ranges [first, last] with an AS number. A range that is not
 * aligned on a power of two is covered exactly by a minimal set of CIDR prefixes (at most two per
 * bit of the range's width). Overlapping ranges are resolved first, so that the prefixes never
 * nest and the registry's longest-prefix match answers what the table says.
 */
import { MAX_LENGTH, type Prefix } from "../prefix";

/** One row of a range table. `first` and `last` are inclusive, in the 128-bit space. */
export interface AddressRange {
  readonly first: bigint;
  readonly last: bigint;
  readonly asn: number;
}

const SPACE_END = (1n << 128n) - 1n;

/** The number of trailing zero bits of `value` (128 for 0). */
function trailingZeros(value: bigint): number {
  if (value === 0n) return MAX_LENGTH;
  let count = 0;
  let rest = value;
  // Whole 32-bit words first: IPv6 networks often end in 64 or more zero bits.
  while ((rest & 0xffffffffn) === 0n) {
    rest >>= 32n;
    count += 32;
  }
  while ((rest & 1n) === 0n) {
    rest >>= 1n;
    count += 1;
  }
  return count;
}

/** The number of bits needed to write `value` (0 for 0). */
function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/**
 * The minimal list of CIDR prefixes whose union is exactly [first, last], in address order.
 * Greedy from the low end: at each step the largest block that starts at the current address
 * (its alignment) and does not pass `last`.
 */
export function rangeToPrefixes(first: bigint, last: bigint): Prefix[] {
  if (first < 0n || last > SPACE_END || first > last) {
    throw new RangeError(`[${first}, ${last}] is not a range of the 128-bit address space.`);
  }
  const prefixes: Prefix[] = [];
  let current = first;
  for (;;) {
    const remaining = last - current + 1n;
    // The block may not exceed the remaining size: 2^(bitLength(remaining) - 1) ≤ remaining.
    const sizeBits = Math.min(trailingZeros(current), bitLength(remaining) - 1);
    prefixes.push({ network: current, length: MAX_LENGTH - sizeBits });
    const next = current + (1n << BigInt(sizeBits));
    if (next > last) return prefixes;
    current = next;
  }
}

/** The ranges a table lookup sees, once overlaps are resolved: disjoint, in address order. */
export interface FlattenResult {
  ranges: AddressRange[];
  /** How many source rows overlapped another one. */
  overlapping: number;
}

/**
 * Makes ranges disjoint: every address keeps the AS of the most specific (smallest) source range
 * that contains it; between equal sizes, the later row wins. Adjacent pieces of one AS are not
 * merged here (see `mergeAdjacent`).
 */
export function flattenRanges(input: readonly AddressRange[]): FlattenResult {
  const sorted = [...input].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: AddressRange[] = [];
  let overlapping = 0;
  let i = 0;
  while (i < sorted.length) {
    // A cluster: consecutive rows that overlap one another transitively.
    let end = sorted[i].last;
    let j = i + 1;
    while (j < sorted.length && sorted[j].first <= end) {
      if (sorted[j].last > end) end = sorted[j].last;
      j++;
    }
    if (j === i + 1) {
      out.push(sorted[i]);
    } else {
      overlapping += j - i;
      out.push(...resolveCluster(sorted.slice(i, j)));
    }
    i = j;
  }
  return { ranges: out, overlapping };
}

/** Splits a cluster of overlapping rows at every boundary and keeps the most specific row. */
function resolveCluster(rows: readonly AddressRange[]): AddressRange[] {
  const bounds = new Set<bigint>();
  for (const row of rows) {
    bounds.add(row.first);
    bounds.add(row.last + 1n);
  }
  const points = [...bounds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pieces: { range: AddressRange; winner: number }[] = [];
  for (let k = 0; k + 1 < points.length; k++) {
    const first = points[k];
    const last = points[k + 1] - 1n;
    let winner = -1;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      if (row.first > first || row.last < last) continue;
      if (winner < 0 || row.last - row.first <= rows[winner].last - rows[winner].first) winner = r;
    }
    if (winner < 0) continue; // a gap between rows of the cluster
    const previous = pieces[pieces.length - 1];
    if (previous !== undefined && previous.winner === winner && previous.range.last + 1n === first) {
      previous.range = { ...previous.range, last };
    } else {
      pieces.push({ range: { first, last, asn: rows[winner].asn }, winner });
    }
  }
  return pieces.map((piece) => piece.range);
}

/** Joins disjoint, sorted ranges that touch and have the same AS: fewer, larger prefixes. */
export function mergeAdjacent(sorted: readonly AddressRange[]): AddressRange[] {
  const out: AddressRange[] = [];
  for (const range of sorted) {
    const previous = out[out.length - 1];
    if (previous !== undefined && previous.asn === range.asn && previous.last + 1n === range.first) {
      out[out.length - 1] = { first: previous.first, last: range.last, asn: range.asn };
    } else {
      out.push(range);
    }
  }
  return out;
}

/**
 * The AS of the range containing `address` among disjoint ranges sorted by address, or null.
 * The reference answer the agreement check compares the registry's lookups against.
 */
export function findRange(sorted: readonly AddressRange[], address: bigint): AddressRange | null {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const range = sorted[mid];
    if (address < range.first) high = mid - 1;
    else if (address > range.last) low = mid + 1;
    else return range;
  }
  return null;
}

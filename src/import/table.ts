/**
 * The import table: what a source file becomes before it touches the chain. Ranges are resolved
 * (most specific row wins), rows of reserved AS numbers are dropped, touching ranges of one AS
 * joined, and the rest converted to prefixes in import order: IPv4 before IPv6, shorter before
 * longer. Shortest first means a prefix's parent, if any, is registered before it, so the
 * registry always knows how many prefixes lie directly beneath each one (see
 * `PrefixRegistry._register`): its `isHolder` answers exactly, never "may contain some".
 */
import { dataSlice, getAddress, keccak256, toUtf8Bytes } from "ethers";

import { RESERVED_ASNS } from "../asn";
import { IPV4_MAPPED, contains, mask, type Prefix } from "../prefix";
import { findRange, flattenRanges, mergeAdjacent, rangeToPrefixes, type AddressRange } from "./ranges";
import type { NamedRange, OriginPrefix, SourceStats } from "./sources";

/** One prefix to allocate. */
export interface ImportEntry extends Prefix {
  readonly asn: number;
}

/** What became of the source rows. */
export interface TableReport {
  sourceRows: number;
  rejectedLines: number;
  rejectedSamples: string[];
  /** Source rows that overlapped another row (resolved: the most specific wins). */
  overlappingRows: number;
  /** Rows (or prefixes) dropped because their AS number is reserved, by AS number. */
  reservedRows: Record<string, number>;
  /** Ranges after resolving overlaps and joining touching ranges of one AS. */
  ranges: number;
  multiOrigin: number;
  asSets: number;
  ipv4Prefixes: number;
  ipv6Prefixes: number;
  asns: number;
}

/** The answer the source table gives for an address: the AS, or null for "not found". */
export type Reference = (address: bigint) => number | null;

export interface ImportTable {
  /** In import order. */
  entries: ImportEntry[];
  /** Whether an entry may lie inside another (pfx2as); range tables are resolved so they never do. */
  mayNest: boolean;
  /** AS number → organisation name ("" when the source has none), in ascending AS order. */
  asns: Map<number, string>;
  reference: Reference;
  /** The source's ranges, disjoint and sorted, for sampling addresses that fall inside them. */
  sampleRanges: AddressRange[];
  report: TableReport;
}

const RESERVED = new Set(RESERVED_ASNS);

/** Sorts into import order: IPv4 first, then by length, then by network. */
export function sortForImport<T extends Prefix>(entries: T[]): T[] {
  // Keys computed once: the comparator runs some 15 million times on the full table.
  const keyed = entries.map((entry) => ({ entry, rank: (contains(IPV4_MAPPED, entry) ? 0 : 200) + entry.length }));
  keyed.sort((a, b) =>
    a.rank !== b.rank
      ? a.rank - b.rank
      : a.entry.network < b.entry.network
        ? -1
        : a.entry.network > b.entry.network
          ? 1
          : 0,
  );
  return keyed.map((k) => k.entry);
}

function asnMap(rows: Iterable<{ asn: number; name?: string }>): Map<number, string> {
  const names = new Map<number, string>();
  for (const row of rows) {
    if (RESERVED.has(row.asn)) continue;
    const known = names.get(row.asn);
    if (known === undefined || (known === "" && row.name)) names.set(row.asn, row.name ?? "");
  }
  return new Map([...names].sort((a, b) => a[0] - b[0]));
}

function countReserved(rows: Iterable<{ asn: number }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) if (RESERVED.has(row.asn)) counts[row.asn] = (counts[row.asn] ?? 0) + 1;
  return counts;
}

/** The table of an ip-location-db range file (or several: IPv4 and IPv6). */
export function tableFromRanges(rows: readonly NamedRange[], stats: readonly SourceStats[] = []): ImportTable {
  const { ranges: flat, overlapping } = flattenRanges(rows);
  // A reserved AS is never held: its addresses are "not found", even where a larger range of
  // another AS surrounds them, because the most specific row said so.
  const routed = flat.filter((range) => !RESERVED.has(range.asn));
  const merged = mergeAdjacent(routed);
  const entries: ImportEntry[] = [];
  for (const range of merged) {
    for (const prefix of rangeToPrefixes(range.first, range.last)) entries.push({ ...prefix, asn: range.asn });
  }
  const ordered = sortForImport(entries);
  const ipv4Prefixes = ordered.filter((entry) => contains(IPV4_MAPPED, entry)).length;
  const asns = asnMap(rows);
  return {
    entries: ordered,
    mayNest: false,
    asns,
    reference: (address) => findRange(routed, address)?.asn ?? null,
    sampleRanges: flat,
    report: {
      sourceRows: rows.length,
      rejectedLines: stats.reduce((sum, s) => sum + s.rejected, 0),
      rejectedSamples: stats.flatMap((s) => s.rejectedSamples),
      overlappingRows: overlapping,
      reservedRows: countReserved(rows),
      ranges: merged.length,
      multiOrigin: 0,
      asSets: 0,
      ipv4Prefixes,
      ipv6Prefixes: entries.length - ipv4Prefixes,
      asns: asns.size,
    },
  };
}

/**
 * The table of a pfx2as file. Its prefixes may nest (a more-specific announced by another AS):
 * they are kept as they are, and the reference answer is the longest-prefix match over them.
 */
export function tableFromPrefixes(rows: readonly OriginPrefix[], stats: readonly SourceStats[] = []): ImportTable {
  const entries = sortForImport(
    rows
      .filter((row) => !RESERVED.has(row.asn))
      .map((row) => ({ network: row.network, length: row.length, asn: row.asn })),
  );
  // String keys: V8 hashes a bigint by its low word, and IPv6 networks all end in zero words.
  const byLength = new Map<number, Map<string, number>>();
  for (const entry of entries) {
    let level = byLength.get(entry.length);
    if (level === undefined) byLength.set(entry.length, (level = new Map<string, number>()));
    level.set(entry.network.toString(16), entry.asn);
  }
  const lengths = [...byLength.keys()].sort((a, b) => b - a);
  const reference: Reference = (address) => {
    for (const length of lengths) {
      const asn = byLength.get(length)!.get((address & mask(length)).toString(16));
      if (asn !== undefined) return asn;
    }
    return null;
  };
  const sampleRanges = entries
    .map((entry) => ({ first: entry.network, last: entry.network | ~mask(entry.length), asn: entry.asn }))
    .map((range) => ({ ...range, last: range.last & ((1n << 128n) - 1n) }))
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const ipv4Prefixes = entries.filter((entry) => contains(IPV4_MAPPED, entry)).length;
  const asns = asnMap(rows);
  return {
    entries,
    mayNest: true,
    asns,
    reference,
    sampleRanges,
    report: {
      sourceRows: rows.length,
      rejectedLines: stats.reduce((sum, s) => sum + s.rejected, 0),
      rejectedSamples: stats.flatMap((s) => s.rejectedSamples),
      overlappingRows: 0,
      reservedRows: countReserved(rows),
      ranges: entries.length,
      multiOrigin: stats.reduce((sum, s) => sum + s.multiOrigin, 0),
      asSets: stats.reduce((sum, s) => sum + s.asSets, 0),
      ipv4Prefixes,
      ipv6Prefixes: entries.length - ipv4Prefixes,
      asns: asns.size,
    },
  };
}

/**
 * The participant that holds an imported AS and its prefixes: an address derived from the AS
 * number, the same on every chain and every run, whose key nobody has. A registrar later moves
 * the AS to the organisation's own account (`transferAsn`) once it has identified it.
 */
export function importHolder(asn: number): string {
  return getAddress(dataSlice(keccak256(toUtf8Bytes(`ddos-mitigation-market/import-holder/AS${asn}`)), 12));
}

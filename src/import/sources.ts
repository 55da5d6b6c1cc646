/**
 * Readers for the two source formats, streaming line by line:
 *
 * - the `@ip-location-db/asn` CSV files (RouteViews + RIR + DB-IP data): `first,last,asn,organisation`
 *   with inclusive ranges, addresses either as text (`asn-ipv4.csv`) or as integers
 *   (`asn-ipv4-num.csv`);
 * - CAIDA's RouteViews prefix-to-AS files (`routeviews-rv2-*.pfx2as`): `prefix<TAB>length<TAB>origin`,
 *   where the origin may be a multi-origin list `a_b` or an AS set `a,b`.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";

import { IPV4_MAPPED, MAX_LENGTH, mask, parseAddress, type Prefix } from "../prefix";
import type { AddressRange } from "./ranges";

/** A range row with the organisation name the table gives for its AS. */
export interface NamedRange extends AddressRange {
  readonly name: string;
}

/** A pfx2as row, already reduced to one origin AS. */
export interface OriginPrefix extends Prefix {
  readonly asn: number;
  /** The origin field as written, when it named more than one AS. */
  readonly origins?: string;
}

/** What a reader saw besides the rows it returned. */
export interface SourceStats {
  lines: number;
  rows: number;
  /** Lines that were not rows (comments, blank lines, malformed); the first few are kept. */
  rejected: number;
  rejectedSamples: string[];
  /** pfx2as only: rows whose origin listed several ASes (`a_b`), and AS sets (`a,b`). */
  multiOrigin: number;
  asSets: number;
}

function newStats(): SourceStats {
  return { lines: 0, rows: 0, rejected: 0, rejectedSamples: [], multiOrigin: 0, asSets: 0 };
}

function reject(stats: SourceStats, lineNumber: number, line: string, why: string): void {
  stats.rejected++;
  if (stats.rejectedSamples.length < 5) stats.rejectedSamples.push(`line ${lineNumber}: ${why}: ${line.slice(0, 80)}`);
}

async function* lines(file: string): AsyncGenerator<string> {
  const input = createReadStream(file);
  const stream = file.endsWith(".gz") ? input.pipe(createGunzip()) : input;
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of reader) yield line;
  } finally {
    reader.close();
    input.destroy();
  }
}

/** The address family of a file of integer addresses, which the numbers alone cannot tell. */
export type Family = 4 | 6;

/** Guesses the family from a file name such as `asn-ipv4-num.csv`; null when it does not say. */
export function familyFromName(file: string): Family | null {
  if (/ipv4|v4/i.test(file)) return 4;
  if (/ipv6|v6/i.test(file)) return 6;
  return null;
}

const UINT32_MAX = 0xffffffffn;
const DECIMAL = /^\d{1,39}$/;

function parseNumericAddress(text: string, family: Family): bigint | null {
  if (!DECIMAL.test(text)) return null;
  const value = BigInt(text);
  if (family === 4) return value > UINT32_MAX ? null : IPV4_MAPPED.network | value;
  return value >= 1n << 128n ? null : value;
}

function parseAnyAddress(text: string, family: Family | null): bigint | null {
  if (DECIMAL.test(text)) return family === null ? null : parseNumericAddress(text, family);
  try {
    return parseAddress(text);
  } catch {
    return null;
  }
}

function unquote(field: string): string {
  const trimmed = field.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1).replace(/""/g, '"');
  }
  return trimmed;
}

function parseAsnField(text: string): number | null {
  const digits = text.trim().replace(/^AS/i, "");
  if (!/^\d{1,10}$/.test(digits)) return null;
  const asn = Number(digits);
  return asn > 0xffffffff ? null : asn;
}

/**
 * Reads an ip-location-db ASN CSV file. Integer addresses need the family (from the options or
 * the file name); text addresses carry their own. Rows come in file order.
 */
export async function readRangeCsv(
  file: string,
  options: { family?: Family } = {},
): Promise<{ ranges: NamedRange[]; stats: SourceStats }> {
  const family = options.family ?? familyFromName(file);
  const stats = newStats();
  const ranges: NamedRange[] = [];
  for await (const line of lines(file)) {
    stats.lines++;
    if (line.trim() === "" || line.startsWith("#")) continue;
    // The first three fields are never quoted; the organisation name may be, and may hold commas.
    const c1 = line.indexOf(",");
    const c2 = c1 < 0 ? -1 : line.indexOf(",", c1 + 1);
    const c3 = c2 < 0 ? -1 : line.indexOf(",", c2 + 1);
    if (c2 < 0) {
      reject(stats, stats.lines, line, "fewer than three fields");
      continue;
    }
    const first = parseAnyAddress(line.slice(0, c1).trim(), family);
    const last = parseAnyAddress(line.slice(c1 + 1, c2).trim(), family);
    const asn = parseAsnField(c3 < 0 ? line.slice(c2 + 1) : line.slice(c2 + 1, c3));
    if (first === null || last === null || asn === null) {
      reject(
        stats,
        stats.lines,
        line,
        family === null ? "not a range (integer addresses need --family)" : "not a range",
      );
      continue;
    }
    if (first > last) {
      reject(stats, stats.lines, line, "the range ends before it starts");
      continue;
    }
    if (isMapped(first) !== isMapped(last)) {
      reject(stats, stats.lines, line, "the range spans IPv4 and IPv6");
      continue;
    }
    ranges.push({ first, last, asn, name: c3 < 0 ? "" : unquote(line.slice(c3 + 1)) });
    stats.rows++;
  }
  return { ranges, stats };
}

function isMapped(address: bigint): boolean {
  return (address & mask(96)) === IPV4_MAPPED.network;
}

/**
 * Reads a CAIDA pfx2as file (plain or .gz). A multi-origin entry (`a_b`, the prefix seen from
 * several origin ASes) and an AS set (`a,b`, an aggregate) are reduced to their first AS, and
 * counted; the registry has one origin per prefix. A prefix listed twice keeps its first row.
 */
export async function readPfx2as(file: string): Promise<{ prefixes: OriginPrefix[]; stats: SourceStats }> {
  const stats = newStats();
  const prefixes: OriginPrefix[] = [];
  const seen = new Set<string>();
  for await (const line of lines(file)) {
    stats.lines++;
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 3) {
      reject(stats, stats.lines, line, "expected prefix, length and origin");
      continue;
    }
    const [addressText, lengthText, originText] = fields;
    let address: bigint;
    try {
      address = parseAddress(addressText);
    } catch {
      reject(stats, stats.lines, line, "not an address");
      continue;
    }
    const v4 = addressText.includes(".") && !addressText.includes(":");
    const familyLength = /^\d{1,3}$/.test(lengthText) ? Number(lengthText) : -1;
    if (familyLength < 0 || familyLength > (v4 ? 32 : MAX_LENGTH)) {
      reject(stats, stats.lines, line, "not a prefix length");
      continue;
    }
    const length = v4 ? familyLength + 96 : familyLength;
    const network = address & mask(length);
    const multi = originText.includes("_");
    const set = originText.includes(",");
    const first = parseAsnField(originText.replace(/[{}]/g, "").split(/[_,]/)[0]);
    if (first === null) {
      reject(stats, stats.lines, line, "not an origin AS");
      continue;
    }
    const key = `${network}/${length}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (multi) stats.multiOrigin++;
    if (set) stats.asSets++;
    prefixes.push(
      multi || set ? { network, length, asn: first, origins: originText } : { network, length, asn: first },
    );
    stats.rows++;
  }
  return { prefixes, stats };
}

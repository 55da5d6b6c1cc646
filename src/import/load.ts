/** Loading a source into an import table: the ip-location-db package, or pfx2as files. */
import { existsSync } from "node:fs";
import path from "node:path";

import { readPfx2as, readRangeCsv, type NamedRange, type OriginPrefix, type SourceStats } from "./sources";
import { tableFromPrefixes, tableFromRanges, type ImportTable } from "./table";

/** Where npm installed `@ip-location-db/asn`. */
export function ipLocationDbDir(): string {
  return path.dirname(require.resolve("@ip-location-db/asn/package.json"));
}

/** The package's two integer-address files (they parse faster than the text ones). */
export function ipLocationDbFiles(dir = ipLocationDbDir()): string[] {
  return ["asn-ipv4-num.csv", "asn-ipv6-num.csv"].map((name) => path.join(dir, name));
}

export type SourceKind = "ip-location-db" | "pfx2as";

export interface LoadedSource {
  kind: SourceKind;
  files: string[];
  rows: NamedRange[] | OriginPrefix[];
  stats: SourceStats[];
}

export async function readSource(kind: SourceKind, files: readonly string[]): Promise<LoadedSource> {
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`The source file ${file} does not exist.`);
  }
  const stats: SourceStats[] = [];
  if (kind === "pfx2as") {
    const rows: OriginPrefix[] = [];
    for (const file of files) {
      const read = await readPfx2as(file);
      rows.push(...read.prefixes);
      stats.push(read.stats);
    }
    return { kind, files: [...files], rows, stats };
  }
  const rows: NamedRange[] = [];
  for (const file of files) {
    const read = await readRangeCsv(file);
    for (const row of read.ranges) rows.push(row);
    stats.push(read.stats);
  }
  return { kind, files: [...files], rows, stats };
}

export function tableOf(source: LoadedSource): ImportTable {
  return source.kind === "pfx2as"
    ? tableFromPrefixes(source.rows as OriginPrefix[], source.stats)
    : tableFromRanges(source.rows as NamedRange[], source.stats);
}

/** Reads and converts in one step. */
export async function loadTable(kind: SourceKind, files: readonly string[]): Promise<ImportTable> {
  return tableOf(await readSource(kind, files));
}

/** The label a holder's metadata records for the source. */
export function sourceLabel(kind: SourceKind, files: readonly string[]): string {
  return kind === "ip-location-db" ? "@ip-location-db/asn" : `pfx2as:${files.map((f) => path.basename(f)).join("+")}`;
}

/**
 * Agreement of the registry with the source table: for addresses drawn with a seeded PRNG, the
 * registry's longest-prefix match must give the AS the table gives (the AS of the most specific
 * row containing the address), or "not found" where the table has none or a reserved AS.
 */
import { IPV4_MAPPED, formatAddress } from "../prefix";
import { decodeLookup, encodeLookup } from "./plan";
import { batchAll, resultOf, type JsonRpc } from "./rpc";
import type { AddressRange } from "./ranges";
import type { ImportTable } from "./table";

/** A small, fast, seedable PRNG (sfc32); the same seed draws the same addresses everywhere. */
export function prng(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

/** A uniform integer in [0, 2^bits). */
function randomBits(next: () => number, bits: number): bigint {
  let value = 0n;
  for (let have = 0; have < bits; have += 32) value = (value << 32n) | BigInt(next());
  return value & ((1n << BigInt(bits)) - 1n);
}

/** An integer in [0, n), n ≥ 1 (the bias of the modulo over 160 bits is negligible). */
export function randomBelow(next: () => number, n: bigint): bigint {
  return randomBits(next, 160) % n;
}

/**
 * `count` addresses: half IPv4, half IPv6; of each, four in five inside a random row of the table
 * (so most are found), one in five anywhere in the family's routable space (mostly gaps).
 */
export function sampleAddresses(ranges: readonly AddressRange[], count: number, seed: number): bigint[] {
  const next = prng(seed);
  const isV4 = (range: AddressRange): boolean => range.first >> 32n === IPV4_MAPPED.network >> 32n;
  const families = [ranges.filter(isV4), ranges.filter((range) => !isV4(range))];
  const addresses: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const v4 = i % 2 === 0;
    const pool = families[v4 ? 0 : 1];
    if (pool.length > 0 && next() % 5 !== 0) {
      const range = pool[next() % pool.length];
      addresses.push(range.first + randomBelow(next, range.last - range.first + 1n));
    } else if (v4) {
      addresses.push(IPV4_MAPPED.network | randomBits(next, 32));
    } else {
      // Global unicast, 2000::/3.
      addresses.push((1n << 125n) | randomBits(next, 125));
    }
  }
  return addresses;
}

export interface AgreementReport {
  checked: number;
  agreed: number;
  found: number;
  notFound: number;
  /** The first disagreements, for people. */
  mismatches: { address: string; expected: string; registry: string }[];
}

const describe = (asn: number | null): string => (asn === null ? "not found" : `AS${asn}`);

/** Looks every address up in the registry (batched eth_calls) and compares with the table. */
export async function checkAgreement(
  rpc: JsonRpc,
  registry: string,
  table: Pick<ImportTable, "reference">,
  addresses: readonly bigint[],
): Promise<AgreementReport> {
  const outcomes = await batchAll(
    rpc,
    addresses.map((address) => ({
      method: "eth_call",
      params: [{ to: registry, data: encodeLookup(address) }, "latest"],
    })),
    500,
  );
  const report: AgreementReport = { checked: 0, agreed: 0, found: 0, notFound: 0, mismatches: [] };
  for (let i = 0; i < addresses.length; i++) {
    const route = decodeLookup(resultOf(outcomes[i], `lookup(${formatAddress(addresses[i])})`) as string);
    const actual = route.found ? route.asn : null;
    const expected = table.reference(addresses[i]);
    report.checked++;
    if (actual === null) report.notFound++;
    else report.found++;
    if (actual === expected) report.agreed++;
    else if (report.mismatches.length < 10) {
      report.mismatches.push({
        address: formatAddress(addresses[i]),
        expected: describe(expected),
        registry: describe(actual),
      });
    }
  }
  return report;
}

export interface LatencyReport {
  calls: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Latency of single `lookup` eth_calls, one at a time, as a client sees it. */
export async function lookupLatency(
  rpc: JsonRpc,
  registry: string,
  addresses: readonly bigint[],
): Promise<LatencyReport> {
  const times: number[] = [];
  for (const address of addresses) {
    const start = process.hrtime.bigint();
    await rpc.request("eth_call", [{ to: registry, data: encodeLookup(address) }, "latest"]);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    calls: times.length,
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(times[times.length - 1] ?? 0),
  };
}

/**
 * The experiments as data: which topologies and sizes, which provider ASes each uses, and the
 * attack report the victim agent is handed. AS numbers come from the private 32-bit range
 * (RFC 6996), provider prefixes from 10.0.0.0/8, the victim's from TEST-NET-3 (RFC 5737).
 *
 * On the ledger there are no hops: the victim buys from every AS it names, in one transaction
 * (or a few past the gas limit). So the chain differs from the star only in the report: one
 * source per AS on the path (each hop filters, as RID's hop-by-hop traceback reaches each), against
 * two attackers in each neighbouring AS.
 */
import type { AttackReport, TopTalker } from "../../src/victim/attackReport";

export type Topology = "chain" | "star" | "scale";

/** One point of the benchmark: a topology, its number of ASes, and how often to measure it. */
export interface Point {
  topology: Topology;
  n: number;
  repetitions: number;
}

/** RID's chain (1–7 ASes) and star (1–6 neighbours), then the large sizes. */
export const CHAIN_SIZES = [1, 2, 3, 4, 5, 6, 7] as const;
export const STAR_SIZES = [1, 2, 3, 4, 5, 6] as const;

export interface PointOptions {
  /** Repetitions of the chain and star points and of large sizes up to `fewAbove`. */
  repetitions: number;
  /** Repetitions of sizes above `fewAbove`. */
  fewRepetitions: number;
  fewAbove: number;
  /** The large sizes (source ASes, one provider each). */
  sizes: readonly number[];
  /** The topologies to run; all three by default. */
  topologies?: readonly Topology[];
}

export const TOPOLOGIES: readonly Topology[] = ["chain", "star", "scale"];

export function points(options: PointOptions): Point[] {
  const { repetitions, fewRepetitions, fewAbove, sizes } = options;
  const wanted = options.topologies ?? TOPOLOGIES;
  for (const t of wanted) {
    if (!TOPOLOGIES.includes(t)) throw new Error(`"${t}" is not a topology: use ${TOPOLOGIES.join(", ")}.`);
  }
  for (const [name, value] of [
    ["repetitions", repetitions],
    ["fewer repetitions", fewRepetitions],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${value} ${name} is not valid: give 1 or more.`);
  }
  for (const n of sizes) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_PROVIDERS) {
      throw new Error(`A size of ${n} ASes is not valid: give a whole number from 1 to ${MAX_PROVIDERS}.`);
    }
  }
  const all = [
    ...CHAIN_SIZES.map((n): Point => ({ topology: "chain", n, repetitions })),
    ...STAR_SIZES.map((n): Point => ({ topology: "star", n, repetitions })),
    ...[...sizes]
      .sort((a, b) => a - b)
      .map((n): Point => ({ topology: "scale", n, repetitions: n > fewAbove ? fewRepetitions : repetitions })),
  ];
  return all.filter((p) => wanted.includes(p.topology));
}

/** Provider ASes by topology: the chain's path, the star's neighbours, the large pool. Disjoint. */
export type Pools = Record<Topology, number[]>;

/** Provider numbers (0, 1, …) for each topology, sized for the largest point of each. */
export function pools(list: readonly Point[]): Pools {
  const need = (t: Topology) => Math.max(0, ...list.filter((p) => p.topology === t).map((p) => p.n));
  let next = 0;
  const take = (count: number) => Array.from({ length: count }, () => next++);
  return { chain: take(need("chain")), star: take(need("star")), scale: take(need("scale")) };
}

/** The providers a point uses: the first n of its topology's pool. */
export function providersOf(point: Point, all: Pools): number[] {
  const pool = all[point.topology];
  if (pool.length < point.n) throw new Error(`The ${point.topology} pool has ${pool.length} ASes, not ${point.n}.`);
  return pool.slice(0, point.n);
}

/** 10.0.0.0/8 holds 65,536 /24s: one per provider. */
export const MAX_PROVIDERS = 65_536;

export const VICTIM_ASN = 4_200_000_000;
export const VICTIM_PREFIX = "203.0.113.0/24";
export const VICTIM_TARGET = "203.0.113.10/32";

export function providerAsn(p: number): number {
  checkProvider(p);
  return VICTIM_ASN + 1 + p;
}

export function providerPrefix(p: number): string {
  checkProvider(p);
  return `10.${p >> 8}.${p & 255}.0/24`;
}

function checkProvider(p: number): void {
  if (!Number.isInteger(p) || p < 0 || p >= MAX_PROVIDERS) {
    throw new Error(`Provider ${p} is out of range: 0 to ${MAX_PROVIDERS - 1}.`);
  }
}

/** An attacker's address inside provider p's prefix. */
export function sourceIn(p: number, host: number): string {
  return providerPrefix(p).replace(/0\/24$/, String(host));
}

/** How long the victim wants mitigation, seconds (DOTS lifetime). */
export const LIFETIME = 3600;

/** The report the victim agent is handed for `point`, whose ASes are `providers`. */
export function attackReport(point: Point, providers: readonly number[]): AttackReport {
  if (providers.length !== point.n) throw new Error(`${point.topology} ${point.n} needs ${point.n} providers.`);
  const talkers: TopTalker[] = providers.flatMap((p, i): TopTalker[] => {
    switch (point.topology) {
      case "chain":
        // The attacker sits behind the last AS; every hop on the way carries its traffic.
        return [{ source: sourceIn(p, 66), bps: i === providers.length - 1 ? 4e9 : 1e9 }];
      case "star":
        return [
          { source: sourceIn(p, 23), bps: 2e9 },
          { source: sourceIn(p, 77), bps: 1e9 },
        ];
      case "scale":
        return [{ source: sourceIn(p, 66), bps: 1e8 }];
    }
  });
  return { target: VICTIM_TARGET, lifetime: LIFETIME, topTalkers: talkers };
}

/** The seeded PRNG of the property and stateful tests. */
import { RESERVED_ASNS } from "../../src/asn";

/** mulberry32: a small, well-known 32-bit PRNG; deterministic for a seed. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 2 ** 32) * n);
  }

  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A uniform bigint of `count` bits (0 ≤ count ≤ 128). */
  bits(count: number): bigint {
    let value = 0n;
    for (let i = 0; i < 4; i++) value = (value << 32n) | BigInt(this.next());
    return count === 0 ? 0n : value >> BigInt(128 - count);
  }

  /** An AS number anyone may hold. */
  asn(): number {
    const asn = this.chance(0.5) ? 64496 + this.int(16) : 1 + this.int(4294967294);
    return RESERVED_ASNS.includes(asn) ? 64500 : asn;
  }
}

/**
 * A reference implementation of the PrefixRegistry's prefix semantics, written to be obviously
 * correct rather than fast: every query scans every registered prefix. The property tests compare
 * the contract against it.
 */
import { ZeroAddress } from "ethers";

import { MAX_LENGTH, formatPrefix, mask } from "../../src/prefix";
import type { Prefix } from "../../src/prefix";

/** MASKS[n] is the network mask of a /n, computed once: the scans below are hot. */
const MASKS = Array.from({ length: MAX_LENGTH + 1 }, (_, length) => mask(length));

/** True when `outer` contains `inner` (a prefix contains itself). */
function contains(outer: Prefix, inner: Prefix): boolean {
  return outer.length <= inner.length && (inner.network & MASKS[outer.length]) === outer.network;
}

function isCanonical(prefix: Prefix): boolean {
  return (
    Number.isInteger(prefix.length) &&
    prefix.length >= 0 &&
    prefix.length <= MAX_LENGTH &&
    (prefix.network & MASKS[prefix.length]) === prefix.network
  );
}

/** A registered prefix, with the same fields as the registry's `Route`. */
export interface ReferenceRoute {
  network: bigint;
  length: number;
  originAsn: number;
  holder: string;
  delegated: boolean;
}

function keyOf(prefix: Prefix): string {
  return `${prefix.network}/${prefix.length}`;
}

function requireCanonical(prefix: Prefix): void {
  if (!isCanonical(prefix)) throw new Error(`reference: ${prefix.network}/${prefix.length} is not a canonical prefix`);
}

export class ReferenceRegistry {
  private readonly routes = new Map<string, ReferenceRoute>();

  /** How many prefixes are registered. */
  get size(): number {
    return this.routes.size;
  }

  /** Every registered prefix, in registration order. */
  all(): ReferenceRoute[] {
    return [...this.routes.values()];
  }

  /** The registered prefix itself, if any. */
  get(prefix: Prefix): ReferenceRoute | undefined {
    return this.routes.get(keyOf(prefix));
  }

  /** A registrar allocates `prefix`. */
  allocate(prefix: Prefix, holder: string, originAsn: number): void {
    this.add(prefix, holder, originAsn, false);
  }

  /** `from` delegates `prefix`, which must lie in a prefix whose holder is `from`. */
  delegate(prefix: Prefix, from: string, to: string, originAsn: number): void {
    const holder = this.holderOf(prefix);
    if (holder !== from) throw new Error(`reference: ${from} does not hold ${formatPrefix(prefix)} (${holder} does)`);
    this.add(prefix, to, originAsn, true);
  }

  /** Removes `prefix`; whatever was delegated out of it stays. */
  revoke(prefix: Prefix): ReferenceRoute {
    const route = this.get(prefix);
    if (route === undefined) throw new Error(`reference: ${formatPrefix(prefix)} is not registered`);
    this.routes.delete(keyOf(prefix));
    return route;
  }

  /** Changes the origin AS of a registered prefix. */
  setOrigin(prefix: Prefix, originAsn: number): void {
    const route = this.get(prefix);
    if (route === undefined) throw new Error(`reference: ${formatPrefix(prefix)} is not registered`);
    route.originAsn = originAsn;
  }

  /**
   * The most specific registered prefix of length at most `maxLength` that contains all of
   * `prefix`, found by looking at every registered prefix.
   */
  covering(prefix: Prefix, maxLength: number = prefix.length): ReferenceRoute | undefined {
    let best: ReferenceRoute | undefined;
    for (const route of this.routes.values()) {
      if (route.length > maxLength || !contains(route, prefix)) continue;
      if (best === undefined || route.length > best.length) best = route;
    }
    return best;
  }

  /** The most specific registered prefix strictly covering `prefix` (its parent). */
  parent(prefix: Prefix): ReferenceRoute | undefined {
    return prefix.length === 0 ? undefined : this.covering(prefix, prefix.length - 1);
  }

  /** Longest-prefix match of one address. */
  lookup(address: bigint): ReferenceRoute | undefined {
    return this.covering({ network: address, length: MAX_LENGTH });
  }

  /** The holder of `prefix`: the holder of its covering prefix, or the zero address. */
  holderOf(prefix: Prefix): string {
    return this.covering(prefix)?.holder ?? ZeroAddress;
  }

  /** The registered prefixes strictly inside `prefix`. */
  inside(prefix: Prefix): ReferenceRoute[] {
    return this.all().filter((route) => route.length > prefix.length && contains(prefix, route));
  }

  /**
   * True when `account` holds all of `prefix`: it holds the covering prefix, and no registered
   * prefix strictly inside is held by anyone else. A non-canonical prefix is held by no one.
   */
  holdsAll(account: string, prefix: Prefix): boolean {
    if (!isCanonical(prefix) || account === ZeroAddress || this.holderOf(prefix) !== account) return false;
    return this.inside(prefix).every((route) => route.holder === account);
  }

  /** Bit n set when a /n is registered. */
  lengthsInUse(): bigint {
    let bitmap = 0n;
    for (const route of this.routes.values()) bitmap |= 1n << BigInt(route.length);
    return bitmap;
  }

  private add(prefix: Prefix, holder: string, originAsn: number, delegated: boolean): void {
    requireCanonical(prefix);
    if (this.routes.has(keyOf(prefix))) throw new Error(`reference: ${formatPrefix(prefix)} is already registered`);
    this.routes.set(keyOf(prefix), { ...prefix, originAsn, holder, delegated });
  }
}

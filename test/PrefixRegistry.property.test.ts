/**
 * Seeded property tests: build registries of random nested IPv4 and IPv6 prefixes (allocated in
 * batches, delegated, sub-delegated, partly revoked, origins changed), mirror every step in the
 * plain TypeScript ReferenceRegistry, then compare thousands of random queries with it.
 *
 * Deterministic: the PRNG is seeded. Set PROPERTY_SEED to explore other registries; a failure
 * names the seed and the address or prefix that disagreed.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import {
  IPV4_MAPPED,
  MAX_LENGTH,
  formatAddress,
  formatPrefix,
  isIPv4,
  mask,
  parsePrefix,
  truncate,
} from "../src/prefix";
import type { Prefix } from "../src/prefix";
import type { IPrefixRegistry } from "../typechain-types";
import { NO_ROUTE, deployWithParticipants, plainRoute } from "./helpers/fixtures";
import type { Foundation, PlainRoute } from "./helpers/fixtures";
import { ReferenceRegistry } from "./helpers/referenceRegistry";
import type { ReferenceRoute } from "./helpers/referenceRegistry";
import { Random } from "./helpers/random";

const SEED = Number(process.env.PROPERTY_SEED ?? 0x5eed_1e55);
const CHUNK = 200;
const ALL_ONES = (1n << 128n) - 1n;

/** Runs `query` over `items` in chunks of CHUNK concurrent eth_calls. */
async function inChunks<T, R>(items: readonly T[], query: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += CHUNK) {
    results.push(...(await Promise.all(items.slice(i, i + CHUNK).map(query))));
  }
  return results;
}

function plainOf(route: ReferenceRoute | undefined): PlainRoute {
  return route === undefined ? NO_ROUTE : { ...route };
}

/** How a scenario draws its prefixes. */
interface Shape {
  readonly rounds: number;
  readonly allocationsPerRound: number;
  readonly delegationsPerRound: number;
  readonly revocationsPerRound: number;
  /** Prefixes revoked earlier and allocated again (to anyone), per round. */
  readonly reallocationsPerRound: number;
  readonly originChangesPerRound: number;
  /** A prefix no registered prefix needs to cover. */
  root(random: Random): Prefix;
  /** A more specific prefix inside `parent`, or undefined when the shape allows none. */
  child(random: Random, parent: Prefix): Prefix | undefined;
  /** An address drawn from the whole space the scenario uses. */
  anywhere(random: Random): bigint;
}

/** A registry built at random on chain, and its mirror in the reference. */
class Scenario {
  readonly random: Random;
  readonly reference = new ReferenceRegistry();
  /** Every prefix ever registered, revoked ones included, for biasing the queries. */
  readonly seen: Prefix[] = [];
  /** Every prefix revoked, for re-allocation. */
  readonly revoked: Prefix[] = [];
  readonly counts = {
    allocated: 0,
    delegated: 0,
    subDelegated: 0,
    revokedByRegistrar: 0,
    revokedByHolder: 0,
    reallocated: 0,
    allocatedAbove: 0,
  };
  foundation!: Foundation;
  holders: HardhatEthersSigner[] = [];

  constructor(
    readonly seed: number,
    readonly shape: Shape,
  ) {
    this.random = new Random(seed);
  }

  signerOf(address: string): HardhatEthersSigner {
    const signer = this.holders.find((holder) => holder.address === address);
    if (signer === undefined) throw new Error(`no signer for ${address}`);
    return signer;
  }

  /** A prefix inside a random registered one and not itself registered, if the draw finds one. */
  randomChild(): Prefix | undefined {
    const child = this.shape.child(this.random, this.random.pick(this.reference.all()));
    return child === undefined || this.reference.get(child) !== undefined ? undefined : child;
  }

  /** Mostly inside a prefix seen so far, sometimes on or just past its edge, sometimes anywhere. */
  randomAddress(): bigint {
    const { random, seen } = this;
    const roll = random.next() / 2 ** 32;
    if (roll < 0.75) {
      const prefix = random.pick(seen);
      return prefix.network | random.bits(MAX_LENGTH - prefix.length);
    }
    if (roll < 0.88) {
      const prefix = random.pick(seen);
      const last = prefix.network | (~mask(prefix.length) & ALL_ONES);
      const edges = [prefix.network, last, prefix.network - 1n, last + 1n].filter((a) => a >= 0n && a <= ALL_ONES);
      return random.pick(edges);
    }
    return this.shape.anywhere(random);
  }

  /** A prefix around a random address, in the family's own range of lengths. */
  randomTarget(): Prefix {
    const address = this.randomAddress();
    const v4 = isIPv4({ network: address, length: MAX_LENGTH });
    return truncate(address, v4 ? 96 + this.random.int(33) : this.random.int(MAX_LENGTH + 1));
  }

  async build(): Promise<void> {
    const { random, reference, seen, counts, shape } = this;
    this.foundation = await loadFixture(deployWithParticipants);
    const { registry, registrar1, registrar2, alice, bob, carol, others } = this.foundation;
    const extra = others.slice(0, 5);
    this.holders = [alice, bob, carol, ...extra];
    for (const [i, account] of extra.entries()) {
      await registry.connect(registrar1).registerParticipant(account.address, `Participant ${i}`, "");
    }

    for (let round = 0; round < shape.rounds; round++) {
      // Allocations, in one batch: roots at first, then mostly more-specifics of what exists.
      const batch: IPrefixRegistry.AllocationStruct[] = [];
      for (let attempt = 0; batch.length < shape.allocationsPerRound && attempt < 50 * shape.allocationsPerRound;) {
        attempt++;
        const prefix = round === 0 || random.chance(0.3) ? shape.root(random) : this.randomChild();
        if (prefix === undefined || reference.get(prefix) !== undefined) continue;
        const holder = random.pick(this.holders).address;
        const originAsn = random.asn();
        reference.allocate(prefix, holder, originAsn);
        seen.push(prefix);
        batch.push({ network: prefix.network, prefixLength: prefix.length, holder, originAsn });
      }
      await registry.connect(random.chance(0.5) ? registrar1 : registrar2).allocateBatch(batch);
      counts.allocated += batch.length;

      // Delegations by whoever holds the covering prefix, sub-delegations and self-delegations included.
      for (let done = 0, attempt = 0; done < shape.delegationsPerRound && attempt < 1000; attempt++) {
        const prefix = this.randomChild();
        if (prefix === undefined) continue;
        const parent = reference.covering(prefix)!;
        const to = random.chance(0.2) ? parent.holder : random.pick(this.holders).address;
        const originAsn = random.asn();
        reference.delegate(prefix, parent.holder, to, originAsn);
        seen.push(prefix);
        await registry.connect(this.signerOf(parent.holder)).delegate(prefix.network, prefix.length, to, originAsn);
        if (parent.delegated) counts.subDelegated++;
        counts.delegated++;
        done++;
      }

      // Revocations: delegations often by the holder of the covering prefix, the rest by a registrar.
      for (let done = 0; done < shape.revocationsPerRound; done++) {
        const route = random.pick(reference.all());
        const parent = reference.parent(route);
        const byHolder = route.delegated && parent !== undefined && random.chance(0.6);
        const revoker = byHolder ? this.signerOf(parent.holder) : registrar2;
        reference.revoke(route);
        this.revoked.push({ network: route.network, length: route.length });
        await registry.connect(revoker).revoke(route.network, route.length);
        if (byHolder) counts.revokedByHolder++;
        else counts.revokedByRegistrar++;
      }

      // Re-allocations of revoked prefixes, often above what was registered inside them since.
      for (let done = 0, attempt = 0; done < shape.reallocationsPerRound && attempt < 100; attempt++) {
        if (this.revoked.length === 0) break;
        const prefix = random.pick(this.revoked);
        if (reference.get(prefix) !== undefined) continue;
        const holder = random.pick(this.holders).address;
        const originAsn = random.asn();
        if (reference.inside(prefix).length > 0) counts.allocatedAbove++;
        reference.allocate(prefix, holder, originAsn);
        await registry.connect(registrar1).allocate(prefix.network, prefix.length, holder, originAsn);
        counts.reallocated++;
        done++;
      }

      for (let done = 0; done < shape.originChangesPerRound; done++) {
        const route = random.pick(reference.all());
        const originAsn = random.asn();
        reference.setOrigin(route, originAsn);
        await registry.connect(this.signerOf(route.holder)).setOrigin(route.network, route.length, originAsn);
      }
    }
  }

  /**
   * Asks isHolder and holderStatus for each (account, prefix) and compares both with the
   * reference, which scans every registered prefix: they must agree exactly, in both directions.
   * Returns how many answers were true and how many false.
   */
  async checkHolding(
    cases: readonly { account: string; prefix: Prefix }[],
  ): Promise<{ held: number; notHeld: number }> {
    const { registry } = this.foundation;
    const actual = await inChunks(cases, async ({ account, prefix }) => {
      const [isHolder, [status, holdsAll]] = await Promise.all([
        registry.isHolder(account, prefix.network, prefix.length),
        registry.holderStatus(account, prefix.network, prefix.length),
      ]);
      return { isHolder, status, holdsAll };
    });
    const falseYes: string[] = [];
    const falseNo: string[] = [];
    let held = 0;
    cases.forEach(({ account, prefix }, i) => {
      const expected = this.reference.holdsAll(account, prefix);
      const where = `(${account}, ${formatPrefix(prefix)})`;
      expect(actual[i].holdsAll, `holderStatus${where} vs isHolder with seed ${this.seed}`).to.equal(
        actual[i].isHolder,
      );
      if (actual[i].isHolder && !expected) falseYes.push(where);
      if (!actual[i].isHolder && expected) falseNo.push(where);
      if (expected) held++;
    });
    expect(falseYes, `held in full according to the registry, not the reference (seed ${this.seed})`).to.deep.equal([]);
    expect(falseNo, `held in full according to the reference, not the registry (seed ${this.seed})`).to.deep.equal([]);
    return { held, notHeld: cases.length - held };
  }

  /** Targets around random addresses, the account being the holder of the covering prefix mostly. */
  holdingCases(count: number, target: () => Prefix): { account: string; prefix: Prefix }[] {
    const { outsider } = this.foundation;
    return Array.from({ length: count }, () => {
      const prefix = target();
      const holder = this.reference.holderOf(prefix);
      const account = this.random.chance(0.7) ? holder : this.random.pick([...this.holders, outsider]).address;
      return { account, prefix };
    });
  }
}

describe(`PrefixRegistry (property, seed ${SEED})`, function () {
  describe("with several hundred nested IPv4 and IPv6 prefixes", function () {
    const ADDRESSES = 2_400;
    const TARGETS = 800;
    const WRONG_DELEGATIONS = 30;
    // A palette of lengths per family, drawn from the seed: real registries use a few lengths,
    // and every length in use costs each lookup a probe. Other seeds draw other lengths.
    const palette = new Random(SEED ^ 0x1e9 /* lengths */);
    const sample = (from: number, to: number, count: number) => {
      const lengths = new Set<number>();
      while (lengths.size < count) lengths.add(from + palette.int(to - from + 1));
      return [...lengths].sort((a, b) => a - b);
    };
    const v4Lengths = sample(8, 32, 10).map((length) => 96 + length);
    const v6Lengths = [...sample(16, 64, 12), MAX_LENGTH];
    const scenario = new Scenario(SEED, {
      rounds: 8,
      allocationsPerRound: 45,
      delegationsPerRound: 35,
      revocationsPerRound: 8,
      reallocationsPerRound: 4,
      originChangesPerRound: 3,
      // IPv4 in ::ffff:0:0/96, IPv6 inside 2000::/3, at one of the two shortest lengths of the family.
      root: (random) =>
        random.chance(0.5)
          ? truncate(IPV4_MAPPED.network | random.bits(32), random.pick(v4Lengths.slice(0, 2)))
          : truncate((1n << 125n) | random.bits(125), random.pick(v6Lengths.slice(0, 2))),
      // At one of the next three lengths of the family.
      child: (random, parent) => {
        const longer = (isIPv4(parent) ? v4Lengths : v6Lengths).filter((length) => length > parent.length);
        if (longer.length === 0) return undefined;
        const length = random.pick(longer.slice(0, 3));
        return truncate(parent.network | random.bits(MAX_LENGTH - parent.length), length);
      },
      anywhere: (random) => (random.chance(0.5) ? IPV4_MAPPED.network | random.bits(32) : random.bits(128)),
    });

    before(async function () {
      await scenario.build();
    });

    it("builds at least 500 nested prefixes, IPv4 and IPv6, with sub-delegations and revocations", function () {
      const { reference, counts } = scenario;
      const routes = reference.all();
      const v4 = routes.filter(isIPv4).length;
      expect(reference.size).to.be.at.least(500);
      expect(v4).to.be.at.least(100);
      expect(routes.length - v4).to.be.at.least(100);
      expect(routes.filter((route) => reference.parent(route) !== undefined).length).to.be.at.least(300);
      expect(counts.subDelegated).to.be.at.least(20);
      expect(counts.revokedByHolder).to.be.at.least(10);
      expect(counts.revokedByRegistrar).to.be.at.least(10);
      expect(counts.reallocated).to.be.at.least(10);
      expect(counts.allocatedAbove).to.be.at.least(3);
    });

    it("agrees on prefixCount, and registeredLengths covers every length in use and no other ever used", async function () {
      const { registry } = scenario.foundation;
      expect(await registry.prefixCount()).to.equal(BigInt(scenario.reference.size));
      const registered = await registry.registeredLengths();
      const everUsed = scenario.seen.reduce((bits, p) => bits | (1n << BigInt(p.length)), 0n);
      expect(scenario.reference.lengthsInUse() & ~registered).to.equal(0n);
      expect(registered & ~everUsed).to.equal(0n);
    });

    it("agrees on prefix() for every prefix registered or revoked", async function () {
      const { registry } = scenario.foundation;
      const { seen, reference } = scenario;
      const actual = await inChunks(seen, async (prefix) =>
        plainRoute(await registry.prefix(prefix.network, prefix.length)),
      );
      seen.forEach((prefix, i) => {
        expect(actual[i], formatPrefix(prefix)).to.deep.equal(plainOf(reference.get(prefix)));
      });
    });

    it(`agrees on lookup() for ${ADDRESSES} addresses, most inside registered prefixes`, async function () {
      const { registry } = scenario.foundation;
      const addresses = Array.from({ length: ADDRESSES }, () => scenario.randomAddress());
      const actual = await inChunks(addresses, async (address) => {
        const [found, route] = await registry.lookup(address);
        return { found, route: plainRoute(route) };
      });
      let inside = 0;
      addresses.forEach((address, i) => {
        const expected = scenario.reference.lookup(address);
        if (expected !== undefined) inside++;
        const where = `lookup(${formatAddress(address)}) with seed ${SEED}`;
        expect(actual[i].found, where).to.equal(expected !== undefined);
        expect(actual[i].route, where).to.deep.equal(plainOf(expected));
      });
      // The bias works: most addresses hit a prefix, and some miss.
      expect(inside).to.be.within(ADDRESSES * 0.6, ADDRESSES * 0.97);
    });

    it(`agrees on coveringPrefix() and holderOf() for ${TARGETS} target prefixes`, async function () {
      const { registry } = scenario.foundation;
      const targets = Array.from({ length: TARGETS }, () => scenario.randomTarget());
      const actual = await inChunks(targets, async (prefix) => {
        const [[found, route], holder] = await Promise.all([
          registry.coveringPrefix(prefix.network, prefix.length),
          registry.holderOf(prefix.network, prefix.length),
        ]);
        return { found, route: plainRoute(route), holder };
      });
      targets.forEach((prefix, i) => {
        const expected = scenario.reference.covering(prefix);
        const where = `${formatPrefix(prefix)} with seed ${SEED}`;
        expect(actual[i].found, `coveringPrefix(${where})`).to.equal(expected !== undefined);
        expect(actual[i].route, `coveringPrefix(${where})`).to.deep.equal(plainOf(expected));
        expect(actual[i].holder, `holderOf(${where})`).to.equal(scenario.reference.holderOf(prefix));
      });
    });

    it(`agrees exactly on isHolder() and holderStatus() for ${TARGETS} targets from /0 to /128`, async function () {
      const { held, notHeld } = await scenario.checkHolding(
        scenario.holdingCases(TARGETS, () => scenario.randomTarget()),
      );
      // Not vacuous: both answers occur.
      expect(held).to.be.at.least(TARGETS * 0.1);
      expect(notHeld).to.be.at.least(TARGETS * 0.1);
    });

    it(`agrees exactly on isHolder() and holderStatus() for ${TARGETS} IPv4 aggregates /8 to /24`, async function () {
      const { random } = scenario;
      const target = () => {
        for (;;) {
          const address = scenario.randomAddress();
          if (isIPv4({ network: address, length: MAX_LENGTH })) return truncate(address, 96 + 8 + random.int(17));
        }
      };
      const { held, notHeld } = await scenario.checkHolding(scenario.holdingCases(TARGETS, target));
      expect(held).to.be.at.least(TARGETS * 0.05);
      expect(notHeld).to.be.at.least(TARGETS * 0.05);
    });

    it("agrees exactly on isHolder() and holderStatus() for every registered prefix and its holder", async function () {
      const cases = scenario.reference.all().map((route) => ({ account: route.holder, prefix: route }));
      const { held, notHeld } = await scenario.checkHolding(cases);
      // Some registered prefixes hold someone else's inside, most do not.
      expect(held).to.be.at.least(cases.length * 0.5);
      expect(notHeld).to.be.at.least(cases.length * 0.05);
    });

    it("answers isHolder() false for prefixes with host bits, whoever asks", async function () {
      const { registry } = scenario.foundation;
      const targets = scenario.reference
        .all()
        .filter((route) => route.length < MAX_LENGTH)
        .slice(0, 100)
        .map((route) => ({ ...route, network: route.network | 1n }));
      const actual = await inChunks(targets, (t) => registry.isHolder(t.holder, t.network, t.length));
      expect(actual.every((held) => !held)).to.be.true;
    });

    it(`rejects ${WRONG_DELEGATIONS} delegations by non-holders, naming the holder the reference expects`, async function () {
      const { registry } = scenario.foundation;
      for (let done = 0; done < WRONG_DELEGATIONS;) {
        const prefix = scenario.randomChild();
        if (prefix === undefined) continue;
        const holder = scenario.reference.holderOf(prefix);
        const caller = scenario.random.pick(scenario.holders.filter((h) => h.address !== holder));
        await expect(registry.connect(caller).delegate(prefix.network, prefix.length, caller.address, 64500))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotHolder")
          .withArgs(caller.address, prefix.network, prefix.length, holder);
        done++;
      }
    });
  });

  describe("with dense IPv4 /16 to /19 delegations inside a few /8s", function () {
    const TARGETS = 1_000;
    const SLASH_8S = ["10.0.0.0/8", "100.0.0.0/8", "172.0.0.0/8", "198.0.0.0/8"].map((text) => parsePrefix(text));
    const scenario = new Scenario(SEED ^ 0xdec0de, {
      rounds: 5,
      allocationsPerRound: 12,
      delegationsPerRound: 30,
      revocationsPerRound: 8,
      reallocationsPerRound: 3,
      originChangesPerRound: 1,
      root: (random) => random.pick(SLASH_8S),
      // Lengths /16 to /19 only, crowded into a few /16s per /8.
      child: (random, parent) => {
        const v4Length = parent.length - 96;
        if (v4Length >= 19) return undefined;
        if (v4Length === 8) {
          // Few /16s per /8, so that prefixes crowd into the same ones.
          const slash16 = parent.network | (BigInt(random.int(6)) << 16n);
          return truncate(slash16 | random.bits(16), 96 + 16 + random.int(4));
        }
        return truncate(
          parent.network | random.bits(MAX_LENGTH - parent.length),
          parent.length + 1 + random.int(19 - v4Length),
        );
      },
      anywhere: (random) => random.pick(SLASH_8S).network | random.bits(24),
    });

    before(async function () {
      await scenario.build();
    });

    it("uses only the lengths /8 and /16 to /19, with sub-delegations and revocations", async function () {
      const lengths = [8, 16, 17, 18, 19].reduce((bitmap, v4) => bitmap | (1n << BigInt(96 + v4)), 0n);
      const registered = await scenario.foundation.registry.registeredLengths();
      expect(registered & ~lengths).to.equal(0n);
      expect(scenario.reference.lengthsInUse() & ~registered).to.equal(0n);
      expect(scenario.reference.size).to.be.at.least(150);
      expect(scenario.counts.subDelegated).to.be.at.least(20);
    });

    it(`agrees exactly on isHolder() and holderStatus() for ${TARGETS} targets from /8 to /32`, async function () {
      const { random, reference } = scenario;
      const cases = scenario.holdingCases(TARGETS, () => truncate(scenario.randomAddress(), 96 + 8 + random.int(25)));
      const { held, notHeld } = await scenario.checkHolding(cases);
      expect(held).to.be.at.least(TARGETS * 0.2);
      expect(notHeld).to.be.at.least(TARGETS * 0.2);
      // Some targets are held by the account of their covering prefix, but not in full.
      const partly = cases.filter(
        (c) => reference.holderOf(c.prefix) === c.account && !reference.holdsAll(c.account, c.prefix),
      );
      expect(partly.length).to.be.at.least(TARGETS * 0.05);
    });

    it("agrees exactly on isHolder() and holderStatus() for every registered prefix, and its holder", async function () {
      const cases = scenario.reference.all().map((route) => ({ account: route.holder, prefix: route }));
      const { held, notHeld } = await scenario.checkHolding(cases);
      expect(held).to.be.at.least(1);
      expect(notHeld).to.be.at.least(1);
    });
  });

  describe("under churn in a small space, checked exhaustively", function () {
    // Every prefix of 10.0.0.0/24 (/24 to /32) and the IPv6 prefixes /0 to /3, which contain the
    // IPv4 space: nesting from ::/0 down to /32s, so that every shape of the tree occurs (branch
    // nodes made, registered, split and spliced out; the root registered and revoked).
    const base = parsePrefix("10.0.0.0/24");
    const space: Prefix[] = [];
    for (let length = 0; length <= 3; length++) {
      for (let i = 0n; i < 1n << BigInt(length); i++) space.push({ network: i << BigInt(MAX_LENGTH - length), length });
    }
    for (let extra = 0; extra <= 8; extra++) {
      for (let i = 0n; i < 1n << BigInt(extra); i++) {
        space.push({ network: base.network | (i << BigInt(8 - extra)), length: base.length + extra });
      }
    }
    const STEPS = 160;
    const CHECK_EVERY = 40;

    it(`agrees with the reference on every prefix of the space and every account after each of ${STEPS / CHECK_EVERY} bursts of churn`, async function () {
      const random = new Random(SEED ^ 0xc4a2);
      const foundation = await loadFixture(deployWithParticipants);
      const { registry, registrar1, alice, bob, carol, outsider } = foundation;
      const holders = [alice, bob, carol];
      const reference = new ReferenceRegistry();
      const done = { allocated: 0, delegated: 0, revoked: 0, rootRegistered: 0 };
      for (let step = 1; step <= STEPS; step++) {
        const roll = random.next() / 2 ** 32;
        const registered = reference.all();
        if (roll < 0.3 && registered.length > 0) {
          const route = random.pick(registered);
          reference.revoke(route);
          await registry.connect(registrar1).revoke(route.network, route.length);
          done.revoked++;
        } else {
          // ::/0 itself every 50 steps, when free: the root of the tree registered, then revoked.
          const root = space[0];
          const prefix =
            step % 50 === 5 && reference.get(root) === undefined
              ? root
              : random.pick(space.filter((p) => reference.get(p) === undefined));
          const to = random.pick(holders);
          const parent = reference.covering(prefix);
          if (parent !== undefined && roll < 0.65) {
            reference.delegate(prefix, parent.holder, to.address, 64500);
            const from = holders.find((h) => h.address === parent.holder)!;
            await registry.connect(from).delegate(prefix.network, prefix.length, to.address, 64500);
            done.delegated++;
          } else {
            reference.allocate(prefix, to.address, 64500);
            await registry.connect(registrar1).allocate(prefix.network, prefix.length, to.address, 64500);
            done.allocated++;
          }
          if (prefix.length === 0) done.rootRegistered++;
        }
        if (step % CHECK_EVERY !== 0) continue;
        const accounts = [...holders.map((h) => h.address), outsider.address];
        const cases = space.flatMap((prefix) => accounts.map((account) => ({ account, prefix })));
        const actual = await inChunks(cases, ({ account, prefix }) =>
          registry.isHolder(account, prefix.network, prefix.length),
        );
        const wrong = cases.filter((c, i) => actual[i] !== reference.holdsAll(c.account, c.prefix));
        expect(
          wrong.map((c) => `${formatPrefix(c.prefix)} for ${c.account}`),
          `after step ${step}, seed ${SEED}`,
        ).to.deep.equal([]);
        expect(await registry.prefixCount()).to.equal(BigInt(reference.size));
      }
      expect(done.revoked).to.be.at.least(20);
      expect(done.delegated).to.be.at.least(20);
      expect(done.rootRegistered).to.be.at.least(1);
    });
  });
});

/**
 * Adversarial tests: what an attacker (or a careless counterpart) tries, end to end, and what the
 * contracts answer. Each attempt reverts with its named custom error and moves nothing. Cases the
 * unit tests already prove (double acknowledgement, acknowledgement after the deadline, reclaim
 * after acknowledgement, host bits, a /16 with a /24 delegated away, …) are not repeated here;
 * docs/security.md lists where each is proved.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { invariantsAfterEach } from "../helpers/invariants";
import {
  ASN,
  DEFAULT_SOURCES,
  PREFIX,
  RequestStatus,
  deployMarket,
  ipPrefix,
  openRequest,
  prefixArgs,
  priceOf,
  requestIdOf,
  requestParams,
  signPermit,
} from "../helpers/marketFixtures";
import type { RequestParamsStruct } from "../helpers/marketFixtures";
import type { PrefixRegistry, ProviderServiceContract, ReentrantToken, ServiceDirectory } from "../../typechain-types";

const HOUR = 3600;
const DAY = 24 * HOUR;
const MAX_UINT96 = (1n << 96n) - 1n;
const MAX_UINT40 = (1n << 40n) - 1n;
const MAX_UINT32 = 2 ** 32 - 1;
const MAX_UINT128 = (1n << 128n) - 1n;
const TARGET_INDEX = ethers.MaxUint256;

/** The token balances of `accounts`, to compare before and after an attempt. */
async function balancesOf(token: { balanceOf(a: string): Promise<bigint> }, accounts: string[]): Promise<bigint[]> {
  return Promise.all(accounts.map((a) => token.balanceOf(a)));
}

/**
 * A permit deadline ten minutes after the next block. A fixture restored long after it was taken
 * has its latest block far behind the wall clock, which the next block's time follows: a
 * deadline counted from the latest block alone can already have passed (a slow CI run did that).
 */
async function permitDeadline(): Promise<bigint> {
  return BigInt(Math.max(await time.latest(), Math.floor(Date.now() / 1000))) + 600n;
}

describe("Hardening: adversarial", function () {
  const load = invariantsAfterEach();

  // --- one prefix, two spellings ----------------------------------------------------------

  describe("when an attacker writes a foreign IPv4 prefix in its IPv4-mapped IPv6 form", function () {
    /** victim2 holds 198.51.100.0/24; "::ffff:198.51.100.0/120" is the same prefix. */
    const MAPPED = "::ffff:198.51.100.0/120";
    const MAPPED_HALF = "::ffff:198.51.100.128/121";
    /** The IPv4-compatible spelling (deprecated, RFC 4291 §2.5.5.1) is another prefix entirely. */
    const COMPATIBLE = "::198.51.100.0/120";

    it("parses both spellings to one on-chain prefix", function () {
      expect(ipPrefix(MAPPED)).to.deep.equal(ipPrefix(PREFIX.victim2V4));
      expect(ipPrefix(COMPATIBLE)).to.not.deep.equal(ipPrefix(PREFIX.victim2V4));
    });

    it("cannot register it a second time", async function () {
      const { registry, registrar1, victim, victim2 } = await load(deployMarket);
      const mapped = ipPrefix(MAPPED);
      await expect(registry.connect(registrar1).allocate(mapped.network, mapped.prefixLength, victim, ASN.victim))
        .to.be.revertedWithCustomError(registry, "PrefixRegistryPrefixAlreadyRegistered")
        .withArgs(...prefixArgs(PREFIX.victim2V4), victim2.address);
    });

    it("cannot delegate out of it", async function () {
      const { registry, victim, victim2 } = await load(deployMarket);
      const half = ipPrefix(MAPPED_HALF);
      await expect(registry.connect(victim).delegate(half.network, half.prefixLength, victim, ASN.victim))
        .to.be.revertedWithCustomError(registry, "PrefixRegistryNotHolder")
        .withArgs(victim.address, ...prefixArgs(MAPPED_HALF), victim2.address);
    });

    it("cannot buy mitigation for it, directly or through the directory, and nothing moves", async function () {
      const { token, directory, service1, victim, victim2 } = await load(deployMarket);
      const params = await requestParams(service1, { target: MAPPED });
      const price = await priceOf(service1, params);
      await token.connect(victim).approve(await service1.getAddress(), price);
      await token.connect(victim).approve(await directory.getAddress(), price);
      const watched = [victim.address, await service1.getAddress()];
      const before = await balancesOf(token, watched);

      await expect(service1.connect(victim).request(params))
        .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
        .withArgs(victim.address, ...prefixArgs(PREFIX.victim2V4), victim2.address);
      await expect(directory.connect(victim).requestMany([{ service: await service1.getAddress(), params }]))
        .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
        .withArgs(victim.address, ...prefixArgs(PREFIX.victim2V4), victim2.address);
      for (const host of ["::ffff:198.51.100.77/128", "198.51.100.77/32"]) {
        await expect(service1.connect(victim).request(await requestParams(service1, { target: host })))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
          .withArgs(victim.address, ...prefixArgs(host), victim2.address);
      }
      expect(await balancesOf(token, watched)).to.deep.equal(before);
      expect(await service1.requestCount()).to.equal(0n);
    });

    it("gains nothing from holding the IPv4-compatible spelling, which is another prefix", async function () {
      const { registry, registrar1, service1, token, victim, victim2 } = await load(deployMarket);
      const compatible = ipPrefix(COMPATIBLE);
      await registry.connect(registrar1).allocate(compatible.network, compatible.prefixLength, victim, ASN.victim);
      await token.connect(victim).approve(await service1.getAddress(), ethers.MaxUint256);
      await expect(service1.connect(victim).request(await requestParams(service1, { target: PREFIX.victim2V4 })))
        .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
        .withArgs(victim.address, ...prefixArgs(PREFIX.victim2V4), victim2.address);
      // Its own (IPv6) prefix it may protect: a request is about exactly the prefix named.
      await expect(service1.connect(victim).request(await requestParams(service1, { target: COMPATIBLE }))).to.emit(
        service1,
        "MitigationRequested",
      );
      await token.connect(victim).approve(await service1.getAddress(), 0n);
    });

    it("is accepted from the holder in either spelling, as the one prefix", async function () {
      const { service1, token, victim2 } = await load(deployMarket);
      const params = await requestParams(service1, { target: MAPPED });
      await token.connect(victim2).approve(await service1.getAddress(), await priceOf(service1, params));
      await expect(service1.connect(victim2).request(params))
        .to.emit(service1, "MitigationRequested")
        .withArgs(
          requestIdOf(victim2.address, 1),
          victim2.address,
          0n,
          prefixArgs(PREFIX.victim2V4),
          DEFAULT_SOURCES.map(prefixArgs),
          HOUR,
          await priceOf(service1, params),
          params.ackDeadline,
        );
    });
  });

  // --- holding all of a target ------------------------------------------------------------

  describe("when a target contains more-specific prefixes", function () {
    /** victim holds 198.18.0.0/15 and delegated 2001:db8:1000:4000::/50 inside its /36 to victim2. */
    async function deployNested() {
      const market = await deployMarket();
      const { registry, registrar2, victim, victim2 } = market;
      const block = ipPrefix("198.18.0.0/15");
      await registry.connect(registrar2).allocate(block.network, block.prefixLength, victim, ASN.victim);
      const v6 = ipPrefix("2001:db8:1000:4000::/50");
      await registry.connect(victim).delegate(v6.network, v6.prefixLength, victim2, ASN.victim2);
      await market.token.connect(victim).approve(await market.service1.getAddress(), ethers.MaxUint256);
      return market;
    }

    it("refuses an IPv6 target with a foreign prefix inside (ProviderServiceTargetNotWhollyHeld)", async function () {
      const { service1, victim } = await load(deployNested);
      for (const target of [PREFIX.victimV6, "2001:db8:1000::/48", "2001:db8:1000::/49"]) {
        await expect(service1.connect(victim).request(await requestParams(service1, { target })))
          .to.be.revertedWithCustomError(service1, "ProviderServiceTargetNotWhollyHeld")
          .withArgs(victim.address, ...prefixArgs(target));
      }
      // The half without the delegation is wholly the victim's.
      await expect(
        service1.connect(victim).request(await requestParams(service1, { target: "2001:db8:1000::/50" })),
      ).to.emit(service1, "MitigationRequested");
    });

    it("sells a broad target whose sub-prefixes are all the victim's own, however many lengths are in use", async function () {
      const { registry, service1, victim } = await load(deployNested);
      // victim delegates a /24 and a /32 of its /15 to itself: still all its own.
      for (const text of ["198.18.9.0/24", "198.19.0.7/32"]) {
        const own = ipPrefix(text);
        await registry.connect(victim).delegate(own.network, own.prefixLength, victim, ASN.victim);
      }
      expect(await registry.isHolder(victim, ...prefixArgs("198.18.0.0/15"))).to.equal(true);
      await expect(
        service1.connect(victim).request(await requestParams(service1, { target: "198.18.0.0/15" })),
      ).to.emit(service1, "MitigationRequested");
    });
  });

  // --- suspension -------------------------------------------------------------------------

  describe("when a participant is suspended", function () {
    async function deployWithPending() {
      const market = await deployMarket();
      const { id, price, params } = await openRequest(market.service1, market.victim, market.token);
      await market.token.connect(market.victim).approve(await market.directory.getAddress(), ethers.MaxUint256);
      await market.token.connect(market.victim).approve(await market.service1.getAddress(), ethers.MaxUint256);
      return { ...market, id, price, params };
    }

    it("a suspended requester can neither request nor batch-request, and keeps every refund", async function () {
      const { registry, registrar1, directory, service1, service2, token, victim, provider1, id, price } =
        await load(deployWithPending);
      await registry.connect(registrar1).suspendParticipant(victim);
      const watched = [victim.address, await service1.getAddress(), await service2.getAddress()];
      const before = await balancesOf(token, watched);

      await expect(service1.connect(victim).request(await requestParams(service1)))
        .to.be.revertedWithCustomError(service1, "ProviderServiceInactiveParticipant")
        .withArgs(victim.address);
      const batch = [
        { service: await service1.getAddress(), params: await requestParams(service1) },
        { service: await service2.getAddress(), params: await requestParams(service2) },
      ];
      await expect(directory.connect(victim).requestMany(batch))
        .to.be.revertedWithCustomError(service1, "ProviderServiceInactiveParticipant")
        .withArgs(victim.address);
      expect(await balancesOf(token, watched)).to.deep.equal(before);

      // Escrow is never stuck behind a suspension: the provider may reject, the victim reclaim.
      await expect(service1.connect(provider1).reject(id, 2)).to.changeTokenBalances(
        token,
        [victim, service1],
        [price, -price],
      );
    });

    it("a suspended requester still reclaims an unanswered escrow after the deadline", async function () {
      const { registry, registrar1, service1, token, victim, id, price, params } = await load(deployWithPending);
      await registry.connect(registrar1).suspendParticipant(victim);
      await time.increaseTo(BigInt(params.ackDeadline) + 1n);
      await expect(service1.connect(victim).reclaim(id)).to.changeTokenBalances(
        token,
        [victim, service1],
        [price, -price],
      );
    });

    it("a suspended provider is neither bought from nor paid, and the victim gets its escrow back", async function () {
      const { registry, registrar1, directory, service1, service2, token, victim, provider1, id, price, params } =
        await load(deployWithPending);
      await registry.connect(registrar1).suspendParticipant(provider1);
      const watched = [victim.address, provider1.address, await service1.getAddress(), await service2.getAddress()];
      const before = await balancesOf(token, watched);

      await expect(service1.connect(provider1).acknowledge(id))
        .to.be.revertedWithCustomError(service1, "ProviderServiceInactiveParticipant")
        .withArgs(provider1.address);
      await expect(service1.connect(provider1).acknowledgeBatch([id]))
        .to.be.revertedWithCustomError(service1, "ProviderServiceInactiveParticipant")
        .withArgs(provider1.address);
      await expect(service1.connect(victim).request(await requestParams(service1)))
        .to.be.revertedWithCustomError(service1, "ProviderServiceInactiveParticipant")
        .withArgs(provider1.address);
      // One suspended provider in a batch reverts the whole batch.
      const batch = [
        { service: await service2.getAddress(), params: await requestParams(service2) },
        { service: await service1.getAddress(), params: await requestParams(service1) },
      ];
      await expect(directory.connect(victim).requestMany(batch))
        .to.be.revertedWithCustomError(service1, "ProviderServiceInactiveParticipant")
        .withArgs(provider1.address);
      // Nor can it cover AS numbers meanwhile.
      await expect(directory.connect(provider1).addCoverage([ASN.provider1]))
        .to.be.revertedWithCustomError(directory, "ServiceDirectoryInactiveParticipant")
        .withArgs(provider1.address);
      expect(await balancesOf(token, watched)).to.deep.equal(before);
      expect(await service2.requestCount()).to.equal(0n);

      await time.increaseTo(BigInt(params.ackDeadline) + 1n);
      await expect(service1.connect(victim).reclaim(id)).to.changeTokenBalances(
        token,
        [victim, service1],
        [price, -price],
      );
    });
  });

  describe("when the requester's standing changes between request and acknowledgement (a documented residual risk)", function () {
    it("lets the provider still acknowledge: ownership and status are checked at request time only", async function () {
      const { registry, registrar1, service1, token, victim, provider1 } = await load(deployMarket);
      const first = await openRequest(service1, victim, token);
      const second = await openRequest(service1, victim, token);
      // The target is taken back and the requester suspended after it paid the escrow. The
      // contract stores one slot per request (no target) and cannot re-check within the gas
      // targets; the provider agent re-verifies with registry.holderStatus before acknowledging.
      const target = ipPrefix(PREFIX.victimV4);
      await registry.connect(registrar1).revoke(target.network, target.prefixLength);
      await registry.connect(registrar1).suspendParticipant(victim);
      expect(await registry.holderStatus(victim, target.network, target.prefixLength)).to.deep.equal([2n, false]);
      await expect(service1.connect(provider1).acknowledge(first.id)).to.changeTokenBalances(
        token,
        [provider1, service1],
        [first.price, -first.price],
      );
      // What a careful provider does instead: reject, and the victim is refunded.
      await expect(service1.connect(provider1).reject(second.id, 3)).to.changeTokenBalances(
        token,
        [victim, service1],
        [second.price, -second.price],
      );
    });
  });

  // --- prices and permits -----------------------------------------------------------------

  describe("when the provider raises the price between the victim's signature and its inclusion", function () {
    async function deploySigned() {
      const market = await deployMarket();
      const { token, service1, victim } = market;
      const params = await requestParams(service1);
      const quoted = await priceOf(service1, params);
      const deadline = await permitDeadline();
      const signature = await signPermit(token, victim, await service1.getAddress(), quoted, deadline);
      return { ...market, params, quoted, deadline, signature };
    }

    it("holds the victim's maximum: the signed request and its permit revert, and can be replayed later", async function () {
      const { service1, token, victim, provider1, params, quoted, deadline, signature } = await load(deploySigned);
      const { v, r, s } = signature;
      // The front-running update.
      await service1.connect(provider1).updateOffering(0, ethers.parseEther("11"), DAY, 10);
      const raised = await priceOf(service1, params);
      const watched = [victim.address, await service1.getAddress()];
      const before = await balancesOf(token, watched);

      await expect(service1.connect(victim).requestWithPermit(params, quoted, deadline, v, r, s))
        .to.be.revertedWithCustomError(service1, "ProviderServicePriceAboveMaximum")
        .withArgs(raised, quoted);
      expect(await balancesOf(token, watched)).to.deep.equal(before);
      // The permit went down with the transaction: no allowance, the nonce unused.
      expect(await token.allowance(victim, await service1.getAddress())).to.equal(0n);
      expect(await token.nonces(victim)).to.equal(0n);

      // Back at the quoted price, the very same signed transaction goes through.
      await service1.connect(provider1).updateOffering(0, ethers.parseEther("10"), DAY, 10);
      await expect(
        service1.connect(victim).requestWithPermit(params, quoted, deadline, v, r, s),
      ).to.changeTokenBalances(token, [victim, service1], [-quoted, quoted]);
    });

    it("holds each maximum of a batch: one raised price reverts the whole batch", async function () {
      const { directory, service1, service2, token, victim, provider2 } = await load(deployMarket);
      const batch: { service: string; params: RequestParamsStruct }[] = [
        { service: await service1.getAddress(), params: await requestParams(service1) },
        { service: await service2.getAddress(), params: await requestParams(service2) },
      ];
      const total = (await priceOf(service1, batch[0].params)) + (await priceOf(service2, batch[1].params));
      await token.connect(victim).approve(await directory.getAddress(), total);
      await service2.connect(provider2).updateOffering(0, ethers.parseEther("13"), 12 * HOUR, 5);
      const before = await balancesOf(token, [victim.address, batch[0].service, batch[1].service]);
      await expect(directory.connect(victim).requestMany(batch))
        .to.be.revertedWithCustomError(service2, "ProviderServicePriceAboveMaximum")
        .withArgs(await priceOf(service2, batch[1].params), batch[1].params.maxPrice);
      expect(await balancesOf(token, [victim.address, batch[0].service, batch[1].service])).to.deep.equal(before);
      expect(await service1.requestCount()).to.equal(0n);
      await token.connect(victim).approve(await directory.getAddress(), 0n);
    });
  });

  describe("when a permit is replayed", function () {
    it("pays for one request only, at the service it names", async function () {
      const { service1, service2, token, victim } = await load(deployMarket);
      const params = await requestParams(service1);
      const price = await priceOf(service1, params);
      const deadline = await permitDeadline();
      const { v, r, s } = await signPermit(token, victim, await service1.getAddress(), price, deadline);

      // Presented to another service, it approves nothing.
      const params2 = await requestParams(service2);
      await expect(service2.connect(victim).requestWithPermit(params2, price, deadline, v, r, s))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(await service2.getAddress(), 0n, await priceOf(service2, params2));

      await service1.connect(victim).requestWithPermit(params, price, deadline, v, r, s);
      const before = await balancesOf(token, [victim.address, await service1.getAddress()]);
      // Replayed for a second request: the nonce has moved on, and there is no allowance left.
      await expect(service1.connect(victim).requestWithPermit(params, price, deadline, v, r, s))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(await service1.getAddress(), 0n, price);
      expect(await balancesOf(token, [victim.address, await service1.getAddress()])).to.deep.equal(before);
      expect(await service1.requestCount()).to.equal(1n);
    });

    it("pays for one batch only through the directory", async function () {
      const { directory, service1, token, victim } = await load(deployMarket);
      const batch = [{ service: await service1.getAddress(), params: await requestParams(service1) }];
      const total = await priceOf(service1, batch[0].params);
      const deadline = await permitDeadline();
      const { v, r, s } = await signPermit(token, victim, await directory.getAddress(), total, deadline);
      await directory.connect(victim).requestManyWithPermit(batch, total, deadline, v, r, s);
      await expect(directory.connect(victim).requestManyWithPermit(batch, total, deadline, v, r, s))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(await directory.getAddress(), 0n, total);
      expect(await service1.requestCount()).to.equal(1n);
    });
  });

  // --- type limits ------------------------------------------------------------------------

  describe("at the limits of the types", function () {
    it("escrows and pays the largest price a request carries, type(uint96).max", async function () {
      const { service1, token, minter, victim, provider1 } = await load(deployMarket);
      await service1.connect(provider1).updateOffering(0, MAX_UINT96, DAY, 10);
      expect(await service1.quote(0, HOUR)).to.equal(MAX_UINT96);
      await token.connect(minter).mint(victim, MAX_UINT96);
      const { id } = await openRequest(service1, victim, token, { maxPrice: MAX_UINT96 });
      expect(await token.balanceOf(await service1.getAddress())).to.equal(MAX_UINT96);
      await expect(service1.connect(provider1).acknowledge(id)).to.changeTokenBalances(
        token,
        [provider1, service1],
        [MAX_UINT96, -MAX_UINT96],
      );
    });

    it("refuses a price above type(uint96).max with ProviderServicePriceAboveMaximum, whatever the maximum", async function () {
      const { service1, provider1, victim } = await load(deployMarket);
      await service1.connect(provider1).updateOffering(0, MAX_UINT96, DAY, 10);
      const price = (MAX_UINT96 * BigInt(HOUR + 1) + 3599n) / 3600n;
      expect(await service1.quote(0, HOUR + 1)).to.equal(price);
      await expect(
        service1.connect(victim).request(await requestParams(service1, { duration: HOUR + 1, maxPrice: MAX_UINT96 })),
      )
        .to.be.revertedWithCustomError(service1, "ProviderServicePriceAboveMaximum")
        .withArgs(price, MAX_UINT96);
    });

    it("runs a mitigation of type(uint32).max seconds without overflowing its end", async function () {
      const { service1, token, victim, provider1 } = await load(deployMarket);
      await service1.connect(provider1).addOffering(0, 1n, MAX_UINT32, MAX_UINT32);
      const { id, price } = await openRequest(service1, victim, token, { offeringId: 2, duration: MAX_UINT32 });
      expect(price).to.equal((BigInt(MAX_UINT32) + 3599n) / 3600n);
      await service1.connect(provider1).acknowledge(id);
      const r = await service1.getRequest(id);
      expect(r.endsAt - r.startedAt).to.equal(BigInt(MAX_UINT32));
      await time.increase(DAY);
      await expect(service1.connect(victim).withdraw(id)).to.emit(service1, "MitigationWithdrawn");
      expect((await service1.getRequest(id)).status).to.equal(BigInt(RequestStatus.Withdrawn));
    });

    it("refuses the extreme deadlines, offering ids and prefix lengths with their errors", async function () {
      const { service1, victim } = await load(deployMarket);
      const latest = BigInt(await time.latest());
      // The window is [now + 1, now + 1 day] at the block the attempt runs in, a little after
      // `latest` (more under solidity-coverage, where the clock runs on while the EVM is slow).
      const earliest = (e: bigint) => e > latest && e <= latest + BigInt(HOUR);
      const last = (l: bigint) => l > latest + BigInt(DAY) && l <= latest + BigInt(DAY + HOUR);
      await expect(service1.connect(victim).request(await requestParams(service1, { ackDeadline: Number(MAX_UINT40) })))
        .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidDeadline")
        .withArgs(MAX_UINT40, earliest, last);
      await expect(service1.connect(victim).request(await requestParams(service1, { ackDeadline: 0 })))
        .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidDeadline")
        .withArgs(0n, earliest, last);
      await expect(
        service1.connect(victim).request(await requestParams(service1, { offeringId: MAX_UINT32, maxPrice: 0n })),
      )
        .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownOffering")
        .withArgs(MAX_UINT32);
      await expect(
        service1.connect(victim).request(await requestParams(service1, { duration: MAX_UINT32, maxPrice: MAX_UINT96 })),
      )
        .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidDuration")
        .withArgs(MAX_UINT32, DAY);
      await expect(
        service1
          .connect(victim)
          .request(await requestParams(service1, { target: { network: MAX_UINT128, prefixLength: 255 } })),
      )
        .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidPrefix")
        .withArgs(TARGET_INDEX, MAX_UINT128, 255);
      // The last address of the space is a valid host; no one holds it.
      await expect(
        service1
          .connect(victim)
          .request(await requestParams(service1, { target: { network: MAX_UINT128, prefixLength: 128 } })),
      )
        .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
        .withArgs(victim.address, MAX_UINT128, 128, ethers.ZeroAddress);
    });

    it("answers ProviderServiceUnknownRequest for ids at the ends of their range", async function () {
      const { service1, victim, provider1 } = await load(deployMarket);
      const lastOfVictim = requestIdOf(victim.address, (1n << 64n) - 1n);
      for (const id of [0n, lastOfVictim, ethers.MaxUint256]) {
        await expect(service1.connect(provider1).acknowledge(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownRequest")
          .withArgs(id);
        await expect(service1.connect(victim).withdraw(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownRequest")
          .withArgs(id);
      }
    });
  });

  // --- re-entrancy ------------------------------------------------------------------------

  describe("when the token re-enters the market (a directory deployed with a hostile token)", function () {
    interface Hostile {
      token: ReentrantToken;
      registry: PrefixRegistry;
      directory: ServiceDirectory;
      /** An honest provider's service, and the hostile token's own service (it is a provider too). */
      service: ProviderServiceContract;
      hostileService: ProviderServiceContract;
      provider: HardhatEthersSigner;
      victim: HardhatEthersSigner;
      hostile: string;
    }

    /** Registry and directory on a ReentrantToken that is also a participant holding 192.0.2.0/24. */
    async function deployHostile(): Promise<Hostile> {
      const [admin, registrar, provider, victim] = await ethers.getSigners();
      const token = await ethers.deployContract("ReentrantToken");
      const registry = await ethers.deployContract("PrefixRegistry", [admin, [registrar]]);
      const directory = await ethers.deployContract("ServiceDirectory", [token, registry]);
      const hostile = await token.getAddress();
      for (const [account, name] of [
        [provider.address, "Honest Provider"],
        [victim.address, "Honest Victim"],
        [hostile, "Hostile Token Networks"],
      ]) {
        await registry.connect(registrar).registerParticipant(account, name, "");
      }
      const held = ipPrefix(PREFIX.victimV4);
      await registry.connect(registrar).allocate(held.network, held.prefixLength, hostile, ASN.victim);
      const v6 = ipPrefix(PREFIX.victimV6);
      await registry.connect(registrar).allocate(v6.network, v6.prefixLength, victim, ASN.victim2);

      await directory.connect(provider).createService();
      const service = await ethers.getContractAt("ProviderServiceContract", await directory.serviceOf(provider));
      await service.connect(provider).addOffering(0, ethers.parseEther("10"), DAY, 10);
      await token.execute(directory, directory.interface.encodeFunctionData("createService"));
      const hostileService = await ethers.getContractAt("ProviderServiceContract", await directory.serviceOf(hostile));
      await token.execute(
        hostileService,
        hostileService.interface.encodeFunctionData("addOffering", [0, ethers.parseEther("10"), DAY, 10]),
      );

      await token.mint(hostile, ethers.parseEther("1000"));
      await token.mint(victim, ethers.parseEther("1000"));
      for (const spender of [service, hostileService, directory]) {
        await token.execute(
          token,
          token.interface.encodeFunctionData("approve", [await spender.getAddress(), ethers.MaxUint256]),
        );
        await token.connect(victim).approve(spender, ethers.MaxUint256);
      }
      return { token, registry, directory, service, hostileService, provider, victim, hostile };
    }

    async function params(service: ProviderServiceContract, target: string): Promise<RequestParamsStruct> {
      return requestParams(service, { target });
    }

    /** Every service holds exactly its pending escrows. */
    async function expectEscrowsBalanced(h: Hostile): Promise<void> {
      for (const service of [h.service, h.hostileService]) {
        let pending = 0n;
        const count = await service.requestCount();
        for (let n = 1n; n <= count; n++) {
          for (const requester of [h.hostile, h.victim.address]) {
            const id = requestIdOf(requester, n);
            const r = await service.getRequest(id).catch(() => undefined);
            if (r !== undefined && r.status === BigInt(RequestStatus.Pending)) pending += r.price;
          }
        }
        expect(await h.token.balanceOf(service), "service balance vs pending escrows").to.equal(pending);
      }
    }

    it("cannot open a second request from inside the escrow transfer of the first", async function () {
      const h = await loadFixture(deployHostile);
      const p = await params(h.service, PREFIX.victimV4);
      const call = h.service.interface.encodeFunctionData("request", [p]);
      await h.token.arm(h.service, call);
      const before = await balancesOf(h.token, [h.hostile, await h.service.getAddress()]);
      await expect(h.token.execute(h.service, call)).to.be.revertedWithCustomError(
        h.service,
        "ReentrancyGuardReentrantCall",
      );
      expect(await balancesOf(h.token, [h.hostile, await h.service.getAddress()])).to.deep.equal(before);
      expect(await h.service.requestCount()).to.equal(0n);
      await expectEscrowsBalanced(h);
    });

    it("cannot reclaim a refund a second time from inside a rejection's refund", async function () {
      const h = await loadFixture(deployHostile);
      const p = await params(h.service, PREFIX.victimV4);
      await h.token.execute(h.service, h.service.interface.encodeFunctionData("request", [p]));
      const id = requestIdOf(h.hostile, 1);
      await h.token.arm(h.service, h.service.interface.encodeFunctionData("reclaim", [id]));
      const before = await balancesOf(h.token, [h.hostile, await h.service.getAddress()]);
      await expect(h.service.connect(h.provider).reject(id, 0)).to.be.revertedWithCustomError(
        h.service,
        "ReentrancyGuardReentrantCall",
      );
      expect(await balancesOf(h.token, [h.hostile, await h.service.getAddress()])).to.deep.equal(before);
      expect((await h.service.getRequest(id)).status).to.equal(BigInt(RequestStatus.Pending));
      await expectEscrowsBalanced(h);
    });

    it("cannot be paid twice, or refund the victim, from inside its own payout", async function () {
      const h = await loadFixture(deployHostile);
      // The honest victim buys from the hostile provider.
      const p = await params(h.hostileService, PREFIX.victimV6);
      await h.hostileService.connect(h.victim).request(p);
      const id = requestIdOf(h.victim.address, 1);
      const watched = [h.hostile, h.victim.address, await h.hostileService.getAddress()];
      const before = await balancesOf(h.token, watched);
      for (const reentry of [
        h.hostileService.interface.encodeFunctionData("acknowledge", [id]),
        h.hostileService.interface.encodeFunctionData("reject", [id, 0]),
        h.hostileService.interface.encodeFunctionData("acknowledgeBatch", [[id]]),
      ]) {
        await h.token.arm(h.hostileService, reentry);
        await expect(
          h.token.execute(h.hostileService, h.hostileService.interface.encodeFunctionData("acknowledge", [id])),
        ).to.be.revertedWithCustomError(h.hostileService, "ReentrancyGuardReentrantCall");
        expect(await balancesOf(h.token, watched)).to.deep.equal(before);
      }
      await expectEscrowsBalanced(h);
    });

    it("cannot reclaim twice from inside a reclaim's refund", async function () {
      const h = await loadFixture(deployHostile);
      const p = await params(h.service, PREFIX.victimV4);
      await h.token.execute(h.service, h.service.interface.encodeFunctionData("request", [p]));
      const id = requestIdOf(h.hostile, 1);
      await time.increaseTo(BigInt(p.ackDeadline) + 1n);
      const reclaim = h.service.interface.encodeFunctionData("reclaim", [id]);
      await h.token.arm(h.service, reclaim);
      await expect(h.token.execute(h.service, reclaim)).to.be.revertedWithCustomError(
        h.service,
        "ReentrancyGuardReentrantCall",
      );
      await expectEscrowsBalanced(h);
    });

    it("funds every escrow when a batch re-enters the directory from inside its own transfer", async function () {
      const h = await loadFixture(deployHostile);
      const outer = [{ service: await h.service.getAddress(), params: await params(h.service, PREFIX.victimV4) }];
      const inner = [{ service: await h.service.getAddress(), params: await params(h.service, "192.0.2.0/25") }];
      await h.token.arm(h.directory, h.directory.interface.encodeFunctionData("requestMany", [inner]));
      const price = await priceOf(h.service, outer[0].params);
      // The directory holds no guard of its own: the nested batch is a second, fully paid request
      // by the same requester, which it could have sent anyway. Nothing is left unfunded.
      await expect(
        h.token.execute(h.directory, h.directory.interface.encodeFunctionData("requestMany", [outer])),
      ).to.changeTokenBalances(h.token, [h.hostile, await h.service.getAddress()], [-2n * price, 2n * price]);
      expect(await h.token.reentries()).to.equal(1n);
      expect(await h.service.requestCount()).to.equal(2n);
      expect(await h.token.balanceOf(h.directory)).to.equal(0n);
      await expectEscrowsBalanced(h);
    });
  });
});

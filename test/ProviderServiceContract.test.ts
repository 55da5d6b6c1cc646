import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";

import { invariantsAfterEach } from "./helpers/invariants";
import {
  ASN,
  DEFAULT_SOURCES,
  MitigationKind,
  OFFERINGS,
  PREFIX,
  RequestStatus,
  AckSkip,
  deployMarket,
  ipPrefix,
  openRequest,
  prefixArgs,
  priceOf,
  requestIdOf,
  requestParams,
  signPermit,
} from "./helpers/marketFixtures";
import type { Market, RequestOverrides } from "./helpers/marketFixtures";

const HOUR = 3600;
const DAY = 24 * HOUR;
const MAX_UINT96 = (1n << 96n) - 1n;
const MAX_UINT32 = (1n << 32n) - 1n;
const TARGET_INDEX = ethers.MaxUint256;

/** ceil(pricePerHour * duration / 3600), the price rule of IProviderServiceContract.Offering. */
function expectedPrice(pricePerHour: bigint, duration: bigint | number): bigint {
  return (pricePerHour * BigInt(duration) + 3599n) / 3600n;
}

describe("ProviderServiceContract", function () {
  const load = invariantsAfterEach();

  /** The market with one pending request of victim to service1 (its first, default parameters). */
  async function deployWithPendingRequest() {
    const market = await deployMarket();
    const { id, price, params } = await openRequest(market.service1, market.victim, market.token);
    return { ...market, id, price, params };
  }

  /** The market with the first request of victim to service1 acknowledged. */
  async function deployWithAcknowledgedRequest() {
    const scene = await deployWithPendingRequest();
    await scene.service1.connect(scene.provider1).acknowledge(scene.id);
    const { startedAt, endsAt } = await scene.service1.getRequest(scene.id);
    return { ...scene, startedAt, endsAt };
  }

  // --- offerings --------------------------------------------------------------------------

  describe("#addOffering", function () {
    describe("when the provider adds an offering", function () {
      it("stores it active under the next id and emits OfferingAdded", async function () {
        const { service1 } = await load(deployMarket);
        const price = ethers.parseEther("5");
        expect(await service1.addOffering.staticCall(MitigationKind.Scrubbing, price, HOUR, 3)).to.equal(2n);
        await expect(service1.addOffering(MitigationKind.Scrubbing, price, HOUR, 3))
          .to.emit(service1, "OfferingAdded")
          .withArgs(2n, MitigationKind.Scrubbing, price, HOUR, 3);
        expect(await service1.offeringCount()).to.equal(3n);
        const o = await service1.offering(2);
        expect([o.pricePerHour, o.maxDuration, o.capacity, o.kind, o.active]).to.deep.equal([
          price,
          BigInt(HOUR),
          3n,
          BigInt(MitigationKind.Scrubbing),
          true,
        ]);
      });

      it("holds the fixture's offerings", async function () {
        const { service1, service2, service3 } = await load(deployMarket);
        const expected = [
          [service1, OFFERINGS.service1],
          [service2, OFFERINGS.service2],
          [service3, OFFERINGS.service3],
        ] as const;
        for (const [service, offerings] of expected) {
          expect(await service.offeringCount()).to.equal(BigInt(offerings.length));
          for (const [id, o] of offerings.entries()) {
            const stored = await service.offering(id);
            expect(stored.pricePerHour).to.equal(o.pricePerHour);
            expect(stored.maxDuration).to.equal(BigInt(o.maxDuration));
            expect(stored.capacity).to.equal(BigInt(o.capacity));
            expect(stored.kind).to.equal(BigInt(o.kind));
            expect(stored.active).to.be.true;
          }
        }
      });
    });

    describe("when the caller is not the provider", function () {
      it("reverts with ProviderServiceNotProvider", async function () {
        const { service1, victim, provider2 } = await load(deployMarket);
        for (const caller of [victim, provider2]) {
          await expect(service1.connect(caller).addOffering(MitigationKind.Blackholing, 1n, HOUR, 1))
            .to.be.revertedWithCustomError(service1, "ProviderServiceNotProvider")
            .withArgs(caller.address);
        }
      });
    });

    describe("when the terms are out of range", function () {
      it("reverts with ProviderServiceInvalidOffering for a zero duration or capacity", async function () {
        const { service1 } = await load(deployMarket);
        await expect(service1.addOffering(MitigationKind.Scrubbing, 1n, 0, 5))
          .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidOffering")
          .withArgs(0, 5);
        await expect(service1.addOffering(MitigationKind.Scrubbing, 1n, HOUR, 0))
          .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidOffering")
          .withArgs(HOUR, 0);
      });
    });
  });

  describe("#updateOffering", function () {
    describe("when the provider changes the terms", function () {
      it("stores them and emits OfferingUpdated", async function () {
        const { service1 } = await load(deployMarket);
        const price = ethers.parseEther("11");
        await expect(service1.updateOffering(0, price, 2 * HOUR, 4))
          .to.emit(service1, "OfferingUpdated")
          .withArgs(0, price, 2 * HOUR, 4);
        const o = await service1.offering(0);
        expect([o.pricePerHour, o.maxDuration, o.capacity, o.kind, o.active]).to.deep.equal([
          price,
          BigInt(2 * HOUR),
          4n,
          BigInt(MitigationKind.FlowFiltering),
          true,
        ]);
      });

      it("keeps the price of requests already made", async function () {
        const { service1, token, provider1, id, price } = await load(deployWithPendingRequest);
        await service1.updateOffering(0, ethers.parseEther("1000"), DAY, 10);
        await expect(service1.acknowledge(id)).to.changeTokenBalances(token, [service1, provider1], [-price, price]);
        expect((await service1.getRequest(id)).price).to.equal(price);
      });
    });

    describe("when the offering does not exist", function () {
      it("reverts with ProviderServiceUnknownOffering", async function () {
        const { service1 } = await load(deployMarket);
        await expect(service1.updateOffering(2, 1n, HOUR, 1))
          .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownOffering")
          .withArgs(2);
      });
    });

    describe("when the terms are out of range", function () {
      it("reverts with ProviderServiceInvalidOffering", async function () {
        const { service1 } = await load(deployMarket);
        await expect(service1.updateOffering(0, 1n, 0, 0))
          .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidOffering")
          .withArgs(0, 0);
      });
    });

    describe("when the caller is not the provider", function () {
      it("reverts with ProviderServiceNotProvider", async function () {
        const { service1, victim } = await load(deployMarket);
        await expect(service1.connect(victim).updateOffering(0, 0n, HOUR, 1))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotProvider")
          .withArgs(victim.address);
      });
    });
  });

  describe("#setOfferingActive", function () {
    describe("when the provider deactivates and reactivates an offering", function () {
      it("stops and resumes requests for it", async function () {
        const { service1, token, victim } = await load(deployMarket);
        await expect(service1.setOfferingActive(0, false))
          .to.emit(service1, "OfferingActivationChanged")
          .withArgs(0, false);
        expect((await service1.offering(0)).active).to.be.false;
        const params = await requestParams(service1);
        await token.connect(victim).approve(await service1.getAddress(), await priceOf(service1, params));
        await expect(service1.connect(victim).request(params))
          .to.be.revertedWithCustomError(service1, "ProviderServiceOfferingInactive")
          .withArgs(0);

        await expect(service1.setOfferingActive(0, true))
          .to.emit(service1, "OfferingActivationChanged")
          .withArgs(0, true);
        await expect(service1.connect(victim).request(params)).to.emit(service1, "MitigationRequested");
      });
    });

    describe("when the offering does not exist", function () {
      it("reverts with ProviderServiceUnknownOffering", async function () {
        const { service1 } = await load(deployMarket);
        await expect(service1.setOfferingActive(7, false))
          .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownOffering")
          .withArgs(7);
      });
    });

    describe("when the caller is not the provider", function () {
      it("reverts with ProviderServiceNotProvider", async function () {
        const { service1, outsider } = await load(deployMarket);
        await expect(service1.connect(outsider).setOfferingActive(0, false))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotProvider")
          .withArgs(outsider.address);
      });
    });
  });

  describe("#offering", function () {
    it("reverts with ProviderServiceUnknownOffering for an unknown id", async function () {
      const { service2 } = await load(deployMarket);
      await expect(service2.offering(1))
        .to.be.revertedWithCustomError(service2, "ProviderServiceUnknownOffering")
        .withArgs(1);
    });
  });

  describe("#quote", function () {
    it("is pricePerHour × duration / 3600, rounded up", async function () {
      const { service1 } = await load(deployMarket);
      await service1.addOffering(MitigationKind.RateLimiting, 7n, DAY, 1);
      const id = 2;
      expect(await service1.quote(id, 1)).to.equal(1n);
      expect(await service1.quote(id, 1800)).to.equal(4n);
      expect(await service1.quote(id, 3600)).to.equal(7n);
      expect(await service1.quote(id, 3601)).to.equal(8n);
      expect(await service1.quote(id, 7200)).to.equal(14n);
      // 10 tokens an hour: half an hour is exact, one second is not.
      expect(await service1.quote(0, 1800)).to.equal(ethers.parseEther("5"));
      expect(await service1.quote(0, 1)).to.equal(expectedPrice(ethers.parseEther("10"), 1));
      expect(await service1.quote(0, 1)).to.equal(2777777777777778n);
    });

    it("is zero for a free offering and does not overflow at the largest terms", async function () {
      const { service1 } = await load(deployMarket);
      await service1.addOffering(MitigationKind.RateLimiting, 0n, DAY, 1);
      await service1.addOffering(MitigationKind.RateLimiting, MAX_UINT96, Number(MAX_UINT32), 1);
      expect(await service1.quote(2, DAY)).to.equal(0n);
      expect(await service1.quote(3, MAX_UINT32)).to.equal(expectedPrice(MAX_UINT96, MAX_UINT32));
    });

    it("reverts with ProviderServiceUnknownOffering for an unknown id", async function () {
      const { service1 } = await load(deployMarket);
      await expect(service1.quote(2, HOUR))
        .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownOffering")
        .withArgs(2);
    });
  });

  // --- requests ---------------------------------------------------------------------------

  describe("#request", function () {
    /** victim approves service1 for the price of `overrides` and requests. */
    async function attempt(market: Market, overrides: RequestOverrides = {}, requester = market.victim) {
      const params = await requestParams(market.service1, overrides);
      const price = await market.service1.quote(params.offeringId, params.duration).catch(() => 0n);
      await market.token.connect(requester).approve(await market.service1.getAddress(), price);
      return market.service1.connect(requester).request(params);
    }

    describe("when the requester is the service's own provider (audit finding 3)", function () {
      it("reverts with ProviderServiceRequesterIsProvider, directly and through the directory", async function () {
        const market = await load(deployMarket);
        const { service1, directory, token, provider1 } = market;
        const params = await requestParams(service1, { target: PREFIX.provider1V4 });
        await token.connect(provider1).approve(await service1.getAddress(), ethers.MaxUint256);
        await token.connect(provider1).approve(await directory.getAddress(), ethers.MaxUint256);
        await expect(service1.connect(provider1).request(params))
          .to.be.revertedWithCustomError(service1, "ProviderServiceRequesterIsProvider")
          .withArgs(provider1.address);
        await expect(directory.connect(provider1).requestMany([{ service: await service1.getAddress(), params }]))
          .to.be.revertedWithCustomError(service1, "ProviderServiceRequesterIsProvider")
          .withArgs(provider1.address);
        expect(await service1.requestCount()).to.equal(0n);
      });
    });

    describe("when the requester holds the target and approved the price", function () {
      it("escrows the price and emits MitigationRequested with everything the provider needs", async function () {
        const { service1, token, victim } = await load(deployMarket);
        const params = await requestParams(service1, { duration: 2 * HOUR });
        const price = await priceOf(service1, params);
        expect(price).to.equal(ethers.parseEther("20"));
        await token.connect(victim).approve(await service1.getAddress(), price);
        const id = requestIdOf(victim.address, 1);
        expect(await service1.connect(victim).request.staticCall(params)).to.equal(id);

        const tx = service1.connect(victim).request(params);
        await expect(tx)
          .to.emit(service1, "MitigationRequested")
          .withArgs(
            id,
            victim.address,
            0n,
            prefixArgs(PREFIX.victimV4),
            DEFAULT_SOURCES.map(prefixArgs),
            2 * HOUR,
            price,
            params.ackDeadline,
          );
        await expect(tx).to.changeTokenBalances(token, [victim, service1], [-price, price]);

        expect(await service1.requestCount()).to.equal(1n);
        // The requester is recoverable from the id alone: its upper bits are the address.
        expect(ethers.getAddress(ethers.toBeHex(id >> 64n, 20))).to.equal(victim.address);
        const r = await service1.getRequest(id);
        expect(r.requester).to.equal(victim.address);
        expect(r.price).to.equal(price);
        expect(r.ackDeadline).to.equal(BigInt(params.ackDeadline));
        expect(r.startedAt).to.equal(0n);
        expect(r.endsAt).to.equal(0n);
        expect(r.duration).to.equal(BigInt(2 * HOUR));
        expect(r.offeringId).to.equal(0n);
        expect(r.status).to.equal(BigInt(RequestStatus.Pending));
        expect(r.rating).to.equal(0n);
      });

      it("charges the price, not the maximum, and numbers requests from 1", async function () {
        const market = await load(deployMarket);
        const { service1, token, victim, victim2 } = market;
        const price = await service1.quote(1, HOUR);
        const params = await requestParams(service1, { offeringId: 1, maxPrice: price * 3n });
        await token.connect(victim).approve(await service1.getAddress(), price * 3n);
        await expect(service1.connect(victim).request(params)).to.changeTokenBalances(
          token,
          [victim, service1],
          [-price, price],
        );
        const second = await openRequest(service1, victim2, token, { target: PREFIX.victim2V6 });
        expect(second.id).to.equal(requestIdOf(victim2.address, 2));
        expect(await service1.requestCount()).to.equal(2n);
        expect((await service1.getRequest(requestIdOf(victim.address, 1))).requester).to.equal(victim.address);
        expect((await service1.getRequest(second.id)).requester).to.equal(victim2.address);
      });

      it("accepts IPv6 targets and the maximum of 64 sources", async function () {
        const market = await load(deployMarket);
        const sources = Array.from({ length: 64 }, (_, i) => `2001:db8:a000:${i.toString(16)}::/64`);
        await expect(attempt(market, { target: PREFIX.victimV6, sources }))
          .to.emit(market.service1, "MitigationRequested")
          .withArgs(
            requestIdOf(market.victim.address, 1),
            market.victim.address,
            0n,
            prefixArgs(PREFIX.victimV6),
            sources.map(prefixArgs),
            HOUR,
            ethers.parseEther("10"),
            (deadline: bigint) => deadline > 0n,
          );
      });

      it("needs no allowance for a free offering and escrows nothing", async function () {
        const { service1, token, victim, provider1 } = await load(deployMarket);
        await service1.addOffering(MitigationKind.Blackholing, 0n, HOUR, 1);
        const params = await requestParams(service1, { offeringId: 2 });
        await expect(service1.connect(victim).request(params)).to.changeTokenBalances(
          token,
          [victim, service1],
          [0n, 0n],
        );
        await expect(service1.acknowledge(requestIdOf(victim.address, 1))).to.changeTokenBalances(
          token,
          [service1, provider1],
          [0n, 0n],
        );
      });
    });

    describe("when the target is held by someone else", function () {
      it("reverts with ProviderServiceNotHolder carrying the actual holder", async function () {
        const market = await load(deployMarket);
        const { service1, victim, victim2 } = market;
        await expect(attempt(market, { target: PREFIX.victim2V4 }))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
          .withArgs(victim.address, ...prefixArgs(PREFIX.victim2V4), victim2.address);
        await expect(attempt(market, { target: "2001:db8:2abc::/48" }))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
          .withArgs(victim.address, ...prefixArgs("2001:db8:2abc::/48"), victim2.address);
      });

      it("reverts with ProviderServiceNotHolder and the zero address when no one holds it", async function () {
        const market = await load(deployMarket);
        await expect(attempt(market, { target: "10.1.0.0/16" }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceNotHolder")
          .withArgs(market.victim.address, ...prefixArgs("10.1.0.0/16"), ethers.ZeroAddress);
      });

      it("rejects the IPv4-mapped IPv6 spelling of a foreign IPv4 prefix just the same", async function () {
        const market = await load(deployMarket);
        const { service1, victim, victim2 } = market;
        // ::ffff:198.51.100.0/120 is 198.51.100.0/24: one space, one encoding.
        expect(ipPrefix("::ffff:198.51.100.0/120")).to.deep.equal(ipPrefix(PREFIX.victim2V4));
        await expect(attempt(market, { target: "::ffff:198.51.100.0/120" }))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
          .withArgs(victim.address, ...prefixArgs(PREFIX.victim2V4), victim2.address);
        await expect(attempt(market, { target: "::ffff:198.51.100.0/121" }))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
          .withArgs(victim.address, ...prefixArgs("198.51.100.0/25"), victim2.address);
        // The deprecated IPv4-compatible ::198.51.100.0 is another address, which no one holds.
        await expect(attempt(market, { target: "::198.51.100.0/120" }))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
          .withArgs(victim.address, ...prefixArgs("::198.51.100.0/120"), ethers.ZeroAddress);
      });
    });

    describe("when the requester holds a /16 out of which a /24 was delegated to someone else", function () {
      /** victim holds 198.18.0.0/16 (RFC 2544 benchmarking space: documentation space has no /16)
       * and delegated 198.18.7.0/24 to victim2. */
      async function deployWithDelegation() {
        const market = await deployMarket();
        const { registry, registrar2, victim, victim2 } = market;
        const block = ipPrefix("198.18.0.0/16");
        await registry.connect(registrar2).allocate(block.network, block.prefixLength, victim.address, ASN.victim);
        const delegated = ipPrefix("198.18.7.0/24");
        await registry
          .connect(victim)
          .delegate(delegated.network, delegated.prefixLength, victim2.address, ASN.victim2);
        return market;
      }

      it("rejects the /16 with ProviderServiceTargetNotWhollyHeld", async function () {
        const market = await load(deployWithDelegation);
        await expect(attempt(market, { target: "198.18.0.0/16" }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceTargetNotWhollyHeld")
          .withArgs(market.victim.address, ...prefixArgs("198.18.0.0/16"));
      });

      it("rejects the delegated /24 and its hosts with ProviderServiceNotHolder", async function () {
        const market = await load(deployWithDelegation);
        for (const target of ["198.18.7.0/24", "198.18.7.9/32"]) {
          await expect(attempt(market, { target }))
            .to.be.revertedWithCustomError(market.service1, "ProviderServiceNotHolder")
            .withArgs(market.victim.address, ...prefixArgs(target), market.victim2.address);
        }
      });

      it("accepts a /32 host outside the delegated /24, and the delegate's own /24", async function () {
        const market = await load(deployWithDelegation);
        const { service1, victim, victim2 } = market;
        await expect(attempt(market, { target: "198.18.200.1/32" }))
          .to.emit(service1, "MitigationRequested")
          .withArgs(
            requestIdOf(victim.address, 1),
            victim.address,
            0n,
            prefixArgs("198.18.200.1/32"),
            DEFAULT_SOURCES.map(prefixArgs),
            HOUR,
            ethers.parseEther("10"),
            (deadline: bigint) => deadline > 0n,
          );
        await expect(attempt(market, { target: "198.18.7.0/24" }, victim2))
          .to.emit(service1, "MitigationRequested")
          .withArgs(
            requestIdOf(victim2.address, 2),
            victim2.address,
            0n,
            prefixArgs("198.18.7.0/24"),
            DEFAULT_SOURCES.map(prefixArgs),
            HOUR,
            ethers.parseEther("10"),
            (deadline: bigint) => deadline > 0n,
          );
      });
    });

    describe("when the target has host bits set or an invalid length", function () {
      it("reverts with ProviderServiceInvalidPrefix and index type(uint256).max", async function () {
        const market = await load(deployMarket);
        const { network, prefixLength } = ipPrefix(PREFIX.victimV4);
        await expect(attempt(market, { target: { network: network | 1n, prefixLength } }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInvalidPrefix")
          .withArgs(TARGET_INDEX, network | 1n, prefixLength);
        await expect(attempt(market, { target: { network, prefixLength: 129 } }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInvalidPrefix")
          .withArgs(TARGET_INDEX, network, 129);
      });
    });

    describe("when a source has host bits set", function () {
      it("reverts with ProviderServiceInvalidPrefix and the source's index", async function () {
        const market = await load(deployMarket);
        const bad = ipPrefix("2001:db8:a000::/48");
        const badNetwork = bad.network | (1n << 79n);
        const sources = [...DEFAULT_SOURCES.slice(0, 2), { network: badNetwork, prefixLength: bad.prefixLength }];
        await expect(attempt(market, { sources }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInvalidPrefix")
          .withArgs(2n, badNetwork, bad.prefixLength);
      });
    });

    describe("when the request lists no source, or more than 64", function () {
      it("reverts with ProviderServiceInvalidSourceCount", async function () {
        const market = await load(deployMarket);
        await expect(attempt(market, { sources: [] }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInvalidSourceCount")
          .withArgs(0n, 64n);
        const sources = Array.from({ length: 65 }, () => "203.0.113.0/24");
        await expect(attempt(market, { sources }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInvalidSourceCount")
          .withArgs(65n, 64n);
      });
    });

    describe("when the offering is unknown or inactive", function () {
      it("reverts with ProviderServiceUnknownOffering or ProviderServiceOfferingInactive", async function () {
        const market = await load(deployMarket);
        const { service1 } = market;
        const params = await requestParams(service1, { offeringId: 2, maxPrice: ethers.parseEther("100") });
        await expect(service1.connect(market.victim).request(params))
          .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownOffering")
          .withArgs(2);
        await service1.setOfferingActive(1, false);
        await expect(attempt(market, { offeringId: 1 }))
          .to.be.revertedWithCustomError(service1, "ProviderServiceOfferingInactive")
          .withArgs(1);
      });
    });

    describe("when the duration is zero or above the offering's maximum", function () {
      it("reverts with ProviderServiceInvalidDuration", async function () {
        const market = await load(deployMarket);
        await expect(attempt(market, { duration: 0 }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInvalidDuration")
          .withArgs(0, DAY);
        await expect(attempt(market, { duration: DAY + 1 }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInvalidDuration")
          .withArgs(DAY + 1, DAY);
        await expect(attempt(market, { duration: DAY })).to.emit(market.service1, "MitigationRequested");
      });
    });

    describe("when the price is above the requester's maximum", function () {
      it("reverts with ProviderServicePriceAboveMaximum", async function () {
        const market = await load(deployMarket);
        const price = await market.service1.quote(0, HOUR);
        await expect(attempt(market, { maxPrice: price - 1n }))
          .to.be.revertedWithCustomError(market.service1, "ProviderServicePriceAboveMaximum")
          .withArgs(price, price - 1n);
      });

      it("holds the requester's maximum when the provider raises the price after the quote", async function () {
        const { service1, token, victim } = await load(deployMarket);
        const params = await requestParams(service1);
        const quoted = await priceOf(service1, params);
        await token.connect(victim).approve(await service1.getAddress(), ethers.MaxUint256);
        await service1.updateOffering(0, ethers.parseEther("15"), DAY, 10);
        const raised = await priceOf(service1, params);
        expect(raised).to.be.greaterThan(quoted);

        await expect(service1.connect(victim).request(params))
          .to.be.revertedWithCustomError(service1, "ProviderServicePriceAboveMaximum")
          .withArgs(raised, quoted);
        // A lower price goes through at the lower price.
        await service1.updateOffering(0, ethers.parseEther("4"), DAY, 10);
        const lowered = await priceOf(service1, params);
        await expect(service1.connect(victim).request(params)).to.changeTokenBalance(token, victim, -lowered);
        await token.connect(victim).approve(await service1.getAddress(), 0n);
      });
    });

    describe("when the acknowledgement deadline is past or too far ahead", function () {
      it("reverts with ProviderServiceInvalidDeadline and the allowed window", async function () {
        const market = await load(deployMarket);
        const { service1, token, victim } = market;
        await token.connect(victim).approve(await service1.getAddress(), ethers.MaxUint256);
        for (const offset of [0, -60, DAY + 1]) {
          const now = (await time.latest()) + 10;
          const params = await requestParams(service1, { ackDeadline: now + offset });
          await time.setNextBlockTimestamp(now);
          await expect(service1.connect(victim).request(params))
            .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidDeadline")
            .withArgs(now + offset, now + 1, now + DAY);
        }
        await token.connect(victim).approve(await service1.getAddress(), 0n);
      });

      it("accepts the ends of the window", async function () {
        const market = await load(deployMarket);
        for (const offset of [1, DAY]) {
          // Approve first: the request's block time is then set right after the latest block,
          // however slowly the test runs (e.g. under solidity-coverage).
          await market.token
            .connect(market.victim)
            .approve(await market.service1.getAddress(), await market.service1.quote(0, 3600));
          const now = (await time.latest()) + 10;
          const params = await requestParams(market.service1, { ackDeadline: now + offset });
          await time.setNextBlockTimestamp(now);
          await expect(market.service1.connect(market.victim).request(params)).to.emit(
            market.service1,
            "MitigationRequested",
          );
        }
      });
    });

    describe("when the requester is not an active participant", function () {
      it("reverts with ProviderServiceInactiveParticipant for a suspended requester", async function () {
        const market = await load(deployMarket);
        await market.registry.connect(market.registrar1).suspendParticipant(market.victim.address);
        await expect(attempt(market))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInactiveParticipant")
          .withArgs(market.victim.address);
      });

      it("reverts with ProviderServiceInactiveParticipant for an unregistered requester", async function () {
        const market = await load(deployMarket);
        await expect(attempt(market, {}, market.outsider))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInactiveParticipant")
          .withArgs(market.outsider.address);
      });
    });

    describe("when the provider is suspended", function () {
      it("reverts with ProviderServiceInactiveParticipant", async function () {
        const market = await load(deployMarket);
        await market.registry.connect(market.registrar1).suspendParticipant(market.provider1.address);
        await expect(attempt(market))
          .to.be.revertedWithCustomError(market.service1, "ProviderServiceInactiveParticipant")
          .withArgs(market.provider1.address);
      });
    });

    describe("when the allowance or the balance is short", function () {
      it("reverts with the token's ERC20InsufficientAllowance", async function () {
        const { service1, token, victim } = await load(deployMarket);
        const params = await requestParams(service1);
        const price = await priceOf(service1, params);
        await token.connect(victim).approve(await service1.getAddress(), price - 1n);
        await expect(service1.connect(victim).request(params))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await service1.getAddress(), price - 1n, price);
      });

      it("reverts with the token's ERC20InsufficientBalance", async function () {
        const { service1, token, victim, spare } = await load(deployMarket);
        await token.connect(victim).transfer(spare[0].address, await token.balanceOf(victim.address));
        const params = await requestParams(service1);
        const price = await priceOf(service1, params);
        await token.connect(victim).approve(await service1.getAddress(), price);
        await expect(service1.connect(victim).request(params))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
          .withArgs(victim.address, 0n, price);
      });
    });
  });

  describe("#requestWithPermit", function () {
    async function permitScene() {
      const market = await deployMarket();
      const params = await requestParams(market.service1);
      const price = await priceOf(market.service1, params);
      const deadline = BigInt(await time.latest()) + 600n;
      const signature = await signPermit(
        market.token,
        market.victim,
        await market.service1.getAddress(),
        price,
        deadline,
      );
      return { ...market, params, price, deadline, signature };
    }

    describe("when the permit is fresh", function () {
      it("approves and requests in one transaction", async function () {
        const { service1, token, victim, params, price, deadline, signature } = await load(permitScene);
        const { v, r, s } = signature;
        const tx = service1.connect(victim).requestWithPermit(params, price, deadline, v, r, s);
        await expect(tx).to.changeTokenBalances(token, [victim, service1], [-price, price]);
        await expect(tx).to.emit(service1, "MitigationRequested");
        expect(await token.nonces(victim.address)).to.equal(1n);
        expect(await token.allowance(victim.address, await service1.getAddress())).to.equal(0n);
      });
    });

    describe("when someone front-ran the permit", function () {
      it("still requests, on the allowance the permit set", async function () {
        const { service1, token, victim, outsider, params, price, deadline, signature } = await load(permitScene);
        const { v, r, s } = signature;
        await token.connect(outsider).permit(victim.address, await service1.getAddress(), price, deadline, v, r, s);
        await expect(
          service1.connect(victim).requestWithPermit(params, price, deadline, v, r, s),
        ).to.changeTokenBalances(token, [victim, service1], [-price, price]);
      });
    });

    describe("when the permit is invalid and there is no allowance", function () {
      it("reverts with the token's ERC20InsufficientAllowance", async function () {
        const { service1, token, victim, params, price, deadline, signature } = await load(permitScene);
        const { v, r, s } = signature;
        // The signature is for `price`, not for twice the price.
        await expect(service1.connect(victim).requestWithPermit(params, price * 2n, deadline, v, r, s))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await service1.getAddress(), 0n, price);
      });
    });
  });

  // --- life cycle -------------------------------------------------------------------------

  describe("#acknowledge", function () {
    describe("when the provider acknowledges a pending request before its deadline", function () {
      it("pays the escrow to the provider and starts the mitigation now", async function () {
        const { service1, token, provider1, victim, id, price, params } = await load(deployWithPendingRequest);
        const now = (await time.latest()) + 5;
        await time.setNextBlockTimestamp(now);
        const tx = service1.connect(provider1).acknowledge(id);
        await expect(tx)
          .to.emit(service1, "MitigationAcknowledged")
          .withArgs(id, now, now + Number(params.duration), price);
        await expect(tx).to.changeTokenBalances(token, [service1, provider1, victim], [-price, price, 0n]);
        const r = await service1.getRequest(id);
        expect(r.status).to.equal(BigInt(RequestStatus.Acknowledged));
        expect(r.startedAt).to.equal(BigInt(now));
        expect(r.endsAt).to.equal(BigInt(now + Number(params.duration)));
      });

      it("accepts an acknowledgement at the deadline itself", async function () {
        const { service1, id, params } = await load(deployWithPendingRequest);
        await time.setNextBlockTimestamp(BigInt(params.ackDeadline));
        await expect(service1.acknowledge(id)).to.emit(service1, "MitigationAcknowledged");
      });
    });

    describe("when the caller is not the provider", function () {
      it("reverts with ProviderServiceNotProvider", async function () {
        const { service1, victim, id } = await load(deployWithPendingRequest);
        await expect(service1.connect(victim).acknowledge(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotProvider")
          .withArgs(victim.address);
      });
    });

    describe("when the deadline has passed", function () {
      it("reverts with ProviderServiceDeadlinePassed", async function () {
        const { service1, id, params } = await load(deployWithPendingRequest);
        await time.setNextBlockTimestamp(BigInt(params.ackDeadline) + 1n);
        await expect(service1.acknowledge(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceDeadlinePassed")
          .withArgs(id, params.ackDeadline);
      });
    });

    describe("when the request is no longer pending", function () {
      it("reverts with ProviderServiceWrongStatus on a second acknowledgement", async function () {
        const { service1, id } = await load(deployWithAcknowledgedRequest);
        await expect(service1.acknowledge(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Acknowledged);
      });

      it("reverts with ProviderServiceWrongStatus after a rejection or a reclaim", async function () {
        const { service1, token, victim, id, params } = await load(deployWithPendingRequest);
        await service1.reject(id, 0);
        await expect(service1.acknowledge(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Rejected);

        const second = await openRequest(service1, victim, token, { ackDeadline: Number(params.ackDeadline) });
        await time.increaseTo(BigInt(params.ackDeadline) + 1n);
        await service1.connect(victim).reclaim(second.id);
        await expect(service1.acknowledge(second.id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(second.id, RequestStatus.Reclaimed);
      });
    });

    describe("when the request does not exist", function () {
      it("reverts with ProviderServiceUnknownRequest", async function () {
        const { service1, victim, victim2 } = await load(deployWithPendingRequest);
        // 1n is the bare sequence number; victim2 never requested, so its id with victim's sequence is unknown too.
        for (const id of [0n, 1n, requestIdOf(victim.address, 2), requestIdOf(victim2.address, 1)]) {
          await expect(service1.acknowledge(id))
            .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownRequest")
            .withArgs(id);
        }
      });
    });

    describe("when the provider is suspended", function () {
      it("reverts with ProviderServiceInactiveParticipant until reinstated", async function () {
        const { service1, registry, registrar1, provider1, id } = await load(deployWithPendingRequest);
        await registry.connect(registrar1).suspendParticipant(provider1.address);
        await expect(service1.acknowledge(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceInactiveParticipant")
          .withArgs(provider1.address);
        await registry.connect(registrar1).reinstateParticipant(provider1.address);
        await expect(service1.acknowledge(id)).to.emit(service1, "MitigationAcknowledged");
      });
    });
  });

  describe("#acknowledgeBatch", function () {
    async function deployWithThreePending() {
      const market = await deployMarket();
      const { service1, token, victim, victim2 } = market;
      const opened = [
        await openRequest(service1, victim, token),
        await openRequest(service1, victim2, token, { target: PREFIX.victim2V4, offeringId: 1, duration: 2 * HOUR }),
        await openRequest(service1, victim, token, { target: PREFIX.victimV6, duration: 30 * 60 }),
      ];
      return { ...market, ids: opened.map((o) => o.id), prices: opened.map((o) => o.price) };
    }

    describe("when every request is pending and within its deadline", function () {
      it("acknowledges them all with one payout", async function () {
        const { service1, token, provider1, ids, prices } = await load(deployWithThreePending);
        const total = prices[0] + prices[1] + prices[2];
        const now = (await time.latest()) + 1;
        await time.setNextBlockTimestamp(now);
        const tx = service1.acknowledgeBatch(ids);
        await expect(tx).to.changeTokenBalances(token, [service1, provider1], [-total, total]);
        for (const [index, id] of ids.entries()) {
          const { duration } = await service1.getRequest(id);
          await expect(tx)
            .to.emit(service1, "MitigationAcknowledged")
            .withArgs(id, now, BigInt(now) + duration, prices[index]);
        }
        const receipt = await (await tx).wait();
        const tokenAddress = await token.getAddress();
        const transfers = receipt!.logs.filter(
          (log) => log.address === tokenAddress && token.interface.parseLog(log)?.name === "Transfer",
        );
        expect(transfers).to.have.lengthOf(1);
      });
    });

    describe("when some ids cannot be acknowledged", function () {
      it("skips each with AcknowledgementSkipped and its reason, and acknowledges and pays the rest", async function () {
        const { service1, token, provider1, ids, prices } = await load(deployWithThreePending);
        await service1.acknowledge(ids[1]);
        const batch = [ids[0], ids[1], 99n, ids[2], ids[0]];
        const tx = service1.acknowledgeBatch(batch);
        await expect(tx)
          .to.emit(service1, "AcknowledgementSkipped")
          .withArgs(ids[1], AckSkip.NotPending)
          .and.to.emit(service1, "AcknowledgementSkipped")
          .withArgs(99n, AckSkip.UnknownRequest)
          .and.to.emit(service1, "AcknowledgementSkipped")
          .withArgs(ids[0], AckSkip.NotPending);
        const paid = prices[0] + prices[2];
        await expect(tx).to.changeTokenBalances(token, [service1, provider1], [-paid, paid]);
        for (const id of ids)
          expect((await service1.getRequest(id)).status).to.equal(BigInt(RequestStatus.Acknowledged));
      });

      it("skips one whose deadline passed while the batch was in flight (audit: one late request sank the batch)", async function () {
        const { service1, token, victim, provider1, ids, prices } = await load(deployWithThreePending);
        const soon = await openRequest(service1, victim, token, { ackDeadline: (await time.latest()) + 60 });
        await time.increase(120);
        const tx = service1.acknowledgeBatch([...ids, soon.id]);
        await expect(tx).to.emit(service1, "AcknowledgementSkipped").withArgs(soon.id, AckSkip.DeadlinePassed);
        const paid = prices[0] + prices[1] + prices[2];
        await expect(tx).to.changeTokenBalances(token, [service1, provider1], [-paid, paid]);
        expect((await service1.getRequest(soon.id)).status).to.equal(BigInt(RequestStatus.Pending));
        expect(await service1.acknowledgeBatch.staticCall([soon.id])).to.equal(0n);
      });
    });

    describe("when the batch is empty", function () {
      it("reverts with ProviderServiceEmptyBatch", async function () {
        const { service1 } = await load(deployWithThreePending);
        await expect(service1.acknowledgeBatch([])).to.be.revertedWithCustomError(
          service1,
          "ProviderServiceEmptyBatch",
        );
      });
    });

    describe("when the caller is not the provider, or is suspended", function () {
      it("reverts with ProviderServiceNotProvider or ProviderServiceInactiveParticipant", async function () {
        const { service1, registry, registrar1, victim, provider1, ids } = await load(deployWithThreePending);
        await expect(service1.connect(victim).acknowledgeBatch(ids))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotProvider")
          .withArgs(victim.address);
        await registry.connect(registrar1).suspendParticipant(provider1.address);
        await expect(service1.acknowledgeBatch(ids))
          .to.be.revertedWithCustomError(service1, "ProviderServiceInactiveParticipant")
          .withArgs(provider1.address);
      });
    });
  });

  describe("#reject", function () {
    describe("when the provider rejects a pending request", function () {
      it("refunds the requester and emits the reason", async function () {
        const { service1, token, victim, provider1, id, price } = await load(deployWithPendingRequest);
        const tx = service1.reject(id, 4);
        await expect(tx).to.emit(service1, "MitigationRejected").withArgs(id, 4, price);
        await expect(tx).to.changeTokenBalances(token, [service1, victim, provider1], [-price, price, 0n]);
        expect((await service1.getRequest(id)).status).to.equal(BigInt(RequestStatus.Rejected));
      });

      it("refunds even while the provider is suspended", async function () {
        const { service1, token, victim, registry, registrar1, provider1, id, price } =
          await load(deployWithPendingRequest);
        await registry.connect(registrar1).suspendParticipant(provider1.address);
        await expect(service1.reject(id, 2)).to.changeTokenBalance(token, victim, price);
      });
    });

    describe("when the caller is not the provider", function () {
      it("reverts with ProviderServiceNotProvider", async function () {
        const { service1, victim, id } = await load(deployWithPendingRequest);
        await expect(service1.connect(victim).reject(id, 0))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotProvider")
          .withArgs(victim.address);
      });
    });

    describe("when the request is not pending", function () {
      it("reverts with ProviderServiceWrongStatus", async function () {
        const { service1, id } = await load(deployWithAcknowledgedRequest);
        await expect(service1.reject(id, 1))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Acknowledged);
      });

      it("cannot refund twice", async function () {
        const { service1, victim, id, params } = await load(deployWithPendingRequest);
        await service1.reject(id, 1);
        await expect(service1.reject(id, 1))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Rejected);
        await time.increaseTo(BigInt(params.ackDeadline) + 1n);
        await expect(service1.connect(victim).reclaim(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Rejected);
      });
    });
  });

  describe("#reclaim", function () {
    describe("when the requester reclaims after the deadline", function () {
      it("refunds the escrow", async function () {
        const { service1, token, victim, provider1, id, price, params } = await load(deployWithPendingRequest);
        await time.increaseTo(BigInt(params.ackDeadline) + 1n);
        const tx = service1.connect(victim).reclaim(id);
        await expect(tx).to.emit(service1, "MitigationReclaimed").withArgs(id, price);
        await expect(tx).to.changeTokenBalances(token, [service1, victim, provider1], [-price, price, 0n]);
        expect((await service1.getRequest(id)).status).to.equal(BigInt(RequestStatus.Reclaimed));
        await expect(service1.connect(victim).reclaim(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Reclaimed);
      });
    });

    describe("when someone other than the requester reclaims", function () {
      it("reverts with ProviderServiceNotRequester", async function () {
        const { service1, victim2, provider1, id, params } = await load(deployWithPendingRequest);
        await time.increaseTo(BigInt(params.ackDeadline) + 1n);
        for (const caller of [victim2, provider1]) {
          await expect(service1.connect(caller).reclaim(id))
            .to.be.revertedWithCustomError(service1, "ProviderServiceNotRequester")
            .withArgs(id, caller.address);
        }
      });
    });

    describe("when the deadline has not passed", function () {
      it("reverts with ProviderServiceDeadlineNotPassed, up to and including the deadline", async function () {
        const { service1, victim, id, params } = await load(deployWithPendingRequest);
        await expect(service1.connect(victim).reclaim(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceDeadlineNotPassed")
          .withArgs(id, params.ackDeadline);
        await time.setNextBlockTimestamp(BigInt(params.ackDeadline));
        await expect(service1.connect(victim).reclaim(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceDeadlineNotPassed")
          .withArgs(id, params.ackDeadline);
      });
    });

    describe("when the request was acknowledged", function () {
      it("reverts with ProviderServiceWrongStatus", async function () {
        const { service1, victim, id, params } = await load(deployWithAcknowledgedRequest);
        await time.increaseTo(BigInt(params.ackDeadline) + 1n);
        await expect(service1.connect(victim).reclaim(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Acknowledged);
      });
    });
  });

  describe("#withdraw", function () {
    describe("when the requester withdraws a running mitigation", function () {
      it("ends it now, without a refund, shortening the duration to what ran", async function () {
        const { service1, token, victim, provider1, id, startedAt } = await load(deployWithAcknowledgedRequest);
        const now = (await time.latest()) + 60;
        await time.setNextBlockTimestamp(now);
        const tx = service1.connect(victim).withdraw(id);
        await expect(tx).to.emit(service1, "MitigationWithdrawn").withArgs(id, now);
        await expect(tx).to.changeTokenBalances(token, [service1, victim, provider1], [0n, 0n, 0n]);
        const r = await service1.getRequest(id);
        expect(r.status).to.equal(BigInt(RequestStatus.Withdrawn));
        expect(r.startedAt).to.equal(startedAt);
        expect(r.endsAt).to.equal(BigInt(now));
        expect(r.duration).to.equal(BigInt(now) - startedAt);
        expect(r.startedAt + r.duration).to.equal(r.endsAt);
        expect(r.requester).to.equal(victim.address);
      });
    });

    describe("when someone other than the requester withdraws", function () {
      it("reverts with ProviderServiceNotRequester", async function () {
        const { service1, victim2, provider1, id } = await load(deployWithAcknowledgedRequest);
        for (const caller of [victim2, provider1]) {
          await expect(service1.connect(caller).withdraw(id))
            .to.be.revertedWithCustomError(service1, "ProviderServiceNotRequester")
            .withArgs(id, caller.address);
        }
      });
    });

    describe("when the request is not acknowledged", function () {
      it("reverts with ProviderServiceWrongStatus while pending, after a rejection or a withdrawal", async function () {
        const { service1, token, victim, id } = await load(deployWithAcknowledgedRequest);
        const pending = await openRequest(service1, victim, token);
        await expect(service1.connect(victim).withdraw(pending.id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(pending.id, RequestStatus.Pending);
        await service1.reject(pending.id, 1);
        await expect(service1.connect(victim).withdraw(pending.id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(pending.id, RequestStatus.Rejected);
        await service1.connect(victim).withdraw(id);
        await expect(service1.connect(victim).withdraw(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Withdrawn);
      });

      it("reverts with ProviderServiceUnknownRequest for an unknown id", async function () {
        const { service1, victim } = await load(deployWithAcknowledgedRequest);
        await expect(service1.connect(victim).withdraw(5n))
          .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownRequest")
          .withArgs(5n);
      });
    });

    describe("when the mitigation has ended", function () {
      it("reverts with ProviderServiceMitigationEnded", async function () {
        const { service1, victim, id, endsAt } = await load(deployWithAcknowledgedRequest);
        await time.setNextBlockTimestamp(endsAt);
        await expect(service1.connect(victim).withdraw(id))
          .to.be.revertedWithCustomError(service1, "ProviderServiceMitigationEnded")
          .withArgs(id, endsAt);
      });
    });
  });

  describe("#reportStatus", function () {
    describe("when the provider reports on an acknowledged mitigation", function () {
      it("accepts the DOTS status codes 1 to 8", async function () {
        const { service1, id } = await load(deployWithAcknowledgedRequest);
        for (let status = 1; status <= 8; status++) {
          await expect(service1.reportStatus(id, status, 1000n * BigInt(status), 10n * BigInt(status)))
            .to.emit(service1, "MitigationStatusReported")
            .withArgs(id, status, 1000n * BigInt(status), 10n * BigInt(status));
        }
      });

      it("still accepts reports after a withdrawal", async function () {
        const { service1, victim, id } = await load(deployWithAcknowledgedRequest);
        await service1.connect(victim).withdraw(id);
        await expect(service1.reportStatus(id, 6, 0n, 0n)).to.emit(service1, "MitigationStatusReported");
      });

      it("rejects the codes 0 and 9 with ProviderServiceInvalidCode", async function () {
        const { service1, id } = await load(deployWithAcknowledgedRequest);
        for (const status of [0, 9, 255]) {
          await expect(service1.reportStatus(id, status, 0n, 0n))
            .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidCode")
            .withArgs(status);
        }
      });
    });

    describe("when the request is not acknowledged", function () {
      it("reverts with ProviderServiceWrongStatus", async function () {
        const { service1, id } = await load(deployWithPendingRequest);
        await expect(service1.reportStatus(id, 1, 0n, 0n))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Pending);
        await service1.reject(id, 0);
        await expect(service1.reportStatus(id, 1, 0n, 0n))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Rejected);
        await expect(service1.reportStatus(id + 1n, 1, 0n, 0n))
          .to.be.revertedWithCustomError(service1, "ProviderServiceUnknownRequest")
          .withArgs(id + 1n);
      });
    });

    describe("when the caller is not the provider", function () {
      it("reverts with ProviderServiceNotProvider", async function () {
        const { service1, victim, id } = await load(deployWithAcknowledgedRequest);
        await expect(service1.connect(victim).reportStatus(id, 2, 0n, 0n))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotProvider")
          .withArgs(victim.address);
      });
    });
  });

  describe("#reportAttackStatus", function () {
    describe("when the requester reports on an acknowledged mitigation", function () {
      it("accepts 1 (under attack) and 2 (mitigated)", async function () {
        const { service1, victim, id } = await load(deployWithAcknowledgedRequest);
        for (const status of [1, 2]) {
          await expect(service1.connect(victim).reportAttackStatus(id, status))
            .to.emit(service1, "AttackStatusReported")
            .withArgs(id, status);
        }
      });

      it("rejects 0 and 3 with ProviderServiceInvalidCode", async function () {
        const { service1, victim, id } = await load(deployWithAcknowledgedRequest);
        for (const status of [0, 3]) {
          await expect(service1.connect(victim).reportAttackStatus(id, status))
            .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidCode")
            .withArgs(status);
        }
      });
    });

    describe("when the request is not acknowledged", function () {
      it("reverts with ProviderServiceWrongStatus", async function () {
        const { service1, victim, id } = await load(deployWithPendingRequest);
        await expect(service1.connect(victim).reportAttackStatus(id, 1))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Pending);
      });
    });

    describe("when the caller is not the requester", function () {
      it("reverts with ProviderServiceNotRequester", async function () {
        const { service1, provider1, id } = await load(deployWithAcknowledgedRequest);
        await expect(service1.connect(provider1).reportAttackStatus(id, 2))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotRequester")
          .withArgs(id, provider1.address);
      });
    });
  });

  describe("#rate", function () {
    describe("when the requester rates acknowledged mitigations", function () {
      it("accepts ratings 1 to 5, once each", async function () {
        const { service1, token, victim } = await load(deployMarket);
        const ids: bigint[] = [];
        for (let i = 0; i < 5; i++) ids.push((await openRequest(service1, victim, token)).id);
        await service1.acknowledgeBatch(ids);
        for (const [index, id] of ids.entries()) {
          const rating = index + 1;
          await expect(service1.connect(victim).rate(id, rating))
            .to.emit(service1, "MitigationRated")
            .withArgs(id, rating);
          expect((await service1.getRequest(id)).rating).to.equal(BigInt(rating));
          await expect(service1.connect(victim).rate(id, rating))
            .to.be.revertedWithCustomError(service1, "ProviderServiceAlreadyRated")
            .withArgs(id);
        }
      });

      it("accepts a rating after a withdrawal", async function () {
        const { service1, victim, id } = await load(deployWithAcknowledgedRequest);
        await service1.connect(victim).withdraw(id);
        await expect(service1.connect(victim).rate(id, 1)).to.emit(service1, "MitigationRated").withArgs(id, 1);
      });

      it("rejects 0 and 6 with ProviderServiceInvalidCode", async function () {
        const { service1, victim, id } = await load(deployWithAcknowledgedRequest);
        for (const rating of [0, 6]) {
          await expect(service1.connect(victim).rate(id, rating))
            .to.be.revertedWithCustomError(service1, "ProviderServiceInvalidCode")
            .withArgs(rating);
        }
      });
    });

    describe("when the request is not acknowledged", function () {
      it("reverts with ProviderServiceWrongStatus", async function () {
        const { service1, victim, id } = await load(deployWithPendingRequest);
        await expect(service1.connect(victim).rate(id, 5))
          .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
          .withArgs(id, RequestStatus.Pending);
      });
    });

    describe("when the caller is not the requester", function () {
      it("reverts with ProviderServiceNotRequester", async function () {
        const { service1, victim2, id } = await load(deployWithAcknowledgedRequest);
        await expect(service1.connect(victim2).rate(id, 5))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotRequester")
          .withArgs(id, victim2.address);
      });
    });
  });
});

/**
 * Signed orders settled in batches: every check of `settleOrders`, each failing order skipped with
 * its reason while the rest of the batch settles, cancellation, the published endpoint, and an
 * ERC-1271 wallet as victim. The market's invariants are checked after every test.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Signature } from "ethers";

import { parsePrefix } from "../src/prefix";
import {
  ORDER_SKIP_REASONS,
  OrderSkipReason as Skip,
  hashOrder,
  orderRequestId,
  isOrderSignedBy,
  recoverOrderSigner,
  signOrder,
  toOrderStruct,
  type Order,
  type SignedOrder,
} from "../src/clients/orders";
import type { OrderWallet, ProviderServiceContract } from "../typechain-types";
import { invariantsAfterEach } from "./helpers/invariants";
import { ASN, DEFAULT_SOURCES, PREFIX, RequestStatus, deployMarket, ipPrefix } from "./helpers/marketFixtures";
import type { Market } from "./helpers/marketFixtures";

const HOUR = 3600;
let salt = 1n;

async function chainId(): Promise<bigint> {
  return (await ethers.provider.getNetwork()).chainId;
}

/** An order of `requester` at `service`: offering 0 for an hour at its price, valid for 10 minutes. */
async function orderOf(
  service: ProviderServiceContract,
  requester: string,
  overrides: Partial<Order> = {},
): Promise<Order> {
  const offeringId = overrides.offeringId ?? 0;
  const duration = overrides.duration ?? HOUR;
  return {
    service: await service.getAddress(),
    requester,
    offeringId,
    target: parsePrefix(PREFIX.victimV4),
    sources: DEFAULT_SOURCES.slice(0, 2).map((s) => parsePrefix(s)),
    duration,
    maxPrice: await service.quote(offeringId, duration).catch(() => 10n ** 20n),
    expiry: (await time.latest()) + 600,
    salt: salt++,
    ...overrides,
  };
}

async function signed(
  signer: HardhatEthersSigner,
  service: ProviderServiceContract,
  overrides: Partial<Order> = {},
): Promise<SignedOrder> {
  return signOrder(signer, await orderOf(service, signer.address, overrides), await chainId());
}

function settle(service: ProviderServiceContract, orders: SignedOrder[]) {
  return service.settleOrders(
    orders.map((o) => toOrderStruct(o.order)),
    orders.map((o) => o.signature),
  );
}

/** The market with both victims approving service1 for any amount (orders pull their price). */
async function deployOrders(): Promise<Market> {
  const market = await deployMarket();
  for (const victim of [market.victim, market.victim2]) {
    await market.token.connect(victim).approve(await market.service1.getAddress(), ethers.MaxUint256);
  }
  return market;
}

describe("ProviderServiceContract orders", function () {
  const load = invariantsAfterEach();

  describe("#settleOrders", function () {
    describe("when every order is valid", function () {
      it("pays each price from its victim to the provider and starts each mitigation", async function () {
        const { service1, token, victim, victim2, provider1 } = await load(deployOrders);
        const a = await signed(victim, service1);
        const b = await signed(victim2, service1, { target: parsePrefix(PREFIX.victim2V4), duration: 2 * HOUR });
        const priceA = await service1.quote(0, HOUR);
        const priceB = await service1.quote(0, 2 * HOUR);
        const id = chainId();
        const hashA = hashOrder(a.order, await id);
        const requestA = orderRequestId(victim.address, hashA);
        expect(await service1.orderHash(toOrderStruct(a.order))).to.equal(hashA);
        expect(await service1.orderRequestId(victim.address, hashA)).to.equal(requestA);
        expect(
          await service1.settleOrders.staticCall(
            [toOrderStruct(a.order), toOrderStruct(b.order)],
            [a.signature, b.signature],
          ),
        ).to.equal(2n);

        const tx = settle(service1, [a, b]);
        const startedAt = (await time.latest()) + 1;
        await expect(tx)
          .to.emit(service1, "OrderSettled")
          .withArgs(requestA, hashA, 0, priceA, startedAt, startedAt + HOUR);
        await expect(tx).to.changeTokenBalances(
          token,
          [victim, victim2, provider1, service1],
          [-priceA, -priceB, priceA + priceB, 0n],
        );
        const r = await service1.getRequest(requestA);
        expect(r.requester).to.equal(victim.address);
        expect(r.status).to.equal(BigInt(RequestStatus.Acknowledged));
        expect(r.price).to.equal(priceA);
        expect(r.startedAt).to.equal(BigInt(startedAt));
        expect(r.endsAt).to.equal(BigInt(startedAt + HOUR));
      });

      it("runs like an acknowledged request: status reports, withdrawal and a rating", async function () {
        const { service1, victim } = await load(deployOrders);
        const a = await signed(victim, service1);
        await settle(service1, [a]);
        const id = orderRequestId(victim.address, hashOrder(a.order, await chainId()));
        await expect(service1.reportStatus(id, 2, 1000, 10)).to.emit(service1, "MitigationStatusReported");
        await expect(service1.connect(victim).withdraw(id)).to.emit(service1, "MitigationWithdrawn");
        await expect(service1.connect(victim).rate(id, 4)).to.emit(service1, "MitigationRated").withArgs(id, 4);
        // Neither acknowledgement nor reclaim applies to it.
        await expect(service1.acknowledge(id)).to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus");
        await expect(service1.connect(victim).reclaim(id)).to.be.revertedWithCustomError(
          service1,
          "ProviderServiceWrongStatus",
        );
      });
    });

    /**
     * Settles `bad` between two good orders: only `bad` is skipped, with `reason`, and its record
     * is as it was. The hash in the event is the order's under this service's domain.
     */
    async function expectSkipped(market: Market, bad: SignedOrder, reason: Skip, requester = bad.order.requester) {
      const { service1, token, victim, provider1 } = market;
      const good = { target: parsePrefix(PREFIX.victimV6) };
      const before = await signed(victim, service1, good);
      const after = await signed(victim, service1, good);
      const hash = await service1.orderHash(toOrderStruct(bad.order));
      const id = orderRequestId(requester, hash);
      const status = () =>
        service1.getRequest(id).then(
          (r) => r.status,
          () => BigInt(RequestStatus.None),
        );
      const was = await status();
      const price = await service1.quote(0, HOUR);
      const tx = settle(service1, [before, bad, after]);
      await expect(tx).to.emit(service1, "OrderSkipped").withArgs(hash, requester, reason);
      await expect(tx).to.changeTokenBalances(token, [victim, provider1], [-2n * price, 2n * price]);
      expect(await status(), "the skipped order's record").to.equal(was);
      expect(ORDER_SKIP_REASONS[reason]).to.be.a("string");
    }

    describe("when an order fails a check, it is skipped with its reason and the batch goes on", function () {
      it("a replay of a settled order (AlreadySettled), also within one batch", async function () {
        const market = await load(deployOrders);
        const a = await signed(market.victim, market.service1);
        await settle(market.service1, [a]);
        await expectSkipped(market, a, Skip.AlreadySettled);
        const b = await signed(market.victim, market.service1);
        await expect(settle(market.service1, [b, b]))
          .to.emit(market.service1, "OrderSkipped")
          .withArgs(hashOrder(b.order, await chainId()), market.victim.address, Skip.AlreadySettled);
      });

      it("an order for another service (WrongService), or one re-pointed at this one (BadSignature)", async function () {
        const market = await load(deployOrders);
        const elsewhere = await signOrder(
          market.victim,
          await orderOf(market.service2, market.victim.address),
          await chainId(),
        );
        await expectSkipped(market, elsewhere, Skip.WrongService);
        const repointed = { ...elsewhere, order: { ...elsewhere.order, service: await market.service1.getAddress() } };
        await expectSkipped(market, repointed, Skip.BadSignature);
      });

      it("an order signed for another chain id (BadSignature)", async function () {
        const market = await load(deployOrders);
        const order = await orderOf(market.service1, market.victim.address);
        const foreign = await signOrder(market.victim, order, (await chainId()) + 1n);
        await expectSkipped(market, foreign, Skip.BadSignature);
      });

      it("an expired order (Expired)", async function () {
        const market = await load(deployOrders);
        const late = await signed(market.victim, market.service1, { expiry: (await time.latest()) - 1 });
        await expectSkipped(market, late, Skip.Expired);
      });

      it("a cancelled order, one by one or below a salt (Cancelled)", async function () {
        const market = await load(deployOrders);
        const { service1, victim } = market;
        const one = await signed(victim, service1);
        await expect(service1.connect(victim).cancelOrder(toOrderStruct(one.order)))
          .to.emit(service1, "OrderCancelled")
          .withArgs(hashOrder(one.order, await chainId()), victim.address);
        await expectSkipped(market, one, Skip.Cancelled);
        // Below a salt, at every service at once: the registry keeps the minimum.
        const old = await signed(victim, service1, { salt: 5n });
        await expect(market.registry.connect(victim).cancelOrdersUpTo(6n))
          .to.emit(market.registry, "OrdersCancelledUpTo")
          .withArgs(victim.address, 6n);
        await expectSkipped(market, old, Skip.Cancelled);
      });

      it("a high-s signature of the right signer (BadSignature)", async function () {
        const market = await load(deployOrders);
        const good = await signed(market.victim, market.service1);
        const sig = Signature.from(good.signature);
        const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
        const highS = ethers.concat([sig.r, ethers.toBeHex(n - BigInt(sig.s), 32), sig.v === 27 ? "0x1c" : "0x1b"]);
        // The same point, s mirrored: ecrecover would accept it; the contract and the agents do not.
        expect(recoverOrderSigner(hashOrder(good.order, await chainId()), good.signature)).to.equal(
          market.victim.address,
        );
        expect(recoverOrderSigner(hashOrder(good.order, await chainId()), highS)).to.equal(null);
        // The intake's check, which compares without the checksum: any case of the right address.
        const hash = hashOrder(good.order, await chainId());
        expect(isOrderSignedBy(hash, good.signature, market.victim.address.toLowerCase())).to.equal(true);
        expect(isOrderSignedBy(hash, good.signature, market.victim2.address)).to.equal(false);
        expect(isOrderSignedBy(hash, highS, market.victim.address)).to.equal(false);
        await expectSkipped(market, { ...good, signature: highS }, Skip.BadSignature);
      });

      it("an order signed by someone else than its requester (BadSignature)", async function () {
        const market = await load(deployOrders);
        const order = await orderOf(market.service1, market.victim.address);
        await expectSkipped(market, await signOrder(market.victim2, order, await chainId()), Skip.BadSignature);
      });

      it("an order by the provider itself (RequesterIsProvider)", async function () {
        const market = await load(deployOrders);
        const own = await signed(market.provider1, market.service1, { target: parsePrefix(PREFIX.provider1V4) });
        await expectSkipped(market, own, Skip.RequesterIsProvider);
      });

      it("an order of a suspended victim (InactiveRequester)", async function () {
        const market = await load(deployOrders);
        const { registry, registrar1, victim2 } = market;
        const order = await signed(victim2, market.service1, { target: parsePrefix(PREFIX.victim2V4) });
        await registry.connect(registrar1).suspendParticipant(victim2.address);
        await expectSkipped(market, order, Skip.InactiveRequester);
      });

      it("a target the victim does not wholly hold (NotWhollyHeld)", async function () {
        const market = await load(deployOrders);
        const { registry, victim, victim2 } = market;
        const own = ipPrefix("192.0.2.128/25");
        await registry.connect(victim).delegate(own.network, own.prefixLength, victim2.address, ASN.victim2);
        await expectSkipped(market, await signed(victim, market.service1), Skip.NotWhollyHeld);
        const foreign = await signed(victim, market.service1, { target: parsePrefix(PREFIX.victim2V4) });
        await expectSkipped(market, foreign, Skip.NotWhollyHeld);
      });

      it("terms the offering does not sell (UnknownOffering, OfferingInactive, InvalidDuration, PriceAboveMaximum)", async function () {
        const market = await load(deployOrders);
        const { service1, victim } = market;
        await expectSkipped(market, await signed(victim, service1, { offeringId: 99 }), Skip.UnknownOffering);
        await expectSkipped(market, await signed(victim, service1, { duration: 0 }), Skip.InvalidDuration);
        await expectSkipped(market, await signed(victim, service1, { duration: 30 * 24 * HOUR }), Skip.InvalidDuration);
        await expectSkipped(market, await signed(victim, service1, { maxPrice: 1n }), Skip.PriceAboveMaximum);
        await service1.setOfferingActive(1, false);
        await expectSkipped(market, await signed(victim, service1, { offeringId: 1 }), Skip.OfferingInactive);
      });

      it("no source, too many, or a prefix with host bits (InvalidPrefix)", async function () {
        const market = await load(deployOrders);
        const { service1, victim } = market;
        await expectSkipped(market, await signed(victim, service1, { sources: [] }), Skip.InvalidPrefix);
        const many = Array.from({ length: 65 }, (_, i) => parsePrefix(`198.18.0.${i}`, { allowAddress: true }));
        await expectSkipped(market, await signed(victim, service1, { sources: many }), Skip.InvalidPrefix);
        const hostBits = { network: parsePrefix(PREFIX.victimV4).network | 1n, length: 120 };
        await expectSkipped(market, await signed(victim, service1, { target: hostBits }), Skip.InvalidPrefix);
      });

      it("allowance or balance withdrawn between acceptance and settlement (PaymentFailed): nothing moved", async function () {
        const market = await load(deployOrders);
        const { service1, token, victim2, minter } = market;
        const noAllowance = await signed(victim2, service1, { target: parsePrefix(PREFIX.victim2V4) });
        await token.connect(victim2).approve(await service1.getAddress(), 0n);
        await expectSkipped(market, noAllowance, Skip.PaymentFailed);
        await token.connect(victim2).approve(await service1.getAddress(), ethers.MaxUint256);
        await token.connect(victim2).transfer(minter.address, await token.balanceOf(victim2.address));
        const noBalance = await signed(victim2, service1, { target: parsePrefix(PREFIX.victim2V4) });
        await expectSkipped(market, noBalance, Skip.PaymentFailed);
        // The failed order can be settled once the victim can pay again.
        await token.connect(minter).transfer(victim2.address, 10n ** 21n);
        await expect(settle(service1, [noBalance])).to.emit(service1, "OrderSettled");
      });
    });

    describe("when someone other than the provider settles", function () {
      it("reverts with ProviderServiceNotProvider, and with ProviderServiceInactiveParticipant while suspended", async function () {
        const { service1, victim, registry, registrar1, provider1 } = await load(deployOrders);
        const a = await signed(victim, service1);
        await expect(settle(service1.connect(victim), [a]))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotProvider")
          .withArgs(victim.address);
        await registry.connect(registrar1).suspendParticipant(provider1.address);
        await expect(settle(service1, [a]))
          .to.be.revertedWithCustomError(service1, "ProviderServiceInactiveParticipant")
          .withArgs(provider1.address);
      });
    });

    describe("when the batch is malformed", function () {
      it("reverts with ProviderServiceEmptyBatch or ProviderServiceSignatureCountMismatch", async function () {
        const { service1, victim } = await load(deployOrders);
        await expect(service1.settleOrders([], [])).to.be.revertedWithCustomError(
          service1,
          "ProviderServiceEmptyBatch",
        );
        const a = await signed(victim, service1);
        await expect(service1.settleOrders([toOrderStruct(a.order)], []))
          .to.be.revertedWithCustomError(service1, "ProviderServiceSignatureCountMismatch")
          .withArgs(1, 0);
      });
    });

    describe("when the victim is an ERC-1271 contract wallet", function () {
      /** A wallet owned by victim2's key, registered as a participant holding 198.18.0.0/24, with tokens. */
      async function deployWithWallet(): Promise<Market & { wallet: OrderWallet; owner: HardhatEthersSigner }> {
        const market = await deployOrders();
        const { registry, registrar1, registrar2, token, minter, service1 } = market;
        const owner = market.spare[0];
        const wallet = await ethers.deployContract("OrderWallet", [owner.address]);
        await registry.connect(registrar1).registerParticipant(await wallet.getAddress(), "Wallet Networks", "");
        const prefix = ipPrefix("198.18.0.0/24");
        await registry
          .connect(registrar2)
          .allocate(prefix.network, prefix.prefixLength, await wallet.getAddress(), ASN.victim);
        await token.connect(minter).mint(await wallet.getAddress(), 10n ** 21n);
        await wallet.approve(await token.getAddress(), await service1.getAddress(), ethers.MaxUint256);
        return { ...market, wallet, owner };
      }

      it("settles an order its owner signed, and skips one that burns the gas it is given (BadSignature)", async function () {
        const market = await load(deployWithWallet);
        const { service1, wallet, owner, provider1, token } = market;
        const walletAddress = await wallet.getAddress();
        const order = await orderOf(service1, walletAddress, { target: parsePrefix("198.18.0.0/24") });
        const byOwner = await signOrder(owner, order, await chainId());
        const price = await service1.quote(0, HOUR);
        await expect(settle(service1, [byOwner])).to.changeTokenBalances(token, [wallet, provider1], [-price, price]);

        await wallet.setGreedy(true);
        const greedy = await signOrder(
          owner,
          await orderOf(service1, walletAddress, { target: parsePrefix("198.18.0.0/24") }),
          await chainId(),
        );
        await expectSkipped(market, greedy, Skip.BadSignature, walletAddress);
      });
    });
  });

  describe("#cancelOrder", function () {
    it("refuses anyone but the requester, an order of another service, and a settled order", async function () {
      const { service1, service2, victim, victim2 } = await load(deployOrders);
      const a = await signed(victim, service1);
      const id = orderRequestId(victim.address, hashOrder(a.order, await chainId()));
      await expect(service1.connect(victim2).cancelOrder(toOrderStruct(a.order)))
        .to.be.revertedWithCustomError(service1, "ProviderServiceNotRequester")
        .withArgs(id, victim2.address);
      await expect(service2.connect(victim).cancelOrder(toOrderStruct(a.order)))
        .to.be.revertedWithCustomError(service2, "ProviderServiceWrongService")
        .withArgs(await service1.getAddress());
      await settle(service1, [a]);
      await expect(service1.connect(victim).cancelOrder(toOrderStruct(a.order)))
        .to.be.revertedWithCustomError(service1, "ProviderServiceWrongStatus")
        .withArgs(id, RequestStatus.Acknowledged);
    });
  });

  describe("PrefixRegistry#cancelOrdersUpTo", function () {
    it("only raises a participant's minimum order salt, and refuses non-participants", async function () {
      const { registry, victim, outsider } = await load(deployOrders);
      await registry.connect(victim).cancelOrdersUpTo(10n);
      expect(await registry.minOrderSalt(victim.address)).to.equal(10n);
      await expect(registry.connect(victim).cancelOrdersUpTo(10n))
        .to.be.revertedWithCustomError(registry, "PrefixRegistryMinOrderSaltNotRaised")
        .withArgs(victim.address, 10n, 10n);
      await expect(registry.connect(outsider).cancelOrdersUpTo(1n))
        .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
        .withArgs(outsider.address);
    });
  });

  describe("#setOrderEndpoint", function () {
    it("publishes the provider's endpoint; refuses anyone else and an endpoint over 256 bytes", async function () {
      const { service1, victim } = await load(deployOrders);
      await expect(service1.setOrderEndpoint("https://orders.alpha.example/v1"))
        .to.emit(service1, "OrderEndpointChanged")
        .withArgs("https://orders.alpha.example/v1");
      expect(await service1.orderEndpoint()).to.equal("https://orders.alpha.example/v1");
      await expect(service1.connect(victim).setOrderEndpoint("x")).to.be.revertedWithCustomError(
        service1,
        "ProviderServiceNotProvider",
      );
      await expect(service1.setOrderEndpoint("x".repeat(257)))
        .to.be.revertedWithCustomError(service1, "ProviderServiceEndpointTooLong")
        .withArgs(257, 256);
    });
  });

  describe("#eip712Domain", function () {
    it("names this clone as the verifying contract, on this chain", async function () {
      const { service1, service2 } = await load(deployOrders);
      const domain = await service1.eip712Domain();
      expect(domain.name).to.equal("DDoS Mitigation Service");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal(await chainId());
      expect(domain.verifyingContract).to.equal(await service1.getAddress());
      expect((await service2.eip712Domain()).verifyingContract).to.equal(await service2.getAddress());
      expect(network.name).to.equal("hardhat");
    });
  });
});

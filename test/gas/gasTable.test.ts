/**
 * The gas table, the one measurement of gas in the project: every operation of the market and the
 * registry, measured from receipts (`gasUsed`, after refunds, including the 21,000 of the
 * transaction) or, for a view, from `eth_estimateGas` of its call, in fixed conditions. Each figure
 * is held to its target, where it has one, and to the committed docs/gas-table.json: more than 2 %
 * above it fails the suite, so a gas regression cannot land without the table (and its review)
 * changing with it. `UPDATE_GAS_TABLE=1 npm run gas:check` rewrites docs/gas-table.json and
 * docs/gas.md from the measurements instead.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import prettier from "prettier";
import type { ContractTransactionResponse } from "ethers";

import { deployWithParticipants, onChain, ALICE_ASN, BOB_ASN, CAROL_ASN } from "../helpers/fixtures";
import {
  PREFIX,
  deployMarket,
  openRequest,
  priceOf,
  requestIdOf,
  requestParams,
  signPermit,
} from "../helpers/marketFixtures";
import type { RequestParamsStruct } from "../helpers/marketFixtures";
import { config, ethers, network } from "hardhat";
import { Wallet } from "ethers";

import { parsePrefix } from "../../src/prefix";
import { signOrder, toOrderStruct, type SignedOrder } from "../../src/clients/orders";
import { gasTableMarkdown, gateFailures } from "./gate";
import type { GasEntry, GasTable } from "./gate";

const DOCS = path.join(__dirname, "..", "..", "docs");
const TABLE_JSON = path.join(DOCS, "gas-table.json");
const TABLE_MD = path.join(DOCS, "gas.md");
/** A figure may rise this much over the committed table before the suite fails. */
const TOLERANCE = 0.02;
const ACK_BATCH = 50;
const ALLOCATE_BATCH = 100;
const SUB_PREFIXES = 100;
const ORDER_BATCH = 50;
const UPDATE = process.env.UPDATE_GAS_TABLE === "1";

/** The compiler settings the figures hold for, from the project's config (e.g. "solc 0.8.28, viaIR, …"). */
function compilerDescription(): string {
  const { version } = config.solidity.compilers[0];
  const settings: unknown = config.solidity.compilers[0].settings;
  const { optimizer, viaIR, evmVersion } = settings as {
    optimizer?: { enabled?: boolean; runs?: number };
    viaIR?: boolean;
    evmVersion?: string;
  };
  const optimized = optimizer?.enabled
    ? `optimizer ${(optimizer.runs ?? 200).toLocaleString("en-US")} runs`
    : "no optimizer";
  return [`solc ${version}`, ...(viaIR ? ["viaIR"] : []), optimized, `EVM ${evmVersion}`].join(", ");
}

function committedTable(): GasTable | undefined {
  if (!existsSync(TABLE_JSON)) return undefined;
  return JSON.parse(readFileSync(TABLE_JSON, "utf8")) as GasTable;
}

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("the transaction has no receipt");
  return receipt.gasUsed;
}

/** The market with two of the victim's requests pending at service1 (ids #1 and #2). */
async function marketScene() {
  const market = await deployMarket();
  const first = await openRequest(market.service1, market.victim, market.token);
  const second = await openRequest(market.service1, market.victim, market.token, { target: PREFIX.victimV6 });
  return { ...market, first: first.id, second: second.id };
}

/** Participants, and 10.0.0.0/8, 10.1.0.0/16 and 10.2.0.0/24 allocated to alice. */
async function registryScene() {
  const foundation = await deployWithParticipants();
  const { registry, registrar1, alice } = foundation;
  for (const text of ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/24"]) {
    await registry.connect(registrar1).allocate(...onChain(text), alice.address, ALICE_ASN);
  }
  return foundation;
}

/**
 * Delegation three deep: 10.0.0.0/8 allocated to alice, who delegates 10.1.0.0/16 to bob, who
 * delegates 10.1.16.0/20 to carol, who delegates 10.1.16.0/24 to alice. A fourth level goes into
 * carol's /20.
 */
async function nestedScene() {
  const foundation = await deployWithParticipants();
  const { registry, registrar1, alice, bob, carol } = foundation;
  await registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN);
  await registry.connect(alice).delegate(...onChain("10.1.0.0/16"), bob.address, BOB_ASN);
  await registry.connect(bob).delegate(...onChain("10.1.16.0/20"), carol.address, CAROL_ASN);
  await registry.connect(carol).delegate(...onChain("10.1.16.0/24"), alice.address, ALICE_ASN);
  return foundation;
}

/**
 * alice holds 10.0.0.0/8 with SUB_PREFIXES /24s registered inside it: ten of her own inside
 * 10.1.0.0/16 (delegated to herself), the rest delegated to bob across the other /16s.
 */
async function crowdedScene() {
  const foundation = await deployWithParticipants();
  const { registry, registrar1, alice, bob } = foundation;
  await registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN);
  const batch = Array.from({ length: SUB_PREFIXES }, (_, i) => {
    const own = i < 10;
    const [network, prefixLength] = onChain(own ? `10.1.${i * 16}.0/24` : `10.${2 + (i % 90)}.${i}.0/24`);
    return { network, prefixLength, holder: own ? alice.address : bob.address, originAsn: ALICE_ASN };
  });
  await registry.connect(registrar1).allocateBatch(batch);
  return foundation;
}

/**
 * alice holds 10.1.0.0/16 and 10.2.0.0/16, each with SUB_PREFIXES /24s registered inside: all hers
 * in the first, one of the second's delegated to bob.
 */
async function busySlash16Scene() {
  const foundation = await deployWithParticipants();
  const { registry, registrar1, alice, bob } = foundation;
  for (const text of ["10.1.0.0/16", "10.2.0.0/16"]) {
    await registry.connect(registrar1).allocate(...onChain(text), alice.address, ALICE_ASN);
  }
  for (const second of [1, 2]) {
    const batch = Array.from({ length: SUB_PREFIXES }, (_, i) => {
      const [network, prefixLength] = onChain(`10.${second}.${i * 2}.0/24`);
      const holder = second === 2 && i === 37 ? bob.address : alice.address;
      return { network, prefixLength, holder, originAsn: ALICE_ASN };
    });
    await registry.connect(registrar1).allocateBatch(batch);
  }
  return foundation;
}

/**
 * The market and ORDER_BATCH victims, each a participant holding its own /24 outright, with tokens
 * and an unlimited allowance for service1, and one signed order each (offering 0, an hour, one
 * source).
 */
async function ordersScene() {
  const market = await deployMarket();
  const { registry, registrar1, registrar2, token, minter, service1 } = market;
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const orders: SignedOrder[] = [];
  const victims = Array.from({ length: ORDER_BATCH }, () => Wallet.createRandom(ethers.provider));
  await registry
    .connect(registrar1)
    .registerParticipantBatch(victims.map((v, i) => ({ account: v.address, name: `Victim ${i}`, metadataURI: "" })));
  await registry.connect(registrar2).allocateBatch(
    victims.map((v, i) => {
      const [network, prefixLength] = onChain(`100.64.${i}.0/24`);
      return { network, prefixLength, holder: v.address, originAsn: ALICE_ASN };
    }),
  );
  const price = await service1.quote(0, 3600);
  const expiry = (await time.latest()) + 3600;
  for (const [i, victim] of victims.entries()) {
    await network.provider.send("hardhat_setBalance", [victim.address, "0x" + (10n ** 18n).toString(16)]);
    await token.connect(minter).mint(victim.address, price * 10n);
    await token.connect(victim).approve(await service1.getAddress(), ethers.MaxUint256);
    const order = {
      service: await service1.getAddress(),
      requester: victim.address,
      offeringId: 0,
      target: parsePrefix(`100.64.${i}.0/24`),
      sources: [parsePrefix("203.0.113.0/26")],
      duration: 3600,
      maxPrice: price,
      expiry,
      salt: BigInt(i + 1),
    };
    orders.push(await signOrder(victim, order, chainId));
  }
  return { ...market, orders };
}

describe("Gas table (docs/gas-table.json)", function () {
  const committed = committedTable();
  const measured: Record<string, GasEntry> = {};

  /** Records a figure and holds it to its target and (unless updating) to the committed table. */
  function check(operation: string, gas: bigint, conditions: string, target?: number): void {
    const entry: GasEntry =
      target === undefined ? { gas: Number(gas), conditions } : { gas: Number(gas), target, conditions };
    measured[operation] = entry;
    // When rewriting the table, only the target holds the figure.
    const table = UPDATE ? { compiler: "", tolerance: TOLERANCE, operations: { [operation]: entry } } : committed;
    const failures = gateFailures(table, operation, entry, TOLERANCE);
    expect(failures).to.deep.equal([]);
  }

  after(async function () {
    const rows = Object.entries(measured);
    if (rows.length === 0) return;
    const drift = rows
      .map(([op, { gas }]) => [op, gas, committed?.operations[op]?.gas] as const)
      .filter(([, gas, old]) => old !== undefined && gas !== old);
    for (const [op, gas, old] of drift) {
      console.log(`    gas table: ${op} ${old} → ${gas} (${(((gas - old!) / old!) * 100).toFixed(2)} %)`);
    }
    if (!UPDATE) return;
    const table: GasTable = {
      compiler: compilerDescription(),
      tolerance: TOLERANCE,
      operations: measured,
    };
    await writeFile(TABLE_JSON, JSON.stringify(table, null, 2) + "\n");
    const options = (await prettier.resolveConfig(TABLE_MD)) ?? {};
    await writeFile(TABLE_MD, await prettier.format(gasTableMarkdown(table), { ...options, filepath: TABLE_MD }));
    console.log(`    wrote ${path.relative(process.cwd(), TABLE_JSON)} and ${path.relative(process.cwd(), TABLE_MD)}`);
  });

  describe("market", function () {
    it("request", async function () {
      const { service1, token, victim } = await loadFixture(marketScene);
      const params = await requestParams(service1);
      await token.connect(victim).approve(await service1.getAddress(), await priceOf(service1, params));
      const gas = await gasOf(service1.connect(victim).request(params));
      check(
        "request",
        gas,
        "IPv4 /24 held outright, four sources, exact allowance, service holds other escrows",
        110_000,
      );
    });

    it("request with permit", async function () {
      const { service1, token, victim } = await loadFixture(marketScene);
      const params = await requestParams(service1);
      const price = await priceOf(service1, params);
      const deadline = BigInt(await time.latest()) + 600n;
      const { v, r, s } = await signPermit(token, victim, await service1.getAddress(), price, deadline);
      const gas = await gasOf(service1.connect(victim).requestWithPermit(params, price, deadline, v, r, s));
      check("request with permit", gas, "as request, with a permit for the exact price and no prior allowance");
    });

    it("requestMany, per request", async function () {
      const { directory, token, victim, service1, service2, service3 } = await loadFixture(marketScene);
      const batch: { service: string; params: RequestParamsStruct }[] = [];
      let price = 0n;
      for (const service of [service1, service2, service3]) {
        const params = await requestParams(service);
        batch.push({ service: await service.getAddress(), params });
        price += await priceOf(service, params);
      }
      await token.connect(victim).approve(await directory.getAddress(), price);
      const gas = await gasOf(directory.connect(victim).requestMany(batch));
      check("requestMany of 3, per request", gas / 3n, "three services, exact allowance for the directory");
    });

    it("acknowledge", async function () {
      const { service1, provider1, first } = await loadFixture(marketScene);
      const gas = await gasOf(service1.connect(provider1).acknowledge(first));
      check("acknowledge", gas, "payout to a provider holding tokens; another escrow stays", 60_000);
    });

    it(`acknowledgeBatch, per request`, async function () {
      const { service1, token, victim, provider1 } = await loadFixture(marketScene);
      const params = await requestParams(service1);
      await token
        .connect(victim)
        .approve(await service1.getAddress(), (await priceOf(service1, params)) * BigInt(ACK_BATCH));
      const next = (await service1.requestCount()) + 1n;
      for (let i = 0; i < ACK_BATCH; i++) await service1.connect(victim).request(params);
      const ids = Array.from({ length: ACK_BATCH }, (_, i) => requestIdOf(victim.address, next + BigInt(i)));
      const gas = await gasOf(service1.connect(provider1).acknowledgeBatch(ids));
      check(
        `acknowledgeBatch of ${ACK_BATCH}, per request`,
        gas / BigInt(ACK_BATCH),
        "one payout for the batch; total / 50",
        25_000,
      );
    });

    it("reject", async function () {
      const { service1, provider1, second } = await loadFixture(marketScene);
      const gas = await gasOf(service1.connect(provider1).reject(second, 1));
      check("reject", gas, "refund to a requester holding tokens");
    });

    it("reclaim", async function () {
      const { service1, victim, first } = await loadFixture(marketScene);
      await time.increaseTo((await service1.getRequest(first)).ackDeadline + 1n);
      const gas = await gasOf(service1.connect(victim).reclaim(first));
      check("reclaim", gas, "after the deadline");
    });

    it("withdraw", async function () {
      const { service1, victim, provider1, first } = await loadFixture(marketScene);
      await service1.connect(provider1).acknowledge(first);
      const gas = await gasOf(service1.connect(victim).withdraw(first));
      check("withdraw", gas, "a running mitigation");
    });

    it(`settleOrders, per order`, async function () {
      const { service1, provider1, orders } = await loadFixture(ordersScene);
      const tx = service1.connect(provider1).settleOrders(
        orders.map((o) => toOrderStruct(o.order)),
        orders.map((o) => o.signature),
      );
      const receipt = await (await tx).wait();
      const settled = receipt!.logs.filter((log) => service1.interface.parseLog(log)?.name === "OrderSettled").length;
      expect(settled).to.equal(ORDER_BATCH);
      check(
        `settleOrders of ${ORDER_BATCH}, per order`,
        receipt!.gasUsed / BigInt(ORDER_BATCH),
        "50 victims, each ordering for its own /24 with one source and an unlimited allowance; total / 50",
        55_000,
      );
    });

    it("ERC-20 transfer (reference)", async function () {
      const { token, victim, provider1 } = await loadFixture(marketScene);
      const gas = await gasOf(token.connect(victim).transfer(provider1.address, 1n));
      check("ERC-20 transfer (reference)", gas, "to an account holding tokens");
    });
  });

  describe("registry", function () {
    it("allocate", async function () {
      const { registry, registrar1, bob } = await loadFixture(registryScene);
      const gas = await gasOf(registry.connect(registrar1).allocate(...onChain("192.0.2.0/24"), bob.address, BOB_ASN));
      check("allocate", gas, "an IPv4 /24 beside other prefixes, nothing above it", 120_000);
    });

    it("allocate at nesting depth 4", async function () {
      const { registry, registrar1, bob } = await loadFixture(nestedScene);
      const gas = await gasOf(registry.connect(registrar1).allocate(...onChain("10.1.17.0/24"), bob.address, BOB_ASN));
      check("allocate at nesting depth 4", gas, "a /24 into a /20 in a /16 in a /8, beside a /24", 120_000);
    });

    it("delegate", async function () {
      const { registry, alice, bob } = await loadFixture(registryScene);
      const gas = await gasOf(registry.connect(alice).delegate(...onChain("10.1.2.0/24"), bob.address, BOB_ASN));
      check("delegate", gas, "an IPv4 /24 out of a held /16 with nothing inside yet", 120_000);
    });

    it("delegate at nesting depth 4", async function () {
      const { registry, carol, bob } = await loadFixture(nestedScene);
      const gas = await gasOf(registry.connect(carol).delegate(...onChain("10.1.18.0/24"), bob.address, BOB_ASN));
      check(
        "delegate at nesting depth 4",
        gas,
        "carol's /24 out of her /20, in bob's /16, in alice's /8, beside another /24",
        120_000,
      );
    });

    it("revoke", async function () {
      const { registry, carol } = await loadFixture(nestedScene);
      const gas = await gasOf(registry.connect(carol).revoke(...onChain("10.1.16.0/24")));
      check("revoke", gas, "a delegated /24 at nesting depth 4, by the holder it was delegated from");
    });

    it("allocateBatch, per prefix", async function () {
      const { registry, registrar1, bob } = await loadFixture(registryScene);
      const batch = Array.from({ length: ALLOCATE_BATCH }, (_, i) => {
        const [network, prefixLength] = onChain(`198.51.${i}.0/24`);
        return { network, prefixLength, holder: bob.address, originAsn: BOB_ASN };
      });
      const gas = await gasOf(registry.connect(registrar1).allocateBatch(batch));
      check(`allocateBatch of ${ALLOCATE_BATCH}, per prefix`, gas / BigInt(ALLOCATE_BATCH), "IPv4 /24s; total / 100");
    });

    describe("holderStatus (eth_call)", function () {
      async function callGas(scene: typeof crowdedScene, account: string, text: string, held: boolean) {
        const { registry } = await loadFixture(scene);
        expect((await registry.holderStatus(account, ...onChain(text)))[1]).to.equal(held);
        return registry.holderStatus.estimateGas(account, ...onChain(text));
      }

      it(`a /16 target with ${SUB_PREFIXES} sub-prefixes registered under it, all its holder's`, async function () {
        const { alice } = await loadFixture(busySlash16Scene);
        check(
          `holderStatus, /16 with ${SUB_PREFIXES} sub-prefixes, held`,
          await callGas(busySlash16Scene, alice.address, "10.1.0.0/16", true),
          `the target is registered; ${SUB_PREFIXES} /24s inside it, all registered to its holder`,
          60_000,
        );
      });

      it(`a /16 target with ${SUB_PREFIXES} sub-prefixes registered under it, one someone else's`, async function () {
        const { alice } = await loadFixture(busySlash16Scene);
        check(
          `holderStatus, /16 with ${SUB_PREFIXES} sub-prefixes, not held`,
          await callGas(busySlash16Scene, alice.address, "10.2.0.0/16", false),
          `the target is registered; ${SUB_PREFIXES} /24s inside it, one delegated to someone else`,
          60_000,
        );
      });

      it(`a /16 target inside a /8 with ${SUB_PREFIXES} sub-prefixes spread over 91 /16s`, async function () {
        const { alice } = await loadFixture(crowdedScene);
        check(
          `holderStatus, /16 inside a /8 with ${SUB_PREFIXES} sub-prefixes`,
          await callGas(crowdedScene, alice.address, "10.1.0.0/16", true),
          "held: ten of the /24s inside the /16, the holder's own; a walk of ~7 nodes from the /8, then down to a /24",
        );
        check(
          "holderStatus, /16 with a foreign /24 inside, inside the same /8",
          await callGas(crowdedScene, alice.address, "10.12.0.0/16", false),
          "not held: bob's /24 inside",
        );
      });

      it("a /32 target", async function () {
        const { alice } = await loadFixture(crowdedScene);
        check(
          "holderStatus, /32",
          await callGas(crowdedScene, alice.address, "10.200.0.1/32", true),
          "inside the /8 with 100 sub-prefixes",
          60_000,
        );
      });
    });
  });
});

/**
 * The gas table: every operation of the market and the registry, measured from receipts
 * (`gasUsed`, after refunds, including the 21,000 of the transaction) in fixed conditions, and
 * compared with the committed docs/gas-table.json. A figure more than 2 % above its committed
 * value fails the suite, so a gas regression cannot land without the table (and its review)
 * changing with it. `UPDATE_GAS_TABLE=1 npm run gas:check` rewrites docs/gas-table.json and
 * docs/gas-table.md from the measurements instead.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import prettier from "prettier";
import type { ContractTransactionResponse } from "ethers";

import { deployWithParticipants, onChain, ALICE_ASN, BOB_ASN } from "../helpers/fixtures";
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

const DOCS = path.join(__dirname, "..", "..", "docs");
const TABLE_JSON = path.join(DOCS, "gas-table.json");
const TABLE_MD = path.join(DOCS, "gas-table.md");
/** A figure may rise this much over the committed table before the suite fails. */
const TOLERANCE = 0.02;
const ACK_BATCH = 50;
const ALLOCATE_BATCH = 100;
const UPDATE = process.env.UPDATE_GAS_TABLE === "1";

interface Entry {
  gas: number;
  conditions: string;
}

interface GasTable {
  compiler: string;
  tolerance: number;
  operations: Record<string, Entry>;
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

describe("Gas table (docs/gas-table.json)", function () {
  const committed = committedTable();
  const measured: Record<string, Entry> = {};

  /** Records a figure and, unless updating, holds it to the committed table. */
  function check(operation: string, gas: bigint, conditions: string): void {
    measured[operation] = { gas: Number(gas), conditions };
    if (UPDATE) return;
    const entry = committed?.operations[operation];
    expect(entry, `"${operation}" is not in docs/gas-table.json: run UPDATE_GAS_TABLE=1 npm run gas:check`).to.not.be
      .undefined;
    const limit = Math.floor(entry!.gas * (1 + TOLERANCE));
    expect(
      Number(gas),
      `${operation}: ${gas} gas is more than ${TOLERANCE * 100} % above the table's ${entry!.gas}; ` +
        "explain the change and run UPDATE_GAS_TABLE=1 npm run gas:check",
    ).to.be.at.most(limit);
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
      compiler: "solc 0.8.28, optimizer 10,000 runs, EVM cancun",
      tolerance: TOLERANCE,
      operations: measured,
    };
    await writeFile(TABLE_JSON, JSON.stringify(table, null, 2) + "\n");
    const markdown = [
      "# Gas table",
      "",
      "Every operation's `receipt.gasUsed` (after refunds, including the 21,000 of the transaction) on the",
      "Hardhat network, measured by `test/gas/gasTable.test.ts`, which is part of `npm test`: a figure more",
      `than ${TOLERANCE * 100} % above [gas-table.json](gas-table.json) fails the suite. After a deliberate change,`,
      "`UPDATE_GAS_TABLE=1 npm run gas:check` rewrites both files; commit them with the change. Compiler:",
      `${table.compiler}.`,
      "",
      "| Operation | Gas used | Conditions |",
      "| --- | ---: | --- |",
      ...rows.map(([op, e]) => `| ${op} | ${e.gas.toLocaleString("en-US")} | ${e.conditions} |`),
      "",
    ].join("\n");
    const options = (await prettier.resolveConfig(TABLE_MD)) ?? {};
    await writeFile(TABLE_MD, await prettier.format(markdown, { ...options, filepath: TABLE_MD }));
    console.log(`    wrote ${path.relative(process.cwd(), TABLE_JSON)} and ${path.relative(process.cwd(), TABLE_MD)}`);
  });

  describe("market", function () {
    it("request", async function () {
      const { service1, token, victim } = await loadFixture(marketScene);
      const params = await requestParams(service1);
      await token.connect(victim).approve(await service1.getAddress(), await priceOf(service1, params));
      const gas = await gasOf(service1.connect(victim).request(params));
      check("request", gas, "IPv4 /24 held outright, four sources, exact allowance, service holds other escrows");
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
      check("acknowledge", gas, "payout to a provider holding tokens; another escrow stays");
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
      check("allocate", gas, "an IPv4 /24 where /24s are in use");
    });

    it("delegate", async function () {
      const { registry, alice, bob } = await loadFixture(registryScene);
      const gas = await gasOf(registry.connect(alice).delegate(...onChain("10.1.2.0/24"), bob.address, BOB_ASN));
      check("delegate", gas, "an IPv4 /24 out of a held /16");
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
  });
});

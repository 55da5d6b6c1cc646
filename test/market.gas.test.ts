/**
 * Gas of the market's main paths, measured from receipts (`gasUsed`, after refunds) in typical
 * conditions. Prints a table, rewrites docs/gas.md, and fails when a path exceeds its target.
 */
import { expect } from "chai";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import prettier from "prettier";
import type { ContractTransactionResponse } from "ethers";

import { invariantsAfterEach } from "./helpers/invariants";
import {
  PREFIX,
  deployMarket,
  openRequest,
  priceOf,
  requestIdOf,
  requestParams,
  signPermit,
} from "./helpers/marketFixtures";
import type { RequestParamsStruct } from "./helpers/marketFixtures";

const GAS_FILE = path.join(__dirname, "..", "docs", "gas.md");
const BATCH_SIZE = 50;

interface Measurement {
  operation: string;
  gasUsed: bigint;
  target?: bigint;
  conditions: string;
}

async function gasUsed(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("the transaction has no receipt");
  return receipt.gasUsed;
}

function formatGas(gas: bigint): string {
  return gas.toLocaleString("en-US");
}

function verdict(m: Measurement): string {
  if (m.target === undefined) return "—";
  return m.gasUsed <= m.target ? "yes" : `**no**, ${formatGas(m.gasUsed - m.target)} over`;
}

describe("Market gas", function () {
  const load = invariantsAfterEach();
  const measurements: Measurement[] = [];

  function record(measurement: Measurement): void {
    measurements.push(measurement);
    if (measurement.target !== undefined) {
      expect(measurement.gasUsed, `${measurement.operation}: gas above the target`).to.be.at.most(measurement.target);
    }
  }

  /**
   * The market in its typical state: victim has tokens, and two of its requests (`first` and
   * `second`, sequence numbers 1 and 2) are pending at service1, so the service already holds
   * escrow and its counters are non-zero; provider1 already holds tokens.
   */
  async function deployGasScene() {
    const market = await deployMarket();
    const first = await openRequest(market.service1, market.victim, market.token);
    const second = await openRequest(market.service1, market.victim, market.token, { target: PREFIX.victimV6 });
    expect(first.id).to.equal(requestIdOf(market.victim.address, 1));
    expect(second.id).to.equal(requestIdOf(market.victim.address, 2));
    return { ...market, first: first.id, second: second.id };
  }

  after(async function () {
    if (measurements.length === 0) return;
    const rows = measurements.map((m) => [
      m.operation,
      formatGas(m.gasUsed),
      m.target === undefined ? "—" : `≤ ${formatGas(m.target)}`,
      verdict(m),
      m.conditions,
    ]);
    const markdown = [
      "# Gas",
      "",
      "Gas of the market's main paths: `receipt.gasUsed` (after refunds, including the 21,000 of the",
      "transaction), measured on the Hardhat network by `test/market.gas.test.ts`, which rewrites this file",
      "and fails when a path exceeds its target. Compiler: solc 0.8.28, optimizer 10,000 runs, EVM Cancun.",
      "",
      "Typical conditions: the requester holds tokens and the target (an IPv4 /24 or IPv6 /36 held outright),",
      "the service already holds other open escrows, the provider already holds tokens, and a request lists",
      "four attack sources.",
      "",
      "| Operation | Gas used | Target | Within target | Conditions |",
      "| --- | ---: | ---: | --- | --- |",
      ...rows.map((cells) => `| ${cells.join(" | ")} |`),
      "",
    ].join("\n");
    const options = (await prettier.resolveConfig(GAS_FILE)) ?? {};
    const formatted = await prettier.format(markdown, { ...options, filepath: GAS_FILE });
    console.log(`\n${formatted.slice(formatted.indexOf("| Operation"))}`);
    await writeFile(GAS_FILE, formatted);
  });

  it("request", async function () {
    const { service1, token, victim } = await load(deployGasScene);
    const params = await requestParams(service1);
    await token.connect(victim).approve(await service1.getAddress(), await priceOf(service1, params));
    record({
      operation: "request",
      gasUsed: await gasUsed(service1.connect(victim).request(params)),
      target: 110_000n,
      conditions: "exact allowance approved beforehand",
    });
  });

  it("requestWithPermit", async function () {
    const { service1, token, victim } = await load(deployGasScene);
    const params = await requestParams(service1);
    const price = await priceOf(service1, params);
    const deadline = BigInt(await time.latest()) + 600n;
    const { v, r, s } = await signPermit(token, victim, await service1.getAddress(), price, deadline);
    record({
      operation: "requestWithPermit",
      gasUsed: await gasUsed(service1.connect(victim).requestWithPermit(params, price, deadline, v, r, s)),
      conditions: "permit for the exact price, no prior allowance",
    });
  });

  it("acknowledge", async function () {
    const { service1, provider1, first } = await load(deployGasScene);
    record({
      operation: "acknowledge",
      gasUsed: await gasUsed(service1.connect(provider1).acknowledge(first)),
      target: 60_000n,
      conditions: "another escrow stays in the service",
    });
  });

  it(`acknowledgeBatch of ${BATCH_SIZE}`, async function () {
    const { service1, token, victim, provider1 } = await load(deployGasScene);
    const params = await requestParams(service1);
    const price = await priceOf(service1, params);
    await token.connect(victim).approve(await service1.getAddress(), price * BigInt(BATCH_SIZE));
    const next = (await service1.requestCount()) + 1n;
    for (let i = 0; i < BATCH_SIZE; i++) await service1.connect(victim).request(params);
    const ids = Array.from({ length: BATCH_SIZE }, (_, i) => requestIdOf(victim.address, next + BigInt(i)));
    const total = await gasUsed(service1.connect(provider1).acknowledgeBatch(ids));
    record({
      operation: `acknowledgeBatch of ${BATCH_SIZE}, total`,
      gasUsed: total,
      conditions: "one payout for the batch",
    });
    record({
      operation: `acknowledgeBatch of ${BATCH_SIZE}, per request`,
      gasUsed: total / BigInt(BATCH_SIZE),
      target: 25_000n,
      conditions: "total / 50",
    });
  });

  it("reject", async function () {
    const { service1, provider1, second } = await load(deployGasScene);
    record({
      operation: "reject",
      gasUsed: await gasUsed(service1.connect(provider1).reject(second, 1)),
      conditions: "refund to a requester holding tokens",
    });
  });

  it("reclaim", async function () {
    const { service1, victim, first } = await load(deployGasScene);
    await time.increaseTo((await service1.getRequest(first)).ackDeadline + 1n);
    record({
      operation: "reclaim",
      gasUsed: await gasUsed(service1.connect(victim).reclaim(first)),
      conditions: "after the deadline",
    });
  });

  it("withdraw", async function () {
    const { service1, victim, provider1, first } = await load(deployGasScene);
    await service1.connect(provider1).acknowledge(first);
    record({
      operation: "withdraw",
      gasUsed: await gasUsed(service1.connect(victim).withdraw(first)),
      conditions: "a running mitigation",
    });
  });

  it("requestMany of 3", async function () {
    const { directory, token, victim, service1, service2, service3 } = await load(deployGasScene);
    const batch: { service: string; params: RequestParamsStruct }[] = [];
    let price = 0n;
    for (const service of [service1, service2, service3]) {
      const params = await requestParams(service);
      batch.push({ service: await service.getAddress(), params });
      price += await priceOf(service, params);
    }
    await token.connect(victim).approve(await directory.getAddress(), price);
    const total = await gasUsed(directory.connect(victim).requestMany(batch));
    record({
      operation: "requestMany of 3, total",
      gasUsed: total,
      conditions: "three services, exact allowance for the directory",
    });
    record({
      operation: "requestMany of 3, per request",
      gasUsed: total / 3n,
      conditions: "total / 3; two of the services hold no escrow yet",
    });
  });
});

/**
 * Splitting a purchase into request transactions under a gas limit: the pure split, the gas model
 * against the chain, and the victim agent buying from more providers than one transaction holds.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import { VictimAgent } from "../../src/victim/agent";
import { gasLimitFor } from "../../src/clients/preflight";
import { REQUEST_GAS, orderGas, splitByGas } from "../../src/victim/batches";
import { deploySmallInternet, order, providerAgent } from "./helpers";

const oneSource = (id: string) => ({ id, sources: ["198.51.100.1"] });

/**
 * The small Internet under its own snapshot: reverting to a snapshot taken long before moves the
 * chain's clock, and tests later in the run that share deploySmallInternet's set deadlines from it.
 */
function smallInternet() {
  return deploySmallInternet();
}

describe("splitByGas", function () {
  it("keeps consecutive orders together while their modelled gas, with the signer's margin, fits", function () {
    const twoPerTransaction = gasLimitFor(REQUEST_GAS.transaction + 2n * orderGas(oneSource("")));
    const orders = ["a", "b", "c", "d", "e"].map(oneSource);
    expect(splitByGas(orders, twoPerTransaction).map((g) => g.map((o) => o.id))).to.deep.equal([
      ["a", "b"],
      ["c", "d"],
      ["e"],
    ]);
    expect(splitByGas(orders, twoPerTransaction - 1n).map((g) => g.length)).to.deep.equal([1, 1, 1, 1, 1]);
    expect(splitByGas(orders, 100_000_000n)).to.have.length(1);
    expect(splitByGas([], 1_000_000n)).to.deep.equal([]);
  });

  it("counts the sources of each order", function () {
    const heavy = { id: "heavy", sources: Array.from({ length: 100 }, () => "198.51.100.1") };
    expect(orderGas(heavy)).to.equal(REQUEST_GAS.order + 100n * REQUEST_GAS.source);
    const limit = gasLimitFor(REQUEST_GAS.transaction + orderGas(heavy) + orderGas(oneSource("")));
    expect(splitByGas([oneSource("a"), heavy, oneSource("b")], limit).map((g) => g.map((o) => o.id))).to.deep.equal([
      ["a", "heavy"],
      ["b"],
    ]);
  });

  it("refuses an order that alone exceeds the limit, saying which", function () {
    expect(() => splitByGas([oneSource("a")], 100_000n)).to.throw(
      /One order \(1 sources\) needs about \d+ gas with its transaction, more than the 100000 allowed/,
    );
  });

  it("models at least what the chain charges for services' first requests", async function () {
    const net = await loadFixture(smallInternet);
    const sources = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"];
    const orders = [
      await order(net, "alpha", sources),
      await order(
        net,
        "beta",
        sources.map((s) => s.replace(/\.(\d)$/, ".20$1")),
        { offeringId: 1 },
      ),
      await order(net, "gamma", ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]),
    ];
    const { receipt } = await net.victim.requestMany(orders);
    const modelled = REQUEST_GAS.transaction + orders.reduce((sum, o) => sum + orderGas(o), 0n);
    expect(receipt.gasUsed).to.be.at.most(modelled);
    // Not so far above that batches come out needlessly small.
    expect(receipt.gasUsed * 10n).to.be.at.least(modelled * 6n);
  });
});

describe("VictimAgent with a gas limit per transaction", function () {
  it("buys from every provider in several transactions sent together, and all acknowledge", async function () {
    const net = await loadFixture(smallInternet);
    const agents = ["alpha", "beta", "gamma"].map((k) => providerAgent(net, k));
    for (const agent of agents) agent.start();
    const lines: string[] = [];
    try {
      const summary = await new VictimAgent({
        registry: net.victimRegistry,
        market: net.victim,
        provider: ethers.provider,
        ackWindow: 300,
        pollMs: 20,
        timeoutMs: 60_000,
        // Room for one one-source order per transaction.
        maxGasPerTransaction: gasLimitFor(REQUEST_GAS.transaction + orderGas(oneSource(""))),
        onProgress: (line) => lines.push(line),
      }).run({
        target: "203.0.113.10/32",
        lifetime: 3600,
        topTalkers: [{ source: "198.51.100.23" }, { source: "198.51.100.200" }, { source: "192.0.2.66" }],
      });
      expect(summary.requestTransactions).to.equal(3);
      expect(summary.purchases.map((p) => p.state)).to.deep.equal(["acknowledged", "acknowledged", "acknowledged"]);
      expect(summary.providers).to.have.members([net.services.alpha, net.services.beta, net.services.gamma]);
      expect(summary.msToPlan).to.be.a("number");
      expect(summary.msToRequest).to.be.at.least(summary.msToPlan!);
      expect(summary.msToLastAck).to.be.at.least(summary.msToRequest!);
      expect(lines.some((l) => /^requested from 3 providers in 3 transactions \(/.test(l))).to.equal(true);
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
    }
  });
});

/**
 * The victim agent with provider agents running on the in-process network: buying from several
 * providers in one transaction, buying only for sources of the target's address family, re-buying
 * elsewhere after a rejection, reclaiming the escrow of an unanswered request and re-buying, and
 * reporting sources nobody serves.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { VictimAgent, describeSummary } from "../../src/victim/agent";
import { REJECT_REASON } from "../../src/clients/market";
import type { ProviderAgent } from "../../src/provider/agent";
import { deploySmallInternet, providerAgent, type SmallInternet } from "./helpers";

/** Gamma may also cover Beta's AS64520, at a lower price than Beta. */
async function withSecondProviderForBeta(): Promise<SmallInternet> {
  const net = await deploySmallInternet();
  const gamma = await net.accounts.orgs.gamma.getAddress();
  await (
    await net.system.directory.connect(net.accounts.orgs.beta).setCoverageAuthorization(64520, gamma, true)
  ).wait();
  await (await net.system.directory.connect(net.accounts.orgs.gamma).addCoverage([64520])).wait();
  return net;
}

function victimAgent(net: SmallInternet, lines: string[] = [], ackWindow = 300): VictimAgent {
  return new VictimAgent({
    registry: net.victimRegistry,
    market: net.victim,
    provider: ethers.provider,
    ackWindow,
    pollMs: 20,
    timeoutMs: 60_000,
    onProgress: (line) => lines.push(line),
  });
}

async function withAgents<T>(agents: ProviderAgent[], work: () => Promise<T>): Promise<T> {
  for (const a of agents) a.start();
  try {
    return await work();
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
  }
}

describe("VictimAgent", function () {
  it("buys from every provider near the sources in one transaction and reports the unserved", async function () {
    const net = await loadFixture(deploySmallInternet);
    const agents = ["alpha", "beta", "gamma"].map((k) => providerAgent(net, k));
    const summary = await withAgents(agents, () =>
      victimAgent(net).run({
        target: "203.0.113.10/32",
        lifetime: 3600,
        topTalkers: [
          { source: "198.51.100.23", bps: 4e9 },
          { source: "198.51.100.200" },
          { source: "192.0.2.66" },
          { source: "192.0.2.200" },
          { source: "100.64.0.1" },
        ],
      }),
    );
    expect(summary.requestTransactions).to.equal(1);
    expect(summary.providers).to.have.members([net.services.alpha, net.services.beta, net.services.gamma]);
    expect(summary.purchases.map((p) => p.state)).to.deep.equal(["acknowledged", "acknowledged", "acknowledged"]);
    expect(summary.cost).to.equal(summary.purchases.reduce((s, p) => s + p.price, 0n));
    expect(summary.refunded).to.equal(0n);
    expect(summary.unserved.map((u) => [u.source, u.reason])).to.have.deep.members([
      ["100.64.0.1", "no registered prefix contains it"],
      ["192.0.2.200/32", "no provider covers AS64550"],
    ]);
    expect(summary.msToLastAck).to.be.a("number");
    expect(describeSummary(summary).at(-1)).to.match(/^time from attack report to last acknowledgement: \d+ ms$/);
  });

  it("buys nothing for sources of the other address family than the target", async function () {
    const net = await loadFixture(deploySmallInternet);
    const lines: string[] = [];
    // Alpha covers the IPv6 source's AS, Gamma the IPv4 one's; the target is IPv4.
    const summary = await withAgents([providerAgent(net, "alpha"), providerAgent(net, "gamma")], () =>
      victimAgent(net, lines).run({
        target: "203.0.113.10/32",
        lifetime: 3600,
        topTalkers: [{ source: "2001:db8:1000::66" }, { source: "192.0.2.66" }],
      }),
    );
    expect(summary.purchases.map((p) => [p.service, p.state, p.sources])).to.deep.equal([
      [net.services.gamma, "acknowledged", ["192.0.2.66/32"]],
    ]);
    expect(summary.refunded).to.equal(0n);
    expect(summary.unserved.map((u) => [u.source, u.reason])).to.deep.equal([
      [
        "2001:db8:1000::66",
        "it is IPv6 and the target is IPv4: a filter matches one address family, so no provider would act on it",
      ],
    ]);
    expect(lines).to.include(
      "not served: 2001:db8:1000::66: it is IPv6 and the target is IPv4: a filter matches one address family, so no provider would act on it",
    );
  });

  it("re-buys from another provider when the cheapest one rejects", async function () {
    const net = await loadFixture(withSecondProviderForBeta);
    const lines: string[] = [];
    // Gamma (6 MIT/h) is cheaper than Beta (8 MIT/h) for AS64520, but full.
    const agents = [providerAgent(net, "gamma", { policy: { capacity: { 0: 0 } } }), providerAgent(net, "beta")];
    const summary = await withAgents(agents, () =>
      victimAgent(net, lines).run({
        target: "203.0.113.0/24",
        lifetime: 3600,
        topTalkers: [{ source: "198.51.100.200" }],
      }),
    );
    expect(summary.purchases.map((p) => [p.service, p.state, p.reasonCode])).to.deep.equal([
      [net.services.gamma, "rejected", REJECT_REASON.capacity],
      [net.services.beta, "acknowledged", undefined],
    ]);
    expect(summary.requestTransactions).to.equal(2);
    expect(summary.refunded).to.equal(summary.purchases[0].price);
    expect(summary.providers).to.deep.equal([net.services.beta]);
    expect(lines.some((l) => l.includes("rejected #1 (capacity); buying its 1 source(s) elsewhere"))).to.equal(true);
  });

  it("reclaims the escrow when a provider lets the deadline pass, and re-buys elsewhere", async function () {
    const net = await loadFixture(withSecondProviderForBeta);
    const lines: string[] = [];
    const victimBalance = () => net.system.token.balanceOf(net.accounts.orgs.victim.getAddress());
    const before = await victimBalance();
    // Gamma's agent is not running; Beta's is.
    const summary = await withAgents([providerAgent(net, "beta")], async () => {
      const run = victimAgent(net, lines, 60).run({
        target: "203.0.113.0/24",
        lifetime: 3600,
        topTalkers: [{ source: "198.51.100.200" }],
      });
      const deadline = Date.now() + 10_000;
      while (!lines.some((l) => l.startsWith("requested")) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await time.increase(61);
      return run;
    });
    expect(summary.purchases.map((p) => [p.service, p.state])).to.deep.equal([
      [net.services.gamma, "reclaimed"],
      [net.services.beta, "acknowledged"],
    ]);
    expect(await victimBalance()).to.equal(before - summary.cost);
    expect(await net.system.token.balanceOf(net.services.gamma)).to.equal(0n);
  });

  it("reports a source as unserved when its only provider rejects", async function () {
    const net = await loadFixture(deploySmallInternet);
    const summary = await withAgents([providerAgent(net, "delta", { policy: { capacity: { 0: 0 } } })], () =>
      victimAgent(net).run({ target: "203.0.113.0/24", lifetime: 3600, topTalkers: [{ source: "192.0.2.150" }] }),
    );
    expect(summary.purchases.map((p) => p.state)).to.deep.equal(["rejected"]);
    expect(summary.msToLastAck).to.equal(null);
    expect(summary.unserved).to.have.length(1);
    expect(summary.unserved[0].reason).to.match(/rejected #1 \(capacity\); no provider covers AS64540$/);
  });
});

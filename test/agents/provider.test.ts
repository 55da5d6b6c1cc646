/**
 * The provider agent on the in-process network, driven tick by tick (deterministic): decisions,
 * batched acknowledgements, rules in the back end, the end of a mitigation, the cursor, the
 * confirmation depth, and reconciliation after a crash.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";

import { AgentStore } from "../../src/provider/store";
import { LogBackend } from "../../src/backends/log";
import { DOTS_STATUS, REJECT_REASON } from "../../src/clients/market";
import { RegistryClient } from "../../src/clients/registry";
import { ProviderServiceContract__factory } from "../../typechain-types";
import { deploySmallInternet, order, providerAgent, type SmallInternet } from "./helpers";

async function onChain(net: SmallInternet, key: string) {
  const service = ProviderServiceContract__factory.connect(net.services[key], ethers.provider);
  const [acks, rejects, reports] = await Promise.all([
    service.queryFilter(service.filters.MitigationAcknowledged()),
    service.queryFilter(service.filters.MitigationRejected()),
    service.queryFilter(service.filters.MitigationStatusReported()),
  ]);
  return {
    acks,
    rejects,
    reports: reports.map((e) => [e.args.requestId, Number(e.args.status)] as const),
  };
}

const rulesOf = async (backend: LogBackend) =>
  (await backend.list()).map((r) => `${r.family} ${r.source} ${r.destination} ${r.action.kind}`).sort();

describe("ProviderAgent", function () {
  describe("when several requests arrive together", function () {
    it("installs one rule per source and acknowledges them in one transaction", async function () {
      const net = await loadFixture(deploySmallInternet);
      const backend = new LogBackend();
      const agent = providerAgent(net, "alpha", { backend });
      const { events } = await net.victim.requestMany([await order(net, "alpha", ["198.51.100.23", "198.51.100.77"])]);
      await net.victim.request(await order(net, "alpha", ["198.51.100.64/26"], { target: "203.0.113.10/32" }));
      await net.victim.request(
        await order(net, "alpha", ["2001:db8:1000::/40"], { target: "2001:db8:a::/48", duration: 7200 }),
      );

      await agent.tick();

      const chain = await onChain(net, "alpha");
      expect(chain.acks).to.have.length(3);
      expect(new Set(chain.acks.map((e) => e.transactionHash)).size).to.equal(1);
      expect(chain.rejects).to.have.length(0);
      expect(await rulesOf(backend)).to.deep.equal([
        "ipv4 198.51.100.23/32 203.0.113.0/24 discard",
        "ipv4 198.51.100.64/26 203.0.113.10/32 discard",
        "ipv4 198.51.100.77/32 203.0.113.0/24 discard",
        "ipv6 2001:db8:1000::/40 2001:db8:a::/48 discard",
      ]);
      expect(chain.reports.map(([, s]) => s)).to.deep.equal([1, 1, 1]);
      expect(agent.counts()).to.deep.equal({ active: 3 });
      expect(agent.store.request(events[0].requestId)!.reported).to.deep.equal([DOTS_STATUS.inProgress]);
    });

    it("rate-limits for a rate-limiting offering, at the configured rate", async function () {
      const net = await loadFixture(deploySmallInternet);
      const backend = new LogBackend();
      const agent = providerAgent(net, "beta", { backend, policy: { rateLimitBytesPerSecond: 1_250_000 } });
      await net.victim.request(await order(net, "beta", ["198.51.100.200"]));
      await agent.tick();
      expect(await backend.list()).to.deep.include.members([
        {
          id: `${net.services.beta}/${(await onChain(net, "beta")).acks[0].args.requestId}/0`,
          family: "ipv4",
          source: "198.51.100.200/32",
          destination: "203.0.113.0/24",
          action: { kind: "rate-limit", bytesPerSecond: 1_250_000 },
        },
      ]);
    });
  });

  describe("when it cannot serve a request", function () {
    it("rejects with sourcesNotInNetwork when no source is in an AS it covers", async function () {
      const net = await loadFixture(deploySmallInternet);
      const agent = providerAgent(net, "alpha");
      await net.victim.request(await order(net, "alpha", ["192.0.2.200", "203.0.113.99"]));
      await agent.tick();
      const chain = await onChain(net, "alpha");
      expect(chain.acks).to.have.length(0);
      expect(chain.rejects.map((e) => Number(e.args.reason))).to.deep.equal([REJECT_REASON.sourcesNotInNetwork]);
      expect(await agent.backend.list()).to.deep.equal([]);
    });

    it("filters only the sources in its network and skips the others", async function () {
      const net = await loadFixture(deploySmallInternet);
      const backend = new LogBackend();
      const agent = providerAgent(net, "alpha", { backend });
      await net.victim.request(await order(net, "alpha", ["192.0.2.200", "198.51.100.23"]));
      await agent.tick();
      expect(await rulesOf(backend)).to.deep.equal(["ipv4 198.51.100.23/32 203.0.113.0/24 discard"]);
    });

    it("rejects with capacity when the offering is full", async function () {
      const net = await loadFixture(deploySmallInternet);
      const agent = providerAgent(net, "alpha", { policy: { capacity: { 0: 1 } } });
      await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
      await net.victim.request(await order(net, "alpha", ["198.51.100.24"]));
      await agent.tick();
      const chain = await onChain(net, "alpha");
      expect(chain.acks).to.have.length(1);
      expect(chain.rejects.map((e) => Number(e.args.reason))).to.deep.equal([REJECT_REASON.capacity]);
    });

    it("rejects with notVerified when the requester was suspended after requesting", async function () {
      const net = await loadFixture(deploySmallInternet);
      const agent = providerAgent(net, "alpha");
      await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
      const registrar = new RegistryClient(net.system.registry.connect(net.accounts.registrars[0]));
      await registrar.suspendParticipant(await net.accounts.orgs.victim.getAddress());
      await agent.tick();
      expect((await onChain(net, "alpha")).rejects.map((e) => Number(e.args.reason))).to.deep.equal([
        REJECT_REASON.notVerified,
      ]);
    });

    it("rejects when the acknowledgement deadline is too close", async function () {
      const net = await loadFixture(deploySmallInternet);
      const agent = providerAgent(net, "alpha", { policy: { minAckMarginSeconds: 120 } });
      // A fresh block first: after a snapshot revert the latest block's time can lag the clock
      // the next block will use by however long the earlier tests took.
      await mine();
      await net.victim.request(
        await order(net, "alpha", ["198.51.100.23"], { ackDeadline: (await time.latest()) + 60 }),
      );
      await agent.tick();
      expect((await onChain(net, "alpha")).rejects.map((e) => Number(e.args.reason))).to.deep.equal([
        REJECT_REASON.policy,
      ]);
    });
  });

  describe("when a mitigation ends", function () {
    it("removes its rules and reports terminated at the end time", async function () {
      const net = await loadFixture(deploySmallInternet);
      const backend = new LogBackend();
      const agent = providerAgent(net, "alpha", { backend });
      const { event } = await net.victim.request(await order(net, "alpha", ["198.51.100.23"], { duration: 600 }));
      await agent.tick();
      expect(await backend.list()).to.have.length(1);
      const { endsAt } = await net.victim.getRequest(net.services.alpha, event.requestId);
      await time.increaseTo(endsAt - 1);
      await agent.tick();
      expect(await backend.list()).to.have.length(1);
      await time.increaseTo(endsAt);
      await agent.tick();
      expect(await backend.list()).to.deep.equal([]);
      expect((await onChain(net, "alpha")).reports.map(([, s]) => s)).to.deep.equal([1, DOTS_STATUS.terminated]);
      expect(agent.counts()).to.deep.equal({ ended: 1 });
    });

    it("removes its rules when the victim withdraws, keeping a rule another request still needs", async function () {
      const net = await loadFixture(deploySmallInternet);
      const backend = new LogBackend();
      const agent = providerAgent(net, "alpha", { backend });
      const first = await net.victim.request(await order(net, "alpha", ["198.51.100.23", "198.51.100.24"]));
      await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
      await agent.tick();
      expect(await backend.list()).to.have.length(2);
      await net.victim.withdraw(net.services.alpha, first.event.requestId);
      await agent.tick();
      expect(await rulesOf(backend)).to.deep.equal(["ipv4 198.51.100.23/32 203.0.113.0/24 discard"]);
      expect(agent.store.request(first.event.requestId)!.state).to.equal("ended");
    });

    it("between full syncs touches only what changed, and the next full sync restores a rule removed behind its back", async function () {
      const net = await loadFixture(deploySmallInternet);
      const backend = new LogBackend();
      const agent = providerAgent(net, "alpha", { backend, resyncEveryMs: 3_600_000 });
      await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
      await agent.tick();
      const [rule] = await backend.list();
      // Someone removes the agent's rule from the router; a new request arrives meanwhile.
      await backend.remove(rule);
      await net.victim.request(await order(net, "alpha", ["198.51.100.77"]));
      await agent.tick();
      // Only the new request's match was synced: the store still believes the first rule in force.
      expect(await rulesOf(backend)).to.deep.equal(["ipv4 198.51.100.77/32 203.0.113.0/24 discard"]);
      expect(agent.store.rules({ wanted: true }).every((r) => r.state === "installed")).to.equal(true);

      // A restarted agent (or the hourly resync) reads the back end's own list and reinstalls it.
      const restarted = providerAgent(net, "alpha", { backend, store: agent.store, resyncEveryMs: 3_600_000 });
      await restarted.tick();
      expect(await rulesOf(backend)).to.deep.equal([
        "ipv4 198.51.100.23/32 203.0.113.0/24 discard",
        "ipv4 198.51.100.77/32 203.0.113.0/24 discard",
      ]);
    });
  });

  describe("following the chain", function () {
    it("keeps its cursor: a restarted agent does not process old events again", async function () {
      const net = await loadFixture(deploySmallInternet);
      const store = new AgentStore(":memory:");
      const backend = new LogBackend();
      const first = providerAgent(net, "alpha", { store, backend });
      await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
      await first.tick();
      const cursor = store.cursor();
      const second = providerAgent(net, "alpha", { store, backend });
      await second.tick();
      expect(store.cursor()).to.be.at.least(cursor!);
      expect(store.journalEntries().filter((e) => e.event === "received")).to.have.length(1);
      expect((await onChain(net, "alpha")).acks).to.have.length(1);
    });

    it("waits for the confirmation depth before acting", async function () {
      const net = await loadFixture(deploySmallInternet);
      const agent = providerAgent(net, "alpha", { confirmations: 2 });
      await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
      await agent.tick();
      expect(agent.counts()).to.deep.equal({});
      await mine(2);
      await agent.tick();
      expect(agent.counts()).to.deep.equal({ active: 1 });
    });
  });

  describe("after a crash", function () {
    it("finds an acknowledgement it sent but did not record, and reinstalls lost rules", async function () {
      const net = await loadFixture(deploySmallInternet);
      const store = new AgentStore(":memory:");
      const { event } = await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
      await providerAgent(net, "alpha", { store, statusReports: false }).tick();
      // As if killed after the acknowledgement was mined, before it was recorded; the back end
      // lost its rules (a restarted router).
      store.update(event.requestId, "acking");
      const backend = new LogBackend();
      const restarted = providerAgent(net, "alpha", { store, backend, statusReports: false });
      await restarted.tick();
      expect((await onChain(net, "alpha")).acks).to.have.length(1);
      expect(store.request(event.requestId)!.state).to.equal("active");
      expect(await rulesOf(backend)).to.deep.equal(["ipv4 198.51.100.23/32 203.0.113.0/24 discard"]);
    });

    it("acknowledges once a request it meant to acknowledge but never sent", async function () {
      const net = await loadFixture(deploySmallInternet);
      const store = new AgentStore(":memory:");
      const backend = new LogBackend();
      const agent = providerAgent(net, "alpha", { store, backend });
      const { event } = await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
      // Record the event and the decision, but stop before acknowledging.
      await (agent as unknown as { follow(head: number): Promise<void> }).follow(
        await ethers.provider.getBlockNumber(),
      );
      store.update(event.requestId, "acking");
      await providerAgent(net, "alpha", { store, backend }).tick();
      expect((await onChain(net, "alpha")).acks).to.have.length(1);
      expect(store.request(event.requestId)!.state).to.equal("active");
    });

    it("removes a left-over rule of a request that ended while it was down", async function () {
      const net = await loadFixture(deploySmallInternet);
      const store = new AgentStore(":memory:");
      const backend = new LogBackend();
      const { event } = await net.victim.request(await order(net, "alpha", ["198.51.100.23"], { duration: 60 }));
      await providerAgent(net, "alpha", { store, backend }).tick();
      await time.increase(61);
      // A stale rule of this agent's that the store no longer wants.
      const [rule] = await backend.list();
      store.unwantRules(event.requestId);
      await backend.install(rule);
      await providerAgent(net, "alpha", { store, backend }).tick();
      expect(await backend.list()).to.deep.equal([]);
      expect((await onChain(net, "alpha")).reports.map(([, s]) => s)).to.deep.equal([1, DOTS_STATUS.terminated]);
    });

    it("sends a report only once when the crash came after it was mined", async function () {
      const net = await loadFixture(deploySmallInternet);
      const store = new AgentStore(":memory:");
      const { event } = await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
      await providerAgent(net, "alpha", { store }).tick();
      store.setPendingReport(event.requestId, DOTS_STATUS.inProgress);
      await providerAgent(net, "alpha", { store }).tick();
      expect((await onChain(net, "alpha")).reports.map(([, s]) => s)).to.deep.equal([1]);
    });
  });

  describe("running as a loop", function () {
    it("serves requests until stopped, and reports each step", async function () {
      const net = await loadFixture(deploySmallInternet);
      const lines: string[] = [];
      const agent = providerAgent(net, "gamma", { onProgress: (l) => lines.push(l) });
      agent.start();
      try {
        await net.victim.request(await order(net, "gamma", ["192.0.2.66"]));
        const deadline = Date.now() + 10_000;
        while ((await onChain(net, "gamma")).acks.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await agent.stop();
      }
      expect((await onChain(net, "gamma")).acks).to.have.length(1);
      expect(lines.some((l) => l.startsWith("install ipv4 192.0.2.66/32"))).to.equal(true);
      expect(lines.some((l) => l.startsWith("acknowledged #"))).to.equal(true);
      expect(agent.running).to.equal(false);
    });
  });
});

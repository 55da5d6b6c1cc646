/**
 * The victim agent buying by signed order, on the in-process network: end to end from the provider
 * agent's own HTTP intake (settled, its rule installed, withdrawn; a 503 before it has read the
 * chain bought by request), and against a stand-in intake (test/helpers/orderIntake.ts) for what a
 * misbehaving provider does: the order path preferred where an endpoint is published; the fallback
 * to the direct request on a refusal, on an intake that is down, mute or failing, and on an order
 * not settled in time (cancelled on chain first: nothing is bought twice, even when the settlement
 * races the cancellation); one provider by order and one by request in one report; a provider
 * settling an order its agent refused is found out; the daemon's spending policy and store count
 * orders, and an order outstanding across a restart is followed and withdrawn at the unban; the
 * DOTS bridge likewise.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { MaxUint256 } from "ethers";

import { MarketClient, parseServiceLog } from "../../src/clients/market";
import { OrderSkipReason, hashOrder, isOrderRequestId, orderRequestId, toOrderStruct } from "../../src/clients/orders";
import { freePort } from "../../src/net";
import { MarketBridge } from "../../src/dots/bridge";
import type { MarketOrder, PurchaseView } from "../../src/dots/mitigations";
import type { StoredPurchase } from "../../src/dots/store";
import { parsePrefix } from "../../src/prefix";
import { VictimAgent, describeSummary, type VictimAgentOptions, type VictimSummary } from "../../src/victim/agent";
import { OrderDesk, ordersUrl, readOrderRequest } from "../../src/victim/orders";
import { parseSpendingPolicy, type SpendingPolicy } from "../../src/victim/policy";
import { VictimStore } from "../../src/victim/store";
import type { ProviderAgent } from "../../src/provider/agent";
import { startVictimDaemon } from "../helpers/victimDaemon";
import { LogBackend } from "../../src/backends/log";
import { startOrderServer, type OrderServer } from "../../src/provider/orderServer";
import { StandInIntake, type StandInIntakeOptions } from "../helpers/orderIntake";
import { deploySmallInternet, providerAgent, until, type SmallInternet } from "../agents/helpers";

const TARGET = "203.0.113.10/32";
/** In Gamma's AS64530 (the provider taking orders here) and in Alpha's AS64510. */
const GAMMA_SOURCE = "192.0.2.66";
const ALPHA_SOURCE = "198.51.100.23";

describe("VictimAgent with signed orders", function () {
  this.timeout(60_000);
  let intake: StandInIntake | undefined;
  let agents: ProviderAgent[] = [];
  let lines: string[] = [];

  afterEach(async function () {
    if (this.currentTest?.state === "failed") console.log(lines.join("\n"));
    await intake?.close();
    intake = undefined;
    await Promise.all(agents.map((a) => a.stop()));
    agents = [];
    lines = [];
  });

  /** Gamma's order intake (a stand-in), its URL published on Gamma's service. */
  async function gammaIntake(net: SmallInternet, options: Partial<StandInIntakeOptions> = {}): Promise<StandInIntake> {
    intake = await StandInIntake.start({
      market: new MarketClient(net.system.directory, net.system.token, net.accounts.orgs.gamma),
      provider: ethers.provider,
      service: net.services.gamma,
      ...options,
    });
    await intake.publish();
    return intake;
  }

  /** Provider agents for the direct requests (they ignore orders). */
  function startAgents(net: SmallInternet, keys: string[]): void {
    agents = keys.map((k) => providerAgent(net, k));
    for (const a of agents) a.start();
  }

  function victimAgent(net: SmallInternet, options: Partial<VictimAgentOptions> = {}): VictimAgent {
    return new VictimAgent({
      registry: net.victimRegistry,
      market: net.victim,
      provider: ethers.provider,
      ackWindow: 300,
      pollMs: 20,
      timeoutMs: 30_000,
      onProgress: (line) => lines.push(line),
      ...options,
    });
  }

  const attack = (...sources: string[]) => ({
    target: TARGET,
    lifetime: 3600,
    topTalkers: sources.map((source) => ({ source })),
  });

  /** The senders of the transactions waiting to be mined (lower case). */
  async function pendingSenders(): Promise<string[]> {
    const block = (await ethers.provider.send("eth_getBlockByNumber", ["pending", true])) as {
      transactions: { from: string }[];
    };
    return block.transactions.map((tx) => tx.from.toLowerCase());
  }

  const balanceOf = async (net: SmallInternet, key: string) =>
    net.system.token.balanceOf(await net.accounts.orgs[key].getAddress());

  /** The purchases as [provider key, via, state]. */
  function shape(net: SmallInternet, summary: VictimSummary): [string, string, string][] {
    const keyOf = (service: string) => Object.keys(net.services).find((k) => net.services[k] === service)!;
    return summary.purchases.map((p) => [keyOf(p.service), p.via, p.state]);
  }

  describe("when the service publishes an order endpoint", function () {
    it("signs an order, sends it to the intake and follows its settlement on chain", async function () {
      const net = await loadFixture(deploySmallInternet);
      const intake = await gammaIntake(net);
      const victim = await net.accounts.orgs.victim.getAddress();
      const [victimBefore, gammaBefore] = [await balanceOf(net, "victim"), await balanceOf(net, "gamma")];

      const summary = await victimAgent(net).run(attack(GAMMA_SOURCE));

      expect(shape(net, summary)).to.deep.equal([["gamma", "order", "acknowledged"]]);
      const [bought] = summary.purchases;
      expect(summary.requestTransactions).to.equal(0);
      expect(summary.ordersSent).to.equal(1);
      // The order the intake received is the one settled, under its request id.
      expect(intake.received).to.have.length(1);
      const [order] = intake.received;
      const hash = hashOrder(order.order, 31337n);
      expect(bought.orderHash).to.equal(hash);
      expect(bought.requestId).to.equal(orderRequestId(victim, hash));
      expect(order.order.maxPrice).to.equal(bought.price);
      expect(order.order.salt >> 64n).to.be.closeTo(BigInt(Date.now()), 60_000n);
      const request = await net.victim.getRequest(net.services.gamma, bought.requestId);
      expect(request.status).to.equal("acknowledged");
      expect(bought.endsAt).to.equal(request.endsAt);
      // The expiry is short: about 30 s after the chain's time when it was signed.
      expect(order.order.expiry - request.startedAt).to.be.within(25, 31);
      // Paid straight from the victim to the provider, at the planned price.
      expect(await balanceOf(net, "victim")).to.equal(victimBefore - bought.price);
      expect(await balanceOf(net, "gamma")).to.equal(gammaBefore + bought.price);
      expect(summary.cost).to.equal(bought.price);
      expect(await net.system.token.allowance(victim, net.services.gamma)).to.equal(MaxUint256);
      expect(lines).to.include("approved " + net.services.gamma + "'s service for orders (unlimited, once)");
      expect(lines.some((l) => /^sent order 0x[0-9a-f]{8} to 0x\w+: accepted \(\d+ ms after the report\)$/.test(l))).to
        .be.true;
      expect(describeSummary(summary)[1]).to.match(/; 0 request transaction\(s\); 1 signed order\(s\), 1 settled$/);
    });

    it("approves each service once, and sees a changed endpoint", async function () {
      const net = await loadFixture(deploySmallInternet);
      const first = await gammaIntake(net);
      const desk = new OrderDesk({ market: net.victim, provider: ethers.provider });
      const run = () => victimAgent(net, { orders: desk }).run(attack(GAMMA_SOURCE));
      expect(shape(net, await run())).to.deep.equal([["gamma", "order", "acknowledged"]]);

      // Gamma's agent moves: a new intake, published on chain; the old one is gone.
      const second = await StandInIntake.start({
        market: new MarketClient(net.system.directory, net.system.token, net.accounts.orgs.gamma),
        provider: ethers.provider,
        service: net.services.gamma,
      });
      try {
        await second.publish();
        await first.close();
        expect(shape(net, await run())).to.deep.equal([["gamma", "order", "acknowledged"]]);
        expect(second.received).to.have.length(1);
      } finally {
        await second.close();
      }
      expect(lines.filter((l) => l.startsWith("approved "))).to.have.length(1);
    });

    it("buys by order from one provider and by request from another, in one report", async function () {
      const net = await loadFixture(deploySmallInternet);
      await gammaIntake(net);
      startAgents(net, ["alpha"]);
      const summary = await victimAgent(net).run(attack(GAMMA_SOURCE, ALPHA_SOURCE));

      expect(shape(net, summary).sort()).to.deep.equal([
        ["alpha", "request", "acknowledged"],
        ["gamma", "order", "acknowledged"],
      ]);
      expect(summary.requestTransactions).to.equal(1);
      expect(summary.providers).to.have.members([net.services.alpha, net.services.gamma]);
      expect(summary.cost).to.equal(summary.purchases.reduce((s, p) => s + p.price, 0n));
      expect(summary.msToLastAck).to.equal(Math.max(...summary.purchases.map((p) => p.ackMs!)));
      const [, cost] = describeSummary(summary);
      expect(cost).to.match(
        /^cost: [\d.]+ MIT for 2 mitigation\(s\); refunded: 0 MIT; 1 request transaction\(s\); 1 signed order\(s\), 1 settled$/,
      );
      expect(lines.some((l) => l.endsWith(" by signed order") && l.includes("AS64530"))).to.be.true;
      expect(lines.some((l) => l.includes("AS64510") && !l.endsWith(" by signed order"))).to.be.true;
    });

    it("sends several orders to one intake as one batch", async function () {
      const net = await loadFixture(deploySmallInternet);
      // Beta's agent takes orders at Gamma's intake too (one intake, two services): a batch each.
      const intake = await gammaIntake(net);
      const desk = new OrderDesk({ market: net.victim, provider: ethers.provider });
      const planned = (service: string) => ({
        service,
        offeringId: 0,
        target: TARGET,
        sources: [],
        duration: 3600,
        maxPrice: 10n ** 19n,
        ackDeadline: 0,
        asns: [],
        price: 10n ** 19n,
        kind: "flow-filtering" as const,
      });
      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      const url = ordersUrl(intake.url)!;
      const a = await desk.sign({ ...planned(net.services.gamma), sources: [{ network: 1n, length: 128 }] }, url, now);
      const b = await desk.sign({ ...planned(net.services.beta), sources: [{ network: 2n, length: 128 }] }, url, now);
      const answers = await desk.send([a, b]);
      // Gamma's order is taken; Beta's names another service than the intake's: refused in the batch.
      expect(answers[0]).to.deep.equal({ kind: "accepted" });
      expect(answers[1]).to.deep.equal({
        kind: "refused",
        status: 403,
        reason: `The order names service ${net.services.beta}, not this one.`,
      });
      expect(intake.received.map((o) => o.order.service)).to.deep.equal([net.services.gamma, net.services.beta]);
    });
  });

  describe("with the provider agent's own intake (end to end)", function () {
    let servers: OrderServer[] = [];
    afterEach(async () => {
      await Promise.all(servers.map((s) => s.close()));
      servers = [];
    });

    /** Gamma's provider agent taking orders on its HTTP intake, published on chain; synced when `sync`. */
    async function gammaAgent(
      net: SmallInternet,
      sync: boolean,
    ): Promise<{ agent: ProviderAgent; backend: LogBackend }> {
      const backend = new LogBackend();
      const agent = providerAgent(net, "gamma", {
        backend,
        orders: {
          chainId: (await ethers.provider.getNetwork()).chainId,
          registry: await net.system.registry.getAddress(),
          token: await net.system.token.getAddress(),
          directory: await net.system.directory.getAddress(),
          settleEveryMs: 50,
        },
      });
      agents.push(agent);
      const server = await startOrderServer(agent.orders!, "127.0.0.1", 0);
      servers.push(server);
      const gamma = new MarketClient(net.system.directory, net.system.token, net.accounts.orgs.gamma);
      await (await gamma.service(net.services.gamma).setOrderEndpoint(server.url)).wait();
      if (sync) {
        // Its first pass reads the chain: from then on it takes orders.
        await agent.orders!.pass();
        agent.start();
      }
      return { agent, backend };
    }

    it("buys by order: accepted by Gamma's agent, settled on chain, its rule installed, withdrawn", async function () {
      const net = await loadFixture(deploySmallInternet);
      const { agent, backend } = await gammaAgent(net, true);
      const before = await balanceOf(net, "victim");
      const summary = await victimAgent(net).run(attack(GAMMA_SOURCE));

      expect(shape(net, summary)).to.deep.equal([["gamma", "order", "acknowledged"]]);
      expect(summary.requestTransactions).to.equal(0);
      const [bought] = summary.purchases;
      // The victim saw the settlement on chain; the provider agent records it from its receipt or its logs.
      await until(() => agent.store.order(bought.orderHash!)?.state === "settled", 10_000, "the agent's record");
      expect(await balanceOf(net, "victim")).to.equal(before - bought.price);
      // The provider agent starts the mitigation it settled: a discard rule for the source.
      await until(
        async () => (await backend.list()).some((r) => r.source === `${GAMMA_SOURCE}/32` && r.destination === TARGET),
        10_000,
        "the rule",
      );
      // The victim withdraws it as any acknowledged request; the agent removes its rule.
      await net.victim.withdraw(bought.service, bought.requestId);
      await until(async () => (await backend.list()).length === 0, 10_000, "the rule's removal");
    });

    it("buys by request when Gamma's agent answers 503 (it has not read the chain yet)", async function () {
      const net = await loadFixture(deploySmallInternet);
      // Gamma's agent takes orders but has not read the chain; another takes its direct requests.
      await gammaAgent(net, false);
      startAgents(net, ["gamma"]);
      const before = await balanceOf(net, "victim");
      const summary = await victimAgent(net).run(attack(GAMMA_SOURCE));

      expect(shape(net, summary)).to.deep.equal([
        ["gamma", "order", "lapsed"],
        ["gamma", "request", "acknowledged"],
      ]);
      expect(lines.some((l) => /: its agent refused it \(HTTP 503: .+\); buying by request$/.test(l))).to.be.true;
      expect(await balanceOf(net, "victim")).to.equal(before - summary.purchases[1].price);
    });
  });

  describe("when the order cannot go by order", function () {
    /**
     * Runs the victim agent with Gamma's provider agent taking direct requests: the order lapses,
     * the direct request is the one purchase, and only it is paid for. `cancelled`: whether the
     * order had to be cancelled on chain first (the chain says so, and only then).
     */
    async function boughtByRequest(net: SmallInternet, cancelled: boolean, options: Partial<VictimAgentOptions> = {}) {
      startAgents(net, ["gamma"]);
      const before = await balanceOf(net, "victim");
      const summary = await victimAgent(net, options).run(attack(GAMMA_SOURCE));

      expect(shape(net, summary)).to.deep.equal([
        ["gamma", "order", "lapsed"],
        ["gamma", "request", "acknowledged"],
      ]);
      const [order, direct] = summary.purchases;
      const status = (await readOrderRequest(net.victim, net.services.gamma, order.requestId)).status;
      expect(status).to.equal(cancelled ? "cancelled" : "none");
      expect(lines.some((l) => l.includes("cancel"))).to.equal(cancelled);
      expect(await balanceOf(net, "victim")).to.equal(before - direct.price);
      expect(summary.cost).to.equal(direct.price);
      expect(summary.refunded).to.equal(0n);
      return { order, direct };
    }

    it("buys by request when the intake refuses, logging its sentence", async function () {
      const net = await loadFixture(deploySmallInternet);
      await gammaIntake(net, { refuse: () => [422, "Offering 0 does not sell 3600 s to this target."] });
      await boughtByRequest(net, false);

      expect(
        lines.some((l) =>
          l.endsWith(
            ": its agent refused it (HTTP 422: Offering 0 does not sell 3600 s to this target.); buying by request",
          ),
        ),
      ).to.be.true;
    });

    it("buys by request when the intake is down, with nothing to cancel", async function () {
      const net = await loadFixture(deploySmallInternet);
      const gamma = new MarketClient(net.system.directory, net.system.token, net.accounts.orgs.gamma);
      const url = `http://127.0.0.1:${await freePort()}`;
      await (await gamma.service(net.services.gamma).setOrderEndpoint(url)).wait();
      await boughtByRequest(net, false);

      expect(lines.some((l) => l.endsWith(`: ${url}/orders is down (connection refused); buying by request`))).to.be
        .true;
    });

    it("cancels an order not settled in time on chain, buys by request, and a late settlement moves nothing", async function () {
      const net = await loadFixture(deploySmallInternet);
      const intake = await gammaIntake(net, { mode: "hold" });
      const { order } = await boughtByRequest(net, true, { orderSettleMs: 300 });

      expect(
        lines.some((l) =>
          /did not settle order 0x\w+ within 3 blocks or 300 ms: cancelled it on chain; buying its 1 source\(s\) by direct request$/.test(
            l,
          ),
        ),
      ).to.be.true;
      // The provider settles it late: skipped (cancelled), nothing moves.
      const before = await balanceOf(net, "victim");
      const receipt = (await intake.settleHeld())!;
      const events = receipt.logs.map((l) => parseServiceLog(l)).filter((e) => e !== null);
      expect(events.map((e) => [e.name, String(e.args.orderHash), Number(e.args.reason)])).to.deep.equal([
        ["OrderSkipped", order.orderHash, OrderSkipReason.Cancelled],
      ]);
      expect(intake.stateOf(order.orderHash!)).to.equal("skipped");
      expect(await balanceOf(net, "victim")).to.equal(before);
    });

    it("cancels before buying by request when the intake does not answer", async function () {
      const net = await loadFixture(deploySmallInternet);
      const intake = await gammaIntake(net, { mode: "mute" });
      const desk = new OrderDesk({ market: net.victim, provider: ethers.provider, timeoutMs: 300 });
      const { order } = await boughtByRequest(net, true, { orders: desk });

      expect(
        lines.some((l) =>
          l.endsWith("/orders did not answer within 300 ms; it is cancelled on chain before buying by request"),
        ),
      ).to.be.true;
      // It had reached the intake: settling it now is too late.
      expect(intake.received).to.have.length(1);
      await intake.settleHeld();
      expect(intake.stateOf(order.orderHash!)).to.equal("skipped");
      // Its intake is left alone for a while: the next purchase goes by request at once.
      expect(desk.downFor(ordersUrl(intake.url)!)).to.be.greaterThan(0);
    });

    it("cancels before buying by request when the intake fails with a 500 (it may have taken the order)", async function () {
      const net = await loadFixture(deploySmallInternet);
      await gammaIntake(net, { refuse: () => [500, "The store is locked."] });
      await boughtByRequest(net, true);

      expect(
        lines.some((l) =>
          l.endsWith(
            "/orders failed (HTTP 500: The store is locked.); it is cancelled on chain before buying by request",
          ),
        ),
      ).to.be.true;
    });
  });

  describe("when a settlement and a cancellation race", function () {
    it("takes the settlement that won as the purchase and buys nothing twice", async function () {
      const net = await loadFixture(deploySmallInternet);
      const intake = await gammaIntake(net, { mode: "hold" });
      const before = await balanceOf(net, "victim");
      const victimAddress = await net.accounts.orgs.victim.getAddress();
      const run = victimAgent(net, { orderSettleMs: 300 }).run(attack(GAMMA_SOURCE));
      let failure: unknown;
      try {
        await until(() => lines.some((l) => l.startsWith("sent order")), 10_000, "the order to be sent");
        await network.provider.send("evm_setAutomine", [false]);
        // The agent gives up waiting and sends its cancellation; the provider's settlement, sent
        // after it with a higher tip, is mined first in the same block. (Its gas is given: an
        // estimate would count the cancellation in, and the cheap path of a skipped order.)
        await until(
          async () => (await pendingSenders()).includes(victimAddress.toLowerCase()),
          10_000,
          "the cancellation to be sent",
        );
        const settlement = intake.settleHeld({
          maxPriorityFeePerGas: 10n ** 11n,
          maxFeePerGas: 10n ** 12n,
          gasLimit: 1_000_000n,
        });
        await until(async () => (await pendingSenders()).length === 2, 10_000, "the settlement to be sent");
        await network.provider.send("evm_mine", []);
        await settlement;
      } catch (error) {
        failure = error;
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      // Followed to its end either way: no run outlives its test.
      const summary = await run;
      if (failure !== undefined) throw failure as Error;

      expect(shape(net, summary)).to.deep.equal([["gamma", "order", "acknowledged"]]);
      expect(summary.requestTransactions).to.equal(0);
      expect(lines.some((l) => /^cancelling order 0x\w+ failed \(.*\): reading it again$/.test(l))).to.be.true;
      expect(await balanceOf(net, "victim")).to.equal(before - summary.purchases[0].price);
    });
  });

  describe("when a provider settles an order its agent refused", function () {
    it("says the sources were bought twice", async function () {
      const net = await loadFixture(deploySmallInternet);
      const intake = await gammaIntake(net, { refuse: () => [503, "The agent is not synced."] });
      const run = victimAgent(net).run(attack(GAMMA_SOURCE));
      await until(() => lines.some((l) => l.startsWith("requested from")), 10_000, "the direct request");
      const [refused] = intake.received;
      const service = new MarketClient(net.system.directory, net.system.token, net.accounts.orgs.gamma).service(
        net.services.gamma,
      );
      await (await service.settleOrders([toOrderStruct(refused.order)], [refused.signature])).wait();
      startAgents(net, ["gamma"]);
      const summary = await run;

      expect(shape(net, summary)).to.deep.equal([
        ["gamma", "order", "acknowledged"],
        ["gamma", "request", "acknowledged"],
      ]);
      expect(lines.some((l) => l.endsWith("although its agent had refused it: its sources were bought twice"))).to.be
        .true;
    });
  });

  describe("in the victim daemon", function () {
    let dir: string | undefined;
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    /** Gamma sells 600 s for 1 MIT, Alpha for 1.67 MIT: this allows 1.5 MIT per purchase. */
    const GAMMA_ONLY = {
      budgetPerHour: "100",
      budgetPerDay: "500",
      maxPricePerPurchase: "1.5",
      kinds: ["flow-filtering"],
      duration: 600,
    };

    const victimDaemon = (net: SmallInternet, store: VictimStore, policy: SpendingPolicy) =>
      startVictimDaemon(net, store, policy, lines);

    const ban = (...sources: string[]) => ({
      action: "ban" as const,
      target: TARGET,
      direction: "incoming" as const,
      pps: 1000,
      talkers: sources.map((s) => ({ source: `${s}/32`, packets: 1000, bytes: 1_000_000 })),
    });

    it("reviews orders with the spending policy and counts them as spent", async function () {
      const net = await loadFixture(deploySmallInternet);
      const intake = await gammaIntake(net);
      const policy = parseSpendingPolicy(GAMMA_ONLY);
      const store = new VictimStore(":memory:");
      const daemon = await victimDaemon(net, store, policy);
      try {
        const answer = await daemon.notify(ban(GAMMA_SOURCE, ALPHA_SOURCE));
        expect(answer.accepted).to.equal(true);
        await until(() => !daemon.busy(), 20_000, "the purchase");
        const [bought] = store.purchases();
        expect(store.purchases()).to.have.length(1);
        expect(bought).to.deep.include({ service: net.services.gamma, state: "acknowledged" });
        expect(intake.received).to.have.length(1);
        const hash = hashOrder(intake.received[0].order, 31337n);
        expect(bought.requestId).to.equal(orderRequestId(await net.victim.runner.getAddress(), hash));
        expect(store.spentSince(0)).to.equal(bought.price);
        expect(lines.some((l) => l.includes("the spending policy refuses") && l.includes("(198.51.100.23/32"))).to.be
          .true;
      } finally {
        await daemon.stop();
        store.close();
      }
    });

    it("records an order before it is sent and, after a restart, lets it lapse once expired", async function () {
      const net = await loadFixture(deploySmallInternet);
      const store = new VictimStore(":memory:");
      const victim = await net.victim.runner.getAddress();
      // A fresh block: after the fixture's revert the latest one may be long past.
      await network.provider.send("evm_mine", []);
      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      // What a crash right after sending leaves: a pending order nobody settled.
      const requestId = orderRequestId(victim, "0x" + "ab".repeat(32));
      store.attacked(TARGET, [GAMMA_SOURCE]);
      store.addPurchase({
        service: net.services.gamma,
        requestId,
        target: TARGET,
        sources: [`${GAMMA_SOURCE}/32`],
        offeringId: 0,
        kind: "flow-filtering",
        price: 10n ** 18n,
        ackDeadline: now + 30,
        state: "pending",
        boughtAt: Date.now(),
      });
      store.ended(TARGET);
      const daemon = await victimDaemon(
        net,
        store,
        parseSpendingPolicy({
          budgetPerHour: "10",
          budgetPerDay: "10",
          maxPricePerPurchase: "5",
          kinds: ["flow-filtering"],
        }),
      );
      try {
        await daemon.tick();
        // Not settled, and not expired: it may still be settled, so it counts as spent.
        expect(store.purchase(net.services.gamma, requestId)!.state).to.equal("pending");
        expect(store.spentSince(0)).to.equal(10n ** 18n);
        await time.increase(31);
        await until(() => store.purchase(net.services.gamma, requestId)!.state === "lapsed", 10_000, "the lapse");
        expect(store.spentSince(0)).to.equal(0n);
        expect(lines.some((l) => l.endsWith(": the order lapsed unsettled"))).to.be.true;
      } finally {
        await daemon.stop();
        store.close();
      }
    });

    it("after a crash with an order outstanding, finds it settled and withdraws it at the unban", async function () {
      const net = await loadFixture(deploySmallInternet);
      const intake = await gammaIntake(net, { mode: "hold" });
      dir = mkdtempSync(path.join(tmpdir(), "victim-orders-"));
      const db = path.join(dir, "victim.db");
      const policy = parseSpendingPolicy(GAMMA_ONLY);
      const before = await balanceOf(net, "victim");

      let store = new VictimStore(db);
      const first = await victimDaemon(net, store, policy);
      try {
        expect((await first.notify(ban(GAMMA_SOURCE))).accepted).to.equal(true);
        await until(() => intake.received.length === 1, 10_000, "the order to reach the intake");
        // Recorded before it left: pending, counted as spent.
        const [recorded] = store.purchases();
        expect(recorded).to.deep.include({ service: net.services.gamma, state: "pending" });
        expect(store.spentSince(0)).to.equal(recorded.price);
      } finally {
        // The daemon goes away with the order outstanding (its agent stops following it).
        await first.stop();
        store.close();
      }
      // While it is down, the provider settles the order.
      await intake.settleHeld();

      store = new VictimStore(db);
      const second = await victimDaemon(net, store, policy);
      try {
        const [p] = store.purchases();
        await until(() => store.purchase(p.service, p.requestId)!.state === "acknowledged", 10_000, "the settlement");
        expect(isOrderRequestId(p.requestId)).to.be.true;
        // Nothing was bought again: the order covers the source.
        expect(store.purchases()).to.have.length(1);
        const info = await net.victim.getRequest(net.services.gamma, p.requestId);
        expect(store.purchase(p.service, p.requestId)!.endsAt).to.equal(info.endsAt);

        // The attack ends: the order-started mitigation is withdrawn like an acknowledged request.
        expect((await second.notify({ ...ban(), action: "unban" })).message).to.equal(
          `The attack on ${TARGET} is over: its 1 mitigation will be ended early.`,
        );
        await until(() => store.purchase(p.service, p.requestId)!.state === "withdrawn", 10_000, "the withdrawal");
        expect((await net.victim.getRequest(net.services.gamma, p.requestId)).status).to.equal("withdrawn");
        expect(await balanceOf(net, "victim")).to.equal(before - info.price);
      } finally {
        await second.stop();
        store.close();
      }
    });
  });

  describe("in the DOTS bridge", function () {
    let bridges: MarketBridge[] = [];
    afterEach(async () => {
      await Promise.all(bridges.map((b) => b.stop()));
      bridges = [];
    });

    async function startBridge(net: SmallInternet): Promise<MarketBridge> {
      const bridge = new MarketBridge({
        registry: net.victimRegistry,
        markets: new Map([[await net.victim.runner.getAddress(), net.victim]]),
        provider: ethers.provider,
        neighbours: [],
        ackWindow: 300,
        pollMs: 20,
        onProgress: (line) => lines.push(line),
      });
      bridges.push(bridge);
      bridge.start();
      return bridge;
    }

    const dotsOrder = async (net: SmallInternet): Promise<MarketOrder> => ({
      account: await net.victim.runner.getAddress(),
      targets: [parsePrefix(TARGET)],
      sources: [GAMMA_SOURCE],
      lifetime: 3600,
      label: "client mid 1",
    });

    /** What the gateway's store keeps of a purchase. */
    const stored = (p: PurchaseView): StoredPurchase => ({
      service: p.service,
      requestId: p.requestId,
      blockNumber: p.blockNumber ?? 0,
      expiry: p.expiry,
    });

    it("buys by order, follows the settlement and withdraws it", async function () {
      const net = await loadFixture(deploySmallInternet);
      await gammaIntake(net);
      const bridge = await startBridge(net);
      const bought = await bridge.buy(await dotsOrder(net));

      await until(() => bought.purchases[0]?.state === "acknowledged", 10_000, "the settlement");
      const [p] = bought.purchases;
      expect(bought.purchases).to.have.length(1);
      expect(isOrderRequestId(p.requestId)).to.be.true;
      await bought.withdraw();
      await until(() => p.state === "withdrawn", 10_000, "the withdrawal");
      expect((await net.victim.getRequest(net.services.gamma, p.requestId)).status).to.equal("withdrawn");
    });

    /** A bridge that sent an order to Gamma's holding intake and went away: what its store kept. */
    async function orderLeftOutstanding(
      net: SmallInternet,
    ): Promise<{ intake: StandInIntake; kept: StoredPurchase[] }> {
      const intake = await gammaIntake(net, { mode: "hold" });
      const first = await startBridge(net);
      const buying = first.buy(await dotsOrder(net));
      await until(() => intake.received.length === 1, 10_000, "the order to reach the intake");
      await first.stop();
      const kept = (await buying).purchases.map(stored);
      expect(kept).to.have.length(1);
      expect(kept[0].expiry).to.be.a("number");
      return { intake, kept };
    }

    it("after a restart, follows an order settled meanwhile and withdraws it", async function () {
      const net = await loadFixture(deploySmallInternet);
      const { intake, kept } = await orderLeftOutstanding(net);
      await intake.settleHeld();

      const resumed = (await startBridge(net)).resume(await dotsOrder(net), kept, true);
      // Resumed as withdrawn by the client: withdrawn once the settlement is seen.
      await until(() => resumed.purchases[0]?.state === "withdrawn", 10_000, "the withdrawal");
      expect((await net.victim.getRequest(net.services.gamma, kept[0].requestId)).status).to.equal("withdrawn");
    });

    it("after a restart, drops an order that expired unsettled", async function () {
      const net = await loadFixture(deploySmallInternet);
      const { kept } = await orderLeftOutstanding(net);

      const resumed = (await startBridge(net)).resume(await dotsOrder(net), kept, false);
      await network.provider.send("evm_mine", []);
      expect(resumed.purchases).to.have.length(1);
      await time.increase(31);
      await until(() => resumed.purchases.length === 0, 10_000, "the lapse");
      expect(lines.some((l) => l.endsWith(" lapsed unsettled"))).to.be.true;
    });
  });
});

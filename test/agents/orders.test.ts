/**
 * The provider agent's signed-order intake on the in-process network, over its real HTTP server:
 * every refusal with its status and sentence, batches, the state of an order, settlement on chain
 * with the FlowSpec rule installed, and an order whose allowance is withdrawn between acceptance
 * and settlement skipped while the rest of its batch settles.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet, type Signer } from "ethers";

import { LogBackend } from "../../src/backends/log";
import { priceOf } from "../../src/clients/market";
import {
  hashOrder,
  orderRequestId,
  signOrder,
  signOrderWithKey,
  toOrderJson,
  type Order,
  type SignedOrder,
} from "../../src/clients/orders";
import { parsePrefix } from "../../src/prefix";
import type { ProviderAgent } from "../../src/provider/agent";
import { startOrderServer, type OrderServer } from "../../src/provider/orderServer";
import { chainNow, deploySmallInternet, providerAgent, until, type SmallInternet } from "./helpers";

const DURATION = 600;
let salt = 1n;

interface Intake {
  net: SmallInternet;
  agent: ProviderAgent;
  backend: LogBackend;
  server: OrderServer;
  chainId: bigint;
  service: string;
  price: bigint;
}

let open: Intake | undefined;

/** Alpha's agent taking orders on a free port; the chain not read yet (no pass run). */
async function startIntake(): Promise<Intake> {
  const net = await loadFixture(deploySmallInternet);
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const backend = new LogBackend();
  const agent = providerAgent(net, "alpha", {
    backend,
    orders: {
      chainId,
      registry: await net.system.registry.getAddress(),
      token: await net.system.token.getAddress(),
      directory: await net.system.directory.getAddress(),
      // Passes are driven by the tests unless the agent is started.
      settleEveryMs: 50,
    },
  });
  const server = await startOrderServer(agent.orders!, "127.0.0.1", 0);
  const service = net.services.alpha;
  const price = priceOf((await net.victim.offerings(service))[0].pricePerHour, DURATION);
  open = { net, agent, backend, server, chainId, service, price };
  return open;
}

/** An order from `key` to Alpha's offering 0 for DURATION seconds, at its price, valid 2 minutes. */
async function orderOf(intake: Intake, key: string, fields: Partial<Order> = {}): Promise<Order> {
  return {
    service: intake.service,
    requester: await intake.net.accounts.orgs[key].getAddress(),
    offeringId: 0,
    target: parsePrefix(key === "victim" ? "203.0.113.0/24" : "192.0.2.192/26"),
    sources: [parsePrefix("198.51.100.23/32")],
    duration: DURATION,
    maxPrice: intake.price,
    expiry: (await chainNow()) + 120,
    salt: salt++,
    ...fields,
  };
}

async function signed(intake: Intake, key: string, fields: Partial<Order> = {}, by?: Signer): Promise<SignedOrder> {
  return signOrder(by ?? intake.net.accounts.orgs[key], await orderOf(intake, key, fields), intake.chainId);
}

async function post(intake: Intake, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${intake.server.url}/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function state(intake: Intake, hash: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${intake.server.url}/orders/${hash}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function approve(intake: Intake, key: string, amount: bigint): Promise<void> {
  const token = intake.net.system.token.connect(intake.net.accounts.orgs[key]);
  await (await token.approve(intake.service, amount)).wait();
}

async function tokens(intake: Intake, key: string): Promise<bigint> {
  return intake.net.system.token.balanceOf(await intake.net.accounts.orgs[key].getAddress());
}

describe("provider agent order intake (HTTP)", function () {
  this.timeout(120_000);

  afterEach(async function () {
    await open?.server.close();
    await open?.agent.stop();
    open = undefined;
  });

  it("signs with a raw key exactly as with an ethers signer", async function () {
    const wallet = Wallet.createRandom();
    const order: Order = {
      service: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      requester: wallet.address,
      offeringId: 3,
      target: parsePrefix("203.0.113.0/24"),
      sources: [parsePrefix("198.51.100.23/32"), parsePrefix("2001:db8:1000::66/128")],
      duration: 600,
      maxPrice: 10n ** 18n,
      expiry: 1_900_000_000,
      salt: (BigInt(Date.now()) << 64n) | 12345n,
    };
    expect(signOrderWithKey(wallet.privateKey, order, 31337n)).to.deep.equal(await signOrder(wallet, order, 31337n));
  });

  it("answers 503 until it has read the chain, then 202 with the order hash and request id", async function () {
    const intake = await startIntake();
    await approve(intake, "victim", ethers.MaxUint256);
    const order = await signed(intake, "victim");
    const before = await post(intake, toOrderJson(order));
    expect(before.status).to.equal(503);
    expect(before.body.error).to.match(/has not read the chain yet/);

    await intake.agent.orders!.pass();
    const hash = hashOrder(order.order, intake.chainId);
    const accepted = await post(intake, toOrderJson(order));
    expect(accepted).to.deep.equal({
      status: 202,
      body: { orderHash: hash, requestId: orderRequestId(order.order.requester, hash).toString() },
    });
    // Committed before the answer: the store has it.
    expect(intake.agent.store.order(hash)?.state).to.equal("accepted");
    expect((await state(intake, hash)).body.state).to.equal("accepted");
    expect((await state(intake, "0x" + "ab".repeat(32))).status).to.equal(404);
  });

  it("refuses with 400, 403, 409, 422 and 402, one sentence each", async function () {
    const intake = await startIntake();
    await approve(intake, "victim", ethers.MaxUint256);
    await intake.agent.orders!.pass();
    const expectRefusal = async (body: unknown, status: number, sentence: RegExp) => {
      const answer = await post(intake, body);
      expect(answer.status, JSON.stringify(answer.body)).to.equal(status);
      expect(answer.body.error).to.match(sentence);
      expect(answer.body.error).to.match(/\.$/);
    };

    await expectRefusal("{not json", 400, /not JSON/);
    const good = toOrderJson(await signed(intake, "victim"));
    await expectRefusal({ ...good, order: { ...good.order, duration: "long" } }, 400, /duration must be/);
    await expectRefusal({ order: good.order }, 400, /signature must be a hex string/);

    // Signed by someone else than the requester (an EOA: no wallet accepts it).
    await expectRefusal(
      toOrderJson(await signed(intake, "victim", {}, intake.net.accounts.orgs.epsilon)),
      403,
      /signature is not .* over this order/,
    );
    await expectRefusal(
      toOrderJson(await signed(intake, "victim", { service: intake.net.services.beta })),
      403,
      /for the service .*, not this one/,
    );
    // Zeta does not hold the victim's prefix.
    await expectRefusal(
      toOrderJson(await signed(intake, "zeta", { target: parsePrefix("203.0.113.0/24") })),
      403,
      /does not hold all of 203\.0\.113\.0\/24/,
    );

    await expectRefusal(
      toOrderJson(await signed(intake, "victim", { maxPrice: intake.price - 1n })),
      422,
      /above the order's maximum/,
    );
    await expectRefusal(
      toOrderJson(await signed(intake, "victim", { expiry: (await chainNow()) - 10 })),
      422,
      /expired at/,
    );
    await expectRefusal(
      toOrderJson(await signed(intake, "victim", { duration: 48 * 3600 })),
      422,
      /is not sold: offering 0 sells 1 to/,
    );
    await expectRefusal(toOrderJson(await signed(intake, "victim", { offeringId: 7 })), 422, /Offering 7 .* not exist/);
    // A source outside Alpha's network.
    await expectRefusal(
      toOrderJson(await signed(intake, "victim", { sources: [parsePrefix("192.0.2.10/32")] })),
      422,
      /does not take this order/,
    );

    expect((await post(intake, good)).status).to.equal(202);
    await expectRefusal(good, 409, /already accepted/);

    // Epsilon has approved nothing; then enough for one order, which the next must count.
    await expectRefusal(toOrderJson(await signed(intake, "epsilon")), 402, /allows this service 0 /);
    await approve(intake, "epsilon", intake.price);
    // The intake reads a victim's money again once the agent has followed the new block.
    await intake.agent.tick();
    expect((await post(intake, toOrderJson(await signed(intake, "epsilon")))).status).to.equal(202);
    await expectRefusal(
      toOrderJson(await signed(intake, "epsilon")),
      402,
      /with the 1 order\(s\) it has waiting here: approve more/,
    );
  });

  it("answers a batch order by order, in the order given", async function () {
    const intake = await startIntake();
    await approve(intake, "victim", ethers.MaxUint256);
    await intake.agent.orders!.pass();
    const first = await signed(intake, "victim");
    const second = await signed(intake, "victim");
    const answer = await post(intake, {
      orders: [
        toOrderJson(first),
        toOrderJson(await signed(intake, "victim", { maxPrice: 1n })),
        toOrderJson(second),
        toOrderJson(first),
      ],
    });
    expect(answer.status).to.equal(200);
    const results = answer.body.results as { status: number; orderHash?: string; error?: string }[];
    expect(results.map((r) => r.status)).to.deep.equal([202, 422, 202, 409]);
    expect(results[0].orderHash).to.equal(hashOrder(first.order, intake.chainId));
    expect(results[2].orderHash).to.equal(hashOrder(second.order, intake.chainId));
    expect(results[1].error).to.match(/above the order's maximum/);
    const empty = await post(intake, { orders: [] });
    expect(empty.status).to.equal(400);
    expect(empty.body.error).to.match(/A batch holds 1 to 1000 orders, not 0\./);
  });

  it("settles accepted orders on chain and installs their FlowSpec rules", async function () {
    const intake = await startIntake();
    await approve(intake, "victim", ethers.MaxUint256);
    intake.agent.start();
    await until(async () => (await post(intake, {})).status !== 503, 20_000, "the intake to sync");
    const orders = [
      await signed(intake, "victim", { sources: [parsePrefix("198.51.100.23/32"), parsePrefix("198.51.100.64/26")] }),
      await signed(intake, "victim", {
        target: parsePrefix("2001:db8:a::/48"),
        sources: [parsePrefix("2001:db8:1000::66/128")],
      }),
    ];
    const before = await tokens(intake, "alpha");
    const answer = await post(intake, { orders: orders.map(toOrderJson) });
    const hashes = (answer.body.results as { orderHash: string }[]).map((r) => r.orderHash);
    expect(hashes).to.have.length(2);
    for (const hash of hashes) {
      await until(async () => (await state(intake, hash)).body.state === "settled", 20_000, `order ${hash} settled`);
    }
    const market = intake.net.victim;
    for (const [i, hash] of hashes.entries()) {
      const id = orderRequestId(orders[i].order.requester, hash);
      expect((await state(intake, hash)).body).to.deep.equal({ state: "settled", requestId: id.toString() });
      expect((await market.getRequest(intake.service, id)).status).to.equal("acknowledged");
    }
    expect((await tokens(intake, "alpha")) - before).to.equal(2n * intake.price);
    const rules = async () =>
      (await intake.backend.list()).map((r) => `${r.family} ${r.source} ${r.destination} ${r.action.kind}`).sort();
    await until(async () => (await rules()).length === 3, 20_000, "three rules installed");
    expect(await rules()).to.deep.equal([
      "ipv4 198.51.100.23/32 203.0.113.0/24 discard",
      "ipv4 198.51.100.64/26 203.0.113.0/24 discard",
      "ipv6 2001:db8:1000::66/128 2001:db8:a::/48 discard",
    ]);
  });

  it("keeps a victim's figures between orders, and takes its own settled payments off them", async function () {
    const intake = await startIntake();
    const desk = intake.agent.orders!;
    const counts = desk.intake.counts;
    await approve(intake, "victim", 3n * intake.price);
    await desk.pass();
    expect((await post(intake, toOrderJson(await signed(intake, "victim")))).status).to.equal(202);
    const views = counts.views;
    expect(views).to.be.greaterThan(0);
    // The second order is judged on the figures kept from the first: nothing is read.
    expect((await post(intake, toOrderJson(await signed(intake, "victim")))).status).to.equal(202);
    expect(counts.views).to.equal(views);

    await desk.pass(); // settles both: the allowance on chain is now one price
    await desk.pass();
    expect(desk.settlement.counts.settled).to.equal(2);
    // Kept: 3 prices less the 2 paid. One more order fits, not two; read on kept figures alone.
    expect((await post(intake, toOrderJson(await signed(intake, "victim")))).status).to.equal(202);
    const refused = await post(intake, toOrderJson(await signed(intake, "victim")));
    expect(refused.status).to.equal(402);
    expect(refused.body.error).to.match(/allows this service .* with the 1 order\(s\) it has waiting here/);
    expect(counts.views).to.equal(views);
  });

  it("reads a victim's figures again before refusing on figures older than the chain", async function () {
    const intake = await startIntake();
    const desk = intake.agent.orders!;
    await desk.pass();
    const first = await post(intake, toOrderJson(await signed(intake, "epsilon")));
    expect(first.status).to.equal(402);
    const views = desk.intake.counts.views;
    await approve(intake, "epsilon", intake.price);
    // Before the agent follows the new block, the kept figures stand: the same refusal, nothing read.
    expect((await post(intake, toOrderJson(await signed(intake, "epsilon")))).status).to.equal(402);
    expect(desk.intake.counts.views).to.equal(views);
    // Once it has, a refusal on kept figures is checked against fresh ones first.
    await intake.agent.tick();
    expect((await post(intake, toOrderJson(await signed(intake, "epsilon")))).status).to.equal(202);
    expect(desk.intake.counts.views).to.be.greaterThan(views);
  });

  it("skips an order whose allowance was withdrawn after acceptance, and settles the rest of its batch", async function () {
    const intake = await startIntake();
    const desk = intake.agent.orders!;
    await approve(intake, "victim", 2n * intake.price);
    await approve(intake, "epsilon", ethers.MaxUint256);
    await desk.pass();
    const orders = [await signed(intake, "victim"), await signed(intake, "victim"), await signed(intake, "epsilon")];
    const answer = await post(intake, { orders: orders.map(toOrderJson) });
    const hashes = (answer.body.results as { status: number; orderHash: string }[]).map((r) => {
      expect(r.status).to.equal(202);
      return r.orderHash;
    });
    // The victim now allows one order's price only.
    await approve(intake, "victim", intake.price);
    const [victimBefore, alphaBefore] = [await tokens(intake, "victim"), await tokens(intake, "alpha")];
    await desk.pass(); // sends the batch (mined at once)
    await desk.pass(); // reads its receipt
    expect(desk.settlement.counts.transactions).to.equal(1);
    const states = await Promise.all(hashes.map(async (h) => (await state(intake, h)).body));
    expect(states.map((s) => s.state)).to.deep.equal(["settled", "skipped", "settled"]);
    expect(states[1].reason).to.match(/payment/);
    expect(victimBefore - (await tokens(intake, "victim"))).to.equal(intake.price);
    expect((await tokens(intake, "alpha")) - alphaBefore).to.equal(2n * intake.price);
  });

  it("sends again an order whose settlement never reached the node (the batch recorded, then the agent died)", async function () {
    const intake = await startIntake();
    const desk = intake.agent.orders!;
    await approve(intake, "victim", ethers.MaxUint256);
    await desk.pass();
    const answer = await post(intake, toOrderJson(await signed(intake, "victim")));
    expect(answer.status).to.equal(202);
    const hash = String(answer.body.orderHash);
    // What a kill -9 between recording a batch and handing its transaction to the node leaves.
    const store = intake.agent.store;
    const batch = store.openBatch(await ethers.provider.getBlockNumber(), [store.order(hash)!], 1_000_000);
    expect(store.order(hash)!.state).to.equal("sending");
    const before = await tokens(intake, "alpha");
    // The service has no request for the order (getRequest reverts): not settled, so sent again.
    await desk.pass();
    await desk.pass();
    expect((await state(intake, hash)).body.state).to.equal("settled");
    expect(store.openBatches().map((b) => b.id)).to.not.include(batch.id);
    expect((await tokens(intake, "alpha")) - before).to.equal(intake.price);
  });
});

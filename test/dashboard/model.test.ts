/**
 * The dashboard's library on the in-process network: the model rebuilt from a traded market's
 * events (and its figures checked against the chain), the registry lookup, and the server's
 * read-only JSON-RPC proxy, configuration and static files.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Network, getAddress, parseUnits } from "ethers";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { MarketClient } from "../../src/clients/market";
import { hashOrder, signOrder, toOrderStruct, type Order } from "../../src/clients/orders";
import { systemAddresses, type SystemAddresses } from "../../src/deploy";
import type { DashboardConfig } from "../../src/dashboard/config";
import { ChainFollower, type FollowProvider } from "../../src/dashboard/follow";
import { lookupRegistry } from "../../src/dashboard/lookup";
import { MarketModel, settledOrders } from "../../src/dashboard/model";
import { eip1193Upstream, httpUpstream, startDashboardServer, type DashboardServer } from "../../src/dashboard/server";
import { deploymentBlock } from "../../src/dashboard/setup";
import { accountFigures, accountHistory, providerStats, requestsPerMinute } from "../../src/dashboard/stats";
import { toOperatorError } from "../../src/errors";
import { freePort } from "../../src/net";
import { parsePrefix } from "../../src/prefix";
import { ProviderServiceContract__factory } from "../../typechain-types";
import { chainNow, deploySmallInternet, order, type SmallInternet } from "../agents/helpers";

/** The small Internet after some trading: one request of every outcome, and a price change. */
async function tradedMarket() {
  const net = await deploySmallInternet();
  const { directory, token } = net.system;
  const as = (key: string) => new MarketClient(directory, token, net.signers[key]);
  const { services, victim } = net;

  const acked = (await victim.request(await order(net, "alpha", ["198.51.100.23"]))).event;
  await as("alpha").acknowledge(services.alpha, acked.requestId);
  await as("alpha").reportStatus(services.alpha, acked.requestId, 1, 5000n, 40n);
  await victim.rate(services.alpha, acked.requestId, 4);

  const rejected = (await victim.request(await order(net, "delta", ["192.0.2.150"]))).event;
  await as("delta").reject(services.delta, rejected.requestId, 1);

  const late = await order(net, "beta", ["198.51.100.200"]);
  const unanswered = (await victim.request({ ...late, ackDeadline: late.ackDeadline - 240 })).event;
  await time.increase(61);
  await victim.reclaim(services.beta, unanswered.requestId);

  const pending = (await victim.request(await order(net, "gamma", ["192.0.2.66"]))).event;
  await as("alpha").updateOffering(0, { pricePerHour: parseUnits("8", 18), maxDuration: 24 * 3600, capacity: 20 });
  return { net, acked, rejected, unanswered, pending, addresses: await systemAddresses(net.system) };
}

/**
 * The small Internet where Gamma settles two signed orders in one transaction: one runs (then gets
 * a DOTS report and a rating), the other has expired and is skipped.
 */
async function orderMarket() {
  const net = await deploySmallInternet();
  const victim = net.signers.victim;
  const gamma = net.services.gamma;
  await (await net.system.token.connect(victim).approve(gamma, ethers.MaxUint256)).wait();
  const terms = (expiry: number, salt: bigint): Order => ({
    service: gamma,
    requester: victim.address,
    offeringId: 0,
    target: parsePrefix("203.0.113.0/24"),
    sources: [parsePrefix("192.0.2.66", { allowAddress: true })],
    duration: 3600,
    maxPrice,
    expiry,
    salt,
  });
  const maxPrice = await net.victim.quote(gamma, 0, 3600);
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const now = await chainNow();
  const runs = await signOrder(victim, terms(now + 300, 1n), chainId);
  const expired = await signOrder(victim, terms(now - 1, 2n), chainId);
  const service = new MarketClient(net.system.directory, net.system.token, net.signers.gamma).service(gamma);
  const settlement = await service.settleOrders(
    [toOrderStruct(runs.order), toOrderStruct(expired.order)],
    [runs.signature, expired.signature],
  );
  await settlement.wait();
  const [event] = await service.queryFilter(service.filters.OrderSettled());
  const requestId = event.args.requestId;
  const as = new MarketClient(net.system.directory, net.system.token, net.signers.gamma);
  await as.reportStatus(gamma, requestId, 2, 7000n, 50n);
  await net.victim.rate(gamma, requestId, 5);
  return { net, runs, requestId, chainId, settlement, addresses: await systemAddresses(net.system) };
}

async function follow(
  addresses: SystemAddresses,
  maxBlockRange = 1000,
  provider: FollowProvider = ethers.provider,
): Promise<MarketModel> {
  const model = new MarketModel(addresses);
  const follower = new ChainFollower({
    provider,
    directory: addresses.directory,
    token: addresses.token,
    startBlock: await deploymentBlock(ethers.provider, addresses.token),
    pollMs: 10,
    maxBlockRange,
    onBatch: (batch) => model.apply(batch),
    onError: (message) => {
      if (message !== null) throw new Error(message);
    },
    onReset: () => expect.fail("the chain did not go back"),
  });
  await follower.poll();
  return model;
}

/** The model's requests and transfers as comparable text. */
function snapshot(model: MarketModel): string {
  const rows = [...model.rows.values()].map((r) => ({ ...r, seenAt: 0, changedAt: 0 }));
  return JSON.stringify({ rows, transfers: model.transfers }, (_k, v: unknown) =>
    typeof v === "bigint" ? v.toString() : v,
  );
}

describe("dashboard library", function () {
  describe("MarketModel, fed by ChainFollower", function () {
    it("has every provider with its offerings, price history and covered ASes", async function () {
      const { net, addresses } = await loadFixture(tradedMarket);
      const model = await follow(addresses);
      expect([...model.services.keys()]).to.have.members(Object.values(net.services));
      const alpha = model.service(net.services.alpha)!;
      expect(alpha.provider).to.equal(await net.signers.alpha.getAddress());
      expect([...alpha.asns]).to.have.members([64510, 64511]);
      expect(alpha.offerings[0]).to.include({ kind: "flow-filtering", capacity: 20, active: true });
      expect(alpha.offerings[0].prices.map((p) => p.pricePerHour)).to.deep.equal([
        parseUnits("10", 18),
        parseUnits("8", 18),
      ]);
      expect(model.service(net.services.beta)!.offerings.map((o) => o.kind)).to.deep.equal([
        "rate-limiting",
        "flow-filtering",
      ]);
    });

    it("follows every request to its outcome, with the DOTS report and the rating", async function () {
      const { net, addresses, acked, rejected, unanswered, pending } = await loadFixture(tradedMarket);
      const model = await follow(addresses);
      const row = (service: string, id: bigint) => model.rows.get(`${getAddress(service)}/${id}`)!;
      const alpha = row(net.services.alpha, acked.requestId);
      expect(alpha).to.include({ status: "acknowledged", rating: 4, price: acked.price, requester: acked.requester });
      expect(alpha.reports).to.have.length(1);
      expect(alpha.reports[0]).to.include({ status: 1, bytesDropped: 5000n, packetsDropped: 40n });
      expect(alpha.sources).to.deep.equal(acked.sources);
      expect(alpha.answeredBlock! - alpha.blockNumber).to.equal(1);
      expect(row(net.services.delta, rejected.requestId)).to.include({ status: "rejected", rejectReason: 1 });
      expect(row(net.services.beta, unanswered.requestId).status).to.equal("reclaimed");
      expect(row(net.services.gamma, pending.requestId).status).to.equal("pending");
      expect(requestsPerMinute(model).reduce((n, m) => n + m.count, 0)).to.equal(4);
    });

    it("gives each provider its acknowledgement rate, median response and rating", async function () {
      const { net, addresses } = await loadFixture(tradedMarket);
      const model = await follow(addresses);
      const stats = (key: string) => providerStats(model, getAddress(net.services[key]));
      expect(stats("alpha")).to.include({ acknowledged: 1, ackRate: 1, medianResponseBlocks: 1, averageRating: 4 });
      expect(stats("delta")).to.include({ rejected: 1, ackRate: 0, medianResponseBlocks: 1 });
      expect(stats("beta")).to.include({ unanswered: 1, ackRate: 0, medianResponseSeconds: null });
      expect(stats("gamma")).to.include({ pending: 1, ackRate: null, averageRating: null });
    });

    it("shows a settled signed order as an acknowledged row of kind order, with its terms from the calldata", async function () {
      const { net, runs, requestId, chainId, settlement, addresses } = await loadFixture(orderMarket);
      const model = await follow(addresses);
      const row = model.rows.get(`${getAddress(net.services.gamma)}/${requestId}`)!;
      expect(row).to.include({
        kind: "order",
        status: "acknowledged",
        requester: net.signers.victim.address,
        offeringId: 0,
        rating: 5,
        transactionHash: settlement.hash,
      });
      expect(row.answeredBlock).to.equal(row.blockNumber);
      expect(row.target).to.deep.equal(runs.order.target);
      expect(row.sources).to.deep.equal(runs.order.sources);
      expect(row.endsAt! - row.startedAt!).to.equal(runs.order.duration);
      expect(row.reports.map((r) => r.status)).to.deep.equal([2]);
      expect(model.skippedOrders.get(getAddress(net.services.gamma))).to.equal(1);
      // An order is no request with a response time: the provider's figures leave it out.
      expect(providerStats(model, getAddress(net.services.gamma))).to.include({
        orders: 1,
        requests: 0,
        acknowledged: 0,
        ackRate: null,
        medianResponseBlocks: null,
        averageRating: 5,
      });
      // The calldata decodes to the orders under their hash on chain (the fast native hash's).
      const decoded = settledOrders({ data: settlement.data, chainId });
      expect(decoded.get(hashOrder(runs.order, chainId))).to.deep.equal(runs.order);
      expect(decoded.size).to.equal(2);
    });

    it("shows an order without its target and sources when its settlement cannot be read", async function () {
      const { net, requestId, addresses } = await loadFixture(orderMarket);
      const provider: FollowProvider = {
        getBlock: (b) => ethers.provider.getBlock(b),
        getLogs: (f) => ethers.provider.getLogs(f),
        getTransaction: () => Promise.reject(new Error("the node lost it")),
      };
      const model = await follow(addresses, 1000, provider);
      const row = model.rows.get(`${getAddress(net.services.gamma)}/${requestId}`)!;
      expect(row).to.include({ kind: "order", status: "acknowledged", target: undefined, rating: 5 });
      expect(row.sources).to.deep.equal([]);
    });

    it("gives every account the balance the token reports, and its spending and earnings", async function () {
      const { net, addresses, acked, pending } = await loadFixture(tradedMarket);
      const model = await follow(addresses);
      const figures = accountFigures(model);
      expect(figures.length).to.be.greaterThan(7);
      for (const f of figures) expect(f.balance, f.account).to.equal(await net.system.token.balanceOf(f.account));
      const victim = figures.find((f) => f.account === acked.requester)!;
      const alpha = figures.find((f) => f.account === getAddress(model.service(net.services.alpha)!.provider))!;
      expect(victim).to.include({ spent: acked.price, escrowed: pending.price, earned: 0n });
      expect(alpha.earned).to.equal(acked.price);
      const history = accountHistory(model, acked.requester);
      expect(history.balance.at(-1)!.value).to.equal(victim.balance);
      expect(history.spent.map((p) => p.value)).to.deep.equal([acked.price]);
    });

    it("reads the same history in ranges of 2 blocks as in one range", async function () {
      const { addresses } = await loadFixture(tradedMarket);
      expect(snapshot(await follow(addresses, 2))).to.equal(snapshot(await follow(addresses)));
    });

    it("picks up a service created after it started following", async function () {
      const { net, addresses } = await loadFixture(tradedMarket);
      const model = new MarketModel(addresses);
      const follower = new ChainFollower({
        provider: ethers.provider,
        ...addresses,
        startBlock: await deploymentBlock(ethers.provider, addresses.token),
        pollMs: 10,
        maxBlockRange: 1000,
        onBatch: (batch) => model.apply(batch),
        onError: () => undefined,
        onReset: () => undefined,
      });
      await follower.poll();
      const epsilon = new MarketClient(net.system.directory, net.system.token, net.signers.epsilon);
      const service = await epsilon.createService();
      await epsilon.addOffering({ kind: "blackholing", pricePerHour: 1n, maxDuration: 60, capacity: 1 });
      await follower.poll();
      expect(model.service(service)!.offerings.map((o) => o.kind)).to.deep.equal(["blackholing"]);
    });
  });

  describe("lookupRegistry", function () {
    let net: SmallInternet;
    const lookup = (text: string) =>
      lookupRegistry(text, { registry: net.system.registry, directory: net.system.directory, runner: ethers.provider });
    before(async function () {
      net = (await loadFixture(tradedMarket)).net;
    });

    it("finds the covering prefix, origin AS, holder and the services with their prices", async function () {
      const result = await lookup("198.51.100.200");
      expect(result).to.include({ query: "198.51.100.200", kind: "address" });
      expect(result.chain).to.have.length(1);
      expect(result.chain[0]).to.include({
        prefix: "198.51.100.128/25",
        originAsn: 64520,
        holderName: "Beta Networks",
        delegated: false,
      });
      expect(result.services.map((s) => s.providerName)).to.deep.equal(["Beta Networks"]);
      expect(result.services[0].offerings.map((o) => o.pricePerHour)).to.deep.equal([
        parseUnits("8", 18),
        parseUnits("12", 18),
      ]);
    });

    it("walks a delegation back to the allocation it came out of", async function () {
      const result = await lookup("2001:db8:1a00::1");
      expect(result.chain.map((r) => [r.prefix, r.holderName, r.originAsn])).to.deep.equal([
        ["2001:db8:1a00::/40", "Zeta Research Network", 4200000001],
        ["2001:db8:1000::/36", "Alpha Transit", 64511],
      ]);
      expect(result.services).to.deep.equal([]);
    });

    it("looks up prefixes: covered by a registered prefix, or by none", async function () {
      expect((await lookup("198.51.100.0/25")).chain[0].holderName).to.equal("Alpha Transit");
      expect((await lookup("198.51.100.0/24")).chain).to.deep.equal([]);
      expect((await lookup("10.1.2.3")).chain).to.deep.equal([]);
    });

    it("says in one sentence what is wrong with the text", async function () {
      for (const [text, sentence] of [
        ["198.51.100.300", '"198.51.100.300" is not an IP address'],
        ["198.51.100.1/24", "did you mean 198.51.100.0/24?"],
      ]) {
        const error = await lookup(text).then(
          () => expect.fail(`${text} was accepted`),
          (e: unknown) => e,
        );
        expect(toOperatorError(error).message).to.include(sentence);
      }
    });
  });

  describe("dashboard server", function () {
    let server: DashboardServer;
    let dir: string;
    let addresses: SystemAddresses;
    let services: Record<string, string>;
    const config = (a: SystemAddresses): DashboardConfig => ({
      network: "hardhat",
      chainId: 31337,
      addresses: a,
      startBlock: 0,
      pollMs: 400,
      maxBlockRange: 2000,
    });
    const rpc = async (body: unknown) => {
      const response = await fetch(new URL("rpc", server.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as unknown[] | Record<string, unknown> };
    };

    before(async function () {
      ({
        addresses,
        net: { services },
      } = await loadFixture(tradedMarket));
      dir = mkdtempSync(path.join(tmpdir(), "dashboard-static-"));
      mkdirSync(path.join(dir, "assets"));
      writeFileSync(path.join(dir, "index.html"), "<p>the app</p>");
      writeFileSync(path.join(dir, "assets", "app.js"), "export {};");
      server = await startDashboardServer({
        upstream: eip1193Upstream(network.provider),
        config: config(addresses),
        staticDir: dir,
      });
    });

    after(async function () {
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("serves its configuration", async function () {
      const response = await fetch(new URL("config.json", server.url));
      expect(await response.json()).to.deep.equal(config(addresses));
    });

    it("passes reads to the node, one call or a batch", async function () {
      expect((await rpc({ jsonrpc: "2.0", id: 7, method: "eth_chainId", params: [] })).json).to.deep.equal({
        jsonrpc: "2.0",
        id: 7,
        result: "0x7a69",
      });
      const batch = await rpc([
        { jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] },
        { jsonrpc: "2.0", id: 2, method: "net_version", params: [] },
      ]);
      expect(batch.json).to.have.length(2);
    });

    it("refuses anything that is not a read, with one sentence", async function () {
      const { json } = await rpc({ jsonrpc: "2.0", id: 3, method: "eth_sendTransaction", params: [{}] });
      expect(json).to.deep.equal({
        jsonrpc: "2.0",
        id: 3,
        error: {
          code: -32601,
          message: 'The dashboard is read-only: it does not pass "eth_sendTransaction" to the node.',
        },
      });
    });

    it("passes a revert's data through, so the browser explains it in one sentence", async function () {
      const network31337 = Network.from(31337);
      const provider = new JsonRpcProvider(new URL("rpc", server.url).href, network31337, {
        staticNetwork: network31337,
      });
      try {
        const service = ProviderServiceContract__factory.connect(services.alpha, provider);
        const error = await service.offering(99).then(
          () => expect.fail("offering 99 exists"),
          (e: unknown) => e,
        );
        expect(toOperatorError(error).message).to.equal("Offering 99 does not exist.");
      } finally {
        provider.destroy();
      }
    });

    it("says which node did not answer: at start, and to the browser later", async function () {
      const dead = httpUpstream(`http://127.0.0.1:${await freePort()}`);
      const refused = await startDashboardServer({ upstream: dead, config: config(addresses), staticDir: dir }).then(
        () => expect.fail("a server started without its node"),
        (e: unknown) => e,
      );
      expect(toOperatorError(refused).message).to.match(/^The node at http:\/\/127\.0\.0\.1:\d+ did not answer/);
      // The node answers at start, then goes away.
      let up = true;
      const live = eip1193Upstream(network.provider);
      const flaky = await startDashboardServer({
        upstream: (body) => (up ? live(body) : dead(body)),
        config: config(addresses),
        staticDir: dir,
      });
      try {
        up = false;
        const n = Network.from(31337);
        const browser = new JsonRpcProvider(new URL("rpc", flaky.url).href, n, { staticNetwork: n });
        try {
          const error = await browser.getBlockNumber().then(
            () => expect.fail("the node answered"),
            (e: unknown) => e,
          );
          expect(toOperatorError(error).message).to.match(/^The node at http:\/\/127\.0\.0\.1:\d+ did not answer/);
        } finally {
          browser.destroy();
        }
      } finally {
        await flaky.close();
      }
    });

    it("serves the app for its views, its assets, and nothing outside it", async function () {
      const get = async (pathname: string) => {
        const response = await fetch(server.url.replace(/\/$/, "") + pathname);
        return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
      };
      expect(await get("/")).to.include({ status: 200, text: "<p>the app</p>" });
      expect(await get("/live")).to.include({ status: 200, text: "<p>the app</p>" });
      expect(await get("/assets/app.js")).to.include({ status: 200, type: "text/javascript; charset=utf-8" });
      expect((await get("/assets/missing.js")).status).to.equal(404);
      expect((await get("/..%2f..%2fpackage.json")).text).to.not.include("dependencies");
    });
  });

  describe("deploymentBlock", function () {
    it("finds the block the token was deployed in", async function () {
      const { net } = await loadFixture(tradedMarket);
      const receipt = await net.system.token.deploymentTransaction()!.wait();
      expect(await deploymentBlock(ethers.provider, await net.system.token.getAddress())).to.equal(
        receipt!.blockNumber,
      );
    });
  });
});

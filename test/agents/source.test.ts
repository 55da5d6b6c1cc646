/**
 * The shared log poller: many provider agents in one process read the chain through one poll,
 * each still verifying and acknowledging its own requests; reads it did not cache go to the node.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Filter, FilterByBlockHash } from "ethers";

import { Eip1193JsonRpc } from "../../src/rpc";
import { SharedLogPoller, nodeSource, rpcSource, type ChainLog, type LogProvider } from "../../src/provider/source";
import { ProviderServiceContract__factory } from "../../typechain-types";
import { deploySmallInternet, order, providerAgent, until } from "./helpers";

/** The node, counting the calls the poller makes. */
function counting(): { provider: LogProvider; calls: { getLogs: number; getBlockNumber: number } } {
  const calls = { getLogs: 0, getBlockNumber: 0 };
  const provider: LogProvider = {
    getBlockNumber: () => {
      calls.getBlockNumber++;
      return ethers.provider.getBlockNumber();
    },
    getBlock: (tag) => ethers.provider.getBlock(tag),
    getLogs: (filter: Filter | FilterByBlockHash) => {
      calls.getLogs++;
      return ethers.provider.getLogs(filter);
    },
  };
  return { provider, calls };
}

async function acknowledgements(service: string): Promise<number> {
  const contract = ProviderServiceContract__factory.connect(service, ethers.provider);
  return (await contract.queryFilter(contract.filters.MitigationAcknowledged())).length;
}

describe("SharedLogPoller", function () {
  it("feeds several agents from one poll; each acknowledges its own request", async function () {
    const net = await loadFixture(deploySmallInternet);
    const { provider, calls } = counting();
    const poller = new SharedLogPoller({ provider, pollMs: 20 });
    const startBlock = (await ethers.provider.getBlockNumber()) + 1;
    // A long interval of their own: only the poller's wake-ups make them act in time.
    const agents = ["alpha", "gamma"].map((key) =>
      providerAgent(net, key, { source: poller, pollMs: 60_000, startBlock }),
    );
    poller.start();
    for (const agent of agents) agent.start();
    try {
      await net.victim.requestMany([
        await order(net, "alpha", ["198.51.100.23"]),
        await order(net, "gamma", ["192.0.2.66"]),
      ]);
      await until(
        async () =>
          (await acknowledgements(net.services.alpha)) === 1 && (await acknowledgements(net.services.gamma)) === 1,
        10_000,
        "both acknowledgements",
      );
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
      await poller.stop();
    }
    expect(agents.map((a) => a.counts())).to.deep.equal([{ active: 1 }, { active: 1 }]);
    // One eth_getLogs per new head for both services together, and none from the agents.
    expect(poller.newHeads).to.be.greaterThan(0);
    expect(calls.getLogs).to.be.at.most(poller.newHeads);
  });

  it("wakes only the agents whose service emitted something", async function () {
    const net = await loadFixture(deploySmallInternet);
    const poller = new SharedLogPoller({ provider: ethers.provider });
    const woken: string[] = [];
    const stopAlpha = poller.watch(net.services.alpha, () => woken.push("alpha"));
    poller.watch(net.services.gamma, () => woken.push("gamma"));
    await poller.poll();
    await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
    await poller.poll();
    expect(woken).to.deep.equal(["alpha"]);

    stopAlpha();
    await net.victim.request(await order(net, "alpha", ["198.51.100.24"]));
    await poller.poll();
    expect(woken).to.deep.equal(["alpha"]);
  });

  it("serves cached ranges itself and asks the node for what it did not cache", async function () {
    const net = await loadFixture(deploySmallInternet);
    const before = await ethers.provider.getBlockNumber();
    await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
    const { provider, calls } = counting();
    const poller = new SharedLogPoller({ provider });
    poller.watch(net.services.alpha, () => undefined);
    await poller.poll();
    await net.victim.request(await order(net, "alpha", ["198.51.100.24"]));
    await poller.poll();
    const head = (await poller.head()).number;
    const fromNode = (from: number) =>
      ethers.provider.getLogs({ address: net.services.alpha, fromBlock: from, toBlock: head });

    const polled = calls.getLogs;
    // The block of the second request was read by the poll: no call to the node.
    expect(await poller.logs(net.services.alpha, head, head)).to.deep.equal(await fromNode(head));
    expect(calls.getLogs).to.equal(polled);
    // The first request predates the poller; Beta is not watched: both go to the node.
    expect(await poller.logs(net.services.alpha, before + 1, head)).to.deep.equal(await fromNode(before + 1));
    expect(await poller.logs(net.services.beta, before + 1, head)).to.deep.equal([]);
    expect(calls.getLogs).to.equal(polled + 2);
  });
});

describe("rpcSource", function () {
  it("gives the head and the logs that the ethers provider gives, read straight over JSON-RPC", async function () {
    const net = await loadFixture(deploySmallInternet);
    const from = (await ethers.provider.getBlockNumber()) + 1;
    await net.victim.request(await order(net, "alpha", ["198.51.100.23"]));
    await net.victim.request(await order(net, "alpha", ["198.51.100.24"]));
    const to = await ethers.provider.getBlockNumber();
    const viaEthers = nodeSource(ethers.provider);
    const direct = rpcSource(new Eip1193JsonRpc(network.provider));
    const fields = ({ address, blockNumber, transactionHash, index, topics, data }: ChainLog) => ({
      address,
      blockNumber,
      transactionHash,
      index,
      topics: [...topics],
      data,
    });
    const logs = (await direct.logs(net.services.alpha, from, to)).map(fields);
    expect(logs.length).to.be.greaterThan(1);
    expect(logs).to.deep.equal((await viaEthers.logs(net.services.alpha, from, to)).map(fields));
    expect(await direct.head()).to.deep.equal(await viaEthers.head());
  });
});

/**
 * The same flow over JSON-RPC against anvil, an independent EVM implementation: deploy, register,
 * request → acknowledge → pay, with the src/ clients and plain ethers wallets.
 */
import { expect } from "chai";
import type { JsonRpcProvider } from "ethers";

import { MarketClient } from "../src/clients/market";
import { RegistryClient } from "../src/clients/registry";
import { TokenClient } from "../src/clients/token";
import { deploySystem } from "../src/deploy";
import { describeRequestId, parseTokens } from "../src/format";
import { requestMitigation } from "../src/victim/purchase";
import { anvilWallet, startTestAnvil, type TestAnvil } from "./helpers/anvil";

describe("anvil integration (JSON-RPC)", function () {
  let anvil: TestAnvil | null = null;
  let provider: JsonRpcProvider | undefined;

  before(async function () {
    anvil = await startTestAnvil();
    if (anvil === null) this.skip();
    provider = anvil.provider;
  });

  after(function () {
    anvil?.stop();
  });

  it("deploys and runs request → acknowledge → pay", async function () {
    const rpc = provider!;
    const [admin, victim, provider_] = [anvilWallet(rpc, 0), anvilWallet(rpc, 1), anvilWallet(rpc, 2)];
    const [adminAddress, victimAddress, providerAddress] = await Promise.all(
      [admin, victim, provider_].map((w) => w.getAddress()),
    );
    const system = await deploySystem(admin);
    const registry = new RegistryClient(system.registry);
    const token = new TokenClient(system.token);

    await registry.registerParticipant(victimAddress, "Victim Net");
    await registry.registerParticipant(providerAddress, "Provider Net");
    await registry.assignAsn(64500, victimAddress);
    await registry.assignAsn(64501, providerAddress);
    await registry.allocate("198.51.100.0/24", victimAddress, 64500);
    await registry.allocate("203.0.113.0/24", providerAddress, 64501);
    await token.mint(victimAddress, parseTokens("100"));
    expect(await registry.participant(adminAddress)).to.include({ status: "none" });

    const providerMarket = new MarketClient(system.directory, system.token, provider_);
    const serviceAddress = await providerMarket.createService();
    const offeringId = await providerMarket.addOffering({
      kind: "flow-filtering",
      pricePerHour: parseTokens("10"),
      maxDuration: 3600,
      capacity: 10,
    });
    await providerMarket.addCoverage([64501]);
    expect(await providerMarket.servicesForAddress("203.0.113.9")).to.deep.equal({
      originAsn: 64501,
      services: [serviceAddress],
    });

    const victimMarket = new MarketClient(system.directory, system.token, victim);
    const latest = await rpc.getBlock("latest");
    const event = await requestMitigation(
      { registry: new RegistryClient(system.registry.connect(victim)), market: victimMarket },
      {
        service: serviceAddress,
        offeringId,
        target: "198.51.100.0/24",
        sources: ["203.0.113.9", "203.0.113.64/26"],
        duration: 900,
        maxPrice: parseTokens("5"),
        ackDeadline: latest!.timestamp + 600,
      },
    );
    expect(event.price).to.equal(parseTokens("2.5"));
    expect((await victimMarket.getRequest(serviceAddress, event.requestId)).status).to.equal("pending");
    expect(await token.balanceOf(serviceAddress)).to.equal(parseTokens("2.5"));

    await providerMarket.acknowledge(serviceAddress, event.requestId);
    const request = await providerMarket.getRequest(serviceAddress, event.requestId);
    expect(request.status).to.equal("acknowledged");
    expect(request.endsAt - request.startedAt).to.equal(900);
    expect(await token.balanceOf(providerAddress)).to.equal(parseTokens("2.5"));
    expect(await token.balanceOf(victimAddress)).to.equal(parseTokens("97.5"));
    expect(await token.balanceOf(serviceAddress)).to.equal(0n);

    // A refused call is an error sentence, not a mined failure: the gas estimate catches it.
    const nonce = await rpc.getTransactionCount(providerAddress);
    let message = "";
    await providerMarket.acknowledge(serviceAddress, event.requestId).catch((error: Error) => {
      message = error.message;
    });
    expect(message).to.equal(`Request ${describeRequestId(event.requestId)} is acknowledged, so this cannot be done.`);
    expect(await rpc.getTransactionCount(providerAddress)).to.equal(nonce);
  });
});

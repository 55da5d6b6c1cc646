/**
 * For the crash tests, which run the provider agent as an operator does (test/helpers/agentProcess.ts):
 * a small market on anvil: a victim holding 203.0.113.0/24 and
 * 2001:db8:a::/48 with tokens and an unlimited approval, and a provider whose service sells flow
 * filtering (1 token/h, up to an hour, capacity 1000) and covers its own AS.
 */
import path from "node:path";
import type { JsonRpcProvider, Signer } from "ethers";

import { MarketClient } from "../../src/clients/market";
import { RegistryClient } from "../../src/clients/registry";
import { TokenClient } from "../../src/clients/token";
import { deploySystem, systemAddresses, type System } from "../../src/deploy";
import { writeDeployment } from "../../src/deployment";
import { parseTokens } from "../../src/format";
import { anvilWallet } from "../helpers/anvil";

export interface AnvilMarket {
  system: System;
  serviceAddress: string;
  /** The victim (anvil account 1) and the provider (account 2). */
  victim: Signer;
  victimAddress: string;
  providerAddress: string;
  /** The victim's market client. */
  market: MarketClient;
}

/** Deploys the market on `node` and writes its deployment to `deploymentDir` for the agent's tasks. */
export async function deployAnvilMarket(node: JsonRpcProvider, deploymentDir: string): Promise<AnvilMarket> {
  const [admin, victim, provider] = [anvilWallet(node, 0), anvilWallet(node, 1), anvilWallet(node, 2)];
  const [victimAddress, providerAddress] = await Promise.all([victim.getAddress(), provider.getAddress()]);
  const system = await deploySystem(admin);
  const registry = new RegistryClient(system.registry);
  await registry.registerParticipant(victimAddress, "Victim Net");
  await registry.registerParticipant(providerAddress, "Provider Net");
  await registry.assignAsn(64500, victimAddress);
  await registry.assignAsn(64510, providerAddress);
  await registry.allocate("203.0.113.0/24", victimAddress, 64500);
  await registry.allocate("2001:db8:a::/48", victimAddress, 64500);
  await registry.allocate("198.51.100.0/24", providerAddress, 64510);
  await registry.allocate("2001:db8:1000::/36", providerAddress, 64510);
  await new TokenClient(system.token).mint(victimAddress, parseTokens("10000"));
  const providerMarket = new MarketClient(system.directory, system.token, provider);
  const serviceAddress = await providerMarket.createService();
  await providerMarket.addOffering({
    kind: "flow-filtering",
    pricePerHour: parseTokens("1"),
    maxDuration: 3600,
    capacity: 1000,
  });
  await providerMarket.addCoverage([64510]);
  const market = new MarketClient(system.directory, system.token, victim);
  await market.approveUnlimited(serviceAddress);
  writeDeployment(deploymentDir, await systemAddresses(system));
  return { system, serviceAddress, victim, victimAddress, providerAddress, market };
}

/** `agent provider` arguments on anvil as account 2, with the store and ExaBGP's file in `dir`. */
export function agentArgs(dir: string, pollMs: number, extra: string[] = []): string[] {
  const files = ["--exabgp-output", path.join(dir, "exabgp.cmd"), "--db", path.join(dir, "provider.db")];
  return ["--network", "anvil", "--from", "2", "--backend", "exabgp", ...files, "--poll-ms", String(pollMs), ...extra];
}

/**
 * The demo's small Internet (src/scenario.ts) deployed on anvil for agents in their own processes:
 * the system, the providers' services, and a deployment folder for MARKET_DEPLOYMENT_DIR. The
 * set-up runs with automine; `blockTime` then switches the node to interval mining, as a real chain.
 */
import path from "node:path";

import { deploySystem, systemAddresses, type System } from "../../src/deploy";
import { writeDeployment } from "../../src/deployment";
import { buildSmallInternet, ORGANISATIONS, scenarioAccounts } from "../../src/scenario";
import { anvilWallet, type TestAnvil } from "./anvil";

export interface AnvilMarket {
  system: System;
  /** Service address by provider key (alpha, beta, gamma, delta). */
  services: Record<string, string>;
  /** anvil's account index of each organisation (the agents' --from). */
  accountIndex: Record<string, number>;
  /** The folder to give as MARKET_DEPLOYMENT_DIR. */
  deploymentDir: string;
}

export async function deployMarketOnAnvil(node: TestAnvil, dir: string, blockTime?: number): Promise<AnvilMarket> {
  const signers = Array.from({ length: 3 + ORGANISATIONS.length }, (_, i) => anvilWallet(node.provider, i));
  const accounts = scenarioAccounts(signers);
  const registrars = await Promise.all(accounts.registrars.map((r) => r.getAddress()));
  const system = await deploySystem(accounts.admin, { registrars });
  const services = await buildSmallInternet(system, accounts);
  const deploymentDir = path.join(dir, "deployment");
  writeDeployment(deploymentDir, await systemAddresses(system));
  if (blockTime !== undefined) {
    await node.provider.send("evm_setAutomine", [false]);
    await node.provider.send("evm_setIntervalMining", [blockTime]);
  }
  const accountIndex = Object.fromEntries(ORGANISATIONS.map((org, i) => [org.key, 3 + i]));
  return { system, services, accountIndex, deploymentDir };
}

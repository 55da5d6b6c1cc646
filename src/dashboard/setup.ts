/**
 * What the dashboard server needs to know about a network before it serves: the deployed
 * system's addresses (from its Ignition deployment folder, checked on chain) and the block it was
 * deployed in, where the web app starts reading events.
 */
import type { Provider } from "ethers";

import { systemAddresses } from "../deploy";
import { loadDeployedSystem, type DeploymentLocation } from "../deployment";
import { DEFAULT_MAX_BLOCK_RANGE, DEFAULT_POLL_MS, type DashboardConfig } from "./config";

/**
 * The first block at which `address` has code, by bisection over eth_getCode at past blocks; 0
 * when the node keeps no state that old (the web app then reads from the genesis).
 */
export async function deploymentBlock(
  provider: Pick<Provider, "getCode" | "getBlockNumber">,
  address: string,
): Promise<number> {
  let high = await provider.getBlockNumber();
  let low = 0;
  try {
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if ((await provider.getCode(address, middle)) === "0x") low = middle + 1;
      else high = middle;
    }
  } catch {
    return 0;
  }
  return low;
}

export interface ConfigOptions {
  provider: Provider;
  location: DeploymentLocation;
  network: string;
  pollMs?: number;
  maxBlockRange?: number;
}

export async function dashboardConfig(options: ConfigOptions): Promise<DashboardConfig> {
  const { provider } = options;
  const system = await loadDeployedSystem(provider, provider, { ...options.location, networkName: options.network });
  const addresses = await systemAddresses(system);
  const { chainId } = await provider.getNetwork();
  // The token's transfers (mints included) and the directory's events are all the app reads.
  const blocks = await Promise.all([addresses.token, addresses.directory].map((a) => deploymentBlock(provider, a)));
  return {
    network: options.network,
    chainId: Number(chainId),
    addresses,
    startBlock: Math.min(...blocks),
    pollMs: options.pollMs ?? DEFAULT_POLL_MS,
    maxBlockRange: options.maxBlockRange ?? DEFAULT_MAX_BLOCK_RANGE,
  };
}

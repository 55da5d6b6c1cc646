/**
 * What the dashboard server tells the web app at /config.json. Browser-safe: the web app imports
 * this file too.
 */
import type { SystemAddresses } from "../deploy";

export interface DashboardConfig {
  /** The Hardhat network name the server was started with. */
  network: string;
  chainId: number;
  addresses: SystemAddresses;
  /** The first block to read events from: the block the system was deployed in. */
  startBlock: number;
  /** Milliseconds between head polls. */
  pollMs: number;
  /** The most blocks one eth_getLogs call spans (nodes limit it). */
  maxBlockRange: number;
}

/** Where the web app finds the node: JSON-RPC proxied by the dashboard server, same origin. */
export const RPC_PATH = "/rpc";
export const CONFIG_PATH = "/config.json";

/** Head polls: fast enough that a new block shows well within a 1 s block time. */
export const DEFAULT_POLL_MS = 300;
export const DEFAULT_MAX_BLOCK_RANGE = 2000;

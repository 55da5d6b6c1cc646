/**
 * The chain the benchmark runs on: Hardhat's in-process network (automine: a block per
 * transaction, as `npm run demo`) or an anvil node it starts itself with interval mining (1 s
 * blocks by default, src/import/anvil.ts). Block time dominates latency on a real chain, so the
 * mining mode is part of every result.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  JsonRpcProvider,
  Network,
  toQuantity,
  type JsonRpcError,
  type JsonRpcPayload,
  type JsonRpcResult,
  type Provider,
} from "ethers";

import { anvilAvailable, startAnvil } from "../../src/import/anvil";

export type NetworkName = "hardhat" | "anvil";
export const NETWORK_NAMES: readonly NetworkName[] = ["hardhat", "anvil"];

export interface BenchNetwork {
  name: NetworkName;
  /** One line: the node and how it mines. */
  description: string;
  /** "automine" or "interval". */
  mining: "automine" | "interval";
  /** Seconds between blocks; 0 under automine. */
  blockTimeSeconds: number;
  provider: Provider;
  /** Gives an account ether without a transaction (a development node's cheat). */
  setBalance(address: string, wei: bigint): Promise<void>;
  /** CPU seconds the node has used so far when it is a separate process, else undefined. */
  nodeCpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

export interface NetworkOptions {
  name: NetworkName;
  /** Seconds between blocks on anvil. */
  blockTimeSeconds: number;
  /** anvil's block gas limit. */
  blockGasLimit: number;
  /** How often ethers looks for new blocks (transaction receipts), ms. */
  pollingMs: number;
}

export async function startNetwork(options: NetworkOptions): Promise<BenchNetwork> {
  return options.name === "hardhat" ? inProcess() : anvil(options);
}

async function inProcess(): Promise<BenchNetwork> {
  // Loading Hardhat creates its runtime environment with the project's config (network "hardhat").
  const hre = (await import("hardhat")).default;
  if (hre.network.name !== "hardhat") {
    throw new Error(
      `The in-process run needs Hardhat's own network, not "${hre.network.name}": unset HARDHAT_NETWORK.`,
    );
  }
  const provider = hre.ethers.provider;
  const automine = (await provider.send("hardhat_getAutomine", [])) as boolean;
  if (!automine) throw new Error("Hardhat's network is not automining: the benchmark expects a block per transaction.");
  const version = (await provider.send("web3_clientVersion", [])) as string;
  return {
    name: "hardhat",
    description: `Hardhat in-process network (${version}), automine: one block per transaction, mined as it is sent`,
    mining: "automine",
    blockTimeSeconds: 0,
    provider,
    setBalance: async (address, wei) => {
      await provider.send("hardhat_setBalance", [address, toQuantity(wei)]);
    },
    nodeCpuSeconds: () => undefined,
    stop: () => Promise.resolve(),
  };
}

/**
 * The anvil of src/import/anvil.ts keeps no state history (--prune-history): a read of "latest"
 * that races a new block can find its block's state gone, and anvil answers "BlockOutOfRangeError:
 * block height is N but requested was N-1" (see also foundry-rs/foundry#10709). That is no answer:
 * those calls alone are asked again, a few times.
 */
export class AnvilProvider extends JsonRpcProvider {
  async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    let results = await super._send(payload);
    const calls = Array.isArray(payload) ? payload : [payload];
    for (let attempt = 0; attempt < 5; attempt++) {
      const raced = new Set(results.filter(isBlockRace).map((r) => r.id));
      if (raced.size === 0) break;
      const answers = new Map((await super._send(calls.filter((c) => raced.has(c.id)))).map((r) => [r.id, r]));
      results = results.map((r) => answers.get(r.id) ?? r);
    }
    return results;
  }
}

function isBlockRace(result: JsonRpcResult | JsonRpcError): boolean {
  const message = (result as Partial<JsonRpcError>).error?.message;
  return typeof message === "string" && message.startsWith("BlockOutOfRangeError");
}

async function anvil(options: NetworkOptions): Promise<BenchNetwork> {
  if (!anvilAvailable()) throw new Error("No anvil binary in node_modules/.bin: npm ci installs it.");
  if (!(options.blockTimeSeconds >= 1) || !Number.isInteger(options.blockTimeSeconds)) {
    throw new Error(
      `A block time of ${options.blockTimeSeconds} s is not valid on anvil: give whole seconds, 1 or more.`,
    );
  }
  const node = await startAnvil({ gasLimit: options.blockGasLimit, blockTime: options.blockTimeSeconds });
  const network = Network.from(31337);
  // No batching stall (sequential calls are not held back 10 ms each; concurrent ones still
  // batch) and no 250 ms cache of answers (a head read must be fresh to time anything).
  const provider = new AnvilProvider(node.url, network, {
    staticNetwork: network,
    batchStallTime: 0,
    cacheTimeout: -1,
  });
  provider.pollingInterval = options.pollingMs;
  // Keeps ethers' block poller running for good. Started afresh for a lone wait, it takes the
  // block it first reads as its baseline: a transaction mined just before would then be noticed
  // only a block later, and every receipt time would be a block late.
  await provider.on("block", () => undefined);
  const version = (await provider.send("web3_clientVersion", [])) as string;
  return {
    name: "anvil",
    description:
      `${version} (its own process), interval mining: a block every ${options.blockTimeSeconds} s, ` +
      `block gas limit ${options.blockGasLimit.toLocaleString("en-US")}, base fee 0`,
    mining: "interval",
    blockTimeSeconds: options.blockTimeSeconds,
    provider,
    setBalance: async (address, wei) => {
      await provider.send("anvil_setBalance", [address, toQuantity(wei)]);
    },
    nodeCpuSeconds: () => processCpuSeconds(node.process.pid),
    stop: async () => {
      provider.destroy();
      const exited = new Promise<void>((resolve) => {
        if (node.process.exitCode !== null || node.process.signalCode !== null) resolve();
        else node.process.once("exit", () => resolve());
      });
      node.stop();
      await exited;
    },
  };
}

/** User and system CPU seconds of a process so far (Linux /proc), or undefined. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(path.join("/proc", String(pid), "stat"), "utf8");
    // utime and stime are fields 14 and 15, counted here from after the command name.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** A throw-away anvil node for the import benchmark and tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

import { HttpJsonRpc } from "./rpc";
import { freePort } from "../net";

export const ANVIL_BIN = path.join(__dirname, "..", "..", "node_modules", ".bin", "anvil");
/** anvil's first dev account (mnemonic "test test … junk"): public test key, never a real one. */
export const ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

export interface AnvilOptions {
  /** Block gas limit. */
  gasLimit: number;
  /** Seconds between blocks; 0 for a block per transaction (automine). */
  blockTime: number;
  extraArgs?: string[];
}

export interface AnvilNode {
  url: string;
  rpc: HttpJsonRpc;
  process: ChildProcess;
  stop(): void;
}

export function anvilAvailable(): boolean {
  return existsSync(ANVIL_BIN);
}

export async function startAnvil(options: AnvilOptions): Promise<AnvilNode> {
  const port = await freePort();
  const args = [
    "--port",
    String(port),
    "--silent",
    "--accounts",
    "2",
    "--gas-limit",
    String(options.gasLimit),
    // No fee market in a benchmark: full blocks would otherwise raise the base fee every block.
    "--base-fee",
    "0",
    "--disable-min-priority-fee",
    // Bounded memory: anvil otherwise keeps a copy of the whole state per block, and a full
    // import grows it past 20 GB (a few snapshots are not enough). Without history an eth_call
    // at "latest" can miss its block's state when the next block is mined meanwhile: batchAll
    // retries those. Only the recent blocks' transactions are kept (receipts are read at once).
    "--prune-history",
    "--transaction-block-keeper",
    "64",
    ...(options.blockTime > 0 ? ["--block-time", String(options.blockTime)] : []),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(ANVIL_BIN, args, { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const rpc = new HttpJsonRpc(url);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode} (${args.join(" ")}).`);
    try {
      await rpc.request("eth_chainId", []);
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { url, rpc, process: child, stop: () => child.kill() };
}

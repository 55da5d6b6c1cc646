/**
 * The node under test: anvil (default) or `hardhat node` as a child process, or Hardhat's
 * in-process network. Each is set to interval mining (1 s blocks) with a raised block gas limit,
 * and offers a way to fund accounts without transactions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

import { Eip1193JsonRpc, HttpJsonRpc, call, hex, type JsonRpc } from "../../src/rpc";

export type NodeKind = "anvil" | "hardhat-node" | "hardhat";

export interface NodeOptions {
  kind: NodeKind;
  port: number;
  blockTimeSeconds: number;
  blockGasLimit: bigint;
}

export interface NodeUnderTest {
  kind: NodeKind;
  rpc: JsonRpc;
  /** Human-readable: the binary, its version and arguments. */
  description: string;
  /** The child process, for CPU accounting; undefined in process. */
  pid?: number;
  setBalance(address: string, wei: bigint): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = path.join(__dirname, "..", "..");

async function waitForRpc(rpc: JsonRpc, child: ChildProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before it answered.`);
    try {
      await call(rpc, "eth_chainId");
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${what} did not answer within ${timeoutMs / 1000} s: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Stops a child process: SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

function anvilVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(path.join(ROOT, "node_modules", "@foundry-rs", "anvil-linux-amd64", "package.json"), "utf8"),
    ) as { version: string };
    return pkg.version;
  } catch {
    return "unknown";
  }
}

async function startAnvil(options: NodeOptions): Promise<NodeUnderTest> {
  const args = [
    "--port",
    String(options.port),
    "--block-time",
    String(options.blockTimeSeconds),
    "--gas-limit",
    options.blockGasLimit.toString(),
    "--chain-id",
    "31337",
    "--accounts",
    "0",
    // Same-fee transactions leave the pool in arrival order: request ids are predicted from it.
    "--order",
    "fifo",
    "--no-request-size-limit",
    // Only recent states are needed; keeping every block's state costs memory and time. A few are
    // kept: with only the latest one, an eth_call at "latest" made while a block is mined fails
    // now and then with BlockOutOfRangeError (foundry-rs/foundry#10709), and the agents read a lot.
    "--prune-history",
    "16",
    "--silent",
  ];
  const binary = path.join(ROOT, "node_modules", ".bin", "anvil");
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const rpc = new HttpJsonRpc(`http://127.0.0.1:${options.port}`);
  try {
    await waitForRpc(rpc, child, "anvil");
  } catch (error) {
    await stopChild(child);
    throw new Error(`${(error as Error).message}${stderr === "" ? "" : `\n${stderr}`}`);
  }
  return {
    kind: "anvil",
    rpc,
    description: `anvil ${anvilVersion()} ${args.join(" ")}`,
    pid: child.pid,
    setBalance: async (address, wei) => {
      await call(rpc, "anvil_setBalance", [address, hex(wei)]);
    },
    stop: () => stopChild(child),
  };
}

/** Interval mining and the block gas limit on a Hardhat network (node or in process). */
async function configureHardhat(rpc: JsonRpc, options: NodeOptions): Promise<void> {
  await call(rpc, "evm_setBlockGasLimit", [hex(options.blockGasLimit)]);
  await call(rpc, "evm_setAutomine", [false]);
  await call(rpc, "evm_setIntervalMining", [options.blockTimeSeconds * 1000]);
}

async function startHardhatNode(options: NodeOptions): Promise<NodeUnderTest> {
  const binary = path.join(ROOT, "node_modules", ".bin", "hardhat");
  const args = ["node", "--port", String(options.port)];
  const child = spawn(binary, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const rpc = new HttpJsonRpc(`http://127.0.0.1:${options.port}`);
  try {
    await waitForRpc(rpc, child, "hardhat node", 120_000);
    await configureHardhat(rpc, options);
  } catch (error) {
    await stopChild(child);
    throw new Error(`${(error as Error).message}${stderr === "" ? "" : `\n${stderr}`}`);
  }
  return {
    kind: "hardhat-node",
    rpc,
    description: `hardhat node (Hardhat ${await call<string>(rpc, "web3_clientVersion")}) ${args.slice(1).join(" ")}`,
    pid: child.pid,
    setBalance: async (address, wei) => {
      await call(rpc, "hardhat_setBalance", [address, hex(wei)]);
    },
    stop: () => stopChild(child),
  };
}

async function startInProcess(options: NodeOptions): Promise<NodeUnderTest> {
  // Loading Hardhat creates its runtime environment with the project's config (network "hardhat").
  const hre = (await import("hardhat")).default;
  const rpc = new Eip1193JsonRpc(hre.network.provider);
  await configureHardhat(rpc, options);
  return {
    kind: "hardhat",
    rpc,
    description: `Hardhat in-process network (${await call<string>(rpc, "web3_clientVersion")})`,
    setBalance: async (address, wei) => {
      await call(rpc, "hardhat_setBalance", [address, hex(wei)]);
    },
    stop: async () => {
      await call(rpc, "evm_setIntervalMining", [0]);
    },
  };
}

export function startNode(options: NodeOptions): Promise<NodeUnderTest> {
  switch (options.kind) {
    case "anvil":
      return startAnvil(options);
    case "hardhat-node":
      return startHardhatNode(options);
    case "hardhat":
      return startInProcess(options);
  }
}

/** User and system CPU seconds a process has used so far (Linux /proc), or undefined. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat (utime, stime), counted from after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine so far, all cores together (Linux /proc/stat), or undefined. */
export function machineCpuSeconds(): number | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return undefined;
  }
}

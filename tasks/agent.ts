/** `npx hardhat agent <provider|victim>`: the agents that trade without human intervention. */
import path from "node:path";
import { NonceManager } from "ethers";
import { scope, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import { runProviderProcess } from "../src/provider/run";
import { describeSummary, VictimAgent } from "../src/victim/agent";
import { MarketClient } from "../src/clients/market";
import { PreflightSigner } from "../src/clients/preflight";
import { RegistryClient } from "../src/clients/registry";
import { loadDeployedSystem } from "../src/deployment";
import { HttpJsonRpc } from "../src/rpc";
import { parseAckWindow, parseWholeNumber } from "../src/input";
import { readAttackReport } from "../src/victim/attackReport";
import { parseIntakeAddress } from "../src/victim/intake";
import { readSpendingPolicy } from "../src/victim/policy";
import { runVictimDaemon } from "../src/victim/run";
import { chooseSigner, operatorAction, operatorTask, type CommonArgs } from "./lib";

const agent = scope("agent", "Provider and victim agents: trade without human intervention");

/** Clients for a long-running agent: local nonces (NonceManager), refused calls never sent. */
async function agentClients(hre: HardhatRuntimeEnvironment, from: string) {
  const signer = await chooseSigner(hre, from);
  const sender = new PreflightSigner(new NonceManager(signer));
  const system = await loadDeployedSystem(hre.ethers.provider, sender, {
    ignitionDir: hre.config.paths.ignition ?? path.join(hre.config.paths.root, "ignition"),
    networkName: hre.network.name,
  });
  return {
    market: new MarketClient(system.directory, system.token, sender),
    registry: new RegistryClient(system.registry),
  };
}

function stamp(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

/** Progress on standard error, when standard output carries ExaBGP's commands. */
function stampToStderr(line: string): void {
  console.error(`${new Date().toISOString()} ${line}`);
}

/** "0:0,1:5" → { 0: 0, 1: 5 }. */
function parseCapacities(text: string | undefined): Record<number, number> | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const result: Record<number, number> = {};
  for (const part of text.split(",")) {
    const [offering, capacity] = part.split(":");
    if (capacity === undefined) throw new Error(`"${part}" is not offering:capacity, e.g. 0:5.`);
    result[parseWholeNumber(offering, "offering id")] = parseWholeNumber(capacity, "capacity");
  }
  return result;
}

interface ProviderArgs extends CommonArgs {
  backend: string;
  db: string;
  confirmations: string;
  pollMs: string;
  startBlock?: string;
  exabgpOutput?: string;
  gobgpHost: string;
  gobgpPort: string;
  gobgpBinary: string;
  rateLimit: string;
  capacity?: string;
  minAckMargin: string;
  noStatusReports: boolean;
  ordersPort?: string;
  ordersHost: string;
  orderMinLifetime: string;
}

operatorTask(agent, "provider", "Runs the provider agent until SIGINT/SIGTERM")
  .addOptionalParam("backend", "Mitigation back end: log, exabgp or gobgp", "log", types.string)
  .addOptionalParam("db", "The agent's SQLite database", "var/provider.db", types.string)
  .addOptionalParam("confirmations", "Blocks to wait before acting on an event", "0", types.string)
  .addOptionalParam("pollMs", "Milliseconds between polls of the chain", "1000", types.string)
  .addOptionalParam("startBlock", "First block to read when the database has no cursor", undefined, types.string)
  .addOptionalParam("exabgpOutput", "exabgp: file to append API commands to (- for stdout)", undefined, types.string)
  .addOptionalParam("gobgpHost", "gobgp: gobgpd's gRPC host", "127.0.0.1", types.string)
  .addOptionalParam("gobgpPort", "gobgp: gobgpd's gRPC port", "50051", types.string)
  .addOptionalParam("gobgpBinary", "gobgp: the gobgp CLI", "gobgp", types.string)
  .addOptionalParam("rateLimit", "Bytes per second for rate-limiting offerings", "125000000", types.string)
  .addOptionalParam("capacity", "Capacity overrides, offering:capacity,…", undefined, types.string)
  .addOptionalParam("minAckMargin", "Reject requests whose deadline is closer than this (s)", "2", types.string)
  .addFlag("noStatusReports", "Do not report DOTS status on chain")
  .addOptionalParam(
    "ordersPort",
    "Take signed orders over HTTP on this port (0: any free one)",
    undefined,
    types.string,
  )
  .addOptionalParam("ordersHost", "The address the order intake listens on", "127.0.0.1", types.string)
  .addOptionalParam("orderMinLifetime", "Refuse orders expiring sooner than this (s)", "4", types.string)
  .setAction(
    operatorAction(async (args: ProviderArgs, hre) => {
      const { market, registry } = await agentClients(hre, args.from);
      // ExaBGP reads its API commands from the agent's standard output: keep it for them alone.
      const commandsOnStdout = args.backend === "exabgp" && (args.exabgpOutput ?? "-") === "-";
      const progress = commandsOnStdout ? stampToStderr : stamp;
      const counts = await runProviderProcess({
        market,
        registry,
        provider: hre.ethers.provider,
        db: args.db,
        backend: {
          name: args.backend,
          exabgpOutput: args.exabgpOutput,
          gobgpBinary: args.gobgpBinary,
          gobgpHost: args.gobgpHost,
          gobgpPort: parseWholeNumber(args.gobgpPort, "gobgpd gRPC port", 1, 65535),
          log: progress,
        },
        confirmations: parseWholeNumber(args.confirmations, "confirmation depth"),
        pollMs: parseWholeNumber(args.pollMs, "poll interval in ms", 10),
        startBlock: args.startBlock === undefined ? undefined : parseWholeNumber(args.startBlock, "start block"),
        policy: {
          rateLimitBytesPerSecond: parseWholeNumber(args.rateLimit, "rate limit in bytes per second", 1),
          capacity: parseCapacities(args.capacity),
          minAckMarginSeconds: parseWholeNumber(args.minAckMargin, "acknowledgement margin in seconds"),
        },
        statusReports: !args.noStatusReports,
        onProgress: progress,
        rpc: "url" in hre.network.config ? new HttpJsonRpc(hre.network.config.url) : undefined,
        orders:
          args.ordersPort === undefined
            ? undefined
            : {
                host: args.ordersHost,
                port: parseWholeNumber(args.ordersPort, "order intake port", 0, 65535),
                minLifetimeSeconds: parseWholeNumber(args.orderMinLifetime, "order lifetime in seconds"),
              },
      });
      const text = Object.entries(counts)
        .map(([state, n]) => `${n} ${state}`)
        .join(", ");
      return { data: counts, text: `stopped; requests: ${text || "none"}` };
    }),
  );

interface VictimArgs extends CommonArgs {
  report?: string;
  ackWindow: string;
  pollMs: string;
}

operatorTask(agent, "victim", "Buys mitigation for an attack report and follows it to the end")
  .addOptionalParam(
    "report",
    "A DOTS-style attack report (JSON): target, lifetime, topTalkers",
    undefined,
    types.string,
  )
  .addOptionalParam("ackWindow", "Seconds the providers get to acknowledge", "120", types.string)
  .addOptionalParam("pollMs", "Milliseconds between polls of the chain", "500", types.string)
  .setAction(
    operatorAction<VictimArgs, unknown>(["report"], async (args, hre) => {
      const report = readAttackReport(args.report!);
      const { market, registry } = await agentClients(hre, args.from);
      const victim = new VictimAgent({
        market,
        registry,
        provider: hre.ethers.provider,
        ackWindow: parseAckWindow(args.ackWindow),
        pollMs: parseWholeNumber(args.pollMs, "poll interval in ms", 10),
        onProgress: args.json ? undefined : stamp,
      });
      const summary = await victim.run(report);
      return { data: summary, text: describeSummary(summary).join("\n") };
    }),
  );

interface VictimDaemonArgs extends CommonArgs {
  policy?: string;
  db: string;
  listen: string;
  pollMs: string;
  followMs: string;
  dryRun: boolean;
}

operatorTask(agent, "victim-daemon", "Buys mitigation on the detector's notifications until SIGINT/SIGTERM")
  .addOptionalParam("policy", "The spending policy (JSON): budgets, price limit, kinds", undefined, types.string)
  .addOptionalParam("db", "The daemon's SQLite database", "var/victim.db", types.string)
  .addOptionalParam("listen", "Where the notify script posts: host:port or unix:/path", "127.0.0.1:9740", types.string)
  .addOptionalParam("pollMs", "Milliseconds between passes (renewals, withdrawals)", "1000", types.string)
  .addOptionalParam("followMs", "Milliseconds between looks for the providers' answers", "250", types.string)
  .addFlag("dryRun", "Log what would be bought, buy nothing (overrides the policy)")
  .setAction(
    operatorAction<VictimDaemonArgs, unknown>(["policy"], async (args, hre) => {
      const policy = readSpendingPolicy(args.policy!);
      const listen = parseIntakeAddress(args.listen);
      const pollMs = parseWholeNumber(args.pollMs, "poll interval in ms", 10);
      const followMs = parseWholeNumber(args.followMs, "follow interval in ms", 10);
      const { market, registry } = await agentClients(hre, args.from);
      const counts = await runVictimDaemon({
        market,
        registry,
        provider: hre.ethers.provider,
        db: args.db,
        policy: { ...policy, dryRun: policy.dryRun || args.dryRun },
        listen,
        pollMs,
        followMs,
        onProgress: stamp,
      });
      const text = Object.entries(counts)
        .map(([state, n]) => `${n} ${state}`)
        .join(", ");
      return { data: counts, text: `stopped; purchases: ${text || "none"}` };
    }),
  );

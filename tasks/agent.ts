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
import { AGENT_RPC_TIMEOUT_MS, HttpJsonRpc } from "../src/rpc";
import { parseAckWindow, parseWholeNumber } from "../src/input";
import { readAttackReport } from "../src/victim/attackReport";
import { parseIntakeAddress } from "../src/victim/intake";
import { runVictimDaemon } from "../src/victim/run";
import {
  ConfigSource,
  explicitFlags,
  PROVIDER_FLAGS,
  VICTIM_FLAGS,
  type ProviderConfig,
  type ProviderPolicyConfig,
} from "../src/ops/config";
import type { PolicyOptions } from "../src/provider/policy";
import { meteredJsonRpc, meterInPlace } from "../src/ops/instrument";
import { createLogger, progressToLog } from "../src/ops/log";
import { providerMetrics, victimMetrics } from "../src/ops/metrics";
import { DEPLOYMENT_DIR_ENV } from "../src/deployment";
import { OperatorError } from "../src/errors";
import { chooseSigner, operatorAction, operatorTask, type CommonArgs } from "./lib";

const agent = scope("agent", "Provider and victim agents: trade without human intervention");

/** Clients for a long-running agent: local nonces (NonceManager), refused calls never sent. */
async function agentClients(
  hre: HardhatRuntimeEnvironment,
  from: string,
  chain: { chainId?: number; deployment?: string } = {},
) {
  if (chain.deployment !== undefined) process.env[DEPLOYMENT_DIR_ENV] = chain.deployment;
  if (chain.chainId !== undefined) {
    const actual = (await hre.ethers.provider.getNetwork()).chainId;
    if (actual !== BigInt(chain.chainId)) {
      throw new OperatorError(
        `The node of --network ${hre.network.name} is chain ${actual}, not ${chain.chainId} as the configuration says.`,
      );
    }
  }
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

/** The policy part of the provider's configuration, as the agent takes it. */
function providerPolicy(policy: ProviderPolicyConfig): Partial<PolicyOptions> {
  return {
    rateLimitBytesPerSecond: policy.rateLimitBytesPerSecond,
    minAckMarginSeconds: policy.minAckMarginSeconds,
    capacity:
      policy.capacity === undefined
        ? undefined
        : Object.fromEntries(Object.entries(policy.capacity).map(([offering, n]) => [Number(offering), n])),
    denyRequesters: policy.denyRequesters,
  };
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
  configFile?: string;
  metricsListen?: string;
  logLevel?: string;
  logFormat?: string;
  ordersPort?: string;
  ordersHost: string;
  orderMinLifetime: string;
}

/** Operations flags both long-running agents take (docs/operations.md). */
const OPS_PARAMS = [
  ["configFile", "The agent's configuration file (JSON, docs/operations.md); flags override it"],
  ["metricsListen", "Serve /metrics, /healthz and /livez at host:port (e.g. 127.0.0.1:9750)"],
  ["logLevel", "fatal, error, warn, info (default), debug or trace"],
  ["logFormat", "json, pretty, or auto (default: pretty on a terminal)"],
] as const;

/**
 * A long-running agent's logger (its progress lines become JSON events), and its metrics, which
 * count every call to the node.
 */
function agentOps<M extends { common: Parameters<typeof meterInPlace>[1] }>(
  hre: HardhatRuntimeEnvironment,
  agent: "provider" | "victim",
  config: { log: ProviderConfig["log"]; metrics: ProviderConfig["metrics"] },
  metrics: M,
  stdio: 1 | 2,
) {
  const logger = createLogger({
    agent,
    level: config.log.level,
    format: config.log.format,
    destination: config.log.file ?? stdio,
  });
  meterInPlace(hre.network.provider, metrics.common);
  const ops = { logger, metrics, metricsListen: config.metrics.listen, maxLagBlocks: config.metrics.maxLagBlocks };
  return { progress: progressToLog(logger), ops };
}

/** The provider task's defaults: a flag left at its default does not override the file. */
const PROVIDER_DEFAULTS = {
  from: "0",
  backend: "log",
  db: "var/provider.db",
  confirmations: "0",
  pollMs: "1000",
  gobgpHost: "127.0.0.1",
  gobgpPort: "50051",
  gobgpBinary: "gobgp",
  rateLimit: "125000000",
  minAckMargin: "2",
  noStatusReports: false,
};

const providerTask = operatorTask(agent, "provider", "Runs the provider agent until SIGINT/SIGTERM");
for (const [name, description] of OPS_PARAMS) providerTask.addOptionalParam(name, description, undefined, types.string);
providerTask
  .addOptionalParam("backend", "Mitigation back end: log, exabgp or gobgp", PROVIDER_DEFAULTS.backend, types.string)
  .addOptionalParam("db", "The agent's SQLite database", PROVIDER_DEFAULTS.db, types.string)
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
      const source = ConfigSource.provider(
        args.configFile,
        explicitFlags({ ...args }, PROVIDER_DEFAULTS, PROVIDER_FLAGS),
      );
      const config = source.load();
      // ExaBGP reads its API commands from the agent's standard output: keep it for them alone.
      const commandsOnStdout = config.backend.name === "exabgp" && config.backend.output === "-";
      const { progress, ops } = agentOps(hre, "provider", config, providerMetrics(), commandsOnStdout ? 2 : 1);
      const { market, registry } = await agentClients(hre, config.chain.account, config.chain);
      const counts = await runProviderProcess({
        market,
        registry,
        provider: hre.ethers.provider,
        service: config.service,
        db: config.db,
        backend: {
          name: config.backend.name,
          exabgpOutput: config.backend.output,
          gobgpBinary: config.backend.binary,
          gobgpHost: config.backend.host,
          gobgpPort: config.backend.port,
          log: progress,
        },
        confirmations: config.confirmations,
        pollMs: config.pollMs,
        startBlock: config.startBlock,
        policy: providerPolicy(config.policy),
        statusReports: config.statusReports,
        onProgress: progress,
        ops: {
          ...ops,
          reloadPolicy: args.configFile === undefined ? undefined : () => providerPolicy(source.load().policy),
        },
        rpc:
          "url" in hre.network.config
            ? meteredJsonRpc(new HttpJsonRpc(hre.network.config.url, AGENT_RPC_TIMEOUT_MS), ops.metrics.common)
            : undefined,
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
  configFile?: string;
  metricsListen?: string;
  logLevel?: string;
  logFormat?: string;
}

const VICTIM_DEFAULTS = { from: "0", db: "var/victim.db", listen: "127.0.0.1:9740", pollMs: "1000", followMs: "250" };

const victimDaemonTask = operatorTask(
  agent,
  "victim-daemon",
  "Buys mitigation on the detector's notifications until SIGINT/SIGTERM",
);
for (const [name, description] of OPS_PARAMS)
  victimDaemonTask.addOptionalParam(name, description, undefined, types.string);
victimDaemonTask
  .addOptionalParam("policy", "The spending policy (JSON): budgets, price limit, kinds", undefined, types.string)
  .addOptionalParam("db", "The daemon's SQLite database", "var/victim.db", types.string)
  .addOptionalParam("listen", "Where the notify script posts: host:port or unix:/path", "127.0.0.1:9740", types.string)
  .addOptionalParam("pollMs", "Milliseconds between passes (renewals, withdrawals)", "1000", types.string)
  .addOptionalParam("followMs", "Milliseconds between looks for the providers' answers", "250", types.string)
  .addFlag("dryRun", "Log what would be bought, buy nothing (overrides the policy)")
  .setAction(
    operatorAction<VictimDaemonArgs, unknown>(async (args, hre) => {
      const flags = { ...explicitFlags({ ...args }, VICTIM_DEFAULTS, VICTIM_FLAGS), dryRun: args.dryRun };
      const source = ConfigSource.victim(args.configFile, flags);
      const config = source.load();
      const { progress, ops } = agentOps(hre, "victim", config, victimMetrics(), 1);
      const { market, registry } = await agentClients(hre, config.chain.account, config.chain);
      const counts = await runVictimDaemon({
        market,
        registry,
        provider: hre.ethers.provider,
        db: config.db,
        policy: config.policy,
        listen: parseIntakeAddress(config.listen),
        pollMs: config.pollMs,
        followMs: config.followMs,
        onProgress: progress,
        ops: { ...ops, reloadPolicy: () => source.load().policy },
      });
      const text = Object.entries(counts)
        .map(([state, n]) => `${n} ${state}`)
        .join(", ");
      return { data: counts, text: `stopped; purchases: ${text || "none"}` };
    }),
  );

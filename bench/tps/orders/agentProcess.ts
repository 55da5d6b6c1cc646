/**
 * One provider agent, as its own process, for `bench:tps --mode orders`: the real provider agent
 * as `npx hardhat agent provider --orders-port <port>` runs it (`runProviderProcess`, with its
 * order intake over HTTP, a log back end and a SQLite store, here in a throw-away directory), its
 * endpoint published on its service first, as `npx hardhat service set-order-endpoint` does. It
 * runs until SIGTERM, or until the benchmark goes away. Its settings come as JSON in $BENCH_AGENT
 * (`AgentSettings`); it prints only what is not routine (errors, refusals to settle). The
 * benchmark measures it over HTTP and from the chain, and profiles it over IPC (./profiler.ts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, NonceManager, Wallet } from "ethers";

import { MitigationToken__factory, PrefixRegistry__factory, ServiceDirectory__factory } from "../../../typechain-types";
import { MarketClient } from "../../../src/clients/market";
import { PreflightSigner } from "../../../src/clients/preflight";
import { RegistryClient } from "../../../src/clients/registry";
import { runProviderProcess } from "../../../src/provider/run";
import { AGENT_RPC_TIMEOUT_MS, HttpJsonRpc, type RpcCall, type RpcOutcome } from "../../../src/rpc";
import { serveProfiler } from "./profiler";

export interface AgentSettings {
  rpcUrl: string;
  chainId: string;
  service: string;
  registry: string;
  token: string;
  directory: string;
  providerKey: string;
  host: string;
  port: number;
  /** The agent's main loop interval (ms). */
  pollMs: number;
  /** Milliseconds between settlement passes. */
  settleEveryMs: number;
}

/** The agent's JSON-RPC, counting calls by method and round trips (printed when it stops). */
class CountingJsonRpc extends HttpJsonRpc {
  readonly calls = new Map<string, number>();
  roundTrips = 0;

  override request(method: string, params: unknown[]): Promise<unknown> {
    this.count([{ method, params }]);
    return super.request(method, params);
  }

  override batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]> {
    if (calls.length > 0) this.count(calls);
    return super.batch(calls);
  }

  private count(calls: readonly RpcCall[]): void {
    this.roundTrips++;
    for (const { method } of calls) this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }
}

/** Progress lines the agent prints for every order or rule: not worth a pipe at thousands a second. */
const ROUTINE = /^(install|remove|settled|activated|ended|order intake listening)\b/;

async function main(): Promise<void> {
  const text = process.env.BENCH_AGENT;
  if (text === undefined)
    throw new Error("BENCH_AGENT is not set: this process is started by bench/tps/orders/agents.ts.");
  const settings = JSON.parse(text) as AgentSettings;
  serveProfiler();
  // The benchmark went away without stopping this agent: stop as if it had.
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));

  const provider = new JsonRpcProvider(settings.rpcUrl, Number(settings.chainId), { staticNetwork: true });
  // As `npx hardhat agent provider` builds its clients (tasks/agent.ts).
  const sender = new PreflightSigner(new NonceManager(new Wallet(settings.providerKey, provider)));
  const market = new MarketClient(
    ServiceDirectory__factory.connect(settings.directory, sender),
    MitigationToken__factory.connect(settings.token, sender),
    sender,
  );
  const registry = new RegistryClient(PrefixRegistry__factory.connect(settings.registry, sender));
  const url = `http://${settings.host}:${settings.port}`;
  if ((await market.orderEndpoint(settings.service)) !== url) await market.setOrderEndpoint(url);

  const rpc = new CountingJsonRpc(settings.rpcUrl, AGENT_RPC_TIMEOUT_MS);
  const directory = await mkdtemp(path.join(os.tmpdir(), "bench-provider-agent-"));
  try {
    const counts = await runProviderProcess({
      market,
      registry,
      provider,
      service: settings.service,
      db: path.join(directory, "provider.db"),
      backend: { name: "log" },
      confirmations: 0,
      pollMs: settings.pollMs,
      startBlock: await provider.getBlockNumber(),
      statusReports: false,
      rpc,
      orders: { host: settings.host, port: settings.port, settleEveryMs: settings.settleEveryMs },
      onProgress: (line) => {
        if (!ROUTINE.test(line)) console.log(line);
      },
    });
    console.log(`stopped; requests: ${JSON.stringify(counts)}`);
    console.log(`JSON-RPC: ${rpc.roundTrips} round trips; ${JSON.stringify(Object.fromEntries(rpc.calls))}`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);

/**
 * One provider agent, as its own process, for `bench:tps --mode orders`: takes orders over HTTP
 * on the given port, publishes that endpoint on its service, settles what it accepted, until
 * SIGTERM. Its settings come as JSON in $BENCH_AGENT (see `AgentSettings`).
 *
 * Today it runs the STAND-IN intake (./standin.ts). When the provider agent's real intake lands
 * on main, this file is the one place to change: start `runProviderProcess` (src/provider/run.ts)
 * with its order intake listening on `settings.host:settings.port` instead of `StandInIntake`
 * (clients built from the addresses below; a log back end; a throw-away SQLite file), or exec
 * `npx hardhat agent provider --orders-listen host:port` with the deployment in
 * $MARKET_DEPLOYMENT_DIR. The benchmark finds the endpoint on chain and talks to it over HTTP
 * only, so nothing else changes.
 */
import { terminationSignal } from "../../../src/pause";
import { serveProfiler } from "./profiler";
import { StandInIntake } from "./standin";

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
  flushMs: number;
  maxPerTx: number;
  gasPrice: string;
}

async function main(): Promise<void> {
  const text = process.env.BENCH_AGENT;
  if (text === undefined)
    throw new Error("BENCH_AGENT is not set: this process is started by bench/tps/orders/agents.ts.");
  const settings = JSON.parse(text) as AgentSettings;
  const intake = new StandInIntake({
    ...settings,
    chainId: BigInt(settings.chainId),
    gasPrice: BigInt(settings.gasPrice),
    minExpirySeconds: 5,
    maxQueue: 20_000,
    gasPerOrder: 80_000n,
    gasPerTx: 100_000n,
  });
  const signalled = terminationSignal();
  serveProfiler();
  // The benchmark went away without stopping this agent: stop as if it had.
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
  const url = await intake.start();
  console.log(`stand-in intake for ${settings.service} at ${url}`);
  const signal = await signalled;
  await intake.stop();
  console.log(`${signal}: stopped; ${JSON.stringify(intake.stats)}`);
  if (intake.error !== undefined) throw intake.error;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);

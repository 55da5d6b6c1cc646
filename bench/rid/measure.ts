/**
 * One measurement: hand the victim agent the attack report and time it until it sees the last
 * acknowledgement on chain (its own view, as `npm run demo` measures it), with the steps on the
 * way and the CPU the run cost.
 */
import { performance } from "node:perf_hooks";

import { VictimAgent } from "../../src/victim/agent";
import type { MarketClient } from "../../src/clients/market";
import type { RegistryClient } from "../../src/clients/registry";
import type { AttackReport } from "../../src/victim/attackReport";
import type { Fleet } from "./fleet";
import type { BenchNetwork } from "./network";

/** One repetition's figures; times in ms from handing over the report. */
export interface Repetition {
  /** The victim agent saw the last acknowledgement (the headline figure). */
  totalMs: number;
  /** Orders planned: sources → ASes → services → offerings, read from the chain. */
  planMs: number;
  /** The request transaction(s) mined, as the victim's receipt says. */
  requestMs: number;
  /**
   * The last provider agent's acknowledgement mined, as its own receipt says (its receipt poll may
   * come a little after the victim's look at the chain, so this can exceed the total).
   */
  acksMinedMs: number;
  /** CPU of this process over the run: all agents, the victim, signing, JSON-RPC [and the in-process chain]. */
  cpuMs: number;
  /** CPU of the node over the run when it is a separate process (anvil). */
  nodeCpuMs: number | null;
  /** Blocks mined during the run. */
  blocks: number;
  requestTransactions: number;
  acknowledged: number;
}

export interface MeasureOptions {
  network: BenchNetwork;
  /** The victim's clients (kept across runs, as a running agent keeps them). */
  market: MarketClient;
  registry: RegistryClient;
  fleet: Fleet;
  /** The victim agent's poll interval, ms. */
  pollMs: number;
  maxGasPerTransaction: bigint;
  timeoutMs: number;
}

export async function measure(report: AttackReport, expected: number, options: MeasureOptions): Promise<Repetition> {
  const { network, fleet } = options;
  const agent = new VictimAgent({
    registry: options.registry,
    market: options.market,
    provider: network.provider,
    // Generous: under automine every block moves the chain's clock on by at least a second, and a
    // thousand acknowledgements and status reports are two thousand blocks.
    ackWindow: 6 * 3600,
    pollMs: options.pollMs,
    timeoutMs: options.timeoutMs,
    maxGasPerTransaction: options.maxGasPerTransaction,
  });
  fleet.reset();
  const firstBlock = await network.provider.getBlockNumber();
  const nodeCpu = network.nodeCpuSeconds();
  const cpu = process.cpuUsage();
  const started = performance.now();

  const summary = await agent.run(report);

  const cpuUsed = process.cpuUsage(cpu);
  const nodeCpuAfter = network.nodeCpuSeconds();
  const lastBlock = await network.provider.getBlockNumber();
  const acked = summary.purchases.filter((p) => p.state === "acknowledged").length;
  if (acked !== expected || summary.unserved.length > 0 || summary.msToLastAck === null) {
    const why = [
      ...summary.unserved.map((u) => `${u.source}: ${u.reason}`),
      ...fleet.problems(),
      `${acked} of ${expected} acknowledged`,
    ];
    throw new Error(`The run did not end with every provider acknowledging: ${why.slice(0, 5).join("; ")}.`);
  }
  // A provider agent may see its receipt a poll after the victim saw the acknowledgement.
  const acks = await fleet.acknowledged(expected, 60_000);
  return {
    totalMs: summary.msToLastAck,
    planMs: summary.msToPlan ?? Number.NaN,
    requestMs: summary.msToRequest ?? Number.NaN,
    acksMinedMs: acks - started,
    cpuMs: (cpuUsed.user + cpuUsed.system) / 1000,
    nodeCpuMs: nodeCpu === undefined || nodeCpuAfter === undefined ? null : (nodeCpuAfter - nodeCpu) * 1000,
    blocks: lastBlock - firstBlock,
    requestTransactions: summary.requestTransactions,
    acknowledged: acked,
  };
}

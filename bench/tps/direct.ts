/**
 * The direct mode (requests and acknowledgements, the seed's flow) and the ERC-20 baseline, as
 * phases run at a given rate on the node the benchmark started; and the direct mode's sustainable
 * rate (`--ramp`): the highest offered rate at which confirmation p99 stays ≤ 2 s, confirmed over
 * the full duration, and what happens at 1.5× that rate.
 */
import path from "node:path";

import type { BenchAccounts } from "./accounts";
import type { Follower, Sender } from "./chain";
import { processCpuSeconds, type NodeUnderTest } from "./node";
import { runPhase, type PhaseRun } from "./phase";
import { confirm, rampChart, rampTable, rampUp, transactionStep, type RampOptions, type RampStep } from "./ramp";
import { diagnose, machine, markdown, phaseFigures, targets, type BenchResult, type PhaseFigures } from "./report";
import type { MarketDeployment } from "./setup";
import type { SignerPool } from "./signer";
import { planMitigation, planTransfers } from "./workload";
import { writeResults } from "../lib/results";
import { grouped } from "../lib/stats";

/** What every phase of a run shares: the node, the accounts, the market set up on it, the signers. */
export interface BenchContext {
  node: NodeUnderTest;
  accounts: BenchAccounts;
  market: MarketDeployment;
  pool: SignerPool;
  follower: Follower;
  sender: Sender;
  /** Seconds the market's set-up took. */
  setupSeconds: number;
  config: Record<string, unknown>;
  warmup: number;
}

export interface MixSettings {
  manyShare: number;
  ackBatch: number;
  singleAckShare: number;
}

/** Direct confirmation latency target (2 s: two blocks at the nominal 1 s). */
export const DIRECT_P99_SECONDS = 2;

const nodeCpu = (context: BenchContext) => () => processCpuSeconds(context.node.pid);

/** Signs `slots` seconds of the mitigation mix at ~`rate` tx/s, then runs it. */
export async function mitigationPhase(
  context: BenchContext,
  mix: MixSettings,
  rate: number,
  slots: number,
  name = "mitigation",
): Promise<{ run: PhaseRun; figures: PhaseFigures; signSeconds: number; txs: number }> {
  const latest = await context.node.rpc.request("eth_getBlockByNumber", ["latest", false]);
  const ackDeadline = Number((latest as { timestamp: string }).timestamp) + 6 * 3600;
  const started = Date.now();
  const plan = await planMitigation(
    context.accounts,
    context.market,
    context.pool,
    { rate, slots, ...mix, duration: 600 },
    ackDeadline,
  );
  const signSeconds = (Date.now() - started) / 1000;
  const txs = plan.requests.flat().length + plan.acks.length;
  console.log(
    `${name}: ${grouped(txs)} transactions (${grouped(plan.flows)} flows) at ~${grouped(rate)} tx/s over ${slots} s …`,
  );
  const run = await runPhase(name, plan.requests, context.follower, context.sender, nodeCpu(context), plan);
  return { run, figures: phaseFigures(run, context.warmup * 1000, plan), signSeconds, txs };
}

/** Signs `count` ERC-20 transfers over `slots` seconds, then runs them. */
export async function transferPhase(
  context: BenchContext,
  count: number,
  slots: number,
): Promise<{ run: PhaseRun; figures: PhaseFigures }> {
  const transfers = await planTransfers(context.accounts, context.market, context.pool, count, slots);
  console.log(`ERC-20 baseline: ${grouped(count)} transfers over ${slots} s …`);
  const run = await runPhase("erc20", transfers, context.follower, context.sender, nodeCpu(context));
  return { run, figures: phaseFigures(run, context.warmup * 1000) };
}

/** The baseline's highest sustainable rate (p99 ≤ 2 s), by a ramp of short steps, then confirmed over `duration` s. */
export async function baselineRamp(
  context: BenchContext,
  ramp: RampOptions & { stepSeconds: number },
  duration: number,
): Promise<{ figures: PhaseFigures; steps: RampStep[] }> {
  const slots = (seconds: number) => context.warmup + seconds;
  const { steps, best } = await rampUp(async (rate) => {
    const { run, figures } = await transferPhase(context, rate * slots(ramp.stepSeconds), slots(ramp.stepSeconds));
    return transactionStep(rate, figures, run.blocks, DIRECT_P99_SECONDS);
  }, ramp);
  const confirmed = await confirm(
    async (rate) => {
      const { run, figures } = await transferPhase(context, rate * slots(duration), slots(duration));
      return { result: figures, step: transactionStep(rate, figures, run.blocks, DIRECT_P99_SECONDS) };
    },
    best ?? ramp.from,
    ramp.step,
  );
  steps.push({ ...confirmed.step, note: `full run, ${duration} s` });
  return { figures: confirmed.result, steps };
}

/** A direct-mode result in the report's format: the mitigation phase beside the ERC-20 baseline. */
function directResult(
  context: BenchContext,
  mitigation: PhaseFigures,
  erc20: PhaseFigures,
  signing: BenchResult["signing"],
): BenchResult {
  const info = machine();
  const ratio = erc20.tps > 0 ? mitigation.tps / erc20.tps : 0;
  return {
    date: new Date().toISOString(),
    machine: info,
    node: context.node.description,
    config: context.config,
    setupSeconds: context.setupSeconds,
    signing,
    mitigation,
    erc20,
    ratio,
    targets: targets(mitigation, ratio),
    diagnosis: [
      ...diagnose(mitigation, info.cores).map((line) => `mitigation: ${line}`),
      ...diagnose(erc20, info.cores).map((line) => `ERC-20: ${line}`),
    ],
  };
}

/** The direct mode at one rate, with as many ERC-20 transfers at the same pace after it. */
export async function directRun(
  context: BenchContext,
  mix: MixSettings,
  rate: number,
  duration: number,
): Promise<BenchResult> {
  const slots = context.warmup + duration;
  const m = await mitigationPhase(context, mix, rate, slots);
  const e = await transferPhase(context, m.txs, slots);
  return directResult(context, m.figures, e.figures, {
    txs: m.txs * 2,
    seconds: m.signSeconds,
    threads: context.pool.threads,
  });
}

export interface DirectRampResult {
  mode: "direct-ramp";
  date: string;
  machine: ReturnType<typeof machine>;
  node: string;
  config: Record<string, unknown>;
  steps: RampStep[];
  /** The highest rate that held for the full duration, and 1.5× it. */
  sustainableRate: number;
  sustainable: BenchResult;
  overload: BenchResult;
}

/** `--ramp`: the direct mode's sustainable rate, and 1.5× it. */
export async function directRamp(
  context: BenchContext,
  mix: MixSettings,
  ramp: RampOptions & { stepSeconds: number },
  duration: number,
): Promise<DirectRampResult> {
  const stepSlots = context.warmup + ramp.stepSeconds;
  const { steps, best } = await rampUp(async (rate) => {
    const { run, figures } = await mitigationPhase(context, mix, rate, stepSlots, `ramp ${rate}`);
    return transactionStep(rate, figures, run.blocks, DIRECT_P99_SECONDS);
  }, ramp);
  let sustainableRate = best ?? ramp.from;
  const confirmed = await confirm(
    async (rate) => {
      sustainableRate = rate;
      const result = await directRun(context, mix, rate, duration);
      const blocks = context.follower.blocks;
      return { result, step: transactionStep(rate, result.mitigation, blocks, DIRECT_P99_SECONDS) };
    },
    sustainableRate,
    ramp.step,
  );
  steps.push({ ...confirmed.step, note: `full run, ${duration} s` });
  const overloadRate = Math.round(sustainableRate * 1.5);
  console.log(`At 1.5× the sustainable rate: ${grouped(overloadRate)} tx/s …`);
  const overload = await directRun(context, mix, overloadRate, duration);
  steps.push({
    ...transactionStep(overloadRate, overload.mitigation, context.follower.blocks, DIRECT_P99_SECONDS),
    note: `1.5× the sustainable rate, ${duration} s`,
  });
  return {
    mode: "direct-ramp",
    date: new Date().toISOString(),
    machine: machine(),
    node: context.node.description,
    config: context.config,
    steps,
    sustainableRate,
    sustainable: confirmed.result,
    overload,
  };
}

export function directRampMarkdown(result: DirectRampResult): string {
  const s = result.sustainable.mitigation;
  const o = result.overload.mitigation;
  return [
    `# Direct mode: sustainable rate — ${result.date}`,
    "",
    `The highest offered rate of the direct mix (requests + acknowledgements) at which confirmation p99 stays ≤ ${DIRECT_P99_SECONDS} s and ≥ 95 % of the offered transactions are mined in the window: **${grouped(result.sustainableRate)} tx/s offered, ${grouped(Math.round(s.tps))} tx/s sustained, ${grouped(Math.round(s.flowsPerSecond ?? 0))} flows/s, p99 ${s.latencySeconds.p99.toFixed(2)} s** (load average ${s.profile.loadAverage.map((l) => l.toFixed(1)).join(" → ")}).`,
    "",
    `At 1.5× (${grouped(Math.round(result.sustainableRate * 1.5))} tx/s offered): ${grouped(Math.round(o.tps))} tx/s sustained, ${grouped(Math.round(o.flowsPerSecond ?? 0))} flows/s, confirmation p99 ${o.latencySeconds.p99.toFixed(2)} s, flow (request sent → ack mined) p99 ${(o.flowLatencySeconds?.p99 ?? Number.NaN).toFixed(2)} s (load average ${o.profile.loadAverage.map((l) => l.toFixed(1)).join(" → ")}).`,
    "",
    "Steps (short steps first, then the full runs):",
    "",
    ...rampTable(result.steps, "tx"),
    "",
    `## At the sustainable rate (${grouped(result.sustainableRate)} tx/s offered)`,
    "",
    markdown(result.sustainable).replace(/^# /, "### "),
    `## At 1.5× the sustainable rate`,
    "",
    markdown(result.overload).replace(/^# /, "### "),
  ].join("\n");
}

export async function writeDirectRamp(base: string, result: DirectRampResult): Promise<void> {
  const chart = rampChart(
    result.steps,
    `Direct mode ramp — ${result.node.split(" ").slice(0, 2).join(" ")}`,
    "tx",
    DIRECT_P99_SECONDS,
  );
  await writeResults(base, result, directRampMarkdown(result), chart);
  console.log(`Written ${path.relative(process.cwd(), base)}.{json,md,svg}`);
}

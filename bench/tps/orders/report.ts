/**
 * Figures of an orders phase, and the orders mode's report: the same layout as the direct mode's
 * (a table of the measured phase beside the ERC-20 baseline, the targets, gas, the profile), with
 * what is particular to orders — intake acceptance, intake latency, the agents' CPU.
 */
import { ORDER_SKIP_REASONS } from "../../../src/clients/orders";
import { distribution, formatSeconds, grouped, type Distribution } from "../../lib/stats";
import { lineChart, type Series } from "../../lib/svg";
import type { ProfileSummary } from "../../lib/cpuProfile";
import { blockIntervals, sustainedWindow, type PhaseFigures, type machine } from "../report";
import type { SigningRate } from "./plan";
import type { OrdersRun } from "./phase";
import { rampTable, type RampStep } from "../ramp";

/** The targets of issue 13 for the orders mode. */
export const ORDER_TARGETS = { flowsPerSecond: 2000, p99Seconds: 3, ratio: 1.5, sustainSeconds: 30 };

export interface OrdersFigures {
  name: string;
  /** Orders offered per second (the schedule). */
  offeredPerSecond: number;
  sent: number;
  accepted: number;
  acceptanceRate: number;
  /** Refusals by HTTP status (0: the request failed), with one of their messages. */
  refused: Record<string, { count: number; example: string }>;
  settled: number;
  skipped: Partial<Record<string, number>>;
  /** Accepted but neither settled nor skipped when the phase ended. */
  unsettled: number;
  window: { firstBlock: number; lastBlock: number; seconds: number; settled: number };
  /** Settled orders per second in the window: the flows. */
  flowsPerSecond: number;
  /** settleOrders transactions per second in the window. */
  settleTxsPerSecond: number;
  /** Order sent → the benchmark's follower first sees the block that settled it. */
  latencySeconds: Distribution;
  /** Order sent → the timestamp of the block that settled it (whole seconds: up to 1 s early). */
  latencyToTimestampSeconds: Distribution;
  /** Order sent → the intake's answer (202 or refusal). */
  intakeSeconds: Distribution;
  /** The intake's 202 → the follower sees the order settled. */
  acceptedToSettledSeconds: Distribution;
  /** Whether the rate was sustained, and if not, why (each reason a sentence). */
  sustained: boolean;
  notSustainedBecause: string[];
  gas: { perOrder: number; perTx: number; ordersPerTx: number };
  blocks: { intervalMeanSeconds: number; intervalMaxSeconds: number; seenAfterTimestampSeconds: Distribution };
  profile: {
    sendWindowSeconds: number;
    maxSenderLagMs: number;
    ordersPerRequest: number;
    benchCpuCores: number;
    nodeCpuCores?: number;
    agentCpuCores?: number;
    agentCpuCoresEach: (number | undefined)[];
    otherCpuCores?: number;
    loadAverage: [number, number];
    meanOrdersPerBlock: number;
    meanGasPerBlock: number;
  };
  perBlock: { number: number; t: number; settled: number; p50Seconds: number; p99Seconds: number }[];
}

const sum = (values: readonly number[]) => values.reduce((s, v) => s + v, 0);

export function ordersFigures(run: OrdersRun, warmupMs: number, p99Target = ORDER_TARGETS.p99Seconds): OrdersFigures {
  const { orders } = run;
  const sentOrders = orders.filter((o) => o.sentAt !== undefined);
  const accepted = orders.filter((o) => o.status === 202);
  const refused: OrdersFigures["refused"] = {};
  for (const o of orders) {
    if (o.status === undefined || o.status === 202) continue;
    const entry = (refused[String(o.status)] ??= { count: 0, example: o.error ?? "" });
    entry.count++;
  }
  const settledOrders = orders.filter((o) => o.settledBlock !== undefined);
  const skipped: Partial<Record<string, number>> = {};
  for (const o of orders) {
    if (o.skipReason === undefined) continue;
    const reason = ORDER_SKIP_REASONS[o.skipReason] ?? `reason ${o.skipReason}`;
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  }
  const unsettled = accepted.filter((o) => o.settledBlock === undefined && o.skipReason === undefined).length;

  const blocks = [...run.blocks].sort((a, b) => a.number - b.number);
  const { inWindow, first, last, seconds } = sustainedWindow(blocks, run.sendStart + warmupMs, run.sendEnd);
  const numbers = new Set(inWindow.map((b) => b.number));
  const windowSettled = settledOrders.filter((o) => numbers.has(o.settledBlock!)).length;
  const windowTxs = run.settleTxs.filter((tx) => numbers.has(tx.block));

  const measured = sentOrders.filter((o) => o.sentAt! >= run.sendStart + warmupMs);
  const measuredSettled = measured.filter((o) => o.settledAt !== undefined);
  const latency = distribution(measuredSettled.map((o) => (o.settledAt! - o.sentAt!) / 1000));
  const offeredPerSecond = orders.length / Math.max(1, run.plannedSeconds);
  const flowsPerSecond = seconds > 0 ? windowSettled / seconds : 0;
  const acceptanceRate = sentOrders.length === 0 ? 0 : accepted.length / sentOrders.length;

  const notSustainedBecause: string[] = [];
  if (flowsPerSecond < 0.95 * offeredPerSecond) {
    notSustainedBecause.push(
      `${grouped(Math.round(flowsPerSecond))} orders settled per second, under 95 % of the ${grouped(Math.round(offeredPerSecond))} offered.`,
    );
  }
  if (!(latency.p99 <= p99Target)) {
    notSustainedBecause.push(`Order → settled p99 is ${formatSeconds(latency.p99)} s, over ${p99Target} s.`);
  }
  if (acceptanceRate < 0.99) {
    notSustainedBecause.push(`The intakes accepted ${(acceptanceRate * 100).toFixed(1)} % of the orders, under 99 %.`);
  }
  if (unsettled > 0) notSustainedBecause.push(`${grouped(unsettled)} accepted orders were never settled.`);
  const unanswered = sentOrders.filter((o) => o.status === undefined).length;
  if (unanswered > 0) notSustainedBecause.push(`${grouped(unanswered)} orders sent got no answer from the intake.`);

  const settleGas = sum(run.settleTxs.map((tx) => Number(tx.gasUsed)));
  const settleOrders = sum(run.settleTxs.map((tx) => tx.settled + tx.skipped));
  const sendWindowSeconds = (run.sendEnd - run.sendStart) / 1000;
  const agentCpu = run.agentCpuSeconds.every((c) => c !== undefined) ? sum(run.agentCpuSeconds) : undefined;
  const cores = (cpu: number | undefined) => (cpu === undefined ? undefined : cpu / sendWindowSeconds);
  const intervals = blockIntervals(inWindow);
  const figures: OrdersFigures = {
    name: run.name,
    offeredPerSecond,
    sent: sentOrders.length,
    accepted: accepted.length,
    acceptanceRate,
    refused,
    settled: settledOrders.length,
    skipped,
    unsettled,
    window: { firstBlock: first?.number ?? 0, lastBlock: last?.number ?? 0, seconds, settled: windowSettled },
    flowsPerSecond,
    settleTxsPerSecond: seconds > 0 ? windowTxs.length / seconds : 0,
    latencySeconds: latency,
    latencyToTimestampSeconds: distribution(measuredSettled.map((o) => o.settledTimestamp! - o.sentAt! / 1000)),
    intakeSeconds: distribution(
      measured.filter((o) => o.answeredAt !== undefined).map((o) => (o.answeredAt! - o.sentAt!) / 1000),
    ),
    acceptedToSettledSeconds: distribution(measuredSettled.map((o) => (o.settledAt! - o.answeredAt!) / 1000)),
    sustained: notSustainedBecause.length === 0,
    notSustainedBecause,
    gas: {
      perOrder: settleOrders === 0 ? 0 : Math.round(settleGas / settleOrders),
      perTx: run.settleTxs.length === 0 ? 0 : Math.round(settleGas / run.settleTxs.length),
      ordersPerTx: run.settleTxs.length === 0 ? 0 : settleOrders / run.settleTxs.length,
    },
    blocks: {
      intervalMeanSeconds: intervals.mean,
      intervalMaxSeconds: intervals.max,
      seenAfterTimestampSeconds: distribution(inWindow.map((b) => b.observedAt / 1000 - b.timestamp)),
    },
    profile: {
      sendWindowSeconds,
      maxSenderLagMs: run.maxLagMs,
      ordersPerRequest: run.batchSize,
      benchCpuCores: run.benchCpuSeconds / sendWindowSeconds,
      nodeCpuCores: cores(run.nodeCpuSeconds),
      agentCpuCores: cores(agentCpu),
      agentCpuCoresEach: run.agentCpuSeconds.map(cores),
      otherCpuCores:
        run.machineCpuSeconds === undefined
          ? undefined
          : Math.max(0, run.machineCpuSeconds - (run.nodeCpuSeconds ?? 0) - (agentCpu ?? 0) - run.benchCpuSeconds) /
            sendWindowSeconds,
      loadAverage: run.load,
      meanOrdersPerBlock: inWindow.length === 0 ? 0 : windowSettled / inWindow.length,
      meanGasPerBlock:
        inWindow.length === 0 ? 0 : Number(inWindow.reduce((s, b) => s + b.gasUsed, 0n)) / inWindow.length,
    },
    perBlock: blocks
      .map((b) => {
        const here = settledOrders.filter((o) => o.settledBlock === b.number && o.sentAt !== undefined);
        const d = distribution(here.map((o) => (o.settledAt! - o.sentAt!) / 1000));
        return {
          number: b.number,
          t: (b.observedAt - run.sendStart) / 1000,
          settled: here.length,
          p50Seconds: d.p50,
          p99Seconds: d.p99,
        };
      })
      .filter((b) => b.settled > 0),
  };
  return figures;
}

/** Where the time goes, in sentences, from the measured figures; and, when the rate is not sustained, which part holds it back. */
export function diagnoseOrders(
  f: OrdersFigures,
  cores: number,
  signing: SigningRate[],
  agentProfile?: ProfileSummary,
): string[] {
  const p = f.profile;
  const lines: string[] = [];
  const c = (v: number | undefined) => (v === undefined ? "n/a" : `${v.toFixed(2)} cores`);
  lines.push(
    `Offered ${grouped(Math.round(f.offeredPerSecond))} orders/s over ${p.sendWindowSeconds.toFixed(1)} s (${p.ordersPerRequest} per HTTP request); settled ${grouped(Math.round(f.flowsPerSecond))}/s in the window, in ${f.settleTxsPerSecond.toFixed(1)} settleOrders transactions/s of ${f.gas.ordersPerTx.toFixed(0)} orders on average.`,
  );
  lines.push(
    `CPU during sending: node ${c(p.nodeCpuCores)}, provider agents ${c(p.agentCpuCores)} (${p.agentCpuCoresEach.map((v) => (v === undefined ? "n/a" : v.toFixed(2))).join(" + ")}), benchmark process (victims' HTTP client, block follower) ${c(p.benchCpuCores)}, other processes ${c(p.otherCpuCores)}, of ${cores}; load average ${p.loadAverage.map((l) => l.toFixed(1)).join(" → ")}.`,
  );
  const perOrder = (cpuCores: number | undefined) =>
    cpuCores === undefined || f.flowsPerSecond === 0 ? "n/a" : `${Math.round((cpuCores / f.flowsPerSecond) * 1e6)} µs`;
  lines.push(
    `CPU per settled order: node ${perOrder(p.nodeCpuCores)}, agents ${perOrder(p.agentCpuCores)}, benchmark ${perOrder(p.benchCpuCores)}.`,
  );
  if (agentProfile !== undefined && agentProfile.busyMs > 0) {
    const top = agentProfile.categories.slice(0, 4);
    lines.push(
      `The agents' busy time (sampled over the sending window) went to: ${top.map((c) => `${c.name} ${(c.share * 100).toFixed(0)} %`).join(", ")}; by our function: ${agentProfile.ownFunctions
        .slice(0, 4)
        .map((fn) => `${fn.name} ${(fn.share * 100).toFixed(0)} %`)
        .join(", ")} (the tables below).`,
    );
  }
  lines.push(
    `Latency: sent → intake's answer p50 ${formatSeconds(f.intakeSeconds.p50)} s, p99 ${formatSeconds(f.intakeSeconds.p99)} s; accepted → settled seen p50 ${formatSeconds(f.acceptedToSettledSeconds.p50)} s, p99 ${formatSeconds(f.acceptedToSettledSeconds.p99)} s (the agent's settlement interval, the wait for the next block, the follower); blocks were first seen ${formatSeconds(f.blocks.seenAfterTimestampSeconds.p50)} s after their timestamp (p50), ${formatSeconds(f.blocks.seenAfterTimestampSeconds.max)} s at most; block interval ${formatSeconds(f.blocks.intervalMeanSeconds)} s mean, ${formatSeconds(f.blocks.intervalMaxSeconds)} s longest.`,
  );
  lines.push(
    `Blocks held ${grouped(Math.round(p.meanOrdersPerBlock))} settled orders and ${grouped(Math.round(p.meanGasPerBlock))} gas on average; ${grouped(f.gas.perOrder)} gas per order.`,
  );
  if (signing.length > 0) {
    lines.push(
      `Signing (before the window, on worker threads): ${signing.map((s) => `${s.method} ${grouped(Math.round(s.perSecond))} orders/s on ${s.threads} threads (${grouped(s.orders)} orders)`).join("; ")}.`,
    );
  }
  if (p.maxSenderLagMs > 250) {
    lines.push(`The benchmark fell ${formatSeconds(p.maxSenderLagMs / 1000)} s behind its sending schedule at worst.`);
  }
  if (!f.sustained) {
    lines.push(`Not sustained: ${f.notSustainedBecause.join(" ")}`);
    lines.push(`Held back by: ${bottleneck(f, cores)}`);
  }
  return lines;
}

/** Which part holds the rate back, from the measurements. */
function bottleneck(f: OrdersFigures, cores: number): string {
  const p = f.profile;
  const used = (p.nodeCpuCores ?? 0) + (p.agentCpuCores ?? 0) + p.benchCpuCores + (p.otherCpuCores ?? 0);
  const parts = [
    { name: "the node", cores: p.nodeCpuCores ?? 0 },
    { name: "the provider agents' intake and settlement", cores: p.agentCpuCores ?? 0 },
    { name: "the benchmark's own client", cores: p.benchCpuCores },
  ].sort((a, b) => b.cores - a.cores);
  const saturated = used >= 0.9 * cores;
  const sentences: string[] = [];
  if ((p.nodeCpuCores ?? 0) > 0.85) {
    sentences.push(
      `the node is CPU-bound (${(p.nodeCpuCores ?? 0).toFixed(2)} cores; its execution is single-threaded).`,
    );
  } else if (f.intakeSeconds.p99 > 1 || (f.refused["503"]?.count ?? 0) > 0) {
    sentences.push(
      `the intake: answers took ${formatSeconds(f.intakeSeconds.p99)} s at p99 and the agents used ${(p.agentCpuCores ?? 0).toFixed(2)} cores.`,
    );
  } else if (f.blocks.intervalMaxSeconds > 1.5) {
    sentences.push(`block production: blocks stretched to ${formatSeconds(f.blocks.intervalMaxSeconds)} s.`);
  } else {
    sentences.push(
      `the wait between acceptance and the block (p99 ${formatSeconds(f.acceptedToSettledSeconds.p99)} s).`,
    );
  }
  if (saturated) {
    sentences.push(
      `The machine's ${cores} cores were saturated (${used.toFixed(2)} busy): ${parts.map((x) => `${x.name} ${x.cores.toFixed(2)}`).join(", ")}${(p.otherCpuCores ?? 0) > 0.3 ? `, other processes ${(p.otherCpuCores ?? 0).toFixed(2)}` : ""}.`,
    );
  }
  return sentences.join(" ");
}

export interface OrdersBenchResult {
  mode: "orders";
  date: string;
  machine: ReturnType<typeof machine>;
  node: string;
  /** Who took the orders: the provider agents, as they were run. */
  intake: string;
  config: Record<string, unknown>;
  setupSeconds: number;
  signing: SigningRate[];
  orders: OrdersFigures;
  /** The agents' CPU profile over the full run's sending window, when taken. */
  agentProfile?: ProfileSummary;
  /** Orders ramp, when run: the steps and the highest rate sustained. */
  ordersRamp?: RampStep[];
  erc20: PhaseFigures;
  /** How the baseline's rate was found (its ramp), when it was. */
  erc20Ramp?: RampStep[];
  ratio: number;
  targets: { met: Record<string, boolean> };
  diagnosis: string[];
}

export function ordersTargets(
  orders: OrdersFigures,
  durationSeconds: number,
  ratio: number,
): OrdersBenchResult["targets"] {
  const t = ORDER_TARGETS;
  return {
    met: {
      [`≥ ${grouped(t.flowsPerSecond)} settled flows/s sustained for ${t.sustainSeconds} s`]:
        orders.sustained && orders.flowsPerSecond >= t.flowsPerSecond && durationSeconds >= t.sustainSeconds,
      [`order → settled p99 ≤ ${t.p99Seconds} s`]: orders.latencySeconds.p99 <= t.p99Seconds,
      [`flows/s ≥ ${t.ratio} × the ERC-20 baseline's TPS`]: ratio >= t.ratio,
    },
  };
}

const lat = (d: Distribution) => `${formatSeconds(d.p50)} / ${formatSeconds(d.p95)} / ${formatSeconds(d.p99)} s`;

export function ordersMarkdown(result: OrdersBenchResult): string {
  const o = result.orders;
  const e = result.erc20;
  const row = (label: string, a: string, b: string) => `| ${label} | ${a} | ${b} |`;
  const refusals = Object.entries(o.refused)
    .map(([status, r]) => `${grouped(r.count)} × ${status} ("${r.example.slice(0, 100)}")`)
    .join("; ");
  const lines = [
    `# TPS benchmark, signed orders — ${result.date}`,
    "",
    `Node: ${result.node}`,
    "",
    `Intake: ${result.intake}`,
    "",
    `Machine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.memoryGiB} GiB, ${result.machine.os}, Node.js ${result.machine.node}`,
    "",
    "| | signed orders | ERC-20 baseline |",
    "| --- | ---: | ---: |",
    row(
      "offered",
      `${grouped(Math.round(o.offeredPerSecond))} orders/s`,
      `${grouped(Math.round(e.profile.offeredPerSecond))} tx/s`,
    ),
    row("sent", `${grouped(o.sent)} orders`, `${grouped(e.sent)} transactions`),
    row(
      "**settled flows / s** (one order settled = one flow) · sustained TPS",
      `**${grouped(Math.round(o.flowsPerSecond))}** (in ${o.settleTxsPerSecond.toFixed(1)} tx/s)`,
      `${grouped(Math.round(e.tps))} tx/s`,
    ),
    row(
      "sustained?",
      o.sustained ? "yes" : `**no**: ${o.notSustainedBecause.join(" ")}`,
      e.latencySeconds.p99 <= 2 ? "yes (p99 ≤ 2 s)" : "**no** (p99 > 2 s)",
    ),
    row(
      "sustained window",
      `${o.window.seconds} s, blocks ${o.window.firstBlock}–${o.window.lastBlock}`,
      `${e.window.seconds} s, blocks ${e.window.firstBlock}–${e.window.lastBlock}`,
    ),
    row("order sent → settled (follower sees the block) p50 / p95 / p99", lat(o.latencySeconds), "—"),
    row("order sent → settlement block's timestamp p50 / p95 / p99", lat(o.latencyToTimestampSeconds), "—"),
    row("confirmation latency (sent → mined) p50 / p95 / p99", "—", lat(e.latencySeconds)),
    row("order sent → intake's answer p50 / p95 / p99", lat(o.intakeSeconds), "—"),
    row(
      "intake acceptance",
      `${(o.acceptanceRate * 100).toFixed(2)} % (${grouped(o.accepted)} of ${grouped(o.sent)})`,
      "—",
    ),
    row("refused by the intake", refusals === "" ? "none" : refusals, "—"),
    row(
      "settled / skipped on chain / accepted but unsettled",
      `${grouped(o.settled)} / ${grouped(Object.values(o.skipped).reduce<number>((total, v) => total + (v ?? 0), 0))} / ${grouped(o.unsettled)}`,
      `${grouped(e.ok)} mined, ${e.reverted} reverted, ${e.refused} refused, ${e.notMined} not mined`,
    ),
    row(
      "block interval mean / longest",
      `${formatSeconds(o.blocks.intervalMeanSeconds)} / ${formatSeconds(o.blocks.intervalMaxSeconds)} s`,
      "—",
    ),
    "",
    "Latency in seconds. Settled means: the benchmark's block follower first saw the block holding the order's `OrderSettled` event (polling every 20 ms); the block's own timestamp is whole seconds, so the second latency row can be up to a second early.",
    "",
    `Ratio of settled flows/s to the ERC-20 baseline's TPS: **${result.ratio.toFixed(2)}**.`,
    "",
    "| target | met |",
    "| --- | --- |",
    ...Object.entries(result.targets.met).map(([k, v]) => `| ${k} | ${v ? "yes" : "**no**"} |`),
    "",
    "Gas in this run:",
    "",
    "| operation | gas |",
    "| --- | ---: |",
    `| settleOrders, per order (${o.gas.ordersPerTx.toFixed(0)} orders per transaction on average) | ${grouped(o.gas.perOrder)} |`,
    `| settleOrders, per transaction | ${grouped(o.gas.perTx)} |`,
    ...Object.entries(e.gas).map(([k, v]) => `| ${k} | ${grouped(v ?? 0)} |`),
    "",
    "Where the time goes:",
    "",
    ...result.diagnosis.map((d) => `- ${d}`),
    "",
  ];
  if (result.agentProfile !== undefined) {
    const profile = result.agentProfile;
    const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
    // The sampler counts wall time; the OS counts CPU time: the shares, times the CPU measured.
    const cpuSeconds = (o.profile.agentCpuCores ?? 0) * o.profile.sendWindowSeconds;
    const cpu = (share: number) => (cpuSeconds > 0 ? (share * cpuSeconds).toFixed(2) : "n/a");
    const where = (w: string) => (w === "" ? "V8 / native" : w);
    lines.push(
      `The provider agents' time by part: V8's sampling profiler in each agent over the full run's sending window (1 ms interval), summed over the agents (${grouped(Math.round(profile.busyMs))} ms of busy samples). CPU seconds are the shares times the agents' CPU time measured by the OS (${cpuSeconds.toFixed(1)} s).`,
      "",
      "| part | share of busy samples | ≈ CPU s |",
      "| --- | ---: | ---: |",
      ...profile.categories.map((c) => `| ${c.name} | ${pct(c.share)} | ${cpu(c.share)} |`),
      "",
      "Charged to the deepest function of our own code on the stack (the libraries and Node.js internals it called included):",
      "",
      "| our function | where | share | ≈ CPU s |",
      "| --- | --- | ---: | ---: |",
      ...profile.ownFunctions.map((fn) => `| ${fn.name} | ${where(fn.where)} | ${pct(fn.share)} | ${cpu(fn.share)} |`),
      "",
      "The functions with the most self time:",
      "",
      "| function | where | share | ≈ CPU s |",
      "| --- | --- | ---: | ---: |",
      ...profile.functions.map((fn) => `| ${fn.name} | ${where(fn.where)} | ${pct(fn.share)} | ${cpu(fn.share)} |`),
      "",
    );
  }
  if (result.ordersRamp !== undefined) {
    lines.push(
      "Orders ramp (each step short; the figures above are the full run):",
      "",
      ...rampTable(result.ordersRamp, "orders"),
      "",
    );
  }
  if (result.erc20Ramp !== undefined) {
    lines.push(
      "ERC-20 baseline: its highest sustainable rate (confirmation p99 ≤ 2 s, ≥ 95 % of the offered rate mined), found by a ramp and then run for the full duration (the column above):",
      "",
      ...rampTable(result.erc20Ramp, "tx"),
      "",
    );
  }
  lines.push(
    `Set-up: ${result.setupSeconds.toFixed(1)} s.`,
    "",
    `Configuration: \`${JSON.stringify(result.config)}\``,
    "",
  );
  return lines.join("\n");
}

export function ordersChart(result: OrdersBenchResult): string {
  const o = result.orders;
  const perSecond = (points: { t: number; n: number }[]): [number, number][] =>
    points.map((b, i) => [b.t, b.n / Math.max(0.2, i === 0 ? 1 : b.t - points[i - 1].t)]);
  const series: Series[] = [
    {
      name: "settled orders/s",
      color: "#c0392b",
      axis: "left",
      points: perSecond(o.perBlock.map((b) => ({ t: b.t, n: b.settled }))),
    },
    {
      name: "orders p99 latency s",
      color: "#c0392b",
      axis: "right",
      dashed: true,
      points: o.perBlock.filter((b) => Number.isFinite(b.p99Seconds)).map((b) => [b.t, b.p99Seconds]),
    },
    {
      name: "ERC-20 TPS",
      color: "#2471a3",
      axis: "left",
      points: perSecond(result.erc20.perBlock.map((b) => ({ t: b.t, n: b.ok + b.failed }))),
    },
    {
      name: "ERC-20 p99 latency s",
      color: "#2471a3",
      axis: "right",
      dashed: true,
      points: result.erc20.perBlock.filter((b) => Number.isFinite(b.p99Seconds)).map((b) => [b.t, b.p99Seconds]),
    },
  ];
  return lineChart(series, {
    title: `Settled orders/s and latency per block — ${result.node.split(" ").slice(0, 2).join(" ")}, ${result.machine.cores} cores`,
    xLabel: "seconds since the phase started sending",
    leftLabel: "per second (per block)",
    rightLabel: "p99 latency (s)",
    leftMarks: [
      { value: ORDER_TARGETS.flowsPerSecond, label: `target ${grouped(ORDER_TARGETS.flowsPerSecond)} flows/s` },
    ],
  });
}

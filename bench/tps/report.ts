/** Figures of a benchmark phase, and the JSON, markdown and SVG reports. */
import os from "node:os";

import { distribution, formatSeconds, grouped, mean, round, type Distribution } from "../lib/stats";
import { msFieldsToSeconds } from "../lib/results";
import { lineChart, type Series } from "../lib/svg";
import type { BlockRecord, TrackedTx, TxKind } from "./chain";
import type { PhaseRun } from "./phase";
import type { MitigationPlan } from "./workload";

export interface PhaseFigures {
  name: string;
  sent: number;
  ok: number;
  reverted: number;
  refused: number;
  notMined: number;
  /** Reverted transactions, by kind. */
  revertedByKind: Partial<Record<string, number>>;
  successRate: number;
  /** The sustained window: blocks, seconds (from block timestamps), successful transactions. */
  window: { firstBlock: number; lastBlock: number; seconds: number; ok: number };
  tps: number;
  flowsPerSecond?: number;
  flowsCompleted?: number;
  /** Sent → seen mined, in seconds. */
  latencySeconds: Distribution;
  /** The same in blocks (head at sending → block of the transaction): a second figure only. */
  latencyBlocks: Distribution;
  /** Request sent → acknowledgement mined, in seconds. */
  flowLatencySeconds?: Distribution;
  gas: Partial<Record<string, number>>;
  profile: {
    offeredPerSecond: number;
    sendWindowSeconds: number;
    maxSenderLagMs: number;
    senderBusyShare: number;
    followerBusyShare: number;
    benchCpuCores: number;
    nodeCpuCores?: number;
    /** Cores used by everything else on the machine (other processes) meanwhile. */
    otherCpuCores?: number;
    loadAverage: [number, number];
    meanTxsPerBlock: number;
    meanGasPerBlock: number;
  };
  /** Per block: seconds since sending began, transactions, and their latency p50 / p99 in seconds. */
  perBlock: { number: number; t: number; ok: number; failed: number; p50Seconds: number; p99Seconds: number }[];
}

function gasByKind(txs: readonly TrackedTx[]): Partial<Record<string, number>> {
  const sums = new Map<TxKind, { gas: bigint; txs: number; items: number }>();
  for (const tx of txs) {
    if (tx.status !== 1 || tx.gasUsed === undefined) continue;
    const s = sums.get(tx.kind) ?? { gas: 0n, txs: 0, items: 0 };
    s.gas += tx.gasUsed;
    s.txs++;
    s.items += tx.items;
    sums.set(tx.kind, s);
  }
  const out: Partial<Record<string, number>> = {};
  for (const [kind, s] of sums) {
    out[`${kind} (per tx)`] = Math.round(Number(s.gas) / s.txs);
    if (kind === "requestMany" || kind === "acknowledgeBatch") {
      out[`${kind} (per request)`] = Math.round(Number(s.gas) / s.items);
    }
  }
  return out;
}

/**
 * The sustained window of a phase: the blocks seen after the warm-up (`from`, ms) and before
 * sending stopped (`sendEnd`, ms, plus 250 ms), and the seconds they span by their timestamps
 * (from the block before the first; by wall clock when the timestamps do not advance).
 */
export function sustainedWindow(blocks: readonly BlockRecord[], from: number, sendEnd: number) {
  const inWindow = blocks.filter((b) => b.observedAt > from && b.observedAt <= sendEnd + 250);
  const before = blocks.filter((b) => b.number < (inWindow[0]?.number ?? 0)).at(-1);
  const first = inWindow[0];
  const last = inWindow.at(-1);
  let seconds = 0;
  if (first !== undefined && last !== undefined) {
    seconds = before !== undefined ? last.timestamp - before.timestamp : last.timestamp - first.timestamp + 1;
    if (seconds <= 0) seconds = (last.observedAt - (before?.observedAt ?? first.observedAt - 1000)) / 1000;
  }
  return { inWindow, first, last, seconds };
}

/** Seconds between consecutive blocks of the window, by their timestamps: mean and longest. */
export function blockIntervals(blocks: readonly BlockRecord[]): { mean: number; max: number } {
  const gaps = blocks.slice(1).map((b, i) => b.timestamp - blocks[i].timestamp);
  return { mean: gaps.length === 0 ? Number.NaN : mean(gaps), max: gaps.length === 0 ? Number.NaN : Math.max(...gaps) };
}

export function phaseFigures(run: PhaseRun, warmupMs: number, plan?: MitigationPlan): PhaseFigures {
  const plannedSeconds = Math.max(1, run.plannedSeconds);
  const { txs, blocks } = run;
  const ok = txs.filter((tx) => tx.status === 1).length;
  const reverted = txs.filter((tx) => tx.status === 0).length;
  const refused = txs.filter((tx) => tx.sendError !== undefined).length;
  const notMined = txs.filter((tx) => tx.block === undefined && tx.sendError === undefined).length;

  const { inWindow, first, last, seconds } = sustainedWindow(blocks, run.sendStart + warmupMs, run.sendEnd);
  const windowOk = inWindow.reduce((sum, b) => sum + b.ok, 0);
  const numbers = new Set(inWindow.map((b) => b.number));

  const measured = txs.filter(
    (tx) => tx.status === 1 && tx.sentAt !== undefined && tx.sentAt >= run.sendStart + warmupMs,
  );
  const latencySeconds = measured.map((tx) => (tx.observedAt! - tx.sentAt!) / 1000);
  const latencyBlocks = measured.map((tx) => tx.block! - tx.headAtSend!);

  let flowsPerSecond: number | undefined;
  let flowsCompleted: number | undefined;
  let flowLatencySeconds: Distribution | undefined;
  if (plan !== undefined) {
    const okAcks = plan.acks.filter((a) => a.tx.status === 1);
    flowsCompleted = okAcks.reduce((sum, a) => sum + a.tx.items, 0);
    const windowFlows = okAcks.filter((a) => numbers.has(a.tx.block!)).reduce((sum, a) => sum + a.tx.items, 0);
    flowsPerSecond = seconds > 0 ? windowFlows / seconds : 0;
    flowLatencySeconds = distribution(
      okAcks.flatMap((a) =>
        a.requestTxs
          .filter((r) => r.sentAt !== undefined && r.sentAt >= run.sendStart + warmupMs)
          .map((r) => (a.tx.observedAt! - r.sentAt!) / 1000),
      ),
    );
  }

  const perBlock = blocks
    .filter((b) => b.ok + b.failed > 0)
    .map((b) => {
      const lat = txs
        .filter((tx) => tx.block === b.number && tx.sentAt !== undefined)
        .map((tx) => (tx.observedAt! - tx.sentAt!) / 1000);
      const d = distribution(lat);
      return {
        number: b.number,
        t: (b.observedAt - run.sendStart) / 1000,
        ok: b.ok,
        failed: b.failed,
        p50Seconds: d.p50,
        p99Seconds: d.p99,
      };
    });
  const sendWindowSeconds = (run.sendEnd - run.sendStart) / 1000;
  return {
    name: run.name,
    sent: txs.filter((tx) => tx.sentAt !== undefined).length,
    ok,
    reverted,
    refused,
    notMined,
    revertedByKind: txs
      .filter((tx) => tx.status === 0)
      .reduce<Partial<Record<string, number>>>((acc, tx) => ({ ...acc, [tx.kind]: (acc[tx.kind] ?? 0) + 1 }), {}),
    successRate: txs.length === 0 ? 0 : ok / txs.length,
    window: { firstBlock: first?.number ?? 0, lastBlock: last?.number ?? 0, seconds, ok: windowOk },
    tps: seconds > 0 ? windowOk / seconds : 0,
    flowsPerSecond,
    flowsCompleted,
    latencySeconds: distribution(latencySeconds),
    latencyBlocks: distribution(latencyBlocks),
    flowLatencySeconds,
    gas: gasByKind(txs),
    profile: {
      offeredPerSecond: txs.length / plannedSeconds,
      sendWindowSeconds,
      maxSenderLagMs: run.maxLagMs,
      senderBusyShare: run.senderBusyMs / (sendWindowSeconds * 1000),
      followerBusyShare: run.followerFetchMs / (sendWindowSeconds * 1000),
      benchCpuCores: run.benchCpuSeconds / sendWindowSeconds,
      nodeCpuCores: run.nodeCpuSeconds === undefined ? undefined : run.nodeCpuSeconds / sendWindowSeconds,
      otherCpuCores:
        run.machineCpuSeconds === undefined
          ? undefined
          : Math.max(0, run.machineCpuSeconds - (run.nodeCpuSeconds ?? 0) - run.benchCpuSeconds) / sendWindowSeconds,
      loadAverage: run.load,
      meanTxsPerBlock: inWindow.length === 0 ? 0 : inWindow.reduce((s, b) => s + b.txCount, 0) / inWindow.length,
      meanGasPerBlock:
        inWindow.length === 0 ? 0 : Number(inWindow.reduce((s, b) => s + b.gasUsed, 0n)) / inWindow.length,
    },
    perBlock,
  };
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/** Confirmation p99 in seconds: 2 s is two blocks at the nominal 1 s, the time a wait of two blocks should take. */
const TARGETS = { tps: 1000, stretchTps: 2000, ratio: 0.8, p99Seconds: 2 };

export interface BenchResult {
  date: string;
  machine: ReturnType<typeof machine>;
  node: string;
  config: Record<string, unknown>;
  setupSeconds: number;
  signing: { txs: number; seconds: number; threads: number };
  mitigation: PhaseFigures;
  erc20: PhaseFigures;
  ratio: number;
  targets: typeof TARGETS & { met: Record<string, boolean> };
  diagnosis: string[];
}

export function targets(mitigation: PhaseFigures, ratio: number): BenchResult["targets"] {
  return {
    ...TARGETS,
    met: {
      "tps ≥ 1000": mitigation.tps >= TARGETS.tps,
      "tps ≥ 2000 (stretch)": mitigation.tps >= TARGETS.stretchTps,
      "ratio ≥ 0.8": ratio >= TARGETS.ratio,
      [`confirmation p99 ≤ ${TARGETS.p99Seconds} s`]: mitigation.latencySeconds.p99 <= TARGETS.p99Seconds,
    },
  };
}

/** Where the time goes, in sentences, from the profile figures. */
export function diagnose(m: PhaseFigures, cores: number): string[] {
  const p = m.profile;
  const lines: string[] = [];
  const offered = p.offeredPerSecond;
  lines.push(
    `Offered ${Math.round(offered)} tx/s over ${p.sendWindowSeconds.toFixed(1)} s; mined ${Math.round(m.tps)} tx/s sustained.`,
  );
  lines.push(
    `CPU during sending: node ${p.nodeCpuCores === undefined ? "n/a (in process)" : `${p.nodeCpuCores.toFixed(2)} cores`}, benchmark process ${p.benchCpuCores.toFixed(2)} cores, other processes ${p.otherCpuCores === undefined ? "n/a" : `${p.otherCpuCores.toFixed(2)} cores`}, of ${cores}; load average ${p.loadAverage.map((l) => l.toFixed(1)).join(" → ")}.`,
  );
  lines.push(
    `Sending kept the benchmark waiting on the node ${(p.senderBusyShare * 100).toFixed(0)} % of the window (eth_sendRawTransaction batches); the block follower ${(p.followerBusyShare * 100).toFixed(0)} %; the sender fell at most ${formatSeconds(p.maxSenderLagMs / 1000)} s behind schedule.`,
  );
  if (p.nodeCpuCores !== undefined && p.nodeCpuCores > 0) {
    lines.push(
      `The node mined ${grouped(Math.round(m.tps / p.nodeCpuCores))} transactions per CPU-second it was given (sustained TPS / node cores used): a projection of what one dedicated core would sustain, not a measurement.`,
    );
  }
  lines.push(
    `Blocks held ${Math.round(p.meanTxsPerBlock)} transactions and ${grouped(Math.round(p.meanGasPerBlock))} gas on average.`,
  );
  if (m.tps < offered * 0.95) {
    if (p.otherCpuCores !== undefined && p.otherCpuCores > 0.5) {
      lines.push(
        `Other processes took ${p.otherCpuCores.toFixed(2)} of the ${cores} cores: the node was starved of CPU, and the figures understate it.`,
      );
    }
    if (p.nodeCpuCores !== undefined && p.nodeCpuCores > 0.85 * (cores - p.benchCpuCores - (p.otherCpuCores ?? 0))) {
      lines.push("The node is CPU-bound: it cannot mine what is offered on the cores it has.");
    } else if (p.senderBusyShare > 0.8) {
      lines.push("The node's transaction intake (RPC decoding, signature recovery, pool insertion) is the bottleneck.");
    } else {
      lines.push("Transactions wait in the pool longer than a block: block building is the bottleneck.");
    }
  }
  return lines;
}

export function markdown(result: BenchResult): string {
  const m = result.mitigation;
  const e = result.erc20;
  const row = (label: string, a: string, b: string) => `| ${label} | ${a} | ${b} |`;
  const lat = (f: PhaseFigures, key: "p50" | "p95" | "p99") => {
    const blocks = f.latencyBlocks[key];
    return `${formatSeconds(f.latencySeconds[key])} s (${blocks} block${blocks === 1 ? "" : "s"})`;
  };
  const lines = [
    `# TPS benchmark — ${result.date}`,
    "",
    `Node: ${result.node}`,
    "",
    `Machine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.memoryGiB} GiB, ${result.machine.os}, Node.js ${result.machine.node}`,
    "",
    "| | mitigation | ERC-20 baseline |",
    "| --- | ---: | ---: |",
    row("transactions sent", grouped(m.sent), grouped(e.sent)),
    row("sustained TPS", grouped(Math.round(m.tps)), grouped(Math.round(e.tps))),
    row(
      "sustained window",
      `${m.window.seconds} s, blocks ${m.window.firstBlock}–${m.window.lastBlock}`,
      `${e.window.seconds} s, blocks ${e.window.firstBlock}–${e.window.lastBlock}`,
    ),
    row(
      "mitigation flows / s (request + ack)",
      m.flowsPerSecond === undefined ? "—" : grouped(Math.round(m.flowsPerSecond)),
      "—",
    ),
    row("confirmation latency p50 (sent → mined)", lat(m, "p50"), lat(e, "p50")),
    row("confirmation latency p95", lat(m, "p95"), lat(e, "p95")),
    row("confirmation latency p99", lat(m, "p99"), lat(e, "p99")),
    row(
      "flow latency p50 / p99 (request sent → ack mined)",
      m.flowLatencySeconds === undefined
        ? "—"
        : `${formatSeconds(m.flowLatencySeconds.p50)} / ${formatSeconds(m.flowLatencySeconds.p99)} s`,
      "—",
    ),
    row("success rate", `${(m.successRate * 100).toFixed(2)} %`, `${(e.successRate * 100).toFixed(2)} %`),
    row(
      "reverted / refused / not mined",
      `${m.reverted} / ${m.refused} / ${m.notMined}`,
      `${e.reverted} / ${e.refused} / ${e.notMined}`,
    ),
    "",
    "Latency in seconds, from sending to the block follower seeing the transaction mined; in brackets, blocks from the head at sending (under load a block takes longer than its nominal time, so the count of blocks alone understates the wait).",
    "",
    `Ratio of mitigation TPS to ERC-20 TPS: **${result.ratio.toFixed(2)}**.`,
    "",
    "| target | met |",
    "| --- | --- |",
    ...Object.entries(result.targets.met).map(([k, v]) => `| ${k} | ${v ? "yes" : "**no**"} |`),
    "",
    "Gas per operation in this run (mean `gasUsed` of the successful transactions):",
    "",
    "| operation | gas |",
    "| --- | ---: |",
    ...Object.entries({ ...m.gas, ...e.gas }).map(([k, v]) => `| ${k} | ${grouped(v ?? 0)} |`),
    "",
    "Profile:",
    "",
    ...result.diagnosis.map((d) => `- ${d}`),
    "",
    `Set-up: ${result.setupSeconds.toFixed(1)} s; pre-signing ${grouped(result.signing.txs)} transactions on ${result.signing.threads} worker threads: ${result.signing.seconds.toFixed(1)} s.`,
    "",
    `Configuration: \`${JSON.stringify(result.config)}\``,
    "",
  ];
  return lines.join("\n");
}

export function chart(result: BenchResult): string {
  const series = (f: PhaseFigures, color: string, label: string): Series[] => {
    // TPS per block: transactions of a block over the time since the previous one (≈ 1 s).
    const points = f.perBlock;
    const tps: [number, number][] = points.map((b, i) => [
      b.t,
      (b.ok + b.failed) / Math.max(0.2, i === 0 ? 1 : b.t - points[i - 1].t),
    ]);
    return [
      { name: `${label} TPS`, color, axis: "left", points: tps },
      {
        name: `${label} p99 latency s`,
        color,
        axis: "right",
        dashed: true,
        points: points.filter((b) => Number.isFinite(b.p99Seconds)).map((b) => [b.t, b.p99Seconds]),
      },
    ];
  };
  return lineChart(
    [...series(result.mitigation, "#c0392b", "mitigation"), ...series(result.erc20, "#2471a3", "ERC-20")],
    {
      title: `TPS and confirmation latency per block — ${result.node.split(" ").slice(0, 2).join(" ")}, ${result.machine.cores} cores`,
      xLabel: "seconds since the phase started sending",
      leftLabel: "transactions per second (per block)",
      rightLabel: "p99 confirmation latency (s)",
      leftMarks: [{ value: 1000, label: "target 1000 TPS" }],
    },
  );
}

/**
 * Reads a result file. Older ones held latency in milliseconds (`latencyMs`, `flowLatencyMs`,
 * `p50Ms`/`p99Ms` per block): they are read into the fields in seconds, in the same places.
 */
export function readResult(json: string): BenchResult {
  const result = JSON.parse(json) as BenchResult;
  return { ...result, mitigation: upgradePhase(result.mitigation), erc20: upgradePhase(result.erc20) };
}

const LEGACY_MS = {
  latencyMs: "latencySeconds",
  flowLatencyMs: "flowLatencySeconds",
  p50Ms: "p50Seconds",
  p99Ms: "p99Seconds",
};

function upgradePhase(phase: PhaseFigures): PhaseFigures {
  const upgraded = msFieldsToSeconds<PhaseFigures>(phase, LEGACY_MS);
  return { ...upgraded, perBlock: phase.perBlock.map((block) => msFieldsToSeconds<BlockFigures>(block, LEGACY_MS)) };
}

type BlockFigures = PhaseFigures["perBlock"][number];

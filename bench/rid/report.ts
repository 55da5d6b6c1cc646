/**
 * The results: per point, the median and maximum of the repetitions beside RID's figure (measured
 * for the chain and star sizes the report covers, extrapolated and labelled so for the large
 * sizes); as JSON, a markdown report and an SVG chart.
 */
import { formatSeconds, percentile, round } from "../lib/stats";
import { msFieldsToSeconds } from "../lib/results";
import { lineChart, type Series } from "../lib/svg";
import { extrapolateRid, ridFigure, ridFigures, type RidTopology } from "./rid";
import type { Repetition } from "./measure";
import type { Point, Topology } from "./topology";

/** Median and maximum of one figure over the repetitions. */
export interface Spread {
  median: number;
  max: number;
}

export interface PointResult {
  topology: Topology;
  n: number;
  /** Each run as measured (times in ms). */
  repetitions: Repetition[];
  /** Median / max over the repetitions, in seconds (see Repetition for what each times). */
  totalSeconds: Spread;
  planSeconds: Spread;
  requestSeconds: Spread;
  acksMinedSeconds: Spread;
  cpuSeconds: Spread;
  nodeCpuSeconds: Spread | null;
  /** Blocks mined during a run, median / max. */
  blocks: Spread;
  requestTransactions: number;
  /** RID's figures for this point: measured by the report, or extrapolated from it. */
  rid: { totalSeconds: number; processingSeconds: number; extrapolated: boolean; method?: string }[];
}

export interface RidBenchResult {
  date: string;
  machine: { cpus: number; model: string; node: string };
  network: { name: string; description: string; mining: string; blockTimeSeconds: number };
  config: Record<string, string | number | boolean>;
  setup: { providers: number; transactions: number; seconds: number };
  points: PointResult[];
  notes: string[];
}

export function spread(values: readonly number[]): Spread {
  return { median: percentile(values, 50), max: Math.max(...values) };
}

/** The median by the nearest-rank method (an observed value, as stats.percentile gives it). */
export function summarise(point: Point, repetitions: Repetition[]): PointResult {
  const of = (pick: (r: Repetition) => number) => spread(repetitions.map(pick));
  const seconds = (pick: (r: Repetition) => number) => of((r) => pick(r) / 1000);
  const nodeCpu = repetitions.every((r) => r.nodeCpuMs !== null) ? seconds((r) => r.nodeCpuMs!) : null;
  return {
    topology: point.topology,
    n: point.n,
    repetitions,
    totalSeconds: seconds((r) => r.totalMs),
    planSeconds: seconds((r) => r.planMs),
    requestSeconds: seconds((r) => r.requestMs),
    acksMinedSeconds: seconds((r) => r.acksMinedMs),
    cpuSeconds: seconds((r) => r.cpuMs),
    nodeCpuSeconds: nodeCpu,
    blocks: of((r) => r.blocks),
    requestTransactions: Math.max(...repetitions.map((r) => r.requestTransactions)),
    rid: ridFor(point),
  };
}

function ridFor(point: Point): PointResult["rid"] {
  if (point.topology !== "scale") {
    const figure = ridFigure(point.topology, point.n);
    return figure
      ? [{ totalSeconds: figure.totalSeconds, processingSeconds: figure.processingSeconds, extrapolated: false }]
      : [];
  }
  return (["chain", "star"] as const).map((t) => {
    const e = extrapolateRid(t, point.n);
    return {
      totalSeconds: e.totalSeconds,
      processingSeconds: e.processingSeconds,
      extrapolated: true,
      method: e.method,
    };
  });
}

const s = (value: number) => (value >= 10 ? value.toFixed(1) : value.toFixed(3));
const both = (x: Spread) => `${formatSeconds(x.median)} / ${formatSeconds(x.max)}`;
const count = (x: Spread) => `${x.median} / ${x.max}`;

/** RID's total time over ours (median): how many times faster we are. */
function ratio(ridSeconds: number, oursSeconds: number): string {
  return `${round(ridSeconds / oursSeconds, 1)}×`;
}

export function markdown(result: RidBenchResult): string {
  const lines: string[] = [
    `# RID traceback vs. the mitigation market (${result.network.name})`,
    "",
    `Measured ${result.date} on ${result.machine.cpus} × ${result.machine.model}, Node ${result.machine.node}.`,
    "",
    `**Node:** ${result.network.description}.`,
    "",
    `**Mining mode: ${result.network.mining === "automine" ? "automine (a block per transaction, no block time)" : `interval mining, ${result.network.blockTimeSeconds} s blocks`}.** ` +
      (result.network.mining === "automine"
        ? "Transactions are mined the moment they are sent: the figures are the agents' and the EVM's work, not a block time. On a chain with blocks every t seconds, add about t for the request and t for the acknowledgements."
        : "Every transaction waits for the next block: the request and the acknowledgements each wait up to a block time."),
    "",
    `Set-up (not measured): ${result.setup.providers} provider ASes, each with its own account, service, offering and coverage; ` +
      `${result.setup.transactions} transactions in ${round(result.setup.seconds, 1)} s.`,
    "",
    `Settings: ${Object.entries(result.config)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    "",
    "**Total** is the time from handing the attack report to the victim agent until the victim agent sees the last acknowledgement on chain (its own view, as `npm run demo` reports it). " +
      "**Plan**: sources → ASes → services → offerings read from the chain. **Request**: the request transaction(s) mined (victim's receipt). " +
      "**Acks mined**: the last provider agent's acknowledgement mined (its own receipt). All in seconds from the report, median / max over the repetitions; **blocks**, the blocks mined meanwhile. " +
      "**CPU** is this process's user + system time over the run: the victim agent, every provider agent (verification on chain, decision, rules, signing), JSON-RPC" +
      (result.network.mining === "automine" ? " and the in-process EVM, which cannot be told apart" : "") +
      "; not a per-message figure like RID's, which counts only SOAP/XML handling.",
    "",
  ];
  for (const topology of ["chain", "star"] as const) {
    const rows = result.points.filter((p) => p.topology === topology);
    if (rows.length === 0) continue;
    lines.push(
      `## ${topology === "chain" ? "Chained topology: victim — AS1 — … — ASn — attacker" : "Star topology: victim with n neighbouring ASes holding attackers"}`,
      "",
      topology === "chain"
        ? "RID traces hop by hop (one request and one trace per AS in turn); here the victim buys filtering from every AS on the path in one transaction."
        : "RID sends the n requests in parallel; here the victim buys from the n neighbours in one transaction.",
      "",
      "| n | RID total (s) | RID SOAP/XML (s) | ours total, median / max (s) | RID ÷ ours | plan (s) | request mined (s) | acks mined (s) | CPU (s) | blocks | reps |",
      "| --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
      ...rows.map((p) => {
        const rid = p.rid[0];
        return `| ${p.n} | ${rid ? s(rid.totalSeconds) : "–"} | ${rid ? rid.processingSeconds.toFixed(6) : "–"} | ${both(p.totalSeconds)} | ${rid ? ratio(rid.totalSeconds, p.totalSeconds.median) : "–"} | ${both(p.planSeconds)} | ${both(p.requestSeconds)} | ${both(p.acksMinedSeconds)} | ${both(p.cpuSeconds)} | ${count(p.blocks)} | ${p.repetitions.length} |`;
      }),
      "",
    );
  }
  const scale = result.points.filter((p) => p.topology === "scale");
  if (scale.length > 0) {
    lines.push(
      "## Many source ASes (one provider each)",
      "",
      "RID was measured up to 7 ASes. **The RID figures below are extrapolations, not measurements**: linear in n from the report's own points. " +
        `Chain: ${extrapolateRid("chain", 1).method}. Star: ${extrapolateRid("star", 1).method}.`,
      "",
      "| n | RID chain, extrapolated total (s) | RID star, extrapolated total (s) | ours total, median / max (s) | RID chain ÷ ours | RID star ÷ ours | plan (s) | request mined (s) | request txs | acks mined (s) | CPU (s) | CPU per AS (s) | blocks | reps |",
      "| --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
      ...scale.map((p) => {
        const [chain, star] = p.rid;
        return `| ${p.n.toLocaleString("en-US")} | ${s(chain.totalSeconds)} | ${s(star.totalSeconds)} | ${both(p.totalSeconds)} | ${ratio(chain.totalSeconds, p.totalSeconds.median)} | ${ratio(star.totalSeconds, p.totalSeconds.median)} | ${both(p.planSeconds)} | ${both(p.requestSeconds)} | ${p.requestTransactions} | ${both(p.acksMinedSeconds)} | ${both(p.cpuSeconds)} | ${formatSeconds(p.cpuSeconds.median / p.n)} | ${count(p.blocks)} | ${p.repetitions.length} |`;
      }),
      "",
      cpuBound(scale, result.network.mining === "automine"),
      "",
    );
  }
  if (result.points.some((p) => p.nodeCpuSeconds !== null)) {
    lines.push(
      "Node CPU (the separate node process, s, median / max): " +
        result.points
          .filter((p) => p.nodeCpuSeconds !== null)
          .map((p) => `${p.topology} ${p.n}: ${both(p.nodeCpuSeconds!)}`)
          .join("; ") +
        ".",
      "",
    );
  }
  lines.push("## Notes", "", ...result.notes.map((n) => `- ${n}`), "");
  return lines.join("\n");
}

/** How much of the wall time this process spent on the CPU at each large size (medians). */
function cpuBound(points: readonly PointResult[], inProcess: boolean): string {
  const shares = points.map((p) => [p.n, p.cpuSeconds.median / p.totalSeconds.median] as const);
  const text = shares.map(([n, share]) => `${n.toLocaleString("en-US")} ASes ${Math.round(share * 100)} %`).join(", ");
  const bound = shares.some(([, share]) => share >= 0.7);
  return (
    `CPU time of this process ÷ total time: ${text}.` +
    (bound
      ? " The large runs are bound by this one process's CPU: one JavaScript thread runs every provider agent's verification, signing and JSON-RPC" +
        (inProcess ? ", beside the EVM itself," : ",") +
        " which in deployment would run on a machine per provider."
      : "")
  );
}

/** Ours (median) against RID's total per n, on log–log axes: 1–7 ASes and the large sizes together. */
export function chart(result: RidBenchResult): string {
  const ours = (t: Topology) =>
    result.points.filter((p) => p.topology === t).map((p): [number, number] => [p.n, p.totalSeconds.median]);
  const ridMeasured = (t: RidTopology) => ridFigures(t).map((f): [number, number] => [f.n, f.totalSeconds]);
  const scaleNs = result.points.filter((p) => p.topology === "scale").map((p) => p.n);
  const extrapolated = (t: RidTopology) =>
    [ridFigures(t).at(-1)!.n, ...scaleNs].map((n): [number, number] => [n, extrapolateRid(t, n).totalSeconds]);
  const series: Series[] = [
    { name: "RID chain (report)", color: "#c0392b", axis: "left", points: ridMeasured("chain"), markers: true },
    { name: "RID star (report)", color: "#e67e22", axis: "left", points: ridMeasured("star"), markers: true },
    { name: "ours, chain (median)", color: "#1f5fa8", axis: "left", points: ours("chain"), markers: true },
    { name: "ours, star (median)", color: "#27ae60", axis: "left", points: ours("star"), markers: true },
  ];
  if (scaleNs.length > 0) {
    series.push(
      {
        name: "RID chain, extrapolated",
        color: "#c0392b",
        axis: "left",
        points: extrapolated("chain"),
        dashed: true,
        markers: true,
      },
      {
        name: "RID star, extrapolated",
        color: "#e67e22",
        axis: "left",
        points: extrapolated("star"),
        dashed: true,
        markers: true,
      },
      { name: "ours, many ASes (median)", color: "#6c3483", axis: "left", points: ours("scale"), markers: true },
    );
  }
  const mining = result.network.mining === "automine" ? "automine" : `${result.network.blockTimeSeconds} s blocks`;
  return lineChart(series, {
    title: `Attack report → last acknowledgement: RID traceback vs. one market transaction (${result.network.name}, ${mining})`,
    xLabel: "ASes (log scale)",
    leftLabel: "total response time, s (log scale)",
    rightLabel: "",
    xScale: "log",
    yScale: "log",
    width: 960,
    height: 480,
  });
}

/** Results written before the figures were in seconds held them in milliseconds, as `total` etc. */
const LEGACY_MS = {
  total: "totalSeconds",
  plan: "planSeconds",
  request: "requestSeconds",
  acksMined: "acksMinedSeconds",
  cpu: "cpuSeconds",
  nodeCpu: "nodeCpuSeconds",
};

/** Reads a result file, older ones (figures in milliseconds) included. */
export function readResult(json: string): RidBenchResult {
  const result = JSON.parse(json) as RidBenchResult;
  return { ...result, points: result.points.map((p) => msFieldsToSeconds<PointResult>(p, LEGACY_MS)) };
}

/** The end-to-end benchmark's results: the phases of each run, their medians, and the targets. */
import { formatSeconds, percentile } from "../lib/stats";
import { lineChart } from "../lib/svg";
import type { Run } from "./measure";

/** The targets, seconds: the market's part (ban received → route) and the whole. */
export const TARGETS = { market: 2, whole: 5 } as const;

/** One phase over the runs, in seconds. */
export interface Phase {
  name: string;
  what: string;
  values: number[];
  median: number;
  max: number;
}

export interface E2eResult {
  date: string;
  machine: { cpus: number; model: string; node: string };
  /** One-minute load average before the lab started, at the start of each run, and at the end. */
  load: { before: number; duringRuns: number[]; after: number };
  config: Record<string, string | number>;
  warmUp: Run;
  runs: Run[];
  summary: { phases: Phase[]; market: Phase; whole: Phase; targetsMet: { market: boolean; whole: boolean } };
}

function phase(name: string, what: string, values: number[]): Phase {
  return { name, what, values, median: percentile(values, 50), max: Math.max(...values) };
}

export function summarise(runs: readonly Run[]): E2eResult["summary"] {
  const of = (pick: (r: Run) => number) => runs.map(pick);
  const phases = [
    phase(
      "detection",
      "first datagram → FastNetMon calls the notify script",
      of((r) => r.fastnetmonBan),
    ),
    phase(
      "notification",
      "→ the daemon has the ban (script start, HTTP)",
      of((r) => r.banReceived - r.fastnetmonBan),
    ),
    phase(
      "purchase: plan and send",
      "→ the node has the request (holding, plan, policy, simulate, estimate, sign, send)",
      of((r) => r.requestSent - r.banReceived),
    ),
    phase(
      "purchase: block",
      "→ the request's block is on the node",
      of((r) => r.requestMined - r.requestSent),
    ),
    phase(
      "decision + install, Alpha",
      "request mined → Alpha's agent has written the ExaBGP command",
      of((r) => r.installed.alpha - r.requestMined),
    ),
    phase(
      "decision + install, Beta",
      "request mined → Beta's agent has added the route to gobgpd",
      of((r) => r.installed.beta - r.requestMined),
    ),
    phase(
      "route, Alpha (ExaBGP)",
      "command written → route in gobgpd's RIB (bridge, ExaBGP, BGP UPDATE)",
      of((r) => r.route.alpha - r.installed.alpha),
    ),
    phase(
      "route, Beta (GoBGP)",
      "gobgp CLI returned → route seen in the RIB",
      of((r) => r.route.beta - r.installed.beta),
    ),
    phase(
      "acknowledgement, Alpha",
      "request mined → Alpha's acknowledgement mined (after its install)",
      of((r) => r.acknowledged.alpha - r.requestMined),
    ),
    phase(
      "acknowledgement, Beta",
      "request mined → Beta's acknowledgement mined (after its install)",
      of((r) => r.acknowledged.beta - r.requestMined),
    ),
  ];
  const market = phase(
    "market",
    "ban received → both routes in the RIB",
    of((r) => r.routes - r.banReceived),
  );
  const whole = phase(
    "whole",
    "first datagram → both routes in the RIB",
    of((r) => r.routes),
  );
  return {
    phases,
    market,
    whole,
    targetsMet: { market: market.median <= TARGETS.market, whole: whole.median <= TARGETS.whole },
  };
}

const s = formatSeconds;

export function markdown(result: E2eResult): string {
  const { summary } = result;
  const lines = [
    "# From detection to filtering, end to end (anvil)",
    "",
    `Measured ${result.date} on ${result.machine.cpus} × ${result.machine.model}, Node ${result.machine.node}. ` +
      `Load average (1 min): ${result.load.before} before, ${result.load.duringRuns.join(", ")} at the start of each run, ${result.load.after} after.`,
    "",
    "Real peers on loopback: a NetFlow v5 flood (Node `dgram`) → FastNetMon 1.2.4 → the notify script → the victim daemon " +
      "→ anvil with interval mining → Alpha's provider agent (ExaBGP back end → bridge → ExaBGP 4.2 → BGP → gobgpd) and " +
      "Beta's (GoBGP back end → gobgpd). Times are wall-clock in the benchmark's process, from the first datagram; " +
      "the median is the nearest-rank median over the runs, each started at another phase of the block interval, after one warm-up run.",
    "",
    "Settings: " +
      Object.entries(result.config)
        .map(([k, v]) => `${k} ${v}`)
        .join("; ") +
      ".",
    "",
    "## Result",
    "",
    `| | median (s) | max (s) | target (s) | met |`,
    `| --- | --: | --: | --: | :-: |`,
    `| **market**: ${summary.market.what} | ${s(summary.market.median)} | ${s(summary.market.max)} | ≤ ${TARGETS.market} | ${summary.targetsMet.market ? "yes" : "**no**"} |`,
    `| **whole**: ${summary.whole.what} | ${s(summary.whole.median)} | ${s(summary.whole.max)} | ≤ ${TARGETS.whole} | ${summary.targetsMet.whole ? "yes" : "**no**"} |`,
    "",
    "## Where the time goes",
    "",
    "| phase | from → to | median (s) | max (s) | per run (s) |",
    "| --- | --- | --: | --: | --- |",
    ...summary.phases.map(
      (p) => `| ${p.name} | ${p.what} | ${s(p.median)} | ${s(p.max)} | ${p.values.map(s).join(", ")} |`,
    ),
    "",
    "The acknowledgements are not on the way to the routes: a provider agent installs the rules first, then acknowledges. " +
      "JSON-RPC calls answered between the ban and the request sent (the agents' polls included): " +
      `${result.runs.map((r) => r.callsToSend).join(", ")}.`,
    "",
    "## Runs (seconds from the first datagram)",
    "",
    "| run | FastNetMon ban | ban received | request sent | request mined | Alpha installed | Beta installed | Alpha route | Beta route | Alpha ack | Beta ack |",
    "| --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    ...[result.warmUp, ...result.runs].map(
      (r) =>
        `| ${r.run === 0 ? "warm-up" : r.run} | ${s(r.fastnetmonBan)} | ${s(r.banReceived)} | ${s(r.requestSent)} | ${s(r.requestMined)} | ` +
        `${s(r.installed.alpha)} | ${s(r.installed.beta)} | ${s(r.route.alpha)} | ${s(r.route.beta)} | ` +
        `${s(r.acknowledged.alpha)} | ${s(r.acknowledged.beta)} |`,
    ),
    "",
  ];
  return lines.join("\n");
}

export function chart(result: E2eResult): string {
  const runs = result.runs;
  const series = (name: string, color: string, pick: (r: Run) => number) => ({
    name,
    color,
    axis: "left" as const,
    markers: true,
    points: runs.map((r) => [r.run, pick(r)] as [number, number]),
  });
  return lineChart(
    [
      series("FastNetMon ban", "#8c564b", (r) => r.fastnetmonBan),
      series("ban received", "#1f77b4", (r) => r.banReceived),
      series("request mined", "#ff7f0e", (r) => r.requestMined),
      series("both routes in the RIB", "#2ca02c", (r) => r.routes),
      series("both acknowledged", "#9467bd", (r) => Math.max(r.acknowledged.alpha, r.acknowledged.beta)),
    ],
    {
      title: "From the first flood datagram to the FlowSpec routes (anvil, 1 s blocks)",
      xLabel: "run",
      leftLabel: "seconds from the first datagram",
      rightLabel: "",
      leftMarks: [{ value: TARGETS.whole, label: "whole: 5 s target" }],
    },
  );
}

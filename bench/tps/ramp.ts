/**
 * A sustainable rate, found honestly: the offered rate rises step by step (short steps), the
 * highest step that kept up — at least 95 % of the offered rate done in its window and latency p99
 * within the target — is then run for the full duration to confirm it (one step lower at a time
 * when it does not hold).
 */
import { formatSeconds, grouped } from "../lib/stats";
import { lineChart } from "../lib/svg";
import { blockIntervals, type PhaseFigures } from "./report";
import type { BlockRecord } from "./chain";

export interface RampStep {
  /** The rate asked for, and what the schedule offered (per second). */
  rate: number;
  offered: number;
  /** Done per second in the window (mined transactions, or settled orders). */
  sustainedPerSecond: number;
  p99Seconds: number;
  longestBlockSeconds: number;
  /** Seconds of sending, and the load average (1 min) when the step ended. */
  seconds: number;
  load: number;
  ok: boolean;
  why?: string;
  /** What the run was, when not a ramp step (e.g. "confirmation over 30 s"). */
  note?: string;
}

export interface RampOptions {
  from: number;
  step: number;
  to: number;
}

/** Runs steps from `from` up by `step` until one does not keep up or `to` is passed. */
export async function rampUp(
  runStep: (rate: number) => Promise<RampStep>,
  options: RampOptions,
): Promise<{ steps: RampStep[]; best?: number }> {
  const steps: RampStep[] = [];
  let best: number | undefined;
  for (let rate = options.from; rate <= options.to; rate += options.step) {
    const step = await runStep(rate);
    steps.push(step);
    console.log(
      `  ramp ${grouped(rate)}/s: ${grouped(Math.round(step.sustainedPerSecond))}/s sustained, p99 ${formatSeconds(step.p99Seconds)} s, longest block ${formatSeconds(step.longestBlockSeconds)} s → ${step.ok ? "kept up" : `fell behind (${step.why})`}`,
    );
    if (!step.ok) break;
    best = rate;
  }
  return { steps, best };
}

/**
 * Runs `runFull` at `rate`, and one `step` lower each time it does not keep up (at most `tries`
 * runs); resolves with the last run, kept up or not.
 */
export async function confirm<T>(
  runFull: (rate: number) => Promise<{ result: T; step: RampStep }>,
  rate: number,
  step: number,
  tries = 3,
): Promise<{ result: T; step: RampStep }> {
  let current = rate;
  for (let attempt = 1; ; attempt++) {
    const outcome = await runFull(current);
    if (outcome.step.ok || attempt >= tries || current - step <= 0) return outcome;
    console.log(`  ${grouped(current)}/s did not hold for the full run (${outcome.step.why}): one step lower.`);
    current -= step;
  }
}

/** A ramp step from a phase of transactions: kept up when ≥ 95 % of the offered rate was mined and p99 ≤ `p99Target`. */
export function transactionStep(
  rate: number,
  figures: PhaseFigures,
  blocks: readonly BlockRecord[],
  p99Target: number,
): RampStep {
  const offered = figures.profile.offeredPerSecond;
  const why: string[] = [];
  if (figures.tps < 0.95 * offered)
    why.push(`${grouped(Math.round(figures.tps))} of ${grouped(Math.round(offered))} tx/s mined`);
  if (!(figures.latencySeconds.p99 <= p99Target))
    why.push(`p99 ${formatSeconds(figures.latencySeconds.p99)} s > ${p99Target} s`);
  if (figures.reverted + figures.refused + figures.notMined > 0) {
    why.push(`${figures.reverted} reverted, ${figures.refused} refused, ${figures.notMined} not mined`);
  }
  const window = blocks
    .filter((b) => b.number >= figures.window.firstBlock && b.number <= figures.window.lastBlock)
    .sort((a, b) => a.number - b.number);
  return {
    rate,
    offered,
    sustainedPerSecond: figures.tps,
    p99Seconds: figures.latencySeconds.p99,
    longestBlockSeconds: blockIntervals(window).max,
    seconds: figures.profile.sendWindowSeconds,
    load: figures.profile.loadAverage[1],
    ok: why.length === 0,
    why: why.length === 0 ? undefined : why.join("; "),
  };
}

/** A ramp as a table: offered rate, what was sustained, p99, blocks. */
export function rampTable(steps: readonly RampStep[], unit: string): string[] {
  return [
    `| run | offered ${unit}/s | sustained ${unit}/s | p99 | longest block interval | load | kept up? |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...steps.map(
      (s) =>
        `| ${s.note ?? `step, ${Math.round(s.seconds)} s`} | ${grouped(Math.round(s.offered))} | ${grouped(Math.round(s.sustainedPerSecond))} | ${formatSeconds(s.p99Seconds)} s | ${formatSeconds(s.longestBlockSeconds)} s | ${s.load.toFixed(1)} | ${s.ok ? "yes" : `no: ${s.why ?? ""}`} |`,
    ),
  ];
}

/** The ramp as a chart: sustained against offered, and p99, per step. */
export function rampChart(steps: readonly RampStep[], title: string, unit: string, p99Target: number): string {
  return lineChart(
    [
      {
        name: `sustained ${unit}/s`,
        color: "#c0392b",
        axis: "left",
        markers: true,
        points: steps.map((s) => [s.offered, s.sustainedPerSecond]),
      },
      {
        name: `offered ${unit}/s`,
        color: "#7f8c8d",
        axis: "left",
        dashed: true,
        points: steps.map((s) => [s.offered, s.offered]),
      },
      {
        name: "p99 latency s",
        color: "#2471a3",
        axis: "right",
        markers: true,
        points: steps.map((s) => [s.offered, s.p99Seconds]),
      },
    ],
    {
      title,
      xLabel: `offered ${unit}/s`,
      leftLabel: `${unit}/s`,
      rightLabel: `p99 latency (s), target ≤ ${p99Target}`,
    },
  );
}

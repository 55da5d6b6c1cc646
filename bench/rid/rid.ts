/**
 * The RID implementation report's figures (seeds/004: Kai et al., "RID Implementation Report",
 * Matsushita Electric Works and Kogakuin University, 2004) and their linear extrapolation.
 *
 * Their set-up: one PC per AS as the network management system (Pentium 4 3.0 GHz, 512 MB, Fast
 * Ethernet), RID messages over SOAP/HTTP/TCP, no encryption or authentication, and a fixed,
 * assumed tracing time inside each AS (0.2 s for the first and middle ASes, 0.4 s for the
 * attacker's). "Total" is the response time until the result reached the initiator; "processing"
 * is the NMSes' CPU time for SOAP and XML, summed over the ASes.
 */

/** The two topologies the report measured. */
export type RidTopology = "chain" | "star";

/** One row of the report's tables, in seconds. */
export interface RidFigure {
  /** ASes on the path (chain) or neighbouring ASes (star). */
  n: number;
  totalSeconds: number;
  processingSeconds: number;
}

/** "Chained Results": victim — AS1 — … — ASn — attacker, traced hop by hop. */
export const RID_CHAIN: readonly RidFigure[] = [
  { n: 1, totalSeconds: 0.4, processingSeconds: 0.053916 },
  { n: 2, totalSeconds: 0.6, processingSeconds: 0.096066 },
  { n: 3, totalSeconds: 0.8, processingSeconds: 0.189532 },
  { n: 4, totalSeconds: 1.0, processingSeconds: 0.25276 },
  { n: 5, totalSeconds: 1.2, processingSeconds: 0.315661 },
  { n: 6, totalSeconds: 1.4, processingSeconds: 0.401333 },
  { n: 7, totalSeconds: 1.6, processingSeconds: 0.466741 },
];

/** "Star Results": the victim with n neighbouring ASes that each hold attackers, traced in parallel. */
export const RID_STAR: readonly RidFigure[] = [
  { n: 1, totalSeconds: 0.6, processingSeconds: 0.096066 },
  { n: 2, totalSeconds: 0.6, processingSeconds: 0.157692 },
  { n: 3, totalSeconds: 0.6, processingSeconds: 0.177469 },
  { n: 4, totalSeconds: 0.6, processingSeconds: 0.18039 },
  { n: 5, totalSeconds: 0.6, processingSeconds: 0.219429 },
  { n: 6, totalSeconds: 0.6, processingSeconds: 0.237459 },
];

export function ridFigures(topology: RidTopology): readonly RidFigure[] {
  return topology === "chain" ? RID_CHAIN : RID_STAR;
}

/** The report's figure for `n`, or undefined where it measured none. */
export function ridFigure(topology: RidTopology, n: number): RidFigure | undefined {
  return ridFigures(topology).find((f) => f.n === n);
}

/** y = intercept + slope · n. */
export interface LinearFit {
  intercept: number;
  slope: number;
}

/** The least-squares line through `points` (at least two distinct x). */
export function fitLine(points: readonly (readonly [x: number, y: number])[]): LinearFit {
  if (points.length < 2) throw new Error(`A line needs at least two points, not ${points.length}.`);
  const meanX = points.reduce((s, [x]) => s + x, 0) / points.length;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / points.length;
  const sxx = points.reduce((s, [x]) => s + (x - meanX) ** 2, 0);
  if (sxx === 0) throw new Error("A line needs points at two different x at least.");
  const sxy = points.reduce((s, [x, y]) => s + (x - meanX) * (y - meanY), 0);
  const slope = sxy / sxx;
  return { intercept: meanY - slope * meanX, slope };
}

export function atN(fit: LinearFit, n: number): number {
  return fit.intercept + fit.slope * n;
}

/** The report's figures extrapolated to `n` ASes: an extrapolation, not a measurement. */
export interface RidExtrapolation {
  topology: RidTopology;
  n: number;
  totalSeconds: number;
  processingSeconds: number;
  /** How the figure was obtained, for the report. */
  method: string;
}

/**
 * Extrapolates the report linearly in n. Chain: the least-squares lines of total and processing
 * time (the total is exactly 0.2 s + 0.2 s per AS: one tracing time per hop). Star: the total was
 * flat (the neighbours trace in parallel) while the victim's processing grew with every neighbour,
 * so the total is at least the larger of the two lines.
 */
export function extrapolateRid(topology: RidTopology, n: number): RidExtrapolation {
  const figures = ridFigures(topology);
  const total = fitLine(figures.map((f) => [f.n, f.totalSeconds] as const));
  const processing = fitLine(figures.map((f) => [f.n, f.processingSeconds] as const));
  const processingSeconds = atN(processing, n);
  if (topology === "chain") {
    return {
      topology,
      n,
      totalSeconds: atN(total, n),
      processingSeconds,
      method: `linear fit of the chain's 7 points: total ${fmt(total)}, processing ${fmt(processing)}`,
    };
  }
  return {
    topology,
    n,
    totalSeconds: Math.max(atN(total, n), processingSeconds),
    processingSeconds,
    method: `linear fit of the star's 6 points: total ${fmt(total)} (flat), processing ${fmt(processing)}; total ≥ processing`,
  };
}

function fmt(fit: LinearFit): string {
  const sign = fit.intercept < 0 ? "−" : "";
  return `${sign}${Math.abs(fit.intercept).toFixed(4)} s + ${fit.slope.toFixed(4)} s·n`;
}

/** Small statistics for benchmark reports: percentiles, means, rates. */

/** The p-th percentile (0 ≤ p ≤ 100) of `values` by the nearest-rank method; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** p50, p95, p99, mean and max of a sample. */
export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

export function distribution(values: readonly number[]): Distribution {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    mean: mean(values),
    max: values.length === 0 ? Number.NaN : values.reduce((m, v) => Math.max(m, v), -Infinity),
  };
}

/**
 * Seconds for reports, to about three significant figures: "0.832", "7.81", "12.0", "203"; "—"
 * when there is no figure. Latency is always reported in seconds: under load a block is no longer
 * its nominal time, so a count of blocks alone hides how long a transaction waited.
 */
export function formatSeconds(seconds: number): string {
  // No figure: NaN, or null once written as JSON.
  if (!Number.isFinite(seconds)) return "—";
  const abs = Math.abs(seconds);
  return seconds.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
}

/** Rounds for reports: `digits` decimals, NaN kept as null in JSON. */
export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** "1,234" */
export function grouped(value: number | bigint): string {
  return value.toLocaleString("en-US");
}

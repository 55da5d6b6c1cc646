/**
 * A dependency-free SVG line chart: one or more series over a shared x axis, each on the left or
 * the right y axis, linear or logarithmic. Enough for "TPS and latency per block" or "response
 * time per number of ASes, ours against a paper's" in a benchmark report.
 */

export interface Series {
  name: string;
  color: string;
  /** Which y axis the series is read against. */
  axis: "left" | "right";
  points: readonly [x: number, y: number][];
  dashed?: boolean;
  /** Draws a dot at every point (for a few points measured apart). */
  markers?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  leftLabel: string;
  rightLabel: string;
  width?: number;
  height?: number;
  /** Horizontal reference lines on the left axis, e.g. a target. */
  leftMarks?: { value: number; label: string }[];
  /** Logarithmic axes (decades), for figures that span orders of magnitude; points ≤ 0 are left out. */
  xScale?: "linear" | "log";
  yScale?: "linear" | "log";
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Maps values onto [0, 1] along an axis, with the tick values to label. */
interface Scale {
  at(value: number): number;
  ticks: number[];
}

function linearScale(min: number, max: number, steps: number): Scale {
  return {
    at: (v) => (v - min) / (max - min),
    ticks: Array.from({ length: steps + 1 }, (_, i) => min + ((max - min) * i) / steps),
  };
}

/** Whole decades around the values. */
function logScale(values: readonly number[]): Scale {
  const positive = values.filter((v) => v > 0);
  const low = positive.length === 0 ? 0 : Math.floor(Math.log10(Math.min(...positive)));
  let high = positive.length === 0 ? 1 : Math.ceil(Math.log10(Math.max(...positive)));
  if (high === low) high = low + 1;
  return {
    at: (v) => (Math.log10(v) - low) / (high - low),
    ticks: Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i)),
  };
}

function label(value: number): string {
  return String(+value.toPrecision(4));
}

export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 900;
  const height = options.height ?? 420;
  const xLog = options.xScale === "log";
  const yLog = options.yScale === "log";
  const legendRows = Math.max(1, Math.ceil(series.length / 4));
  const margin = { top: 40, right: 80, bottom: 54 + 16 * legendRows, left: 80 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const shown = series.map((s) => ({
    ...s,
    points: s.points.filter(([x, y]) => (!xLog || x > 0) && (!yLog || y > 0)),
  }));
  const hasRight = shown.some((s) => s.axis === "right");
  const xs = shown.flatMap((s) => s.points.map(([x]) => x));
  let xScale: Scale;
  if (xLog) {
    xScale = logScale(xs);
  } else {
    const xMin = xs.length === 0 ? 0 : Math.min(...xs);
    const xMax = xs.length === 0 ? 1 : Math.max(...xs, xMin + 1);
    xScale = linearScale(xMin, xMax, 6);
  }
  const yValues = (axis: "left" | "right") => [
    ...shown.filter((s) => s.axis === axis).flatMap((s) => s.points.map(([, y]) => y)),
    ...(axis === "left" ? (options.leftMarks ?? []).map((m) => m.value) : []),
  ];
  const yScaleOf = (axis: "left" | "right"): Scale =>
    yLog ? logScale(yValues(axis)) : linearScale(0, niceMax(Math.max(0, ...yValues(axis))), 5);
  const yScales = { left: yScaleOf("left"), right: yScaleOf("right") };
  const px = (x: number) => margin.left + xScale.at(x) * plotW;
  const py = (y: number, axis: "left" | "right") => margin.top + plotH - yScales[axis].at(y) * plotH;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
  ];
  for (const tick of yScales.left.ticks) {
    const y = py(tick, "left");
    parts.push(`<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y + 4}" text-anchor="end">${label(tick)}</text>`);
  }
  if (hasRight) {
    for (const tick of yScales.right.ticks) {
      parts.push(`<text x="${margin.left + plotW + 6}" y="${py(tick, "right") + 4}">${label(tick)}</text>`);
    }
  }
  for (const tick of xScale.ticks) {
    const x = px(tick);
    if (xLog) parts.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotH}" stroke="#e5e5e5"/>`);
    const text = xLog ? label(tick) : String(Math.round(tick * 10) / 10);
    parts.push(`<text x="${x}" y="${margin.top + plotH + 18}" text-anchor="middle">${text}</text>`);
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
    `<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 34}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(20 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.leftLabel)}</text>`,
  );
  if (hasRight) {
    parts.push(
      `<text transform="translate(${width - 16} ${margin.top + plotH / 2}) rotate(90)" text-anchor="middle">${escapeXml(options.rightLabel)}</text>`,
    );
  }
  for (const mark of options.leftMarks ?? []) {
    const y = py(mark.value, "left");
    parts.push(
      `<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#999" stroke-dasharray="2 4"/>`,
      `<text x="${margin.left + 4}" y="${y - 4}" fill="#666">${escapeXml(mark.label)}</text>`,
    );
  }
  shown.forEach((s, index) => {
    const dash = s.dashed === true ? ` stroke-dasharray="6 4"` : "";
    if (s.points.length > 0) {
      const d = s.points
        .map(([x, y], i) => `${i === 0 ? "M" : "L"}${px(x).toFixed(1)},${py(y, s.axis).toFixed(1)}`)
        .join(" ");
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    }
    if (s.markers === true) {
      for (const [x, y] of s.points) {
        parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y, s.axis).toFixed(1)}" r="3" fill="${s.color}"/>`);
      }
    }
    const lx = margin.left + (index % 4) * 200;
    const ly = margin.top + plotH + 56 + Math.floor(index / 4) * 16;
    parts.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 30}" y="${ly}">${escapeXml(hasRight ? `${s.name} (${s.axis})` : s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

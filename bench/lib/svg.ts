/**
 * A dependency-free SVG line chart: one or more series over a shared x axis, each on the left or
 * the right y axis. Enough for "TPS and latency per block" in a benchmark report.
 */

export interface Series {
  name: string;
  color: string;
  /** Which y axis the series is read against. */
  axis: "left" | "right";
  points: readonly [x: number, y: number][];
  dashed?: boolean;
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

export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 900;
  const height = options.height ?? 420;
  const margin = { top: 40, right: 80, bottom: 70, left: 80 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const xMin = xs.length === 0 ? 0 : Math.min(...xs);
  const xMax = xs.length === 0 ? 1 : Math.max(...xs, xMin + 1);
  const yMax = (axis: "left" | "right") =>
    niceMax(
      Math.max(
        0,
        ...series.filter((s) => s.axis === axis).flatMap((s) => s.points.map(([, y]) => y)),
        ...(axis === "left" ? (options.leftMarks ?? []).map((m) => m.value) : []),
      ),
    );
  const maxima = { left: yMax("left"), right: yMax("right") };
  const px = (x: number) => margin.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number, axis: "left" | "right") => margin.top + plotH - (y / maxima[axis]) * plotH;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = margin.top + (plotH * i) / 5;
    parts.push(`<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    const left = (maxima.left * (5 - i)) / 5;
    const right = (maxima.right * (5 - i)) / 5;
    parts.push(`<text x="${margin.left - 6}" y="${y + 4}" text-anchor="end">${+left.toPrecision(4)}</text>`);
    parts.push(`<text x="${margin.left + plotW + 6}" y="${y + 4}">${+right.toPrecision(4)}</text>`);
  }
  for (let i = 0; i <= 6; i++) {
    const x = xMin + ((xMax - xMin) * i) / 6;
    parts.push(
      `<text x="${px(x)}" y="${margin.top + plotH + 18}" text-anchor="middle">${Math.round(x * 10) / 10}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 36}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(20 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.leftLabel)}</text>`,
    `<text transform="translate(${width - 16} ${margin.top + plotH / 2}) rotate(90)" text-anchor="middle">${escapeXml(options.rightLabel)}</text>`,
  );
  for (const mark of options.leftMarks ?? []) {
    const y = py(mark.value, "left");
    parts.push(
      `<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#999" stroke-dasharray="2 4"/>`,
      `<text x="${margin.left + 4}" y="${y - 4}" fill="#666">${escapeXml(mark.label)}</text>`,
    );
  }
  series.forEach((s, index) => {
    if (s.points.length > 0) {
      const d = s.points
        .map(([x, y], i) => `${i === 0 ? "M" : "L"}${px(x).toFixed(1)},${py(y, s.axis).toFixed(1)}`)
        .join(" ");
      const dash = s.dashed === true ? ` stroke-dasharray="6 4"` : "";
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    }
    const lx = margin.left + (index % 4) * 200;
    const ly = height - 14 - Math.floor(index / 4) * 0;
    parts.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed === true ? ` stroke-dasharray="6 4"` : ""}/>`,
      `<text x="${lx + 30}" y="${ly}">${escapeXml(`${s.name} (${s.axis})`)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

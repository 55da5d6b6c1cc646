/** Small charts in plain SVG: step lines over chain time, and bars per minute. */
import type { ReactNode } from "react";

import { clock } from "../text";

export interface Series {
  label: string;
  /** x: Unix seconds; y: the value from then on (a step). */
  points: { x: number; y: number }[];
}

const WIDTH = 560;
const HEIGHT = 200;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };
const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

function ticks(min: number, max: number, count: number): number[] {
  if (max <= min) return [min];
  return Array.from({ length: count + 1 }, (_, i) => min + ((max - min) * i) / count);
}

/** A top for the y axis whose ticks are round numbers (whole ones for counts). */
function niceMax(value: number, tickCount: number, whole: boolean): number {
  if (!(value > 0)) return tickCount;
  const raw = value / tickCount;
  const power = 10 ** Math.floor(Math.log10(raw));
  const steps = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * power);
  const step = steps.find((s) => s >= raw && (!whole || Number.isInteger(s))) ?? Math.ceil(raw);
  return step * tickCount;
}

function Frame(props: {
  title: string;
  xMin: number;
  xMax: number;
  yMax: number;
  formatY: (y: number) => string;
  children: ReactNode;
  legend?: string[];
}) {
  const { xMin, xMax, yMax, formatY } = props;
  const x = (v: number) => PAD.left + ((v - xMin) / Math.max(1, xMax - xMin)) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => HEIGHT - PAD.bottom - (v / (yMax || 1)) * (HEIGHT - PAD.top - PAD.bottom);
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={props.title}>
        {ticks(0, yMax, 4).map((v) => (
          <g key={`y${v}`}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(v)} y2={y(v)} className="grid" />
            <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end">
              {formatY(v)}
            </text>
          </g>
        ))}
        {ticks(xMin, xMax, 3).map((v, i, all) => (
          <text
            key={`x${v}`}
            x={x(v)}
            y={HEIGHT - 8}
            textAnchor={i === 0 ? "start" : i === all.length - 1 ? "end" : "middle"}
          >
            {clock(Math.round(v))}
          </text>
        ))}
        {props.children}
      </svg>
      {props.legend && props.legend.length > 0 && (
        <div className="legend">
          {props.legend.map((label, i) => (
            <span key={label}>
              <i style={{ background: COLOURS[i % COLOURS.length] }} />
              {label}
            </span>
          ))}
        </div>
      )}
    </figure>
  );
}

/** Step lines, each held flat until its next point and on to `until`. */
export function StepChart(props: { title: string; series: Series[]; until: number; formatY: (y: number) => string }) {
  const points = props.series.flatMap((s) => s.points);
  if (points.length === 0) return <p className="muted">{props.title}: nothing yet.</p>;
  const xMin = Math.min(...points.map((p) => p.x));
  const xMax = Math.max(props.until, ...points.map((p) => p.x));
  const yMax = niceMax(Math.max(...points.map((p) => p.y)), 4, false);
  const x = (v: number) => PAD.left + ((v - xMin) / Math.max(1, xMax - xMin)) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => HEIGHT - PAD.bottom - (v / yMax) * (HEIGHT - PAD.top - PAD.bottom);
  const path = (s: Series) => {
    let d = "";
    s.points.forEach((p, i) => {
      d += i === 0 ? `M${x(p.x)},${y(p.y)}` : `H${x(p.x)}V${y(p.y)}`;
    });
    return `${d}H${x(xMax)}`;
  };
  return (
    <Frame
      title={props.title}
      xMin={xMin}
      xMax={xMax}
      yMax={yMax}
      formatY={props.formatY}
      legend={props.series.map((s) => s.label)}
    >
      {props.series.map((s, i) =>
        s.points.length === 0 ? null : (
          <path key={s.label} d={path(s)} fill="none" stroke={COLOURS[i % COLOURS.length]} strokeWidth={2} />
        ),
      )}
    </Frame>
  );
}

/** One bar per minute. */
export function BarChart(props: { title: string; bars: { x: number; y: number }[]; formatY: (y: number) => string }) {
  if (props.bars.length === 0) return <p className="muted">{props.title}: nothing yet.</p>;
  const xMin = props.bars[0].x;
  const step = props.bars.length > 1 ? props.bars[1].x - xMin : 60;
  const xMax = props.bars[props.bars.length - 1].x + step;
  const yMax = niceMax(Math.max(...props.bars.map((b) => b.y)), 4, true);
  const width = (WIDTH - PAD.left - PAD.right) / props.bars.length;
  const y = (v: number) => HEIGHT - PAD.bottom - (v / yMax) * (HEIGHT - PAD.top - PAD.bottom);
  return (
    <Frame title={props.title} xMin={xMin} xMax={xMax} yMax={yMax} formatY={props.formatY}>
      {props.bars.map((b, i) => (
        <rect
          key={b.x}
          x={PAD.left + i * width + 1}
          y={y(b.y)}
          width={Math.max(1, width - 2)}
          height={HEIGHT - PAD.bottom - y(b.y)}
          className="bar"
        >
          <title>
            {clock(b.x)}: {b.y}
          </title>
        </rect>
      ))}
    </Frame>
  );
}

/** Display text the views share; amounts, prefixes and AS numbers come from src/format.ts. */
import { DOTS_STATUS, REJECT_REASON } from "../../src/clients/market";

/** "inProgress" → "in progress". */
const words = (name: string) => name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);

const byCode = (table: Record<string, number>) =>
  new Map(Object.entries(table).map(([name, code]) => [code, words(name)]));
const DOTS_NAMES = byCode(DOTS_STATUS);
const REJECT_NAMES = byCode(REJECT_REASON);

/** A DOTS mitigation status (RFC 9132) in words. */
export function dotsLabel(code: number): string {
  return DOTS_NAMES.get(code) ?? `status ${code}`;
}

/** A provider's reason for rejecting, in words. */
export function rejectLabel(code: number): string {
  return REJECT_NAMES.get(code) ?? `reason ${code}`;
}

/** "flow-filtering" → "flow filtering". */
export function kindLabel(kind: string): string {
  return kind.replace(/-/g, " ");
}

/** Chain time (Unix seconds) as a local 24-hour clock. */
export function clock(unix: number): string {
  return new Date(unix * 1000).toLocaleTimeString("en-GB");
}

/** "24 h", "90 min", "45 s". */
export function duration(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export function percent(ratio: number | null): string {
  return ratio === null ? "–" : `${Math.round(ratio * 100)} %`;
}

export function seconds(value: number | null): string {
  return value === null ? "–" : `${value.toFixed(value < 10 ? 1 : 0)} s`;
}

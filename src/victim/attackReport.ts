/**
 * An attack report in the shape of DOTS telemetry (RFC 9244): the attacked target and the top
 * talkers, each a source prefix or address with optional traffic figures.
 */
import { readFileSync } from "node:fs";

import { parsePrefix, type Prefix } from "../prefix";

export interface TopTalker {
  /** Source prefix or address, e.g. "198.51.100.23" or "2001:db8:2000::/48". */
  source: string;
  /** Observed attack traffic from it, bits per second (optional). */
  bps?: number;
  /** Observed attack traffic from it, packets per second (optional). */
  pps?: number;
}

export interface AttackReport {
  /** The attacked prefix, which the victim holds. */
  target: string;
  /** How long mitigation is wanted, in seconds (DOTS "lifetime"). */
  lifetime: number;
  topTalkers: TopTalker[];
}

export interface ParsedTalker extends TopTalker {
  prefix: Prefix;
}

/** Validates a report; every problem is one sentence naming the field. */
export function parseAttackReport(value: unknown, origin = "the attack report"): AttackReport & { target: string } {
  if (value === null || typeof value !== "object") throw new Error(`${origin} is not a JSON object.`);
  const v = value as Record<string, unknown>;
  if (typeof v.target !== "string") throw new Error(`${origin} has no "target" prefix.`);
  parsePrefix(v.target);
  const lifetime = v.lifetime;
  if (typeof lifetime !== "number" || !Number.isInteger(lifetime) || lifetime <= 0) {
    throw new Error(`${origin} needs a "lifetime" in whole seconds above zero.`);
  }
  const talkers = v.topTalkers ?? v.sources;
  if (!Array.isArray(talkers) || talkers.length === 0) {
    throw new Error(`${origin} lists no attack sources ("topTalkers").`);
  }
  const topTalkers = talkers.map((t: unknown, i: number): TopTalker => {
    const entry = typeof t === "string" ? { source: t } : (t as Record<string, unknown>);
    if (typeof entry?.source !== "string") throw new Error(`Source #${i} of ${origin} has no "source" prefix.`);
    parsePrefix(entry.source, { allowAddress: true });
    const bps = entry.bps === undefined ? undefined : Number(entry.bps);
    const pps = entry.pps === undefined ? undefined : Number(entry.pps);
    return { source: entry.source, bps, pps };
  });
  return { target: v.target, lifetime, topTalkers };
}

/** Reads and validates a report file. */
export function readAttackReport(path: string): AttackReport {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`Cannot read the attack report file ${path}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON.`);
  }
  return parseAttackReport(json, path);
}

/**
 * Where a process's CPU time went, from the V8 CPU profile Node writes with `--cpu-prof`: the
 * sampled self time summed by category (which part of the code a function belongs to, from its
 * script's URL) and the functions with the most self time.
 */
import { readFileSync } from "node:fs";

/** The parts of a `.cpuprofile` this reads (Chrome DevTools protocol, `Profiler.Profile`). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  /** Microseconds since the previous sample (the first: since `startTime`). */
  timeDeltas: number[];
}

/**
 * A category: a function belongs to the first whose patterns all match, `url` its script's URL
 * ("" for V8's built-ins such as JSON.parse) and `functionName` its name ("(garbage collector)" …).
 */
export interface ProfileCategory {
  name: string;
  url?: RegExp;
  functionName?: RegExp;
}

export interface ProfileSummary {
  /** Milliseconds sampled, idle included. */
  sampledMs: number;
  /** Milliseconds not idle. */
  busyMs: number;
  /** Self time by category, largest first; shares are of the busy time. */
  categories: { name: string; ms: number; share: number }[];
  /** The functions with the most self time. */
  functions: { name: string; where: string; ms: number; share: number }[];
}

const IDLE = "(idle)";

/** Self time by category and the top `top` functions over one or more profiles, idle time left out of the shares. */
export function summarizeProfiles(
  profiles: readonly CpuProfile[],
  categories: readonly ProfileCategory[],
  top = 12,
  otherName = "other JavaScript",
): ProfileSummary {
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  let sampledUs = 0;
  let idleUs = 0;
  for (const profile of profiles) {
    const selfUs = new Map<number, number>();
    const { samples, timeDeltas } = profile;
    // A sample's time is the delta until the next sample (the last one's is unknown: left out).
    for (let i = 0; i + 1 < samples.length; i++) {
      selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, timeDeltas[i + 1]));
    }
    for (const node of profile.nodes) {
      const us = selfUs.get(node.id) ?? 0;
      if (us === 0) continue;
      sampledUs += us;
      const { functionName, url, lineNumber } = node.callFrame;
      if (functionName === IDLE) {
        idleUs += us;
        continue;
      }
      const category =
        categories.find(
          (c) =>
            (c.url === undefined || c.url.test(url)) &&
            (c.functionName === undefined || c.functionName.test(functionName)),
        )?.name ?? otherName;
      byCategory.set(category, (byCategory.get(category) ?? 0) + us);
      const name = functionName === "" ? "(anonymous)" : functionName;
      const where = url === "" ? "" : `${shortUrl(url)}:${lineNumber + 1}`;
      const key = `${name} ${where}`;
      const entry = byFunction.get(key) ?? { name, where, us: 0 };
      entry.us += us;
      byFunction.set(key, entry);
    }
  }
  const busyUs = sampledUs - idleUs;
  const share = (us: number) => (busyUs === 0 ? 0 : us / busyUs);
  return {
    sampledMs: sampledUs / 1000,
    busyMs: busyUs / 1000,
    categories: [...byCategory]
      .map(([name, us]) => ({ name, ms: us / 1000, share: share(us) }))
      .sort((a, b) => b.ms - a.ms),
    functions: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: share(f.us) })),
  };
}

/** "src/provider/orderIntake.ts" out of "file:///work/…/src/provider/orderIntake.ts"; node: URLs as they are. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  const at = path.search(/\/(node_modules|src|bench|test)\//);
  return at === -1 ? path : path.slice(at + 1);
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
}

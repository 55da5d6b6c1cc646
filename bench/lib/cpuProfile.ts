/**
 * Where a process's time went, from a V8 CPU profile (`Profiler.stop`, or `--cpu-prof`): the
 * sampled self time summed by category (which part of the code a function belongs to, from its
 * script's URL), the functions with the most self time, and — to say which of our functions the
 * time in libraries and Node's internals was spent for — each sample charged to the deepest frame
 * of our own code on its stack.
 *
 * The sampler measures wall time between samples: on a machine whose cores are all busy, a
 * descheduled thread's wait is charged to whatever was on its stack. The shares stay meaningful;
 * multiply them by the CPU time measured from the OS for CPU seconds.
 */
import { readFileSync } from "node:fs";

/** The parts of a `.cpuprofile` this reads (Chrome DevTools protocol, `Profiler.Profile`). */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  /** Microseconds since the previous sample (the first: since `startTime`). */
  timeDeltas: number[];
}

/**
 * A category: a function belongs to the first whose patterns all match, `url` its script's URL
 * ("" for V8's built-ins and native functions such as JSON.parse) and `functionName` its name
 * ("(garbage collector)" …).
 */
export interface ProfileCategory {
  name: string;
  url?: RegExp;
  functionName?: RegExp;
}

export interface ProfileEntry {
  name: string;
  /** "src/provider/orderIntake.ts:120"; "" for V8 and native code. */
  where: string;
  ms: number;
  /** Of the busy (not idle) time. */
  share: number;
}

export interface ProfileSummary {
  /** Milliseconds sampled, idle included. */
  sampledMs: number;
  /** Milliseconds not idle. */
  busyMs: number;
  /** Self time by category, largest first. */
  categories: { name: string; ms: number; share: number }[];
  /** The functions with the most self time. */
  functions: ProfileEntry[];
  /** Time charged to the deepest frame of our own code on the stack (library and Node time included). */
  ownFunctions: ProfileEntry[];
}

export interface SummaryOptions {
  categories: readonly ProfileCategory[];
  /** Which scripts are our own code (matched against the URL). */
  own: RegExp;
  /** How many functions to list. */
  top?: number;
  otherName?: string;
}

const IDLE = "(idle)";
/** Where time with no frame of our code on the stack is charged (Node's event loop, GC, …). */
export const NOT_OURS = "(no frame of our code: Node.js internals, GC, V8)";

/** Summarises one or more profiles (e.g. one per agent) together; idle time is left out of the shares. */
export function summarizeProfiles(profiles: readonly CpuProfile[], options: SummaryOptions): ProfileSummary {
  const { categories, own, top = 12, otherName = "other JavaScript" } = options;
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  const byOwn = new Map<string, { name: string; where: string; us: number }>();
  const add = (map: typeof byFunction, name: string, where: string, us: number) => {
    const key = `${name} ${where}`;
    const entry = map.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    map.set(key, entry);
  };
  let sampledUs = 0;
  let idleUs = 0;
  for (const profile of profiles) {
    const selfUs = new Map<number, number>();
    const { samples, timeDeltas } = profile;
    // A sample's time is the delta until the next sample (the last one's is unknown: left out).
    for (let i = 0; i + 1 < samples.length; i++) {
      selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, timeDeltas[i + 1]));
    }
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    for (const node of profile.nodes) {
      const us = selfUs.get(node.id) ?? 0;
      if (us === 0) continue;
      sampledUs += us;
      const { functionName, url } = node.callFrame;
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
      add(byFunction, ...describe(node.callFrame), us);
      let frame: (typeof profile.nodes)[number] | undefined = node;
      while (frame !== undefined && !own.test(frame.callFrame.url)) {
        const up = parent.get(frame.id);
        frame = up === undefined ? undefined : byId.get(up);
      }
      if (frame === undefined) add(byOwn, NOT_OURS, "", us);
      else add(byOwn, ...describe(frame.callFrame), us);
    }
  }
  const busyUs = sampledUs - idleUs;
  const share = (us: number) => (busyUs === 0 ? 0 : us / busyUs);
  const ranked = (map: typeof byFunction): ProfileEntry[] =>
    [...map.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: share(f.us) }));
  return {
    sampledMs: sampledUs / 1000,
    busyMs: busyUs / 1000,
    categories: [...byCategory]
      .map(([name, us]) => ({ name, ms: us / 1000, share: share(us) }))
      .sort((a, b) => b.ms - a.ms),
    functions: ranked(byFunction),
    ownFunctions: ranked(byOwn),
  };
}

function describe(frame: { functionName: string; url: string; lineNumber: number }): [string, string] {
  return [
    frame.functionName === "" ? "(anonymous)" : frame.functionName,
    frame.url === "" ? "" : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`,
  ];
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

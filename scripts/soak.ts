/**
 * The soak: the stateful hardening test's random action sequences, by the ten thousand
 * (`npm run soak`). Each sequence starts from the same deployed market (EVM snapshot), runs
 * SOAK_STEPS random steps by honest and dishonest actors — direct requests and signed orders
 * mixed — and checks every invariant after every step against the TypeScript model
 * (test/hardening/model.ts).
 *
 * Environment: SOAK_SEQUENCES (default 10000), SOAK_STEPS (default 16), SOAK_SEED (default: from
 * the clock, printed so that a failure can be replayed), SOAK_WORKERS (default: the number of
 * CPUs, at most 4; each worker is a `hardhat run` with its own in-process chain and its own range
 * of seeds). Prints progress every few seconds and, at the end, the sequences, steps and invariant
 * checks made; exits 1 on the first disagreement, naming the seed of the sequence.
 */
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

import { describeStats, emptyStats, runSequences } from "../test/hardening/runner";
import type { RunStats } from "../test/hardening/runner";

interface WireStats extends Omit<RunStats, "errors" | "actions" | "orderSkips"> {
  errors: [string, number][];
  actions: [string, number][];
  orderSkips: [string, number][];
}

function toWire(stats: RunStats): WireStats {
  return { ...stats, errors: [...stats.errors], actions: [...stats.actions], orderSkips: [...stats.orderSkips] };
}

function whole(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`${name} is "${text}", not a whole number.`);
  return Number(text);
}

/** Worker: runs its range of seeds and reports on stdout, one JSON line per sequence batch. */
async function worker(): Promise<void> {
  const seed = whole("SOAK_WORKER_SEED", 0);
  const sequences = whole("SOAK_WORKER_SEQUENCES", 0);
  const steps = whole("SOAK_STEPS", 16);
  let last = Date.now();
  const stats = await runSequences({
    seed,
    sequences,
    steps,
    onSequence: (done, s) => {
      if (Date.now() - last >= 2000 || done === sequences) {
        last = Date.now();
        console.log(`SOAK ${JSON.stringify(toWire(s))}`);
      }
    },
  });
  console.log(`SOAK ${JSON.stringify(toWire(stats))}`);
}

function merge(parts: WireStats[]): RunStats {
  const total = emptyStats();
  for (const p of parts) {
    total.sequences += p.sequences;
    total.steps += p.steps;
    total.succeeded += p.succeeded;
    total.reverted += p.reverted;
    total.invariantChecks += p.invariantChecks;
    total.requestsAccepted += p.requestsAccepted;
    total.ownershipRefusals += p.ownershipRefusals;
    total.ordersSettled += p.ordersSettled;
    total.closingReclaims += p.closingReclaims;
    for (const [k, n] of p.errors) total.errors.set(k, (total.errors.get(k) ?? 0) + n);
    for (const [k, n] of p.actions) total.actions.set(k, (total.actions.get(k) ?? 0) + n);
    for (const [k, n] of p.orderSkips) total.orderSkips.set(k, (total.orderSkips.get(k) ?? 0) + n);
  }
  return total;
}

/** Parent: splits the seeds among workers, aggregates their progress, prints the totals. */
async function main(): Promise<void> {
  const sequences = whole("SOAK_SEQUENCES", 10_000);
  const steps = whole("SOAK_STEPS", 16);
  const seed = whole("SOAK_SEED", Date.now() % 2 ** 31);
  const workers = Math.max(1, Math.min(whole("SOAK_WORKERS", Math.min(availableParallelism(), 4)), sequences));
  console.log(
    `soak: ${sequences} sequences of ${steps} steps, seeds ${seed}..${seed + sequences - 1}, ${workers} workers` +
      ` (replay one: SOAK_SEED=<seed> SOAK_SEQUENCES=1 SOAK_WORKERS=1 npm run soak)`,
  );
  const started = Date.now();
  const latest: WireStats[] = Array.from({ length: workers }, () => toWire(emptyStats()));
  const hardhat = path.join(__dirname, "..", "node_modules", "hardhat", "internal", "cli", "cli.js");
  const per = Math.floor(sequences / workers);
  let next = seed;
  const runs = Array.from({ length: workers }, (_, w) => {
    const count = w === workers - 1 ? sequences - per * (workers - 1) : per;
    const workerSeed = next;
    next += count;
    return new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [hardhat, "run", path.join(__dirname, "soak.ts")], {
        env: {
          ...process.env,
          SOAK_ROLE: "worker",
          SOAK_WORKER_SEED: String(workerSeed),
          SOAK_WORKER_SEQUENCES: String(count),
          SOAK_STEPS: String(steps),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const output: string[] = [];
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (line.startsWith("SOAK ")) latest[w] = JSON.parse(line.slice(5)) as WireStats;
        else output.push(line);
      });
      createInterface({ input: child.stderr }).on("line", (line) => output.push(line));
      child.on("error", reject);
      child.on("close", (code) => {
        if (code === 0) resolve();
        else
          reject(
            new Error(
              `worker ${w} (seeds ${workerSeed}..${workerSeed + count - 1}) failed:\n${output.slice(-40).join("\n")}`,
            ),
          );
      });
    });
  });
  const timer = setInterval(() => {
    const total = merge(latest);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `  ${total.sequences}/${sequences} sequences, ${total.steps} steps, ${total.invariantChecks} invariant checks` +
        ` (${seconds.toFixed(0)} s, ${(total.steps / Math.max(seconds, 1)).toFixed(0)} steps/s)`,
    );
  }, 10_000);
  try {
    await Promise.all(runs);
  } finally {
    clearInterval(timer);
  }
  const total = merge(latest);
  console.log(`soak passed in ${((Date.now() - started) / 1000).toFixed(0)} s:\n${describeStats(total)}`);
  if (total.sequences !== sequences) throw new Error(`ran ${total.sequences} sequences, not ${sequences}`);
}

(process.env.SOAK_ROLE === "worker" ? worker() : main()).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});

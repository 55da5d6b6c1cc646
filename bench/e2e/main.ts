/**
 * `npm run bench:e2e [-- --runs 5] [--block-time 1] [--provider-poll-ms 100] [--follow-ms 100]`
 *
 * From the first flood datagram to the FlowSpec route in gobgpd's RIB, with real peers (the lab of
 * test/helpers/detectionLab.ts: FastNetMon, the victim daemon, anvil with interval mining, Alpha's
 * agent through ExaBGP and Beta's through GoBGP), split into detection (FastNetMon), notification
 * (the notify script reaching the daemon), purchase (until the request's block), the provider's
 * decision and install, and the route's way into the RIB; acknowledgements are timed beside (a
 * provider installs before it acknowledges). One warm-up run, then `--runs` runs, each starting
 * at another phase of the block interval; medians over the runs. Results to
 * bench/results/e2e-anvil.{json,md,svg}; progress to stderr.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

import { toOperatorError } from "../../src/errors";
import { labMissing, startLab } from "../../test/helpers/detectionLab";
import { wholeNumberOption } from "../lib/args";
import { writeResults } from "../lib/results";
import { BlockWatch, measureRun, type Milestones, type Run } from "./measure";
import { chart, markdown, summarise, type E2eResult } from "./report";

const RESULTS = path.join(__dirname, "..", "results");

function options() {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "5" },
      "block-time": { type: "string", default: "1" },
      "provider-poll-ms": { type: "string", default: "100" },
      "follow-ms": { type: "string", default: "100" },
      "victim-poll-ms": { type: "string", default: "200" },
      "ethers-poll-ms": { type: "string", default: "50" },
    },
  });
  const number = (name: keyof typeof values, min: number): number => wholeNumberOption(name, values[name], min);
  return {
    runs: number("runs", 1),
    blockTime: number("block-time", 1),
    providerPollMs: number("provider-poll-ms", 10),
    followMs: number("follow-ms", 10),
    victimPollMs: number("victim-poll-ms", 10),
    ethersPollMs: number("ethers-poll-ms", 10),
  };
}

function say(line: string): void {
  console.error(`${new Date().toISOString()} ${line}`);
}

async function main(): Promise<void> {
  const opts = options();
  const missing = labMissing();
  if (missing !== null) throw new Error(`The benchmark needs real daemons: ${missing}.`);
  const dir = mkdtempSync(path.join(tmpdir(), "bench-e2e-"));
  const milestones: Milestones = { calls: 0, installed: {}, acknowledged: {} };
  const loadBefore = loadavg();
  const lab = await startLab({
    dir,
    blockTime: opts.blockTime,
    providerPollMs: opts.providerPollMs,
    followMs: opts.followMs,
    victimPollMs: opts.victimPollMs,
    ethersPollMs: opts.ethersPollMs,
    onNotification: (n) => {
      if (n.action === "ban") milestones.banReceived ??= Date.now();
    },
    onRpc: (method) => {
      if (milestones.banReceived === undefined || milestones.requestSent !== undefined) return;
      milestones.calls++;
      // The first transaction after the ban is the victim's request (the directory is approved).
      if (method === "eth_sendRawTransaction") milestones.requestSent = Date.now();
    },
    onLine: (who, line) => {
      if (who === "victim") {
        if (line.startsWith("error") || line.includes("failed")) say(`victim: ${line}`);
        return;
      }
      if (line.startsWith("install ")) milestones.installed[who] ??= Date.now();
      else if (line.startsWith("acknowledged ")) milestones.acknowledged[who] ??= Date.now();
      else if (line.startsWith("error")) say(`${who}: ${line}`);
    },
  });
  const blocks = new BlockWatch(lab.provider);
  blocks.start();
  try {
    say(`lab up: anvil, gobgpd, ExaBGP, FastNetMon, two provider agents and the victim daemon (${dir})`);
    const startAtPhase = async (phase: number) => {
      const head = await lab.provider.getBlockNumber();
      while ((await lab.provider.getBlockNumber()) === head) await sleep(10);
      await sleep(phase * opts.blockTime * 1000);
    };
    await startAtPhase(0.5);
    const warm = await measureRun(lab, 0, 0, milestones, blocks, opts.blockTime, (l) =>
      say(`warm-up (not kept): ${l}`),
    );
    const runs: Run[] = [];
    const loads: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      await startAtPhase((i + 0.5) / opts.runs);
      loads.push(loadavg()[0]);
      runs.push(await measureRun(lab, i + 1, i + 1, milestones, blocks, opts.blockTime, say));
    }
    const result: E2eResult = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model.trim() ?? "unknown", node: process.version },
      load: { before: round2(loadBefore[0]), duringRuns: loads.map(round2), after: round2(loadavg()[0]) },
      config: {
        "block time (s)": opts.blockTime,
        "provider agents' poll (ms)": opts.providerPollMs,
        "victim daemon's follow of answers (ms)": opts.followMs,
        "victim daemon's passes (ms)": opts.victimPollMs,
        "ethers' polling for receipts (ms)": opts.ethersPollMs,
        "FastNetMon threshold (pps), average over (s), recalculated every (s)": "1000, 1, 1",
        "flood (pps per source, datagram every ms)": "20000, 100",
      },
      warmUp: warm,
      runs,
      summary: summarise(runs),
    };
    await writeResults(path.join(RESULTS, "e2e-anvil"), result, markdown(result), chart(result));
    console.log(markdown(result));
    say("Written bench/results/e2e-anvil.{json,md,svg}");
  } finally {
    blocks.stop();
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: unknown) => {
  console.error(toOperatorError(error).message);
  process.exitCode = 1;
});

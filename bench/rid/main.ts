/**
 * `npm run bench:rid [-- --network hardhat|anvil] [--block-time 1] [--reps 5] [--large-reps 2]
 * [--sizes 100,1000] [--topologies chain,star,scale] [--status-reports on|off] ...`
 *
 * The RID implementation report's experiments (seeds/004) on this system: for the chained
 * topology (1–7 ASes) and the star (1–6 neighbours), then for 100 and 1,000 source ASes, the
 * victim agent is handed an attack report whose sources lie in those ASes, each run by its own
 * provider agent and account, and the time to the last acknowledgement is measured as the victim
 * agent sees it. Progress goes to stderr; results to bench/results/rid-<network>.{json,md,svg}.
 *
 * `--network hardhat` (the default, or RID_NETWORK) runs on Hardhat's in-process network with
 * automine; `--network anvil` starts an anvil with interval mining (`--block-time`, 1 s).
 */
import { cpus } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

import { MarketClient } from "../../src/clients/market";
import { RegistryClient } from "../../src/clients/registry";
import { toOperatorError } from "../../src/errors";
import { DEFAULT_MAX_GAS_PER_TRANSACTION } from "../../src/victim/batches";
import { Fleet } from "./fleet";
import { buildInternet } from "./internet";
import { measure, type Repetition } from "./measure";
import { NETWORK_NAMES, startNetwork, type BenchNetwork, type NetworkName } from "./network";
import { chart, markdown, summarise, type PointResult, type RidBenchResult } from "./report";
import { attackReport, points, pools, providersOf, TOPOLOGIES, type Point, type Topology } from "./topology";
import { wholeNumberOption } from "../lib/args";
import { writeResults } from "../lib/results";
import { formatSeconds } from "../lib/stats";

const RESULTS = path.join(__dirname, "..", "results");

function options() {
  const { values } = parseArgs({
    options: {
      network: { type: "string", default: process.env.RID_NETWORK ?? "hardhat" },
      "block-time": { type: "string", default: "1" },
      reps: { type: "string", default: "5" },
      "large-reps": { type: "string", default: "2" },
      "large-above": { type: "string", default: "100" },
      sizes: { type: "string", default: "100,1000" },
      topologies: { type: "string", default: TOPOLOGIES.join(",") },
      "poll-ms": { type: "string", default: "100" },
      "agent-poll-ms": { type: "string", default: "5000" },
      "max-gas": { type: "string", default: DEFAULT_MAX_GAS_PER_TRANSACTION.toString() },
      "gas-limit": { type: "string", default: "300000000" },
      seed: { type: "string", default: "ddos-mitigation-market rid bench" },
      "status-reports": { type: "string", default: "on" },
    },
  });
  const number = (name: keyof typeof values, min: number): number => wholeNumberOption(name, values[name], min);
  const network = values.network as NetworkName;
  if (!NETWORK_NAMES.includes(network)) {
    throw new Error(`--network is "${values.network}": use ${NETWORK_NAMES.join(" or ")}.`);
  }
  if (!["on", "off"].includes(values["status-reports"])) {
    throw new Error(`--status-reports is "${values["status-reports"]}": use on or off.`);
  }
  const sizes = values.sizes === "" ? [] : values.sizes.split(",").map((t) => Number(t.trim()));
  return {
    network,
    blockTime: number("block-time", 1),
    reps: number("reps", 1),
    largeReps: number("large-reps", 1),
    largeAbove: number("large-above", 1),
    sizes,
    topologies: values.topologies.split(",").map((t) => t.trim() as Topology),
    pollMs: number("poll-ms", 10),
    agentPollMs: number("agent-poll-ms", 10),
    maxGas: BigInt(number("max-gas", 1_000_000)),
    gasLimit: number("gas-limit", 30_000_000),
    seed: values.seed,
    statusReports: values["status-reports"] === "on",
  };
}

const say = (line: string) => console.error(line);

async function main(): Promise<void> {
  const opts = options();
  const list = points({
    repetitions: opts.reps,
    fewRepetitions: opts.largeReps,
    fewAbove: opts.largeAbove,
    sizes: opts.sizes,
    topologies: opts.topologies,
  });
  const all = pools(list);
  const providerCount = all.chain.length + all.star.length + all.scale.length;
  say(`Starting ${opts.network} …`);
  const network = await startNetwork({
    name: opts.network,
    blockTimeSeconds: opts.blockTime,
    blockGasLimit: opts.gasLimit,
    pollingMs: opts.pollMs,
  });
  try {
    say(`  ${network.description}`);
    say(`Setting up the victim and ${providerCount} provider ASes …`);
    const setupStarted = Date.now();
    const internet = await buildInternet({
      provider: network.provider,
      setBalance: (address, wei) => network.setBalance(address, wei),
      providers: [...all.chain, ...all.star, ...all.scale],
      boughtAlone: [all.chain[0], all.star[0], all.scale[0]].filter((p) => p !== undefined),
      seed: opts.seed,
      onProgress: (line) => say(`  ${line}`),
    });
    const setupSeconds = (Date.now() - setupStarted) / 1000;
    say(`  set-up done in ${setupSeconds.toFixed(1)} s`);

    const { system, victim } = internet;
    const victimMarket = new MarketClient(system.directory, system.token, victim.signer);
    const victimRegistry = new RegistryClient(system.registry.connect(victim.signer));
    const results: PointResult[] = [];
    let warmedUp = false;
    for (const point of list) {
      const providers = providersOf(point, all);
      const report = attackReport(point, providers);
      const fleet = new Fleet(
        internet,
        providers,
        {
          provider: network.provider,
          pollMs: opts.pollMs,
          agentPollMs: opts.agentPollMs,
          statusReports: opts.statusReports,
          onProblem: (line) => say(`    ${line}`),
        },
        await network.provider.getBlockNumber(),
      );
      fleet.start();
      const run = async (phase: number) => {
        await startAtPhase(network, phase);
        return measure(report, point.n, {
          network,
          market: victimMarket,
          registry: victimRegistry,
          fleet,
          pollMs: opts.pollMs,
          maxGasPerTransaction: opts.maxGas,
          timeoutMs: 10 * 60_000,
        });
      };
      try {
        if (!warmedUp) {
          // The first run of a process pays for compiling code paths: measured, not kept.
          const warm = await run(0.5);
          await fleet.settled(5 * 60_000);
          say(`  warm-up (not kept): ${describe(warm)}`);
          warmedUp = true;
        }
        const repetitions: Repetition[] = [];
        for (let r = 0; r < point.repetitions; r++) {
          const rep = await run((r + 0.5) / point.repetitions);
          repetitions.push(rep);
          say(`  ${label(point)} rep ${r + 1}/${point.repetitions}: ${describe(rep)}`);
          await fleet.settled(5 * 60_000);
        }
        const result = summarise(point, repetitions);
        results.push(result);
        const rid = result.rid[0];
        say(
          `${label(point)}: median ${formatSeconds(result.totalSeconds.median)} s, max ${formatSeconds(result.totalSeconds.max)} s` +
            (rid ? ` (RID${rid.extrapolated ? " chain, extrapolated" : ""}: ${rid.totalSeconds.toFixed(2)} s)` : ""),
        );
      } finally {
        await fleet.stop();
      }
    }

    const result: RidBenchResult = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model.trim() ?? "unknown", node: process.version },
      network: {
        name: network.name,
        description: network.description,
        mining: network.mining,
        blockTimeSeconds: network.blockTimeSeconds,
      },
      config: {
        "victim and shared-poller interval (ms)": opts.pollMs,
        "provider agents' own interval when not woken (ms)": opts.agentPollMs,
        "max gas per request transaction": opts.maxGas.toString(),
        "repetitions (chain, star, ≤ large-above)": opts.reps,
        "repetitions above large-above": opts.largeReps,
        "large-above": opts.largeAbove,
        "provider status reports on chain": opts.statusReports ? "on" : "off",
      },
      setup: { providers: providerCount, transactions: internet.transactions, seconds: setupSeconds },
      points: results,
      notes: notes(network.mining),
    };
    const base = path.join(RESULTS, `rid-${network.name}`);
    await writeResults(base, result, markdown(result), chart(result));
    console.log(markdown(result));
    say(`Written ${path.relative(process.cwd(), base)}.{json,md,svg}`);
  } finally {
    await network.stop();
  }
}

/**
 * Under interval mining, waits for the next block and then `phase` (0–1) of a block time: how long
 * a request waits for its block depends on when in the interval it is sent, so the repetitions of a
 * point start evenly spread over it rather than all just after a block.
 */
async function startAtPhase(network: BenchNetwork, phase: number): Promise<void> {
  if (network.mining === "automine") return;
  const head = await network.provider.getBlockNumber();
  while ((await network.provider.getBlockNumber()) === head) await sleep(10);
  await sleep(phase * network.blockTimeSeconds * 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function label(point: Point): string {
  return `${point.topology} n=${point.n}`;
}

function describe(rep: Repetition): string {
  const s = (ms: number) => formatSeconds(ms / 1000);
  return (
    `total ${s(rep.totalMs)} s (plan ${s(rep.planMs)}, request mined ${s(rep.requestMs)}, ` +
    `acks mined ${s(rep.acksMinedMs)}), CPU ${s(rep.cpuMs)} s, ${rep.blocks} blocks, ${rep.requestTransactions} request tx`
  );
}

function notes(mining: string): string[] {
  return [
    "RID's figures come from one PC per AS (Pentium 4 3.0 GHz) exchanging SOAP messages without encryption or authentication, with an assumed, fixed tracing time inside each AS (0.2 s, 0.4 s for the attacker's AS). Ours use no assumed delays: every step is real work on chain.",
    "On the ledger there are no hops: the victim buys from every AS it names in one transaction, so the chain and the star differ only in the attack report (one source in each AS on the path, against two attackers in each neighbour). The ASes are registered once, before the first point (7 for the chain, 6 for the star, the largest size for the rest); each point starts its own n provider agents and stops them after its repetitions.",
    "Here every agent shares one machine (and, in process, the chain itself): the victim, every provider agent and their signing run in one Node process. In deployment each provider runs on its own machine, so the large sizes here are an upper bound on the agents' share.",
    "Each provider agent reads the chain through one shared log poller (one head poll and one eth_getLogs per new block for all services) and is woken when its own service has news; it then verifies the request on chain (requester active and holding the target, sources in the ASes it covers), installs its rules (log back end), acknowledges from its own account and reports DOTS status 'in progress' on chain. Nothing is acknowledged for it.",
    "The victim holds a standing allowance for the directory (given once at set-up, as an operator would), so a purchase is one transaction, or several sent together when the orders exceed the gas limit per transaction.",
    "The first run of the process is a warm-up and is not kept. The median is an observed value (nearest rank).",
    ...(mining === "interval"
      ? [
          "Under interval mining the repetitions of a point start at evenly spread moments of the block interval (the wait for the next block depends on it); with few repetitions the median leans on those phases.",
        ]
      : []),
    ...(mining === "automine"
      ? [
          "Under automine each transaction is its own block: 'blocks' counts transactions mined (requests, acknowledgements and status reports), not waiting time.",
        ]
      : []),
  ];
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(`bench:rid failed: ${toOperatorError(error).message}`);
    process.exit(1);
  },
);

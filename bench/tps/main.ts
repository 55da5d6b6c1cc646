/**
 * `npm run bench:tps [-- --node anvil|hardhat-node|hardhat] [--rate 1500] [--duration 30] ...`
 *
 * Throughput of the mitigation market against a plain ERC-20 baseline on the same node in the
 * same run: starts the node (anvil by default, 1 s interval mining, 1e9 block gas limit), sets up
 * 200 victims and 20 providers, pre-signs everything on worker threads, then offers a sustained
 * mix of requests and acknowledgements, and as many ERC-20 transfers after it. Writes
 * bench/results/tps-<node>.{json,md,svg}.
 */
import path from "node:path";
import { parseArgs } from "node:util";

import { deriveAccounts } from "./accounts";
import { Follower, Sender } from "./chain";
import { processCpuSeconds, startNode, type NodeKind } from "./node";
import { runPhase } from "./phase";
import { chart, diagnose, machine, markdown, phaseFigures, targets, type BenchResult } from "./report";
import { call } from "../../src/rpc";
import { setUpMarket } from "./setup";
import { SignerPool } from "./signer";
import { planMitigation, planTransfers } from "./workload";
import { writeResults } from "../lib/results";

const RESULTS = path.join(__dirname, "..", "results");
const NODE_KINDS: readonly NodeKind[] = ["anvil", "hardhat-node", "hardhat"];

function options() {
  const { values } = parseArgs({
    options: {
      node: { type: "string", default: "anvil" },
      rate: { type: "string", default: "1500" },
      duration: { type: "string", default: "30" },
      warmup: { type: "string", default: "3" },
      victims: { type: "string", default: "200" },
      providers: { type: "string", default: "20" },
      "many-share": { type: "string", default: "0.1" },
      "ack-batch": { type: "string", default: "10" },
      "single-acks": { type: "string", default: "0.5" },
      "gas-limit": { type: "string", default: "1000000000" },
      port: { type: "string", default: "8555" },
      seed: { type: "string", default: "ddos-mitigation-market bench" },
      "batch-size": { type: "string", default: "500" },
      /** Appended to the results' file names, to keep a run beside the latest default one. */
      label: { type: "string", default: "" },
    },
  });
  const number = (name: keyof typeof values, min: number): number => {
    const text = values[name];
    const value = Number(text);
    if (!Number.isFinite(value) || value < min)
      throw new Error(`--${name} is "${text}": give a number of at least ${min}.`);
    return value;
  };
  const kind = values.node as NodeKind;
  if (!NODE_KINDS.includes(kind)) throw new Error(`--node is "${values.node}": use ${NODE_KINDS.join(", ")}.`);
  return {
    node: kind,
    rate: number("rate", 10),
    duration: number("duration", 1),
    warmup: number("warmup", 0),
    victims: number("victims", 1),
    providers: number("providers", 4),
    manyShare: number("many-share", 0),
    ackBatch: number("ack-batch", 1),
    singleAckShare: Math.min(1, number("single-acks", 0)),
    gasLimit: BigInt(number("gas-limit", 30_000_000)),
    port: number("port", 1),
    seed: values.seed,
    batchSize: number("batch-size", 1),
    label: values.label,
  };
}

async function main(): Promise<void> {
  const opts = options();
  console.log(`Starting ${opts.node} …`);
  const node = await startNode({ kind: opts.node, port: opts.port, blockTimeSeconds: 1, blockGasLimit: opts.gasLimit });
  let pool: SignerPool | undefined;
  let follower: Follower | undefined;
  try {
    console.log(`  ${node.description}`);
    const { rpc } = node;
    const accounts = deriveAccounts(opts.seed, opts.providers, opts.victims, opts.victims);
    for (const address of accounts.addresses) await node.setBalance(address, 10n ** 27n);
    const chainId = BigInt(await call<string>(rpc, "eth_chainId"));
    // A fixed price well above the base fee: nothing is estimated per transaction.
    const gasPrice = BigInt(await call<string>(rpc, "eth_gasPrice")) * 4n + 1_000_000_000n;
    pool = new SignerPool(accounts.keys, chainId, gasPrice);
    follower = new Follower(rpc);
    await follower.start();
    const sender = new Sender(rpc, follower, opts.batchSize);

    const setupStart = Date.now();
    console.log(`Setting up ${opts.victims} victims and ${opts.providers} providers …`);
    const market = await setUpMarket(accounts, pool, sender, follower, rpc);
    const setupSeconds = (Date.now() - setupStart) / 1000;

    const latest = await call<{ timestamp: string }>(rpc, "eth_getBlockByNumber", ["latest", false]);
    const ackDeadline = Number(latest.timestamp) + 6 * 3600;
    const slots = opts.warmup + opts.duration;
    console.log(`Pre-signing ${slots} s of traffic at ~${opts.rate} tx/s on ${pool.threads} worker threads …`);
    const signStart = Date.now();
    const plan = await planMitigation(
      accounts,
      market,
      pool,
      {
        rate: opts.rate,
        slots,
        manyShare: opts.manyShare,
        ackBatch: opts.ackBatch,
        singleAckShare: opts.singleAckShare,
        duration: 600,
      },
      ackDeadline,
    );
    const mitigationCount = plan.requests.flat().length + plan.acks.length;
    const transfers = await planTransfers(accounts, market, pool, mitigationCount, slots);
    const signSeconds = (Date.now() - signStart) / 1000;
    console.log(`  ${mitigationCount * 2} transactions signed in ${signSeconds.toFixed(1)} s (${plan.flows} flows).`);
    await pool.close();
    pool = undefined;

    const nodeCpu = () => processCpuSeconds(node.pid);
    console.log(`Mitigation: ${mitigationCount} transactions over ${slots} s …`);
    const mitigationRun = await runPhase("mitigation", plan.requests, follower, sender, nodeCpu, plan);
    console.log(`ERC-20 baseline: ${mitigationCount} transfers over ${slots} s …`);
    const erc20Run = await runPhase("erc20", transfers, follower, sender, nodeCpu);
    await follower.stop();
    follower = undefined;

    const warmupMs = opts.warmup * 1000;
    const mitigation = phaseFigures(mitigationRun, warmupMs, plan);
    const erc20 = phaseFigures(erc20Run, warmupMs);
    const ratio = erc20.tps > 0 ? mitigation.tps / erc20.tps : 0;
    const info = machine();
    const result: BenchResult = {
      date: new Date().toISOString(),
      machine: info,
      node: node.description,
      config: { ...opts, gasLimit: opts.gasLimit.toString(), gasPrice: gasPrice.toString(), blockTimeSeconds: 1 },
      setupSeconds,
      signing: { txs: mitigationCount * 2, seconds: signSeconds, threads: info.cores },
      mitigation,
      erc20,
      ratio,
      targets: targets(mitigation, ratio),
      diagnosis: [
        ...diagnose(mitigation, info.cores).map((line) => `mitigation: ${line}`),
        ...diagnose(erc20, info.cores).map((line) => `ERC-20: ${line}`),
      ],
    };
    const base = path.join(RESULTS, `tps-${opts.node}${opts.label === "" ? "" : `-${opts.label}`}`);
    await writeResults(base, result, markdown(result), chart(result));
    console.log(`\n${markdown(result)}`);
    console.log(`Written ${path.relative(process.cwd(), base)}.{json,md,svg}`);
  } finally {
    await follower?.stop().catch(() => undefined);
    await pool?.close();
    await node.stop();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);

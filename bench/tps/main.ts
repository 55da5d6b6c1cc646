/**
 * `npm run bench:tps [-- --mode direct|orders] [--node anvil|hardhat-node|hardhat] [--rate 1500] [--duration 30] [--ramp] ...`
 *
 * Throughput of the mitigation market against a plain ERC-20 baseline on the same node in the
 * same run: starts the node (anvil by default, 1 s interval mining, 1e9 block gas limit), sets up
 * 200 victims and 20 providers, pre-signs everything on worker threads, then offers a sustained
 * load and the baseline after it.
 *
 * - direct (default): a mix of requests and acknowledgements, and as many ERC-20 transfers at the
 *   same pace; with `--ramp`, the highest rate sustained at confirmation p99 ≤ 2 s and what
 *   happens at 1.5× it. Writes bench/results/tps-<node>[-ramp].{json,md,svg}.
 * - orders: signed orders POSTed to `--agents` provider agents' HTTP intakes and settled by them,
 *   and the ERC-20 baseline at its own highest sustainable rate. Writes
 *   bench/results/tps-<node>-orders.{json,md,svg}.
 */
import path from "node:path";
import { parseArgs } from "node:util";

import { deriveAccounts } from "./accounts";
import { Follower, Sender } from "./chain";
import { directRamp, directRun, writeDirectRamp, type BenchContext, type MixSettings } from "./direct";
import { startNode, type NodeKind } from "./node";
import { chart, markdown } from "./report";
import { freePort } from "../../src/net";
import { call } from "../../src/rpc";
import { setUpMarket } from "./setup";
import { SignerPool } from "./signer";
import { runOrders } from "./orders/run";
import { ordersChart, ordersMarkdown } from "./orders/report";
import { writeResults } from "../lib/results";

const RESULTS = path.join(__dirname, "..", "results");
const NODE_KINDS: readonly NodeKind[] = ["anvil", "hardhat-node", "hardhat"];
const MODES = ["direct", "orders"] as const;

function options() {
  const { values } = parseArgs({
    options: {
      mode: { type: "string", default: "direct" },
      node: { type: "string", default: "anvil" },
      rate: { type: "string" },
      duration: { type: "string", default: "30" },
      warmup: { type: "string", default: "3" },
      victims: { type: "string", default: "200" },
      providers: { type: "string", default: "20" },
      "many-share": { type: "string", default: "0.1" },
      "ack-batch": { type: "string", default: "10" },
      "single-acks": { type: "string", default: "0.5" },
      "gas-limit": { type: "string", default: "1000000000" },
      /** The node's port; a free one by default. */
      port: { type: "string" },
      seed: { type: "string", default: "ddos-mitigation-market bench" },
      "batch-size": { type: "string", default: "500" },
      /** Appended to the results' file names, to keep a run beside the latest default one. */
      label: { type: "string", default: "" },
      // The ramp (direct: the sustainable rate; orders: before the full run).
      ramp: { type: "boolean", default: false },
      "ramp-from": { type: "string" },
      "ramp-step": { type: "string" },
      "ramp-to": { type: "string", default: "10000" },
      "step-duration": { type: "string", default: "10" },
      // Orders.
      // Two: on two cores, two agents kept up where four did not (docs/benchmarks.md).
      agents: { type: "string", default: "2" },
      "order-batch": { type: "string", default: "1" },
      /** Keep-alive connections to each agent: about one per victim, as independent victims would hold. */
      connections: { type: "string", default: "200" },
      /** The agents' settlement passes and main loop, ms. */
      "settle-ms": { type: "string", default: "250" },
      "agent-poll-ms": { type: "string", default: "1000" },
      "order-signer": { type: "string", default: "native" },
      expiry: { type: "string", default: "30" },
      baseline: { type: "string", default: "ramp" },
      /** Leave the agents unprofiled (a V8 sampling profile over the full run's sending window). */
      "no-profile": { type: "boolean", default: false },
      "baseline-from": { type: "string", default: "1000" },
      "baseline-step": { type: "string", default: "250" },
    },
  });
  const number = (name: keyof typeof values, min: number, fallback?: number): number => {
    const text = values[name];
    if (text === undefined && fallback !== undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min)
      throw new Error(`--${name} is "${String(text)}": give a number of at least ${min}.`);
    return value;
  };
  const oneOf = <T extends string>(name: keyof typeof values, allowed: readonly T[]): T => {
    const value = values[name] as T;
    if (!allowed.includes(value)) throw new Error(`--${name} is "${String(values[name])}": use ${allowed.join(", ")}.`);
    return value;
  };
  const mode = oneOf("mode", MODES);
  const orders = mode === "orders";
  return {
    mode,
    node: oneOf("node", NODE_KINDS),
    rate: number("rate", 10, orders ? 2000 : 1500),
    duration: number("duration", 1),
    warmup: number("warmup", 0),
    victims: number("victims", 1),
    providers: number("providers", 4),
    manyShare: number("many-share", 0),
    ackBatch: number("ack-batch", 1),
    singleAckShare: Math.min(1, number("single-acks", 0)),
    gasLimit: BigInt(number("gas-limit", 30_000_000)),
    port: values.port === undefined ? undefined : number("port", 1),
    seed: values.seed,
    batchSize: number("batch-size", 1),
    label: values.label,
    ramp: values.ramp === true,
    rampFrom: number("ramp-from", 10, orders ? 1000 : 500),
    rampStep: number("ramp-step", 10, orders ? 500 : 250),
    rampTo: number("ramp-to", 10),
    stepDuration: number("step-duration", 1),
    agents: number("agents", 1),
    orderBatch: Math.min(1000, number("order-batch", 1)),
    connections: number("connections", 1),
    settleEveryMs: number("settle-ms", 10),
    agentPollMs: number("agent-poll-ms", 10),
    orderSigner: oneOf("order-signer", ["native", "ethers"] as const),
    expiry: number("expiry", 10),
    baseline: oneOf("baseline", ["ramp", "same"] as const),
    profile: values["no-profile"] !== true,
    baselineFrom: number("baseline-from", 10),
    baselineStep: number("baseline-step", 10),
  };
}

async function main(): Promise<void> {
  const opts = options();
  console.log(`Starting ${opts.node} …`);
  const port = opts.port ?? (await freePort());
  const node = await startNode({ kind: opts.node, port, blockTimeSeconds: 1, blockGasLimit: opts.gasLimit });
  // Interrupted: the node goes with the benchmark (the agents stop when their IPC channel closes).
  const onSignal = () => void node.stop().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
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
    const context: BenchContext = {
      node,
      accounts,
      market,
      pool,
      follower,
      sender,
      setupSeconds: (Date.now() - setupStart) / 1000,
      config: { ...opts, gasLimit: opts.gasLimit.toString(), gasPrice: gasPrice.toString(), blockTimeSeconds: 1 },
      warmup: opts.warmup,
    };
    const suffix = opts.label === "" ? "" : `-${opts.label}`;
    const ramp = { from: opts.rampFrom, step: opts.rampStep, to: opts.rampTo, stepSeconds: opts.stepDuration };

    if (opts.mode === "orders") {
      const result = await runOrders(context, {
        rate: opts.rate,
        duration: opts.duration,
        agents: opts.agents,
        batch: opts.orderBatch,
        connections: opts.connections,
        settleEveryMs: opts.settleEveryMs,
        agentPollMs: opts.agentPollMs,
        signer: opts.orderSigner,
        expirySeconds: opts.expiry,
        baseline: opts.baseline,
        baselineRamp: {
          from: opts.baselineFrom,
          step: opts.baselineStep,
          to: opts.rampTo,
          stepSeconds: opts.stepDuration,
        },
        ramp: opts.ramp ? ramp : undefined,
        profile: opts.profile,
      });
      const base = path.join(RESULTS, `tps-${opts.node}-orders${suffix}`);
      await writeResults(base, result, ordersMarkdown(result), ordersChart(result));
      console.log(`\n${ordersMarkdown(result)}`);
      console.log(`Written ${path.relative(process.cwd(), base)}.{json,md,svg}`);
      return;
    }
    const mix: MixSettings = {
      manyShare: opts.manyShare,
      ackBatch: opts.ackBatch,
      singleAckShare: opts.singleAckShare,
    };
    if (opts.ramp) {
      const result = await directRamp(context, mix, ramp, opts.duration);
      await writeDirectRamp(path.join(RESULTS, `tps-${opts.node}-ramp${suffix}`), result);
      return;
    }
    const result = await directRun(context, mix, opts.rate, opts.duration);
    const base = path.join(RESULTS, `tps-${opts.node}${suffix}`);
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

/**
 * `--mode orders`: victims' signed orders, pre-signed on worker threads, POSTed to several
 * provider agents' HTTP intakes (each agent its own process and service, found from the chain),
 * settled on chain by the agents; then the ERC-20 baseline on the same node, at its own highest
 * sustainable rate (a ramp, confirmed over the full duration) or at the orders' pace.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { call, HttpJsonRpc } from "../../../src/rpc";
import { readProfile, summarizeProfiles, type ProfileSummary } from "../../lib/cpuProfile";
import { grouped } from "../../lib/stats";
import { baselineRamp, transferPhase, type BenchContext } from "../direct";
import { processCpuSeconds } from "../node";
import { machine } from "../report";
import { rampUp, type RampOptions, type RampStep } from "../ramp";
import { AgentFleet } from "./agents";
import { IntakeClient } from "./client";
import { runOrdersPhase, type OrdersPhaseOptions } from "./phase";
import { AGENT_PROFILE_CATEGORIES, OWN_CODE } from "./profiler";
import {
  OrderSignerPool,
  planOrders,
  type OrderSigner,
  type OrderTarget,
  type PlannedOrder,
  type SigningRate,
} from "./plan";
import { diagnoseOrders, ordersFigures, ordersTargets, type OrdersBenchResult, type OrdersFigures } from "./report";

export interface OrdersSettings {
  rate: number;
  duration: number;
  agents: number;
  /** Orders per HTTP request (1: each order its own POST). */
  batch: number;
  /** Keep-alive connections per agent. */
  connections: number;
  /** The agents' settlement passes, and their main loop, ms. */
  settleEveryMs: number;
  agentPollMs: number;
  signer: OrderSigner;
  expirySeconds: number;
  /** The ERC-20 baseline: its own sustainable rate by a ramp, or the same count at the orders' pace. */
  baseline: "ramp" | "same";
  baselineRamp: RampOptions & { stepSeconds: number };
  /** Ramp the orders' rate before the full run. */
  ramp?: RampOptions & { stepSeconds: number };
  /** Profile the agents' CPU over the full run's sending window. */
  profile: boolean;
}

const INTAKE =
  "the provider agent (src/provider/run.ts runProviderProcess with its order intake: orderServer, orderIntake, orderSettlement), one process per provider, as `npx hardhat agent provider --orders-port` runs it";

export async function runOrders(context: BenchContext, settings: OrdersSettings): Promise<OrdersBenchResult> {
  const { accounts, market, node } = context;
  if (!(node.rpc instanceof HttpJsonRpc))
    throw new Error("--mode orders needs a node with an HTTP endpoint: use --node anvil or hardhat-node.");
  if (settings.agents > accounts.providers.length) {
    throw new Error(
      `--agents is ${settings.agents}, but there are only ${accounts.providers.length} providers (--providers).`,
    );
  }
  const chainId = BigInt(await call<string>(node.rpc, "eth_chainId"));
  const providers = Array.from({ length: settings.agents }, (_, p) => ({
    provider: p,
    service: market.services[p],
    key: accounts.keys[accounts.providers[p]],
  }));
  console.log(`Starting ${settings.agents} provider agents …`);
  let fleet: AgentFleet | undefined = await AgentFleet.start(
    node.rpc,
    {
      rpcUrl: node.rpc.url,
      chainId: chainId.toString(),
      registry: market.registry,
      token: market.token,
      directory: market.directory,
      settleEveryMs: settings.settleEveryMs,
      pollMs: settings.agentPollMs,
    },
    providers,
  );
  const signer = new OrderSignerPool(
    accounts.victims.map((v) => accounts.keys[v]),
    chainId,
  );
  const clients = fleet.agents.map((agent) => new IntakeClient(agent.url, settings.connections));
  try {
    for (const agent of fleet.agents) console.log(`  ${agent.service}: orders at ${agent.url} (published on chain)`);
    const targets: OrderTarget[] = fleet.agents.map((a) => ({ service: a.service, provider: a.provider }));
    const running = fleet;

    // Signing throughput of both signers on the same sample; the run is signed with the chosen one.
    const signing: SigningRate[] = [];
    const sample = planOrders(accounts, targets, {
      rate: 2000,
      slots: 1,
      duration: 600,
      expirySeconds: settings.expirySeconds,
      startAt: Math.floor(Date.now() / 1000),
    })[0].map((o) => o.toSign);
    for (const method of ["ethers", "native"] as const) signing.push((await signer.sign(sample, method)).rate);
    const chosen = signing.find((s) => s.method === settings.signer)!;

    const sign = async (rate: number, seconds: number): Promise<PlannedOrder[][]> => {
      const slots = context.warmup + seconds;
      const count = Math.round(rate) * slots;
      // The orders expire `expirySeconds` after their slot, counted from when sending should start.
      const startAt = Math.ceil(Date.now() / 1000 + (count / chosen.perSecond) * 1.2 + 2);
      const planned = planOrders(accounts, targets, {
        rate,
        slots,
        duration: 600,
        expirySeconds: settings.expirySeconds,
        startAt,
      });
      const { signed, rate: measured } = await signer.sign(
        planned.flat().map((o) => o.toSign),
        settings.signer,
      );
      signing.push(measured);
      console.log(
        `  signed ${grouped(count)} orders in ${measured.seconds.toFixed(1)} s (${grouped(Math.round(measured.perSecond))}/s on ${measured.threads} threads, ${settings.signer})`,
      );
      let i = 0;
      return planned.map((slot) => slot.map((o) => ({ ...signed[i++], agent: o.agent, slot: o.slot })));
    };
    const phase = (name: string, slots: PlannedOrder[][], profiler?: OrdersPhaseOptions["profiler"]) =>
      runOrdersPhase(name, slots, {
        profiler,
        clients,
        follower: context.follower,
        services: targets.map((t) => t.service),
        nodeCpu: () => processCpuSeconds(node.pid),
        agentCpu: () => running.cpuSeconds(),
        batchSize: settings.batch,
      });

    let ordersRamp: RampStep[] | undefined;
    if (settings.ramp !== undefined) {
      const ramp = settings.ramp;
      ordersRamp = (
        await rampUp(async (rate) => {
          const f = ordersFigures(
            await phase(`orders ramp ${rate}`, await sign(rate, ramp.stepSeconds)),
            context.warmup * 1000,
          );
          return orderStep(rate, f);
        }, ramp)
      ).steps;
    }
    console.log(
      `Orders: ${grouped(settings.rate)} orders/s for ${settings.duration} s (+${context.warmup} s warm-up) …`,
    );
    const slots = await sign(settings.rate, settings.duration);
    // BENCH_PROFILE_DIR keeps the agents' .cpuprofile files there (open them in Chrome's DevTools).
    const keptProfiles = process.env.BENCH_PROFILE_DIR;
    const profileDir = !settings.profile
      ? undefined
      : keptProfiles
        ? keptProfiles
        : await mkdtemp(path.join(os.tmpdir(), "bench-agents-"));
    let agentProfile: ProfileSummary | undefined;
    let orders: OrdersFigures;
    try {
      const profiler =
        profileDir === undefined
          ? undefined
          : {
              start: () => running.startProfiling(),
              stop: async () => {
                const files = await running.stopProfiling(profileDir);
                agentProfile = summarizeProfiles(files.map(readProfile), {
                  categories: AGENT_PROFILE_CATEGORIES,
                  own: OWN_CODE,
                  top: 15,
                });
              },
            };
      orders = ordersFigures(await phase("orders", slots, profiler), context.warmup * 1000);
    } finally {
      if (profileDir !== undefined && !keptProfiles) await rm(profileDir, { recursive: true, force: true });
    }
    ordersRamp?.push({ ...orderStep(settings.rate, orders), note: `full run, ${settings.duration} s` });
    await fleet.stop();
    fleet = undefined;

    let erc20Ramp: RampStep[] | undefined;
    let erc20;
    if (settings.baseline === "ramp") {
      const found = await baselineRamp(context, settings.baselineRamp, settings.duration);
      erc20 = found.figures;
      erc20Ramp = found.steps;
    } else {
      const slotsCount = context.warmup + settings.duration;
      erc20 = (await transferPhase(context, Math.round(settings.rate) * slotsCount, slotsCount)).figures;
    }
    const ratio = erc20.tps > 0 ? orders.flowsPerSecond / erc20.tps : 0;
    const info = machine();
    return {
      mode: "orders",
      date: new Date().toISOString(),
      machine: info,
      node: node.description,
      intake: INTAKE,
      config: { ...context.config, orders: { ...settings } },
      setupSeconds: context.setupSeconds,
      signing,
      orders,
      agentProfile,
      ordersRamp,
      erc20,
      erc20Ramp,
      ratio,
      targets: ordersTargets(orders, settings.duration, ratio),
      diagnosis: diagnoseOrders(orders, info.cores, signing, agentProfile),
    };
  } finally {
    for (const client of clients) client.close();
    await signer.close();
    await fleet?.stop();
  }
}

/** A ramp step from an orders phase. */
function orderStep(rate: number, f: OrdersFigures): RampStep {
  return {
    rate,
    offered: f.offeredPerSecond,
    sustainedPerSecond: f.flowsPerSecond,
    p99Seconds: f.latencySeconds.p99,
    longestBlockSeconds: f.blocks.intervalMaxSeconds,
    seconds: f.profile.sendWindowSeconds,
    load: f.profile.loadAverage[1],
    ok: f.sustained,
    why: f.sustained ? undefined : f.notSustainedBecause.join(" "),
  };
}

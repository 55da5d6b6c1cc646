/**
 * Runs one paced orders phase: each slot's pre-signed orders go out in ten chunks over its
 * second, POSTed to their agents' intakes; the follower reads every block's receipts and marks
 * each order settled (or skipped) from the services' `OrderSettled` / `OrderSkipped` logs, at the
 * moment it first saw that block. Then the phase drains: every answer in, every accepted order
 * settled, skipped or expired. Prints a line per block while it runs.
 */
import os from "node:os";

import { ProviderServiceContract__factory } from "../../../typechain-types";
import { sleep, type BlockRecord, type Follower } from "../chain";
import { machineCpuSeconds } from "../node";
import { sendPaced } from "../phase";
import type { IntakeClient } from "./client";
import type { PlannedOrder } from "./plan";

const SERVICE = ProviderServiceContract__factory.createInterface();
const ORDER_SETTLED = SERVICE.getEvent("OrderSettled").topicHash;
const ORDER_SKIPPED = SERVICE.getEvent("OrderSkipped").topicHash;

/** A settleOrders transaction seen on chain. */
export interface SettleTx {
  block: number;
  gasUsed: bigint;
  /** Orders it settled, and skipped. */
  settled: number;
  skipped: number;
}

export interface OrdersRun {
  name: string;
  orders: PlannedOrder[];
  sendStart: number;
  sendEnd: number;
  plannedSeconds: number;
  maxLagMs: number;
  blocks: BlockRecord[];
  settleTxs: SettleTx[];
  benchCpuSeconds: number;
  nodeCpuSeconds?: number;
  /** CPU seconds of each agent process during the sending window. */
  agentCpuSeconds: (number | undefined)[];
  machineCpuSeconds?: number;
  load: [number, number];
  /** Orders per HTTP request. */
  batchSize: number;
}

export interface OrdersPhaseOptions {
  clients: IntakeClient[];
  follower: Follower;
  /** The agents' services: only their logs count. */
  services: readonly string[];
  nodeCpu: () => number | undefined;
  agentCpu: () => (number | undefined)[];
  batchSize: number;
  drainTimeoutMs?: number;
  /** Profiles the agents over the sending window, when given. */
  profiler?: { start(): Promise<void>; stop(): Promise<void> };
}

function difference(after: (number | undefined)[], before: (number | undefined)[]): (number | undefined)[] {
  return after.map((a, i) => (a === undefined || before[i] === undefined ? undefined : a - before[i]));
}

export async function runOrdersPhase(
  name: string,
  slots: PlannedOrder[][],
  options: OrdersPhaseOptions,
): Promise<OrdersRun> {
  const { clients, follower, batchSize } = options;
  const orders = slots.flat();
  const byHash = new Map(orders.map((o) => [o.hash, o]));
  const services = new Set(options.services.map((s) => s.toLowerCase()));
  const blocks: BlockRecord[] = [];
  const settleTxs: SettleTx[] = [];
  let settled = 0;
  let accepted = 0;
  let sent = 0;
  const unsubscribe = follower.onReceipts((block, receipts) => {
    blocks.push(block);
    let ours = 0;
    for (const receipt of receipts) {
      const tx: SettleTx = { block: block.number, gasUsed: BigInt(receipt.gasUsed), settled: 0, skipped: 0 };
      for (const log of receipt.logs) {
        if (!services.has(log.address.toLowerCase())) continue;
        const topic = log.topics[0];
        if (topic === ORDER_SETTLED) {
          const order = byHash.get("0x" + log.data.slice(2, 66));
          tx.settled++;
          if (order === undefined) continue;
          order.settledBlock = block.number;
          order.settledAt = block.observedAt;
          order.settledTimestamp = block.timestamp;
        } else if (topic === ORDER_SKIPPED) {
          tx.skipped++;
          const order = byHash.get(log.topics[1]);
          if (order !== undefined) order.skipReason = Number(BigInt(log.data));
        }
      }
      if (tx.settled + tx.skipped > 0) settleTxs.push(tx);
      ours += tx.settled;
    }
    settled += ours;
    const lagS = (block.observedAt - block.timestamp * 1000) / 1000;
    console.log(
      `  ${name} block ${block.number}: ${ours} orders settled in ${block.txCount} transactions` +
        ` | settled ${settled}, accepted ${accepted}, sent ${sent} of ${orders.length}` +
        ` | seen ${lagS.toFixed(2)} s after its timestamp`,
    );
  });

  const answering: Promise<void>[] = [];
  const send = (client: IntakeClient, group: PlannedOrder[]) => {
    const sentAt = Date.now();
    for (const order of group) order.sentAt = sentAt;
    sent += group.length;
    const body = batchSize === 1 ? group[0].body : `{"orders":[${group.map((o) => o.body).join(",")}]}`;
    answering.push(
      client.post(body).then(({ status, body: answer }) => {
        const answeredAt = Date.now();
        const results =
          batchSize === 1
            ? [{ status, ...(answer as object) }]
            : ((answer as { results?: { status: number; error?: string }[] }).results ?? []);
        group.forEach((order, i) => {
          const result = results[i] ?? { status, error: JSON.stringify(answer) };
          order.answeredAt = answeredAt;
          order.status = result.status;
          if (result.status === 202) accepted++;
          else order.error = result.error;
        });
      }),
    );
  };

  await options.profiler?.start();
  const cpu0 = process.cpuUsage();
  const node0 = options.nodeCpu();
  const agents0 = options.agentCpu();
  const machine0 = machineCpuSeconds();
  const load0 = os.loadavg()[0];
  const sendStart = Date.now() + 50;
  const maxLagMs = await sendPaced(slots, sendStart, (chunk) => {
    follower.check();
    const byAgent = new Map<number, PlannedOrder[]>();
    for (const order of chunk) byAgent.set(order.agent, [...(byAgent.get(order.agent) ?? []), order]);
    for (const [agent, group] of byAgent) {
      for (let start = 0; start < group.length; start += batchSize) {
        send(clients[agent], group.slice(start, start + batchSize));
      }
    }
  });
  const sendEnd = Date.now();
  const cpu = process.cpuUsage(cpu0);
  const node1 = options.nodeCpu();
  const agents1 = options.agentCpu();
  const machine1 = machineCpuSeconds();
  const load1 = os.loadavg()[0];
  await options.profiler?.stop();

  // Drain: every answer in, then every accepted order settled, skipped, or past its expiry.
  // An intake that never answers a request must not hold the benchmark: unanswered orders are counted.
  const deadline = Date.now() + (options.drainTimeoutMs ?? 45_000);
  await Promise.race([Promise.all(answering), sleep(deadline - Date.now())]);
  const open = () =>
    orders.filter((o) => o.status === 202 && o.settledBlock === undefined && o.skipReason === undefined).length;
  while (open() > 0 && Date.now() < deadline) {
    follower.check();
    await sleep(100);
  }
  if (open() > 0) console.log(`  ${name}: ${open()} accepted orders were neither settled nor skipped.`);
  unsubscribe();
  return {
    name,
    orders,
    sendStart,
    sendEnd,
    plannedSeconds: slots.length,
    maxLagMs,
    blocks,
    settleTxs,
    benchCpuSeconds: (cpu.user + cpu.system) / 1e6,
    nodeCpuSeconds: node0 === undefined || node1 === undefined ? undefined : node1 - node0,
    agentCpuSeconds: difference(agents1, agents0),
    machineCpuSeconds: machine0 === undefined || machine1 === undefined ? undefined : machine1 - machine0,
    load: [load0, load1],
    batchSize,
  };
}

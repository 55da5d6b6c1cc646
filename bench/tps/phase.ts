/**
 * Runs one paced phase: each slot's transactions go out in ten chunks over its second, together
 * with the acknowledgements whose requests were mined meanwhile; then the phase drains. Prints a
 * line per block while it runs.
 */
import os from "node:os";

import { machineCpuSeconds } from "./node";
import { sleep, type BlockRecord, type Follower, type Sender, type TrackedTx } from "./chain";
import type { MitigationPlan } from "./workload";

export interface PhaseRun {
  name: string;
  txs: TrackedTx[];
  sendStart: number;
  sendEnd: number;
  /** Seconds the schedule meant sending to take (one per slot). */
  plannedSeconds: number;
  /** How far behind its schedule the sender fell, at worst (ms). */
  maxLagMs: number;
  blocks: BlockRecord[];
  /** CPU seconds used by this process during the sending window. */
  benchCpuSeconds: number;
  nodeCpuSeconds?: number;
  /** CPU seconds used by the whole machine (all processes) during the sending window. */
  machineCpuSeconds?: number;
  /** Load average (1 min) when sending started and when it ended. */
  load: [number, number];
  senderBusyMs: number;
  followerFetchMs: number;
}

export const CHUNKS_PER_SLOT = 10;

/**
 * Sends each slot's items in CHUNKS_PER_SLOT chunks over its second: chunk c of slot s is due at
 * `sendStart + s seconds + c tenths`. Resolves with how late the worst chunk went out (ms).
 */
export async function sendPaced<T>(
  slots: readonly (readonly T[])[],
  sendStart: number,
  send: (chunk: T[]) => void | Promise<void>,
): Promise<number> {
  let maxLagMs = 0;
  for (let slot = 0; slot < slots.length; slot++) {
    const items = slots[slot];
    const per = Math.ceil(items.length / CHUNKS_PER_SLOT);
    for (let c = 0; c < CHUNKS_PER_SLOT; c++) {
      const wait = sendStart + slot * 1000 + (c * 1000) / CHUNKS_PER_SLOT - Date.now();
      if (wait > 0) await sleep(wait);
      else maxLagMs = Math.max(maxLagMs, -wait);
      await send(items.slice(c * per, (c + 1) * per));
    }
  }
  return maxLagMs;
}

export async function runPhase(
  name: string,
  slots: TrackedTx[][],
  follower: Follower,
  sender: Sender,
  nodeCpu: () => number | undefined,
  plan?: MitigationPlan,
  drainTimeoutMs = 30_000,
): Promise<PhaseRun> {
  const released: TrackedTx[] = [];
  const acks = plan?.acks.map((a) => a.tx) ?? [];
  const txs = [...slots.flat(), ...acks];
  follower.track(txs);
  let sentAcks = 0;
  const total = txs.length;
  let included = 0;
  const blocks: BlockRecord[] = [];
  const unsubscribe = follower.onBlock((block, mined) => {
    blocks.push(block);
    included += mined.length;
    for (const tx of mined) {
      for (const pending of plan?.acksByRequest.get(tx) ?? []) {
        if (--pending.waiting === 0) released.push(pending.tx);
      }
    }
    const lagS = (block.observedAt - block.timestamp * 1000) / 1000;
    console.log(
      `  ${name} block ${block.number}: ${mined.length} of ours of ${block.txCount}` +
        ` | included ${included}/${total}, sent ${sender.sent}, receipts to block ${follower.receiptsHead}` +
        (plan === undefined ? "" : `, acks waiting ${acks.length - sentAcks - released.length}`) +
        ` | seen ${lagS.toFixed(2)} s after its timestamp`,
    );
  });

  const cpu0 = process.cpuUsage();
  const node0 = nodeCpu();
  const machine0 = machineCpuSeconds();
  const load0 = os.loadavg()[0];
  const busy0 = sender.busyMs;
  const fetch0 = follower.fetchMs + follower.receiptsMs;
  const sendStart = Date.now() + 50;
  const takeReleased = () => {
    const out = released.splice(0);
    sentAcks += out.length;
    return out;
  };
  const maxLagMs = await sendPaced(slots, sendStart, async (chunk) => {
    follower.check();
    await sender.send([...takeReleased(), ...chunk]);
  });
  const sendEnd = Date.now();
  const cpu = process.cpuUsage(cpu0);
  const node1 = nodeCpu();
  const machine1 = machineCpuSeconds();
  const load1 = os.loadavg()[0];
  const senderBusyMs = sender.busyMs - busy0;
  const followerFetchMs = follower.fetchMs + follower.receiptsMs - fetch0;

  // Drain: acknowledgements of the last requests, then wait for everything to be mined.
  const drainDeadline = Date.now() + drainTimeoutMs;
  while (sentAcks < acks.length && Date.now() < drainDeadline) {
    follower.check();
    await sender.send(takeReleased());
    await sleep(50);
  }
  if (sentAcks < acks.length) {
    // Requests that never made it leave their acknowledgements waiting; send them to fail visibly.
    const stuck = plan!.acks.filter((a) => a.waiting > 0).map((a) => a.tx);
    sentAcks += stuck.length;
    await sender.send(stuck);
  }
  try {
    await follower.settled(txs, Math.max(5_000, drainDeadline - Date.now()));
  } catch (error) {
    console.log(`  ${name}: ${(error as Error).message}`);
  }
  unsubscribe();
  return {
    name,
    txs,
    sendStart,
    sendEnd,
    plannedSeconds: slots.length,
    maxLagMs,
    blocks,
    benchCpuSeconds: (cpu.user + cpu.system) / 1e6,
    nodeCpuSeconds: node0 === undefined || node1 === undefined ? undefined : node1 - node0,
    machineCpuSeconds: machine0 === undefined || machine1 === undefined ? undefined : machine1 - machine0,
    load: [load0, load1],
    senderBusyMs,
    followerFetchMs,
  };
}

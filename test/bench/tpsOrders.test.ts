/**
 * The pure parts of `bench:tps --mode orders` and of the direct mode's ramp: the ramp's stepping
 * and confirmation, the orders' figures from a phase, and the CPU profile summary.
 */
import { expect } from "chai";

import { NOT_OURS, summarizeProfiles, type CpuProfile } from "../../bench/lib/cpuProfile";
import { confirm, rampUp, type RampStep } from "../../bench/tps/ramp";
import { ordersFigures } from "../../bench/tps/orders/report";
import type { OrdersRun } from "../../bench/tps/orders/phase";
import type { PlannedOrder } from "../../bench/tps/orders/plan";
import type { BlockRecord } from "../../bench/tps/chain";

function step(rate: number, ok: boolean): RampStep {
  return {
    rate,
    offered: rate,
    sustainedPerSecond: ok ? rate : rate / 2,
    p99Seconds: ok ? 1 : 5,
    longestBlockSeconds: 1,
    seconds: 10,
    load: 1,
    ok,
  };
}

describe("bench:tps ramp", () => {
  it("steps up until a step does not keep up and reports the last one that did", async () => {
    const asked: number[] = [];
    const { steps, best } = await rampUp(
      (rate) => {
        asked.push(rate);
        return Promise.resolve(step(rate, rate <= 1500));
      },
      { from: 500, step: 500, to: 10_000 },
    );
    expect(asked).to.deep.equal([500, 1000, 1500, 2000]);
    expect(steps.map((s) => s.ok)).to.deep.equal([true, true, true, false]);
    expect(best).to.equal(1500);
  });

  it("has no best rate when the first step already falls behind", async () => {
    const { best } = await rampUp((rate) => Promise.resolve(step(rate, false)), { from: 500, step: 500, to: 10_000 });
    expect(best).to.equal(undefined);
  });

  it("confirms one step lower at a time, at most the given number of runs", async () => {
    const runs: number[] = [];
    const outcome = await confirm(
      (rate) => {
        runs.push(rate);
        return Promise.resolve({ result: rate, step: step(rate, rate <= 1000) });
      },
      1500,
      250,
      3,
    );
    expect(runs).to.deep.equal([1500, 1250, 1000]);
    expect(outcome.result).to.equal(1000);
    const stubborn: number[] = [];
    await confirm(
      (rate) => {
        stubborn.push(rate);
        return Promise.resolve({ result: rate, step: step(rate, false) });
      },
      1500,
      250,
      2,
    );
    expect(stubborn).to.deep.equal([1500, 1250]);
  });
});

/** A phase of `perSecond` orders a second for `seconds`, 1 s blocks, each order settled `delayMs` after it was sent. */
function phase(perSecond: number, seconds: number, delayMs: number, refuseEvery = 0): OrdersRun {
  const t0 = 1_000_000;
  const blocks: BlockRecord[] = [];
  for (let b = 0; b <= seconds + 5; b++) {
    blocks.push({
      number: 100 + b,
      timestamp: t0 / 1000 + b,
      observedAt: t0 + b * 1000 + 100,
      txCount: 1,
      ok: 1,
      failed: 0,
      gasUsed: 1_000_000n,
    });
  }
  const orders: PlannedOrder[] = [];
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < perSecond; i++) {
      const sentAt = t0 + s * 1000 + Math.floor((i * 1000) / perSecond);
      const refused = refuseEvery > 0 && orders.length % refuseEvery === 0;
      const order: PlannedOrder = {
        hash: `0x${orders.length}`,
        body: "{}",
        agent: 0,
        slot: s,
        sentAt,
        answeredAt: sentAt + 5,
      };
      order.status = refused ? 503 : 202;
      if (refused) order.error = "overloaded";
      else {
        // Settled in the first block seen at least delayMs after sending.
        const block = blocks.find((b) => b.observedAt >= sentAt + delayMs)!;
        order.settledBlock = block.number;
        order.settledAt = block.observedAt;
        order.settledTimestamp = block.timestamp;
      }
      orders.push(order);
    }
  }
  return {
    name: "test",
    orders,
    sendStart: t0,
    sendEnd: t0 + seconds * 1000,
    plannedSeconds: seconds,
    maxLagMs: 0,
    blocks,
    settleTxs: blocks.map((b) => ({ block: b.number, gasUsed: 5_500_000n, settled: 100, skipped: 0 })),
    benchCpuSeconds: 1,
    nodeCpuSeconds: 2,
    agentCpuSeconds: [3, 1],
    machineCpuSeconds: 8,
    load: [1, 2],
    batchSize: 1,
  };
}

describe("bench:tps --mode orders figures", () => {
  it("counts settled flows per second in the window and latency in seconds", () => {
    const f = ordersFigures(phase(200, 20, 600), 3000);
    expect(f.offeredPerSecond).to.equal(200);
    expect(f.accepted).to.equal(4000);
    expect(f.unsettled).to.equal(0);
    expect(f.flowsPerSecond).to.be.within(190, 210);
    // Sent within the second before a block seen 100 ms after it: settled 0.6 to 1.6 s later.
    expect(f.latencySeconds.p50).to.be.within(0.6, 1.6);
    expect(f.latencySeconds.p99).to.be.within(1.5, 1.61);
    expect(f.sustained).to.equal(true);
    expect(f.gas.perOrder).to.equal(55_000);
    expect(f.profile.agentCpuCores).to.equal(0.2);
  });

  it("says why a rate was not sustained: late settlement and refusals", () => {
    const f = ordersFigures(phase(200, 20, 3500, 10), 3000);
    expect(f.sustained).to.equal(false);
    expect(f.refused["503"].count).to.equal(400);
    expect(f.acceptanceRate).to.equal(0.9);
    expect(f.notSustainedBecause.join(" "))
      .to.match(/p99 is 4\.\d+ s, over 3 s/)
      .and.match(/accepted 90\.0 %/);
  });

  it("counts a request the intake never answered instead of waiting for it", () => {
    const run = phase(200, 20, 600);
    run.orders[5].status = undefined;
    const f = ordersFigures(run, 3000);
    expect(f.sustained).to.equal(false);
    expect(f.notSustainedBecause.join(" ")).to.match(/1 orders sent got no answer/);
  });
});

describe("CPU profile summary", () => {
  it("sums self time by category, leaves idle out of the shares, and charges library time to our calling function", () => {
    const frame = (id: number, functionName: string, url: string, children?: number[]) => ({
      id,
      callFrame: { functionName, url, lineNumber: 9 },
      children,
    });
    const profile: CpuProfile = {
      nodes: [
        frame(1, "(root)", "", [2, 3, 4, 5, 8]),
        frame(2, "(idle)", ""),
        frame(3, "parse", ""),
        frame(4, "recover", "file:///w/src/clients/orders.ts"),
        frame(5, "(garbage collector)", ""),
        frame(6, "emit", "node:events"),
        frame(7, "parse", "file:///w/src/prefix.ts"),
        frame(8, "handle", "file:///w/src/provider/orderServer.ts", [6, 7]),
      ],
      // Each sample lasts until the next one: 1 ms each; the last sample's length is unknown.
      samples: [2, 2, 3, 4, 4, 4, 5, 6, 7, 2],
      timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
    };
    const summary = summarizeProfiles([profile, profile], {
      categories: [
        // Matched by name only with an empty URL: a function named "parse" in a file is not JSON's.
        { name: "JSON", url: /^$/, functionName: /^parse$/ },
        { name: "orders", url: /src\/clients\/orders/ },
        { name: "GC", functionName: /^\(garbage collector\)$/ },
      ],
      own: /\/src\//,
    });
    expect(summary.sampledMs).to.equal(18);
    expect(summary.busyMs).to.equal(14);
    expect(summary.categories).to.deep.equal([
      { name: "orders", ms: 6, share: 6 / 14 },
      { name: "other JavaScript", ms: 4, share: 4 / 14 },
      { name: "JSON", ms: 2, share: 2 / 14 },
      { name: "GC", ms: 2, share: 2 / 14 },
    ]);
    expect(summary.functions[0]).to.deep.equal({
      name: "recover",
      where: "src/clients/orders.ts:10",
      ms: 6,
      share: 6 / 14,
    });
    // emit (Node's) ran for handle (ours); JSON.parse and GC had no frame of ours above them.
    expect(summary.ownFunctions.map((f) => [f.name, f.ms])).to.deep.equal([
      ["recover", 6],
      [NOT_OURS, 4],
      ["handle", 2],
      ["parse", 2],
    ]);
  });
});

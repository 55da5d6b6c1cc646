/**
 * The benchmark reports give latency in seconds (blocks at most as a second figure), and read the
 * result files written when it was in milliseconds.
 */
import { expect } from "chai";

import { formatSeconds, type Distribution } from "../../bench/lib/stats";
import { markdown as ridMarkdown, readResult as readRid, summarise } from "../../bench/rid/report";
import type { Repetition } from "../../bench/rid/measure";
import {
  markdown as tpsMarkdown,
  readResult as readTps,
  targets,
  type BenchResult,
  type PhaseFigures,
} from "../../bench/tps/report";

const dist = (p50: number, p95: number, p99: number): Distribution => ({
  count: 100,
  p50,
  p95,
  p99,
  mean: p50,
  max: p99,
});

/** A phase whose blocks stretched: p99 = 2 blocks but 12 s. */
function phase(name: string, flows: boolean): PhaseFigures {
  return {
    name,
    sent: 1000,
    ok: 1000,
    reverted: 0,
    refused: 0,
    notMined: 0,
    revertedByKind: {},
    successRate: 1,
    window: { firstBlock: 1, lastBlock: 10, seconds: 25, ok: 1000 },
    tps: 40,
    flowsPerSecond: flows ? 20 : undefined,
    flowsCompleted: flows ? 500 : undefined,
    latencySeconds: dist(0.832, 7.811, 11.983),
    latencyBlocks: dist(1, 2, 2),
    flowLatencySeconds: flows ? dist(3.962, 12.759, 13.002) : undefined,
    gas: {},
    profile: {
      offeredPerSecond: 40,
      sendWindowSeconds: 25,
      maxSenderLagMs: 23_568,
      senderBusyShare: 0.5,
      followerBusyShare: 0.5,
      benchCpuCores: 0.1,
      loadAverage: [1, 1],
      meanTxsPerBlock: 100,
      meanGasPerBlock: 1e7,
    },
    perBlock: [{ number: 1, t: 1, ok: 100, failed: 0, p50Seconds: 0.573, p99Seconds: 1.071 }],
  };
}

function tpsResult(): BenchResult {
  const mitigation = phase("mitigation", true);
  return {
    date: "2026-01-01T00:00:00.000Z",
    machine: { cpu: "test", cores: 2, memoryGiB: 1, os: "test", node: "v20" },
    node: "anvil",
    config: {},
    setupSeconds: 1,
    signing: { txs: 2000, seconds: 1, threads: 2 },
    mitigation,
    erc20: phase("erc20", false),
    ratio: 1,
    targets: targets(mitigation, 1),
    diagnosis: [],
  };
}

/** What a result file looked like before: latency in milliseconds under `…Ms` names. */
function legacyJson(result: BenchResult): string {
  const ms = (d: Distribution) => ({ ...d, p50: d.p50 * 1000, p95: d.p95 * 1000, p99: d.p99 * 1000 });
  const old = (p: PhaseFigures) => {
    const { latencySeconds, flowLatencySeconds, perBlock, ...rest } = p;
    return {
      ...rest,
      latencyMs: { ...ms(latencySeconds), mean: latencySeconds.mean * 1000, max: latencySeconds.max * 1000 },
      ...(flowLatencySeconds === undefined ? {} : { flowLatencyMs: ms(flowLatencySeconds) }),
      perBlock: perBlock.map(({ p50Seconds, p99Seconds, ...b }) => ({
        ...b,
        p50Ms: p50Seconds * 1000,
        p99Ms: p99Seconds === 1.071 ? null : p99Seconds * 1000,
      })),
    };
  };
  return JSON.stringify({ ...result, mitigation: old(result.mitigation), erc20: old(result.erc20) });
}

describe("benchmark reports", function () {
  describe("formatSeconds", function () {
    it("gives about three significant figures, and a dash for no figure", function () {
      expect([0.0213, 0.832, 7.811, 11.983, 203.4, Number.NaN].map(formatSeconds)).to.deep.equal([
        "0.021",
        "0.832",
        "7.81",
        "12.0",
        "203",
        "—",
      ]);
    });
  });

  describe("bench:tps", function () {
    it("reports confirmation latency in seconds with blocks beside, and judges the p99 target in seconds", function () {
      const text = tpsMarkdown(tpsResult());
      expect(text).to.contain("| confirmation latency p99 | 12.0 s (2 blocks) | 12.0 s (2 blocks) |");
      expect(text).to.contain("| confirmation latency p50 (sent → mined) | 0.832 s (1 block) |");
      expect(text).to.contain("| flow latency p50 / p99 (request sent → ack mined) | 3.96 / 13.0 s | — |");
      expect(text).to.contain("| confirmation p99 ≤ 2 s | **no** |");
      expect(text).not.to.match(/\d ms\b/);
    });

    it("reads a result file with latency in milliseconds", function () {
      const result = readTps(legacyJson(tpsResult()));
      const m = result.mitigation;
      expect(m.latencySeconds.p99).to.be.closeTo(11.983, 1e-9);
      expect(m.latencySeconds.count).to.equal(100);
      expect(m.flowLatencySeconds!.p50).to.be.closeTo(3.962, 1e-9);
      expect(result.erc20.flowLatencySeconds).to.equal(undefined);
      expect(m.perBlock[0].p50Seconds).to.be.closeTo(0.573, 1e-9);
      expect(m.perBlock[0].p99Seconds, "no figure (null in JSON) stays none").to.equal(null);
      expect(Object.keys(m)).not.to.include.members(["latencyMs", "flowLatencyMs"]);
      expect(tpsMarkdown(result)).to.contain("| confirmation latency p99 | 12.0 s (2 blocks) |");
    });
  });

  describe("bench:rid", function () {
    const rep = (totalMs: number): Repetition => ({
      totalMs,
      planMs: 18,
      requestMs: 557,
      acksMinedMs: totalMs - 10,
      cpuMs: 149,
      nodeCpuMs: null,
      blocks: 2,
      requestTransactions: 1,
      acknowledged: 1,
    });
    const result = {
      date: "2026-01-01T00:00:00.000Z",
      machine: { cpus: 2, model: "test", node: "v20" },
      network: { name: "anvil", description: "anvil", mining: "interval", blockTimeSeconds: 1 },
      config: {},
      setup: { providers: 1, transactions: 1, seconds: 1 },
      points: [summarise({ topology: "chain", n: 1, repetitions: 2 }, [rep(1521), rep(1884)])],
      notes: [],
    };

    it("reports times in seconds, blocks as a count", function () {
      expect(ridMarkdown(result)).to.contain(
        "| 1 | 0.400 | 0.053916 | 1.52 / 1.88 | 0.3× | 0.018 / 0.018 | 0.557 / 0.557 | 1.51 / 1.87 | 0.149 / 0.149 | 2 / 2 | 2 |",
      );
    });

    it("reads a result file with the figures in milliseconds", function () {
      const [point] = result.points;
      const { totalSeconds, planSeconds, requestSeconds, acksMinedSeconds, cpuSeconds, nodeCpuSeconds, ...rest } =
        point;
      const ms = (s: { median: number; max: number }) => ({ median: s.median * 1000, max: s.max * 1000 });
      const legacy = {
        ...rest,
        total: ms(totalSeconds),
        plan: ms(planSeconds),
        request: ms(requestSeconds),
        acksMined: ms(acksMinedSeconds),
        cpu: ms(cpuSeconds),
        nodeCpu: nodeCpuSeconds,
      };
      const read = readRid(JSON.stringify({ ...result, points: [legacy] }));
      expect(read.points[0].totalSeconds.median).to.be.closeTo(1.521, 1e-9);
      expect(read.points[0].blocks).to.deep.equal({ median: 2, max: 2 });
      expect(read.points[0].nodeCpuSeconds).to.equal(null);
      expect(ridMarkdown(read)).to.equal(ridMarkdown(result));
    });
  });
});

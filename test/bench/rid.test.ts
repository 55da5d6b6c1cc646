/**
 * The pure parts of `npm run bench:rid`: the RID report's figures and their extrapolation, the
 * experiments' topology (points, AS pools, attack reports) and the per-point summary.
 */
import { expect } from "chai";

import { RID_CHAIN, RID_STAR, atN, extrapolateRid, fitLine, ridFigure } from "../../bench/rid/rid";
import { spread, summarise } from "../../bench/rid/report";
import type { Repetition } from "../../bench/rid/measure";
import {
  MAX_PROVIDERS,
  VICTIM_ASN,
  VICTIM_PREFIX,
  VICTIM_TARGET,
  attackReport,
  points,
  pools,
  providerAsn,
  providerPrefix,
  providersOf,
  type Point,
} from "../../bench/rid/topology";
import { parseAsn } from "../../src/asn";
import { contains, formatPrefix, parsePrefix } from "../../src/prefix";

const DEFAULTS = { repetitions: 5, fewRepetitions: 2, fewAbove: 100, sizes: [1000, 100] };

describe("bench:rid", function () {
  describe("the RID report's figures", function () {
    it("has the chain for 1 to 7 ASes and the star for 1 to 6 neighbours, as published", function () {
      expect(RID_CHAIN.map((f) => f.n)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
      expect(RID_STAR.map((f) => f.n)).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(ridFigure("chain", 7)).to.deep.equal({ n: 7, totalSeconds: 1.6, processingSeconds: 0.466741 });
      expect(ridFigure("star", 6)).to.deep.equal({ n: 6, totalSeconds: 0.6, processingSeconds: 0.237459 });
      expect(ridFigure("star", 7)).to.equal(undefined);
      // The chain's total is one assumed tracing time per hop: 0.2 s + 0.2 s per AS.
      for (const f of RID_CHAIN) expect(f.totalSeconds).to.be.closeTo(0.2 + 0.2 * f.n, 1e-12);
      for (const f of RID_STAR) expect(f.totalSeconds).to.equal(0.6);
    });
  });

  describe("fitLine", function () {
    it("recovers a line exactly and refuses too few or degenerate points", function () {
      const fit = fitLine([
        [1, 5],
        [2, 7],
        [4, 11],
      ]);
      expect(fit.slope).to.be.closeTo(2, 1e-12);
      expect(fit.intercept).to.be.closeTo(3, 1e-12);
      expect(atN(fit, 10)).to.be.closeTo(23, 1e-9);
      expect(() => fitLine([[1, 1]])).to.throw("at least two points");
      expect(() =>
        fitLine([
          [2, 1],
          [2, 3],
        ]),
      ).to.throw("two different x");
    });
  });

  describe("extrapolateRid", function () {
    it("extends the chain linearly: 20.2 s for 100 ASes, 200.2 s for 1,000", function () {
      expect(extrapolateRid("chain", 100).totalSeconds).to.be.closeTo(20.2, 1e-9);
      expect(extrapolateRid("chain", 1000).totalSeconds).to.be.closeTo(200.2, 1e-9);
      // Least squares through the 7 processing times: about 70.5 ms more per AS.
      const processing =
        extrapolateRid("chain", 1001).processingSeconds - extrapolateRid("chain", 1000).processingSeconds;
      expect(processing).to.be.closeTo(0.070541, 1e-6);
      expect(extrapolateRid("chain", 7).method).to.match(/linear fit of the chain's 7 points/);
    });

    it("keeps the star's flat total until the victim's growing processing exceeds it", function () {
      expect(extrapolateRid("star", 3).totalSeconds).to.equal(0.6);
      const star = extrapolateRid("star", 1000);
      // 0.0886 s + 0.0256 s per neighbour: about 25.7 s for 1,000.
      expect(star.processingSeconds).to.be.closeTo(0.088575 + 0.025574 * 1000, 0.01);
      expect(star.totalSeconds).to.equal(star.processingSeconds);
    });
  });

  describe("points", function () {
    it("runs RID's chain and star sizes, then the large sizes in order with fewer repetitions above the bound", function () {
      const list = points(DEFAULTS);
      expect(list.filter((p) => p.topology === "chain").map((p) => p.n)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
      expect(list.filter((p) => p.topology === "star").map((p) => p.n)).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(list.filter((p) => p.topology === "scale")).to.deep.equal([
        { topology: "scale", n: 100, repetitions: 5 },
        { topology: "scale", n: 1000, repetitions: 2 },
      ]);
      expect(points({ ...DEFAULTS, topologies: ["star"] }).every((p) => p.topology === "star")).to.equal(true);
    });

    it("refuses sizes and repetitions it cannot run", function () {
      expect(() => points({ ...DEFAULTS, sizes: [0] })).to.throw("A size of 0 ASes is not valid");
      expect(() => points({ ...DEFAULTS, sizes: [MAX_PROVIDERS + 1] })).to.throw("not valid");
      expect(() => points({ ...DEFAULTS, repetitions: 0 })).to.throw("0 repetitions is not valid");
      expect(() => points({ ...DEFAULTS, topologies: ["ring" as "star"] })).to.throw('"ring" is not a topology');
    });
  });

  describe("pools and providers", function () {
    it("gives each topology its own ASes, as many as its largest point", function () {
      const all = pools(points(DEFAULTS));
      expect(all.chain).to.have.length(7);
      expect(all.star).to.have.length(6);
      expect(all.scale).to.have.length(1000);
      const every = [...all.chain, ...all.star, ...all.scale];
      expect(new Set(every).size).to.equal(every.length);
      expect(providersOf({ topology: "star", n: 3, repetitions: 1 }, all)).to.deep.equal(all.star.slice(0, 3));
      expect(() => providersOf({ topology: "chain", n: 8, repetitions: 1 }, all)).to.throw("has 7 ASes, not 8");
    });

    it("numbers ASes outside the reserved ones and gives each a distinct canonical /24 outside the victim's", function () {
      const prefixes = new Set<string>();
      for (const p of [0, 1, 255, 256, 1000, MAX_PROVIDERS - 1]) {
        expect(parseAsn(providerAsn(p))).to.equal(VICTIM_ASN + 1 + p);
        const prefix = providerPrefix(p);
        expect(formatPrefix(parsePrefix(prefix))).to.equal(prefix);
        expect(contains(parsePrefix(VICTIM_PREFIX), parsePrefix(prefix))).to.equal(false);
        prefixes.add(prefix);
      }
      expect(prefixes.size).to.equal(6);
      expect(providerPrefix(256)).to.equal("10.1.0.0/24");
      expect(() => providerPrefix(MAX_PROVIDERS)).to.throw("out of range");
    });
  });

  describe("attackReport", function () {
    const inPrefixOf = (source: string, p: number) =>
      contains(parsePrefix(providerPrefix(p)), parsePrefix(source, { allowAddress: true }));

    it("names one source per AS on the chain's path, the heaviest behind the last hop", function () {
      const point: Point = { topology: "chain", n: 3, repetitions: 1 };
      const report = attackReport(point, [7, 8, 9]);
      expect(report.target).to.equal(VICTIM_TARGET);
      expect(contains(parsePrefix(VICTIM_PREFIX), parsePrefix(report.target))).to.equal(true);
      expect(report.topTalkers).to.have.length(3);
      report.topTalkers.forEach((t, i) => expect(inPrefixOf(t.source, 7 + i)).to.equal(true));
      expect(report.topTalkers[2].bps).to.be.greaterThan(report.topTalkers[0].bps!);
    });

    it("names two attackers in each of the star's neighbours, and one per AS at scale", function () {
      const star = attackReport({ topology: "star", n: 2, repetitions: 1 }, [3, 4]);
      expect(star.topTalkers.map((t) => [0, 1].findIndex((i) => inPrefixOf(t.source, 3 + i)))).to.deep.equal([
        0, 0, 1, 1,
      ]);
      const scale = attackReport({ topology: "scale", n: 100, repetitions: 1 }, [...Array(100).keys()]);
      expect(new Set(scale.topTalkers.map((t) => t.source)).size).to.equal(100);
      expect(() => attackReport({ topology: "star", n: 2, repetitions: 1 }, [1])).to.throw("needs 2 providers");
    });
  });

  describe("summarise", function () {
    const rep = (totalMs: number): Repetition => ({
      totalMs,
      planMs: 1,
      requestMs: 2,
      acksMinedMs: totalMs - 1,
      cpuMs: 10,
      nodeCpuMs: null,
      blocks: 3,
      requestTransactions: 1,
      acknowledged: 1,
    });

    it("reports the median (an observed value) and the maximum beside RID's figure", function () {
      expect(spread([5, 1, 4, 2, 3])).to.deep.equal({ median: 3, max: 5 });
      const result = summarise({ topology: "chain", n: 4, repetitions: 3 }, [rep(300), rep(100), rep(200)]);
      expect(result.totalSeconds).to.deep.equal({ median: 0.2, max: 0.3 });
      expect(result.nodeCpuSeconds).to.equal(null);
      expect(result.rid).to.deep.equal([{ totalSeconds: 1.0, processingSeconds: 0.25276, extrapolated: false }]);
    });

    it("labels RID's figures for a size it never measured as extrapolations, chain and star", function () {
      const result = summarise({ topology: "scale", n: 100, repetitions: 1 }, [rep(1000)]);
      expect(result.rid.map((r) => r.extrapolated)).to.deep.equal([true, true]);
      expect(result.rid[0].totalSeconds).to.be.closeTo(20.2, 1e-9);
    });
  });
});

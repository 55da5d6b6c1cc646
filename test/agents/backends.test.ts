/** The back ends and the decision policy without a chain: rule text, replay, parsing, decisions. */
import { mkdtempSync, readFileSync, rmSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { expect } from "chai";

import { decide, DEFAULT_POLICY, type DecisionInput } from "../../src/provider/policy";
import { ExabgpBackend, replayExabgp } from "../../src/backends/exabgp";
import { gobgpRuleArgs, parseGobgpRib } from "../../src/backends/gobgp";
import { LogBackend } from "../../src/backends/log";
import type { FlowRule } from "../../src/backends/types";
import { REJECT_REASON } from "../../src/clients/market";

const V4: FlowRule = {
  id: "svc/1/0",
  family: "ipv4",
  source: "198.51.100.23/32",
  destination: "203.0.113.10/32",
  action: { kind: "discard" },
};
const V6: FlowRule = {
  id: "svc/2/0",
  family: "ipv6",
  source: "2001:db8:1000::/40",
  destination: "2001:db8:a::/48",
  action: { kind: "rate-limit", bytesPerSecond: 125000 },
};

describe("mitigation back ends", function () {
  describe("LogBackend", function () {
    it("writes each change once and lists the rules in force", async function () {
      const lines: string[] = [];
      const backend = new LogBackend((l) => lines.push(l));
      await backend.install(V4);
      await backend.install(V4);
      await backend.install(V6);
      await backend.remove(V4);
      await backend.remove(V4);
      expect(await backend.list()).to.deep.equal([V6]);
      expect(lines).to.have.length(3);
    });
  });

  describe("ExabgpBackend", function () {
    it("writes ExaBGP API commands to a stream", async function () {
      const stream = new PassThrough();
      const chunks: string[] = [];
      stream.on("data", (d: Buffer) => chunks.push(d.toString()));
      const backend = new ExabgpBackend({ stream });
      await backend.install(V4);
      await backend.install(V6);
      await backend.remove(V4);
      expect(chunks.join("")).to.equal(
        "announce flow route source 198.51.100.23/32 destination 203.0.113.10/32 discard\n" +
          "announce flow route source 2001:db8:1000::/40 destination 2001:db8:a::/48 rate-limit 125000\n" +
          "withdraw flow route source 198.51.100.23/32 destination 203.0.113.10/32 discard\n",
      );
    });

    it("rebuilds its rule set from its file, dropping a partial last line", async function () {
      const dir = mkdtempSync(path.join(tmpdir(), "exabgp-"));
      try {
        const file = path.join(dir, "exabgp.cmd");
        const first = new ExabgpBackend({ file });
        await first.install(V4);
        await first.install(V6);
        await first.close();
        appendFileSync(file, "withdraw flow route source 198.51.100.23/32 destin");
        const second = new ExabgpBackend({ file });
        expect((await second.list()).map((r) => r.source)).to.have.members([V4.source, V6.source]);
        await second.install(V4);
        await second.remove(V6);
        await second.close();
        const replay = replayExabgp(readFileSync(file, "utf8"));
        expect(replay.commands).to.equal(3);
        expect(replay.redundant).to.deep.equal([]);
        expect(replay.rules.map((r) => r.source)).to.deep.equal([V4.source]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("GobgpBackend", function () {
    it("builds the gobgp CLI words of a rule", function () {
      expect(gobgpRuleArgs(V6)).to.deep.equal([
        "match",
        "source",
        "2001:db8:1000::/40",
        "destination",
        "2001:db8:a::/48",
        "then",
        "rate-limit",
        "125000",
      ]);
    });

    it("parses gobgp's JSON RIB into rules", function () {
      const json = JSON.stringify({
        "[destination: 2001:db8:a::/48/0][source: 2001:db8:1000::/40/0]": [
          {
            nlri: {
              value: [
                { type: 1, value: { prefix: "2001:db8:a::/48" } },
                { type: 2, value: { prefix: "2001:db8:1000::/40" } },
              ],
            },
            attrs: [
              { type: 1, value: 2 },
              { type: 16, value: [{ type: 128, subtype: 6, as: 0, rate: 125000 }] },
            ],
          },
        ],
      });
      expect(parseGobgpRib("ipv6", json)).to.deep.equal([{ ...V6, id: "ipv6 2001:db8:1000::/40 2001:db8:a::/48" }]);
      expect(parseGobgpRib("ipv4", "{}")).to.deep.equal([]);
    });
  });
});

describe("decide (provider policy)", function () {
  const base: DecisionInput = {
    service: "svc",
    requestId: 7n,
    requester: "0x0000000000000000000000000000000000000001",
    offeringId: 0,
    target: "203.0.113.0/24",
    offering: { id: 0, kind: "flow-filtering", pricePerHour: 1n, maxDuration: 3600, capacity: 2, active: true },
    verdict: { ok: true },
    sources: [{ source: "198.51.100.23/32", originAsn: 64510, covered: true }],
    inUse: 0,
    ackDeadline: 1000,
    now: 900,
  };

  it("accepts with one discard rule per covered source of the target's family", function () {
    const decision = decide(
      {
        ...base,
        sources: [
          ...base.sources,
          { source: "2001:db8:1000::1/128", originAsn: 64511, covered: true },
          { source: "192.0.2.1/32", originAsn: 64550, covered: false },
        ],
      },
      DEFAULT_POLICY,
    );
    expect(decision).to.deep.include({ accept: true });
    expect(decision.accept && decision.rules).to.deep.equal([
      {
        id: "svc/7/0",
        family: "ipv4",
        source: "198.51.100.23/32",
        destination: "203.0.113.0/24",
        action: { kind: "discard" },
      },
    ]);
  });

  it("installs no rule for scrubbing, which diverts traffic", function () {
    const decision = decide({ ...base, offering: { ...base.offering!, kind: "scrubbing" } }, DEFAULT_POLICY);
    expect(decision).to.deep.include({ accept: true, rules: [] });
  });

  const cases: [string, Partial<DecisionInput>, number][] = [
    ["the deadline is too close", { now: 999 }, REJECT_REASON.policy],
    ["the requester is not verified", { verdict: { ok: false, reason: "x", code: 3 } }, REJECT_REASON.notVerified],
    ["the offering is inactive", { offering: { ...base.offering!, active: false } }, REJECT_REASON.policy],
    [
      "no source is covered",
      { sources: [{ source: "192.0.2.1/32", originAsn: null, covered: false }] },
      REJECT_REASON.sourcesNotInNetwork,
    ],
    ["no covered source is of the target's family", { target: "2001:db8:a::/48" }, REJECT_REASON.policy],
    ["the offering is at capacity", { inUse: 2 }, REJECT_REASON.capacity],
  ];
  for (const [when, change, code] of cases) {
    it(`rejects with code ${code} when ${when}`, function () {
      expect(decide({ ...base, ...change }, DEFAULT_POLICY)).to.deep.include({ accept: false, code });
    });
  }
});

/**
 * The provider store's view of one match shared by several requests (src/provider/store.ts
 * matchSummary): what the agent's incremental sync decides from, without reading every rule.
 */
import { expect } from "chai";

import type { FlowAction, FlowRule } from "../../src/backends/types";
import { AgentStore, FINAL_STATES, OPEN_STATES } from "../../src/provider/store";

const MATCH = { family: "ipv4" as const, source: "198.51.100.23/32", destination: "203.0.113.0/24" };
const DISCARD: FlowAction = { kind: "discard" };
const LIMIT: FlowAction = { kind: "rate-limit", bytesPerSecond: 125_000 };

/** Request #i of one requester for MATCH's target and source, at `price`. */
const newRequest = (i: number, price = 1n) => ({
  id: BigInt(i),
  requester: "0x0000000000000000000000000000000000000002",
  offeringId: 0,
  target: MATCH.destination,
  sources: [MATCH.source],
  duration: 600,
  price,
  ackDeadline: 0,
  block: i,
  tx: "0x",
});

function withRequests(n: number): AgentStore {
  const store = new AgentStore(":memory:");
  for (let i = 1; i <= n; i++) store.addRequest(newRequest(i));
  return store;
}

const rule = (request: number, action: FlowAction): FlowRule => ({ id: `s/${request}/0`, ...MATCH, action });

describe("AgentStore.matchSummary", function () {
  it("sums the live rules of one match per action: first wanted, first in force, installed", function () {
    const store = withRequests(3);
    store.addRules([rule(1, LIMIT)], 1n);
    store.addRules([rule(2, DISCARD)], 2n);
    store.addRules([rule(3, LIMIT)], 3n);
    store.setRuleStateByMatch(MATCH, "installed", true);
    store.unwantRules(3n);
    const summary = store.matchSummary(MATCH).sort((a, b) => a.action.kind.localeCompare(b.action.kind));
    expect(summary).to.deep.equal([
      { action: DISCARD, firstWanted: "s/2/0", firstInForce: "s/2/0", installed: true },
      { action: LIMIT, firstWanted: "s/1/0", firstInForce: "s/1/0", installed: true },
    ]);
  });

  it("leaves out rules removed for good, and says nothing is wanted once all are", function () {
    const store = withRequests(2);
    store.addRules([rule(1, DISCARD)], 1n);
    store.addRules([rule(2, DISCARD)], 2n);
    store.setRuleStateByMatch(MATCH, "installed", true);
    store.unwantRules(1n);
    store.setRuleStateByMatch(MATCH, "removed", false);
    expect(store.matchSummary(MATCH)).to.deep.equal([
      { action: DISCARD, firstWanted: "s/2/0", firstInForce: "s/2/0", installed: true },
    ]);
    store.unwantRules(2n);
    // Unwanted but still installed: the sync must remove it.
    expect(store.matchSummary(MATCH)).to.deep.equal([
      { action: DISCARD, firstWanted: null, firstInForce: "s/2/0", installed: true },
    ]);
    expect(store.unsettledRules().map((r) => r.id)).to.deep.equal(["s/2/0"]);
    store.setRuleStateByMatch(MATCH, "removed", false);
    expect(store.matchSummary(MATCH)).to.deep.equal([]);
    expect(store.unsettledRules()).to.deep.equal([]);
  });
});

describe("AgentStore.requestTallies", function () {
  it("groups the requests so that counts and earnings equal a full read's, exactly for prices past 2^64", function () {
    const store = withRequests(0);
    const big = 10n ** 20n;
    for (let i = 1; i <= 12; i++) {
      store.addRequest(newRequest(i, big + BigInt(i % 3)));
      if (i % 4 === 0) store.update(BigInt(i), "rejected", { reasonCode: i % 8 === 0 ? 1 : 2, reason: "r" });
      else if (i % 4 === 1) store.update(BigInt(i), "active", { startedAt: 100, endsAt: 700 });
      else if (i % 4 === 2) store.update(BigInt(i), "ended", { startedAt: 100, endsAt: 700 });
    }
    const tallies = store.requestTallies();
    const all = store.requests();
    const sum = (keep: (t: (typeof tallies)[number]) => boolean) => tallies.filter(keep).reduce((n, t) => n + t.n, 0);
    expect(sum(() => true)).to.equal(all.length);
    expect(sum((t) => t.started)).to.equal(all.filter((r) => r.startedAt !== null).length);
    expect(sum((t) => t.state === "rejected" && t.reasonCode === 1)).to.equal(
      all.filter((r) => r.state === "rejected" && r.reasonCode === 1).length,
    );
    const earned = tallies.filter((t) => t.started).reduce((s, t) => s + t.price * BigInt(t.n), 0n);
    expect(earned).to.equal(all.filter((r) => r.startedAt !== null).reduce((s, r) => s + r.price, 0n));
    expect(earned > 2n ** 64n).to.equal(true);
  });
});

describe("AgentStore requests", function () {
  it("records a settled order's request active from the start, once, and counts only the open ones as open", function () {
    const store = withRequests(1);
    expect(store.addRequest(newRequest(2), { startedAt: 100, endsAt: 700, pendingReport: 1 })).to.equal(true);
    expect(store.addRequest(newRequest(2), { startedAt: 999, endsAt: 999, pendingReport: null })).to.equal(false);
    const running = store.request(2n)!;
    expect([running.state, running.startedAt, running.endsAt, running.pendingReport]).to.deep.equal([
      "active",
      100,
      700,
      1,
    ]);
    store.update(1n, "rejected");
    expect(store.requests(OPEN_STATES).map((r) => r.id)).to.deep.equal([2n]);
    expect([...OPEN_STATES, ...FINAL_STATES].sort()).to.have.length(10);
    expect(OPEN_STATES.some((s) => FINAL_STATES.includes(s))).to.equal(false);
  });
});

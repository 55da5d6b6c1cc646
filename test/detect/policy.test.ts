/** The victim daemon's spending policy: the file's schema, one sentence per mistake, and the review of orders. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";

import { parseTokens } from "../../src/format";
import { parsePrefix } from "../../src/prefix";
import type { PlannedOrder } from "../../src/victim/plan";
import { parseSpendingPolicy, readSpendingPolicy, reviewOrders } from "../../src/victim/policy";

const GOOD = { budgetPerHour: "50", budgetPerDay: 400, maxPricePerPurchase: "12.5", kinds: ["flow-filtering"] };

function order(price: string, kind: PlannedOrder["kind"] = "flow-filtering"): PlannedOrder {
  return {
    service: "0x00000000000000000000000000000000000000a1",
    offeringId: 0,
    target: "203.0.113.10/32",
    sources: [parsePrefix("198.51.100.23/32")],
    duration: 900,
    maxPrice: parseTokens(price),
    price: parseTokens(price),
    kind,
    ackDeadline: 0,
    asns: [64510],
  };
}

describe("Spending policy", function () {
  describe("the file", function () {
    it("reads amounts in tokens and fills the defaults", function () {
      expect(parseSpendingPolicy(GOOD)).to.deep.equal({
        budgetPerHour: parseTokens("50"),
        budgetPerDay: parseTokens("400"),
        maxPricePerPurchase: parseTokens("12.5"),
        kinds: ["flow-filtering"],
        duration: 900,
        renewBefore: 60,
        ackWindow: 120,
        dryRun: false,
      });
    });

    it("names every mistake in one sentence each", function () {
      const bad = {
        ...GOOD,
        budgetPerHour: "-5",
        kinds: ["flow-filtering", "magic"],
        duration: 10.5,
        dryRun: "yes",
        budget: 1,
      };
      expect(() => parseSpendingPolicy(bad, "policy.json")).to.throw(
        'policy.json: "budgetPerHour" must be an amount in tokens, such as "50" or "12.5", not "-5". ' +
          'policy.json: "kinds[1]" must be one of flow-filtering, rate-limiting, blackholing, scrubbing, not "magic". ' +
          'policy.json: "duration" must be a duration in whole seconds, not 10.5. ' +
          'policy.json: "dryRun" must be true or false, not "yes". ' +
          'policy.json: "budget" is not a setting (the settings are budgetPerHour, budgetPerDay, maxPricePerPurchase, kinds, duration, renewBefore, ackWindow, dryRun).',
      );
      expect(() => parseSpendingPolicy({})).to.throw(
        'The spending policy: "budgetPerHour" is missing. The spending policy: "budgetPerDay" is missing. ' +
          'The spending policy: "maxPricePerPurchase" is missing. The spending policy: "kinds" is missing.',
      );
      expect(() => parseSpendingPolicy({ ...GOOD, budgetPerDay: "10", kinds: [], renewBefore: 900 })).to.throw(
        'The spending policy: "kinds" must allow at least one kind of mitigation.',
      );
      expect(() => parseSpendingPolicy({ ...GOOD, budgetPerDay: "10", renewBefore: 900 })).to.throw(
        'The spending policy: "budgetPerDay" must be at least budgetPerHour (50 MIT), not 10 MIT. ' +
          'The spending policy: "renewBefore" must be shorter than the duration (900 s), not 900 s.',
      );
    });

    it("says when the file cannot be read or is not JSON", function () {
      const dir = mkdtempSync(path.join(tmpdir(), "policy-"));
      try {
        const file = path.join(dir, "policy.json");
        expect(() => readSpendingPolicy(file)).to.throw(`Cannot read the spending policy file ${file}.`);
        writeFileSync(file, "{ budgetPerHour: 5 ");
        expect(() => readSpendingPolicy(file)).to.throw(`The spending policy file ${file} is not valid JSON.`);
        writeFileSync(file, JSON.stringify(GOOD));
        expect(readSpendingPolicy(file).kinds).to.deep.equal(["flow-filtering"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("the review of orders", function () {
    const policy = parseSpendingPolicy({ ...GOOD, budgetPerHour: "12", budgetPerDay: "15", maxPricePerPurchase: "6" });

    it("approves in turn while the budgets last, and refuses the rest with a reason", function () {
      const orders = [order("4"), order("7"), order("5"), order("1", "scrubbing"), order("2")];
      const { approved, refused } = reviewOrders(policy, orders, { lastHour: 0n, lastDay: 5n * 10n ** 18n });
      expect(approved).to.deep.equal([orders[0], orders[2]]);
      expect(refused.map((r) => [orders.indexOf(r.order), r.reason])).to.deep.equal([
        [1, "7 MIT is above the policy's maximum of 6 MIT per purchase"],
        [3, "scrubbing is not among the policy's kinds (flow-filtering)"],
        [4, "it would bring the last day's spending to 16 MIT, above the policy's budget of 15 MIT per day"],
      ]);
    });

    it("counts what was spent already", function () {
      const { approved, refused } = reviewOrders(policy, [order("2")], {
        lastHour: parseTokens("11"),
        lastDay: parseTokens("11"),
      });
      expect(approved).to.deep.equal([]);
      expect(refused[0].reason).to.equal(
        "it would bring the last hour's spending to 13 MIT, above the policy's budget of 12 MIT per hour",
      );
    });
  });
});

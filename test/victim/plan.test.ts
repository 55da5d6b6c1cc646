/**
 * The purchase planner against an in-memory registry and market: which sources it buys for, from
 * whom, and which it reports as not served, with the reason.
 */
import { expect } from "chai";
import { parseUnits } from "ethers";

import type { OfferingInfo } from "../../src/clients/market";
import type { RouteInfo } from "../../src/clients/registry";
import { contains, formatPrefix, parsePrefix, type Prefix } from "../../src/prefix";
import { planPurchases, type PlanMarket, type PlanRegistry } from "../../src/victim/plan";

/** Registered prefixes → origin AS; longest match wins. Records every look-up. */
function fakeRegistry(routes: Record<string, number>): PlanRegistry & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    coveringPrefix(prefix: string | Prefix): Promise<RouteInfo | null> {
      const p = typeof prefix === "string" ? parsePrefix(prefix, { allowAddress: true }) : prefix;
      asked.push(formatPrefix(p));
      const matches = Object.entries(routes)
        .map(([cidr, asn]) => ({ route: parsePrefix(cidr), asn }))
        .filter(({ route }) => contains(route, p))
        .sort((a, b) => b.route.length - a.route.length);
      const best = matches[0];
      return Promise.resolve(
        best === undefined
          ? null
          : { prefix: formatPrefix(best.route), originAsn: best.asn, holder: "0x0", delegated: false },
      );
    },
  };
}

/** One service per AS, each with one flow-filtering offering at `pricePerHour` tokens. */
function fakeMarket(services: Record<number, { service: string; pricePerHour: string }>): PlanMarket {
  return {
    servicesForAsn(asn: number | string): Promise<string[]> {
      const entry = services[Number(asn)];
      return Promise.resolve(entry === undefined ? [] : [entry.service]);
    },
    offerings(service: string): Promise<OfferingInfo[]> {
      const entry = Object.values(services).find((s) => s.service === service)!;
      return Promise.resolve([
        {
          id: 0,
          kind: "flow-filtering",
          pricePerHour: parseUnits(entry.pricePerHour, 18),
          maxDuration: 86_400,
          capacity: 10,
          active: true,
        },
      ]);
    },
  };
}

const SERVICE_V4 = "0x00000000000000000000000000000000000000a4";
const SERVICE_V6 = "0x00000000000000000000000000000000000000a6";

describe("planPurchases", function () {
  const registry = () => fakeRegistry({ "203.0.113.0/24": 64501, "2001:db8::/32": 64502 });
  const market = fakeMarket({
    64501: { service: SERVICE_V4, pricePerHour: "10" },
    64502: { service: SERVICE_V6, pricePerHour: "5" },
  });
  const options = { ackWindow: 600, now: 1_000_000 };

  describe("when the report mixes address families", function () {
    it("buys only for the target's family and reports the others as not served, with the reason", async function () {
      const reg = registry();
      const plan = await planPurchases(
        {
          target: "198.51.100.10/32",
          lifetime: 3600,
          topTalkers: [{ source: "2001:db8::66" }, { source: "203.0.113.5" }],
        },
        reg,
        market,
        options,
      );
      expect(plan.orders).to.have.length(1);
      expect(plan.orders[0].service).to.equal(SERVICE_V4);
      expect(plan.orders[0].sources.map((s) => formatPrefix(s))).to.deep.equal(["203.0.113.5/32"]);
      expect(plan.orders[0].asns).to.deep.equal([64501]);
      expect(plan.unserved).to.deep.equal([
        {
          source: "2001:db8::66",
          reason:
            "it is IPv6 and the target is IPv4: a filter matches one address family, so no provider would act on it",
        },
      ]);
      // The foreign source is not even looked up.
      expect(reg.asked).to.deep.equal(["203.0.113.5/32"]);
    });

    it("does the same the other way round, for an IPv6 target", async function () {
      const plan = await planPurchases(
        {
          target: "2001:db8:a::/48",
          lifetime: 3600,
          topTalkers: [{ source: "203.0.113.5" }, { source: "2001:db8::66" }],
        },
        registry(),
        market,
        options,
      );
      expect(plan.orders.map((o) => [o.service, o.sources.map((s) => formatPrefix(s))])).to.deep.equal([
        [SERVICE_V6, ["2001:db8::66/128"]],
      ]);
      expect(plan.unserved.map((u) => [u.source, u.reason])).to.deep.equal([
        [
          "203.0.113.5",
          "it is IPv4 and the target is IPv6: a filter matches one address family, so no provider would act on it",
        ],
      ]);
    });

    it("plans nothing when every source is of the other family", async function () {
      const plan = await planPurchases(
        { target: "198.51.100.10/32", lifetime: 3600, topTalkers: [{ source: "2001:db8::66" }] },
        registry(),
        market,
        options,
      );
      expect(plan.orders).to.deep.equal([]);
      expect(plan.unserved.map((u) => u.source)).to.deep.equal(["2001:db8::66"]);
    });
  });

  describe("when every source is of the target's family", function () {
    it("buys for each covered source and reports the unregistered", async function () {
      const plan = await planPurchases(
        {
          target: "198.51.100.10/32",
          lifetime: 1800,
          topTalkers: [{ source: "203.0.113.5" }, { source: "203.0.113.128/25" }, { source: "192.0.2.1" }],
        },
        registry(),
        market,
        options,
      );
      expect(plan.orders).to.have.length(1);
      expect(plan.orders[0]).to.include({
        service: SERVICE_V4,
        duration: 1800,
        price: parseUnits("5", 18),
        ackDeadline: 1_000_600,
      });
      expect(plan.orders[0].sources.map((s) => formatPrefix(s))).to.deep.equal(["203.0.113.5/32", "203.0.113.128/25"]);
      expect(plan.unserved).to.deep.equal([{ source: "192.0.2.1", reason: "no registered prefix contains it" }]);
    });
  });
});

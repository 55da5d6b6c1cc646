/**
 * From an attack report to orders: every source → its AS (registry longest-prefix match) → the
 * services covering that AS → per AS, the cheapest active offering that sells the duration. Sources
 * of the other address family than the target, with no registered prefix or with no provider are
 * reported, never dropped. The look-ups of one step go out together (one round trip, or one
 * JSON-RPC batch, rather than one per source).
 */
import { priceOf, type MarketClient, type MitigationKindName, type MitigationOrder } from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import { familyOf, formatPrefix, parsePrefix, type Prefix } from "../prefix";
import type { AttackReport } from "./attackReport";

export interface Unserved {
  source: string;
  originAsn?: number;
  reason: string;
}

export interface PlannedOrder extends MitigationOrder {
  /** The ASes this order covers. */
  asns: number[];
  price: bigint;
  /** The offering's kind of mitigation. */
  kind: MitigationKindName;
  sources: Prefix[];
}

export interface PurchasePlan {
  orders: PlannedOrder[];
  unserved: Unserved[];
}

export interface PlanOptions {
  /** Seconds the providers get to acknowledge. */
  ackWindow: number;
  /** Unix time now (the chain's). */
  now: number;
  /** Services not to buy from (e.g. they rejected already). */
  exclude?: ReadonlySet<string>;
  /** The most to pay per order, in base units. */
  maxPricePerOrder?: bigint;
  /** The kinds of mitigation that may be bought (e.g. flow filtering only); any kind when undefined. */
  kinds?: readonly MitigationKindName[];
}

interface Candidate {
  service: string;
  offeringId: number;
  price: bigint;
  kind: MitigationKindName;
}

/** What the planner reads from the chain. */
export type PlanRegistry = Pick<RegistryClient, "coveringPrefix">;
export type PlanMarket = Pick<MarketClient, "servicesForAsn" | "offerings">;

type Offerings = Awaited<ReturnType<MarketClient["offerings"]>>;

export async function planPurchases(
  report: AttackReport,
  registry: PlanRegistry,
  market: PlanMarket,
  options: PlanOptions,
): Promise<PurchasePlan> {
  const unserved: Unserved[] = [];
  const sourcesByAsn = new Map<number, Prefix[]>();
  const target = parsePrefix(report.target);
  // A flow rule matches one address family: a rule for a source of the other family would never
  // match traffic to the target (every provider agent rejects it), so it is reported, not bought for.
  const talkers: { source: string; prefix: Prefix }[] = [];
  for (const talker of report.topTalkers) {
    const prefix = parsePrefix(talker.source, { allowAddress: true });
    if (familyOf(prefix) === familyOf(target)) talkers.push({ source: talker.source, prefix });
    else unserved.push({ source: talker.source, reason: foreignFamily(prefix, target) });
  }
  const routes = await Promise.all(talkers.map(({ prefix }) => registry.coveringPrefix(prefix)));
  for (const [i, talker] of talkers.entries()) {
    const prefix = talker.prefix;
    const route = routes[i];
    if (!route) {
      unserved.push({ source: talker.source, reason: "no registered prefix contains it" });
      continue;
    }
    const list = sourcesByAsn.get(route.originAsn) ?? [];
    list.push(prefix);
    sourcesByAsn.set(route.originAsn, list);
  }

  const asns = [...sourcesByAsn.keys()];
  const servicesOf = await Promise.all(asns.map((asn) => market.servicesForAsn(asn)));
  const offeringCache = new Map<string, Offerings>();
  const distinct = [...new Set(servicesOf.flat())].filter((s) => !options.exclude?.has(s));
  const offerings = await Promise.all(distinct.map((service) => market.offerings(service)));
  distinct.forEach((service, i) => offeringCache.set(service, offerings[i]));
  const ordersByService = new Map<string, PlannedOrder>();
  for (const [a, asn] of asns.entries()) {
    const sources = sourcesByAsn.get(asn)!;
    const services = servicesOf[a].filter((s) => !options.exclude?.has(s));
    const best = await cheapest(services, report.lifetime, market, offeringCache, options.kinds);
    if (!best) {
      const reason =
        services.length === 0
          ? `no provider covers AS${asn}`
          : `no offering of AS${asn}'s providers sells ${report.lifetime} s` +
            (options.kinds ? ` of an allowed kind (${options.kinds.join(", ")})` : "");
      for (const s of sources) unserved.push({ source: formatPrefix(s), originAsn: asn, reason });
      continue;
    }
    if (options.maxPricePerOrder !== undefined && best.price > options.maxPricePerOrder) {
      for (const s of sources) {
        unserved.push({
          source: formatPrefix(s),
          originAsn: asn,
          reason: `the cheapest offer for AS${asn} is above the price limit`,
        });
      }
      continue;
    }
    // A provider covering several attacked ASes gets one order with all their sources.
    const key = `${best.service}/${best.offeringId}`;
    const existing = ordersByService.get(key);
    if (existing) {
      existing.asns.push(asn);
      existing.sources.push(...sources);
    } else {
      ordersByService.set(key, {
        service: best.service,
        offeringId: best.offeringId,
        target: report.target,
        sources: [...sources],
        duration: report.lifetime,
        maxPrice: best.price,
        price: best.price,
        kind: best.kind,
        ackDeadline: options.now + options.ackWindow,
        asns: [asn],
      });
    }
  }
  return { orders: [...ordersByService.values()], unserved };
}

/**
 * Why a source of the other address family than the target is not bought for: "it is IPv6 and the
 * target is IPv4: …", or with the prefixes named (`named`), "2001:db8::66/128 is IPv6 and the
 * target 198.51.100.0/24 is IPv4: …".
 */
export function foreignFamily(source: Prefix, target: Prefix, named = false): string {
  const [s, t] = named ? [formatPrefix(source), ` ${formatPrefix(target)}`] : ["it", ""];
  return `${s} is ${familyOf(source)} and the target${t} is ${familyOf(target)}: a filter matches one address family, so no provider would act on it`;
}

async function cheapest(
  services: string[],
  duration: number,
  market: PlanMarket,
  cache: Map<string, Offerings>,
  kinds: readonly MitigationKindName[] | undefined,
): Promise<Candidate | undefined> {
  let best: Candidate | undefined;
  for (const service of services) {
    let offerings = cache.get(service);
    if (!offerings) {
      offerings = await market.offerings(service);
      cache.set(service, offerings);
    }
    for (const o of offerings) {
      if (!o.active || o.maxDuration < duration || (kinds && !kinds.includes(o.kind))) continue;
      const price = priceOf(o.pricePerHour, duration);
      if (!best || price < best.price) best = { service, offeringId: o.id, price, kind: o.kind };
    }
  }
  return best;
}

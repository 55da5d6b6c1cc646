/**
 * Buying mitigation as an operator: every order is checked against the chain before any
 * transaction (approval or request) is sent, so a refused order leaves no trace.
 */
import { ZeroAddress } from "ethers";

import { MarketClient, asPrefix, toRequestParams, type MitigationOrder, type RequestedEvent } from "../clients/market";
import { RegistryClient, parseAccount } from "../clients/registry";
import { OperatorError, explained } from "../errors";
import { formatTokens } from "../format";
import { familyOf, formatPrefix, type Prefix } from "../prefix";
import type { AttackReport } from "./attackReport";
import { foreignFamily, planPurchases, type PlannedOrder, type Unserved } from "./plan";

export interface Clients {
  registry: RegistryClient;
  market: MarketClient;
}

/**
 * Checks what the service contract would check, in the order an operator fixes things, and
 * returns the price. Throws one sentence for the first problem found.
 */
export async function checkOrder({ registry, market }: Clients, order: MitigationOrder): Promise<bigint> {
  toRequestParams(order);
  const target = asPrefix(order.target);
  for (const source of order.sources.map((s) => asPrefix(s, true))) {
    if (familyOf(source) !== familyOf(target)) {
      throw new OperatorError(`Source ${foreignFamily(source, target, true)}.`);
    }
  }
  const serviceAddress = parseAccount(order.service, "service");
  const requester = await market.runner.getAddress();
  const provider = await explained(() => market.directory.providerOf(serviceAddress));
  if (provider === ZeroAddress) {
    throw new OperatorError(`${serviceAddress} is not a service contract of this directory.`);
  }
  const service = market.service(serviceAddress);
  const count = Number(await explained(() => service.offeringCount()));
  if (order.offeringId >= count) {
    throw new OperatorError(
      `Offering ${order.offeringId} does not exist at ${serviceAddress}: it has ${count} offering${count === 1 ? "" : "s"}.`,
    );
  }
  const offering = await explained(() => service.offering(order.offeringId));
  if (!offering.active) throw new OperatorError(`Offering ${order.offeringId} at ${serviceAddress} is not active.`);
  if (order.duration > Number(offering.maxDuration)) {
    throw new OperatorError(
      `A duration of ${order.duration} s is not allowed: offering ${order.offeringId} sells 1 to ${offering.maxDuration} s.`,
    );
  }
  const price = await market.quote(serviceAddress, order.offeringId, order.duration);
  if (price > order.maxPrice) {
    throw new OperatorError(
      `The price is ${formatTokens(price)}, above your maximum of ${formatTokens(order.maxPrice)}.`,
    );
  }
  const me = await registry.participant(requester);
  if (me.status !== "active") {
    throw new OperatorError(`${requester} is not an active registered participant (its status is ${me.status}).`);
  }
  await checkHolding(registry, requester, target);
  const balance = await explained(() => market.token.balanceOf(requester));
  if (balance < price) {
    throw new OperatorError(`${requester} has ${formatTokens(balance)} but the request costs ${formatTokens(price)}.`);
  }
  return price;
}

/** Throws one sentence, naming who holds it instead, unless `requester` holds all of `target`. */
export async function checkHolding(registry: RegistryClient, requester: string, target: Prefix): Promise<void> {
  if (await registry.isHolder(requester, target)) return;
  const route = await registry.coveringPrefix(target);
  const holder =
    route === null
      ? "no registered prefix covers it"
      : route.holder === requester
        ? "a more-specific prefix inside it is held by someone else"
        : `it is held by ${route.holder} (${route.prefix})`;
  throw new OperatorError(`${requester} does not hold ${formatPrefix(target)}: ${holder}.`);
}

/** Checks one order, then approves (if needed) and requests. */
export async function requestMitigation(clients: Clients, order: MitigationOrder): Promise<RequestedEvent> {
  await checkOrder(clients, order);
  const { event } = await clients.market.request(order);
  return event;
}

export interface ReportPurchase {
  orders: PlannedOrder[];
  events: RequestedEvent[];
  unserved: Unserved[];
}

/**
 * From an attack report: plan the cheapest offer for every source's AS, check every order, then
 * buy them all in one transaction through the directory.
 */
export async function requestFromReport(
  clients: Clients,
  report: AttackReport,
  options: { ackWindow: number; now: number; maxPricePerOrder?: bigint },
): Promise<ReportPurchase> {
  const plan = await planPurchases(report, clients.registry, clients.market, options);
  if (plan.orders.length === 0) {
    const first = plan.unserved[0];
    throw new OperatorError(
      `None of the ${report.topTalkers.length} attack sources can be served: ${first ? `${first.source}: ${first.reason}` : "nothing to buy"}.`,
    );
  }
  const requester = await clients.market.runner.getAddress();
  let total = 0n;
  for (const order of plan.orders) total += await checkOrder(clients, order);
  const balance = await explained(() => clients.market.token.balanceOf(requester));
  if (balance < total) {
    throw new OperatorError(`${requester} has ${formatTokens(balance)} but the orders cost ${formatTokens(total)}.`);
  }
  const { events } = await clients.market.requestMany(plan.orders);
  return { orders: plan.orders, events, unserved: plan.unserved };
}

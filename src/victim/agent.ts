/**
 * The victim agent: from an attack report to mitigation in force. Maps every source to its AS
 * through the registry, buys from the services covering those ASes (the cheapest active offering
 * that sells the duration, all providers in one transaction, or in as few as the gas limit per
 * transaction allows, sent together), follows the answers, and re-buys
 * elsewhere when a provider rejects or lets the deadline pass (reclaiming the escrow first).
 * Sources with no registered AS or no provider are reported, never dropped.
 *
 * Where a service publishes an order endpoint, the agent buys by signed order instead: it signs an
 * EIP-712 order, POSTs it to the provider's agent, and follows its settlement on chain. An order
 * the agent refuses, or that cannot be delivered, is bought by direct request at once; one the
 * agent took (or may have taken) but did not settle within a few blocks is first cancelled on
 * chain, so that it can never be settled after the direct request too (no purchase is made twice).
 */
import { getAddress, type Provider } from "ethers";

import { ProviderServiceContract__factory } from "../../typechain-types";
import {
  parseServiceLog,
  type MarketClient,
  type MitigationKindName,
  type RequestedEvent,
  type RequestInfo,
} from "../clients/market";
import { ORDER_SKIP_REASONS, OrderSkipReason, type Order } from "../clients/orders";
import type { RegistryClient } from "../clients/registry";
import { toOperatorError } from "../errors";
import { formatRequestId, formatTokens } from "../format";
import { formatPrefix, parsePrefix } from "../prefix";
import type { AttackReport, TopTalker } from "./attackReport";
import { DEFAULT_MAX_GAS_PER_TRANSACTION, splitByGas } from "./batches";
import { OrderDesk, ordersUrl, readOrderRequest, type SentOrder } from "./orders";
import { planPurchases, type PlannedOrder, type Unserved } from "./plan";

/**
 * pending: a request escrowed and unanswered, or an order sent and not settled; acknowledged: in
 * force (a request acknowledged, or an order settled); rejected, reclaimed: a request refunded;
 * lapsed: an order that was not settled (refused, undeliverable, skipped, cancelled or expired):
 * nothing was paid.
 */
export type PurchaseState = "pending" | "acknowledged" | "rejected" | "reclaimed" | "lapsed";

export interface Purchase {
  service: string;
  /** For an order, the id it is (or would be) settled under: `orderRequestId(requester, hash)`. */
  requestId: bigint;
  /** How it was bought: a direct request (escrow, then acknowledgement) or a signed order. */
  via: "request" | "order";
  /** A signed order's EIP-712 hash. */
  orderHash?: string;
  offeringId: number;
  kind: MitigationKindName;
  asns: number[];
  sources: string[];
  /** The price (for an order: its maximum until settled, then what was paid). */
  price: bigint;
  /** When the provider must acknowledge by; for an order, its expiry. */
  ackDeadline: number;
  state: PurchaseState;
  /** When the mitigation ends (chain time), once acknowledged. */
  endsAt?: number;
  /** The provider's reason code when it rejected. */
  reasonCode?: number;
  /** Milliseconds from the report to this request's acknowledgement (an order's settlement). */
  ackMs?: number;
  /** The block of the request transaction; for an order, the head when it was sent (it is settled later). */
  blockNumber?: number;
}

export interface VictimSummary {
  purchases: Purchase[];
  /** Services that acknowledged. */
  providers: string[];
  /** What the acknowledged mitigations cost. */
  cost: bigint;
  /** Escrow returned by rejections and reclaims. */
  refunded: bigint;
  unserved: Unserved[];
  /** Request transactions sent (each may carry several orders). */
  requestTransactions: number;
  /** Signed orders sent to providers' agents (settled ones are acknowledged purchases). */
  ordersSent: number;
  /** Milliseconds from the report to the first orders being planned; null if nothing was bought. */
  msToPlan: number | null;
  /** Milliseconds from the report to the first orders' request transactions being mined. */
  msToRequest: number | null;
  /** Milliseconds from the report to the last acknowledgement; null if none came. */
  msToLastAck: number | null;
  ms: number;
}

export interface VictimAgentOptions {
  registry: RegistryClient;
  /** The market, acting as the victim. */
  market: MarketClient;
  provider: Provider;
  /** Seconds the providers get to acknowledge. */
  ackWindow?: number;
  pollMs?: number;
  /** The most to pay per order, in base units. */
  maxPricePerOrder?: bigint;
  /** The kinds of mitigation that may be bought; any kind when undefined. */
  kinds?: readonly MitigationKindName[];
  /**
   * Decides, after planning and before any transaction, which orders may be bought (a spending
   * policy); the sources of the others are reported unserved with the reason given.
   */
  review?: (orders: PlannedOrder[]) => Promise<OrderReview> | OrderReview;
  /**
   * Called with new purchases, to persist them: once request transactions are mined, and for
   * signed orders before they are sent (their request ids are known before any settlement).
   */
  onRequested?: (purchases: readonly Purchase[]) => void;
  /** Called when a purchase is answered: acknowledged (or settled), rejected, reclaimed or lapsed. */
  onAnswered?: (purchase: Purchase) => void;
  /**
   * Signed orders to services that publish an order endpoint (the default: a desk of this agent's
   * own), with endpoints and approvals kept in the desk (share one between runs); false sends
   * every purchase as a request.
   */
  orders?: OrderDesk | false;
  /** An order not settled this many blocks after it was sent is cancelled and bought directly. */
  orderSettleBlocks?: number;
  /** …or this long after, ms (a chain that mines on demand may make no block meanwhile). */
  orderSettleMs?: number;
  /** Sends even a single order through the directory (whose allowance a long-running agent keeps). */
  throughDirectory?: boolean;
  /**
   * The most gas one request transaction may be given; more orders go in several transactions,
   * sent together. Concurrent sends need nonces given out in order: wrap a wallet in ethers'
   * NonceManager (the agent task does), or use a node account (the node assigns them).
   */
  maxGasPerTransaction?: bigint;
  /** Gives up following after this long, ms (the requests stay on chain). */
  timeoutMs?: number;
  /** Stops following when aborted (a daemon shutting down); the requests stay on chain. */
  signal?: AbortSignal;
  /** A name for a service in progress lines. */
  describeService?: (service: string) => string;
  onProgress?: (line: string) => void;
}

export interface OrderReview {
  approved: PlannedOrder[];
  refused: { order: PlannedOrder; reason: string }[];
}

type Defaults =
  "maxPricePerOrder" | "kinds" | "review" | "onRequested" | "onAnswered" | "throughDirectory" | "signal" | "orders";

const REJECT_NAMES = ["unspecified", "capacity", "policy", "not verified", "sources not in its network"];

/**
 * The events that end a pending purchase: an answer from the provider, or the requester's own; for
 * an order, its settlement (by request id), a skip or a cancellation (by order hash).
 */
const SERVICE_INTERFACE = ProviderServiceContract__factory.createInterface();
const ANSWER_TOPICS = (
  [
    "MitigationAcknowledged",
    "MitigationRejected",
    "MitigationReclaimed",
    "MitigationWithdrawn",
    "OrderSettled",
    "OrderSkipped",
    "OrderCancelled",
  ] as const
).map((name) => SERVICE_INTERFACE.getEvent(name).topicHash);
const BY_ORDER_HASH = new Set(["OrderSkipped", "OrderCancelled"]);

/**
 * Skips that no later settlement can undo (the order itself is wrong, used or cancelled): the
 * order needs no cancellation. The others (offering, holding, payment) may pass a later batch.
 */
const FINAL_SKIPS: ReadonlySet<number> = new Set([
  OrderSkipReason.WrongService,
  OrderSkipReason.Expired,
  OrderSkipReason.RequesterIsProvider,
  OrderSkipReason.BadSignature,
  OrderSkipReason.AlreadySettled,
  OrderSkipReason.Cancelled,
  OrderSkipReason.InvalidPrefix,
]);

/** An order sent and followed: what deciding its fate needs. */
interface OrderWatch {
  order: Order;
  /** Wall-clock ms and head block when it was sent. */
  sentAt: number;
  sentBlock: number;
  /** Its delivery is uncertain (a timeout): cancel before buying elsewhere, without waiting. */
  cancelNow: boolean;
  /** The reason of an OrderSkipped seen for it. */
  skipped?: number;
}

/** "order 0x1a2b3c4d" for progress lines. */
function orderLabel(hash: string): string {
  return `order ${hash.slice(0, 10)}`;
}

function requestKey(service: string, requestId: bigint): string {
  return `${service.toLowerCase()}/${requestId}`;
}

export class VictimAgent {
  private readonly options: Required<Omit<VictimAgentOptions, Defaults>> & Pick<VictimAgentOptions, Defaults>;
  /** Where orders go; undefined when every purchase is a request. */
  private readonly desk: OrderDesk | undefined;

  constructor(options: VictimAgentOptions) {
    this.options = {
      ackWindow: 120,
      pollMs: 500,
      maxGasPerTransaction: DEFAULT_MAX_GAS_PER_TRANSACTION,
      timeoutMs: 10 * 60_000,
      orderSettleBlocks: 3,
      orderSettleMs: 10_000,
      describeService: (s) => s,
      onProgress: () => undefined,
      ...options,
    };
    this.desk =
      options.orders === false
        ? undefined
        : (options.orders ?? new OrderDesk({ market: options.market, provider: options.provider }));
  }

  private progress(line: string): void {
    this.options.onProgress(line);
  }

  private async chainNow(): Promise<number> {
    const block = await this.options.provider.getBlock("latest");
    if (block === null) throw new Error("The node returned no latest block.");
    return block.timestamp;
  }

  /** Buys mitigation for `report` and follows it until every source is served or reported. */
  async run(report: AttackReport): Promise<VictimSummary> {
    const { market, registry } = this.options;
    const started = Date.now();
    const purchases: Purchase[] = [];
    const unserved: Unserved[] = [];
    const exclude = new Set<string>();
    /** Services whose order path failed in this run: their sources are bought by request. */
    const directOnly = new Set<string>();
    /** The orders sent, by purchase key; and the purchase key of each order hash. */
    const watches = new Map<string, OrderWatch>();
    const byHash = new Map<string, string>();
    const talkerOf = new Map<string, TopTalker>();
    for (const talker of report.topTalkers) {
      talkerOf.set(formatPrefix(parsePrefix(talker.source, { allowAddress: true })), talker);
    }
    let requestTransactions = 0;
    let ordersSent = 0;
    let msToPlan: number | null = null;
    let msToRequest: number | null = null;
    let lastAck: number | null = null;
    /** Why sources are being bought again, by source. */
    const history = new Map<string, string>();
    /** The last block searched for answers; requests are never older than the block after it. */
    let scanned = Number.MAX_SAFE_INTEGER;

    const buy = async (talkers: TopTalker[]): Promise<void> => {
      const plan = await planPurchases({ ...report, topTalkers: talkers }, registry, market, {
        ackWindow: this.options.ackWindow,
        now: await this.chainNow(),
        exclude,
        maxPricePerOrder: this.options.maxPricePerOrder,
        kinds: this.options.kinds,
      });
      if (this.options.review && plan.orders.length > 0) {
        const { approved, refused } = await this.options.review(plan.orders);
        plan.orders = approved;
        for (const { order, reason } of refused) {
          for (const s of order.sources)
            plan.unserved.push({
              source: formatPrefix(s),
              originAsn: order.asns.length === 1 ? order.asns[0] : undefined,
              reason,
            });
        }
      }
      for (const u of plan.unserved) {
        const before = history.get(u.source);
        unserved.push(before ? { ...u, reason: `${before}; ${u.reason}` } : u);
        this.progress(`not served: ${u.source}${u.originAsn ? ` (AS${u.originAsn})` : ""}: ${u.reason}`);
      }
      if (plan.orders.length === 0) return;
      msToPlan ??= Date.now() - started;
      const { byOrder, direct } = await this.route(plan.orders, directOnly);
      for (const order of plan.orders) {
        this.progress(
          `buy from ${this.options.describeService(order.service)} (AS${order.asns.join(", AS")}): offering ${order.offeringId}, ` +
            `${order.sources.map((s) => formatPrefix(s)).join(" ")}, ${formatTokens(order.price)}` +
            (byOrder.has(order) ? " by signed order" : ""),
        );
      }
      // The orders and the direct requests go out together; what an agent refused is then requested.
      const [sending, requesting] = await Promise.allSettled([
        byOrder.size > 0 ? this.sendOrders(byOrder, started) : Promise.resolve(undefined),
        direct.length > 0 ? requestDirectly(direct, byOrder.size > 0) : Promise.resolve(),
      ]);
      if (sending.status === "rejected") {
        // Nothing was recorded or sent: every order is bought by request.
        this.progress(`the orders could not be sent (${toOperatorError(sending.reason).message}): buying by request`);
      }
      const sent = sending.status === "fulfilled" ? sending.value : undefined;
      const fallback = sent ? [...sent.unapproved] : [...byOrder.keys()];
      const lapsed: Purchase[] = [];
      for (const { purchase, watch, planned } of sent?.placed ?? []) {
        const key = requestKey(purchase.service, purchase.requestId);
        purchases.push(purchase);
        watches.set(key, watch);
        byHash.set(purchase.orderHash!.toLowerCase(), key);
        scanned = Math.min(scanned, watch.sentBlock);
        ordersSent += 1;
        if (purchase.state === "pending") continue;
        fallback.push(planned);
        lapsed.push(purchase);
      }
      for (const planned of fallback) directOnly.add(planned.service);
      const underWay = purchases.some((p) => p.via === "order" && p.state === "pending");
      if (underWay) msToRequest ??= Date.now() - started;
      if (requesting.status === "rejected") {
        for (const p of lapsed) this.options.onAnswered?.(p);
        throw requesting.reason;
      }
      // Orders refused on delivery are reported lapsed once their direct requests are recorded: a
      // store that counts spending always counts one of the two.
      try {
        if (fallback.length > 0) await requestDirectly(fallback, underWay);
      } finally {
        for (const p of lapsed) this.options.onAnswered?.(p);
      }
    };

    const requestDirectly = async (orders: PlannedOrder[], alongsideOrders: boolean): Promise<void> => {
      let result: Awaited<ReturnType<VictimAgent["request"]>>;
      try {
        result = await this.request(orders);
      } catch (error) {
        // With orders under way the run goes on following them; alone, the failure is the run's.
        if (!alongsideOrders) throw error;
        result = {
          events: [],
          transactions: 0,
          failed: orders.map((order) => ({
            order,
            reason: `its request transaction failed: ${toOperatorError(error).message}`,
          })),
        };
      }
      const { events, transactions, failed } = result;
      msToRequest ??= Date.now() - started;
      requestTransactions += transactions;
      for (const { order, reason } of failed) {
        for (const s of order.sources) {
          unserved.push({ source: formatPrefix(s), reason });
          this.progress(`not served: ${formatPrefix(s)}: ${reason}`);
        }
      }
      const made: Purchase[] = [];
      for (const event of events) {
        scanned = Math.min(scanned, event.blockNumber - 1);
        const order = orders.find((o) => o.service.toLowerCase() === event.service.toLowerCase())!;
        made.push({
          service: event.service,
          requestId: event.requestId,
          via: "request",
          offeringId: event.offeringId,
          kind: order.kind,
          asns: order.asns,
          sources: event.sources.map((s) => formatPrefix(s)),
          price: event.price,
          ackDeadline: event.ackDeadline,
          state: "pending",
          blockNumber: event.blockNumber,
        });
      }
      if (made.length === 0) return;
      purchases.push(...made);
      this.options.onRequested?.(made);
      this.progress(
        `requested from ${events.length} provider${events.length === 1 ? "" : "s"} in ` +
          `${transactions === 1 ? "one transaction" : `${transactions} transactions`} ` +
          `(${formatTokens(events.reduce((s, e) => s + e.price, 0n))} escrowed)`,
      );
    };

    /** Records a settled order (or an acknowledged request) as in force. */
    const inForce = (p: Purchase, info: RequestInfo, verb: string) => {
      p.state = "acknowledged";
      p.endsAt = info.endsAt;
      p.price = info.price;
      p.ackMs = Date.now() - started;
      lastAck = p.ackMs;
      const what = p.via === "order" ? orderLabel(p.orderHash!) : formatRequestId(p.requestId);
      this.progress(`${this.options.describeService(p.service)} ${verb} ${what} (${p.ackMs} ms after the report)`);
      this.options.onAnswered?.(p);
    };

    await buy(report.topTalkers);
    const deadline = started + this.options.timeoutMs;
    // Orders refused on delivery are watched too while the run follows anything: a provider that
    // settles one anyway is found out (bought twice, said so).
    const watchedLapsed = () =>
      purchases.filter((p) => p.state === "lapsed" && watches.has(requestKey(p.service, p.requestId)));
    while (purchases.some((p) => p.state === "pending")) {
      if (Date.now() > deadline) {
        this.progress(`gave up following after ${this.options.timeoutMs} ms: requests still pending stay on chain`);
        break;
      }
      if (this.options.signal?.aborted) {
        this.progress("stopped following: requests still pending stay on chain");
        break;
      }
      const retry: TopTalker[] = [];
      const { provider } = this.options;
      let pending = purchases.filter((x) => x.state === "pending");
      let now: number;
      let head: number;
      // One search for answers per poll, however many requests are open; only the requests
      // answered (or past their deadline) are then read, each once.
      const answered = new Set<string>();
      let infos: RequestInfo[];
      try {
        head = await provider.getBlockNumber();
        const block = await provider.getBlock(head);
        if (block === null) throw new Error(`The node has no block ${head}.`);
        now = block.timestamp;
        if (head > scanned) {
          const followed = [...pending, ...watchedLapsed()];
          const logs = await provider.getLogs({
            address: [...new Set(followed.map((p) => p.service))],
            topics: [ANSWER_TOPICS],
            fromBlock: scanned + 1,
            toBlock: head,
          });
          for (const log of logs) {
            const parsed = parseServiceLog(log);
            if (parsed === null) continue;
            const key = BY_ORDER_HASH.has(parsed.name)
              ? byHash.get(log.topics[1].toLowerCase())
              : requestKey(log.address, BigInt(log.topics[1]));
            if (key === undefined) continue;
            answered.add(key);
            const watch = watches.get(key);
            if (watch && parsed.name === "OrderSkipped") watch.skipped = Number(parsed.args.reason);
          }
        }
        for (const p of watchedLapsed()) {
          if (answered.has(requestKey(p.service, p.requestId))) pending.push(p);
        }
        pending = pending.filter((p) => {
          const key = requestKey(p.service, p.requestId);
          if (answered.has(key)) return true;
          const watch = watches.get(key);
          return watch === undefined ? now > p.ackDeadline : this.orderDue(p, watch, head, now);
        });
        infos = await Promise.all(
          pending.map((p) =>
            p.via === "order"
              ? readOrderRequest(this.options.market, p.service, p.requestId)
              : market.getRequest(p.service, p.requestId),
          ),
        );
        scanned = Math.max(scanned, head);
      } catch (error) {
        // A failed read is not an answer: the requests stay open and the next poll asks again.
        this.progress(`error: ${toOperatorError(error).message} (retrying in ${this.options.pollMs} ms)`);
        await sleep(this.options.pollMs);
        continue;
      }
      for (const [i, p] of pending.entries()) {
        const info = infos[i];
        const name = this.options.describeService(p.service);
        let why: string | undefined;
        if (p.via === "order") {
          const watch = watches.get(requestKey(p.service, p.requestId))!;
          if (p.state === "lapsed") {
            // Refused on delivery, settled all the same.
            if (info.status === "acknowledged" || info.status === "withdrawn") {
              inForce(p, info, "settled");
              this.progress(
                `${name} settled ${orderLabel(p.orderHash!)} although its agent had refused it: its sources were bought twice`,
              );
            }
            continue;
          }
          const fate = await this.orderFate(p, watch, info, now);
          if (fate.settled) {
            inForce(p, fate.settled, "settled");
            continue;
          }
          if (fate.lapsed === undefined) continue;
          p.state = "lapsed";
          why = fate.lapsed;
          this.options.onAnswered?.(p);
          directOnly.add(p.service);
          this.progress(`${why}; buying its ${p.sources.length} source(s) by direct request`);
          for (const s of p.sources) {
            history.set(s, why);
            const talker = talkerOf.get(s);
            if (talker) retry.push(talker);
          }
          continue;
        }
        if (info.status === "acknowledged" || info.status === "withdrawn") {
          inForce(p, info, "acknowledged");
          continue;
        }
        if (info.status === "rejected") {
          p.state = "rejected";
          p.reasonCode = await this.rejectReason(p);
          why = `${name} rejected ${formatRequestId(p.requestId)} (${REJECT_NAMES[p.reasonCode] ?? `reason ${p.reasonCode}`})`;
        } else if (info.status === "reclaimed") {
          p.state = "reclaimed";
          why = `${formatRequestId(p.requestId)} at ${name} was reclaimed`;
        } else if (info.status === "pending" && now > p.ackDeadline) {
          try {
            await market.reclaim(p.service, p.requestId);
          } catch (error) {
            // The provider may have answered in the meantime, or the next block is not yet late
            // enough: look again at the next poll.
            this.progress(
              `reclaim of ${formatRequestId(p.requestId)} not possible yet: ${toOperatorError(error).message}`,
            );
            continue;
          }
          p.state = "reclaimed";
          why = `${name} let the deadline of ${formatRequestId(p.requestId)} pass: escrow reclaimed`;
        }
        if (why === undefined) continue;
        this.options.onAnswered?.(p);
        exclude.add(p.service);
        this.progress(`${why}; buying its ${p.sources.length} source(s) elsewhere`);
        for (const s of p.sources) {
          history.set(s, why);
          const talker = talkerOf.get(s);
          if (talker) retry.push(talker);
        }
      }
      if (retry.length > 0 && !this.options.signal?.aborted) await buy(retry);
      if (purchases.some((p) => p.state === "pending")) await sleep(this.options.pollMs);
    }

    const acknowledged = purchases.filter((p) => p.state === "acknowledged");
    return {
      purchases,
      providers: [...new Set(acknowledged.map((p) => p.service))],
      cost: acknowledged.reduce((s, p) => s + p.price, 0n),
      refunded: purchases
        .filter((p) => p.state === "rejected" || p.state === "reclaimed")
        .reduce((s, p) => s + p.price, 0n),
      unserved,
      requestTransactions,
      ordersSent,
      msToPlan,
      msToRequest,
      msToLastAck: lastAck,
      ms: Date.now() - started,
    };
  }

  /**
   * Which planned purchases go by signed order: those whose service publishes a usable endpoint
   * that is not down, unless its order path already failed in this run.
   */
  private async route(
    orders: PlannedOrder[],
    directOnly: ReadonlySet<string>,
  ): Promise<{ byOrder: Map<PlannedOrder, string>; direct: PlannedOrder[] }> {
    const byOrder = new Map<PlannedOrder, string>();
    const desk = this.desk;
    const candidates = desk ? orders.filter((o) => !directOnly.has(o.service)) : [];
    if (!desk || candidates.length === 0) return { byOrder, direct: [...orders] };
    let endpoints: Map<string, string>;
    try {
      endpoints = await desk.endpointsOf(candidates.map((o) => o.service));
    } catch (error) {
      this.progress(`could not read the order endpoints (${toOperatorError(error).message}): buying by request`);
      return { byOrder, direct: [...orders] };
    }
    for (const order of candidates) {
      const endpoint = endpoints.get(order.service) ?? "";
      if (endpoint === "") continue;
      const name = this.options.describeService(order.service);
      const url = ordersUrl(endpoint);
      if (url === null) {
        this.progress(
          `${name} publishes an order endpoint that is not an http(s) URL (${JSON.stringify(endpoint)}): buying by request`,
        );
        continue;
      }
      const down = desk.downFor(url);
      if (down > 0) {
        this.progress(
          `${name}'s order intake ${url} failed recently (retried in ${Math.ceil(down / 1000)} s): buying by request`,
        );
        continue;
      }
      byOrder.set(order, url);
    }
    return { byOrder, direct: orders.filter((o) => !byOrder.has(o)) };
  }

  /**
   * Approves the services (once each), signs the orders, records them (onRequested) and sends
   * them. Returns every order signed, pending when its agent took it (or may have: then it is to
   * be cancelled before buying elsewhere) and lapsed when it was refused or could not be
   * delivered; and the planned purchases whose service could not be approved.
   */
  private async sendOrders(
    routed: ReadonlyMap<PlannedOrder, string>,
    started: number,
  ): Promise<{
    placed: { purchase: Purchase; watch: OrderWatch; planned: PlannedOrder }[];
    unapproved: PlannedOrder[];
  }> {
    const desk = this.desk!;
    const unapproved: PlannedOrder[] = [];
    const failed = await desk.approve(
      [...routed.keys()].map((o) => o.service),
      (service) =>
        this.progress(`approved ${this.options.describeService(service)}'s service for orders (unlimited, once)`),
    );
    const ready = [...routed].filter(([o]) => {
      const why = failed.get(getAddress(o.service));
      if (why === undefined) return true;
      this.progress(`${this.options.describeService(o.service)}: ${why}; buying by request`);
      unapproved.push(o);
      return false;
    });
    if (ready.length === 0) return { placed: [], unapproved };
    const head = await this.options.provider.getBlock("latest");
    if (head === null) throw new Error("The node returned no latest block.");
    // The next block's time: the latest one's, or the clock's on a chain that mines on demand
    // (its latest block may be long past, and an expiry counted from it already gone).
    const now = Math.max(head.timestamp, Math.floor(Date.now() / 1000));
    const signed: SentOrder[] = await Promise.all(ready.map(([o, url]) => desk.sign(o, url, now)));
    const purchases: Purchase[] = signed.map((s) => ({
      service: s.planned.service,
      requestId: s.requestId,
      via: "order",
      orderHash: s.hash,
      offeringId: s.planned.offeringId,
      kind: s.planned.kind,
      asns: s.planned.asns,
      sources: s.planned.sources.map((p) => formatPrefix(p)),
      price: s.planned.price,
      ackDeadline: s.signed.order.expiry,
      state: "pending",
      blockNumber: head.number,
    }));
    // Recorded before they leave: after a crash, an order sent may still be settled.
    this.options.onRequested?.(purchases);
    const sentAt = Date.now();
    const answers = await desk.send(signed);
    return {
      unapproved,
      placed: answers.map((answer, i) => {
        const purchase = purchases[i];
        const label = `${orderLabel(purchase.orderHash!)} to ${this.options.describeService(purchase.service)}`;
        const watch: OrderWatch = {
          order: signed[i].signed.order,
          sentAt,
          sentBlock: head.number,
          cancelNow: answer.kind === "unknown",
        };
        if (answer.kind === "accepted") {
          this.progress(`sent ${label}: accepted (${Date.now() - started} ms after the report)`);
        } else if (answer.kind === "unknown") {
          this.progress(`sent ${label}: ${answer.reason}; it is cancelled on chain before buying by request`);
        } else {
          const why =
            answer.kind === "refused"
              ? `its agent refused it (HTTP ${answer.status}: ${answer.reason})`
              : answer.reason;
          this.progress(`${label} not taken: ${why}; buying by request`);
          purchase.state = "lapsed";
        }
        return { purchase, watch, planned: signed[i].planned };
      }),
    };
  }

  /** Whether the fate of an unsettled order must be decided now. */
  private orderDue(p: Purchase, watch: OrderWatch, head: number, now: number): boolean {
    return (
      watch.cancelNow ||
      watch.skipped !== undefined ||
      now > p.ackDeadline ||
      head >= watch.sentBlock + this.options.orderSettleBlocks ||
      Date.now() >= watch.sentAt + this.options.orderSettleMs
    );
  }

  /**
   * What became of an order whose fate is due: settled (its request), lapsed (why: it can no
   * longer be settled), or neither yet (look again at the next poll). One that could still be
   * settled is cancelled on chain first, so that the direct request bought instead is the only
   * purchase; when the cancellation fails because it was settled meanwhile, that is the purchase.
   */
  private async orderFate(
    p: Purchase,
    watch: OrderWatch,
    info: RequestInfo,
    now: number,
  ): Promise<{ settled?: RequestInfo; lapsed?: string }> {
    const name = this.options.describeService(p.service);
    const label = orderLabel(p.orderHash!);
    const skip = watch.skipped;
    const skipped =
      skip === undefined ? "" : `${name} skipped ${label}: ${ORDER_SKIP_REASONS[skip] ?? `reason ${skip}`}`;
    let current = info;
    for (let attempt = 0; ; attempt++) {
      if (current.status === "acknowledged" || current.status === "withdrawn") return { settled: current };
      if (current.status === "cancelled") return { lapsed: `${label} at ${name} was cancelled` };
      if (current.status !== "none") return {};
      if (now > p.ackDeadline) return { lapsed: skipped || `${name} did not settle ${label} before it expired` };
      if (skip !== undefined && FINAL_SKIPS.has(skip)) return { lapsed: skipped };
      if (attempt > 0) return {};
      const why =
        skipped ||
        (watch.cancelNow
          ? `${label} may have reached ${name}'s agent`
          : `${name} did not settle ${label} within ${this.options.orderSettleBlocks} blocks or ${this.options.orderSettleMs} ms`);
      try {
        await this.desk!.cancel(watch.order);
        return { lapsed: `${why}: cancelled it on chain` };
      } catch (error) {
        this.progress(`cancelling ${label} failed (${toOperatorError(error).message}): reading it again`);
        current = await readOrderRequest(this.options.market, p.service, p.requestId);
      }
    }
  }

  /**
   * Sends the orders: one order straight to its service, several through the directory in one
   * transaction, or, past the gas limit, in several sent together after one approval of the
   * directory for all of them. A transaction that fails leaves its orders in `failed` when others
   * went through; when none did, its error is thrown.
   */
  private async request(orders: PlannedOrder[]): Promise<{
    events: RequestedEvent[];
    transactions: number;
    failed: { order: PlannedOrder; reason: string }[];
  }> {
    const { market, maxGasPerTransaction } = this.options;
    const groups = splitByGas(orders, maxGasPerTransaction);
    if (groups.length === 1) {
      const events =
        orders.length === 1 && !this.options.throughDirectory
          ? [(await market.request(orders[0])).event]
          : (await market.requestMany(orders)).events;
      return { events, transactions: 1, failed: [] };
    }
    const total = orders.reduce((sum, o) => sum + o.maxPrice, 0n);
    await market.ensureAllowance(await market.directory.getAddress(), total);
    this.progress(`${orders.length} orders exceed ${maxGasPerTransaction} gas: sending ${groups.length} transactions`);
    const results = await Promise.allSettled(groups.map((group) => market.requestMany(group)));
    const events: RequestedEvent[] = [];
    const failed: { order: PlannedOrder; reason: string }[] = [];
    for (const [i, result] of results.entries()) {
      if (result.status === "fulfilled") {
        events.push(...result.value.events);
        continue;
      }
      const reason = `its request transaction failed: ${toOperatorError(result.reason).message}`;
      for (const order of groups[i]) failed.push({ order, reason });
    }
    if (events.length === 0) throw toOperatorError((results[0] as PromiseRejectedResult).reason);
    return { events, transactions: results.filter((r) => r.status === "fulfilled").length, failed };
  }

  private async rejectReason(p: Purchase): Promise<number> {
    const service = this.options.market.service(p.service, this.options.provider);
    const events = await service.queryFilter(service.filters.MitigationRejected(p.requestId));
    return events.length > 0 ? Number(events[0].args.reason) : 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A few lines that sum up a run. */
export function describeSummary(summary: VictimSummary, describeService: (s: string) => string = (s) => s): string[] {
  const lines = [
    `providers: ${summary.providers.map(describeService).join(", ") || "none"}`,
    `cost: ${formatTokens(summary.cost)} for ${summary.purchases.filter((p) => p.state === "acknowledged").length} mitigation(s); ` +
      `refunded: ${formatTokens(summary.refunded)}; ${summary.requestTransactions} request transaction(s)` +
      (summary.ordersSent === 0
        ? ""
        : `; ${summary.ordersSent} signed order(s), ` +
          `${summary.purchases.filter((p) => p.via === "order" && p.state === "acknowledged").length} settled`),
  ];
  for (const u of summary.unserved) {
    lines.push(`not served: ${u.source}${u.originAsn ? ` (AS${u.originAsn})` : ""}: ${u.reason}`);
  }
  lines.push(
    summary.msToLastAck === null
      ? "no acknowledgement came"
      : `time from attack report to last acknowledgement: ${summary.msToLastAck} ms`,
  );
  return lines;
}

/**
 * The victim agent: from an attack report to mitigation in force. Maps every source to its AS
 * through the registry, buys from the services covering those ASes (the cheapest active offering
 * that sells the duration, all providers in one transaction, or in as few as the gas limit per
 * transaction allows, sent together), follows the answers, and re-buys
 * elsewhere when a provider rejects or lets the deadline pass (reclaiming the escrow first).
 * Sources with no registered AS or no provider are reported, never dropped.
 */
import type { Provider } from "ethers";

import { ProviderServiceContract__factory } from "../../typechain-types";
import type { MarketClient, MitigationKindName, RequestedEvent, RequestInfo } from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import { toOperatorError } from "../errors";
import { formatRequestId, formatTokens } from "../format";
import { formatPrefix, parsePrefix } from "../prefix";
import type { AttackReport, TopTalker } from "./attackReport";
import { DEFAULT_MAX_GAS_PER_TRANSACTION, splitByGas } from "./batches";
import { planPurchases, type PlannedOrder, type Unserved } from "./plan";

export type PurchaseState = "pending" | "acknowledged" | "rejected" | "reclaimed";

export interface Purchase {
  service: string;
  requestId: bigint;
  offeringId: number;
  kind: MitigationKindName;
  asns: number[];
  sources: string[];
  price: bigint;
  ackDeadline: number;
  state: PurchaseState;
  /** When the mitigation ends (chain time), once acknowledged. */
  endsAt?: number;
  /** The provider's reason code when it rejected. */
  reasonCode?: number;
  /** Milliseconds from the report to this request's acknowledgement. */
  ackMs?: number;
  /** The block of the request transaction. */
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
  /** Called once the request transactions are mined, with the purchases they made (to persist them). */
  onRequested?: (purchases: readonly Purchase[]) => void;
  /** Called when a purchase is answered: acknowledged, rejected or reclaimed. */
  onAnswered?: (purchase: Purchase) => void;
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

type Defaults = "maxPricePerOrder" | "kinds" | "review" | "onRequested" | "onAnswered" | "throughDirectory" | "signal";

const REJECT_NAMES = ["unspecified", "capacity", "policy", "not verified", "sources not in its network"];

/** The events that end a pending request: an answer from the provider, or the requester's own. */
const SERVICE_INTERFACE = ProviderServiceContract__factory.createInterface();
const ANSWER_TOPICS = (
  ["MitigationAcknowledged", "MitigationRejected", "MitigationReclaimed", "MitigationWithdrawn"] as const
).map((name) => SERVICE_INTERFACE.getEvent(name).topicHash);

function requestKey(service: string, requestId: bigint): string {
  return `${service.toLowerCase()}/${requestId}`;
}

export class VictimAgent {
  private readonly options: Required<Omit<VictimAgentOptions, Defaults>> & Pick<VictimAgentOptions, Defaults>;

  constructor(options: VictimAgentOptions) {
    this.options = {
      ackWindow: 120,
      pollMs: 500,
      maxGasPerTransaction: DEFAULT_MAX_GAS_PER_TRANSACTION,
      timeoutMs: 10 * 60_000,
      describeService: (s) => s,
      onProgress: () => undefined,
      ...options,
    };
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
    const talkerOf = new Map<string, TopTalker>();
    for (const talker of report.topTalkers) {
      talkerOf.set(formatPrefix(parsePrefix(talker.source, { allowAddress: true })), talker);
    }
    let requestTransactions = 0;
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
      for (const order of plan.orders) {
        this.progress(
          `buy from ${this.options.describeService(order.service)} (AS${order.asns.join(", AS")}): offering ${order.offeringId}, ` +
            `${order.sources.map((s) => formatPrefix(s)).join(" ")}, ${formatTokens(order.price)}`,
        );
      }
      const { events, transactions, failed } = await this.request(plan.orders);
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
        const order = plan.orders.find((o) => o.service.toLowerCase() === event.service.toLowerCase())!;
        made.push({
          service: event.service,
          requestId: event.requestId,
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
      purchases.push(...made);
      this.options.onRequested?.(made);
      this.progress(
        `requested from ${events.length} provider${events.length === 1 ? "" : "s"} in ` +
          `${transactions === 1 ? "one transaction" : `${transactions} transactions`} ` +
          `(${formatTokens(events.reduce((s, e) => s + e.price, 0n))} escrowed)`,
      );
    };

    await buy(report.topTalkers);
    const deadline = started + this.options.timeoutMs;
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
      // One search for answers per poll, however many requests are open; only the requests
      // answered (or past their deadline) are then read, each once.
      const answered = new Set<string>();
      let infos: RequestInfo[];
      try {
        const head = await provider.getBlockNumber();
        const block = await provider.getBlock(head);
        if (block === null) throw new Error(`The node has no block ${head}.`);
        now = block.timestamp;
        if (head > scanned) {
          const logs = await provider.getLogs({
            address: [...new Set(pending.map((p) => p.service))],
            topics: [ANSWER_TOPICS],
            fromBlock: scanned + 1,
            toBlock: head,
          });
          for (const log of logs) answered.add(requestKey(log.address, BigInt(log.topics[1])));
        }
        pending = pending.filter((p) => answered.has(requestKey(p.service, p.requestId)) || now > p.ackDeadline);
        infos = await Promise.all(pending.map((p) => market.getRequest(p.service, p.requestId)));
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
        if (info.status === "acknowledged" || info.status === "withdrawn") {
          p.state = "acknowledged";
          p.endsAt = info.endsAt;
          p.ackMs = Date.now() - started;
          lastAck = p.ackMs;
          this.progress(`${name} acknowledged ${formatRequestId(p.requestId)} (${p.ackMs} ms after the report)`);
          this.options.onAnswered?.(p);
          continue;
        }
        let why: string | undefined;
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
      msToPlan,
      msToRequest,
      msToLastAck: lastAck,
      ms: Date.now() - started,
    };
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
      `refunded: ${formatTokens(summary.refunded)}; ${summary.requestTransactions} request transaction(s)`,
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

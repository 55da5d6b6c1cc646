/**
 * The bridge from DOTS to the market: holding checks through the registry, purchases through the
 * victim library (VictimAgent: plan near the sources, request, follow, buy elsewhere on refusal),
 * and the status of every purchase followed on chain (acknowledgement, the provider's DOTS status
 * reports, withdrawal) for the signal channel to report.
 */
import type { Log, Provider } from "ethers";

import { ProviderServiceContract__factory } from "../../typechain-types";
import { parseServiceLog, type MarketClient } from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import { toOperatorError } from "../errors";
import { formatRequestId } from "../format";
import { contains, formatPrefix, type Prefix } from "../prefix";
import { VictimAgent, type Purchase } from "../victim/agent";
import { readOrderRequest } from "../victim/orders";
import { RESPONSE } from "./coap";
import { DotsError, type MarketOrder, type MarketPort, type MarketPurchase, type PurchaseView } from "./mitigations";
import type { StoredPurchase } from "./store";

/** Neighbours of an attacked prefix: where its attack traffic comes from when no telemetry says. */
export interface Neighbourhood {
  prefix: Prefix;
  sources: string[];
}

export interface BridgeOptions {
  registry: RegistryClient;
  /** The market acting as each account the gateway may buy for, by checksummed address. */
  markets: ReadonlyMap<string, MarketClient>;
  provider: Provider;
  neighbours: readonly Neighbourhood[];
  /** Seconds the providers get to acknowledge. */
  ackWindow: number;
  pollMs: number;
  maxPricePerOrder?: bigint;
  onProgress?: (line: string) => void;
}

const FOLLOWED_EVENTS = [
  "MitigationAcknowledged",
  "OrderSettled",
  "MitigationRejected",
  "MitigationReclaimed",
  "MitigationWithdrawn",
  "MitigationStatusReported",
] as const;
const SERVICE_INTERFACE = ProviderServiceContract__factory.createInterface();
const TOPICS = FOLLOWED_EVENTS.map((name) => SERVICE_INTERFACE.getEvent(name).topicHash);

interface LivePurchase extends PurchaseView {
  account: string;
  owner: BoughtMitigation;
  /** A withdrawal was sent (or found unnecessary). */
  withdrawSent?: boolean;
}

function key(service: string, requestId: bigint): string {
  return `${service.toLowerCase()}/${requestId}`;
}

class BoughtMitigation implements MarketPurchase {
  readonly purchases: LivePurchase[] = [];
  readonly unserved: string[] = [];
  readonly abort = new AbortController();
  withdrawing = false;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly bridge: MarketBridge,
    readonly order: MarketOrder,
  ) {}

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  changed(): void {
    for (const listener of this.listeners) listener();
  }

  async withdraw(): Promise<void> {
    this.withdrawing = true;
    this.abort.abort();
    await Promise.all(
      this.purchases.filter((p) => p.state === "acknowledged" && !p.withdrawSent).map((p) => this.bridge.withdraw(p)),
    );
  }
}

export class MarketBridge implements MarketPort {
  private readonly purchases = new Map<string, LivePurchase>();
  /** One buyer at a time per account: concurrent approvals of the same spender would race. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly seen = new Set<string>();
  private readonly running = new Set<Promise<unknown>>();
  private cursor: number | undefined;
  private backfillFrom: number | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly progress: (line: string) => void;

  constructor(private readonly options: BridgeOptions) {
    this.progress = options.onProgress ?? (() => undefined);
  }

  async holderOf(accounts: readonly string[], targets: readonly Prefix[]): Promise<string | null> {
    for (const account of accounts) {
      const holds = await Promise.all(targets.map((t) => this.options.registry.isHolder(account, t)));
      if (holds.every(Boolean)) return account;
    }
    return null;
  }

  sourcesFor(targets: readonly Prefix[], reported: readonly string[]): string[] {
    if (reported.length > 0) return [...reported];
    const sources = new Set<string>();
    for (const n of this.options.neighbours) {
      if (targets.some((t) => contains(n.prefix, t) || contains(t, n.prefix))) n.sources.forEach((s) => sources.add(s));
    }
    return [...sources];
  }

  async buy(order: MarketOrder): Promise<MarketPurchase> {
    const market = this.options.markets.get(order.account);
    if (!market) throw new DotsError(RESPONSE.internalServerError, `The gateway has no key for ${order.account}.`);
    const bought = new BoughtMitigation(this, order);
    const previous = this.queues.get(order.account) ?? Promise.resolve();
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    this.queues.set(order.account, turn);
    await previous;
    try {
      for (const target of order.targets) await this.buyTarget(market, bought, target);
    } finally {
      release();
    }
    if (bought.purchases.length === 0) {
      throw new DotsError(
        RESPONSE.serviceUnavailable,
        `Nothing could be bought for ${order.label}: ${bought.unserved.join("; ") || "no provider answered"}.`,
      );
    }
    return bought;
  }

  /** Starts a victim agent for one target and returns once its first requests are on chain. */
  private async buyTarget(market: MarketClient, bought: BoughtMitigation, target: Prefix): Promise<void> {
    const text = formatPrefix(target);
    let placed!: () => void;
    const requested = new Promise<void>((resolve) => (placed = resolve));
    const agent = new VictimAgent({
      market,
      registry: this.options.registry,
      provider: this.options.provider,
      ackWindow: this.options.ackWindow,
      pollMs: this.options.pollMs,
      maxPricePerOrder: this.options.maxPricePerOrder,
      signal: bought.abort.signal,
      kinds: bought.order.flowFilteringOnly ? ["flow-filtering"] : undefined,
      onProgress: (line) => this.progress(`${bought.order.label} ${text}: ${line}`),
      // Every purchase is tracked (and so stored) from the start; a signed order sent before a
      // crash may be settled after it. A request counts as placed once it is on chain, an order
      // once it is settled; one that lapses is dropped, and the request bought instead tracked.
      onRequested: (purchases) => {
        for (const p of purchases) this.track(bought, { ...p, expiry: p.via === "order" ? p.ackDeadline : undefined });
        if (purchases.some((p) => p.via === "request")) placed();
      },
      onAnswered: (p) => {
        if (p.via !== "order") return;
        if (p.state === "lapsed") this.untrack(p);
        if (p.state !== "acknowledged") return;
        // Settled after it lapsed (a provider settling what its agent refused): followed again.
        if (!this.purchases.has(key(p.service, p.requestId))) this.track(bought, p);
        placed();
      },
    });
    const run = agent
      .run({
        target: text,
        lifetime: bought.order.lifetime,
        topTalkers: bought.order.sources.map((source) => ({ source })),
      })
      .then((summary) => {
        for (const u of summary.unserved) bought.unserved.push(`${u.source}: ${u.reason}`);
      });
    const settled = run.then(
      () => undefined,
      (error: unknown) => {
        bought.unserved.push(`${text}: ${toOperatorError(error).message}`);
      },
    );
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
    await Promise.race([requested, settled]);
  }

  resume(order: MarketOrder, purchases: readonly StoredPurchase[], withdrawing: boolean): MarketPurchase {
    const bought = new BoughtMitigation(this, order);
    bought.withdrawing = withdrawing;
    // No victim agent follows them any more (nothing is bought elsewhere after a restart).
    bought.abort.abort();
    for (const p of purchases) this.track(bought, p);
    return bought;
  }

  private track(
    bought: BoughtMitigation,
    p: Pick<Purchase, "service" | "requestId" | "blockNumber"> & { expiry?: number },
  ): void {
    const live: LivePurchase = {
      service: p.service,
      requestId: p.requestId,
      state: "pending",
      bytesDropped: 0n,
      packetsDropped: 0n,
      blockNumber: p.blockNumber,
      expiry: p.expiry,
      account: bought.order.account,
      owner: bought,
    };
    bought.purchases.push(live);
    this.purchases.set(key(p.service, p.requestId), live);
    // The follower may have read past the request's block before it knew of the service: read
    // again from there (events already applied are recognised and skipped).
    const from = p.blockNumber ?? 0;
    this.backfillFrom = Math.min(this.backfillFrom ?? from, from);
    if (bought.withdrawing)
      this.progress(`${formatRequestId(p.requestId)} placed while withdrawing: withdrawn once acknowledged`);
    this.wake?.();
    bought.changed();
  }

  /** Forgets a signed order that lapsed unsettled: it bought nothing. */
  private untrack(p: Pick<Purchase, "service" | "requestId">): void {
    const k = key(p.service, p.requestId);
    const live = this.purchases.get(k);
    if (!live) return;
    this.purchases.delete(k);
    const list = live.owner.purchases;
    list.splice(list.indexOf(live), 1);
    live.owner.changed();
  }

  /**
   * Signed orders still unsettled past their expiry that no victim agent follows (resumed after a
   * restart): once the chain says they were not settled, they lapsed.
   */
  private async dropLapsedOrders(head: number): Promise<void> {
    const unsettled = [...this.purchases.values()].filter((p) => p.state === "pending" && p.expiry !== undefined);
    if (unsettled.length === 0) return;
    const block = await this.options.provider.getBlock(head);
    if (block === null) return;
    for (const p of unsettled.filter((u) => block.timestamp > u.expiry!)) {
      const info = await readOrderRequest(this.options.markets.get(p.account)!, p.service, p.requestId);
      if (info.status === "none" || info.status === "cancelled") {
        this.progress(`order ${formatRequestId(p.requestId)} at ${p.service} lapsed unsettled`);
        this.untrack(p);
      }
    }
  }

  /** Withdraws one purchase on chain; a mitigation that already ended needs nothing. */
  async withdraw(p: LivePurchase): Promise<void> {
    p.withdrawSent = true;
    const market = this.options.markets.get(p.account)!;
    try {
      await market.withdraw(p.service, p.requestId);
      this.progress(`withdrew ${formatRequestId(p.requestId)} at ${p.service}`);
    } catch (error) {
      const explained = toOperatorError(error);
      if (
        explained.errorName === "ProviderServiceMitigationEnded" ||
        explained.errorName === "ProviderServiceWrongStatus"
      ) {
        return;
      }
      this.progress(`withdrawal of ${formatRequestId(p.requestId)} failed: ${explained.message}`);
    }
  }

  /** Follows the purchases' events until stop(). */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const p of this.purchases.values()) p.owner.abort.abort();
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await Promise.all([...this.running]);
  }

  private async follow(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.poll();
      } catch (error) {
        this.progress(`error following the chain: ${toOperatorError(error).message} (retrying)`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async poll(): Promise<void> {
    const { provider } = this.options;
    const head = await provider.getBlockNumber();
    if (this.cursor === undefined) this.cursor = head;
    const from = Math.min(this.cursor + 1, this.backfillFrom ?? Number.MAX_SAFE_INTEGER);
    this.backfillFrom = undefined;
    const addresses = [...new Set([...this.purchases.values()].map((p) => p.service))];
    if (addresses.length === 0 || from > head) {
      this.cursor = head;
      return;
    }
    const logs = await provider.getLogs({ address: addresses, topics: [TOPICS], fromBlock: from, toBlock: head });
    for (const log of logs) this.apply(log);
    this.cursor = head;
    // Once every log is applied: a purchase acknowledged (and not already withdrawn) for a
    // mitigation the client withdrew is withdrawn now.
    for (const p of this.purchases.values()) {
      if (p.owner.withdrawing && p.state === "acknowledged" && !p.withdrawSent) void this.withdraw(p);
    }
    await this.dropLapsedOrders(head);
  }

  private apply(log: Log): void {
    const id = `${log.transactionHash}:${log.index}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    const parsed = parseServiceLog(log);
    if (!parsed) return;
    const p = this.purchases.get(key(log.address, parsed.args.requestId as bigint));
    if (!p) return;
    switch (parsed.name) {
      case "MitigationAcknowledged":
      case "OrderSettled":
        p.state = "acknowledged";
        p.startedAt = Number(parsed.args.startedAt);
        break;
      case "MitigationRejected":
        p.state = "rejected";
        break;
      case "MitigationReclaimed":
        p.state = "reclaimed";
        break;
      case "MitigationWithdrawn":
        p.state = "withdrawn";
        break;
      case "MitigationStatusReported":
        p.status = Number(parsed.args.status);
        p.bytesDropped = parsed.args.bytesDropped as bigint;
        p.packetsDropped = parsed.args.packetsDropped as bigint;
        break;
    }
    p.owner.changed();
  }
}

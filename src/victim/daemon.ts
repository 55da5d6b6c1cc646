/**
 * The victim agent as a daemon fed by the network's detector. A notification `ban` names an
 * attacked address and the sources of the flows towards it; the daemon checks that it holds the
 * address, then buys from the providers near the sources through the victim agent (VictimAgent:
 * plan, request, follow, re-buy elsewhere), within its spending policy. It keeps every attacked
 * target covered while the attack lasts: sources already bought for are not bought again, new
 * sources are, and a mitigation about to end is bought again (renewed). `unban` ends the running
 * mitigations of the target early (withdraw).
 *
 * What it bought for which target is in SQLite (VictimStore); a purchase's intent is committed
 * before it is sent, and after a crash the requests it made are found on chain (a signed order is
 * recorded before it is sent). Every pass reconciles the store with the chain: answers nobody
 * followed (settlements of orders, or their lapse), withdrawals to send or confirm. Where a
 * provider publishes an order endpoint, the victim agent buys by signed order; the spending
 * policy reviews every purchase before either path.
 */
import { zeroPadValue, type Provider } from "ethers";

import { ProviderServiceContract__factory } from "../../typechain-types";
import { parseServiceLog, toRequestedEvent, type MarketClient } from "../clients/market";
import { isOrderRequestId } from "../clients/orders";
import type { RegistryClient } from "../clients/registry";
import { toOperatorError } from "../errors";
import { formatRequestId, formatTokens } from "../format";
import { Pause } from "../pause";
import { formatPrefix, parsePrefix } from "../prefix";
import { VictimAgent, type OrderReview, type Purchase } from "./agent";
import { DEFAULT_MAX_GAS_PER_TRANSACTION } from "./batches";
import type { DetectorNotification } from "./notification";
import type { PlannedOrder } from "./plan";
import { OrderDesk, readOrderRequest } from "./orders";
import { describeOrder, reviewOrders, type SpendingPolicy } from "./policy";
import { checkHolding } from "./purchase";
import type { PurchaseRecord, TargetRecord, VictimStore } from "./store";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const REQUESTED_TOPIC = ProviderServiceContract__factory.createInterface().getEvent("MitigationRequested").topicHash;

export interface VictimDaemonOptions {
  registry: RegistryClient;
  /** The market, acting as the victim. */
  market: MarketClient;
  provider: Provider;
  store: VictimStore;
  policy: SpendingPolicy;
  /** Milliseconds between passes (renewals, withdrawals, answers nobody follows). */
  pollMs?: number;
  /** Milliseconds between the victim agent's looks for answers while it follows a purchase. */
  followMs?: number;
  /** After a purchase failed, how long a target waits before the next pass tries again, ms. */
  retryMs?: number;
  /** The most gas one request transaction may be given. */
  maxGasPerTransaction?: bigint;
  /**
   * Signed orders where providers publish an endpoint (default: a desk of the daemon's own, which
   * keeps endpoints and approvals for its life); false buys by request only.
   */
  orders?: OrderDesk | false;
  /** A name for a service in log lines. */
  describeService?: (service: string) => string;
  /** One line per thing the daemon does or refuses. */
  onProgress?: (line: string) => void;
  /** After each pass that went through, with the head block it saw (metrics, health). */
  onPass?: (head: number) => void;
}

/** The daemon's answer to a notification, for the detector's log. */
export interface NotificationAnswer {
  /** False when the notification is refused: nothing is bought for it. */
  accepted: boolean;
  /** One sentence. */
  message: string;
}

function key(service: string, requestId: bigint): string {
  return `${service.toLowerCase()}/${requestId}`;
}

function sum(values: readonly bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export class VictimDaemon {
  private readonly registry: RegistryClient;
  private readonly market: MarketClient;
  private readonly provider: Provider;
  readonly store: VictimStore;
  /** Replaced as a whole on SIGHUP; each decision reads it once. */
  policy: SpendingPolicy;
  private readonly pollMs: number;
  private readonly followMs: number;
  private readonly retryMs: number;
  private readonly maxGasPerTransaction: bigint;
  private readonly orders: OrderDesk | false;
  private readonly describeService: (service: string) => string;
  private readonly progress: (line: string) => void;
  private readonly onPass: (head: number) => void;

  private me: string | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly pause = new Pause();
  private poked = false;
  /** Purchases in flight, by target: at most one per target at a time. */
  private readonly running = new Map<string, Promise<void>>();
  /** Intents of the purchases in flight. */
  private readonly runningIntents = new Set<number>();
  /** Requests a victim agent in flight follows (the passes leave them to it). */
  private readonly followed = new Set<string>();
  /** Spending approved by the policy and not yet recorded as purchases. */
  private reserved = 0n;
  /** When a target whose purchase failed may be tried again by a pass (wall-clock ms). */
  private readonly retryAt = new Map<string, number>();
  /** Ends the victim agents' following at stop (what they bought is recorded; a restart follows it). */
  private abort = new AbortController();

  constructor(options: VictimDaemonOptions) {
    this.registry = options.registry;
    this.market = options.market;
    this.provider = options.provider;
    this.store = options.store;
    this.policy = options.policy;
    this.pollMs = options.pollMs ?? 1000;
    this.followMs = options.followMs ?? 250;
    this.retryMs = options.retryMs ?? 30_000;
    this.maxGasPerTransaction = options.maxGasPerTransaction ?? DEFAULT_MAX_GAS_PER_TRANSACTION;
    this.orders = options.orders ?? new OrderDesk({ market: options.market, provider: options.provider });
    this.describeService = options.describeService ?? ((s) => s);
    this.progress = options.onProgress ?? (() => undefined);
    this.onPass = options.onPass ?? (() => undefined);
  }

  /** Recovers what a crash left in flight, approves the directory, and starts the passes. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.me = await this.market.runner.getAddress();
    this.stopping = false;
    this.abort = new AbortController();
    await this.recoverIntents();
    await this.keepAllowance();
    const attacked = this.store.targets("attacked").length;
    const running = this.store.purchases({ states: ["pending", "acknowledged", "withdrawing"] }).length;
    this.progress(
      `victim daemon for ${this.me}: ${plural(attacked, "target")} under attack, ${plural(running, "mitigation")} ` +
        `running or pending${this.policy.dryRun ? ", dry run: nothing will be bought" : ""}`,
    );
    this.loop = this.run();
  }

  /** Stops the passes, and the purchases in flight once their transactions are sent. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.pause.wake();
    await this.loop;
    this.loop = undefined;
    await Promise.allSettled([...this.running.values()]);
  }

  /** Runs the next pass now. */
  poke(): void {
    this.poked = true;
    this.pause.wake();
  }

  /** Whether a purchase for `target` is in flight. */
  busy(target?: string): boolean {
    return target === undefined ? this.running.size > 0 : this.running.has(target);
  }

  /**
   * Takes a detector's notification. A ban is answered once the policy has reviewed what it
   * would buy (the purchase then goes on); an unban at once (the withdrawals follow). A refusal
   * (accepted: false) says why in one sentence; nothing is bought for it.
   */
  async notify(notification: DetectorNotification): Promise<NotificationAnswer> {
    if (this.stopping || !this.loop) return refuse("The victim daemon is stopping: the notification was not taken.");
    return notification.action === "unban" ? this.unban(notification.target) : this.ban(notification);
  }

  private async ban(notification: DetectorNotification): Promise<NotificationAnswer> {
    const { target } = notification;
    if (notification.direction !== "incoming") {
      return refuse(
        `${target} is the source of an ${notification.direction} attack, not its target: ` +
          `the market filters traffic towards the networks it protects, so nothing is bought.`,
      );
    }
    const [held, head] = await Promise.allSettled([
      checkHolding(this.registry, this.me!, parsePrefix(target)),
      this.chainHead(),
    ]);
    if (held.status === "rejected") {
      const message = toOperatorError(held.reason).message;
      this.progress(`refused ${notification.action} of ${target}: ${message}`);
      return refuse(message);
    }
    if (head.status === "rejected") throw head.reason;
    const now = head.value.timestamp;
    // From here to the purchase nothing waits: a pass cannot start a second purchase meanwhile.
    const sources = notification.talkers.map((t) => t.source);
    const record = this.store.attacked(target, sources);
    // A repeated ban gives every source of the attack another chance (e.g. after a refusal).
    if (notification.action === "ban") this.store.clearSkips(target);
    this.progress(
      `${notification.action} of ${target} (${notification.pps} pps): ${plural(sources.length, "source")}` +
        (sources.length > 0 ? ` (${sources.join(", ")})` : ""),
    );
    if (record.sources.length === 0) {
      return refuse(
        `The ${notification.action} of ${target} names no attack sources, so there is nothing to buy yet ` +
          `(FastNetMon 1.2.4 sends none with an IPv6 ban).`,
      );
    }
    if (this.running.has(target)) {
      return accept(`A purchase for ${target} is in progress: its new sources are bought when it ends.`);
    }
    const { missing, coveredUntil } = this.uncovered(this.store.target(target)!, now);
    if (missing.length === 0) {
      return accept(
        `${target} is already mitigated: its ${plural(record.sources.length, "source")} are covered` +
          (coveredUntil === null ? " by pending purchases" : ` until ${new Date(coveredUntil * 1000).toISOString()}`) +
          " or were refused before.",
      );
    }
    return this.purchase(target, missing, "buy", head.value.number);
  }

  private unban(target: string): NotificationAnswer {
    if (!this.store.ended(target)) return accept(`${target} was not under attack here: there is nothing to end.`);
    const running = this.store.purchases({ target, states: ["pending", "acknowledged"] }).length;
    this.progress(`unban of ${target}: the attack is over, ending ${plural(running, "mitigation")}`);
    this.poke();
    return accept(`The attack on ${target} is over: its ${plural(running, "mitigation")} will be ended early.`);
  }

  // ---- buying ----

  /**
   * Which of the target's sources need buying: those no pending purchase covers and no
   * acknowledged one covers for more than `renewBefore` seconds, except those skipped this episode.
   */
  private uncovered(target: TargetRecord, now: number): { missing: string[]; coveredUntil: number | null } {
    const covered = new Set<string>();
    let coveredUntil: number | null = null;
    for (const p of this.store.purchases({ target: target.target, states: ["pending", "acknowledged"] })) {
      const lasting = p.state === "pending" || (p.endsAt !== null && p.endsAt - now > this.policy.renewBefore);
      if (!lasting) continue;
      for (const s of p.sources) covered.add(s);
      if (p.endsAt !== null) coveredUntil = Math.max(coveredUntil ?? 0, p.endsAt);
    }
    const missing = target.sources.filter((s) => !covered.has(s) && target.skipped[s] === undefined);
    return { missing, coveredUntil };
  }

  /**
   * Buys mitigation for `sources` of `target` through the victim agent, in the background.
   * Resolves with the answer to the detector once the policy has reviewed the plan (or the
   * purchase ended or failed before that); never rejects.
   */
  private purchase(
    target: string,
    sources: string[],
    why: "buy" | "renew" | "retry",
    fromBlock: number,
  ): Promise<NotificationAnswer> {
    let answer: (answer: NotificationAnswer) => void = () => undefined;
    const answered = new Promise<NotificationAnswer>((resolve) => (answer = resolve));
    let reserved = 0n;
    const mine: string[] = [];
    let intent: number | undefined;
    const say = (line: string) => this.progress(`${target}: ${line}`);
    const review = (orders: PlannedOrder[]): OrderReview => {
      const result = this.review(target, orders);
      const approvedCost = sum(result.approved.map((o) => o.price));
      reserved += approvedCost;
      this.reserved += approvedCost;
      answer(describeReview(target, orders, result, this.policy.dryRun, this.describeService));
      return result;
    };
    const onRequested = (purchases: readonly Purchase[]) => {
      const boughtAt = Date.now();
      this.store.atomically(() => {
        for (const p of purchases) {
          this.store.addPurchase({ ...p, target, state: "pending", boughtAt });
          mine.push(key(p.service, p.requestId));
          this.followed.add(key(p.service, p.requestId));
        }
      });
      // Recorded: from now on the store counts them.
      const recorded = sum(purchases.map((p) => p.price));
      const released = recorded < reserved ? recorded : reserved;
      reserved -= released;
      this.reserved -= released;
    };
    const onAnswered = (p: Purchase) => {
      this.store.setPurchaseState(p.service, p.requestId, p.state, p.endsAt);
    };
    const run = (async () => {
      intent = this.store.addIntent(target, sources, fromBlock);
      this.runningIntents.add(intent);
      say(`${why === "renew" ? "renewing" : "buying"} for ${plural(sources.length, "source")}: ${sources.join(", ")}`);
      const agent = new VictimAgent({
        registry: this.registry,
        market: this.market,
        provider: this.provider,
        ackWindow: this.policy.ackWindow,
        pollMs: this.followMs,
        kinds: this.policy.kinds,
        maxGasPerTransaction: this.maxGasPerTransaction,
        throughDirectory: true,
        orders: this.orders,
        timeoutMs: (this.policy.ackWindow + 60) * 1000,
        signal: this.abort.signal,
        describeService: this.describeService,
        onProgress: say,
        review,
        onRequested,
        onAnswered,
      });
      const summary = await agent.run({
        target,
        lifetime: this.policy.duration,
        topTalkers: sources.map((source) => ({ source })),
      });
      this.store.closeIntent(intent);
      // Sources nobody serves, or the policy refused, wait for the next notification.
      this.store.skip(target, Object.fromEntries(summary.unserved.map((u) => [u.source, u.reason])));
      const acknowledged = summary.purchases.filter((p) => p.state === "acknowledged");
      answer(
        summary.purchases.some((p) => p.state !== "lapsed")
          ? accept(`Bought for ${target}: ${plural(acknowledged.length, "mitigation")} running.`)
          : refuse(
              `Nothing can be bought for ${target}: ` +
                summary.unserved.map((u) => `${u.source}: ${u.reason}`).join("; ") +
                ".",
            ),
      );
      say(
        `${plural(acknowledged.length, "mitigation")} running, ${formatTokens(summary.cost)} paid, ` +
          `${plural(summary.unserved.length, "source")} not served`,
      );
    })()
      .catch((error: unknown) => {
        const message = toOperatorError(error).message;
        this.retryAt.set(target, Date.now() + this.retryMs);
        say(`purchase failed: ${message} (a pass retries in ${this.retryMs} ms, a notification at once)`);
        answer(refuse(`Buying for ${target} failed: ${message}`));
      })
      .finally(() => {
        this.reserved -= reserved;
        for (const k of mine) this.followed.delete(k);
        if (intent !== undefined) this.runningIntents.delete(intent);
        this.running.delete(target);
        this.poke();
      });
    this.running.set(target, run);
    this.retryAt.delete(target);
    return answered;
  }

  /** The policy's review, with one log line per refusal; in a dry run it refuses everything. */
  private review(target: string, orders: readonly PlannedOrder[]): OrderReview {
    if (this.store.target(target)?.state !== "attacked") {
      return { approved: [], refused: orders.map((order) => ({ order, reason: "the attack is over" })) };
    }
    const now = Date.now();
    const spent = {
      lastHour: this.store.spentSince(now - HOUR_MS) + this.reserved,
      lastDay: this.store.spentSince(now - DAY_MS) + this.reserved,
    };
    const { approved, refused } = reviewOrders(this.policy, orders, spent);
    for (const r of refused) {
      this.progress(
        `${target}: the spending policy refuses ${describeOrder(r.order, this.describeService)}: ${r.reason}`,
      );
    }
    if (!this.policy.dryRun) return { approved, refused };
    for (const order of approved) {
      this.progress(`${target}: dry run: would buy ${describeOrder(order, this.describeService)}`);
    }
    return { approved: [], refused: [...refused, ...approved.map((order) => ({ order, reason: "dry run" }))] };
  }

  // ---- the passes ----

  private async run(): Promise<void> {
    let delay = this.pollMs;
    let failing = false;
    while (!this.stopping) {
      try {
        await this.tick();
        if (failing) this.progress("the node answers again");
        failing = false;
        delay = this.pollMs;
      } catch (error) {
        delay = failing ? Math.min(delay * 2, 30_000) : this.pollMs;
        failing = true;
        this.progress(`error: ${toOperatorError(error).message} (retrying in ${delay} ms)`);
      }
      await this.sleep(delay);
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopping || this.poked) return;
    await this.pause.wait(ms);
  }

  /** One pass: recover, follow what nobody follows, end, withdraw, renew. Tests call it directly. */
  async tick(): Promise<void> {
    this.poked = false;
    await this.recoverIntents();
    const { number, timestamp: now } = await this.chainHead();
    await this.followUnfollowed(now);
    this.expire(now);
    await this.withdrawEnded(now);
    this.fill(now, number);
    await this.keepAllowance();
    this.onPass(number);
  }

  private async chainHead(): Promise<{ number: number; timestamp: number }> {
    const block = await this.provider.getBlock("latest");
    if (block === null) throw new Error("The node returned no latest block.");
    return { number: block.number, timestamp: block.timestamp };
  }

  /**
   * Intents left open by a crash or a failed purchase: the requests they may have made are found
   * on chain (MitigationRequested with this requester, from the intent's block) and recorded.
   */
  private async recoverIntents(): Promise<void> {
    const open = this.store.openIntents().filter((i) => !this.runningIntents.has(i.id));
    if (open.length === 0) return;
    const me = zeroPadValue(this.me!, 32);
    for (const intent of open) {
      const logs = await this.provider.getLogs({
        topics: [REQUESTED_TOPIC, null, me],
        fromBlock: intent.fromBlock,
        toBlock: "latest",
      });
      for (const log of logs) {
        const parsed = parseServiceLog(log);
        if (parsed?.name !== "MitigationRequested") continue;
        const event = toRequestedEvent(log.address, parsed.args, log.blockNumber, log.transactionHash);
        if (formatPrefix(event.target) !== intent.target || this.store.purchase(event.service, event.requestId))
          continue;
        // Any contract can emit this event: only a service of the directory counts.
        const provider = await this.market.directory.providerOf(event.service);
        if (/^0x0+$/.test(provider)) continue;
        const offering = (await this.market.offerings(event.service)).find((o) => o.id === event.offeringId);
        this.store.addPurchase({
          service: event.service,
          requestId: event.requestId,
          target: intent.target,
          sources: event.sources.map((s) => formatPrefix(s)),
          offeringId: event.offeringId,
          kind: offering?.kind ?? "flow-filtering",
          price: event.price,
          ackDeadline: event.ackDeadline,
          state: "pending",
          boughtAt: Date.now(),
        });
        this.progress(
          `${intent.target}: recovered ${formatRequestId(event.requestId)} at ${this.describeService(event.service)} from the chain`,
        );
      }
      this.store.closeIntent(intent.id);
    }
  }

  /**
   * Pending purchases no victim agent follows (after a restart): their answers, or a reclaim; an
   * order's settlement, or its lapse once it expired unsettled.
   */
  private async followUnfollowed(now: number): Promise<void> {
    const pending = this.store
      .purchases({ states: ["pending", "withdrawing"] })
      .filter((p) => !this.followed.has(key(p.service, p.requestId)));
    for (const p of pending) {
      const info = isOrderRequestId(p.requestId)
        ? await readOrderRequest(this.market, p.service, p.requestId)
        : await this.market.getRequest(p.service, p.requestId);
      const label = `${p.target}: ${formatRequestId(p.requestId)} at ${this.describeService(p.service)}`;
      if (info.status === "none" || info.status === "cancelled") {
        // An order not settled: it never will be once cancelled, or once the chain is past its expiry.
        if (info.status === "cancelled" || now > p.ackDeadline) {
          this.store.setPurchaseState(p.service, p.requestId, "lapsed");
          this.progress(`${label}: the order lapsed unsettled`);
        }
        continue;
      }
      if (p.state === "withdrawing") {
        // A withdrawal sent before a crash, or that failed: settled by the chain's state.
        if (info.status === "withdrawn") this.store.setPurchaseState(p.service, p.requestId, "withdrawn", info.endsAt);
        else if (info.status !== "acknowledged" || info.endsAt <= now) {
          this.store.setPurchaseState(p.service, p.requestId, "ended", info.endsAt);
        } else this.store.setPurchaseState(p.service, p.requestId, "acknowledged", info.endsAt);
        continue;
      }
      switch (info.status) {
        case "acknowledged":
          this.store.setPurchaseState(p.service, p.requestId, "acknowledged", info.endsAt);
          this.progress(`${label} acknowledged`);
          break;
        case "withdrawn":
          this.store.setPurchaseState(p.service, p.requestId, "withdrawn", info.endsAt);
          break;
        case "rejected":
        case "reclaimed":
          this.store.setPurchaseState(p.service, p.requestId, info.status);
          this.progress(`${label} ${info.status}`);
          break;
        case "pending":
          if (now <= p.ackDeadline) break;
          await this.market.reclaim(p.service, p.requestId);
          this.store.setPurchaseState(p.service, p.requestId, "reclaimed");
          this.progress(`${label} was not answered by its deadline: escrow reclaimed`);
          break;
      }
    }
  }

  /** Acknowledged mitigations past their end. */
  private expire(now: number): void {
    for (const p of this.store.purchases({ states: ["acknowledged"] })) {
      if (p.endsAt !== null && p.endsAt <= now) this.store.setPurchaseState(p.service, p.requestId, "ended");
    }
  }

  /** Withdraws the running mitigations of targets no longer under attack, all together. */
  private async withdrawEnded(now: number): Promise<void> {
    const ended = new Set(this.store.targets("ended").map((t) => t.target));
    const toWithdraw = this.store
      .purchases({ states: ["acknowledged"] })
      .filter((p) => ended.has(p.target) && p.endsAt !== null && p.endsAt > now);
    if (toWithdraw.length === 0) return;
    this.store.atomically(() => {
      for (const p of toWithdraw) this.store.setPurchaseState(p.service, p.requestId, "withdrawing");
    });
    const results = await Promise.allSettled(toWithdraw.map((p) => this.withdraw(p)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    // What failed stays "withdrawing": the next pass asks the chain and sends it again if needed.
    if (failed.length > 0) throw toOperatorError(failed[0].reason);
  }

  private async withdraw(p: PurchaseRecord): Promise<void> {
    const receipt = await this.market.withdraw(p.service, p.requestId);
    let endedAt: number | undefined;
    for (const log of receipt.logs) {
      const parsed = parseServiceLog(log);
      if (parsed?.name === "MitigationWithdrawn") endedAt = Number(parsed.args.endedAt);
    }
    this.store.setPurchaseState(p.service, p.requestId, "withdrawn", endedAt);
    this.progress(`${p.target}: withdrew ${formatRequestId(p.requestId)} at ${this.describeService(p.service)}`);
  }

  /** Buys what the targets under attack miss: new sources, and renewals of mitigations about to end. */
  private fill(now: number, head: number): void {
    for (const target of this.store.targets("attacked")) {
      if (this.running.has(target.target) || (this.retryAt.get(target.target) ?? 0) > Date.now()) continue;
      const { missing } = this.uncovered(target, now);
      if (missing.length === 0) continue;
      const renewing = this.store
        .purchases({ target: target.target, states: ["acknowledged"] })
        .some((p) => p.sources.some((s) => missing.includes(s)));
      // The answer goes to no one: the purchase logs its own progress and failures.
      void this.purchase(
        target.target,
        missing,
        renewing ? "renew" : this.retryAt.has(target.target) ? "retry" : "buy",
        head,
      );
    }
  }

  /**
   * Keeps the directory approved for a day's budget, so that a purchase sends its request
   * alone (an approval first would cost a block). Approves again when half of it is spent.
   */
  private async keepAllowance(): Promise<void> {
    if (this.policy.dryRun) return;
    const directory = await this.market.directory.getAddress();
    const allowance = await this.market.token.allowance(this.me!, directory);
    if (allowance >= this.policy.budgetPerDay / 2n) return;
    await this.market.ensureAllowance(directory, this.policy.budgetPerDay);
    this.progress(`approved the directory for ${formatTokens(this.policy.budgetPerDay)} (the daily budget)`);
  }
}

function accept(message: string): NotificationAnswer {
  return { accepted: true, message };
}

function refuse(message: string): NotificationAnswer {
  return { accepted: false, message };
}

/** The answer to a ban once the policy has reviewed the plan. */
function describeReview(
  target: string,
  orders: readonly PlannedOrder[],
  review: OrderReview,
  dryRun: boolean,
  describeService: (service: string) => string,
): NotificationAnswer {
  const list = (items: readonly PlannedOrder[]) => items.map((o) => describeOrder(o, describeService)).join("; ");
  if (dryRun) {
    const would = review.refused.filter((r) => r.reason === "dry run").map((r) => r.order);
    return accept(`Dry run for ${target}: would buy ${would.length > 0 ? list(would) : "nothing"}.`);
  }
  if (review.approved.length === 0) {
    return refuse(
      `The spending policy refuses all ${plural(orders.length, "order")} for ${target}: ` +
        review.refused.map((r) => `${describeOrder(r.order, describeService)}: ${r.reason}`).join("; ") +
        ".",
    );
  }
  const refused =
    review.refused.length > 0
      ? `; the spending policy refuses ${review.refused.map((r) => `${describeOrder(r.order, describeService)} (${r.reason})`).join("; ")}`
      : "";
  return accept(`Buying for ${target}: ${list(review.approved)}${refused}.`);
}

/**
 * The provider agent's order intake: checks each signed order a victim posts and, when it passes,
 * commits it to the store before answering 202. Built for thousands of orders a second:
 *
 * - what needs no chain is checked at once, as the order arrives: wire format, service, expiry,
 *   duplicates, the offering's terms (cached), the signature (native secp256k1);
 * - what needs the chain is read for the orders waiting, in one JSON-RPC batch per intake tick:
 *   the registry's `settlementStanding` per (victim, target), balance and allowance per victim, where
 *   each source originates, ERC-1271 answers for contract wallets. The answers are kept a few
 *   seconds (`chainCacheMs`): a victim sending order after order is read a few times a minute, not
 *   once per order. A balance is kept with the block it was read at, and this service's own
 *   settlements are taken off it as they are seen, so the orders already waiting are counted
 *   against what is really left. An order that kept answers would refuse is judged again on fresh
 *   ones when the chain has moved since they were read: staleness never refuses an order, and at
 *   worst lets one through that settlement then skips, moving nothing;
 * - every order accepted in a tick is committed in one SQLite transaction, then answered.
 *
 * Settlement re-checks everything on chain: what the intake lets through that no longer holds by
 * then is skipped with its reason, never paid for.
 */
import type { OfferingInfo } from "../clients/market";
import { priceOf } from "../clients/market";
import {
  encodeOrderTuple,
  fromOrderJson,
  hashOrder,
  isOrderSignedBy,
  orderRequestId,
  type SignedOrder,
} from "../clients/orders";
import { OperatorError, toOperatorError } from "../errors";
import { formatTokens } from "../format";
import { formatPrefix, type Prefix } from "../prefix";
import type { JsonRpc } from "../rpc";
import {
  allowanceCall,
  balanceOfCall,
  blockNumberCall,
  coveringAsnCall,
  isValidSignatureCall,
  settlementStandingCall,
  readViews,
  servicesForAsnCall,
  type OrderStanding,
  type ViewCall,
} from "./chainReads";
import { decide, type PolicyOptions, type SourceOrigin } from "./policy";
import { OPEN_ORDER_STATES, type AgentStore, type NewOrder, type OrderState } from "./store";
import { standingVerdict } from "./verify";

/** The answer to one order: 202 with its hash and request id, or an error status with one sentence. */
export type OrderAnswer =
  { status: 202; orderHash: string; requestId: string } | { status: 400 | 402 | 403 | 409 | 422 | 503; error: string };

/** What `GET /orders/<hash>` says of an order this agent took. */
export interface OrderStatus {
  state: "accepted" | "settled" | "skipped" | "expired";
  requestId: string;
  reason?: string;
}

const PUBLIC_STATE: Record<OrderState, OrderStatus["state"]> = {
  accepted: "accepted",
  sending: "accepted",
  settled: "settled",
  skipped: "skipped",
  expired: "expired",
};

/** Where the chain is, as the agent last saw it. */
export interface ChainClock {
  /** The chain's time now (seconds), estimated from the last block seen; undefined before the first. */
  now(): number | undefined;
}

/** The service's offerings and the contract's limits, as the agent last read them. */
export interface Terms {
  offerings: ReadonlyMap<number, OfferingInfo>;
  maxSources: number;
}

/** What each victim has claimed of its balance and allowance here: orders accepted, not yet settled. */
export class Claims {
  private readonly byRequester = new Map<string, { total: bigint; count: number }>();
  /** Told of each payment as its claim is released (the intake takes it off the balance it read). */
  onPaid: ((requester: string, price: bigint, block: number) => void) | undefined;

  /** Starts again from the store's open orders. */
  reload(store: AgentStore): void {
    this.byRequester.clear();
    for (const { requester, price } of store.orderClaims(OPEN_ORDER_STATES)) this.add(requester, price);
  }

  of(requester: string): { total: bigint; count: number } {
    return this.byRequester.get(requester.toLowerCase()) ?? { total: 0n, count: 0 };
  }

  add(requester: string, price: bigint): void {
    const key = requester.toLowerCase();
    const current = this.byRequester.get(key) ?? { total: 0n, count: 0 };
    this.byRequester.set(key, { total: current.total + price, count: current.count + 1 });
  }

  /**
   * An order left the open states: settled (`paidInBlock`: the block whose settlement paid for it),
   * skipped or expired (nothing paid).
   */
  release(requester: string, price: bigint, paidInBlock?: number): void {
    if (paidInBlock !== undefined) this.onPaid?.(requester, price, paidInBlock);
    const key = requester.toLowerCase();
    const current = this.byRequester.get(key);
    if (current === undefined) return;
    if (current.count <= 1) this.byRequester.delete(key);
    else this.byRequester.set(key, { total: current.total - price, count: current.count - 1 });
  }
}

export interface OrderIntakeOptions {
  service: string;
  /** The provider's account: it may not buy from itself. */
  provider: string;
  chainId: bigint;
  registry: string;
  token: string;
  directory: string;
  rpc: JsonRpc;
  store: AgentStore;
  claims: Claims;
  clock: ChainClock;
  /** The offerings, or undefined until they are first read. */
  terms: () => Terms | undefined;
  policy: PolicyOptions;
  /** An order must have this many seconds left before its expiry to be accepted. */
  minLifetimeSeconds: number;
  /** The gas settlement budgets for an order (by its sources, and whether a wallet checks it). */
  orderGas: (sources: number, wallet: boolean) => number;
  /** Orders waiting for their chain checks beyond which new ones are refused (503). */
  maxWaiting?: number;
  /** Milliseconds an intake tick waits for more orders to read the chain for all at once. */
  gatherMs?: number;
  /** How long where a source originates, and which services cover an AS, are remembered, ms. */
  originCacheMs?: number;
  /** How long a victim's standing, balance and allowance are remembered, ms (0: read for every tick). */
  chainCacheMs?: number;
  /** Called after orders were accepted (settlement may go). */
  onAccepted?: () => void;
  onProgress?: (line: string) => void;
}

/** An order that passed the local checks and waits for its chain checks. */
interface Waiting {
  signed: SignedOrder;
  hash: string;
  requestId: bigint;
  price: bigint;
  offering: OfferingInfo;
  /** The signature is not the requester's key's: its wallet (ERC-1271) must accept it. */
  wallet: boolean;
  /** The wallet's answer, once read. */
  walletAccepts?: boolean;
  /** Judged again on fresh answers: the kept ones would have refused it. */
  rechecked: boolean;
  /** Where its requester's standing for its target is kept: "<requester, lower case>/<target>". */
  standingKey: string;
  resolve: (answer: OrderAnswer) => void;
}

/** A kept chain answer: the follower's cursor and the clock (ms) when it was read. */
interface Kept {
  cursor: number | undefined;
  at: number;
}

/** A victim's money as read from the chain at `block`, less this service's payments seen since. */
interface Money extends Kept {
  balance: bigint;
  allowance: bigint;
  block: number;
}

interface KeptStanding extends Kept {
  standing: OrderStanding;
}

interface Payment {
  requester: string;
  price: bigint;
  block: number;
}

/** An allowance of 2^256 - 1 is never spent down (OpenZeppelin's ERC-20). */
const UNLIMITED = (1n << 256n) - 1n;

/** Counts of answers, for progress lines and measurements. */
export interface IntakeCounts {
  accepted: number;
  refused: number;
  /** Intake ticks run, JSON-RPC batches they sent, and the views read in them. */
  ticks: number;
  batches: number;
  views: number;
}

const refuse = (status: 400 | 402 | 403 | 409 | 422 | 503, error: string): OrderAnswer => ({ status, error });

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

export class OrderIntake {
  readonly counts: IntakeCounts = { accepted: 0, refused: 0, ticks: 0, batches: 0, views: 0 };
  private readonly options: OrderIntakeOptions;
  private readonly maxWaiting: number;
  private readonly gatherMs: number;
  private readonly originCacheMs: number;
  private queue: Waiting[] = [];
  /** Orders being checked, by hash: a copy posted meanwhile waits for the first one's answer. */
  private readonly inFlight = new Map<string, Promise<OrderAnswer>>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  private readonly chainCacheMs: number;
  /** Chain answers kept `chainCacheMs`: per victim, and per (victim, target). */
  private readonly money = new Map<string, Money>();
  private readonly standing = new Map<string, KeptStanding>();
  /** The payments seen while balances are being read, if they are. */
  private paidMeanwhile: Payment[] | undefined;
  /** Where sources originate, and which ASes this service covers, with when they were read. */
  private readonly origins = new Map<string, { asn: number | null; at: number }>();
  private readonly coverage = new Map<number, { covered: boolean; at: number }>();
  /** Mitigations running or promised per offering, counted from the store now and then. */
  private inUse = new Map<number, number>();
  private inUseAt = 0;

  constructor(options: OrderIntakeOptions) {
    this.options = options;
    this.maxWaiting = options.maxWaiting ?? 20_000;
    this.gatherMs = options.gatherMs ?? 5;
    this.originCacheMs = options.originCacheMs ?? 60_000;
    this.chainCacheMs = options.chainCacheMs ?? 5_000;
    options.claims.onPaid = (requester, price, block) => this.paid(requester, price, block);
  }

  /** A payment from `requester` settled in `block`: off its balance (and allowance) if read before. */
  private paid(requester: string, price: bigint, block: number): void {
    this.paidMeanwhile?.push({ requester, price, block });
    const money = this.money.get(requester.toLowerCase());
    if (money === undefined || block <= money.block) return;
    money.balance = money.balance > price ? money.balance - price : 0n;
    if (money.allowance !== UNLIMITED) money.allowance = money.allowance > price ? money.allowance - price : 0n;
  }

  /** The provider's account, once known (the desk reads it before the intake opens). */
  setProvider(provider: string): void {
    this.options.provider = provider;
  }

  /** Checks one order (its wire JSON) and answers once it is accepted (committed) or refused. */
  submit(json: unknown): Promise<OrderAnswer> {
    const local = this.prepare(json);
    if ("status" in local) {
      if (local.status !== 202) this.counts.refused++;
      return Promise.resolve(local);
    }
    return local.answer;
  }

  /** Checks many orders together; the answers in the same order. */
  submitMany(list: readonly unknown[]): Promise<OrderAnswer[]> {
    return Promise.all(list.map((json) => this.submit(json)));
  }

  /** What became of an order this agent took; undefined if it never took it. */
  status(hash: string): OrderStatus | undefined {
    const order = this.options.store.order(hash.toLowerCase());
    if (order === undefined) return undefined;
    const status: OrderStatus = { state: PUBLIC_STATE[order.state], requestId: order.requestId.toString() };
    if (order.reason !== null && (order.state === "skipped" || order.state === "expired")) status.reason = order.reason;
    return status;
  }

  /** How many orders wait for their chain checks. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Refuses everything from now on and answers the orders still waiting with 503. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    for (const w of this.queue.splice(0)) w.resolve(refuse(503, "The provider agent is stopping: try again later."));
  }

  // ---- the checks that need no chain ----

  private prepare(json: unknown): OrderAnswer | { answer: Promise<OrderAnswer> } {
    const o = this.options;
    if (this.closed) return refuse(503, "The provider agent is stopping: try again later.");
    let signed: SignedOrder;
    try {
      signed = fromOrderJson(json);
    } catch (error) {
      return refuse(400, toOperatorError(error).message);
    }
    const { order } = signed;
    if (order.service.toLowerCase() !== o.service.toLowerCase()) {
      return refuse(403, `The order is for the service ${order.service}, not this one (${o.service}).`);
    }
    const now = o.clock.now();
    const terms = o.terms();
    if (now === undefined || terms === undefined) {
      return refuse(503, "The provider agent has not read the chain yet: try again in a moment.");
    }
    if (this.queue.length >= this.maxWaiting) {
      return refuse(
        503,
        `The provider agent has ${this.queue.length} orders waiting to be checked: try again shortly.`,
      );
    }
    const hash = hashOrder(order, o.chainId);
    const requestId = orderRequestId(order.requester, hash);
    if (order.requester.toLowerCase() === o.provider.toLowerCase()) {
      return refuse(403, `${order.requester} is this service's provider: a provider cannot buy from itself.`);
    }
    const early = this.checkTerms(signed, now, terms);
    if (early !== undefined) return early;

    const copy = this.inFlight.get(hash);
    // The same order posted again while the first copy is checked: it gets the first one's
    // answer, except that an acceptance is now a duplicate.
    if (copy !== undefined) return { answer: copy.then((a) => (a.status === 202 ? this.duplicate(hash) : a)) };
    const known = o.store.orderState(hash);
    if (known !== undefined) return this.duplicate(hash, known);
    if (o.store.isCancelledOrder(hash)) return refuse(409, `The order ${hash} was cancelled by its requester.`);

    const denied = (o.policy.denyRequesters ?? []).some((a) => a.toLowerCase() === order.requester.toLowerCase());
    if (denied) return refuse(403, `${order.requester} is not served by this provider.`);
    const offering = terms.offerings.get(order.offeringId)!;
    const wallet = !isOrderSignedBy(hash, signed.signature, order.requester);
    const answer = new Promise<OrderAnswer>((resolve) =>
      this.queue.push({
        signed,
        hash,
        requestId,
        price: priceOf(offering.pricePerHour, order.duration),
        offering,
        wallet,
        rechecked: false,
        standingKey: `${order.requester.toLowerCase()}/${formatPrefix(order.target)}`,
        resolve,
      }),
    );
    this.inFlight.set(hash, answer);
    void answer.then(() => this.inFlight.delete(hash));
    this.schedule();
    return { answer };
  }

  private duplicate(hash: string, state?: OrderState): OrderAnswer {
    const what =
      state === undefined || state === "accepted" || state === "sending"
        ? "already accepted"
        : state === "settled"
          ? "already settled"
          : `already taken, and ${state}`;
    return refuse(409, `The order ${hash} was ${what}.`);
  }

  /** The order's terms against the offering's and the clock: 422 when this service does not sell it. */
  private checkTerms({ order }: SignedOrder, now: number, terms: Terms): OrderAnswer | undefined {
    const min = this.options.minLifetimeSeconds;
    if (order.expiry < now) return refuse(422, `The order expired at ${iso(order.expiry)}.`);
    if (order.expiry < now + min) {
      return refuse(
        422,
        `The order expires at ${iso(order.expiry)}, in ${order.expiry - now} s: it needs at least ${min} s left to be settled.`,
      );
    }
    if (order.sources.length === 0 || order.sources.length > terms.maxSources) {
      return refuse(422, `An order lists 1 to ${terms.maxSources} attack sources, not ${order.sources.length}.`);
    }
    const offering = terms.offerings.get(order.offeringId);
    if (offering === undefined) return refuse(422, `Offering ${order.offeringId} of this service does not exist.`);
    if (!offering.active) return refuse(422, `Offering ${order.offeringId} is not active.`);
    if (order.duration === 0 || order.duration > offering.maxDuration) {
      return refuse(
        422,
        `A duration of ${order.duration} s is not sold: offering ${order.offeringId} sells 1 to ${offering.maxDuration} s.`,
      );
    }
    const price = priceOf(offering.pricePerHour, order.duration);
    if (price > order.maxPrice) {
      return refuse(
        422,
        `The price of ${order.duration} s of offering ${order.offeringId} is ${formatTokens(price)}, above the order's maximum of ${formatTokens(order.maxPrice)}.`,
      );
    }
    return undefined;
  }

  // ---- the checks that need the chain, for every order waiting at once ----

  private schedule(): void {
    if (this.timer !== undefined || this.running !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (this.queue.length > 0) this.schedule();
      });
    }, this.gatherMs);
  }

  /** One intake tick: reads the chain for every order waiting, judges each, commits, answers. */
  private async tick(): Promise<void> {
    const batch = this.queue.splice(0);
    if (batch.length === 0) return;
    this.counts.ticks++;
    try {
      await this.readChain(batch);
      this.queue.unshift(...this.judge(batch));
    } catch (error) {
      const message = toOperatorError(error).message;
      this.options.onProgress?.(`order intake: reading the chain failed: ${message}`);
      for (const w of batch) {
        this.counts.refused++;
        w.resolve(refuse(503, "The provider agent cannot read the chain right now: try again shortly."));
      }
    }
  }

  /** Whether a kept answer may serve `w`: young enough, and for a recheck read since the chain moved. */
  private usable(kept: Kept | undefined, w: Waiting, now: number): boolean {
    if (kept === undefined || now - kept.at > this.chainCacheMs) return false;
    return !w.rechecked || kept.cursor === this.options.store.cursor();
  }

  /** Fills the caches every waiting order needs, in one JSON-RPC batch (two when ASes are new). */
  private async readChain(batch: readonly Waiting[]): Promise<void> {
    const o = this.options;
    const cursor = o.store.cursor();
    const now = Date.now();
    this.forget(now);
    const views: ViewCall<unknown>[] = [];
    const apply: ((value: unknown) => void)[] = [];
    const ask = <T>(view: ViewCall<T>, use: (value: T) => void) => {
      views.push(view);
      apply.push(use as (value: unknown) => void);
    };
    // The block the balances are read at: asked first in the batch, which the node answers in order.
    let block = 0;
    ask(blockNumberCall(), (n) => (block = n));
    const moneyAsked = new Set<string>();
    const standingAsked = new Set<string>();
    const sourcesAsked = new Set<string>();
    for (const w of batch) {
      const { requester, target, sources } = w.signed.order;
      const key = requester.toLowerCase();
      if (!this.usable(this.money.get(key), w, now) && !moneyAsked.has(key)) {
        moneyAsked.add(key);
        const money: Money = { balance: 0n, allowance: 0n, block: 0, cursor, at: now };
        ask(balanceOfCall(o.token, requester), (v) => (money.balance = v));
        ask(allowanceCall(o.token, requester, o.service), (v) => {
          money.allowance = v;
          money.block = block;
          this.money.set(key, money);
        });
      }
      const { standingKey } = w;
      if (!this.usable(this.standing.get(standingKey), w, now) && !standingAsked.has(standingKey)) {
        standingAsked.add(standingKey);
        ask(settlementStandingCall(o.registry, requester, target), (v) =>
          this.standing.set(standingKey, { standing: v, cursor, at: now }),
        );
      }
      for (const source of sources) {
        const text = formatPrefix(source);
        const cached = this.origins.get(text);
        if ((cached === undefined || now - cached.at > this.originCacheMs) && !sourcesAsked.has(text)) {
          sourcesAsked.add(text);
          ask(coveringAsnCall(o.registry, source), (asn) => this.origins.set(text, { asn, at: now }));
        }
      }
      if (w.wallet) {
        ask(isValidSignatureCall(requester, w.hash, w.signed.signature), (valid) => (w.walletAccepts = valid));
      }
    }
    // Only the block number asked: every answer was kept.
    if (views.length > 1) {
      // Payments seen while the balances are read are taken off them after, if of a later block.
      const paidMeanwhile: Payment[] = [];
      this.paidMeanwhile = paidMeanwhile;
      try {
        await this.run(views, apply);
      } finally {
        this.paidMeanwhile = undefined;
      }
      for (const p of paidMeanwhile) this.paid(p.requester, p.price, p.block);
    }
    // Which services cover the ASes the sources come from: a second round, for ASes not known yet.
    const asns = new Set<number>();
    for (const w of batch) {
      for (const source of w.signed.order.sources) {
        const asn = this.origins.get(formatPrefix(source))?.asn;
        const cached = asn === null || asn === undefined ? undefined : this.coverage.get(asn);
        if (asn !== null && asn !== undefined && (cached === undefined || now - cached.at > this.originCacheMs)) {
          asns.add(asn);
        }
      }
    }
    if (asns.size > 0) {
      views.length = 0;
      apply.length = 0;
      for (const asn of asns) {
        ask(servicesForAsnCall(o.directory, asn), (services) =>
          this.coverage.set(asn, {
            covered: services.some((s) => s.toLowerCase() === o.service.toLowerCase()),
            at: now,
          }),
        );
      }
      await this.run(views, apply);
    }
  }

  /** Drops kept answers past their time once there are many (victims come and go). */
  private forget(now: number): void {
    for (const map of [this.money, this.standing] as Map<string, Kept>[]) {
      if (map.size < 50_000) continue;
      for (const [key, kept] of map) if (now - kept.at > this.chainCacheMs) map.delete(key);
    }
  }

  private async run(views: ViewCall<unknown>[], apply: ((value: unknown) => void)[]): Promise<void> {
    if (views.length === 0) return;
    this.counts.batches++;
    this.counts.views += views.length;
    const results = await readViews(this.options.rpc, views);
    results.forEach((result, i) => {
      if (result.ok) apply[i](result.value);
      // ERC-1271: a wallet that reverts does not accept the signature.
      else if (isWalletCall(views[i])) apply[i](false);
      else throw new OperatorError(`A chain read for the order intake failed: ${result.error}`);
    });
  }

  /**
   * Judges each order with the chain's answers, in arrival order, then commits the accepted ones.
   * Returns the orders to judge again on fresh answers (kept ones would refuse them).
   */
  private judge(batch: readonly Waiting[]): Waiting[] {
    const recheck: Waiting[] = [];
    if (batch.length === 0) return recheck;
    const o = this.options;
    const now = o.clock.now() ?? 0;
    this.refreshInUse();
    const accepted: { waiting: Waiting; order: NewOrder }[] = [];
    const answers = new Map<Waiting, OrderAnswer>();
    for (const w of batch) {
      const answer = this.judgeOne(w, now);
      if ("order" in answer) accepted.push({ waiting: w, order: answer.order });
      else if (this.staleRefusal(w, answer.status)) {
        w.rechecked = true;
        recheck.push(w);
      } else answers.set(w, answer);
    }
    try {
      o.store.atomically(() => {
        for (const { order } of accepted) o.store.addOrder(order);
      });
    } catch (error) {
      // Nothing was committed: undo the claims counted for them, and say so.
      for (const { waiting } of accepted) {
        o.claims.release(waiting.signed.order.requester, waiting.price);
        this.inUse.set(waiting.offering.id, (this.inUse.get(waiting.offering.id) ?? 1) - 1);
      }
      const message = `The provider agent could not record the order: ${toOperatorError(error).message}`;
      for (const { waiting } of accepted) answers.set(waiting, refuse(503, message));
      accepted.length = 0;
    }
    for (const { waiting } of accepted) {
      answers.set(waiting, { status: 202, orderHash: waiting.hash, requestId: waiting.requestId.toString() });
    }
    for (const [w, answer] of answers) {
      if (answer.status === 202) this.counts.accepted++;
      else this.counts.refused++;
      w.resolve(answer);
    }
    if (accepted.length > 0) o.onAccepted?.();
    return recheck;
  }

  /**
   * A refusal (402, 403, 409) that rests on answers read before the chain last moved, not yet
   * rechecked: a victim that has just approved or bought more must not be refused on old figures.
   */
  private staleRefusal(w: Waiting, status: number): boolean {
    if (w.rechecked || (status !== 402 && status !== 403 && status !== 409)) return false;
    const cursor = this.options.store.cursor();
    const standing = this.standing.get(w.standingKey);
    const money = this.money.get(w.signed.order.requester.toLowerCase());
    return standing?.cursor !== cursor || money?.cursor !== cursor;
  }

  private judgeOne(w: Waiting, now: number): OrderAnswer | { order: NewOrder } {
    const o = this.options;
    const { order, signature } = w.signed;
    const key = order.requester.toLowerCase();
    if (w.wallet && w.walletAccepts !== true) {
      return refuse(
        403,
        `The signature is not ${order.requester}'s over this order for service ${o.service} on chain ${o.chainId}.`,
      );
    }
    const { standing } = this.standing.get(w.standingKey)!;
    if (order.salt < standing.minSalt) {
      return refuse(
        409,
        `The order ${w.hash} was cancelled: ${order.requester} voided its orders with a salt below ${standing.minSalt}.`,
      );
    }
    const verdict = standingVerdict(order.requester, order.target, standing.status, standing.holdsAll);
    if (!verdict.ok) return refuse(403, `${verdict.reason}.`);

    const sources: SourceOrigin[] = order.sources.map((s) => {
      const text = formatPrefix(s);
      const asn = this.origins.get(text)?.asn ?? null;
      return { source: text, originAsn: asn, covered: asn !== null && (this.coverage.get(asn)?.covered ?? false) };
    });
    const decision = decide(
      {
        service: o.service,
        requestId: w.requestId,
        requester: order.requester,
        offeringId: order.offeringId,
        target: formatPrefix(order.target),
        offering: w.offering,
        verdict,
        sources,
        inUse: this.inUse.get(order.offeringId) ?? 0,
        ackDeadline: order.expiry,
        now,
      },
      // The intake has checked the expiry against its own margin.
      { ...o.policy, minAckMarginSeconds: 0 },
    );
    if (!decision.accept) return refuse(422, `The provider does not take this order: ${decision.reason}.`);

    const money = this.money.get(key)!;
    const claims = o.claims.of(order.requester);
    const needed = claims.total + w.price;
    const waitingText = claims.count === 0 ? "" : ` with the ${claims.count} order(s) it has waiting here`;
    if (money.balance < needed) {
      return refuse(
        402,
        `${order.requester} has ${formatTokens(money.balance)}, but ${formatTokens(needed)} is needed for this order${waitingText}.`,
      );
    }
    if (money.allowance < needed) {
      return refuse(
        402,
        `${order.requester} allows this service ${formatTokens(money.allowance)}, but ${formatTokens(needed)} is needed for this order${waitingText}: approve more.`,
      );
    }
    o.claims.add(order.requester, w.price);
    this.inUse.set(order.offeringId, (this.inUse.get(order.offeringId) ?? 0) + 1);
    return {
      order: {
        hash: w.hash,
        requestId: w.requestId,
        requester: order.requester,
        offeringId: order.offeringId,
        target: formatPrefix(order.target),
        sources: order.sources.map((s: Prefix) => formatPrefix(s)),
        duration: order.duration,
        price: w.price,
        expiry: order.expiry,
        tuple: encodeOrderTuple(order),
        signature,
        gas: o.orderGas(order.sources.length, w.wallet),
        rules: decision.rules,
      },
    };
  }

  /** Counts the mitigations running or promised per offering (requests and open orders), once a second. */
  private refreshInUse(): void {
    if (Date.now() - this.inUseAt < 1000) return;
    const store = this.options.store;
    const counts = new Map<number, number>();
    for (const id of this.options.terms()?.offerings.keys() ?? []) {
      counts.set(
        id,
        store.countRequests(["accepted", "installed", "acking", "active"], id) +
          store.countOrders(OPEN_ORDER_STATES, id),
      );
    }
    this.inUse = counts;
    this.inUseAt = Date.now();
  }
}

function isWalletCall(view: ViewCall<unknown>): boolean {
  const params = view.call.params[0] as { data?: string } | undefined;
  return params?.data?.startsWith("0x1626ba7e") ?? false;
}

/**
 * Signed orders at the provider agent: the intake that answers victims, the settlement loop that
 * runs beside the agent's main loop (a few passes a block, so that an accepted order is in the next
 * block whatever the main loop is waiting for), and what both read from the chain: the head, and
 * the service's offerings (read again whenever the follower sees them change).
 */
import type { Log, Signer } from "ethers";

import type { OfferingInfo } from "../clients/market";
import { toOperatorError } from "../errors";
import { Pause } from "../pause";
import type { JsonRpc } from "../rpc";
import { maxSourcesCall, offeringCall, offeringCountCall, readViews, valueOf } from "./chainReads";
import { Claims, OrderIntake, type ChainClock, type OrderAnswer, type OrderStatus, type Terms } from "./orderIntake";
import type { OrderHandler } from "./orderServer";
import { OrderSettlement, type SettlementGas, type Settled } from "./orderSettlement";
import type { PolicyOptions } from "./policy";
import type { ChainHead, ChainSource } from "./source";
import type { AgentStore, StoredOrder } from "./store";

/** What an operator sets for signed orders. */
export interface OrderSettings {
  /** The chain id orders must be signed for (their EIP-712 domain). */
  chainId: bigint;
  /** The registry, token and directory the service uses. */
  registry: string;
  token: string;
  directory: string;
  /** Seconds an order must have left before its expiry to be accepted (a few blocks). */
  minLifetimeSeconds?: number;
  /** Milliseconds between settlement passes. */
  settleEveryMs?: number;
  gas?: Partial<SettlementGas>;
  /** Orders waiting for their chain checks beyond which new ones are refused (503). */
  maxWaiting?: number;
  /** How long the intake keeps a victim's standing, balance and allowance, ms (default 5000). */
  chainCacheMs?: number;
}

export interface OrderDeskOptions extends OrderSettings {
  service: string;
  rpc: JsonRpc;
  store: AgentStore;
  /** The provider's signer: it settles. */
  sender: Signer;
  source: ChainSource;
  policy: PolicyOptions;
  /** Starts a settled order's mitigation (inside a store transaction). */
  start: (order: StoredOrder, settled: Settled) => void;
  /** Makes the next transaction's nonce the node's (after a failed send). */
  resetNonce: () => Promise<void>;
  maxBackoffMs?: number;
  onProgress?: (line: string) => void;
}

const OFFERING_EVENTS = new Set(["OfferingAdded", "OfferingUpdated", "OfferingActivationChanged"]);

export class OrderDesk implements ChainClock, OrderHandler {
  readonly intake: OrderIntake;
  readonly settlement: OrderSettlement;
  readonly claims = new Claims();
  private readonly options: OrderDeskOptions;
  private readonly progress: (line: string) => void;
  private readonly settleEveryMs: number;
  private readonly maxBackoffMs: number;
  private provider: string | undefined;
  private terms: Terms | undefined;
  private termsDirty = true;
  private head: { head: ChainHead; seenAt: number } | undefined;
  private needsReconcile = true;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private failing = false;
  private readonly pause = new Pause();

  constructor(options: OrderDeskOptions) {
    this.options = options;
    this.progress = options.onProgress ?? (() => undefined);
    this.settleEveryMs = options.settleEveryMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.claims.reload(options.store);
    this.settlement = new OrderSettlement({
      service: options.service,
      // Read at the first pass; settlement sends nothing before it.
      provider: "",
      store: options.store,
      rpc: options.rpc,
      sender: options.sender,
      claims: this.claims,
      gas: options.gas,
      start: options.start,
      onProgress: options.onProgress,
    });
    this.intake = new OrderIntake({
      service: options.service,
      provider: "",
      chainId: options.chainId,
      registry: options.registry,
      token: options.token,
      directory: options.directory,
      rpc: options.rpc,
      store: options.store,
      claims: this.claims,
      clock: this,
      terms: () => (this.provider === undefined ? undefined : this.terms),
      policy: options.policy,
      minLifetimeSeconds: options.minLifetimeSeconds ?? 4,
      orderGas: (sources, wallet) => this.settlement.orderGas(sources, wallet),
      maxWaiting: options.maxWaiting,
      chainCacheMs: options.chainCacheMs,
      onAccepted: () => this.poke(),
      onProgress: options.onProgress,
    });
  }

  /** The chain's time now, from the last head seen and the time since. */
  now(): number | undefined {
    if (this.head === undefined) return undefined;
    return this.head.head.timestamp + Math.floor((Date.now() - this.head.seenAt) / 1000);
  }

  /** A head read elsewhere (the main loop): the clock follows it. */
  sawHead(head: ChainHead): void {
    if (this.head === undefined || head.number >= this.head.head.number) this.head = { head, seenAt: Date.now() };
  }

  /** Whether the intake can answer: the chain and the offerings are read. */
  get synced(): boolean {
    return this.provider !== undefined && this.terms !== undefined && this.head !== undefined;
  }

  // ---- what the HTTP server asks (OrderHandler) ----

  submit(json: unknown): Promise<OrderAnswer> {
    return this.intake.submit(json);
  }

  submitMany(list: readonly unknown[]): Promise<OrderAnswer[]> {
    return this.intake.submitMany(list);
  }

  status(hash: string): OrderStatus | undefined {
    return this.intake.status(hash);
  }

  get waiting(): number {
    return this.intake.waiting;
  }

  /** A log of the service the follower read; true when it was about orders or offerings. */
  onLog(name: string, args: Record<string, unknown>, log: Pick<Log, "blockNumber" | "transactionHash">): boolean {
    if (OFFERING_EVENTS.has(name)) {
      this.termsDirty = true;
      this.poke();
      return true;
    }
    return this.settlement.handleLog(name, args, log);
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.wake();
    await this.loop;
    this.loop = undefined;
    await this.intake.close();
  }

  /** Runs the next settlement pass now (orders were accepted, or the offerings changed). */
  poke(): void {
    if (!this.failing) this.pause.wake();
  }

  private async run(): Promise<void> {
    let delay = this.settleEveryMs;
    while (!this.stopping) {
      try {
        await this.pass();
        if (this.failing) this.progress("order settlement: the node answers again");
        this.failing = false;
        delay = this.settleEveryMs;
      } catch (error) {
        this.needsReconcile = true;
        await this.options.resetNonce();
        delay = this.failing ? Math.min(delay * 2, this.maxBackoffMs) : this.settleEveryMs;
        this.progress(`order settlement: error: ${toOperatorError(error).message} (retrying in ${delay} ms)`);
        this.failing = true;
      }
      if (!this.stopping) await this.pause.wait(delay);
    }
  }

  /** One pass: the head, the offerings if they changed, then settlement. Tests call it directly. */
  async pass(): Promise<void> {
    const head = await this.options.source.head();
    this.sawHead(head);
    if (this.provider === undefined) {
      const provider = await this.options.sender.getAddress();
      this.settlement.setProvider(provider);
      this.intake.setProvider(provider);
      this.provider = provider;
    }
    if (this.termsDirty) await this.readTerms();
    if (this.needsReconcile) {
      await this.settlement.reconcile(head);
      this.needsReconcile = false;
    }
    await this.settlement.pass(head);
  }

  /** The service's offerings and its source limit, in two JSON-RPC batches. */
  private async readTerms(): Promise<void> {
    const { rpc, service } = this.options;
    // Cleared first: a change seen while reading makes the next pass read again.
    this.termsDirty = false;
    try {
      const [count, maxSources] = await readViews<number>(rpc, [offeringCountCall(service), maxSourcesCall(service)]);
      const n = valueOf(count, "the offering count");
      const offerings = await readViews<OfferingInfo>(
        rpc,
        Array.from({ length: n }, (_, id) => offeringCall(service, id)),
      );
      this.terms = {
        offerings: new Map(offerings.map((o, id) => [id, valueOf(o, `offering ${id}`)])),
        maxSources: valueOf(maxSources, "the source limit"),
      };
    } catch (error) {
      this.termsDirty = true;
      throw error;
    }
  }
}

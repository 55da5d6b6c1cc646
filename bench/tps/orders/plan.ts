/**
 * The orders workload, planned and signed before the clock starts: every second ("slot") the
 * victims send `rate` orders, taking turns, each to one of the provider agents in turn; an order
 * buys the offering for `duration` seconds against two attack sources in the provider's network,
 * expires `expirySeconds` after its slot, and carries a salt `(ms << 64) | random64` as the brief
 * asks. Signed on worker threads; the signing rate of both signers is measured.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";

import type { Order } from "../../../src/clients/orders";
import { priceOf } from "../../../src/clients/market";
import type { BenchAccounts } from "../accounts";
import { OFFERING, providerPrefix, victimPrefix } from "../setup";
import { WorkerPool } from "../workerPool";

export type OrderSigner = "native" | "ethers";

/** An order to sign: `key` indexes the victims' keys the pool was created with. */
export interface OrderToSign {
  key: number;
  order: Order;
}

export interface OrderSignContext {
  chainId: bigint;
  method: OrderSigner;
}

export interface SignedOrderBody {
  /** The EIP-712 hash (0x, lowercase hex). */
  hash: string;
  /** The signed order as the intake takes it (`SignedOrderJson`). */
  body: string;
}

/** A pre-signed order and what became of it. */
export interface PlannedOrder extends SignedOrderBody {
  /** The provider agent it goes to. */
  agent: number;
  slot: number;
  sentAt?: number;
  answeredAt?: number;
  /** The intake's HTTP status (202 accepted), or 0 when the request failed. */
  status?: number;
  error?: string;
  settledBlock?: number;
  /** When the benchmark's follower first saw the block that settled it (ms), and that block's timestamp (s). */
  settledAt?: number;
  settledTimestamp?: number;
  /** The reason `settleOrders` skipped it (`OrderSkipReason`). */
  skipReason?: number;
}

/** Where the orders go: the agents' services and the provider number of each. */
export interface OrderTarget {
  service: string;
  provider: number;
}

export interface OrderPlanOptions {
  rate: number;
  slots: number;
  /** Seconds of mitigation bought by each order. */
  duration: number;
  expirySeconds: number;
  /** Unix time (s) at which slot 0 is meant to be sent. */
  startAt: number;
}

export interface SigningRate {
  method: OrderSigner;
  orders: number;
  seconds: number;
  threads: number;
  perSecond: number;
}

export class OrderSignerPool {
  private readonly pool: WorkerPool<OrderToSign, SignedOrderBody>;

  constructor(
    victimKeys: readonly string[],
    private readonly chainId: bigint,
    threads?: number,
  ) {
    this.pool = new WorkerPool(path.join(__dirname, "orderWorker.ts"), { keys: victimKeys }, threads);
  }

  get threads(): number {
    return this.pool.threads;
  }

  async sign(
    orders: readonly OrderToSign[],
    method: OrderSigner,
  ): Promise<{ signed: SignedOrderBody[]; rate: SigningRate }> {
    const started = performance.now();
    const context: OrderSignContext = { chainId: this.chainId, method };
    const signed = await this.pool.run(orders, context);
    const seconds = (performance.now() - started) / 1000;
    return {
      signed,
      rate: { method, orders: orders.length, seconds, threads: this.threads, perSecond: orders.length / seconds },
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The orders of `options.slots` seconds, unsigned, in sending order per slot. */
export function planOrders(
  accounts: BenchAccounts,
  targets: readonly OrderTarget[],
  options: OrderPlanOptions,
): { slot: number; agent: number; toSign: OrderToSign }[][] {
  const { victims, addresses } = accounts;
  const price = priceOf(OFFERING.pricePerHour, options.duration);
  const perSlot = Math.max(1, Math.round(options.rate));
  const milliseconds = BigInt(Date.now()) << 64n;
  const random = randomBytes(8 * perSlot * options.slots);
  const slots: { slot: number; agent: number; toSign: OrderToSign }[][] = [];
  let k = 0;
  for (let slot = 0; slot < options.slots; slot++) {
    const orders: { slot: number; agent: number; toSign: OrderToSign }[] = [];
    for (let i = 0; i < perSlot; i++, k++) {
      const v = k % victims.length;
      // Each round of the victims moves on one agent, so that every victim orders from every agent.
      const agent = (k + Math.floor(k / victims.length)) % targets.length;
      const source = providerPrefix(targets[agent].provider);
      const order: Order = {
        service: targets[agent].service,
        requester: addresses[victims[v]],
        offeringId: 0,
        target: victimPrefix(v),
        sources: [1n, 2n].map((host) => ({ network: source.network | host, length: 128 })),
        duration: options.duration,
        maxPrice: price,
        expiry: options.startAt + slot + options.expirySeconds,
        salt: milliseconds | random.readBigUInt64BE(8 * k),
      };
      orders.push({ slot, agent, toSign: { key: v, order } });
    }
    slots.push(orders);
  }
  return slots;
}

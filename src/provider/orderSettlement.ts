/**
 * Settling the orders the intake accepted: every pass (a few a block), the accepted orders go out
 * in `settleOrders` transactions sized to the block's gas limit, and the receipts say which were
 * settled (their mitigation starts: request row, rules, reports, as for an acknowledged request)
 * and which were skipped, with the contract's reason.
 *
 * Exactly once, across kill -9: a batch is recorded (its orders in state sending) before its
 * transaction is sent, and its hash after. The contract settles an order at most once (a second
 * settlement is skipped as "settled already"), so the agent's only duty is never to lose an
 * order and never to start one twice. A batch whose outcome is unknown — no hash recorded, a
 * transaction the node dropped, or a receipt that leaves an order unexplained — is resolved from
 * the chain once none of the provider's transactions is pending: `getRequest(orderRequestId)`
 * says settled (start it), cancelled (skip it) or nothing (send it again if it has not expired).
 * The follower reads the same OrderSettled / OrderSkipped events from the logs: whichever sees one
 * first acts, the other finds nothing left to do.
 */
import type { Log, Signer } from "ethers";

import { ORDER_SKIP_REASONS, OrderSkipReason, settleOrdersCalldata } from "../clients/orders";
import { parseServiceLog } from "../clients/market";
import { sendCall } from "../clients/nativeSend";
import type { JsonRpc } from "../rpc";
import { getRequestCall, isUnknownRequest, readViews, valueOf } from "./chainReads";
import type { Claims } from "./orderIntake";
import type { ChainHead } from "./source";
import type { AgentStore, OrderBatch, StoredOrder } from "./store";

/** How settlement transactions are sized. */
export interface SettlementGas {
  /**
   * Gas budgeted per order with up to two sources: ~52,000 measured for a victim's repeat order,
   * ~61,000 for a victim's first in the batch (cold slots); the rest is margin.
   */
  perOrder: number;
  /** For each source beyond two (calldata, hashing, the canonical check). */
  perExtraSource: number;
  /** For an order signed by a contract wallet: the contract gives its ERC-1271 call 100,000 gas. */
  wallet: number;
  /** Per transaction: the intrinsic 21,000, the call's set-up, the domain separator. */
  perTransaction: number;
  /** The most gas one transaction may ask for (EIP-7825 caps it at 2^24 on chains that adopt it). */
  maxPerTransaction: number;
  /** The most orders in one transaction (its size: ~700 bytes of calldata each). */
  maxOrdersPerTransaction: number;
  /** The share of a block's gas limit this agent's batches in flight may take together. */
  blockShare: number;
}

export const DEFAULT_SETTLEMENT_GAS: SettlementGas = {
  perOrder: 72_000,
  perExtraSource: 2_500,
  wallet: 110_000,
  perTransaction: 60_000,
  maxPerTransaction: 16_000_000,
  maxOrdersPerTransaction: 200,
  blockShare: 0.9,
};

/** When the chain does not say (a source without it), the block gas limit assumed. */
const FALLBACK_BLOCK_GAS_LIMIT = 30_000_000n;
/** Blocks after which an unmined settlement is looked for, and after which pending ones are not waited for. */
const STUCK_BLOCKS = 3;
const GIVE_UP_WAITING_BLOCKS = 10;

/** When an order was settled, as the event or `getRequest` says. */
export interface Settled {
  startedAt: number;
  endsAt: number;
  block: number;
  tx: string;
}

export interface OrderSettlementOptions {
  service: string;
  /** The provider's account, which sends the settlements. */
  provider: string;
  store: AgentStore;
  rpc: JsonRpc;
  /** Sends the provider's transactions (the agent's signer, with its nonce manager). */
  sender: Signer;
  claims: Claims;
  gas?: Partial<SettlementGas>;
  /** Starts a settled order's mitigation. Called inside a store transaction, once per order. */
  start: (order: StoredOrder, settled: Settled) => void;
  onProgress?: (line: string) => void;
}

/** Counts for progress lines and measurements. */
export interface SettlementCounts {
  settled: number;
  skipped: number;
  expired: number;
  transactions: number;
}

interface RawReceipt {
  status: string;
  blockNumber: string;
  transactionHash: string;
  gasUsed: string;
  logs: { address: string; topics: string[]; data: string }[];
}

export class OrderSettlement {
  readonly counts: SettlementCounts = { settled: 0, skipped: 0, expired: 0, transactions: 0 };
  readonly gas: SettlementGas;
  private readonly options: OrderSettlementOptions;
  private readonly progress: (line: string) => void;
  /** Raised when a batch ran out of gas: later batches budget more per order. */
  private gasFactor = 1;

  constructor(options: OrderSettlementOptions) {
    this.options = options;
    this.gas = { ...DEFAULT_SETTLEMENT_GAS, ...options.gas };
    this.progress = options.onProgress ?? (() => undefined);
  }

  /** The provider's account, once known (the desk reads it before the first pass). */
  setProvider(provider: string): void {
    this.options.provider = provider;
  }

  /** The gas budgeted for an order with `sources` sources. */
  orderGas(sources: number, wallet: boolean): number {
    const g = this.gas;
    return g.perOrder + Math.max(0, sources - 2) * g.perExtraSource + (wallet ? g.wallet : 0);
  }

  /** One pass: outcomes of the batches in flight, expiries, then the accepted orders sent in new batches. */
  async pass(head: ChainHead): Promise<void> {
    await this.checkBatches(head, false);
    this.expire(head.timestamp);
    await this.send(head);
  }

  /** After a restart or a failure: every open batch is looked at now, not after a few blocks. */
  async reconcile(head: ChainHead): Promise<void> {
    await this.checkBatches(head, true);
    this.expire(head.timestamp);
  }

  // ---- outcomes ----

  /**
   * An event of the service about orders, from a receipt or from the follower; true when it was
   * one. Call it inside a store transaction.
   */
  handleLog(name: string, args: Record<string, unknown>, log: Pick<Log, "blockNumber" | "transactionHash">): boolean {
    const store = this.options.store;
    switch (name) {
      case "OrderSettled": {
        // Seen twice, from the receipt and from the follower: the second time, its state alone is read.
        const hash = String(args.orderHash);
        const state = store.orderState(hash);
        if (state === undefined || state === "settled") return true;
        this.settle(store.order(hash)!, {
          startedAt: Number(args.startedAt),
          endsAt: Number(args.endsAt),
          block: log.blockNumber,
          tx: log.transactionHash,
        });
        return true;
      }
      case "OrderSkipped": {
        const order = store.order(String(args.orderHash));
        if (order === undefined || (order.state !== "accepted" && order.state !== "sending")) return true;
        const reason = Number(args.reason) as OrderSkipReason;
        // Settled by an earlier transaction this agent no longer knows of: the chain will say.
        if (reason === OrderSkipReason.AlreadySettled) return true;
        this.close(
          order,
          reason === OrderSkipReason.Expired ? "expired" : "skipped",
          ORDER_SKIP_REASONS[reason] ?? `reason ${reason}`,
        );
        return true;
      }
      case "OrderCancelled": {
        const hash = String(args.orderHash);
        store.addCancelledOrder(hash);
        const order = store.order(hash);
        // Not sent yet: it never will be. Sent: the contract skips it.
        if (order?.state === "accepted") this.close(order, "skipped", ORDER_SKIP_REASONS[OrderSkipReason.Cancelled]);
        return true;
      }
      default:
        return false;
    }
  }

  private settle(order: StoredOrder, settled: Settled): void {
    const store = this.options.store;
    store.setOrderState(order.hash, "settled");
    if (order.state === "accepted" || order.state === "sending")
      this.options.claims.release(order.requester, order.price, settled.block);
    this.options.start(order, settled);
    this.counts.settled++;
  }

  private close(order: StoredOrder, state: "skipped" | "expired", reason: string): void {
    const store = this.options.store;
    store.setOrderState(order.hash, state, reason);
    store.journal(state, `order ${order.hash}: ${reason}`, order.requestId);
    this.options.claims.release(order.requester, order.price);
    if (state === "expired") this.counts.expired++;
    else this.counts.skipped++;
    if (state === "skipped") this.progress(`order ${order.hash} skipped: ${reason}`);
  }

  /** Accepted orders that can no longer make it into a block: the next one is at least a second later. */
  private expire(now: number): void {
    const store = this.options.store;
    const late = store.ordersExpiringBefore(now + 1);
    if (late.length === 0) return;
    store.atomically(() => {
      for (const o of late) this.close(o, "expired", "it expired before it could be settled");
    });
    this.progress(`${late.length} accepted order(s) expired before they could be settled`);
  }

  private async checkBatches(head: ChainHead, now: boolean): Promise<void> {
    const { store, rpc } = this.options;
    const open = store.openBatches();
    if (open.length === 0) return;
    const sent = open.filter((b) => b.tx !== null);
    const receipts = await rpc.batch(sent.map((b) => ({ method: "eth_getTransactionReceipt", params: [b.tx] })));
    const unknown: OrderBatch[] = open.filter((b) => b.tx === null);
    const lookFor: OrderBatch[] = [];
    sent.forEach((batch, i) => {
      const outcome = receipts[i];
      const receipt = outcome.ok ? (outcome.result as RawReceipt | null) : null;
      if (receipt !== null) this.onReceipt(batch, receipt, unknown);
      else if (now || head.number - batch.head >= STUCK_BLOCKS) lookFor.push(batch);
    });
    if (lookFor.length > 0) {
      const found = await rpc.batch(lookFor.map((b) => ({ method: "eth_getTransactionByHash", params: [b.tx] })));
      lookFor.forEach((batch, i) => {
        // The node no longer has it: dropped, never to be mined (the contract would skip a
        // settled order if it were). The chain says what became of its orders.
        if (found[i].ok && found[i].result === null) unknown.push(batch);
      });
    }
    if (unknown.length > 0) await this.resolve(unknown, head);
  }

  /** A mined settlement: its events say what became of each order. */
  private onReceipt(batch: OrderBatch, receipt: RawReceipt, unknown: OrderBatch[]): void {
    const store = this.options.store;
    const service = this.options.service.toLowerCase();
    const block = Number(receipt.blockNumber);
    if (receipt.status !== "0x1") {
      // Reverted (out of gas, or the provider is no longer active): nothing moved; send again.
      const left = store.unresolvedOrders(batch.id);
      store.atomically(() => {
        for (const o of left) store.setOrderState(o.hash, "accepted");
        store.closeBatch(batch.id);
        store.journal(
          "reverted",
          `batch ${batch.id}, tx ${receipt.transactionHash}: ${left.length} order(s) to send again`,
        );
      });
      const used = BigInt(receipt.gasUsed);
      if (used * 100n >= BigInt(batch.gas) * 99n) this.gasFactor = Math.min(this.gasFactor * 1.5, 4);
      this.progress(
        `settlement batch ${batch.id} reverted in block ${block} (${used.toLocaleString("en-US")} gas): its ${left.length} order(s) will be sent again`,
      );
      return;
    }
    let settled = 0;
    store.atomically(() => {
      for (const raw of receipt.logs) {
        if (raw.address.toLowerCase() !== service) continue;
        const parsed = parseServiceLog(raw);
        if (parsed === null) continue;
        // Counted from the receipt: the main loop may have handled the same event first.
        if (parsed.name === "OrderSettled") settled++;
        this.handleLog(parsed.name, parsed.args, { blockNumber: block, transactionHash: receipt.transactionHash });
      }
      if (store.unresolvedOrders(batch.id).length === 0) store.closeBatch(batch.id);
    });
    const gasUsed = Number(receipt.gasUsed);
    this.progress(
      `settled ${settled} of ${batch.orders} order(s) of batch ${batch.id} in block ${block}, tx ${receipt.transactionHash} (${gasUsed.toLocaleString("en-US")} gas${settled > 0 ? `, ${Math.round(gasUsed / settled).toLocaleString("en-US")} per order` : ""})`,
    );
    // An order the receipt does not explain (skipped as settled already, by a transaction this
    // agent lost track of): the chain says.
    if (store.unresolvedOrders(batch.id).length > 0) unknown.push(batch);
  }

  /**
   * Batches whose transaction may or may not have settled their orders: once none of the
   * provider's transactions is pending, `getRequest` says for each order.
   */
  private async resolve(batches: OrderBatch[], head: ChainHead): Promise<void> {
    const { store, rpc, service, provider } = this.options;
    const [pending, latest] = await rpc.batch([
      { method: "eth_getTransactionCount", params: [provider, "pending"] },
      { method: "eth_getTransactionCount", params: [provider, "latest"] },
    ]);
    const inFlight = pending.ok && latest.ok && BigInt(pending.result as string) > BigInt(latest.result as string);
    const ready = batches.filter((b) => !inFlight || head.number - b.head >= GIVE_UP_WAITING_BLOCKS);
    if (ready.length === 0) return;
    const orders = ready.flatMap((b) => store.unresolvedOrders(b.id));
    const results = await readViews(
      rpc,
      orders.map((o) => getRequestCall(service, o.requestId)),
    );
    store.atomically(() => {
      orders.forEach((order, i) => {
        // Never recorded (the service reverts for an unknown id): the batch did not settle it.
        const onChain = isUnknownRequest(results[i])
          ? undefined
          : valueOf(results[i], `the request of order ${order.hash}`);
        const batch = ready.find((b) => b.id === order.batch)!;
        if (onChain === undefined || onChain.status === "none") {
          if (order.expiry < head.timestamp + 1) this.close(order, "expired", "it expired before it could be settled");
          else store.setOrderState(order.hash, "accepted");
          store.journal(
            "resolved",
            `order ${order.hash}: not settled (batch ${batch.id}), to send again`,
            order.requestId,
          );
        } else if (onChain.status === "cancelled") {
          this.close(order, "skipped", ORDER_SKIP_REASONS[OrderSkipReason.Cancelled]);
        } else {
          store.journal("resolved", `order ${order.hash}: settled on chain (batch ${batch.id})`, order.requestId);
          this.settle(order, {
            startedAt: onChain.startedAt,
            endsAt: onChain.endsAt,
            block: batch.head,
            tx: batch.tx ?? "",
          });
        }
      });
      for (const b of ready) store.closeBatch(b.id);
    });
    this.progress(
      `resolved ${orders.length} order(s) of ${ready.length} settlement batch(es) of unknown outcome from the chain`,
    );
  }

  // ---- sending ----

  /** Sends the accepted orders, oldest first, in as few transactions as the block's gas allows. */
  private async send(head: ChainHead): Promise<void> {
    const { store, sender, service } = this.options;
    const g = this.gas;
    const limit = Number(head.gasLimit ?? FALLBACK_BLOCK_GAS_LIMIT);
    const inFlight = store.openBatches().reduce((sum, b) => sum + b.gas, 0);
    let budget = Math.floor(limit * g.blockShare) - inFlight;
    const perTx = Math.min(g.maxPerTransaction, Math.floor(limit * g.blockShare));
    const cost = (o: StoredOrder) => Math.ceil(o.gas * this.gasFactor);
    const candidates = store.orders(["accepted"], Math.ceil(budget / g.perOrder) + 1);
    let next = 0;
    while (next < candidates.length && budget >= g.perTransaction + g.perOrder) {
      const group: StoredOrder[] = [];
      let gas = g.perTransaction;
      while (next < candidates.length && group.length < g.maxOrdersPerTransaction) {
        const o = candidates[next];
        if (gas + cost(o) > Math.min(perTx, budget)) break;
        group.push(o);
        gas += cost(o);
        next++;
      }
      if (group.length === 0) break;
      budget -= gas;
      const batch = store.atomically(() => store.openBatch(head.number, group, gas));
      const data = settleOrdersCalldata(group);
      // Signed natively where the agent holds its key (src/clients/nativeSend.ts).
      const response = await sendCall(sender, { to: service, data, gasLimit: gas }, this.options.rpc);
      store.setBatchTx(batch.id, response.hash);
      this.counts.transactions++;
      this.progress(`sent ${group.length} order(s) for settlement in batch ${batch.id}: tx ${response.hash}`);
    }
  }
}

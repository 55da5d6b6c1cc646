/**
 * Sending and following: pre-signed transactions go out in JSON-RPC batches of
 * eth_sendRawTransaction (no per-transaction round trip), and a block follower collects the
 * receipts of each new block at once (eth_getBlockReceipts, or the block and its receipts).
 */
import { call, hex, type JsonRpc } from "../../src/rpc";

export type TxKind = "setup" | "request" | "requestMany" | "acknowledge" | "acknowledgeBatch" | "transfer";

/** A pre-signed transaction and what became of it. */
export interface TrackedTx {
  hash: string;
  raw: string;
  kind: TxKind;
  /** Mitigation requests it creates (request 1, requestMany n) or acknowledges. */
  items: number;
  sentAt?: number;
  /** The latest block number known when it was sent. */
  headAtSend?: number;
  /** Why the node refused it, if it did. */
  sendError?: string;
  block?: number;
  status?: number;
  gasUsed?: bigint;
  /** Wall-clock time at which the follower saw its block (the confirmation). */
  observedAt?: number;
}

export interface BlockRecord {
  number: number;
  timestamp: number;
  observedAt: number;
  /** All transactions in the block, and those of ours that succeeded / failed. */
  txCount: number;
  ok: number;
  failed: number;
  gasUsed: bigint;
}

export interface RawLog {
  address: string;
  topics: string[];
  data: string;
}

export interface RawReceipt {
  transactionHash: string;
  status: string;
  gasUsed: string;
  blockNumber: string;
  logs: RawLog[];
}

interface RawBlock {
  number: string;
  timestamp: string;
  gasUsed: string;
  transactions: string[];
}

/**
 * Follows new blocks. Two loops: the first reads each new block with its transaction hashes — a
 * transaction counts as confirmed when the follower sees its block — and calls back at once (so
 * acknowledgements go out without waiting for receipts); the second collects the block's receipts
 * (status, gas) in one call, and may lag behind under load without delaying the first.
 */
export class Follower {
  readonly blocks: BlockRecord[] = [];
  private readonly tracked = new Map<string, TrackedTx>();
  private listeners: ((block: BlockRecord, included: TrackedTx[]) => void)[] = [];
  private receiptListeners: ((block: BlockRecord, receipts: readonly RawReceipt[]) => void)[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private failure?: Error;
  private blockReceipts = true;
  private readonly receiptQueue: BlockRecord[] = [];
  head = 0;
  /** Blocks whose receipts are collected. */
  receiptsHead = 0;
  /** Milliseconds spent fetching blocks, and receipts. */
  fetchMs = 0;
  receiptsMs = 0;

  constructor(
    private readonly rpc: JsonRpc,
    private readonly pollMs = 20,
  ) {}

  track(txs: Iterable<TrackedTx>): void {
    for (const tx of txs) this.tracked.set(tx.hash, tx);
  }

  /** Calls `listener` for every new block; returns the function that stops it. */
  onBlock(listener: (block: BlockRecord, included: TrackedTx[]) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Calls `listener` with every block's receipts (all transactions, with their logs) once they are
   * collected, which may be after the block was first seen (`block.observedAt`); returns the
   * function that stops it.
   */
  onReceipts(listener: (block: BlockRecord, receipts: readonly RawReceipt[]) => void): () => void {
    this.receiptListeners.push(listener);
    return () => {
      this.receiptListeners = this.receiptListeners.filter((l) => l !== listener);
    };
  }

  async start(): Promise<void> {
    this.head = Number(await call<string>(this.rpc, "eth_blockNumber"));
    this.receiptsHead = this.head;
    try {
      await call(this.rpc, "eth_getBlockReceipts", [hex(this.head)]);
    } catch {
      this.blockReceipts = false;
    }
    this.running = true;
    const guard = (loop: Promise<void>) =>
      loop.catch((error: unknown) => {
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.running = false;
      });
    this.loops = [guard(this.followBlocks()), guard(this.followReceipts())];
  }

  /** Throws the error that stopped the follower, if one did. */
  check(): void {
    if (this.failure !== undefined) throw new Error(`The block follower stopped: ${this.failure.message}`);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.check();
  }

  /** Resolves when every transaction given has a receipt (or was refused), or rejects after `timeoutMs`. */
  async settled(txs: readonly TrackedTx[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const open = () => txs.filter((tx) => tx.status === undefined && tx.sendError === undefined).length;
    while (open() > 0) {
      this.check();
      if (Date.now() > deadline) throw new Error(`${open()} transactions had no receipt after ${timeoutMs / 1000} s.`);
      await sleep(50);
    }
  }

  private async followBlocks(): Promise<void> {
    while (this.running) {
      const latest = Number(await call<string>(this.rpc, "eth_blockNumber"));
      while (this.head < latest) await this.ingest(this.head + 1);
      await sleep(this.pollMs);
    }
  }

  private async followReceipts(): Promise<void> {
    while (this.running) {
      const block = this.receiptQueue.shift();
      if (block === undefined) await sleep(this.pollMs);
      else await this.collectReceipts(block);
    }
  }

  private async ingest(number: number): Promise<void> {
    const started = Date.now();
    const block = await call<RawBlock>(this.rpc, "eth_getBlockByNumber", [hex(number), false]);
    const observedAt = Date.now();
    this.fetchMs += observedAt - started;
    const record: BlockRecord = {
      number,
      timestamp: Number(block.timestamp),
      observedAt,
      txCount: block.transactions.length,
      ok: 0,
      failed: 0,
      gasUsed: BigInt(block.gasUsed),
    };
    const included: TrackedTx[] = [];
    for (const hash of block.transactions) {
      const tx = this.tracked.get(hash);
      if (tx === undefined) continue;
      tx.block = number;
      tx.observedAt = observedAt;
      included.push(tx);
    }
    this.blocks.push(record);
    this.receiptQueue.push(record);
    this.head = number;
    for (const listener of this.listeners) listener(record, included);
  }

  private async collectReceipts(record: BlockRecord): Promise<void> {
    const started = Date.now();
    let receipts: RawReceipt[];
    if (this.blockReceipts) {
      receipts = await call<RawReceipt[]>(this.rpc, "eth_getBlockReceipts", [hex(record.number)]);
    } else {
      const block = await call<RawBlock>(this.rpc, "eth_getBlockByNumber", [hex(record.number), false]);
      const outcomes = await this.rpc.batch(
        block.transactions.map((hash) => ({ method: "eth_getTransactionReceipt", params: [hash] })),
      );
      receipts = outcomes.map((o) => {
        if (!o.ok) throw new Error(`eth_getTransactionReceipt failed: ${o.error}`);
        return o.result as RawReceipt;
      });
    }
    this.receiptsMs += Date.now() - started;
    for (const receipt of receipts) {
      const tx = this.tracked.get(receipt.transactionHash);
      if (tx === undefined) continue;
      tx.status = Number(receipt.status);
      tx.gasUsed = BigInt(receipt.gasUsed);
      if (tx.status === 1) record.ok++;
      else record.failed++;
    }
    for (const listener of this.receiptListeners) listener(record, receipts);
    this.receiptsHead = record.number;
  }
}

/** Sends pre-signed transactions in JSON-RPC batches, one batch after another (arrival order kept). */
export class Sender {
  /** Milliseconds spent waiting for the node to accept batches, and transactions sent. */
  busyMs = 0;
  sent = 0;
  refused = 0;
  readonly refusals = new Map<string, number>();

  constructor(
    private readonly rpc: JsonRpc,
    private readonly follower: Follower,
    private readonly batchSize = 500,
  ) {}

  async send(txs: readonly TrackedTx[]): Promise<void> {
    for (let start = 0; start < txs.length; start += this.batchSize) {
      const batch = txs.slice(start, start + this.batchSize);
      const sentAt = Date.now();
      const headAtSend = this.follower.head;
      for (const tx of batch) {
        tx.sentAt = sentAt;
        tx.headAtSend = headAtSend;
      }
      const outcomes = await this.rpc.batch(
        batch.map((tx) => ({ method: "eth_sendRawTransaction", params: [tx.raw] })),
      );
      this.busyMs += Date.now() - sentAt;
      this.sent += batch.length;
      outcomes.forEach((outcome, i) => {
        if (outcome.ok) return;
        batch[i].sendError = outcome.error;
        this.refused++;
        const reason = outcome.error.slice(0, 120);
        this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
      });
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

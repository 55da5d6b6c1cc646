/**
 * A STAND-IN for the provider agent's order intake, until the real one (src/provider/, built by
 * another developer) lands on main: the brief's HTTP API in front of one service, settling what it
 * accepted with `settleOrders`. It does the intake's work the way the issue asks it done — the
 * signature checked locally with the native secp256k1, holding, participant status, offering
 * terms, balance and allowance read from the chain in batched JSON-RPC calls (once per requester
 * and block, not per order), the orders already accepted from a victim counted against its funds
 * — so that the benchmark measures a realistic cost. What it leaves out, the real agent must add:
 * persistence (an accepted order survives `kill -9`), the mitigation back end, metrics.
 *
 * API (BRIEF.md, "Signed orders"): `POST /orders` one signed order → 202 {orderHash, requestId}
 * or 4xx {error}; `POST /orders` {"orders": [...]} (≤ 1000) → 200 {results: [...]};
 * `GET /orders/<hash>` → {state, requestId, reason?} or 404. Not in the API, for the benchmark
 * only: `GET /stats` (what it did, and where its time went).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { SigningKey, Transaction, computeAddress } from "ethers";

import {
  MitigationToken__factory,
  PrefixRegistry__factory,
  ProviderServiceContract__factory,
  ServiceDirectory__factory,
} from "../../../typechain-types";
import {
  ORDER_SKIP_REASONS,
  fromOrderJson,
  hashOrder,
  orderRequestId,
  recoverOrderSigner,
  toOrderStruct,
  type SignedOrder,
} from "../../../src/clients/orders";
import { priceOf } from "../../../src/clients/market";
import { closeServer, listen } from "../../../src/net";
import { familyOf, formatPrefix, prefixKey, type Prefix } from "../../../src/prefix";
import { call, HttpJsonRpc, type JsonRpc, type RpcCall } from "../../../src/rpc";

const SERVICE = ProviderServiceContract__factory.createInterface();
const REGISTRY = PrefixRegistry__factory.createInterface();
const TOKEN = MitigationToken__factory.createInterface();
const DIRECTORY = ServiceDirectory__factory.createInterface();
const ORDER_SKIPPED = SERVICE.getEvent("OrderSkipped").topicHash;
const PARTICIPANT_ACTIVE = 1n;
/** The contract's bound on sources per order (`MAX_SOURCES`). */
const MAX_SOURCES = 64;
const MAX_BATCH = 1000;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface StandInOptions {
  rpcUrl: string;
  chainId: bigint;
  service: string;
  registry: string;
  token: string;
  directory: string;
  /** The provider's private key (it alone may settle). */
  providerKey: string;
  host: string;
  port: number;
  /** Milliseconds between settlements of what was accepted meanwhile. */
  flushMs: number;
  /** Orders per settleOrders transaction. */
  maxPerTx: number;
  /** Orders that expire sooner than this (seconds) are refused: they could not be settled in time. */
  minExpirySeconds: number;
  /** Accepted orders waiting for settlement beyond which the intake answers 503. */
  maxQueue: number;
  gasPrice: bigint;
  /** Gas per order in a settleOrders transaction, and per transaction (the limit set). */
  gasPerOrder: bigint;
  gasPerTx: bigint;
}

type OrderState = "accepted" | "settled" | "skipped" | "expired";

interface Accepted {
  signed: SignedOrder;
  hash: string;
  requestId: bigint;
  price: bigint;
  state: OrderState;
  reason?: string;
}

/** An answer to one order: 202 with its hash and request id, or an error status with one sentence. */
type Answer = { status: 202; orderHash: string; requestId: string } | { status: number; error: string };

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Standing {
  active: boolean;
  holdsAll: boolean;
  minSalt: bigint;
}

interface Funds {
  balance: bigint;
  allowance: bigint;
}

interface OfferingTerms {
  pricePerHour: bigint;
  maxDuration: number;
  active: boolean;
  exists: boolean;
}

/** A value read from the chain for one block; concurrent readers of the same key share the read. */
class PerBlockCache<T> {
  private readonly entries = new Map<string, { block: number; value: Promise<T> }>();

  get(key: string, block: number, read: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.block >= block) return entry.value;
    const value = read();
    this.entries.set(key, { block, value });
    // A failed read is not kept: the next order reads again.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }
}

/**
 * Collects eth_calls made in the same turn of the event loop and sends them as one JSON-RPC
 * batch: the intake reads chain state for many orders at once, never one round trip per order.
 */
class CallBatcher {
  private queue: { call: RpcCall; resolve: (data: string) => void; reject: (error: Error) => void }[] = [];
  private scheduled = false;
  calls = 0;
  batches = 0;

  constructor(private readonly rpc: JsonRpc) {}

  call(to: string, data: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ call: { method: "eth_call", params: [{ to, data }, "latest"] }, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const queue = this.queue;
    this.queue = [];
    this.scheduled = false;
    this.calls += queue.length;
    this.batches++;
    this.rpc.batch(queue.map((q) => q.call)).then(
      (outcomes) =>
        outcomes.forEach((outcome, i) => {
          if (outcome.ok) queue[i].resolve(outcome.result as string);
          else queue[i].reject(new Error(outcome.error));
        }),
      (error: unknown) => {
        for (const q of queue) q.reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }
}

interface RawReceipt {
  transactionHash: string;
  status: string;
  logs: { topics: string[]; data: string }[];
}

export class StandInIntake {
  private readonly rpc: HttpJsonRpc;
  private readonly reads: CallBatcher;
  private readonly key: SigningKey;
  private readonly address: string;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly orders = new Map<string, Accepted>();
  private queue: Accepted[] = [];
  private readonly inFlight = new Map<string, Accepted[]>();
  /** Per requester, the prices of its accepted orders not yet settled, skipped or expired. */
  private readonly pending = new Map<string, bigint>();
  private readonly standing = new PerBlockCache<Standing>();
  private readonly funds = new PerBlockCache<Funds>();
  private readonly offerings = new PerBlockCache<OfferingTerms>();
  /** Whether a source address lies in an AS this service covers (changes rarely: kept a minute). */
  private readonly coverage = new Map<string, { at: number; value: Promise<boolean> }>();
  private head = 0;
  private headTimestamp = 0;
  private headSeenAt = 0;
  private nonce = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private failure: Error | undefined;
  readonly stats = {
    received: 0,
    accepted: 0,
    refused: {} as Record<string, number>,
    settled: 0,
    skipped: 0,
    expired: 0,
    settleTxs: 0,
    settleTxsFailed: 0,
    /** Milliseconds spent in the synchronous checks (parse, hash, signature), and in encoding and signing settlements. */
    checkMs: 0,
    settleMs: 0,
  };

  constructor(private readonly options: StandInOptions) {
    this.rpc = new HttpJsonRpc(options.rpcUrl);
    this.reads = new CallBatcher(this.rpc);
    this.key = new SigningKey(options.providerKey);
    this.address = computeAddress(this.key);
  }

  get url(): string {
    const address = this.server?.address();
    const port = typeof address === "object" && address !== null ? address.port : this.options.port;
    return `http://${this.options.host}:${port}`;
  }

  /** Syncs with the chain, listens, publishes its endpoint on the service if it is not there yet. */
  async start(): Promise<string> {
    await this.readHead();
    this.nonce = Number(await call<string>(this.rpc, "eth_getTransactionCount", [this.address, "pending"]));
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await listen(server, this.options.port, this.options.host);
    this.server = server;
    this.running = true;
    const guard = (loop: Promise<void>) =>
      loop.catch((error: unknown) => {
        this.failure = error instanceof Error ? error : new Error(String(error));
      });
    this.loops = [guard(this.followChain()), guard(this.settleLoop())];
    await this.publishEndpoint();
    return this.url;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    if (this.server !== undefined) {
      await closeServer(this.server, () => {
        for (const socket of this.sockets) socket.destroy();
      });
    }
  }

  /** The error that stopped a loop, if one did. */
  get error(): Error | undefined {
    return this.failure;
  }

  private async publishEndpoint(): Promise<void> {
    const data = await call<string>(this.rpc, "eth_call", [
      { to: this.options.service, data: SERVICE.encodeFunctionData("orderEndpoint") },
      "latest",
    ]);
    if (SERVICE.decodeFunctionResult("orderEndpoint", data)[0] === this.url) return;
    const hash = await this.sendTx(SERVICE.encodeFunctionData("setOrderEndpoint", [this.url]), 200_000n);
    for (;;) {
      const receipt = await call<RawReceipt | null>(this.rpc, "eth_getTransactionReceipt", [hash]);
      if (receipt !== null) {
        if (receipt.status !== "0x1") throw new Error(`setOrderEndpoint(${this.url}) reverted.`);
        return;
      }
      await sleep(100);
    }
  }

  // --- HTTP ---------------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path.startsWith("/orders/")) {
      const entry = this.orders.get(path.slice("/orders/".length).toLowerCase());
      if (entry === undefined) return reply(404, { error: `No order ${path.slice(8)} is known here.` });
      return reply(200, {
        state: entry.state,
        requestId: entry.requestId.toString(),
        ...(entry.reason === undefined ? {} : { reason: entry.reason }),
      });
    }
    if (req.method === "GET" && path === "/stats") {
      return reply(200, { ...this.stats, readCalls: this.reads.calls, readBatches: this.reads.batches });
    }
    if (req.method !== "POST" || path !== "/orders") {
      return reply(404, { error: `${req.method} ${path} is not served here: POST /orders or GET /orders/<hash>.` });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) return reply(413, { error: `The body is over ${MAX_BODY_BYTES} bytes.` });
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return reply(400, { error: "The body is not JSON." });
      }
      const batch = (body as { orders?: unknown } | null)?.orders;
      if (Array.isArray(batch)) {
        if (batch.length > MAX_BATCH)
          return reply(400, { error: `A batch holds at most ${MAX_BATCH} orders, not ${batch.length}.` });
        Promise.all(batch.map((item) => this.take(item))).then(
          (results) => reply(200, { results }),
          (error: unknown) => reply(500, { error: String(error) }),
        );
        return;
      }
      this.take(body).then(
        (answer) => {
          const { status, ...body } = answer;
          reply(status, body);
        },
        (error: unknown) => reply(500, { error: String(error) }),
      );
    });
  }

  // --- intake -------------------------------------------------------------------------------

  /** Checks one order and accepts it, or says why not. Never throws. */
  private async take(json: unknown): Promise<Answer> {
    this.stats.received++;
    try {
      const answer = await this.check(json);
      this.stats.accepted++;
      return answer;
    } catch (error) {
      const refusal =
        error instanceof Refusal ? error : new Refusal(503, `The chain could not be read: ${String(error)}`);
      this.stats.refused[refusal.status] = (this.stats.refused[refusal.status] ?? 0) + 1;
      return { status: refusal.status, error: refusal.message };
    }
  }

  private async check(json: unknown): Promise<Answer> {
    if (this.failure !== undefined || Date.now() - this.headSeenAt > 10_000) {
      throw new Refusal(503, "The agent is not synced with the chain.");
    }
    if (this.queue.length >= this.options.maxQueue) {
      throw new Refusal(503, `The agent is overloaded: ${this.queue.length} orders wait for settlement.`);
    }
    const started = performance.now();
    let signed: SignedOrder;
    try {
      signed = fromOrderJson(json);
    } catch (error) {
      throw new Refusal(400, (error as Error).message);
    }
    const { order } = signed;
    if (order.service.toLowerCase() !== this.options.service.toLowerCase()) {
      throw new Refusal(403, `The order names service ${order.service}, not this one (${this.options.service}).`);
    }
    const hash = hashOrder(order, this.options.chainId);
    if (this.orders.has(hash)) throw new Refusal(409, `Order ${hash} was accepted already.`);
    if (recoverOrderSigner(hash, signed.signature) !== order.requester) {
      throw new Refusal(
        403,
        `The signature is not ${order.requester}'s over this order on chain ${this.options.chainId}.`,
      );
    }
    this.stats.checkMs += performance.now() - started;
    const now = Math.max(Math.floor(Date.now() / 1000), this.headTimestamp);
    if (order.expiry < now + this.options.minExpirySeconds) {
      throw new Refusal(
        422,
        `The order expires at ${order.expiry}, sooner than ${this.options.minExpirySeconds} s from now (${now}).`,
      );
    }
    if (order.sources.length === 0 || order.sources.length > MAX_SOURCES) {
      throw new Refusal(422, `An order names 1 to ${MAX_SOURCES} sources, not ${order.sources.length}.`);
    }
    const family = familyOf(order.target);
    const other = order.sources.find((s) => familyOf(s) !== family);
    if (other !== undefined) {
      throw new Refusal(422, `Source ${formatPrefix(other)} is not of the target's family (${family}).`);
    }

    const block = this.head;
    const [offering, standing, funds, covered] = await Promise.all([
      this.offerings.get(String(order.offeringId), block, () => this.readOffering(order.offeringId)),
      this.standing.get(`${order.requester}/${prefixKey(order.target)}`, block, () =>
        this.readStanding(order.requester, order.target),
      ),
      this.funds.get(order.requester, block, () => this.readFunds(order.requester)),
      Promise.all(order.sources.map((s) => this.covers(s))),
    ]);
    if (!offering.exists) throw new Refusal(422, `Offering ${order.offeringId} does not exist.`);
    if (!offering.active) throw new Refusal(422, `Offering ${order.offeringId} is not active.`);
    if (order.duration === 0 || order.duration > offering.maxDuration) {
      throw new Refusal(
        422,
        `Offering ${order.offeringId} sells 1 to ${offering.maxDuration} s, not ${order.duration} s.`,
      );
    }
    const price = priceOf(offering.pricePerHour, order.duration);
    if (price > order.maxPrice) {
      throw new Refusal(
        422,
        `The price for ${order.duration} s is ${price}, above the order's maximum ${order.maxPrice}.`,
      );
    }
    const outside = order.sources.find((_, i) => !covered[i]);
    if (outside !== undefined) {
      throw new Refusal(422, `Source ${formatPrefix(outside)} is not in an AS this service covers.`);
    }
    if (!standing.active) throw new Refusal(403, `${order.requester} is not an active participant.`);
    if (!standing.holdsAll) {
      throw new Refusal(403, `${order.requester} does not hold all of ${formatPrefix(order.target)}.`);
    }
    if (order.salt < standing.minSalt)
      throw new Refusal(403, `The order's salt is below ${order.requester}'s cancellation floor.`);
    const committed = (this.pending.get(order.requester) ?? 0n) + price;
    if (funds.balance < committed || funds.allowance < committed) {
      throw new Refusal(
        402,
        `${order.requester} has ${funds.balance} tokens and allows ${funds.allowance}, less than the ${committed} its accepted orders need.`,
      );
    }
    // Another copy of this order may have been accepted while the chain was read.
    if (this.orders.has(hash)) throw new Refusal(409, `Order ${hash} was accepted already.`);
    const entry: Accepted = {
      signed,
      hash,
      requestId: orderRequestId(order.requester, hash),
      price,
      state: "accepted",
    };
    this.orders.set(hash, entry);
    this.pending.set(order.requester, committed);
    this.queue.push(entry);
    return { status: 202, orderHash: hash, requestId: entry.requestId.toString() };
  }

  private async readOffering(offeringId: number): Promise<OfferingTerms> {
    const [count, offering] = await Promise.all([
      this.reads.call(this.options.service, SERVICE.encodeFunctionData("offeringCount")),
      this.reads.call(this.options.service, SERVICE.encodeFunctionData("offering", [offeringId])).catch(() => null),
    ]);
    if (offeringId >= Number(SERVICE.decodeFunctionResult("offeringCount", count)[0]) || offering === null) {
      return { exists: false, active: false, pricePerHour: 0n, maxDuration: 0 };
    }
    const o = SERVICE.decodeFunctionResult("offering", offering)[0] as {
      pricePerHour: bigint;
      maxDuration: bigint;
      active: boolean;
    };
    return { exists: true, active: o.active, pricePerHour: o.pricePerHour, maxDuration: Number(o.maxDuration) };
  }

  private async readStanding(requester: string, target: Prefix): Promise<Standing> {
    const data = await this.reads.call(
      this.options.registry,
      REGISTRY.encodeFunctionData("orderStanding", [requester, target.network, target.length]),
    );
    const [status, holdsAll, minSalt] = REGISTRY.decodeFunctionResult("orderStanding", data);
    return {
      active: BigInt(status as bigint) === PARTICIPANT_ACTIVE,
      holdsAll: holdsAll as boolean,
      minSalt: minSalt as bigint,
    };
  }

  private async readFunds(requester: string): Promise<Funds> {
    const [balance, allowance] = await Promise.all([
      this.reads.call(this.options.token, TOKEN.encodeFunctionData("balanceOf", [requester])),
      this.reads.call(this.options.token, TOKEN.encodeFunctionData("allowance", [requester, this.options.service])),
    ]);
    return { balance: BigInt(balance), allowance: BigInt(allowance) };
  }

  private covers(source: Prefix): Promise<boolean> {
    const key = prefixKey(source).toString();
    const cached = this.coverage.get(key);
    if (cached !== undefined && Date.now() - cached.at < 60_000) return cached.value;
    const value = this.reads
      .call(this.options.directory, DIRECTORY.encodeFunctionData("servicesForAddress", [source.network]))
      .then((data) => {
        const services = DIRECTORY.decodeFunctionResult("servicesForAddress", data)[1] as string[];
        return services.some((s) => s.toLowerCase() === this.options.service.toLowerCase());
      });
    this.coverage.set(key, { at: Date.now(), value });
    value.catch(() => this.coverage.delete(key));
    return value;
  }

  // --- settlement ---------------------------------------------------------------------------

  private async settleLoop(): Promise<void> {
    while (this.running) {
      await sleep(this.options.flushMs);
      if (this.queue.length > 0) await this.settle();
    }
  }

  /** Sends what was accepted, in settleOrders transactions of up to maxPerTx orders each. */
  private async settle(): Promise<void> {
    const started = performance.now();
    const now = Math.max(Math.floor(Date.now() / 1000), this.headTimestamp);
    const ready: Accepted[] = [];
    for (const entry of this.queue.splice(0)) {
      // One block to go at least: an order expiring sooner would only be skipped.
      if (entry.signed.order.expiry <= now + 1) this.finish(entry, "expired");
      else ready.push(entry);
    }
    const raws: { hash: string; raw: string; entries: Accepted[] }[] = [];
    for (let start = 0; start < ready.length; start += this.options.maxPerTx) {
      const entries = ready.slice(start, start + this.options.maxPerTx);
      const data = SERVICE.encodeFunctionData("settleOrders", [
        entries.map((e) => toOrderStruct(e.signed.order)),
        entries.map((e) => e.signed.signature),
      ]);
      const gasLimit = this.options.gasPerTx + this.options.gasPerOrder * BigInt(entries.length);
      raws.push({ ...this.signTx(data, gasLimit), entries });
    }
    this.stats.settleMs += performance.now() - started;
    const outcomes = await this.rpc.batch(raws.map((r) => ({ method: "eth_sendRawTransaction", params: [r.raw] })));
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) {
        this.inFlight.set(raws[i].hash, raws[i].entries);
        this.stats.settleTxs++;
      } else {
        // Refused by the node: the orders go back to the queue, the nonce is read again.
        this.stats.settleTxsFailed++;
        this.queue.push(...raws[i].entries);
        this.nonce = -1;
      }
    });
    if (this.nonce === -1) {
      this.nonce = Number(await call<string>(this.rpc, "eth_getTransactionCount", [this.address, "pending"]));
    }
  }

  private signTx(data: string, gasLimit: bigint): { hash: string; raw: string } {
    const tx = Transaction.from({
      type: 0,
      chainId: this.options.chainId,
      nonce: this.nonce++,
      gasPrice: this.options.gasPrice,
      gasLimit,
      to: this.options.service,
      data,
      value: 0n,
    });
    tx.signature = this.key.sign(tx.unsignedHash);
    return { hash: tx.hash!, raw: tx.serialized };
  }

  private async sendTx(data: string, gasLimit: bigint): Promise<string> {
    const { raw } = this.signTx(data, gasLimit);
    return call<string>(this.rpc, "eth_sendRawTransaction", [raw]);
  }

  private finish(entry: Accepted, state: Exclude<OrderState, "accepted">, reason?: string): void {
    entry.state = state;
    entry.reason = reason;
    this.stats[state]++;
    const requester = entry.signed.order.requester;
    const left = (this.pending.get(requester) ?? 0n) - entry.price;
    if (left > 0n) this.pending.set(requester, left);
    else this.pending.delete(requester);
  }

  // --- following the chain ------------------------------------------------------------------

  private async readHead(): Promise<boolean> {
    const block = await call<{ number: string; timestamp: string }>(this.rpc, "eth_getBlockByNumber", [
      "latest",
      false,
    ]);
    this.headSeenAt = Date.now();
    const number = Number(block.number);
    if (number === this.head) return false;
    this.head = number;
    this.headTimestamp = Number(block.timestamp);
    return true;
  }

  /** Per new block: the receipts of the settlements in flight, each order settled or skipped. */
  private async followChain(): Promise<void> {
    while (this.running) {
      await sleep(50);
      if (!(await this.readHead()) || this.inFlight.size === 0) continue;
      const hashes = [...this.inFlight.keys()];
      const outcomes = await this.rpc.batch(hashes.map((h) => ({ method: "eth_getTransactionReceipt", params: [h] })));
      outcomes.forEach((outcome, i) => {
        if (!outcome.ok || outcome.result === null) return;
        const receipt = outcome.result as RawReceipt;
        const entries = this.inFlight.get(hashes[i])!;
        this.inFlight.delete(hashes[i]);
        if (receipt.status !== "0x1") {
          // The whole transaction failed (it should not: settleOrders skips, never reverts): retry.
          this.stats.settleTxsFailed++;
          this.queue.push(...entries);
          return;
        }
        const skipped = new Map<string, number>();
        for (const log of receipt.logs) {
          if (log.topics[0] === ORDER_SKIPPED) skipped.set(log.topics[1], Number(BigInt(log.data)));
        }
        for (const entry of entries) {
          const reason = skipped.get(entry.hash);
          if (reason === undefined) this.finish(entry, "settled");
          else this.finish(entry, "skipped", ORDER_SKIP_REASONS[reason] ?? `reason ${reason}`);
        }
      });
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A misbehaving stand-in for the provider agent's order intake (the real one is
 * src/provider/orderServer.ts): the HTTP API of the brief — `POST /orders` with one signed order or
 * a batch, `GET /orders/<hash>` — with the checks a victim's order most often fails at intake (form,
 * service, signature, expiry, repetition), settling what it accepts through the contract itself,
 * as the provider. The victim side's tests make it do what the real intake cannot simply be made
 * to: refuse with a chosen status, hold orders, stay mute, settle late or race a cancellation.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { ContractTransactionReceipt, Overrides, Provider } from "ethers";

import type { FlowRule, MitigationBackend } from "../../src/backends/types";
import { parseServiceLog, type MarketClient } from "../../src/clients/market";
import {
  ORDER_SKIP_REASONS,
  fromOrderJson,
  hashOrder,
  orderRequestId,
  recoverOrderSigner,
  toOrderStruct,
  type SignedOrder,
} from "../../src/clients/orders";
import { send } from "../../src/clients/tx";
import { toOperatorError } from "../../src/errors";
import { closeServer, listen, readBody, sendJson } from "../../src/net";
import { familyOf, formatPrefix } from "../../src/prefix";

/**
 * settle: accepted orders are settled at once, in one batch per turn; hold: they wait for
 * `settleHeld()`; mute: nothing is answered (the client times out), orders are held all the same.
 */
export type IntakeMode = "settle" | "hold" | "mute";

export interface StandInIntakeOptions {
  /** The market acting as the provider. */
  market: MarketClient;
  provider: Provider;
  service: string;
  mode?: IntakeMode;
  /** Refuses an order with [HTTP status, sentence]; undefined accepts it. */
  refuse?: (order: SignedOrder) => [number, string] | undefined;
  /** Installs a discard rule per source of each settled order, as a provider agent would. */
  backend?: MitigationBackend;
  onProgress?: (line: string) => void;
}

/** Enough for a batch of 1000 orders. */
const MAX_BODY = 8 << 20;

type Result = { status: number; orderHash?: string; requestId?: string; error?: string };

interface Held {
  signed: SignedOrder;
  hash: string;
  state: "accepted" | "settled" | "skipped";
  reason?: number;
}

export class StandInIntake {
  /** The base URL to publish on chain. */
  readonly url: string;
  mode: IntakeMode;
  /** Every order posted, accepted or not. */
  readonly received: SignedOrder[] = [];
  /** The settlement transactions sent. */
  readonly settlements: ContractTransactionReceipt[] = [];
  private readonly orders = new Map<string, Held>();
  private queue: Held[] = [];
  private settling: Promise<void> = Promise.resolve();
  private readonly muted = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    port: number,
    private readonly options: StandInIntakeOptions,
    private readonly chainId: bigint,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.mode = options.mode ?? "settle";
  }

  /** Starts listening on a free port of 127.0.0.1. */
  static async start(options: StandInIntakeOptions): Promise<StandInIntake> {
    const { chainId } = await options.provider.getNetwork();
    const server = createServer();
    const intake = new StandInIntake(server, await listen(server, 0, "127.0.0.1"), options, chainId);
    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      intake.handle(request, response).catch((error: unknown) => {
        reply(response, 500, { error: toOperatorError(error).message });
      });
    });
    return intake;
  }

  /** Publishes this intake's URL as the service's order endpoint (the provider's transaction). */
  async publish(endpoint = this.url): Promise<ContractTransactionReceipt> {
    const service = this.options.market.service(this.options.service);
    return send(() => service.setOrderEndpoint(endpoint));
  }

  /** Settles the orders held so far, in one batch (with `overrides`: a tip, say); undefined when there are none. */
  async settleHeld(overrides: Overrides = {}): Promise<ContractTransactionReceipt | undefined> {
    const batch = [...this.orders.values()].filter((o) => o.state === "accepted");
    this.queue = this.queue.filter((o) => !batch.includes(o));
    return batch.length === 0 ? undefined : this.settleBatch(batch, overrides);
  }

  /** What the intake knows of an order. */
  stateOf(hash: string): Held["state"] | undefined {
    return this.orders.get(hash.toLowerCase())?.state;
  }

  async close(): Promise<void> {
    for (const response of this.muted) response.destroy();
    await closeServer(this.server, () => this.server.closeAllConnections());
    await this.settling;
  }

  private progress(line: string): void {
    this.options.onProgress?.(line);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? "").replace(/\/$/, "");
    const body = await readBody(request, MAX_BODY, () => new Error(`The body is over ${MAX_BODY} bytes.`));
    if (request.method === "GET" && path.startsWith("/orders/")) {
      const held = this.orders.get(path.slice("/orders/".length).toLowerCase());
      if (!held) return reply(response, 404, { error: "No such order here." });
      const requestId = orderRequestId(held.signed.order.requester, held.hash).toString();
      return reply(response, 200, { state: held.state, requestId, reason: held.reason });
    }
    if (request.method !== "POST" || path !== "/orders") return reply(response, 404, { error: "Not found." });
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return reply(response, 400, { error: "The body is not JSON." });
    }
    const batch = (json as { orders?: unknown } | null)?.orders;
    const now = (await this.options.provider.getBlock("latest"))!.timestamp;
    const results = Array.isArray(batch) ? batch.map((o) => this.take(o, now)) : [this.take(json, now)];
    if (this.mode === "mute") {
      this.muted.add(response);
      this.flush();
      return;
    }
    if (Array.isArray(batch)) reply(response, 200, { results });
    else reply(response, results[0].status, results[0]);
    this.flush();
  }

  /** Checks one order and takes it (202), or says why not. */
  private take(json: unknown, now: number): Result {
    let signed: SignedOrder;
    try {
      signed = fromOrderJson(json);
    } catch (error) {
      return { status: 400, error: toOperatorError(error).message };
    }
    this.received.push(signed);
    const { order } = signed;
    if (order.service.toLowerCase() !== this.options.service.toLowerCase()) {
      return { status: 403, error: `The order names service ${order.service}, not this one.` };
    }
    const hash = hashOrder(order, this.chainId).toLowerCase();
    if (recoverOrderSigner(hash, signed.signature) !== order.requester) {
      return { status: 403, error: `The signature is not ${order.requester}'s.` };
    }
    if (order.expiry <= now + 2) {
      return { status: 422, error: `The order expires at ${order.expiry}, too soon to be settled (now ${now}).` };
    }
    if (this.orders.has(hash)) return { status: 409, error: `Order ${hash} was accepted already.` };
    const refused = this.options.refuse?.(signed);
    if (refused) return { status: refused[0], error: refused[1] };
    const held: Held = { signed, hash, state: "accepted" };
    this.orders.set(hash, held);
    this.queue.push(held);
    const requestId = orderRequestId(order.requester, hash).toString();
    this.progress(`accepted order ${hash.slice(0, 10)} from ${order.requester}`);
    return { status: 202, orderHash: hash, requestId };
  }

  /** In settle mode, settles the queue in one batch after the current ones. */
  private flush(): void {
    if (this.mode !== "settle" || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.settling = this.settling
      .then(() => this.settleBatch(batch))
      .then(
        () => undefined,
        (error: unknown) => this.progress(`settlement failed: ${toOperatorError(error).message}`),
      );
  }

  private async settleBatch(batch: Held[], overrides: Overrides = {}): Promise<ContractTransactionReceipt> {
    const service = this.options.market.service(this.options.service);
    const receipt = await send(() =>
      service.settleOrders(
        batch.map((o) => toOrderStruct(o.signed.order)),
        batch.map((o) => o.signed.signature),
        overrides,
      ),
    );
    this.settlements.push(receipt);
    const byHash = new Map(batch.map((o) => [o.hash, o]));
    for (const log of receipt.logs) {
      const parsed = parseServiceLog(log);
      const held = parsed && byHash.get(String(parsed.args.orderHash).toLowerCase());
      if (!parsed || !held) continue;
      if (parsed.name === "OrderSettled") {
        held.state = "settled";
        this.progress(`settled order ${held.hash.slice(0, 10)} (${receipt.gasUsed} gas for ${batch.length})`);
        await this.install(held, parsed.args.requestId as bigint);
      } else if (parsed.name === "OrderSkipped") {
        held.state = "skipped";
        held.reason = Number(parsed.args.reason);
        this.progress(`order ${held.hash.slice(0, 10)} skipped: ${ORDER_SKIP_REASONS[held.reason]}`);
      }
    }
    return receipt;
  }

  private async install(held: Held, requestId: bigint): Promise<void> {
    const backend = this.options.backend;
    if (!backend) return;
    const { order } = held.signed;
    for (const [i, source] of order.sources.entries()) {
      const rule: FlowRule = {
        id: `${this.options.service}/${requestId}/${i}`,
        family: familyOf(source) === "IPv4" ? "ipv4" : "ipv6",
        source: formatPrefix(source),
        destination: formatPrefix(order.target),
        action: { kind: "discard" },
      };
      await backend.install(rule);
    }
  }
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  // A muted answer's connection may be gone, or the handler's error come after its answer.
  if (!response.headersSent && !response.destroyed) sendJson(response, status, body);
}

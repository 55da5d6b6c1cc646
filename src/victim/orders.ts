/**
 * The victim side of signed orders: where each service takes them (its endpoint, published on
 * chain), the one unlimited approval of each service that orders need, signing, and sending them
 * to the provider's agent over HTTP (`POST /orders`, one batch per endpoint). The victim agent
 * (agent.ts) decides what goes by order and follows the settlements on chain.
 *
 * An answer is classified by what it says about the order's fate: `accepted` (the agent has it and
 * should settle it), `refused` (the agent answered and does not have it: a 4xx or a 503 with its
 * sentence), `unreachable` (it never left this machine: connection refused, no such host), or
 * `unknown` (it may have reached the agent: a timeout, a dropped connection, another 5xx). A 503
 * and the last two mark the endpoint down for a while.
 */
import { randomBytes } from "node:crypto";
import { MaxUint256, getAddress, type Provider } from "ethers";

import { ProviderServiceContract__factory } from "../../typechain-types";
import { asPrefix, parseServiceLog, type MarketClient, type RequestInfo } from "../clients/market";
import {
  hashOrder,
  orderRequestId,
  signOrder,
  toOrderJson,
  toOrderStruct,
  type Order,
  type SignedOrder,
} from "../clients/orders";
import { send } from "../clients/tx";
import { toOperatorError } from "../errors";
import type { PlannedOrder } from "./plan";

const ENDPOINT_CHANGED = ProviderServiceContract__factory.createInterface().getEvent("OrderEndpointChanged").topicHash;

/** Seconds an order stays valid by default: short, so that an order nobody settles soon lapses. */
export const DEFAULT_ORDER_EXPIRY = 30;
/** How long an endpoint may take to answer, ms. */
export const DEFAULT_ORDER_TIMEOUT_MS = 3_000;
/** How long an endpoint that did not answer is left alone (orders go direct meanwhile), ms. */
export const DEFAULT_ENDPOINT_RETRY_MS = 30_000;

/** A unique salt, increasing with time: `cancelOrdersUpTo(now << 64)` voids every older order. */
export function newOrderSalt(now = Date.now()): bigint {
  return (BigInt(now) << 64n) | BigInt("0x" + randomBytes(8).toString("hex"));
}

/**
 * Where to POST orders for a published endpoint: the endpoint is the intake's base URL, and
 * `/orders` is added unless it already ends with it. Null for anything but an http(s) URL.
 */
export function ordersUrl(endpoint: string): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (!/\/orders\/?$/.test(url.pathname)) url.pathname = url.pathname.replace(/\/?$/, "/orders");
  return url.toString().replace(/\/$/, "");
}

export type OrderAnswer =
  | { kind: "accepted" }
  | { kind: "refused"; status: number; reason: string }
  | { kind: "unreachable"; reason: string }
  | { kind: "unknown"; reason: string };

/** Error codes of a connection that never opened: the request did not leave this machine. */
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function failure(error: unknown, url: string, timeoutMs: number): OrderAnswer {
  const e = error as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e.name === "TimeoutError" || e.name === "AbortError") {
    return { kind: "unknown", reason: `${url} did not answer within ${timeoutMs} ms` };
  }
  const code = e.cause?.code;
  if (code !== undefined && NOT_SENT.has(code)) {
    return { kind: "unreachable", reason: `${url} is down (${code === "ECONNREFUSED" ? "connection refused" : code})` };
  }
  return {
    kind: "unknown",
    reason: `the connection to ${url} failed (${code ?? e.cause?.message ?? e.message ?? "unknown error"})`,
  };
}

/**
 * What a status other than 202 says: a refusal with its sentence (the body's `error`, else the
 * status) for a 4xx and for 503 (not synced, overloaded: the intake's own answer, before taking
 * anything); any other 5xx (an internal error, a proxy's 502 or 504) may come after the order was
 * taken, so its fate is unknown.
 */
function refusal(status: number, body: unknown, url: string): OrderAnswer {
  const error = (body as { error?: unknown } | null)?.error;
  const reason = typeof error === "string" && error.length > 0 ? error : `it answered HTTP ${status}`;
  if (status >= 500 && status !== 503) return { kind: "unknown", reason: `${url} failed (HTTP ${status}: ${reason})` };
  return { kind: "refused", status, reason };
}

/**
 * POSTs signed orders to one intake: one order alone, several as a batch. Returns one answer per
 * order, in their order; never throws.
 */
export async function postOrders(
  url: string,
  orders: readonly SignedOrder[],
  timeoutMs: number,
): Promise<OrderAnswer[]> {
  const batch = orders.length > 1;
  const body = batch ? { orders: orders.map(toOrderJson) } : toOrderJson(orders[0]);
  let response: Response;
  let json: unknown;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  } catch (error) {
    return orders.map(() => failure(error, url, timeoutMs));
  }
  const all = (answer: OrderAnswer) => orders.map(() => answer);
  if (!batch) return all(response.status === 202 ? { kind: "accepted" } : refusal(response.status, json, url));
  const results = (json as { results?: unknown } | null)?.results;
  if (response.status !== 200) return all(refusal(response.status, json, url));
  if (!Array.isArray(results) || results.length !== orders.length) {
    // It answered, but not in a form that says which orders it took: they may be settled.
    return all({ kind: "unknown", reason: `${url} answered the batch without one result per order` });
  }
  return results.map((r: unknown) => {
    const status = (r as { status?: unknown } | null)?.status;
    if (status === 202) return { kind: "accepted" };
    if (typeof status === "number") return refusal(status, r, url);
    return { kind: "unknown", reason: `${url} gave no status for an order of the batch` };
  });
}

/**
 * The request an order is recorded under, or status "none" while nothing is (the contract knows
 * no request under an order's id until the order is settled or cancelled).
 */
export async function readOrderRequest(market: MarketClient, service: string, requestId: bigint): Promise<RequestInfo> {
  try {
    return await market.getRequest(service, requestId);
  } catch (error) {
    if (toOperatorError(error).errorName !== "ProviderServiceUnknownRequest") throw error;
    return { ...UNSETTLED, service, requestId };
  }
}

const UNSETTLED: Omit<RequestInfo, "service" | "requestId"> = {
  requester: "",
  price: 0n,
  ackDeadline: 0,
  startedAt: 0,
  endsAt: 0,
  duration: 0,
  offeringId: 0,
  status: "none",
  rating: 0,
};

/** An order signed for a planned purchase, with what following it needs. */
export interface SentOrder {
  planned: PlannedOrder;
  signed: SignedOrder;
  hash: string;
  requestId: bigint;
  url: string;
}

export interface OrderDeskOptions {
  market: MarketClient;
  provider: Provider;
  /** Seconds an order stays valid (its expiry is the chain's time plus this). */
  expirySeconds?: number;
  /** How long an endpoint may take to answer, ms. */
  timeoutMs?: number;
  /** How long an endpoint that did not answer is left alone, ms. */
  retryDownMs?: number;
}

/**
 * The victim's order desk, shared by the purchases of one account (a daemon keeps one for its
 * life): the published endpoints, kept fresh by `OrderEndpointChanged`; the services approved for
 * orders; the endpoints that are down.
 */
export class OrderDesk {
  readonly market: MarketClient;
  readonly expirySeconds: number;
  private readonly provider: Provider;
  private readonly timeoutMs: number;
  private readonly retryDownMs: number;
  /** The published endpoint of each service looked at ("" when it takes no orders). */
  private readonly endpoints = new Map<string, string>();
  /** The last block whose endpoint changes are applied to `endpoints`. */
  private checked = -1;
  /** Services this account approved without limit (once each; the chain keeps it). */
  private readonly approved = new Set<string>();
  /** Until when (wall-clock ms) an endpoint that failed is left alone. */
  private readonly downUntil = new Map<string, number>();
  private chainId: bigint | undefined;
  /** Reads of endpoints and approvals run one at a time (concurrent purchases share the desk). */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(options: OrderDeskOptions) {
    this.market = options.market;
    this.provider = options.provider;
    this.expirySeconds = options.expirySeconds ?? DEFAULT_ORDER_EXPIRY;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ORDER_TIMEOUT_MS;
    this.retryDownMs = options.retryDownMs ?? DEFAULT_ENDPOINT_RETRY_MS;
  }

  /**
   * The published endpoints of `services` ("" for none), as of the chain's head: those already
   * known are updated from the `OrderEndpointChanged` events since they were read, the others read.
   */
  endpointsOf(services: readonly string[]): Promise<Map<string, string>> {
    return this.serially(() => this.readEndpoints(services));
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }

  private async readEndpoints(services: readonly string[]): Promise<Map<string, string>> {
    const head = await this.provider.getBlockNumber();
    if (head > this.checked) {
      const known = [...this.endpoints.keys()];
      if (known.length > 0 && this.checked >= 0) {
        const logs = await this.provider.getLogs({
          address: known,
          topics: [ENDPOINT_CHANGED],
          fromBlock: this.checked + 1,
          toBlock: head,
        });
        // In chain order: the last change of a service wins.
        for (const log of logs) {
          const parsed = parseServiceLog(log);
          if (parsed?.name === "OrderEndpointChanged")
            this.endpoints.set(getAddress(log.address), String(parsed.args.endpoint));
        }
      }
      this.checked = head;
    }
    const unknown = [...new Set(services.map((s) => getAddress(s)))].filter((s) => !this.endpoints.has(s));
    const read = await Promise.all(
      unknown.map((s) => this.market.service(s, this.provider).orderEndpoint({ blockTag: this.checked })),
    );
    unknown.forEach((s, i) => this.endpoints.set(s, read[i]));
    return new Map(services.map((s) => [s, this.endpoints.get(getAddress(s)) ?? ""]));
  }

  /** Whether orders to `url` are being held back since it failed; the time left, ms. */
  downFor(url: string): number {
    const until = this.downUntil.get(url);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left <= 0) this.downUntil.delete(url);
    return Math.max(left, 0);
  }

  /**
   * Makes sure each service may take this account's tokens for its orders: an unlimited approval,
   * sent once per service (safe: only orders this account signed can be settled). Returns the
   * services that could not be approved, with why.
   */
  approve(
    services: readonly string[],
    onApproved: (service: string, gasUsed: bigint) => void = () => undefined,
  ): Promise<Map<string, string>> {
    return this.serially(() => this.approveEach(services, onApproved));
  }

  private async approveEach(
    services: readonly string[],
    onApproved: (service: string, gasUsed: bigint) => void,
  ): Promise<Map<string, string>> {
    const failed = new Map<string, string>();
    const owner = await this.market.runner.getAddress();
    for (const service of new Set(services.map((s) => getAddress(s)))) {
      if (this.approved.has(service)) continue;
      try {
        const allowance = await this.market.token.allowance(owner, service);
        if (allowance < MaxUint256 / 2n) {
          const receipt = await this.market.approveUnlimited(service);
          onApproved(service, receipt.gasUsed);
        }
        this.approved.add(service);
      } catch (error) {
        failed.set(service, `its approval for orders failed: ${toOperatorError(error).message}`);
      }
    }
    return failed;
  }

  private async network(): Promise<bigint> {
    this.chainId ??= (await this.provider.getNetwork()).chainId;
    return this.chainId;
  }

  /** Signs the order of a planned purchase, valid until `now + expirySeconds` (chain time). */
  async sign(planned: PlannedOrder, url: string, now: number): Promise<SentOrder> {
    const chainId = await this.network();
    const requester = await this.market.runner.getAddress();
    const order: Order = {
      service: getAddress(planned.service),
      requester,
      offeringId: planned.offeringId,
      target: asPrefix(planned.target),
      sources: [...planned.sources],
      duration: planned.duration,
      maxPrice: planned.maxPrice,
      expiry: now + this.expirySeconds,
      salt: newOrderSalt(),
    };
    const signed = await signOrder(this.market.runner, order, chainId);
    const hash = hashOrder(order, chainId);
    return { planned, signed, hash, requestId: orderRequestId(requester, hash), url };
  }

  /**
   * Sends signed orders, one POST per intake (a batch when several go to the same one), all
   * intakes at once. Marks an intake that did not answer, or answered 5xx, down for a while.
   */
  async send(orders: readonly SentOrder[]): Promise<OrderAnswer[]> {
    const byUrl = new Map<string, number[]>();
    orders.forEach((o, i) => byUrl.set(o.url, [...(byUrl.get(o.url) ?? []), i]));
    const answers: OrderAnswer[] = new Array<OrderAnswer>(orders.length);
    await Promise.all(
      [...byUrl].map(async ([url, indexes]) => {
        const got = await postOrders(
          url,
          indexes.map((i) => orders[i].signed),
          this.timeoutMs,
        );
        indexes.forEach((i, k) => (answers[i] = got[k]));
        const failed = got.some(
          (a) => a.kind === "unreachable" || a.kind === "unknown" || (a.kind === "refused" && a.status >= 500),
        );
        if (failed) this.downUntil.set(url, Date.now() + this.retryDownMs);
      }),
    );
    return answers;
  }

  /** Cancels an order on chain (requester only); it can then never be settled. */
  async cancel(order: Order): Promise<bigint> {
    const service = this.market.service(order.service);
    const receipt = await send(() => service.cancelOrder(toOrderStruct(order)));
    return receipt.gasUsed;
  }
}

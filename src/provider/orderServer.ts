/**
 * The order intake's HTTP API (Node's http server, keep-alive):
 *
 * - `POST /orders` with one signed order (`{"order": {...}, "signature": "0x..."}`, the wire form
 *   of `toOrderJson`) → `202 {"orderHash", "requestId"}` (the request id in decimal), or
 *   `4xx|503 {"error": "<one sentence>"}`: 400 malformed, 403 bad signature / not wholly held /
 *   requester not active / wrong service or chain / not served, 409 already accepted, settled or
 *   cancelled, 422 terms the offering does not sell (offering, duration, price, expiry, sources),
 *   402 balance or allowance too low (counting the orders already accepted from that victim), 503
 *   not synced, overloaded, or the node unreachable.
 * - `POST /orders` with `{"orders": [ ... ]}` (at most 1000) → `200 {"results": [ {"status": 202,
 *   "orderHash", "requestId"} | {"status": 4xx, "error"} ]}`, in the order given.
 * - `GET /orders/<orderHash>` → `200 {"state": "accepted"|"settled"|"skipped"|"expired",
 *   "requestId", "reason"?}`, or 404.
 * - `GET /health` → `200 {"synced": true|false, "waiting": n}`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

import { toOperatorError } from "../errors";
import { closeServer, listen, readBody, sendJson as send } from "../net";
import type { OrderAnswer, OrderStatus } from "./orderIntake";

/** The most orders in one batch post. */
export const MAX_ORDERS_PER_POST = 1000;
/** A batch of 1000 orders of 64 sources each is about 4 MB; anything larger is refused unread. */
const MAX_BODY = 8 << 20;

/** What the server asks of the agent. */
export interface OrderHandler {
  submit(json: unknown): Promise<OrderAnswer>;
  submitMany(list: readonly unknown[]): Promise<OrderAnswer[]>;
  status(hash: string): OrderStatus | undefined;
  readonly synced: boolean;
  readonly waiting: number;
}

export interface OrderServer {
  /** "http://127.0.0.1:8546": where it listens. */
  url: string;
  port: number;
  close(): Promise<void>;
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const text = await readBody(
    request,
    MAX_BODY,
    () => new BodyError(413, `The body is larger than ${MAX_BODY} bytes: post at most ${MAX_ORDERS_PER_POST} orders.`),
  );
  try {
    return JSON.parse(text);
  } catch {
    throw new BodyError(400, 'The body is not JSON: post {"order": {...}, "signature": "0x..."} or {"orders": [...]}.');
  }
}

/** The body of a single order's answer. */
function answerBody(answer: OrderAnswer): object {
  return answer.status === 202 ? { orderHash: answer.orderHash, requestId: answer.requestId } : { error: answer.error };
}

async function postOrders(handler: OrderHandler, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJson(request);
  const list = body !== null && typeof body === "object" ? (body as { orders?: unknown }).orders : undefined;
  if (list === undefined) {
    const answer = await handler.submit(body);
    return send(response, answer.status, answerBody(answer));
  }
  if (!Array.isArray(list)) throw new BodyError(400, 'A batch\'s "orders" must be a list of signed orders.');
  if (list.length === 0 || list.length > MAX_ORDERS_PER_POST) {
    throw new BodyError(400, `A batch holds 1 to ${MAX_ORDERS_PER_POST} orders, not ${list.length}.`);
  }
  const answers = await handler.submitMany(list);
  send(response, 200, { results: answers.map((a) => ({ status: a.status, ...answerBody(a) })) });
}

/** Starts the HTTP intake on `host:port` (port 0: any free one). */
export async function startOrderServer(
  handler: OrderHandler,
  host: string,
  port: number,
  onProgress: (line: string) => void = () => undefined,
): Promise<OrderServer> {
  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/orders") {
      if (request.method !== "POST") return send(response, 405, { error: "Orders are posted: POST /orders." });
      return postOrders(handler, request, response);
    }
    if (path.startsWith("/orders/")) {
      if (request.method !== "GET")
        return send(response, 405, { error: "An order's state is read: GET /orders/<hash>." });
      const hash = path.slice("/orders/".length);
      if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) {
        return send(response, 400, { error: `"${hash}" is not an order hash: expected 0x and 64 hex digits.` });
      }
      const status = handler.status(hash);
      if (status === undefined) return send(response, 404, { error: `No order ${hash} was accepted here.` });
      return send(response, 200, status);
    }
    if (path === "/health" && request.method === "GET") {
      return send(response, 200, { synced: handler.synced, waiting: handler.waiting });
    }
    send(response, 404, { error: `There is nothing at ${path}: post orders to /orders.` });
  };
  const server: Server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      if (response.headersSent) return void response.destroy();
      if (error instanceof BodyError) return send(response, error.status, { error: error.message });
      const message = toOperatorError(error).message;
      onProgress(`order intake: error answering ${request.method} ${request.url}: ${message}`);
      send(response, 500, { error: message });
    });
  });
  // Victims and the benchmark keep their connections: do not close them between orders.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const bound = await listen(server, port, host);
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}`,
    port: bound,
    close: () => closeServer(server, () => server.closeAllConnections()),
  };
}

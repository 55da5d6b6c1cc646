/**
 * The dashboard's web server: the built web app, its /config.json, and the node's JSON-RPC on the
 * same origin (so no node needs CORS). Read-only: only reading methods are passed to the node.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { readBody } from "../net";
import { CONFIG_PATH, RPC_PATH, type DashboardConfig } from "./config";

/** Forwards a JSON-RPC request body (one call or a batch) and returns the node's reply body. */
export type RpcUpstream = (body: string) => Promise<string>;

/** The JSON-RPC methods the dashboard reads with; anything else (sending, signing) is refused. */
export const READ_METHODS: ReadonlySet<string> = new Set([
  "eth_chainId",
  "net_version",
  "eth_blockNumber",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_call",
  "eth_getLogs",
  "eth_getCode",
  "eth_getBalance",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
]);

const MAX_BODY_BYTES = 1 << 20;

interface RpcCall {
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

const rpcError = (id: unknown, code: number, message: string, data?: unknown) =>
  ({ jsonrpc: "2.0", id: id ?? null, error: { code, message, ...(data === undefined ? {} : { data }) } }) as const;

/** A node over HTTP: the body is passed through untouched, revert data and all. */
export function httpUpstream(url: string): RpcUpstream {
  return async (body) => {
    let response: Response;
    try {
      response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    } catch (error) {
      throw new Error(`The node at ${url} did not answer (${error instanceof Error ? error.message : String(error)}).`);
    }
    return response.text();
  };
}

/** An EIP-1193 provider (Hardhat's in-process network): each call made and its reply assembled. */
export function eip1193Upstream(provider: {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}): RpcUpstream {
  const one = async (call: RpcCall) => {
    try {
      const params = Array.isArray(call.params) ? call.params : [];
      return { jsonrpc: "2.0", id: call.id, result: await provider.request({ method: String(call.method), params }) };
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown; data?: unknown };
      return rpcError(call.id, typeof e.code === "number" ? e.code : -32603, String(e.message), e.data);
    }
  };
  return async (body) => {
    const parsed = JSON.parse(body) as RpcCall | RpcCall[];
    // In order, as a node answers a batch: a later call may depend on an earlier one's state.
    if (!Array.isArray(parsed)) return JSON.stringify(await one(parsed));
    const replies = [];
    for (const call of parsed) replies.push(await one(call));
    return JSON.stringify(replies);
  };
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

export interface DashboardServerOptions {
  upstream: RpcUpstream;
  config: DashboardConfig;
  /** The built web app (index.html and assets/). */
  staticDir: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Called with one sentence when the node fails a request (the browser gets the error too). */
  onError?: (message: string) => void;
}

export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

/** The calls of a request body (one or a batch), or null when it is not JSON. */
function callsOf(body: string): { calls: RpcCall[]; batch: boolean } | null {
  try {
    const parsed = JSON.parse(body) as unknown;
    return Array.isArray(parsed)
      ? { calls: parsed as RpcCall[], batch: true }
      : { calls: [parsed as RpcCall], batch: false };
  } catch {
    return null;
  }
}

/**
 * The same error for every call of the request, each with its id, so that the browser's client
 * matches each to its call and shows the message.
 */
function errorReply(request: { calls: RpcCall[]; batch: boolean }, code: number, message: string): string {
  const errors = request.calls.map((c) => rpcError(c?.id, code, message));
  return JSON.stringify(request.batch ? errors : errors[0]);
}

/** The reply to a request that calls a method the dashboard does not serve, or null if all are reads. */
function refusal(request: { calls: RpcCall[]; batch: boolean }): string | null {
  const refused = request.calls.find((c) => typeof c?.method !== "string" || !READ_METHODS.has(c.method));
  if (refused === undefined) return null;
  const message = `The dashboard is read-only: it does not pass ${JSON.stringify(refused?.method)} to the node.`;
  return errorReply(request, -32601, message);
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const root = path.resolve(options.staticDir);
  // One call before serving: a node that does not answer is said now, and the first page load
  // does not pay for setting up the connection.
  await options.upstream(JSON.stringify({ jsonrpc: "2.0", id: 0, method: "eth_chainId", params: [] }));
  const configJson = JSON.stringify(options.config);

  const send = (response: ServerResponse, status: number, type: string, body: string | Buffer, cache = "no-cache") => {
    response.writeHead(status, { "content-type": type, "cache-control": cache });
    response.end(body);
  };

  const json = (response: ServerResponse, body: string) => send(response, 200, "application/json", body);

  const serveRpc = async (incoming: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(
      incoming,
      MAX_BODY_BYTES,
      () => new Error(`A JSON-RPC request of more than ${MAX_BODY_BYTES} bytes is refused.`),
    );
    const request = callsOf(body);
    if (request === null) return json(response, JSON.stringify(rpcError(null, -32700, "The request is not JSON.")));
    const refused = refusal(request);
    if (refused !== null) return json(response, refused);
    try {
      json(response, await options.upstream(body));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      options.onError?.(message);
      json(response, errorReply(request, -32603, message));
    }
  };

  const serveFile = async (pathname: string, response: ServerResponse) => {
    const relative = path.normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, "");
    let file = path.join(root, relative === "" ? "index.html" : relative);
    // Anything outside the app, or a path without a file extension (a view), gets the app itself.
    if (!file.startsWith(root + path.sep) || path.extname(file) === "") file = path.join(root, "index.html");
    const hashed = file.includes(`${path.sep}assets${path.sep}`);
    try {
      const content = await readFile(file);
      const type = CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream";
      send(response, 200, type, content, hashed ? "public, max-age=31536000, immutable" : "no-cache");
    } catch {
      send(response, 404, "text/plain; charset=utf-8", `${pathname} is not part of the dashboard.\n`);
    }
  };

  const server = createServer((request, response) => {
    const { pathname } = new URL(request.url ?? "/", "http://dashboard");
    const handled =
      request.method === "POST" && pathname === RPC_PATH
        ? serveRpc(request, response)
        : request.method === "GET" && pathname === CONFIG_PATH
          ? Promise.resolve(json(response, configJson))
          : request.method === "GET" || request.method === "HEAD"
            ? serveFile(pathname, response)
            : Promise.resolve(send(response, 405, "text/plain; charset=utf-8", "The dashboard only reads.\n"));
    handled.catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (!response.headersSent) send(response, 400, "text/plain; charset=utf-8", `${message}\n`);
      else response.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const host = options.host === undefined || options.host === "0.0.0.0" ? "127.0.0.1" : options.host;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

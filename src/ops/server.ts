/**
 * The operations endpoint of an agent, on a localhost port: `GET /metrics` (Prometheus text),
 * `GET /healthz` (200 when ready, 503 with the failing checks' sentences when not) and
 * `GET /livez` (200 while the process and its loop are alive). Answers are small and never wait
 * on the node longer than a check's timeout.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

import { OperatorError, toOperatorError } from "../errors";
import { closeServer } from "../net";
import { runChecks, type Check } from "./health";

export interface OpsServerOptions {
  host: string;
  /** 0 for a port the system chooses (tests). */
  port: number;
  metrics: { scrape(): Promise<string>; readonly contentType: string };
  /** Ready: synced within a few blocks and the back end answers (see syncCheck, backendCheck). */
  readiness: readonly Check[];
  /** Alive: by default the process answers; add loopCheck to fail a stuck loop. */
  liveness?: readonly Check[];
  /** A check's timeout, ms. */
  checkTimeoutMs?: number;
  /** Called with one sentence when a scrape fails. */
  onError?: (message: string) => void;
}

export interface OpsServer {
  /** "http://127.0.0.1:9750" */
  url: string;
  port: number;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  response.end(body);
}

const json = (response: ServerResponse, status: number, body: unknown) =>
  send(response, status, "application/json", JSON.stringify(body));

/** "127.0.0.1:9750" → host and port; one sentence when it is not one. */
export function parseListenAddress(text: string, what = "metrics address"): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new OperatorError(`"${text}" is not a ${what}: write host:port, such as 127.0.0.1:9750.`);
  }
  return { host: match[1] ?? match[2], port };
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const timeout = options.checkTimeoutMs ?? 2000;
  const onError = options.onError ?? (() => undefined);
  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      return json(response, 405, { error: `${request.method} is not served here: use GET.` });
    }
    switch (path) {
      case "/metrics":
        return send(response, 200, options.metrics.contentType, await options.metrics.scrape());
      case "/healthz": {
        const result = await runChecks(options.readiness, timeout);
        return json(response, result.ready ? 200 : 503, result);
      }
      case "/livez": {
        const result = await runChecks(options.liveness ?? [], timeout);
        return json(response, result.ready ? 200 : 503, { live: result.ready, checks: result.checks });
      }
      default:
        return json(response, 404, { error: `There is nothing at ${path}: try /metrics, /healthz or /livez.` });
    }
  };
  const server: Server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      const message = toOperatorError(error).message;
      onError(`answering ${request.url} failed: ${message}`);
      if (!response.headersSent) json(response, 500, { error: message });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new OperatorError(
          `Cannot listen on ${options.host}:${options.port} for metrics: ${error.code === "EADDRINUSE" ? "the port is taken" : error.message}.`,
        ),
      ),
    );
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => closeServer(server, () => server.closeAllConnections()),
  };
}

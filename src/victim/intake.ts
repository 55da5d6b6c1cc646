/**
 * Where the detector's notifications reach the victim daemon: a small HTTP server on localhost
 * or on a Unix socket. The notify script (scripts/fastnetmon-notify.cjs) posts each call to
 * `POST /notify` as `{"args": [address, direction, pps, action], "details": "<standard input>"}`;
 * the answer is `{"accepted": true|false, "message": "<one sentence>"}` with status 200 (taken),
 * 400 (malformed: nothing done) or 422 (refused: nothing bought). `GET /health` says it is up.
 */
import { existsSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

import { toOperatorError } from "../errors";
import { readBody, sendJson } from "../net";
import type { NotificationAnswer } from "./daemon";
import { NotificationError, parseNotification, type DetectorNotification } from "./notification";

/** A notification is a few kilobytes of text: anything larger is refused unread. */
const MAX_BODY = 1 << 20;

export type IntakeAddress = { host: string; port: number } | { socket: string };

export interface IntakeOptions {
  listen: IntakeAddress;
  handle: (notification: DetectorNotification) => Promise<NotificationAnswer>;
  /** One line per notification and its answer. */
  onProgress?: (line: string) => void;
}

export interface Intake {
  /** What the notify script is given: "http://127.0.0.1:9740" or "unix:/run/victim.sock". */
  url: string;
  close(): Promise<void>;
}

/** "127.0.0.1:9740" or "unix:/run/victim.sock" (a path alone is a socket too). */
export function parseIntakeAddress(text: string): IntakeAddress {
  const trimmed = text.trim();
  if (trimmed.startsWith("unix:") || trimmed.startsWith("/")) {
    const socket = trimmed.startsWith("unix:") ? trimmed.slice(5) : trimmed;
    if (socket === "") throw new Error(`"${text}" names no socket path: write unix:/run/victim-daemon.sock.`);
    return { socket };
  }
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(trimmed);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new Error(`"${text}" is not an address to listen on: write host:port (127.0.0.1:9740) or unix:/path.`);
  }
  return { host: match[1] ?? match[2], port };
}

/** Reads `{"args": [...], "details": "..."}` into a notification; one sentence when it is not one. */
export function parseNotificationBody(text: string): DetectorNotification {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new NotificationError(
      'The notification is not JSON: the notify script posts {"args": [...], "details": "..."}.',
    );
  }
  const { args, details } = (body ?? {}) as { args?: unknown; details?: unknown };
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    throw new NotificationError('The notification has no "args" list of strings (the notify script\'s arguments).');
  }
  if (details !== undefined && typeof details !== "string") {
    throw new NotificationError("The notification's \"details\" must be text (the notify script's standard input).");
  }
  return parseNotification(args, details ?? "");
}

export async function startIntake(options: IntakeOptions): Promise<Intake> {
  const progress = options.onProgress ?? (() => undefined);
  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method === "GET" && request.url === "/health") return sendJson(response, 200, { ok: true });
    if (request.url !== "/notify") {
      return sendJson(response, 404, {
        accepted: false,
        message: `There is nothing at ${request.url}: post to /notify.`,
      });
    }
    if (request.method !== "POST") {
      return sendJson(response, 405, { accepted: false, message: "Notifications are posted (POST /notify)." });
    }
    let notification: DetectorNotification;
    try {
      notification = parseNotificationBody(
        await readBody(
          request,
          MAX_BODY,
          () => new NotificationError(`The notification is larger than ${MAX_BODY} bytes.`),
        ),
      );
    } catch (error) {
      const message = error instanceof NotificationError ? error.message : toOperatorError(error).message;
      progress(`malformed notification: ${message}`);
      return sendJson(response, 400, { accepted: false, message });
    }
    const answer = await options.handle(notification);
    progress(
      `${notification.action} ${notification.target}: ${answer.accepted ? "taken" : "refused"}: ${answer.message}`,
    );
    sendJson(response, answer.accepted ? 200 : 422, answer);
  };
  const server: Server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      const message = toOperatorError(error).message;
      progress(`error answering a notification: ${message}`);
      if (!response.headersSent) sendJson(response, 500, { accepted: false, message });
      else response.destroy();
    });
  });
  const { listen } = options;
  // A socket file left by a daemon that died is in the way of the new one.
  if ("socket" in listen && existsSync(listen.socket)) rmSync(listen.socket);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if ("socket" in listen) server.listen(listen.socket, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  const address = server.address();
  const url =
    "socket" in listen
      ? `unix:${listen.socket}`
      : `http://${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${typeof address === "object" && address ? address.port : listen.port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Local networking for the processes and servers the project starts itself (anvil, gobgpd,
 * FastNetMon, the DOTS gateway), and JSON posts on kept connections.
 */
import { createSocket } from "node:dgram";
import { request as httpRequest, type Agent, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer, type AddressInfo, type Server } from "node:net";

/** A TCP port on 127.0.0.1 that nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `server` listening; resolves with its port (the one the system chose for port 0). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops listening and drops the open connections; resolves once the server has closed. */
export function closeServer(server: Server, dropConnections: () => void): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    dropConnections();
  });
}

/** A UDP port on 127.0.0.1 that nobody is bound to right now (e.g. for a NetFlow collector). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/**
 * The body of an HTTP request as text, refused with `tooLarge()` (and the request destroyed) once
 * it passes `maxBytes`: a local server must not buffer whatever a client sends.
 */
export function readBody(request: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(tooLarge());
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** Answers an HTTP request with `body` as JSON. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

/** An HTTP answer: its status and its body as text. */
export interface HttpAnswer {
  status: number;
  text: string;
}

/** A post that outlived its time: the error `postJson` rejects with, carrying the caller's sentence. */
export class PostTimeout extends Error {}

/**
 * POSTs `text` (JSON) to `url` through `agent` (give it `keepAlive`: Node's own client costs about a
 * third of `fetch`'s CPU per post). Rejects with a PostTimeout saying `timeout.message` after
 * `timeout.ms`. A kept connection the server closed while idle fails before any answer: the post
 * is sent once more on a new connection, as Node's documentation advises (`retry`: false for that
 * second attempt, which is not repeated).
 */
export function postJson(
  url: URL,
  agent: Agent,
  text: string,
  timeout?: { ms: number; message: string },
  retry = true,
): Promise<HttpAnswer> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<HttpAnswer>((resolve, reject) => {
    let answered = false;
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) },
      },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
        });
        response.on("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    const timer =
      timeout &&
      setTimeout(() => {
        reject(new PostTimeout(timeout.message));
        req.destroy();
      }, timeout.ms);
    req.on("error", (error: Error & { code?: string }) => {
      clearTimeout(timer);
      if (retry && !answered && req.reusedSocket && error.code === "ECONNRESET") {
        return resolve(postJson(url, agent, text, timeout, false));
      }
      reject(error);
    });
    req.end(text);
  });
}

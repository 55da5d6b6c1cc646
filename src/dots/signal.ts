/**
 * The DOTS signal channel server (RFC 9132) over CoAP over TLS (RFC 8323, `coaps+tcp`), the
 * transport RFC 9132 §4.3 names beside DTLS. Clients authenticate with a pre-shared key or a
 * certificate signed by the configured CA; an unauthenticated one gets 4.01 for every request.
 *
 * Resources under /.well-known/dots: `mitigate/cuid=…/mid=…` (PUT, GET with Observe, DELETE),
 * `config[/sid=…]` (GET, PUT, DELETE), `hb` (PUT), and RFC 9244's `tm/cuid=…/tmid=…` (PUT,
 * DELETE) whose top talkers locate the attack for later requests. CoAP Ping is answered with Pong.
 */
import { createServer, DEFAULT_CIPHERS, type Server, type TLSSocket } from "node:tls";

import { closeServer, listen } from "../net";
import {
  decodeDots,
  DotsCodecError,
  DOTS_CBOR_FORMAT,
  encodeDots,
  parseMitigationRequest,
  telemetryTargetsAndSources,
  type DotsObject,
} from "./codec";
import {
  codeText,
  CoapFormatError,
  CSM_OPTION,
  encodeTcpMessage,
  isRequest,
  isSignal,
  METHOD,
  OPTION,
  RESPONSE,
  SIGNAL,
  TcpMessageReader,
  uintOption,
  uintOptionOf,
  unknownCriticalOption,
  uriPath,
  type CoapMessage,
  type CoapOption,
} from "./coap";
import type { ClientDirectory, ClientEntry } from "./config";
import { DotsError, type Mitigation, type Mitigations } from "./mitigations";
import { SessionConfigs } from "./sessionConfig";

/** Every PSK cipher suite (OpenSSL's PSK alias), offered beside the defaults (TLS 1.2). */
const PSK_CIPHERS = "PSK";

/** The largest message the gateway takes (CSM Max-Message-Size). */
const MAX_MESSAGE_SIZE = 65_536;

export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** The TLS server options both channels share: mutual authentication by PSK or certificate. */
export function tlsServerOptions(
  credentials: TlsCredentials,
  directory: ClientDirectory,
  pskIdentities: WeakMap<TLSSocket, string>,
) {
  return {
    cert: credentials.cert,
    key: credentials.key,
    ca: credentials.ca,
    // Asked for, then judged per connection: a client without one may still hold a PSK.
    requestCert: credentials.ca !== undefined,
    rejectUnauthorized: false,
    minVersion: "TLSv1.2" as const,
    ...(directory.hasPsk
      ? {
          // Node offers PSK in TLS 1.2 only: a PSK client negotiates 1.2, a certificate client 1.3.
          // Node's defaults end with !PSK, which would remove them whatever came before.
          ciphers: `${DEFAULT_CIPHERS.split(":")
            .filter((c) => c !== "!PSK")
            .join(":")}:${PSK_CIPHERS}`,
          pskCallback: (socket: TLSSocket, identity: string) => {
            const key = directory.pskKey(identity);
            if (key) pskIdentities.set(socket, identity);
            return key;
          },
        }
      : {}),
  };
}

/** The configured client behind a TLS connection, or null when it did not authenticate. */
export function identify(
  socket: TLSSocket,
  directory: ClientDirectory,
  pskIdentities: WeakMap<TLSSocket, string>,
): ClientEntry | null {
  const identity = pskIdentities.get(socket);
  if (identity !== undefined) return directory.byPsk(identity);
  if (!socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return null;
  return directory.byCertificate(cert);
}

export interface SignalServerOptions {
  host: string;
  port: number;
  tls: TlsCredentials;
  directory: ClientDirectory;
  mitigations: Mitigations;
  defaultLifetime: number;
  onProgress?: (line: string) => void;
}

interface Observation {
  token: Buffer;
  mid?: number;
  cuid: string;
  sequence: number;
  stop: () => void;
}

/** One client connection. */
class Session {
  private readonly reader = new TcpMessageReader(MAX_MESSAGE_SIZE);
  private readonly observations = new Map<string, Observation>();
  private released = false;

  constructor(
    readonly socket: TLSSocket,
    readonly client: ClientEntry | null,
    private readonly server: SignalServer,
  ) {
    this.send({
      code: SIGNAL.csm,
      token: Buffer.alloc(0),
      options: [{ number: CSM_OPTION.maxMessageSize, value: uintOption(MAX_MESSAGE_SIZE) }],
      payload: Buffer.alloc(0),
    });
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("close", () => this.closed());
    socket.on("error", () => undefined);
  }

  private receive(chunk: Buffer): void {
    let messages: CoapMessage[];
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      // The stream cannot be resynchronised after a framing error (RFC 8323 §5.6): abort.
      this.signal(SIGNAL.abort, (error as CoapFormatError).message);
      this.socket.end();
      return;
    }
    for (const message of messages) {
      if (isSignal(message.code)) this.onSignal(message);
      else if (isRequest(message.code)) {
        void this.server.answer(this, message).then((response) => this.send(response));
      }
    }
  }

  private onSignal(message: CoapMessage): void {
    if (message.code === SIGNAL.ping)
      this.send({ code: SIGNAL.pong, token: message.token, options: [], payload: Buffer.alloc(0) });
    else if (message.code === SIGNAL.release) {
      this.released = true;
      this.socket.end();
    } else if (message.code === SIGNAL.abort) this.socket.destroy();
  }

  private signal(code: number, diagnostic: string): void {
    this.send({ code, token: Buffer.alloc(0), options: [], payload: Buffer.from(diagnostic, "utf8") });
  }

  send(message: CoapMessage): void {
    if (this.socket.writable) this.socket.write(encodeTcpMessage(message));
  }

  observe(observation: Observation): void {
    const key = observation.token.toString("hex");
    this.observations.get(key)?.stop();
    this.observations.set(key, observation);
  }

  unobserve(token: Buffer): void {
    const key = token.toString("hex");
    this.observations.get(key)?.stop();
    this.observations.delete(key);
  }

  private closed(): void {
    for (const o of this.observations.values()) o.stop();
    this.observations.clear();
    this.server.sessionClosed(this, this.released);
  }
}

function payloadResponse(request: CoapMessage, code: number, body?: DotsObject, extra: CoapOption[] = []): CoapMessage {
  const options = [...extra];
  if (body) options.push({ number: OPTION.contentFormat, value: uintOption(DOTS_CBOR_FORMAT) });
  return { code, token: request.token, options, payload: body ? encodeDots(body) : Buffer.alloc(0) };
}

/** A refusal: the RFC's code, a CBOR body when it has one, else a diagnostic payload (RFC 7252 §5.5.2). */
function errorResponse(request: CoapMessage, error: unknown): CoapMessage {
  if (error instanceof DotsError) {
    if (error.body) return payloadResponse(request, error.code, error.body);
    return { code: error.code, token: request.token, options: [], payload: Buffer.from(error.message, "utf8") };
  }
  if (error instanceof DotsCodecError) {
    return {
      code: RESPONSE.badRequest,
      token: request.token,
      options: [],
      payload: Buffer.from(error.message, "utf8"),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: RESPONSE.internalServerError,
    token: request.token,
    options: [],
    payload: Buffer.from(message, "utf8"),
  };
}

function pathParameter(segment: string | undefined, name: string): string | undefined {
  if (segment === undefined || !segment.startsWith(`${name}=`)) return undefined;
  return segment.slice(name.length + 1);
}

function wholeParameter(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) {
    throw new DotsError(RESPONSE.badRequest, `"${name}=${text}" is not a whole number from 0 to 4294967295.`);
  }
  return Number(text);
}

export class SignalServer {
  private server: Server | undefined;
  private readonly sessions = new Set<Session>();
  private readonly pskIdentities = new WeakMap<TLSSocket, string>();
  private readonly configs = new SessionConfigs();
  private readonly progress: (line: string) => void;

  constructor(private readonly options: SignalServerOptions) {
    this.progress = options.onProgress ?? (() => undefined);
  }

  /** Listens; resolves with the port (useful with port 0). */
  listen(): Promise<number> {
    const server = createServer(
      { ...tlsServerOptions(this.options.tls, this.options.directory, this.pskIdentities), ALPNProtocols: ["coap"] },
      (socket) => {
        const client = identify(socket, this.options.directory, this.pskIdentities);
        this.progress(
          `signal channel: ${client ? `${client.name} connected` : "an unauthenticated client connected"} from ${socket.remoteAddress}`,
        );
        this.sessions.add(new Session(socket, client, this));
      },
    );
    server.on("tlsClientError", (error) => this.progress(`signal channel: TLS handshake failed: ${error.message}`));
    this.server = server;
    return listen(server, this.options.port, this.options.host);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server, () => {
      for (const s of this.sessions) s.socket.destroy();
    });
  }

  sessionClosed(session: Session, released: boolean): void {
    this.sessions.delete(session);
    const client = session.client;
    if (!client || released) return;
    if ([...this.sessions].some((s) => s.client?.name === client.name)) return;
    this.options.mitigations.signalLost(client.name).catch((error: unknown) => {
      this.progress(`${client.name}: ${(error as Error).message}`);
    });
  }

  /** Answers one request, a refusal included; never rejects. */
  async answer(session: Session, request: CoapMessage): Promise<CoapMessage> {
    let response: CoapMessage;
    try {
      response = await this.handle(session, request);
    } catch (error) {
      response = errorResponse(request, error);
    }
    const method = ["", "GET", "POST", "PUT", "DELETE"][request.code] ?? codeText(request.code);
    const diagnostic = response.code >= RESPONSE.badRequest && response.payload.length > 0 && !response.options.length;
    this.progress(
      `${session.client?.name ?? "unauthenticated client"}: ${method} /${uriPath(request).join("/")} → ${codeText(response.code)}` +
        (diagnostic ? ` ${response.payload.toString("utf8")}` : ""),
    );
    return response;
  }

  private async handle(session: Session, request: CoapMessage): Promise<CoapMessage> {
    const critical = unknownCriticalOption(request);
    if (critical !== undefined)
      throw new DotsError(RESPONSE.badOption, `Option ${critical} is critical and not understood.`);
    const client = session.client;
    if (!client) {
      throw new DotsError(
        RESPONSE.unauthorized,
        "The client did not authenticate: use a configured PSK identity or certificate.",
      );
    }
    const path = uriPath(request);
    if (path[0] !== ".well-known" || path[1] !== "dots")
      throw new DotsError(RESPONSE.notFound, `/${path.join("/")} is not a DOTS resource.`);
    const accept = uintOptionOf(request, OPTION.accept);
    if (accept !== undefined && accept !== DOTS_CBOR_FORMAT) {
      throw new DotsError(
        RESPONSE.notAcceptable,
        `Only application/dots+cbor (${DOTS_CBOR_FORMAT}) is served, not format ${accept}.`,
      );
    }
    return this.route(session, client, request, path.slice(2));
  }

  private body(request: CoapMessage): DotsObject {
    const format = uintOptionOf(request, OPTION.contentFormat);
    if (format !== DOTS_CBOR_FORMAT) {
      throw new DotsError(
        RESPONSE.unsupportedContentFormat,
        `The body must be application/dots+cbor (Content-Format ${DOTS_CBOR_FORMAT}), not ${format === undefined ? "none" : format}.`,
      );
    }
    return decodeDots(request.payload);
  }

  private async route(
    session: Session,
    client: ClientEntry,
    request: CoapMessage,
    path: string[],
  ): Promise<CoapMessage> {
    const [resource, ...rest] = path;
    switch (resource) {
      case "mitigate":
        return this.mitigate(session, client, request, rest);
      case "config":
        return this.config(client, request, rest);
      case "tm":
        return this.telemetry(client, request, rest);
      case "hb":
        if (request.code !== METHOD.PUT)
          throw new DotsError(RESPONSE.methodNotAllowed, "The heartbeat resource takes PUT.");
        {
          const body = this.body(request);
          const hb = body["ietf-dots-signal-channel:heartbeat"];
          if (hb === null || typeof hb !== "object" || Array.isArray(hb) || typeof hb["peer-hb-status"] !== "boolean") {
            throw new DotsError(
              RESPONSE.badRequest,
              "A heartbeat carries ietf-dots-signal-channel:heartbeat with a peer-hb-status.",
            );
          }
        }
        return payloadResponse(request, RESPONSE.changed);
      default:
        throw new DotsError(RESPONSE.notFound, `/.well-known/dots/${path.join("/")} is not a DOTS resource.`);
    }
  }

  private async mitigate(
    session: Session,
    client: ClientEntry,
    request: CoapMessage,
    path: string[],
  ): Promise<CoapMessage> {
    const cuid = pathParameter(path[0], "cuid");
    if (cuid === undefined || cuid === "") throw new DotsError(RESPONSE.badRequest, "The Uri-Path lacks cuid=….");
    const midText = pathParameter(path[1], "mid");
    if (path[1] !== undefined && midText === undefined)
      throw new DotsError(RESPONSE.badRequest, `"${path[1]}" is not mid=….`);
    if (path.length > 2) throw new DotsError(RESPONSE.notFound, `/${path.join("/")} is not a mitigation resource.`);
    const mid = wholeParameter(midText, "mid");
    const { mitigations } = this.options;
    switch (request.code) {
      case METHOD.PUT: {
        if (mid === undefined)
          throw new DotsError(RESPONSE.badRequest, "A mitigation request needs mid=… in its Uri-Path.");
        const scope = parseMitigationRequest(this.body(request), this.options.defaultLifetime);
        const result = await mitigations.put(client, cuid, mid, scope);
        const asked = scope.lifetime;
        const body =
          asked !== result.lifetime
            ? { "ietf-dots-signal-channel:mitigation-scope": { scope: [{ mid, lifetime: result.lifetime }] } }
            : undefined;
        return payloadResponse(request, result.code, body);
      }
      case METHOD.GET: {
        const list = mitigations.list(client.name, cuid, mid);
        const observe = uintOptionOf(request, OPTION.observe);
        const extra: CoapOption[] = [];
        if (observe === 0) {
          const observation: Observation = {
            token: request.token,
            mid,
            cuid,
            sequence: 2,
            stop: () => undefined,
          };
          observation.stop = mitigations.observe(client.name, cuid, (m) =>
            this.notify(session, request, observation, m),
          );
          session.observe(observation);
          extra.push({ number: OPTION.observe, value: uintOption(1) });
        } else if (observe === 1) {
          session.unobserve(request.token);
        }
        return payloadResponse(request, RESPONSE.content, this.scopes(list), extra);
      }
      case METHOD.DELETE: {
        if (mid === undefined) throw new DotsError(RESPONSE.badRequest, "A withdrawal needs mid=… in its Uri-Path.");
        await mitigations.delete(client.name, cuid, mid);
        return payloadResponse(request, RESPONSE.deleted);
      }
      default:
        throw new DotsError(RESPONSE.methodNotAllowed, "Mitigation resources take PUT, GET and DELETE.");
    }
  }

  private scopes(list: Mitigation[]): DotsObject {
    return {
      "ietf-dots-signal-channel:mitigation-scope": { scope: list.map((m) => this.options.mitigations.view(m)) },
    };
  }

  /** A notification carries only the mitigation that changed (RFC 9132 §4.4.2.1). */
  private notify(session: Session, request: CoapMessage, observation: Observation, m: Mitigation): void {
    if (observation.mid !== undefined && observation.mid !== m.mid) return;
    observation.sequence = (observation.sequence + 1) % (1 << 24);
    session.send(
      payloadResponse(request, RESPONSE.content, this.scopes([m]), [
        { number: OPTION.observe, value: uintOption(observation.sequence) },
      ]),
    );
  }

  /** Pre-or-ongoing-mitigation telemetry (RFC 9244 §8): PUT stores its top talkers, DELETE drops them. */
  private telemetry(client: ClientEntry, request: CoapMessage, path: string[]): CoapMessage {
    const cuid = pathParameter(path[0], "cuid");
    if (cuid === undefined || cuid === "") throw new DotsError(RESPONSE.badRequest, "The Uri-Path lacks cuid=….");
    const tmid = wholeParameter(pathParameter(path[1], "tmid"), "tmid");
    switch (request.code) {
      case METHOD.PUT: {
        if (tmid === undefined)
          throw new DotsError(RESPONSE.badRequest, "A telemetry PUT needs tmid=… in its Uri-Path.");
        const created = this.options.mitigations.putTelemetry(
          client.name,
          cuid,
          tmid,
          telemetryTargetsAndSources(this.body(request)),
        );
        return payloadResponse(request, created ? RESPONSE.created : RESPONSE.changed);
      }
      case METHOD.DELETE:
        this.options.mitigations.deleteTelemetry(client.name, cuid, tmid);
        return payloadResponse(request, RESPONSE.deleted);
      default:
        throw new DotsError(RESPONSE.methodNotAllowed, "The telemetry resource takes PUT and DELETE here.");
    }
  }

  private config(client: ClientEntry, request: CoapMessage, path: string[]): CoapMessage {
    const sid = wholeParameter(pathParameter(path[0], "sid"), "sid");
    if (path[0] !== undefined && sid === undefined)
      throw new DotsError(RESPONSE.badRequest, `"${path[0]}" is not sid=….`);
    switch (request.code) {
      case METHOD.GET:
        return payloadResponse(request, RESPONSE.content, this.configs.view(client.name));
      case METHOD.PUT: {
        if (sid === undefined)
          throw new DotsError(RESPONSE.badRequest, "A configuration request needs sid=… in its Uri-Path.");
        const created = this.configs.put(client.name, sid, this.body(request));
        return payloadResponse(request, created ? RESPONSE.created : RESPONSE.changed);
      }
      case METHOD.DELETE:
        this.configs.reset(client.name, sid);
        return payloadResponse(request, RESPONSE.deleted);
      default:
        throw new DotsError(RESPONSE.methodNotAllowed, "The configuration resource takes GET, PUT and DELETE.");
    }
  }
}

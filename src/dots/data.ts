/**
 * The DOTS data channel (RFC 8783): RESTCONF (RFC 8040) over HTTPS with JSON bodies, the client
 * authenticated by its certificate. A client registers its cuid, its aliases (named targets the
 * signal channel may use) and filtering rules; a drop-list ACL (ACEs whose action is "drop", with
 * a source and a destination network) becomes a purchase of flow-filtering offerings from the
 * providers near its sources — at once ("immediate") or when the client's next mitigation over the
 * same destination starts ("activate-when-mitigating", the default).
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";

import { closeServer, listen } from "../net";
import { contains, formatPrefix, parsePrefix, type Prefix } from "../prefix";
import { RESPONSE } from "./coap";
import type { ClientDirectory, ClientEntry } from "./config";
import { DotsError, type MarketPort, type MarketPurchase, type Mitigation } from "./mitigations";
import { identify, tlsServerOptions, type TlsCredentials } from "./signal";

const ROOT = "/restconf/data/ietf-dots-data-channel:dots-data";
const MEDIA_TYPE = "application/yang-data+json";

/** HTTP status and RESTCONF error-tag (RFC 8040 §7). */
class RestconfError extends Error {
  constructor(
    readonly status: number,
    readonly tag: string,
    message: string,
  ) {
    super(message);
  }
}

interface Alias {
  name: string;
  prefixes: Prefix[];
  json: Record<string, unknown>;
}

interface Acl {
  name: string;
  activation: "activate-when-mitigating" | "immediate" | "deactivate";
  /** Drop rules: destination (held) ← sources. */
  drops: { destination: Prefix; sources: string[] }[];
  json: Record<string, unknown>;
  purchases: MarketPurchase[];
}

interface ClientData {
  cuid: string;
  aliases: Map<string, Alias>;
  acls: Map<string, Acl>;
}

export interface DataServerOptions {
  host: string;
  port: number;
  tls: TlsCredentials;
  directory: ClientDirectory;
  market: MarketPort;
  /** Seconds a drop-list purchase lasts. */
  aclLifetime: number;
  onProgress?: (line: string) => void;
}

function fail(status: number, tag: string, message: string): never {
  throw new RestconfError(status, tag, message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function prefixList(value: unknown, what: string): Prefix[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(400, "invalid-value", `"${what}" must be an array.`);
  return value.map((text) => {
    try {
      return parsePrefix(String(text), { allowAddress: true });
    } catch (error) {
      return fail(
        400,
        "invalid-value",
        `"${what}" ${JSON.stringify(text)} is not a prefix: ${(error as Error).message}`,
      );
    }
  });
}

function network(matches: Record<string, unknown>, which: "source" | "destination"): string | undefined {
  for (const family of ["ipv4", "ipv6"] as const) {
    const m = matches[family];
    if (isRecord(m) && typeof m[`${which}-${family}-network`] === "string")
      return m[`${which}-${family}-network`] as string;
  }
  return undefined;
}

export class DataServer {
  private server: Server | undefined;
  private readonly clients = new Map<string, ClientData>();
  private readonly pskIdentities = new WeakMap<TLSSocket, string>();
  private readonly progress: (line: string) => void;

  constructor(private readonly options: DataServerOptions) {
    this.progress = options.onProgress ?? (() => undefined);
  }

  listen(): Promise<number> {
    const server = createServer(
      tlsServerOptions(this.options.tls, this.options.directory, this.pskIdentities),
      (req, res) => {
        void this.serve(req, res);
      },
    );
    this.server = server;
    return listen(server, this.options.port, this.options.host);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server, () => server.closeAllConnections());
  }

  /** The prefixes of a client's aliases (for the signal channel's alias-name). */
  resolveAliases(client: string, names: readonly string[]): Prefix[] {
    const data = this.clients.get(client);
    return names.flatMap((name) => {
      const alias = data?.aliases.get(name);
      if (!alias)
        throw new DotsError(RESPONSE.badRequest, `There is no alias "${name}": register it on the data channel first.`);
      return alias.prefixes;
    });
  }

  /** A signal-channel mitigation started: buy the ACLs waiting for one over its targets. */
  async mitigationStarted(m: Mitigation): Promise<void> {
    const data = this.clients.get(m.client);
    if (!data) return;
    for (const acl of data.acls.values()) {
      if (acl.activation !== "activate-when-mitigating" || acl.purchases.length > 0) continue;
      const drops = acl.drops.filter((d) =>
        m.targets.some((t) => contains(t, d.destination) || contains(d.destination, t)),
      );
      if (drops.length > 0) await this.buyAcl(m.client, m.account, acl, drops);
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const client = identify(req.socket as TLSSocket, this.options.directory, this.pskIdentities);
    let status = 500;
    let body: unknown;
    try {
      if (!client) fail(401, "access-denied", "The client did not present a certificate the gateway knows.");
      const text = await new Promise<string>((resolve, reject) => {
        let data = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (data += chunk));
        req.on("end", () => resolve(data));
        req.on("error", reject);
      });
      let json: unknown;
      if (text.length > 0) {
        const type = (req.headers["content-type"] ?? "").split(";")[0].trim();
        if (type !== MEDIA_TYPE && type !== "application/json") {
          fail(415, "invalid-value", `The body must be ${MEDIA_TYPE}, not ${type || "untyped"}.`);
        }
        try {
          json = JSON.parse(text);
        } catch {
          fail(400, "malformed-message", "The body is not valid JSON.");
        }
      }
      [status, body] = await this.route(client, req.method ?? "GET", decodeURI(req.url ?? "/"), json);
    } catch (error) {
      if (error instanceof RestconfError) {
        status = error.status;
        body = {
          "ietf-restconf:errors": {
            error: [{ "error-type": "application", "error-tag": error.tag, "error-message": error.message }],
          },
        };
      } else {
        status = 500;
        body = {
          "ietf-restconf:errors": {
            error: [
              {
                "error-type": "application",
                "error-tag": "operation-failed",
                "error-message": (error as Error).message,
              },
            ],
          },
        };
      }
    }
    this.progress(`data channel: ${client?.name ?? "unauthenticated client"}: ${req.method} ${req.url} → ${status}`);
    res.statusCode = status;
    if (body !== undefined) {
      res.setHeader("content-type", MEDIA_TYPE);
      res.end(JSON.stringify(body));
    } else res.end();
  }

  private async route(client: ClientEntry, method: string, url: string, json: unknown): Promise<[number, unknown?]> {
    if (!url.startsWith(ROOT)) fail(404, "invalid-value", `${url} is not a DOTS data channel resource.`);
    const parts = url
      .slice(ROOT.length)
      .split("/")
      .filter((p) => p !== "");
    if (parts.length === 0) {
      if (method !== "POST") fail(405, "operation-not-supported", "Register a client with POST.");
      const entry = isRecord(json) ? json["ietf-dots-data-channel:dots-client"] : undefined;
      const cuid = Array.isArray(entry) && isRecord(entry[0]) ? entry[0].cuid : undefined;
      if (typeof cuid !== "string" || cuid === "")
        fail(400, "missing-attribute", "A registration carries dots-client with a cuid.");
      if (this.clients.get(client.name)?.cuid === cuid)
        fail(409, "resource-denied", `cuid ${cuid} is already registered.`);
      this.clients.set(client.name, { cuid, aliases: new Map(), acls: new Map() });
      return [201];
    }
    const cuid = parts[0].startsWith("dots-client=") ? parts[0].slice("dots-client=".length) : undefined;
    const data = this.clients.get(client.name);
    if (cuid === undefined || !data || data.cuid !== cuid)
      fail(404, "invalid-value", `No DOTS client ${parts[0]} is registered for ${client.name}.`);
    const [, collection, item] = parts;
    if (collection === undefined) {
      if (method === "DELETE") {
        for (const acl of data.acls.values()) await Promise.all(acl.purchases.map((p) => p.withdraw()));
        this.clients.delete(client.name);
        return [204];
      }
      if (method !== "POST" && method !== "PUT") fail(405, "operation-not-supported", "Add aliases or ACLs with POST.");
      if (!isRecord(json)) fail(400, "malformed-message", "The body must be a JSON object.");
      if (json["ietf-dots-data-channel:aliases"] !== undefined) {
        await this.addAliases(client, data, json["ietf-dots-data-channel:aliases"]);
      } else if (json["ietf-dots-data-channel:acls"] !== undefined) {
        await this.addAcls(client, data, json["ietf-dots-data-channel:acls"]);
      } else
        fail(
          400,
          "invalid-value",
          "The body carries neither ietf-dots-data-channel:aliases nor ietf-dots-data-channel:acls.",
        );
      return [201];
    }
    if (collection === "aliases") {
      const name = item?.startsWith("alias=") ? item.slice("alias=".length) : undefined;
      if (method === "GET") {
        const list = [...data.aliases.values()].filter((a) => name === undefined || a.name === name).map((a) => a.json);
        if (name !== undefined && list.length === 0) fail(404, "invalid-value", `There is no alias "${name}".`);
        return [200, { "ietf-dots-data-channel:aliases": { alias: list } }];
      }
      if (method === "DELETE" && name !== undefined) {
        if (!data.aliases.delete(name)) fail(404, "invalid-value", `There is no alias "${name}".`);
        return [204];
      }
    }
    if (collection === "acls") {
      const name = item?.startsWith("acl=") ? item.slice("acl=".length) : undefined;
      if (method === "GET") {
        const list = [...data.acls.values()].filter((a) => name === undefined || a.name === name).map((a) => a.json);
        if (name !== undefined && list.length === 0) fail(404, "invalid-value", `There is no ACL "${name}".`);
        return [200, { "ietf-dots-data-channel:acls": { acl: list } }];
      }
      if (method === "DELETE" && name !== undefined) {
        const acl = data.acls.get(name);
        if (!acl) fail(404, "invalid-value", `There is no ACL "${name}".`);
        await Promise.all(acl.purchases.map((p) => p.withdraw()));
        data.acls.delete(name);
        return [204];
      }
    }
    return fail(405, "operation-not-supported", `${method} is not supported on ${url}.`);
  }

  /** Aliases name targets the client holds (RFC 8783 §7.1). */
  private async addAliases(client: ClientEntry, data: ClientData, value: unknown): Promise<void> {
    const list = isRecord(value) ? value.alias : undefined;
    if (!Array.isArray(list) || list.length === 0)
      fail(400, "missing-attribute", "aliases carries a non-empty alias list.");
    const aliases = list.map((entry): Alias => {
      if (!isRecord(entry) || typeof entry.name !== "string") fail(400, "missing-attribute", "Every alias has a name.");
      const prefixes = prefixList(entry["target-prefix"], "target-prefix");
      if (prefixes.length === 0)
        fail(
          400,
          "missing-attribute",
          `Alias "${entry.name}" has no target-prefix (FQDN and URI targets are not served).`,
        );
      return { name: entry.name, prefixes, json: entry };
    });
    for (const alias of aliases) {
      if ((await this.options.market.holderOf(client.accounts, alias.prefixes)) === null) {
        fail(
          403,
          "access-denied",
          `${client.name} does not hold ${alias.prefixes.map((p) => formatPrefix(p)).join(", ")} (alias "${alias.name}").`,
        );
      }
    }
    for (const alias of aliases) data.aliases.set(alias.name, alias);
  }

  /** ACLs (RFC 8783 §7.2): only drop rules with a source and a held destination are bought. */
  private async addAcls(client: ClientEntry, data: ClientData, value: unknown): Promise<void> {
    const list = isRecord(value) ? value.acl : undefined;
    if (!Array.isArray(list) || list.length === 0) fail(400, "missing-attribute", "acls carries a non-empty acl list.");
    const acls = list.map((entry): Acl => {
      if (!isRecord(entry) || typeof entry.name !== "string") fail(400, "missing-attribute", "Every acl has a name.");
      const activation = (entry["activation-type"] ?? "activate-when-mitigating") as Acl["activation"];
      if (!["activate-when-mitigating", "immediate", "deactivate"].includes(activation)) {
        fail(400, "invalid-value", `"${String(activation)}" is not an activation-type.`);
      }
      const aces = isRecord(entry.aces) && Array.isArray(entry.aces.ace) ? entry.aces.ace : [];
      const byDestination = new Map<string, { destination: Prefix; sources: string[] }>();
      for (const ace of aces) {
        if (!isRecord(ace) || !isRecord(ace.matches) || !isRecord(ace.actions)) continue;
        if (ace.actions.forwarding !== "drop") continue;
        const destination = network(ace.matches, "destination");
        const source = network(ace.matches, "source");
        if (destination === undefined || source === undefined) {
          fail(
            400,
            "invalid-value",
            `ACE "${String(ace.name)}" of "${entry.name}" needs a source and a destination network to be bought near its source.`,
          );
        }
        const [dst] = prefixList([destination], "destination network");
        prefixList([source], "source network");
        const key = formatPrefix(dst);
        const drop = byDestination.get(key) ?? { destination: dst, sources: [] };
        drop.sources.push(source);
        byDestination.set(key, drop);
      }
      return { name: entry.name, activation, drops: [...byDestination.values()], json: entry, purchases: [] };
    });
    let account: string | null = null;
    for (const acl of acls) {
      if (acl.drops.length === 0) continue;
      account = await this.options.market.holderOf(
        client.accounts,
        acl.drops.map((d) => d.destination),
      );
      if (account === null) {
        fail(
          403,
          "access-denied",
          `${client.name} does not hold ${acl.drops.map((d) => formatPrefix(d.destination)).join(", ")} (ACL "${acl.name}").`,
        );
      }
    }
    for (const acl of acls) {
      data.acls.set(acl.name, acl);
      if (acl.activation === "immediate" && account !== null) await this.buyAcl(client.name, account, acl, acl.drops);
    }
  }

  private async buyAcl(client: string, account: string, acl: Acl, drops: Acl["drops"]): Promise<void> {
    for (const drop of drops) {
      try {
        const purchase = await this.options.market.buy({
          account,
          targets: [drop.destination],
          sources: drop.sources,
          lifetime: this.options.aclLifetime,
          flowFilteringOnly: true,
          label: `${client} ACL ${acl.name}`,
        });
        acl.purchases.push(purchase);
      } catch (error) {
        if (error instanceof DotsError) fail(503, "resource-denied", error.message);
        throw error;
      }
    }
  }
}

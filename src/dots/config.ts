/**
 * The gateway's configuration file (JSON): where it listens, its TLS credentials, the DOTS clients
 * it knows (PSK identity and/or certificate) and the participant accounts each may buy for, the
 * neighbours of the attacked prefixes, and its buying limits. Paths are relative to the file.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { PeerCertificate } from "node:tls";
import { z } from "zod";

import { parseAccount } from "../clients/registry";
import { OperatorError } from "../errors";
import { parseTokens } from "../format";
import { parsePrefix } from "../prefix";
import type { Neighbourhood } from "./bridge";
import type { DotsClient } from "./mitigations";

const listen = z.object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535) });

const schema = z.strictObject({
  signal: listen.default({ host: "127.0.0.1", port: 4646 }),
  data: listen.optional(),
  tls: z.strictObject({ cert: z.string(), key: z.string(), ca: z.string().optional() }),
  clients: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        accounts: z.array(z.string()).min(1),
        psk: z.strictObject({ identity: z.string().min(1), key: z.string().min(1) }).optional(),
        certificate: z
          .strictObject({ commonName: z.string().optional(), fingerprint256: z.string().optional() })
          .refine((c) => c.commonName !== undefined || c.fingerprint256 !== undefined, {
            message: "give commonName or fingerprint256",
          })
          .optional(),
      }),
    )
    .min(1),
  neighbours: z.array(z.strictObject({ prefix: z.string(), sources: z.array(z.string()).min(1) })).default([]),
  lifetime: z
    .strictObject({ default: z.number().int().positive(), max: z.number().int().positive() })
    .default({ default: 3600, max: 86_400 }),
  aclLifetime: z.number().int().positive().default(3600),
  ackWindow: z.number().int().positive().max(86_400).default(120),
  pollMs: z.number().int().min(10).default(500),
  maxPricePerOrder: z.string().optional(),
  retention: z.number().int().nonnegative().default(300),
  db: z.string().default("dots-gateway.db"),
});

export interface ClientEntry extends DotsClient {
  psk?: { identity: string; key: Buffer };
  certificate?: { commonName?: string; fingerprint256?: string };
}

export interface GatewayConfig {
  signal: { host: string; port: number };
  data?: { host: string; port: number };
  tls: { cert: Buffer; key: Buffer; ca?: Buffer };
  clients: ClientEntry[];
  neighbours: Neighbourhood[];
  lifetime: { default: number; max: number };
  aclLifetime: number;
  ackWindow: number;
  pollMs: number;
  maxPricePerOrder?: bigint;
  retention: number;
  /** The gateway's SQLite database (":memory:" keeps nothing across restarts). */
  db: string;
}

function normaliseFingerprint(text: string): string {
  return text.replace(/:/g, "").toLowerCase();
}

/** Validates a parsed configuration; `dir` resolves the credential paths. Every problem is one sentence. */
export function parseGatewayConfig(value: unknown, dir: string, origin = "the gateway configuration"): GatewayConfig {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new OperatorError(`${origin}: ${issue.path.join(".") || "(top level)"}: ${issue.message}.`);
  }
  const c = parsed.data;
  const read = (file: string, what: string): Buffer => {
    const full = path.resolve(dir, file);
    try {
      return readFileSync(full);
    } catch {
      throw new OperatorError(`${origin}: cannot read the ${what} file ${full}.`);
    }
  };
  const names = new Set<string>();
  const identities = new Set<string>();
  const clients = c.clients.map((entry): ClientEntry => {
    if (names.has(entry.name)) throw new OperatorError(`${origin}: the client name "${entry.name}" is used twice.`);
    names.add(entry.name);
    if (!entry.psk && !entry.certificate) {
      throw new OperatorError(
        `${origin}: client "${entry.name}" has neither a psk nor a certificate to authenticate it.`,
      );
    }
    if (entry.psk) {
      if (identities.has(entry.psk.identity)) {
        throw new OperatorError(`${origin}: the PSK identity "${entry.psk.identity}" is used twice.`);
      }
      identities.add(entry.psk.identity);
    }
    return {
      name: entry.name,
      accounts: entry.accounts.map((a) => parseAccount(a, `account of client "${entry.name}"`)),
      psk: entry.psk && { identity: entry.psk.identity, key: Buffer.from(entry.psk.key, "utf8") },
      certificate: entry.certificate && {
        commonName: entry.certificate.commonName,
        fingerprint256: entry.certificate.fingerprint256 && normaliseFingerprint(entry.certificate.fingerprint256),
      },
    };
  });
  if (c.lifetime.default > c.lifetime.max) {
    throw new OperatorError(
      `${origin}: the default lifetime ${c.lifetime.default} s is above the maximum ${c.lifetime.max} s.`,
    );
  }
  return {
    signal: c.signal,
    data: c.data,
    tls: {
      cert: read(c.tls.cert, "certificate"),
      key: read(c.tls.key, "private key"),
      ca: c.tls.ca ? read(c.tls.ca, "CA") : undefined,
    },
    clients,
    neighbours: c.neighbours.map((n) => ({
      prefix: parsePrefix(n.prefix),
      sources: n.sources.map((s) => {
        parsePrefix(s, { allowAddress: true });
        return s;
      }),
    })),
    lifetime: c.lifetime,
    aclLifetime: c.aclLifetime,
    ackWindow: c.ackWindow,
    pollMs: c.pollMs,
    maxPricePerOrder: c.maxPricePerOrder === undefined ? undefined : parseTokens(c.maxPricePerOrder),
    retention: c.retention,
    db: c.db === ":memory:" ? c.db : path.resolve(dir, c.db),
  };
}

export function readGatewayConfig(file: string): GatewayConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new OperatorError(
      `Cannot read the gateway configuration ${file}: ${error instanceof SyntaxError ? "it is not valid JSON" : "no such file"}.`,
    );
  }
  return parseGatewayConfig(json, path.dirname(path.resolve(file)), file);
}

/** Who a connection is: by PSK identity, or by a certificate the configured CA signed. */
export class ClientDirectory {
  private readonly byPskIdentity = new Map<string, ClientEntry>();

  constructor(readonly clients: readonly ClientEntry[]) {
    for (const c of clients) if (c.psk) this.byPskIdentity.set(c.psk.identity, c);
  }

  get hasPsk(): boolean {
    return this.byPskIdentity.size > 0;
  }

  pskKey(identity: string): Buffer | null {
    return this.byPskIdentity.get(identity)?.psk?.key ?? null;
  }

  byPsk(identity: string): ClientEntry | null {
    return this.byPskIdentity.get(identity) ?? null;
  }

  byCertificate(cert: PeerCertificate): ClientEntry | null {
    const fingerprint = cert.fingerprint256 ? normaliseFingerprint(cert.fingerprint256) : undefined;
    const cn = cert.subject?.CN;
    for (const c of this.clients) {
      if (!c.certificate) continue;
      if (c.certificate.fingerprint256 !== undefined && c.certificate.fingerprint256 !== fingerprint) continue;
      if (c.certificate.commonName !== undefined && c.certificate.commonName !== cn) continue;
      return c;
    }
    return null;
  }
}

/**
 * The DOTS gateway against anvil: the demo's small Internet, provider agents with log back ends
 * (their rule sets can be read), the gateway, and Debian's coap-client-openssl as the DOTS client.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Decoder } from "cbor-x";

import { LogBackend } from "../../src/backends/log";
import { MarketClient } from "../../src/clients/market";
import { RegistryClient } from "../../src/clients/registry";
import { deploySystem, type System } from "../../src/deploy";
import { parseGatewayConfig } from "../../src/dots/config";
import { startGateway, type RunningGateway } from "../../src/dots/gateway";
import { ProviderAgent } from "../../src/provider/agent";
import { AgentStore } from "../../src/provider/store";
import { buildSmallInternet, scenarioAccounts } from "../../src/scenario";
import { anvilWallet, startTestAnvil, type TestAnvil } from "../helpers/anvil";

export const FIXTURES = path.join(__dirname, "fixtures");
export const COAP_CLIENT = "coap-client-openssl";
export const PSK = { identity: "example-hosting", key: "dots-test-psk-0123456789" };

export function coapClientInstalled(): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${COAP_CLIENT}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface Market {
  anvil: TestAnvil;
  system: System;
  services: Record<string, string>;
  victim: string;
  victimMarket: MarketClient;
  registry: RegistryClient;
  agents: Record<string, ProviderAgent>;
  /** Each provider's market client, the one its agent sends with (one nonce sequence per account). */
  providerMarkets: Record<string, MarketClient>;
  backends: Record<string, LogBackend>;
  gateway: RunningGateway;
  /** Stops the gateway and starts it again on the same database. */
  restartGateway(): Promise<void>;
  progress: string[];
  stop(): Promise<void>;
}

/**
 * anvil on a free port, checked to be the one this process started: another developer's node may
 * take the port between freePort() and anvil's bind, and answer in its place (our anvil then exits),
 * which would send this test's transactions to a chain in use. Tries again on another port.
 */
async function startOwnAnvil(cleanup: (() => Promise<void> | void)[]): Promise<TestAnvil | null> {
  for (let attempt = 1; ; attempt++) {
    const anvil = await startTestAnvil();
    if (!anvil) return null;
    cleanup.push(() => anvil.stop());
    await new Promise((resolve) => setTimeout(resolve, 300));
    const fresh = anvil.process.exitCode === null && (await anvil.provider.getBlockNumber()) === 0;
    if (fresh) return anvil;
    anvil.stop();
    if (attempt === 3) throw new Error(`port ${anvil.port}: the node answering is not the anvil this test started`);
  }
}

/**
 * anvil, the small Internet, provider agents for `providers` (not started), and the gateway.
 * Everything started is registered in `cleanup` at once, so a caller whose start-up times out
 * can still stop it (run the functions last to first).
 */
export async function startMarket(
  providers: string[],
  cleanup: (() => Promise<void> | void)[] = [],
  onStep: (step: string) => void = () => undefined,
): Promise<Market | null> {
  const anvil = await startOwnAnvil(cleanup);
  if (!anvil) return null;
  const stops = cleanup;
  try {
    onStep(`anvil on port ${anvil.port}`);
    const wallets = Array.from({ length: 10 }, (_, i) => anvilWallet(anvil.provider, i));
    const accounts = scenarioAccounts(wallets);
    const registrars = await Promise.all(accounts.registrars.map((r) => r.getAddress()));
    const system = await deploySystem(accounts.admin, { registrars });
    onStep("contracts deployed");
    const services = await buildSmallInternet(system, accounts, (record) => onStep(record.step));
    const victim = await accounts.orgs.victim.getAddress();
    const victimMarket = new MarketClient(system.directory, system.token, accounts.orgs.victim);
    const registry = new RegistryClient(system.registry.connect(anvil.provider));
    const agents: Record<string, ProviderAgent> = {};
    const providerMarkets: Record<string, MarketClient> = {};
    const backends: Record<string, LogBackend> = {};
    for (const key of providers) {
      const signer = accounts.orgs[key];
      backends[key] = new LogBackend();
      providerMarkets[key] = new MarketClient(system.directory, system.token, signer);
      agents[key] = new ProviderAgent({
        market: providerMarkets[key],
        registry: new RegistryClient(system.registry.connect(signer)),
        provider: anvil.provider,
        service: services[key],
        store: new AgentStore(":memory:"),
        backend: backends[key],
        pollMs: 100,
      });
      stops.push(() => agents[key].stop());
    }
    const progress: string[] = [];
    const config = parseGatewayConfig(
      {
        signal: { host: "127.0.0.1", port: 0 },
        data: { host: "127.0.0.1", port: 0 },
        tls: { cert: "server.crt", key: "server.key", ca: "ca.crt" },
        clients: [
          {
            name: "example-hosting",
            accounts: [victim],
            psk: PSK,
            certificate: { commonName: "cpe.example-hosting.net" },
          },
        ],
        neighbours: [{ prefix: "203.0.113.0/24", sources: ["198.51.100.0/25", "192.0.2.0/25"] }],
        lifetime: { default: 3600, max: 7200 },
        pollMs: 100,
        db: path.join(mkdtempSync(path.join(tmpdir(), "dots-gateway-")), "gateway.db"),
      },
      FIXTURES,
    );
    stops.push(() => rmSync(path.dirname(config.db), { recursive: true, force: true }));
    const start = () =>
      startGateway(config, { registry, markets: new Map([[victim, victimMarket]]), provider: anvil.provider }, (line) =>
        progress.push(line),
      );
    let gateway = await start();
    stops.push(() => gateway.stop());
    return {
      anvil,
      system,
      services,
      victim,
      victimMarket,
      registry,
      agents,
      providerMarkets,
      backends,
      get gateway() {
        return gateway;
      },
      async restartGateway() {
        await gateway.stop();
        gateway = await start();
      },
      progress,
      async stop() {
        while (stops.length > 0) await stops.pop()!();
      },
    };
  } catch (error) {
    while (stops.length > 0) await stops.pop()!();
    throw error;
  }
}

export type Credentials = "psk" | "certificate" | "rogue" | "wrong-psk";

function credentialArgs(credentials: Credentials): string[] {
  const file = (name: string) => path.join(FIXTURES, name);
  switch (credentials) {
    case "psk":
      return ["-u", PSK.identity, "-k", PSK.key];
    case "wrong-psk":
      return ["-u", PSK.identity, "-k", "not-the-key"];
    case "certificate":
      return ["-c", file("client.crt"), "-j", file("client.key"), "-C", file("ca.crt")];
    case "rogue":
      return ["-c", file("rogue.crt"), "-j", file("rogue.key"), "-C", file("ca.crt")];
  }
}

export interface CoapResult {
  /** The response code ("2.01"), or undefined when none came (e.g. the handshake failed). */
  code?: string;
  /** The payload(s) written to standard output. */
  payload: Buffer;
  log: string;
}

/** Runs coap-client-openssl once and reads the response code from its debug log (-v 7). */
export function coapArgs(
  port: number,
  method: string,
  resource: string,
  credentials: Credentials,
  extra: string[] = [],
): string[] {
  return [
    "-v",
    "7",
    "-B",
    "20",
    ...credentialArgs(credentials),
    "-m",
    method,
    ...extra,
    `coaps+tcp://127.0.0.1:${port}/.well-known/dots/${resource}`,
  ];
}

const RESPONSE_LINE = /\bc:([245]\.\d\d) i:/g;

function responseCode(log: string): string | undefined {
  const codes = [...log.matchAll(RESPONSE_LINE)].map((m) => m[1]);
  return codes.find((c) => c !== "7.01");
}

export function coap(
  port: number,
  method: string,
  resource: string,
  credentials: Credentials,
  extra: string[] = [],
): Promise<CoapResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(COAP_CLIENT, coapArgs(port, method, resource, credentials, extra), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let log = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", () => {
      const stdout = Buffer.concat(out);
      // The debug log goes to stdout as well when -o is not given: split it from the payload.
      const text = stdout.toString("latin1");
      resolve({ code: responseCode(log + text), payload: stdout, log: log + text });
    });
  });
}

/** An observer (GET with Observe) running in the background; `statuses()` decodes what it got. */
export class Observer {
  private readonly child: ChildProcess;
  private readonly chunks: Buffer[] = [];

  constructor(port: number, resource: string, credentials: Credentials, outFile: string) {
    this.child = spawn(
      COAP_CLIENT,
      [
        "-B",
        "120",
        "-s",
        "120",
        ...credentialArgs(credentials),
        "-o",
        outFile,
        "-m",
        "get",
        `coaps+tcp://127.0.0.1:${port}/.well-known/dots/${resource}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child.stdout!.on("data", (chunk: Buffer) => this.chunks.push(chunk));
    this.child.stderr!.on("data", () => undefined);
  }

  stop(): void {
    this.child.kill();
  }
}

/** The mitigation statuses in a stream of DOTS CBOR bodies (coap-client writes them one after another). */
export function statusesIn(bytes: Buffer): number[] {
  if (bytes.length === 0) return [];
  const statuses: number[] = [];
  new Decoder({ mapsAsObjects: false, useRecords: false }).decodeMultiple(bytes, (value: unknown) => {
    const scope = (value as Map<number, Map<number, Map<number, unknown>[]>>).get(1)?.get(2) ?? [];
    for (const entry of scope) {
      const status = entry.get(16);
      if (typeof status === "number") statuses.push(status);
    }
  });
  return statuses;
}

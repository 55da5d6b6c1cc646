/**
 * The whole chain from detection to filtering, with real peers, for the end-to-end test and the
 * benchmark: anvil (1 s blocks once set up) with the small Internet; a gobgpd that stands for the
 * network's routers; ExaBGP peered with it, fed by Alpha's provider agent (ExaBGP back end);
 * Beta's provider agent (GoBGP back end) installing into the same gobgpd; the victim daemon with
 * its intake; FastNetMon collecting NetFlow and calling the notify script. Everything runs on
 * loopback with free ports and stops in `stop()`, also after a failure half way.
 */
import path from "node:path";
import { JsonRpcProvider, Network, type JsonRpcPayload, type JsonRpcResult } from "ethers";

import { ExabgpBackend } from "../../src/backends/exabgp";
import { GobgpBackend } from "../../src/backends/gobgp";
import { MarketClient } from "../../src/clients/market";
import { RegistryClient } from "../../src/clients/registry";
import { deploySystem } from "../../src/deploy";
import { ProviderAgent } from "../../src/provider/agent";
import { AgentStore } from "../../src/provider/store";
import { buildSmallInternet, scenarioAccounts } from "../../src/scenario";
import { VictimDaemon, type NotificationAnswer } from "../../src/victim/daemon";
import { startIntake, type Intake } from "../../src/victim/intake";
import type { DetectorNotification } from "../../src/victim/notification";
import { parseSpendingPolicy } from "../../src/victim/policy";
import { VictimStore } from "../../src/victim/store";
import { anvilWallet, startTestAnvil, type TestAnvil } from "./anvil";
import { established, flowspecRib, installed, startExabgp, startGobgpd, type Daemon, type Gobgpd } from "./bgp";
import { startFastnetmon, type Fastnetmon } from "./fastnetmon";

/** What the lab needs installed; null when all of it is there, else why not. */
export function labMissing(): string | null {
  const missing = ["fastnetmon", "exabgp", "gobgpd", "gobgp"].filter((c) => !installed(c));
  return missing.length === 0 ? null : `${missing.join(", ")} not installed: apt-get install fastnetmon exabgp gobgpd`;
}

export const VICTIM_NETWORK = "203.0.113.0/24";
/** The rate Beta's rate-limiting offering enforces, bytes per second. */
export const RATE_LIMIT = 1_250_000;
const EXABGP = { as: 65002, address: "127.0.0.3" };

/** A JSON-RPC provider that tells, for each call answered, its method (to see where time goes). */
class WatchedProvider extends JsonRpcProvider {
  onAnswer: (method: string) => void = () => undefined;

  async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const results = await super._send(payload);
    for (const call of Array.isArray(payload) ? payload : [payload]) this.onAnswer(call.method);
    return results;
  }
}

export interface LabOptions {
  dir: string;
  /** Seconds between blocks once the small Internet is set up. */
  blockTime?: number;
  /** The provider agents' poll of the chain, ms. */
  providerPollMs?: number;
  /** The victim daemon's passes and its follow of the answers, ms. */
  victimPollMs?: number;
  followMs?: number;
  /** ethers' polling for receipts, ms. */
  ethersPollMs?: number;
  /** Every line of every agent, with who said it. */
  onLine?: (who: "victim" | "alpha" | "beta", line: string) => void;
  /** Sees every notification as it reaches the daemon (before it is handled). */
  onNotification?: (notification: DetectorNotification) => void;
  /** Every JSON-RPC call the agents and the daemon make, as its answer arrives. */
  onRpc?: (method: string) => void;
}

export interface Lab {
  anvil: TestAnvil;
  /** A provider with no answer cache and no batching stall, polling fast. */
  provider: JsonRpcProvider;
  services: Record<string, string>;
  victimAddress: string;
  gobgpd: Gobgpd;
  exabgp: Daemon;
  fastnetmon: Fastnetmon;
  alpha: ProviderAgent;
  beta: ProviderAgent;
  daemon: VictimDaemon;
  store: VictimStore;
  intake: Intake;
  /** gobgpd's IPv4 FlowSpec RIB, one line per route. */
  rib(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startLab(options: LabOptions): Promise<Lab> {
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    // In reverse order of start; one failure does not keep the others running.
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch {
        // stopping what failed to start
      }
    }
  };
  try {
    const anvil = await startTestAnvil();
    if (anvil === null) throw new Error("No anvil binary: npm ci installs it.");
    stops.push(() => anvil.stop());
    const network = Network.from(31337);
    // No 250 ms cache of answers and no batching stall: a head read must be fresh.
    const provider = new WatchedProvider(`http://127.0.0.1:${anvil.port}`, network, {
      staticNetwork: network,
      cacheTimeout: -1,
      batchStallTime: 0,
      polling: true,
    });
    provider.pollingInterval = options.ethersPollMs ?? 50;
    if (options.onRpc) provider.onAnswer = options.onRpc;
    stops.push(() => provider.destroy());

    // The set-up under automine (a block per transaction), then blocks every `blockTime` s.
    const wallets = Array.from({ length: 10 }, (_, i) => anvilWallet(provider, i));
    const accounts = scenarioAccounts(wallets);
    const system = await deploySystem(accounts.admin, {
      registrars: await Promise.all(accounts.registrars.map((r) => r.getAddress())),
    });
    const services = await buildSmallInternet(system, accounts);
    await provider.send("evm_setAutomine", [false]);
    await provider.send("evm_setIntervalMining", [options.blockTime ?? 1]);
    const startBlock = await provider.getBlockNumber();
    const on = options.onLine ?? (() => undefined);

    const gobgpd = await startGobgpd({
      dir: options.dir,
      name: "gobgpd",
      as: 65000,
      address: "127.0.0.1",
      neighbors: [{ address: EXABGP.address, as: EXABGP.as, passive: true }],
    });
    stops.push(() => gobgpd.stop());
    const commandFile = path.join(options.dir, "alpha-exabgp.cmd");
    const exabgp = startExabgp({
      dir: options.dir,
      name: "exabgp",
      ...EXABGP,
      peer: { address: "127.0.0.1", as: 65000, port: gobgpd.port },
      commandFiles: [commandFile],
    });
    stops.push(() => exabgp.stop());
    await established(gobgpd.api, EXABGP.address);

    const providerAgentFor = (key: "alpha" | "beta", backend: ExabgpBackend | GobgpBackend) => {
      const signer = accounts.orgs[key];
      const agent = new ProviderAgent({
        market: new MarketClient(system.directory, system.token, signer),
        registry: new RegistryClient(system.registry.connect(signer)),
        provider,
        service: services[key],
        store: new AgentStore(":memory:"),
        backend,
        pollMs: options.providerPollMs ?? 100,
        startBlock,
        policy: { rateLimitBytesPerSecond: RATE_LIMIT },
        onProgress: (line) => on(key, line),
      });
      agent.start();
      stops.push(async () => {
        await agent.stop();
        await backend.close();
        agent.store.close();
      });
      return agent;
    };
    const alpha = providerAgentFor("alpha", new ExabgpBackend({ file: commandFile }));
    const beta = providerAgentFor("beta", new GobgpBackend({ port: gobgpd.api }));

    const victim = accounts.orgs.victim;
    const store = new VictimStore(path.join(options.dir, "victim.db"));
    const daemon = new VictimDaemon({
      registry: new RegistryClient(system.registry.connect(victim)),
      market: new MarketClient(system.directory, system.token, victim),
      provider,
      store,
      policy: parseSpendingPolicy({
        budgetPerHour: "50",
        budgetPerDay: "200",
        maxPricePerPurchase: "5",
        kinds: ["flow-filtering", "rate-limiting"],
        duration: 600,
        renewBefore: 60,
        ackWindow: 60,
      }),
      pollMs: options.victimPollMs ?? 200,
      followMs: options.followMs ?? 100,
      onProgress: (line) => on("victim", line),
    });
    await daemon.start();
    stops.push(async () => {
      await daemon.stop();
      store.close();
    });
    const intake = await startIntake({
      listen: { host: "127.0.0.1", port: 0 },
      handle: (notification): Promise<NotificationAnswer> => {
        options.onNotification?.(notification);
        return daemon.notify(notification);
      },
      onProgress: (line) => on("victim", `intake: ${line}`),
    });
    stops.push(() => intake.close());

    const fastnetmon = await startFastnetmon({ dir: options.dir, networks: [VICTIM_NETWORK], daemonUrl: intake.url });
    stops.push(() => fastnetmon.stop());

    return {
      anvil,
      provider,
      services,
      victimAddress: await victim.getAddress(),
      gobgpd,
      exabgp,
      fastnetmon,
      alpha,
      beta,
      daemon,
      store,
      intake,
      rib: () => flowspecRib(gobgpd.api, "ipv4-flowspec"),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

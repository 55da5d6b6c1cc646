/** Runs a provider agent as a long-running process until SIGINT or SIGTERM. */
import type { Provider } from "ethers";

import { createBackend, type BackendSettings } from "../backends";
import type { MarketClient } from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import {
  countingProgress,
  meteredOrderHandler,
  observeProviderStore,
  startOpsEndpoint,
  WatchedSource,
} from "../ops/agents";
import { MeteredBackend } from "../ops/instrument";
import { progressToLog, type Logger } from "../ops/log";
import { providerMetrics, type ProviderMetrics } from "../ops/metrics";
import { handleSignals, stopWithin } from "../ops/signals";
import type { PolicyOptions } from "./policy";
import type { JsonRpc } from "../rpc";
import { ProviderAgent, type AgentCounts } from "./agent";
import { nodeSource, rpcSource } from "./source";
import type { OrderSettings } from "./orderDesk";
import { startOrderServer, type OrderServer } from "./orderServer";
import { AgentStore } from "./store";

/** Metrics, health endpoints and logs of the running process (docs/operations.md). */
export interface ProviderOpsSettings {
  logger: Logger;
  /** host:port of /metrics, /healthz and /livez; none when absent. */
  metricsListen?: string;
  /** /healthz is unready past this many blocks behind the head. */
  maxLagBlocks: number;
  /** The metrics to fill (the RPC provider may already count into them); new ones by default. */
  metrics?: ProviderMetrics;
  /** Reads the policy again (SIGHUP); throws one sentence, changing nothing, on a mistake. */
  reloadPolicy?: () => Partial<PolicyOptions>;
  /** Longest graceful stop after SIGTERM before the process exits anyway, ms. */
  stopDeadlineMs?: number;
}

/** Where the agent takes signed orders (`POST /orders`), and how. */
export interface OrderIntakeSettings extends Partial<OrderSettings> {
  host: string;
  /** 0: any free port (the line "order intake listening at <url>" says which). */
  port: number;
}

export interface ProviderProcessSettings {
  market: MarketClient;
  registry: RegistryClient;
  provider: Provider;
  /** The service contract; the signer's own by default. */
  service?: string;
  db: string;
  backend: BackendSettings;
  confirmations: number;
  pollMs: number;
  startBlock?: number;
  policy?: Partial<PolicyOptions>;
  statusReports: boolean;
  onProgress: (line: string) => void;
  ops?: ProviderOpsSettings;
  /** Batched reads (give an HttpJsonRpc where the node has a URL); through `provider` otherwise. */
  rpc?: JsonRpc;
  /** Takes signed orders over HTTP and settles them, when given. */
  orders?: OrderIntakeSettings;
}

/** The chain id and the system's addresses an order intake checks orders against. */
async function orderSettings(settings: ProviderProcessSettings, intake: OrderIntakeSettings): Promise<OrderSettings> {
  const [network, registry, token, directory] = await Promise.all([
    settings.provider.getNetwork(),
    settings.registry.registry.getAddress(),
    settings.market.token.getAddress(),
    settings.market.directory.getAddress(),
  ]);
  const { host: _host, port: _port, ...rest } = intake;
  return { chainId: network.chainId, registry, token, directory, ...rest };
}

/** Starts the agent, waits for a termination signal, stops it cleanly and returns its counts. */
export async function runProviderProcess(settings: ProviderProcessSettings): Promise<AgentCounts> {
  const service = settings.service ?? (await settings.market.myService());
  const metrics = settings.ops?.metrics ?? providerMetrics({ labels: { service } });
  const backend = new MeteredBackend(createBackend(settings.backend), metrics.own);
  const store = new AgentStore(settings.db);
  // Straight JSON-RPC where the node has a URL; through the ethers provider otherwise.
  const chain = settings.rpc === undefined ? nodeSource(settings.provider) : rpcSource(settings.rpc);
  const source = new WatchedSource(chain, metrics.common);
  observeProviderStore(metrics, store, source);
  // With a logger, every event carries the service.
  const log = settings.ops ? progressToLog(settings.ops.logger.child({ service })) : settings.onProgress;
  const onProgress = countingProgress(metrics.common, log);
  const agent = new ProviderAgent({
    market: settings.market,
    registry: settings.registry,
    provider: settings.provider,
    source,
    service,
    store,
    backend,
    confirmations: settings.confirmations,
    pollMs: settings.pollMs,
    startBlock: settings.startBlock,
    policy: settings.policy,
    statusReports: settings.statusReports,
    onProgress,
    rpc: settings.rpc,
    orders: settings.orders && (await orderSettings(settings, settings.orders)),
  });
  log(
    `provider agent for ${service}: back end ${backend.name}, store ${settings.db}, ` +
      `${settings.confirmations} confirmation(s), cursor ${store.cursor() ?? "none"}`,
  );
  const signals = handleSignals({
    reload: () => {
      const reload = settings.ops?.reloadPolicy;
      if (!reload) throw new Error("The agent was started without a configuration file: there is nothing to reload.");
      agent.setPolicy(reload());
    },
    onReload: ({ ok, message }) => {
      metrics.common.configReloads.inc({ outcome: ok ? "ok" : "failed" });
      log(`${ok ? "" : "error: "}SIGHUP: ${message}`);
    },
  });
  let endpoint: Awaited<ReturnType<typeof startOpsEndpoint>>;
  let server: OrderServer | undefined;
  try {
    agent.start();
    if (settings.orders && agent.orders) {
      server = await startOrderServer(
        meteredOrderHandler(agent.orders, metrics),
        settings.orders.host,
        settings.orders.port,
        log,
      );
      log(`order intake listening at ${server.url}/orders`);
    }
    endpoint = settings.ops
      ? await startOpsEndpoint({
          listen: settings.ops.metricsListen,
          metrics,
          provider: settings.provider,
          position: () => store.cursor() ?? null,
          maxLagBlocks: settings.ops.maxLagBlocks,
          backend,
          lastActivity: () => source.lastAsked,
          maxSilenceMs: Math.max(60_000, 20 * settings.pollMs),
          logger: settings.ops.logger,
        })
      : undefined;
    const signal = await signals.stopped;
    log(`${signal}: finishing what is in flight, then stopping (cursor ${store.cursor() ?? "none"})`);
    if (server) {
      await server.close();
      server = undefined;
      log("order intake closed");
    }
    // The cursor and every intent are committed as the agent goes: stopping ends the pass in flight.
    await stopWithin(() => agent.stop(), settings.ops?.stopDeadlineMs ?? 30_000);
    log(`agent stopped at cursor ${store.cursor() ?? "none"}`);
    return agent.counts();
  } finally {
    signals.dispose();
    await server?.close();
    await agent.stop();
    await endpoint?.close();
    store.close();
    await backend.close();
  }
}

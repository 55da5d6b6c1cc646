/** Runs a provider agent as a long-running process until SIGINT or SIGTERM. */
import type { Provider } from "ethers";

import { createBackend, type BackendSettings } from "../backends";
import type { MarketClient } from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import { terminationSignal } from "../pause";
import type { PolicyOptions } from "./policy";
import type { JsonRpc } from "../rpc";
import { ProviderAgent, type AgentCounts } from "./agent";
import type { OrderSettings } from "./orderDesk";
import { startOrderServer, type OrderServer } from "./orderServer";
import { AgentStore } from "./store";

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
  const backend = createBackend(settings.backend);
  const store = new AgentStore(settings.db);
  const agent = new ProviderAgent({
    market: settings.market,
    registry: settings.registry,
    provider: settings.provider,
    service,
    store,
    backend,
    confirmations: settings.confirmations,
    pollMs: settings.pollMs,
    startBlock: settings.startBlock,
    policy: settings.policy,
    statusReports: settings.statusReports,
    onProgress: settings.onProgress,
    rpc: settings.rpc,
    orders: settings.orders && (await orderSettings(settings, settings.orders)),
  });
  settings.onProgress(
    `provider agent for ${service}: back end ${backend.name}, store ${settings.db}, ` +
      `${settings.confirmations} confirmation(s), cursor ${store.cursor() ?? "none"}`,
  );
  const signalled = terminationSignal();
  agent.start();
  let server: OrderServer | undefined;
  try {
    if (settings.orders && agent.orders) {
      server = await startOrderServer(agent.orders, settings.orders.host, settings.orders.port, settings.onProgress);
      settings.onProgress(`order intake listening at ${server.url}/orders`);
    }
  } catch (error) {
    await agent.stop();
    store.close();
    await backend.close();
    throw error;
  }
  const signal = await signalled;
  settings.onProgress(`${signal}: stopping`);
  if (server) {
    await server.close();
    settings.onProgress("order intake closed");
  }
  await agent.stop();
  settings.onProgress("agent stopped");
  const counts = agent.counts();
  store.close();
  await backend.close();
  return counts;
}

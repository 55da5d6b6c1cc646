/** Runs a provider agent as a long-running process until SIGINT or SIGTERM. */
import type { Provider } from "ethers";

import { createBackend, type BackendSettings } from "../backends";
import type { MarketClient } from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import { terminationSignal } from "../pause";
import type { PolicyOptions } from "./policy";
import { ProviderAgent, type AgentCounts } from "./agent";
import { AgentStore } from "./store";

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
  });
  settings.onProgress(
    `provider agent for ${service}: back end ${backend.name}, store ${settings.db}, ` +
      `${settings.confirmations} confirmation(s), cursor ${store.cursor() ?? "none"}`,
  );
  const signalled = terminationSignal();
  agent.start();
  const signal = await signalled;
  settings.onProgress(`${signal}: stopping`);
  await agent.stop();
  const counts = agent.counts();
  store.close();
  await backend.close();
  return counts;
}

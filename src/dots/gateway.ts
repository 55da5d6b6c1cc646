/**
 * The DOTS gateway: a DOTS server (signal channel, and the data channel when configured) in front
 * of the victim side of the market, so that a standard DOTS client buys mitigation unchanged.
 */
import type { Provider } from "ethers";

import type { MarketClient } from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import { OperatorError } from "../errors";
import { MarketBridge } from "./bridge";
import { ClientDirectory, type GatewayConfig } from "./config";
import { DataServer } from "./data";
import { RESPONSE } from "./coap";
import { DotsError, Mitigations } from "./mitigations";
import { SignalServer } from "./signal";
import { GatewayStore } from "./store";

export interface GatewayChain {
  registry: RegistryClient;
  /** The market acting as each account the gateway may buy for, by checksummed address. */
  markets: ReadonlyMap<string, MarketClient>;
  provider: Provider;
}

export interface RunningGateway {
  signalPort: number;
  dataPort?: number;
  mitigations: Mitigations;
  stop(): Promise<void>;
}

export async function startGateway(
  config: GatewayConfig,
  chain: GatewayChain,
  onProgress: (line: string) => void = () => undefined,
): Promise<RunningGateway> {
  for (const client of config.clients) {
    for (const account of client.accounts) {
      if (!chain.markets.has(account)) {
        throw new OperatorError(
          `Client "${client.name}" may buy for ${account}, but the gateway has no key for that account.`,
        );
      }
    }
  }
  const directory = new ClientDirectory(config.clients);
  const bridge = new MarketBridge({
    registry: chain.registry,
    markets: chain.markets,
    provider: chain.provider,
    neighbours: config.neighbours,
    ackWindow: config.ackWindow,
    pollMs: config.pollMs,
    maxPricePerOrder: config.maxPricePerOrder,
    onProgress,
  });
  const data = config.data
    ? new DataServer({
        ...config.data,
        tls: config.tls,
        directory,
        market: bridge,
        aclLifetime: config.aclLifetime,
        onProgress,
      })
    : undefined;
  const store = new GatewayStore(config.db);
  const mitigations = new Mitigations(bridge, {
    store,
    defaultLifetime: config.lifetime.default,
    maxLifetime: config.lifetime.max,
    retention: config.retention,
    resolveAliases: (client, names) => {
      if (names.length === 0) return [];
      if (!data)
        throw new DotsError(RESPONSE.badRequest, "alias-name needs the data channel, which is not configured.");
      return data.resolveAliases(client, names);
    },
    onStarted: (m) => data?.mitigationStarted(m) ?? Promise.resolve(),
    onProgress,
  });
  const signal = new SignalServer({
    ...config.signal,
    tls: config.tls,
    directory,
    mitigations,
    defaultLifetime: config.lifetime.default,
    onProgress,
  });
  const restored = mitigations.restore();
  if (restored > 0) onProgress(`${restored} mitigation(s) restored from ${config.db}`);
  bridge.start();
  const signalPort = await signal.listen();
  const dataPort = await data?.listen();
  onProgress(
    `DOTS gateway: signal channel coaps+tcp://${config.signal.host}:${signalPort}` +
      (dataPort === undefined ? "" : `, data channel https://${config.data!.host}:${dataPort}`) +
      `, ${config.clients.length} client(s)`,
  );
  return {
    signalPort,
    dataPort,
    mitigations,
    async stop() {
      await signal.close();
      await data?.close();
      await bridge.stop();
      store.close();
    },
  };
}

/**
 * The web app's one source of truth: the node (JSON-RPC through the dashboard server), the
 * system's contracts, the market model fed by the chain follower, and the registry's names for the
 * accounts it shows. Views subscribe to it and re-render when its version moves.
 */
import { JsonRpcProvider, Network, getAddress } from "ethers";
import { useSyncExternalStore } from "react";

import type { MitigationToken, PrefixRegistry, ServiceDirectory } from "../../typechain-types";
import { RegistryClient } from "../../src/clients/registry";
import { CONFIG_PATH, RPC_PATH, type DashboardConfig } from "../../src/dashboard/config";
import { attachSystem } from "../../src/deploy";
import { ChainFollower } from "../../src/dashboard/follow";
import { MarketModel } from "../../src/dashboard/model";
import { toOperatorError } from "../../src/errors";
import { shortAddress } from "../../src/format";

export async function loadConfig(): Promise<DashboardConfig> {
  const response = await fetch(CONFIG_PATH);
  if (!response.ok) throw new Error(`The dashboard server answered ${response.status} for ${CONFIG_PATH}.`);
  return (await response.json()) as DashboardConfig;
}

export class MarketStore {
  readonly provider: JsonRpcProvider;
  readonly registry: PrefixRegistry;
  readonly directory: ServiceDirectory;
  readonly token: MitigationToken;
  model: MarketModel;
  /** The follower's last failure, as one sentence; null while it reads fine. */
  error: string | null = null;
  /** Date.now() when the last new block was applied. */
  lastBlockAt = 0;
  private version = 0;
  private readonly follower: ChainFollower;
  private readonly listeners = new Set<() => void>();
  private readonly names = new Map<string, string | null>();

  constructor(readonly config: DashboardConfig) {
    const network = Network.from(config.chainId);
    const url = new URL(RPC_PATH, window.location.href).href;
    // No shared answers (ethers keeps one for 250 ms by default): each head poll asks the node.
    this.provider = new JsonRpcProvider(url, network, { staticNetwork: network, batchMaxCount: 100, cacheTimeout: -1 });
    ({
      registry: this.registry,
      directory: this.directory,
      token: this.token,
    } = attachSystem(config.addresses, this.provider));
    this.model = new MarketModel(config.addresses);
    this.follower = new ChainFollower({
      provider: this.provider,
      directory: config.addresses.directory,
      token: config.addresses.token,
      startBlock: config.startBlock,
      pollMs: config.pollMs,
      maxBlockRange: config.maxBlockRange,
      onBatch: (batch) => {
        this.model.apply(batch);
        this.lastBlockAt = Date.now();
        this.changed();
      },
      onError: (message) => {
        if (message === this.error) return;
        this.error = message;
        this.changed();
      },
      onReset: () => {
        this.model = new MarketModel(config.addresses);
        this.changed();
      },
      listServices: () => this.directory.allServices(),
    });
  }

  start(): void {
    this.follower.start();
  }

  stop(): void {
    this.follower.stop();
    this.provider.destroy();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  private changed(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }

  /** The registry name of an account, fetched once (eth_call) and shown when it arrives. */
  participantName(account: string): string | undefined {
    const key = getAddress(account);
    if (!this.names.has(key)) {
      this.names.set(key, null);
      new RegistryClient(this.registry).participant(key).then(
        ({ name }) => {
          this.names.set(key, name);
          this.changed();
        },
        (error: unknown) => {
          this.names.delete(key);
          this.error = toOperatorError(error).message;
          this.changed();
        },
      );
    }
    return this.names.get(key) ?? undefined;
  }

  /** A name for people: the organisation, a service by its provider, else the short address. */
  label(account: string): string {
    const service = this.model.service(account);
    if (service) return `${this.label(service.provider)} (service)`;
    return this.participantName(account) || shortAddress(getAddress(account));
  }
}

/** Re-renders the calling view whenever the store changes; returns its version. */
export function useStore(store: MarketStore): number {
  return useSyncExternalStore(store.subscribe, store.getVersion);
}

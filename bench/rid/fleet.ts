/**
 * The provider agents of one point: one ProviderAgent per AS, each with its own account, store
 * (SQLite in memory) and log back end, all fed by one SharedLogPoller so that a thousand of them
 * in one process cost one head poll and one eth_getLogs per new block, and each wakes only when
 * its own service has news. Every agent verifies, decides and acknowledges on its own.
 */
import { performance } from "node:perf_hooks";
import type { Provider } from "ethers";

import { ProviderAgent } from "../../src/provider/agent";
import { SharedLogPoller } from "../../src/provider/source";
import { AgentStore } from "../../src/provider/store";
import { LogBackend } from "../../src/backends/log";
import { MarketClient } from "../../src/clients/market";
import { RegistryClient } from "../../src/clients/registry";
import type { BenchInternet } from "./internet";

export interface FleetOptions {
  provider: Provider;
  /** The shared poller's interval, ms. */
  pollMs: number;
  /** Each agent's own interval when nothing wakes it, ms. */
  agentPollMs: number;
  /** Whether the agents report DOTS status on chain after acknowledging (the agent's default). */
  statusReports: boolean;
  /** Lines worth showing: errors and rejections. */
  onProblem: (line: string) => void;
}

/** States in which an agent still has something to do for a request. */
const BUSY = ["received", "accepted", "installed", "acking", "rejecting"] as const;

export class Fleet {
  readonly agents: ProviderAgent[] = [];
  private readonly poller: SharedLogPoller;
  private readonly stores: AgentStore[] = [];
  /** When each service's agent last saw its acknowledgement mined (performance.now()). */
  private readonly acked = new Map<string, number>();
  private readonly rejected: string[] = [];

  constructor(
    internet: BenchInternet,
    providers: readonly number[],
    private readonly options: FleetOptions,
    startBlock: number,
  ) {
    this.poller = new SharedLogPoller({
      provider: options.provider,
      pollMs: options.pollMs,
      onError: options.onProblem,
    });
    const { system } = internet;
    for (const index of providers) {
      const p = internet.providers.get(index);
      if (!p) throw new Error(`Provider ${index} does not exist in this Internet.`);
      const store = new AgentStore(":memory:");
      this.stores.push(store);
      this.agents.push(
        new ProviderAgent({
          market: new MarketClient(system.directory, system.token, p.signer),
          registry: new RegistryClient(system.registry.connect(p.signer)),
          provider: options.provider,
          source: this.poller,
          service: p.service,
          store,
          backend: new LogBackend(),
          pollMs: options.agentPollMs,
          statusReports: options.statusReports,
          startBlock,
          onProgress: (line) => this.onLine(p.service, `AS${p.asn}`, line),
        }),
      );
    }
  }

  private onLine(service: string, who: string, line: string): void {
    if (line.startsWith("acknowledged ")) this.acked.set(service, performance.now());
    else if (line.startsWith("rejected ") || line.startsWith("error: ")) {
      this.rejected.push(`${who}: ${line}`);
      this.options.onProblem(`[${who}] ${line}`);
    }
  }

  start(): void {
    this.poller.start();
    for (const agent of this.agents) agent.start();
  }

  /** Forgets the acknowledgement times and problems of the previous repetition. */
  reset(): void {
    this.acked.clear();
    this.rejected.length = 0;
  }

  /** Waits until `count` agents saw their acknowledgement mined; returns when the last one did. */
  async acknowledged(count: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.acked.size < count) {
      if (Date.now() > deadline) {
        throw new Error(`Only ${this.acked.size} of ${count} provider agents saw their acknowledgement mined.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return Math.max(...this.acked.values());
  }

  problems(): readonly string[] {
    return this.rejected;
  }

  /** Waits until no agent has anything left to do (answers sent, status reports on chain). */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const busy = () =>
      this.agents.some(
        (a) =>
          a.store.requests([...BUSY]).length > 0 || a.store.requests(["active"]).some((r) => r.pendingReport !== null),
      );
    while (busy()) {
      if (Date.now() > deadline) throw new Error(`The provider agents were still busy after ${timeoutMs} ms.`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop()));
    await this.poller.stop();
    for (const store of this.stores) store.close();
  }
}

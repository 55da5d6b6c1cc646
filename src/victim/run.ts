/** Runs the victim daemon and its intake as a long-running process until SIGINT or SIGTERM. */
import type { Provider } from "ethers";

import type { MarketClient } from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import { attackLatency, observeVictimStore, startOpsEndpoint, victimProgress } from "../ops/agents";
import type { Logger } from "../ops/log";
import { victimMetrics, type VictimMetrics } from "../ops/metrics";
import { handleSignals, stopWithin } from "../ops/signals";
import { VictimDaemon } from "./daemon";
import { startIntake, type IntakeAddress } from "./intake";
import type { SpendingPolicy } from "./policy";
import { VictimStore, type PurchaseRecordState } from "./store";

/** Metrics, health endpoints and logs of the running process (docs/operations.md). */
export interface VictimOpsSettings {
  logger: Logger;
  /** host:port of /metrics, /healthz and /livez; none when absent. */
  metricsListen?: string;
  /** /healthz is unready past this many blocks behind the head. */
  maxLagBlocks: number;
  /** The metrics to fill (the RPC provider may already count into them); new ones by default. */
  metrics?: VictimMetrics;
  /** Reads the spending policy again (SIGHUP); throws one sentence, changing nothing, on a mistake. */
  reloadPolicy?: () => SpendingPolicy;
  /** Longest graceful stop after SIGTERM before the process exits anyway, ms. */
  stopDeadlineMs?: number;
}

export interface VictimDaemonProcessSettings {
  market: MarketClient;
  registry: RegistryClient;
  provider: Provider;
  db: string;
  policy: SpendingPolicy;
  listen: IntakeAddress;
  pollMs: number;
  followMs: number;
  onProgress: (line: string) => void;
  ops?: VictimOpsSettings;
}

/** Starts the daemon and the intake, waits for a termination signal, stops both; returns the purchases by state. */
export async function runVictimDaemon(
  settings: VictimDaemonProcessSettings,
): Promise<Partial<Record<PurchaseRecordState, number>>> {
  const store = new VictimStore(settings.db);
  const metrics = settings.ops?.metrics ?? victimMetrics();
  const latency = attackLatency(metrics, store);
  const onProgress = victimProgress(metrics, settings.onProgress, latency);
  let lastHead: number | null = null;
  let lastPass: number | null = null;
  const daemon = new VictimDaemon({
    market: settings.market,
    registry: settings.registry,
    provider: settings.provider,
    store,
    policy: settings.policy,
    pollMs: settings.pollMs,
    followMs: settings.followMs,
    onProgress,
    onPass: (head) => {
      lastHead = head;
      lastPass = Date.now();
      metrics.common.chainHead.set(head);
      metrics.common.lastPass.set(Math.floor(lastPass / 1000));
    },
  });
  observeVictimStore(metrics, store, () => daemon.policy);
  metrics.beforeScrape(latency);
  const signals = handleSignals({
    reload: () => {
      const reload = settings.ops?.reloadPolicy;
      if (!reload)
        throw new Error("The daemon was started without a configuration or policy file: there is nothing to reload.");
      daemon.policy = reload();
    },
    onReload: ({ ok, message }) => {
      metrics.common.configReloads.inc({ outcome: ok ? "ok" : "failed" });
      settings.onProgress(`${ok ? "" : "error: "}SIGHUP: ${message}`);
    },
  });
  let endpoint: Awaited<ReturnType<typeof startOpsEndpoint>>;
  try {
    await daemon.start();
    endpoint = settings.ops
      ? await startOpsEndpoint({
          listen: settings.ops.metricsListen,
          metrics,
          provider: settings.provider,
          position: () => lastHead,
          maxLagBlocks: settings.ops.maxLagBlocks,
          // A pass that fails (the node is down) does not count: the loop is alive while it retries.
          lastActivity: () => lastPass ?? Date.now(),
          maxSilenceMs: Math.max(120_000, 40 * settings.pollMs),
          logger: settings.ops.logger,
        })
      : undefined;
    const intake = await startIntake({
      listen: settings.listen,
      handle: async (notification) => {
        const answer = await daemon.notify(notification);
        metrics.own.notifications.inc({
          action: notification.action,
          outcome: answer.accepted ? "taken" : "refused",
        });
        return answer;
      },
      onProgress: settings.onProgress,
    });
    settings.onProgress(`listening for notifications at ${intake.url} (VICTIM_DAEMON_URL for the notify script)`);
    const signal = await signals.stopped;
    settings.onProgress(`${signal}: finishing the purchases in flight, then stopping`);
    await intake.close();
    await stopWithin(() => daemon.stop(), settings.ops?.stopDeadlineMs ?? 60_000);
    const counts: Partial<Record<PurchaseRecordState, number>> = {};
    for (const p of store.purchases()) counts[p.state] = (counts[p.state] ?? 0) + 1;
    return counts;
  } finally {
    signals.dispose();
    await daemon.stop();
    await endpoint?.close();
    store.close();
  }
}

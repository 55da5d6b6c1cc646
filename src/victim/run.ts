/** Runs the victim daemon and its intake as a long-running process until SIGINT or SIGTERM. */
import type { Provider } from "ethers";

import type { MarketClient } from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import { terminationSignal } from "../pause";
import { VictimDaemon } from "./daemon";
import { startIntake, type IntakeAddress } from "./intake";
import type { SpendingPolicy } from "./policy";
import { VictimStore, type PurchaseRecordState } from "./store";

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
}

/** Starts the daemon and the intake, waits for a termination signal, stops both; returns the purchases by state. */
export async function runVictimDaemon(
  settings: VictimDaemonProcessSettings,
): Promise<Partial<Record<PurchaseRecordState, number>>> {
  const store = new VictimStore(settings.db);
  const daemon = new VictimDaemon({
    market: settings.market,
    registry: settings.registry,
    provider: settings.provider,
    store,
    policy: settings.policy,
    pollMs: settings.pollMs,
    followMs: settings.followMs,
    onProgress: settings.onProgress,
  });
  try {
    await daemon.start();
    const intake = await startIntake({
      listen: settings.listen,
      handle: (notification) => daemon.notify(notification),
      onProgress: settings.onProgress,
    });
    settings.onProgress(`listening for notifications at ${intake.url} (VICTIM_DAEMON_URL for the notify script)`);
    const signal = await terminationSignal();
    settings.onProgress(`${signal}: stopping`);
    await intake.close();
    await daemon.stop();
    const counts: Partial<Record<PurchaseRecordState, number>> = {};
    for (const p of store.purchases()) counts[p.state] = (counts[p.state] ?? 0) + 1;
    return counts;
  } finally {
    await daemon.stop();
    store.close();
  }
}

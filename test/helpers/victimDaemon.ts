/** A victim daemon for the small Internet of test/agents/helpers.ts, started, polling fast. */
import { ethers } from "hardhat";

import { VictimDaemon, type VictimDaemonOptions } from "../../src/victim/daemon";
import type { SpendingPolicy } from "../../src/victim/policy";
import type { VictimStore } from "../../src/victim/store";
import type { SmallInternet } from "../agents/helpers";

export async function startVictimDaemon(
  net: SmallInternet,
  store: VictimStore,
  policy: SpendingPolicy,
  lines: string[],
  options: Partial<VictimDaemonOptions> = {},
): Promise<VictimDaemon> {
  const daemon = new VictimDaemon({
    registry: net.victimRegistry,
    market: net.victim,
    provider: ethers.provider,
    store,
    policy,
    pollMs: 50,
    followMs: 20,
    onProgress: (line) => lines.push(line),
    ...options,
  });
  await daemon.start();
  return daemon;
}

/**
 * One run of the end-to-end benchmark: a NetFlow v5 flood towards a fresh address of the victim,
 * from one source in Alpha's network (filtered through ExaBGP) and one in Beta's (through GoBGP),
 * timed from the first datagram until both FlowSpec routes are in gobgpd's RIB, then cleaned up
 * (the flood stops, FastNetMon unbans, the victim withdraws, the routes go) before the next run.
 *
 * Every milestone is a wall-clock time in this process: the first datagram sent; FastNetMon's ban
 * (its own log line "Call script for ban client", millisecond timestamps); the notification
 * reaching the daemon; the request's block first seen by a 10 ms poll of the node; each provider
 * agent's "install" line (its back-end call returned) and "acknowledged" line (its receipt); each
 * route first seen in gobgpd's RIB by a poll of the gobgp CLI.
 */
import { execFile } from "node:child_process";
import { zeroPadValue, type JsonRpcProvider } from "ethers";

import { ProviderServiceContract__factory } from "../../typechain-types";
import type { Lab } from "../../test/helpers/detectionLab";
import { NetflowFlood } from "../../test/helpers/netflow";
import { until } from "../../test/helpers/until";
import { formatSeconds } from "../lib/stats";

const REQUESTED = ProviderServiceContract__factory.createInterface().getEvent("MitigationRequested").topicHash;

/** Seconds from the first datagram to each milestone; per provider where it is theirs. */
export interface Run {
  run: number;
  target: string;
  /** FastNetMon calls the notify script. */
  fastnetmonBan: number;
  /** The daemon has the notification. */
  banReceived: number;
  /** The node has the request transaction (eth_sendRawTransaction answered). */
  requestSent: number;
  /** JSON-RPC calls answered between the notification and the request sent (agents' polls included). */
  callsToSend: number;
  /** The block with the request is on the node. */
  requestMined: number;
  /** The provider agent's back end has taken the rule (gobgp CLI returned / command file synced). */
  installed: { alpha: number; beta: number };
  /** The route is in gobgpd's RIB. */
  route: { alpha: number; beta: number };
  /** The provider agent has its acknowledgement's receipt. */
  acknowledged: { alpha: number; beta: number };
  /** Both routes in the RIB. */
  routes: number;
  blockTimeSeconds: number;
}

/** Records, every `everyMs`, when each block number was first seen. */
export class BlockWatch {
  private readonly seen = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly everyMs = 10,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.provider
        .getBlockNumber()
        .then((n) => {
          if (!this.seen.has(n)) this.seen.set(n, Date.now());
        })
        .catch(() => undefined)
        .finally(() => (this.busy = false));
    }, this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** When `block` was first seen (a block skipped between two polls: when a later one was). */
  seenAt(block: number): number | undefined {
    let best: number | undefined;
    for (const [n, at] of this.seen) if (n >= block && (best === undefined || at < best)) best = at;
    return best;
  }
}

/** Polls gobgpd's IPv4 FlowSpec RIB and records when each route first appears. */
class RibWatch {
  readonly firstSeen = new Map<string, number>();
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly api: number) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const text = await new Promise<string>((resolve) =>
          execFile(
            "gobgp",
            ["-u", "127.0.0.1", "-p", String(this.api), "global", "rib", "-a", "ipv4-flowspec"],
            (e, out) => resolve(e ? "" : out),
          ),
        );
        const now = Date.now();
        for (const line of text.split("\n")) {
          const match = /\[destination: ([^\]]+)\]\[source: ([^\]]+)\]/.exec(line);
          if (match && !this.firstSeen.has(`${match[2]}>${match[1]}`))
            this.firstSeen.set(`${match[2]}>${match[1]}`, now);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** FastNetMon's "2026-11-27 08:53:35,251 [INFO] Call script for ban client: 203.0.113.10" as ms. */
function fastnetmonBanAt(log: string, address: string): number | undefined {
  const line = log.split("\n").find((l) => l.endsWith(`Call script for ban client: ${address}`));
  const match = line && /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})/.exec(line);
  return match ? new Date(`${match[1]}T${match[2]}.${match[3]}`).getTime() : undefined;
}

export interface Milestones {
  banReceived?: number;
  requestSent?: number;
  /** JSON-RPC calls answered since the notification, until the request was sent. */
  calls: number;
  installed: Partial<Record<"alpha" | "beta", number>>;
  acknowledged: Partial<Record<"alpha" | "beta", number>>;
}

/**
 * Runs flood number `i` (its own target and sources) as run `label` (0 for the warm-up) and returns
 * its timings; the lab is clean again when it returns.
 */
export async function measureRun(
  lab: Lab,
  i: number,
  label: number,
  milestones: Milestones,
  blocks: BlockWatch,
  blockTimeSeconds: number,
  onProgress: (line: string) => void,
): Promise<Run> {
  const address = `203.0.113.${20 + i}`;
  const target = `${address}/32`;
  const sources = { alpha: `198.51.100.${30 + i}`, beta: `198.51.100.${210 + i}` };
  const fromBlock = await lab.provider.getBlockNumber();
  milestones.banReceived = undefined;
  milestones.requestSent = undefined;
  milestones.calls = 0;
  milestones.installed = {};
  milestones.acknowledged = {};
  const rib = new RibWatch(lab.gobgpd.api);
  rib.start();
  const flood = new NetflowFlood({
    port: lab.fastnetmon.netflowPort,
    flows: [sources.alpha, sources.beta].map((source) => ({ source, destination: address, pps: 20_000 })),
  });
  try {
    const t0 = await flood.start();
    const routeKey = (key: "alpha" | "beta") => `${sources[key]}/32>${target}`;
    await until(
      () => rib.firstSeen.has(routeKey("alpha")) && rib.firstSeen.has(routeKey("beta")),
      60_000,
      `the routes of run ${label} in gobgpd's RIB`,
      20,
    );
    await until(
      () => milestones.acknowledged.alpha !== undefined && milestones.acknowledged.beta !== undefined,
      30_000,
      `the acknowledgements of run ${label}`,
    );
    const logs = await lab.provider.getLogs({
      topics: [REQUESTED, null, zeroPadValue(lab.victimAddress, 32)],
      fromBlock,
      toBlock: "latest",
    });
    if (logs.length === 0) throw new Error(`Run ${label}: no request found on chain.`);
    const requestBlock = Math.min(...logs.map((l) => l.blockNumber));
    const fnm = fastnetmonBanAt(lab.fastnetmon.logText(), address);
    const seen = blocks.seenAt(requestBlock);
    if (fnm === undefined || seen === undefined || milestones.banReceived === undefined) {
      throw new Error(
        `Run ${label}: a milestone is missing (FastNetMon's ban, the request's block or the notification).`,
      );
    }
    const at = (t: number | undefined) => (t === undefined ? Number.NaN : (t - t0) / 1000);
    const run: Run = {
      run: label,
      target,
      fastnetmonBan: at(fnm),
      banReceived: at(milestones.banReceived),
      requestSent: at(milestones.requestSent),
      callsToSend: milestones.calls,
      requestMined: at(seen),
      installed: { alpha: at(milestones.installed.alpha), beta: at(milestones.installed.beta) },
      route: { alpha: at(rib.firstSeen.get(routeKey("alpha"))), beta: at(rib.firstSeen.get(routeKey("beta"))) },
      acknowledged: { alpha: at(milestones.acknowledged.alpha), beta: at(milestones.acknowledged.beta) },
      routes: Math.max(at(rib.firstSeen.get(routeKey("alpha"))), at(rib.firstSeen.get(routeKey("beta")))),
      blockTimeSeconds,
    };
    const s = formatSeconds;
    onProgress(
      `run ${run.run}: ban ${s(run.banReceived)} s, request mined ${s(run.requestMined)} s, routes ${s(run.routes)} s ` +
        `(market ${s(run.routes - run.banReceived)} s)`,
    );
    return run;
  } finally {
    await flood.stop();
    await rib.stop();
    // Clean before the next run: FastNetMon unbans, the victim withdraws, the routes go.
    await until(
      () => lab.store.purchases({ target }).every((p) => p.state === "withdrawn" || p.state === "ended"),
      90_000,
      `the withdrawals of run ${label}`,
      100,
    );
    await until(async () => (await lab.rib()).length === 0, 30_000, `an empty RIB after run ${label}`, 100);
  }
}

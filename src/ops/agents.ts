/**
 * Operations wired around the two long-running agents without touching their logic: the metrics
 * are read from what the agents already keep (their SQLite stores, the journal, the chain source
 * they poll, their progress lines), so that a counter is the store's count — it survives kill -9
 * and equals the chain's event count — and the agents' code stays as it was.
 */
import type { Provider } from "ethers";
import type { Counter } from "prom-client";

import { ORDER_SKIP_REASONS } from "../clients/orders";
import type { OrderHandler } from "../provider/orderServer";
import type { ChainHead, ChainSource } from "../provider/source";
import type { AgentStore, RequestTally } from "../provider/store";
import type { SpendingPolicy } from "../victim/policy";
import { REFUNDED_STATES, type VictimStore } from "../victim/store";
import { backendCheck, loopCheck, syncCheck, type Check } from "./health";
import type { Logger } from "./log";
import {
  ACK_SKIP_REASON_LABELS,
  ORDER_REFUSAL_LABELS,
  ORDER_SKIP_REASON_LABELS,
  REJECT_REASON_LABELS,
  reasonLabel,
  tokens,
  type CommonMetrics,
  type ProviderMetrics,
  type VictimMetrics,
} from "./metrics";
import { parseListenAddress, startOpsServer, type OpsServer } from "./server";

/**
 * Sets a counter to totals computed from a store (after a restart the process starts again from
 * the store's counts, as Prometheus expects of a counter that only a restart may reset).
 */
export function setTotals<L extends string>(
  counter: Counter<L>,
  totals: Iterable<[Partial<Record<L, string>> | undefined, number]>,
): void {
  counter.reset();
  for (const [labels, value] of totals) {
    if (labels === undefined) counter.inc(value);
    else counter.inc(labels, value);
  }
}

/** A chain source that records the head it read and when the agent last asked (its loop is alive). */
export class WatchedSource implements ChainSource {
  lastHead: number | null = null;
  lastAsked: number | null = null;
  watch?: ChainSource["watch"];

  constructor(
    private readonly inner: ChainSource,
    private readonly metrics: CommonMetrics,
  ) {
    if (inner.watch) this.watch = (address, onLogs) => inner.watch!(address, onLogs);
  }

  async head(): Promise<ChainHead> {
    this.lastAsked = Date.now();
    const head = await this.inner.head();
    this.lastHead = head.number;
    this.metrics.chainHead.set(head.number);
    this.metrics.lastPass.set(Math.floor(Date.now() / 1000));
    return head;
  }

  logs(address: string, fromBlock: number, toBlock: number) {
    return this.inner.logs(address, fromBlock, toBlock);
  }
}

/**
 * Wraps an agent's progress callback: every line still goes to `next` (the log), and a line that
 * reports a failed pass ("error: … retrying") counts as a retry.
 */
export function countingProgress(metrics: CommonMetrics, next: (line: string) => void): (line: string) => void {
  return (line: string) => {
    if (line.startsWith("error: ")) metrics.retries.inc();
    next(line);
  };
}

/** Journal events that close a request without an acknowledgement of this agent. */
const CLOSED_UNACKNOWLEDGED = new Set(["rejected", "lapsed", "rejecting"]);

/** The label of an acknowledgement the contract skipped, from the journal's words (src/provider/agent.ts). */
function skipReason(detail: string): string {
  if (detail.includes("does not exist")) return ACK_SKIP_REASON_LABELS[0];
  if (detail.includes("no longer pending")) return ACK_SKIP_REASON_LABELS[1];
  if (detail.includes("deadline passed")) return ACK_SKIP_REASON_LABELS[2];
  return "unknown";
}

/**
 * The provider agent's counters and gauges from its store, before every scrape: requests seen,
 * acknowledged, rejected by reason, ended, running; the cursor and its lag behind the head; tokens
 * earned; and the latency histogram from the journal (received → acknowledged), read as it grows.
 */
export function observeProviderStore(metrics: ProviderMetrics, store: AgentStore, source: WatchedSource): void {
  const own = metrics.own;
  let journalSeq = 0;
  const receivedAt = new Map<string, number>();
  metrics.beforeScrape(() => {
    // Grouped counts, not the history: a scrape costs the same after a million requests.
    const tallies = store.requestTallies();
    const total = (keep: (t: RequestTally) => boolean) => tallies.filter(keep).reduce((n, t) => n + t.n, 0);
    const rejected = new Map<string, number>();
    for (const t of tallies) {
      if (t.state !== "rejected") continue;
      const label = reasonLabel(REJECT_REASON_LABELS, t.reasonCode ?? 0);
      rejected.set(label, (rejected.get(label) ?? 0) + t.n);
    }
    setTotals(own.requestsSeen, [[undefined, total(() => true)]]);
    setTotals(own.requestsAcknowledged, [[undefined, total((t) => t.started)]]);
    setTotals(
      own.requestsRejected,
      [...rejected].map(([reason, n]) => [{ reason }, n]),
    );
    setTotals(own.mitigationsEnded, [[undefined, total((t) => t.state === "ended")]]);
    own.mitigationsActive.set(total((t) => t.state === "active" || t.state === "ending"));
    const earned = tallies.filter((t) => t.started).reduce((sum, t) => sum + t.price * BigInt(t.n), 0n);
    setTotals(own.earned, [[undefined, tokens(earned)]]);
    // Signed orders, from the store: settled, skipped by the contract's reason, expired unsettled.
    setTotals(own.ordersSettled, [[undefined, store.countOrders(["settled"])]]);
    setTotals(own.ordersExpired, [[undefined, store.countOrders(["expired"])]]);
    const skipped = new Map<string, number>();
    for (const [reason, n] of store.countOrdersByReason("skipped")) {
      const index = ORDER_SKIP_REASONS.findIndex((text) => text === reason);
      const label = index === -1 ? "unknown" : ORDER_SKIP_REASON_LABELS[index];
      skipped.set(label, (skipped.get(label) ?? 0) + n);
    }
    setTotals(
      own.ordersSkipped,
      [...skipped].map(([reason, n]) => [{ reason }, n]),
    );
    const cursor = store.cursor();
    if (cursor !== undefined) {
      own.cursor.set(cursor);
      if (source.lastHead !== null) own.headLag.set(Math.max(0, source.lastHead - cursor));
    }
    for (;;) {
      const entries = store.journalSince(journalSeq);
      if (entries.length === 0) break;
      for (const entry of entries) {
        journalSeq = entry.seq;
        if (entry.requestId === null) continue;
        if (entry.event === "received") receivedAt.set(entry.requestId, entry.at);
        else if (entry.event === "acknowledged") {
          const at = receivedAt.get(entry.requestId);
          if (at !== undefined) own.ackLatency.observe(Math.max(0, entry.at - at) / 1000);
          receivedAt.delete(entry.requestId);
        } else if (CLOSED_UNACKNOWLEDGED.has(entry.event)) receivedAt.delete(entry.requestId);
        else if (entry.event === "skipped") own.acknowledgementsSkipped.inc({ reason: skipReason(entry.detail) });
      }
    }
  });
}

/** The victim daemon's purchases as counters and gauges, from its store, before every scrape. */
export function observeVictimStore(
  metrics: VictimMetrics,
  store: VictimStore,
  policy: () => SpendingPolicy,
  now = Date.now,
): void {
  const own = metrics.own;
  metrics.beforeScrape(() => {
    // Grouped counts, not the history: a scrape costs the same after a million purchases.
    const tallies = store.purchaseTallies();
    const inStates = (states?: readonly string[]) =>
      tallies.filter((t) => states === undefined || states.includes(t.state));
    const count = (states?: readonly string[]) => inStates(states).reduce((n, t) => n + t.n, 0);
    const price = (states?: readonly string[]) =>
      tokens(inStates(states).reduce((sum, t) => sum + t.price * BigInt(t.n), 0n));
    setTotals(own.purchases, [[{ via: "request" }, count()]]);
    setTotals(own.acknowledged, [[undefined, count(["acknowledged", "withdrawing", "withdrawn", "ended"])]]);
    setTotals(own.rejected, [[undefined, count(["rejected"])]]);
    setTotals(own.reclaims, [[undefined, count(["reclaimed"])]]);
    setTotals(own.withdrawals, [[undefined, count(["withdrawn"])]]);
    setTotals(own.spent, [[undefined, price()]]);
    setTotals(own.refunded, [[undefined, price(REFUNDED_STATES)]]);
    const current = policy();
    const t = now();
    own.budgetLeft.set({ window: "hour" }, tokens(current.budgetPerHour - store.spentSince(t - 3_600_000)));
    own.budgetLeft.set({ window: "day" }, tokens(current.budgetPerDay - store.spentSince(t - 86_400_000)));
    own.targetsAttacked.set(store.targets("attacked").length);
    own.mitigationsRunning.set(count(["pending", "acknowledged", "withdrawing"]));
  });
}

/**
 * Observes attack report → last acknowledgement per attack episode: call `check` after anything
 * that may have changed a purchase (each progress line, each scrape). An episode counts once, when
 * it has at least one acknowledged purchase and none pending.
 */
export function attackLatency(metrics: VictimMetrics, store: VictimStore, now = Date.now): () => void {
  const done = new Set<string>();
  return () => {
    for (const target of store.targets("attacked")) {
      const episode = `${target.target}@${target.since}`;
      if (done.has(episode)) continue;
      const purchases = store.purchases({ target: target.target }).filter((p) => p.boughtAt >= target.since);
      if (purchases.length === 0 || purchases.some((p) => p.state === "pending")) continue;
      if (!purchases.some((p) => p.state !== "rejected" && p.state !== "reclaimed")) continue;
      done.add(episode);
      metrics.own.attackToAck.observe(Math.max(0, now() - target.since) / 1000);
    }
    // Episodes that ended are not looked at again; forget them so the set stays small.
    if (done.size > 10_000) done.clear();
  };
}

/** Counts the victim daemon's progress lines that say the spending policy refused something. */
export function victimProgress(
  metrics: VictimMetrics,
  next: (line: string) => void,
  afterLine: () => void,
): (line: string) => void {
  const counting = countingProgress(metrics.common, next);
  return (line: string) => {
    if (line.includes("the spending policy refuses")) metrics.own.policyRefusals.inc();
    if (/: renewing for \d+ source/.test(line)) metrics.own.renewals.inc();
    counting(line);
    afterLine();
  };
}

export interface OpsEndpointOptions {
  /** host:port; no endpoint when absent. */
  listen: string | undefined;
  metrics: ProviderMetrics | VictimMetrics;
  /** The node, asked for its head on each readiness probe. */
  provider: Pick<Provider, "getBlockNumber">;
  /** The last block the agent has dealt with. */
  position: () => number | null;
  maxLagBlocks: number;
  /** The back end, for the provider's readiness. */
  backend?: { readonly name: string; list(): Promise<readonly unknown[]> };
  /** When the agent's loop last ran (ms), for liveness. */
  lastActivity: () => number | null;
  /** Past this silence, the loop is dead, ms. */
  maxSilenceMs: number;
  logger: Logger;
}

/** Starts /metrics, /healthz and /livez when a listen address is given. */
export async function startOpsEndpoint(options: OpsEndpointOptions): Promise<OpsServer | undefined> {
  if (options.listen === undefined) return undefined;
  const { host, port } = parseListenAddress(options.listen);
  const readiness: Check[] = [
    syncCheck({
      head: () => options.provider.getBlockNumber(),
      position: options.position,
      maxLagBlocks: options.maxLagBlocks,
    }),
  ];
  if (options.backend) readiness.push(backendCheck(options.backend));
  const server = await startOpsServer({
    host,
    port,
    metrics: options.metrics,
    readiness,
    liveness: [loopCheck(options.lastActivity, options.maxSilenceMs)],
    onError: (message) => options.logger.warn({ event: "metrics_failed" }, message),
  });
  options.logger.info(
    { event: "metrics_listening", url: server.url },
    `Metrics, /healthz and /livez at ${server.url}.`,
  );
  return server;
}

/**
 * The order intake as the HTTP server sees it, counting each order posted, accepted (202) or
 * refused by reason (its HTTP status: malformed, forbidden, duplicate, terms, funds, unavailable).
 */
export function meteredOrderHandler(handler: OrderHandler, metrics: ProviderMetrics): OrderHandler {
  const own = metrics.own;
  const count = (answer: Awaited<ReturnType<OrderHandler["submit"]>>) => {
    own.ordersReceived.inc();
    if (answer.status === 202) own.ordersAccepted.inc();
    else own.ordersRefused.inc({ reason: ORDER_REFUSAL_LABELS[answer.status] });
    return answer;
  };
  return {
    submit: async (json) => count(await handler.submit(json)),
    submitMany: async (list) => (await handler.submitMany(list)).map(count),
    status: (hash) => handler.status(hash),
    get synced() {
      return handler.synced;
    },
    get waiting() {
      return handler.waiting;
    },
  };
}

/**
 * The gateway's DOTS mitigations (RFC 9132 §4.4): the `mid` rules, lifetimes, the mitigation
 * status a client reads and observes, and withdrawal — with the buying and the chain behind a
 * MarketPort (the market bridge, or a fake in tests).
 */
import { contains, formatPrefix, type Prefix } from "../prefix";
import type { DotsObject } from "./codec";
import type { MitigationScope } from "./codec";
import { RESPONSE } from "./coap";
import { CONFLICT_CAUSE, CONFLICT_STATUS, MITIGATION_STATUS } from "./keys";
import type { GatewayStore, StoredPurchase } from "./store";

/** A refusal the signal or data channel answers with `code` and a one-sentence diagnostic. */
export class DotsError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly body?: DotsObject,
  ) {
    super(message);
    this.name = "DotsError";
  }
}

/** A client as the configuration file names it, with the accounts it may buy for. */
export interface DotsClient {
  name: string;
  accounts: readonly string[];
}

/** One purchase behind a mitigation, as the chain reports it. */
export interface PurchaseView {
  service: string;
  requestId: bigint;
  state: "pending" | "acknowledged" | "rejected" | "reclaimed" | "withdrawn";
  /** The provider's last reported DOTS status, if it reported one. */
  status?: number;
  bytesDropped: bigint;
  packetsDropped: bigint;
  startedAt?: number;
  /** The block of its request transaction; for a signed order, the head when it was sent. */
  blockNumber?: number;
  /** A signed order's expiry (chain time): unsettled past it, it lapses and is dropped. */
  expiry?: number;
}

/** What the market bought for one mitigation; `onChange` fires on every change seen on chain. */
export interface MarketPurchase {
  readonly purchases: readonly PurchaseView[];
  /** Sources no provider serves, with why. */
  readonly unserved: readonly string[];
  onChange(listener: () => void): void;
  /** Withdraws every purchase in force (and any acknowledged later); returns once sent. */
  withdraw(): Promise<void>;
}

export interface MarketOrder {
  account: string;
  targets: readonly Prefix[];
  /** Attack sources to buy near (prefixes or addresses). */
  sources: readonly string[];
  /** Seconds. */
  lifetime: number;
  /** Only flow-filtering offerings (a drop-list ACL). */
  flowFilteringOnly?: boolean;
  /** For progress lines. */
  label: string;
}

export interface MarketPort {
  /** The first of `accounts` that holds every target, or null. */
  holderOf(accounts: readonly string[], targets: readonly Prefix[]): Promise<string | null>;
  /** The sources to buy near: those reported, else the configured neighbours of the targets. */
  sourcesFor(targets: readonly Prefix[], reported: readonly string[]): string[];
  /** Buys; resolves once the requests are on chain, rejects (DotsError) when nothing was bought. */
  buy(order: MarketOrder): Promise<MarketPurchase>;
  /** Follows purchases made before a restart again (withdrawing them if `withdrawing`). */
  resume(order: MarketOrder, purchases: readonly StoredPurchase[], withdrawing: boolean): MarketPurchase;
}

export interface MitigationOptions {
  /** Seconds granted when the client asks for none. */
  defaultLifetime: number;
  /** The longest lifetime granted (an indefinite request gets this). */
  maxLifetime: number;
  /** How long a terminated mitigation stays readable, seconds. */
  retention: number;
  /** The client's aliases (data channel) → prefixes; throws DotsError for an unknown alias. */
  resolveAliases: (client: string, names: readonly string[]) => Prefix[];
  /** Where mitigations and their purchases survive a restart; nothing is kept without one. */
  store?: GatewayStore;
  /** Called once a mitigation's purchases are on chain (the data channel buys its waiting ACLs). */
  onStarted?: (mitigation: Mitigation) => Promise<void>;
  now?: () => number;
  onProgress?: (line: string) => void;
}

export interface Mitigation {
  client: string;
  cuid: string;
  mid: number;
  scope: MitigationScope;
  targets: Prefix[];
  account: string;
  /** Seconds granted. */
  lifetime: number;
  /** Unix seconds when the gateway accepted it. */
  accepted: number;
  purchase?: MarketPurchase;
  /** Waiting for the signal channel to be lost (trigger-mitigation false). */
  deferred: boolean;
  withdrawnAt?: number;
  /** Replaced by a request with a higher mid over the same targets. */
  replacedBy?: number;
  status: number;
  /** When it reached a final status, unix seconds. */
  finishedAt?: number;
}

type Listener = (mitigation: Mitigation) => void;

function overlaps(a: readonly Prefix[], b: readonly Prefix[]): boolean {
  return a.some((x) => b.some((y) => contains(x, y) || contains(y, x)));
}

const FINAL = new Set<number>([MITIGATION_STATUS.terminated, MITIGATION_STATUS.withdrawnByServer]);

/** The status of a mitigation from its purchases (RFC 9132 status codes). */
export function aggregateStatus(m: Pick<Mitigation, "purchase" | "withdrawnAt" | "deferred" | "replacedBy">): number {
  if (m.deferred) return MITIGATION_STATUS.triggeredOnSignalLoss;
  const purchases = m.purchase?.purchases ?? [];
  const served = purchases.filter((p) => p.state === "acknowledged" || p.state === "withdrawn");
  const ended = (p: PurchaseView) =>
    p.status === MITIGATION_STATUS.terminated || p.status === MITIGATION_STATUS.stopped;
  if (m.withdrawnAt !== undefined || m.replacedBy !== undefined) {
    const inForce = purchases.some((p) => p.state === "pending") || served.some((p) => !ended(p));
    return inForce ? MITIGATION_STATUS.clientWithdrawnTerminating : MITIGATION_STATUS.terminated;
  }
  if (purchases.length === 0 || purchases.some((p) => p.state === "pending")) {
    if (served.length === 0) return MITIGATION_STATUS.inProgress;
  }
  if (served.length === 0) return MITIGATION_STATUS.withdrawnByServer;
  const statuses = served.map((p) => p.status ?? MITIGATION_STATUS.inProgress);
  if (statuses.includes(MITIGATION_STATUS.exceedsCapability)) return MITIGATION_STATUS.exceedsCapability;
  if (statuses.includes(MITIGATION_STATUS.successfullyMitigated)) return MITIGATION_STATUS.successfullyMitigated;
  if (statuses.includes(MITIGATION_STATUS.inProgress)) return MITIGATION_STATUS.inProgress;
  if (statuses.every((s) => s === MITIGATION_STATUS.stopped)) return MITIGATION_STATUS.stopped;
  return MITIGATION_STATUS.terminated;
}

/** Attack sources a client reported as RFC 9244 pre-or-ongoing-mitigation telemetry, per target. */
interface Telemetry {
  targets: Prefix[];
  sources: string[];
}

export class Mitigations {
  private readonly byClient = new Map<string, Map<number, Mitigation>>();
  private readonly telemetry = new Map<string, Map<number, Telemetry[]>>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly now: () => number;
  private readonly progress: (line: string) => void;

  constructor(
    private readonly market: MarketPort,
    private readonly options: MitigationOptions,
  ) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.progress = options.onProgress ?? (() => undefined);
  }

  private table(client: string, cuid: string): Map<number, Mitigation> {
    const key = `${client}\n${cuid}`;
    let table = this.byClient.get(key);
    if (!table) {
      table = new Map();
      this.byClient.set(key, table);
    }
    return table;
  }

  /** The mitigations of a client's cuid, or the one with `mid`; terminated ones stay a while. */
  list(client: string, cuid: string, mid?: number): Mitigation[] {
    const table = this.table(client, cuid);
    const now = this.now();
    for (const [id, m] of table) {
      if (m.finishedAt !== undefined && now - m.finishedAt > this.options.retention) table.delete(id);
    }
    if (mid === undefined) return [...table.values()];
    const one = table.get(mid);
    if (!one) throw new DotsError(RESPONSE.notFound, `There is no mitigation request with mid ${mid}.`);
    return [one];
  }

  /** A PUT: creates (2.01), refreshes (2.04), or refuses with the RFC's code. */
  async put(
    client: DotsClient,
    cuid: string,
    mid: number,
    scope: MitigationScope,
  ): Promise<Mitigation & { code: number }> {
    const table = this.table(client.name, cuid);
    const targets = [...scope.targets, ...this.options.resolveAliases(client.name, scope.aliasNames)];
    const existing = table.get(mid);
    if (existing) {
      const same =
        existing.withdrawnAt === undefined &&
        existing.targets.length === targets.length &&
        existing.targets.every((t, i) => t.network === targets[i].network && t.length === targets[i].length);
      if (!same) {
        throw new DotsError(
          RESPONSE.conflict,
          `mid ${mid} is already in use for other targets or was withdrawn: use a higher mid.`,
          conflictBody(existing, CONFLICT_STATUS.requestActive),
        );
      }
      return { ...existing, code: RESPONSE.changed };
    }
    const active = [...table.values()].filter((m) => m.withdrawnAt === undefined && m.replacedBy === undefined);
    // mid values increase: a request over targets that a higher mid (active or ended) covered is stale.
    const newer = [...table.values()].find((m) => m.mid > mid && overlaps(m.targets, targets));
    if (newer) {
      const isActive = active.includes(newer);
      throw new DotsError(
        RESPONSE.conflict,
        `mid ${mid} is not above mid ${newer.mid}, ${isActive ? "an active" : "an earlier"} request over the same targets: mid values increase.`,
        conflictBody(newer, isActive ? CONFLICT_STATUS.requestActive : CONFLICT_STATUS.allRequestsInactive),
      );
    }
    const account = await this.market.holderOf(client.accounts, targets);
    if (account === null) {
      throw new DotsError(
        RESPONSE.forbidden,
        `${client.name} (${client.accounts.join(", ")}) does not hold ${targets.map((t) => formatPrefix(t)).join(", ")} on chain.`,
      );
    }
    const sources = this.market.sourcesFor(targets, this.reportedSources(client.name, cuid, targets, scope));
    if (sources.length === 0) {
      throw new DotsError(
        RESPONSE.serviceUnavailable,
        `No attack sources are known for ${targets.map((t) => formatPrefix(t)).join(", ")}: report top talkers (RFC 9244) or configure its neighbours.`,
      );
    }
    const lifetime =
      scope.lifetime === -1 ? this.options.maxLifetime : Math.min(scope.lifetime, this.options.maxLifetime);
    const mitigation: Mitigation = {
      client: client.name,
      cuid,
      mid,
      scope,
      targets,
      account,
      lifetime,
      accepted: this.now(),
      deferred: !scope.triggerMitigation,
      status: MITIGATION_STATUS.inProgress,
    };
    if (!mitigation.deferred) {
      await this.start(mitigation, sources);
    }
    mitigation.status = aggregateStatus(mitigation);
    table.set(mid, mitigation);
    this.options.store?.save(mitigation);
    // A higher mid over the same targets replaces the older request (RFC 9132 §4.4.1).
    for (const older of active.filter((m) => m.mid < mid && overlaps(m.targets, targets))) {
      older.replacedBy = mid;
      this.options.store?.save(older);
      this.progress(`${client.name} mid ${mid} replaces mid ${older.mid}: withdrawing it`);
      await older.purchase?.withdraw();
      this.update(older);
    }
    return { ...mitigation, code: RESPONSE.created };
  }

  private async start(mitigation: Mitigation, sources: readonly string[]): Promise<void> {
    const purchase = await this.market.buy({
      account: mitigation.account,
      targets: mitigation.targets,
      sources,
      lifetime: mitigation.lifetime,
      label: `${mitigation.client} mid ${mitigation.mid}`,
    });
    mitigation.purchase = purchase;
    mitigation.deferred = false;
    this.follow(mitigation, purchase);
    await this.options.onStarted?.(mitigation).catch((error: unknown) => {
      this.progress(`${mitigation.client} mid ${mitigation.mid}: ${(error as Error).message}`);
    });
  }

  /**
   * Stores a telemetry PUT (RFC 9244 §8, /tm/cuid=…/tmid=…): its top talkers are the sources of
   * later mitigation requests over the same targets that report none themselves. True if new.
   */
  putTelemetry(
    client: string,
    cuid: string,
    tmid: number,
    entries: { targets: Prefix[]; sources: { text: string }[] }[],
  ): boolean {
    const key = `${client}\n${cuid}`;
    let table = this.telemetry.get(key);
    if (!table) {
      table = new Map();
      this.telemetry.set(key, table);
    }
    const created = !table.has(tmid);
    table.set(
      tmid,
      entries.map((e) => ({ targets: e.targets, sources: e.sources.map((s) => s.text) })),
    );
    return created;
  }

  deleteTelemetry(client: string, cuid: string, tmid: number | undefined): void {
    const table = this.telemetry.get(`${client}\n${cuid}`);
    if (tmid === undefined) table?.clear();
    else if (!table?.delete(tmid)) throw new DotsError(RESPONSE.notFound, `There is no telemetry with tmid ${tmid}.`);
  }

  /** The request's own top talkers, else those of the client's telemetry over the same targets. */
  private reportedSources(client: string, cuid: string, targets: readonly Prefix[], scope: MitigationScope): string[] {
    if (scope.sources.length > 0) return scope.sources.map((s) => s.text);
    const sources = new Set<string>();
    for (const entries of this.telemetry.get(`${client}\n${cuid}`)?.values() ?? []) {
      for (const e of entries) if (overlaps(e.targets, targets)) e.sources.forEach((s) => sources.add(s));
    }
    return [...sources];
  }

  private follow(mitigation: Mitigation, purchase: MarketPurchase): void {
    let known = purchase.purchases.length;
    purchase.onChange(() => {
      // A purchase bought elsewhere after a refusal must survive a restart too.
      if (purchase.purchases.length !== known) {
        known = purchase.purchases.length;
        this.options.store?.save(mitigation);
      }
      this.update(mitigation);
    });
  }

  /** Takes back the mitigations of the store after a restart; returns how many. */
  restore(): number {
    const store = this.options.store;
    if (!store) return 0;
    store.prune(this.now() - this.options.retention);
    const stored = store.load();
    for (const s of stored) {
      const { purchases, ...fields } = s;
      const m: Mitigation = { ...fields, status: MITIGATION_STATUS.inProgress };
      if (purchases.length > 0) {
        const order = {
          account: m.account,
          targets: m.targets,
          sources: [],
          lifetime: m.lifetime,
          label: `${m.client} mid ${m.mid}`,
        };
        m.purchase = this.market.resume(order, purchases, m.withdrawnAt !== undefined || m.replacedBy !== undefined);
        this.follow(m, m.purchase);
      }
      m.status = aggregateStatus(m);
      this.table(m.client, m.cuid).set(m.mid, m);
    }
    return stored.length;
  }

  /** The signal channel of `client` was lost: start the mitigations that waited for it. */
  async signalLost(client: string): Promise<void> {
    for (const [key, table] of this.byClient) {
      if (!key.startsWith(`${client}\n`)) continue;
      for (const m of table.values()) {
        if (!m.deferred || m.withdrawnAt !== undefined) continue;
        this.progress(`${client}: signal channel lost, triggering mid ${m.mid}`);
        try {
          await this.start(
            m,
            this.market.sourcesFor(
              m.targets,
              m.scope.sources.map((s) => s.text),
            ),
          );
        } catch (error) {
          this.progress(`${client} mid ${m.mid}: could not trigger: ${(error as Error).message}`);
          m.deferred = false;
          m.withdrawnAt = this.now();
        }
        this.options.store?.save(m);
        this.update(m);
      }
    }
  }

  /** A DELETE: withdraws on chain; the mitigation stays readable as terminating, then terminated. */
  async delete(client: string, cuid: string, mid: number): Promise<void> {
    const [m] = this.list(client, cuid, mid);
    if (m.withdrawnAt !== undefined) return;
    m.withdrawnAt = this.now();
    m.deferred = false;
    // Recorded before the withdrawal is sent: a restarted gateway withdraws what is still in force.
    this.options.store?.save(m);
    await m.purchase?.withdraw();
    this.update(m);
  }

  /** Calls `listener` on every status change of the client's mitigations (of `mid` if given). */
  observe(client: string, cuid: string, listener: Listener): () => void {
    const key = `${client}\n${cuid}`;
    let set = this.listeners.get(key);
    if (!set) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  private update(m: Mitigation): void {
    const status = aggregateStatus(m);
    if (status === m.status) return;
    m.status = status;
    if (FINAL.has(status)) m.finishedAt = this.now();
    this.progress(`${m.client} mid ${m.mid}: status ${status}`);
    for (const listener of this.listeners.get(`${m.client}\n${m.cuid}`) ?? []) listener(m);
  }

  /** A scope entry of a GET response (RFC 9132 §4.4.2). */
  view(m: Mitigation): DotsObject {
    const purchases = m.purchase?.purchases ?? [];
    const started = purchases.map((p) => p.startedAt).filter((s): s is number => s !== undefined);
    const entry: DotsObject = {
      mid: m.mid,
      "target-prefix": m.scope.targets.map((t) => formatPrefix(t)),
    };
    if (m.scope.aliasNames.length > 0) entry["alias-name"] = [...m.scope.aliasNames];
    if (m.scope.portRanges.length > 0) {
      entry["target-port-range"] = m.scope.portRanges.map((r) => ({ "lower-port": r.lower, "upper-port": r.upper }));
    }
    if (m.scope.protocols.length > 0) entry["target-protocol"] = [...m.scope.protocols];
    if (started.length > 0) entry["mitigation-start"] = Math.min(...started);
    entry.lifetime = Math.max(0, m.accepted + m.lifetime - this.now());
    entry.status = m.status;
    entry["bytes-dropped"] = Number(purchases.reduce((s, p) => s + p.bytesDropped, 0n));
    entry["pkts-dropped"] = Number(purchases.reduce((s, p) => s + p.packetsDropped, 0n));
    return entry;
  }
}

function conflictBody(existing: Mitigation, status: number): DotsObject {
  return {
    "ietf-dots-signal-channel:mitigation-scope": {
      scope: [
        {
          mid: existing.mid,
          "conflict-information": {
            "conflict-status": status,
            "conflict-cause": CONFLICT_CAUSE.overlappingTargets,
            "conflict-scope": { "target-prefix": existing.targets.map((t) => formatPrefix(t)), mid: existing.mid },
          },
        },
      ],
    },
  };
}

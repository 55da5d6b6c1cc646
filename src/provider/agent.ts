/**
 * The provider agent: follows its service contract's events from a cursor kept in SQLite, decides
 * on each request, applies the mitigation through a back end, acknowledges (in batches) or
 * rejects, removes the rules when the mitigation ends, and reports DOTS status codes on chain.
 *
 * Exactly once, across kill -9: the follower records events and advances the cursor in one
 * transaction; every action is driven from the store, with its intent committed first; after a
 * failure or a restart the agent reconciles every unfinished request with the chain (the contract
 * refuses a second acknowledgement or rejection, and a refused call is never sent) and the back
 * end's rule set with the rules the store wants in force (install missing, remove left-over).
 */
import { NonceManager, type Provider } from "ethers";

import {
  DOTS_STATUS,
  parseServiceLog,
  type MarketClient,
  type OfferingInfo,
  type RequestedEvent,
} from "../clients/market";
import type { RegistryClient } from "../clients/registry";
import { PreflightSigner } from "../clients/preflight";
import { toOperatorError } from "../errors";
import { formatRequestId } from "../format";
import { formatPrefix, parsePrefix } from "../prefix";
import { verifyRequest } from "./verify";
import { actionText, describeRule, matchKey, sameAction } from "../backends/rules";
import type { FlowAction, FlowRule, MitigationBackend } from "../backends/types";
import { DEFAULT_POLICY, decide, type PolicyOptions, type SourceOrigin } from "./policy";
import { Pause } from "../pause";
import { ProviderJsonRpc, type JsonRpc } from "../rpc";
import { getRequestCall, readViews, valueOf } from "./chainReads";
import { OrderDesk, type OrderSettings } from "./orderDesk";
import type { Settled } from "./orderSettlement";
import { nodeSource, type ChainLog, type ChainSource } from "./source";
import {
  AgentStore,
  FINAL_STATES,
  OPEN_STATES,
  type NewRequest,
  type RequestState,
  type StoredOrder,
  type StoredRequest,
} from "./store";

/** "ipv4 198.51.100.23/32 → 203.0.113.10/32 discard (#3)": a rule for people. */
function ruleText(rule: FlowRule): string {
  const request = rule.id.split("/")[1];
  const which = request !== undefined && /^\d+$/.test(request) ? ` (${formatRequestId(BigInt(request))})` : "";
  return `${rule.family} ${rule.source} → ${rule.destination} ${actionText(rule.action)}${which}`;
}

/** `IProviderServiceContract.AcknowledgementSkipReason`, as the journal says it. */
const ACK_SKIP_REASONS = ["the request does not exist", "it is no longer pending", "its deadline passed"];

export interface ProviderAgentOptions {
  /** The market, acting as the provider. */
  market: MarketClient;
  registry: RegistryClient;
  /** The chain, for calls and receipts (and for blocks and logs unless `source` is given). */
  provider: Provider;
  /**
   * Where to read the head and the service's logs; the node (`provider`) by default. A shared
   * source (SharedLogPoller) serves many agents in one process and wakes each on its own logs.
   */
  source?: ChainSource;
  /** The provider's service contract. */
  service: string;
  store: AgentStore;
  backend: MitigationBackend;
  /** Blocks to wait before acting on an event; 0 acts on the latest block. */
  confirmations?: number;
  /** Milliseconds between polls of the chain. */
  pollMs?: number;
  /** The first block to read when the store has no cursor yet. */
  startBlock?: number;
  /** The most blocks one eth_getLogs call spans. */
  maxBlockRange?: number;
  /** The most requests one acknowledgeBatch carries. */
  maxBatch?: number;
  policy?: Partial<PolicyOptions>;
  /** Report DOTS status on chain: in progress after acknowledging, terminated at the end. */
  statusReports?: boolean;
  /** Longest wait between retries while the node is unreachable, ms. */
  maxBackoffMs?: number;
  /** How often to compare the back end's rules with the store even when nothing changed, ms. */
  resyncEveryMs?: number;
  /** One line per thing the agent does. */
  onProgress?: (line: string) => void;
  /**
   * The node for batched reads (reconciliation, the order intake); through `provider` when not
   * given. Give an HttpJsonRpc where there is a URL: its batches are one round trip.
   */
  rpc?: JsonRpc;
  /** Takes signed orders (see `orders.intake`) and settles them, when given. */
  orders?: OrderSettings;
}

/** Counts of requests by state, for progress and tests. */
export type AgentCounts = Partial<Record<RequestState, number>>;

export class ProviderAgent {
  readonly store: AgentStore;
  readonly backend: MitigationBackend;
  readonly service: string;
  /** Signed orders: the intake and their settlement; undefined when the agent takes none. */
  readonly orders: OrderDesk | undefined;
  private readonly rpc: JsonRpc;
  private readonly market: MarketClient;
  private readonly registry: RegistryClient;
  private readonly provider: Provider;
  private readonly source: ChainSource;
  private readonly confirmations: number;
  private readonly pollMs: number;
  private readonly startBlock: number;
  private readonly maxBlockRange: number;
  private readonly maxBatch: number;
  private policy: PolicyOptions;
  private readonly statusReports: boolean;
  private readonly maxBackoffMs: number;
  private readonly resyncEveryMs: number;
  private readonly progress: (line: string) => void;

  private needsReconcile = true;
  private backendDirty = true;
  /** The next sync reads the back end's own list (at start, after a failure, every resyncEveryMs). */
  private needsFullSync = true;
  private lastSync = 0;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly pause = new Pause();
  /** Set by poke(): the next sleep ends at once. */
  private poked = false;
  private unwatch: (() => void) | undefined;
  private failing = false;

  constructor(options: ProviderAgentOptions) {
    this.market = options.market;
    this.registry = options.registry;
    this.provider = options.provider;
    this.source = options.source ?? nodeSource(options.provider);
    this.service = options.service;
    this.store = options.store;
    this.backend = options.backend;
    this.confirmations = options.confirmations ?? 0;
    this.pollMs = options.pollMs ?? 1000;
    this.startBlock = options.startBlock ?? 0;
    this.maxBlockRange = options.maxBlockRange ?? 5000;
    this.maxBatch = options.maxBatch ?? 100;
    this.policy = { ...DEFAULT_POLICY, ...options.policy };
    this.statusReports = options.statusReports ?? true;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.resyncEveryMs = options.resyncEveryMs ?? 30_000;
    this.progress = options.onProgress ?? (() => undefined);
    if (!Number.isInteger(this.confirmations) || this.confirmations < 0) {
      throw new Error(`A confirmation depth of ${this.confirmations} is not valid: give 0 or more blocks.`);
    }
    this.rpc = options.rpc ?? new ProviderJsonRpc(providerWithSend(options.provider));
    this.orders =
      options.orders &&
      new OrderDesk({
        ...options.orders,
        service: this.service,
        rpc: this.rpc,
        store: this.store,
        sender: this.market.runner,
        source: this.source,
        policy: this.policy,
        start: (order, settled) => this.startOrder(order, settled),
        resetNonce: () => this.resetNonce(),
        maxBackoffMs: this.maxBackoffMs,
        onProgress: this.progress,
      });
  }

  /** Starts the loop; `stop()` ends it. The loop never rejects: every error is reported and retried. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.unwatch = this.source.watch?.(this.service, () => this.poke());
    this.loop = this.run();
    this.orders?.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unwatch?.();
    this.unwatch = undefined;
    this.pause.wake();
    await Promise.all([this.loop, this.orders?.stop()]);
    this.loop = undefined;
  }

  /** Runs the next pass now rather than at the end of the poll interval (e.g. new logs arrived). */
  poke(): void {
    this.poked = true;
    // While the node fails, the back-off decides when to try again.
    if (!this.failing) this.pause.wake();
  }

  /** Puts a new policy in force from the next decision on (SIGHUP); decisions made stand. */
  setPolicy(policy: Partial<PolicyOptions>): void {
    this.policy = { ...DEFAULT_POLICY, ...policy };
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  counts(): AgentCounts {
    const counts: AgentCounts = {};
    // One grouped read of a few rows, however long the history.
    for (const t of this.store.requestTallies()) counts[t.state] = (counts[t.state] ?? 0) + t.n;
    return counts;
  }

  private async run(): Promise<void> {
    let delay = this.pollMs;
    while (!this.stopping) {
      try {
        await this.tick();
        if (this.failing) this.progress("the node answers again: caught up");
        this.failing = false;
        delay = this.pollMs;
      } catch (error) {
        this.needsReconcile = true;
        this.needsFullSync = true;
        await this.resetNonce();
        const message = toOperatorError(error).message;
        delay = this.failing ? Math.min(delay * 2, this.maxBackoffMs) : this.pollMs;
        this.progress(`error: ${message} (retrying in ${delay} ms)`);
        this.failing = true;
      }
      await this.sleep(delay);
    }
  }

  private async sleep(ms: number): Promise<void> {
    // stop() during a pass finds no sleep to cut short: do not start one.
    if (this.stopping || (this.poked && !this.failing)) return;
    await this.pause.wait(ms);
  }

  /**
   * A nonce manager's count is wrong after a failed send: start again from the node's, once the
   * sends already handed over (by the other loop) have reached it.
   */
  private async resetNonce(): Promise<void> {
    const runner = this.market.runner;
    if (runner instanceof PreflightSigner) await runner.idle();
    const inner = runner instanceof PreflightSigner ? runner.signer : runner;
    if (inner instanceof NonceManager) inner.reset();
  }

  /** One pass: catch up with the chain, decide, enforce, answer, end. Tests call it directly. */
  async tick(): Promise<void> {
    // Whatever poked the agent before this pass is seen by it.
    this.poked = false;
    if (this.needsReconcile) {
      await this.reconcile();
      this.needsReconcile = false;
    }
    const chainHead = await this.source.head();
    const { number: head, timestamp: now } = chainHead;
    this.orders?.sawHead(chainHead);
    await this.follow(head);
    await this.decideNew(now);
    await this.syncBackend();
    await this.acknowledgeReady(now);
    await this.sendRejections();
    this.endMitigations(now);
    await this.syncBackend();
    await this.finishEnding();
    await this.sendProgressReports();
  }

  // ---- following the chain ----

  private async follow(head: number): Promise<void> {
    const safe = head - this.confirmations;
    let from = (this.store.cursor() ?? this.startBlock - 1) + 1;
    while (from <= safe) {
      const to = Math.min(safe, from + this.maxBlockRange - 1);
      const logs = await this.source.logs(this.service, from, to);
      this.store.atomically(() => {
        for (const log of logs) this.onLog(log);
        this.store.setCursor(to);
      });
      from = to + 1;
    }
  }

  private onLog(log: ChainLog): void {
    const parsed = parseServiceLog(log);
    if (!parsed) return;
    if (this.orders?.onLog(parsed.name, parsed.args, log)) return;
    const id = parsed.args.requestId as bigint | undefined;
    if (id === undefined) return;
    if (parsed.name === "MitigationRequested") {
      const event: RequestedEvent = {
        service: this.service,
        requestId: id,
        requester: parsed.args.requester as string,
        offeringId: Number(parsed.args.offeringId),
        target: { network: 0n, length: 0 },
        sources: [],
        duration: Number(parsed.args.duration),
        price: parsed.args.price as bigint,
        ackDeadline: Number(parsed.args.ackDeadline),
        blockNumber: log.blockNumber,
        transactionHash: log.transactionHash,
      };
      const target = parsed.args.target as { network: bigint; prefixLength: bigint };
      const sources = parsed.args.sources as { network: bigint; prefixLength: bigint }[];
      const added = this.store.addRequest({
        id,
        requester: event.requester,
        offeringId: event.offeringId,
        target: formatPrefix({ network: target.network, length: Number(target.prefixLength) }),
        sources: sources.map((s) => formatPrefix({ network: s.network, length: Number(s.prefixLength) })),
        duration: event.duration,
        price: event.price,
        ackDeadline: event.ackDeadline,
        block: log.blockNumber,
        tx: log.transactionHash,
      });
      if (added) this.store.journal("received", `block ${log.blockNumber}, tx ${log.transactionHash}`, id);
      return;
    }
    const request = this.store.request(id);
    if (!request || FINAL_STATES.includes(request.state)) return;
    switch (parsed.name) {
      case "MitigationAcknowledged":
        if (request.state !== "active" && request.state !== "ending") {
          this.activate(request, Number(parsed.args.startedAt), Number(parsed.args.endsAt));
          this.store.journal("acknowledged", `seen on chain in block ${log.blockNumber}`, id);
        }
        break;
      case "MitigationRejected":
        this.finish(id, "rejected", `rejected on chain (reason ${Number(parsed.args.reason)})`);
        break;
      case "MitigationReclaimed":
        this.finish(id, "lapsed", "the requester reclaimed the escrow");
        break;
      case "MitigationWithdrawn":
        if (request.state === "active") {
          this.store.update(id, "active", { endsAt: Number(parsed.args.endedAt) });
          this.store.journal("withdrawn", `the requester withdrew at ${Number(parsed.args.endedAt)}`, id);
        }
        break;
    }
  }

  /**
   * Records a request as acknowledged on chain, however the agent learnt it (its own receipt, the
   * event, or reconciliation), and the intent to report "in progress" once.
   */
  private activate(
    request: Pick<StoredRequest, "id" | "reported" | "pendingReport">,
    startedAt: number,
    endsAt: number,
  ): void {
    this.store.update(request.id, "active", { startedAt, endsAt });
    const reported = request.reported.includes(DOTS_STATUS.inProgress) || request.pendingReport !== null;
    if (this.statusReports && !reported) this.store.setPendingReport(request.id, DOTS_STATUS.inProgress);
  }

  /**
   * A settled order's mitigation starts as an acknowledged request would: a request row, its
   * rules wanted (the back end sync installs them), "in progress" to report. Once per order.
   */
  private startOrder(order: StoredOrder, settled: Settled): void {
    const request: NewRequest = {
      id: order.requestId,
      requester: order.requester,
      offeringId: order.offeringId,
      target: order.target,
      sources: order.sources,
      duration: order.duration,
      price: order.price,
      ackDeadline: order.expiry,
      block: settled.block,
      tx: settled.tx,
    };
    // Recorded active at once, as activate() would leave it: nothing reported yet.
    const added = this.store.addRequest(request, {
      startedAt: settled.startedAt,
      endsAt: settled.endsAt,
      pendingReport: this.statusReports ? DOTS_STATUS.inProgress : null,
    });
    if (!added) return;
    this.store.addRules(order.rules, order.requestId);
    this.store.journal("settled", `order ${order.hash}, block ${settled.block}, tx ${settled.tx}`, order.requestId);
    this.backendDirty = true;
    this.poke();
  }

  /** Moves a request to a final state without on-chain action, and drops its rules. */
  private finish(id: bigint, state: "rejected" | "lapsed", why: string): void {
    this.store.update(id, state);
    this.store.unwantRules(id);
    this.store.journal(state, why, id);
    this.backendDirty = true;
  }

  // ---- reconciling after a restart or a failure ----

  /** Brings every unfinished request in line with the chain, and the back end with the store. */
  async reconcile(): Promise<void> {
    // Through the state index: the ended, rejected and lapsed history is never read again.
    const open = this.store.requests(OPEN_STATES);
    // Read together: a provider taking orders has thousands of mitigations running.
    const onChain = await readViews(
      this.rpc,
      open.map((r) => getRequestCall(this.service, r.id)),
    );
    const found = open.map((request, i) => valueOf(onChain[i], `request ${formatRequestId(request.id)}`));
    // One commit for all of them, not one each: a commit waits for the disk.
    this.store.atomically(() => {
      open.forEach((request, i) => this.reconcileOne(request, found[i].status, found[i].startedAt, found[i].endsAt));
    });
    for (const request of open) if (request.pendingReport !== null) await this.reconcileReport(request);
    this.backendDirty = true;
  }

  private reconcileOne(request: StoredRequest, status: string, startedAt: number, endsAt: number): void {
    const id = request.id;
    const answered = ["received", "accepted", "installed", "acking", "rejecting"].includes(request.state);
    switch (status) {
      case "acknowledged":
      case "withdrawn":
        if (answered || request.state === "active") {
          if (request.state === "rejecting" || request.state === "received") {
            // Acknowledged outside this agent's record (e.g. by hand): run it without rules.
            this.store.journal("reconciled", `acknowledged on chain while ${request.state}`, id);
          }
          if (request.state !== "active" || request.endsAt !== endsAt) {
            this.activate(request, startedAt, endsAt);
            this.store.journal("reconciled", `${status} on chain`, id);
          }
        }
        break;
      case "rejected":
        this.finish(id, "rejected", "rejected on chain (reconciled)");
        break;
      case "reclaimed":
        this.finish(id, "lapsed", "reclaimed by the requester (reconciled)");
        break;
      case "pending":
        if (request.state === "acking") {
          this.store.update(id, "installed");
          this.store.journal("reconciled", "not acknowledged on chain: will acknowledge again", id);
        }
        break;
    }
  }

  /** A report whose transaction may have been sent before a crash: look for it before resending. */
  private async reconcileReport(request: StoredRequest): Promise<void> {
    const status = request.pendingReport!;
    const service = this.market.service(this.service, this.provider);
    const reports = await service.queryFilter(service.filters.MitigationStatusReported(request.id), request.block);
    if (reports.some((e) => Number(e.args.status) === status)) {
      this.store.markReported(request.id, status);
      this.store.journal("reconciled", `status ${status} was already reported`, request.id);
    }
  }

  // ---- deciding ----

  private async decideNew(now: number): Promise<void> {
    const fresh = this.store.requests(["received"]);
    if (fresh.length === 0) return;
    let offerings: OfferingInfo[] | undefined;
    const coverage = new Map<number, boolean>();
    for (const request of fresh) {
      offerings ??= await this.market.offerings(this.service);
      const target = parsePrefix(request.target);
      const verdict = await verifyRequest(
        {
          service: this.service,
          requestId: request.id,
          requester: request.requester,
          offeringId: request.offeringId,
          target,
          sources: request.sources.map((s) => parsePrefix(s)),
          duration: request.duration,
          price: request.price,
          ackDeadline: request.ackDeadline,
          blockNumber: request.block,
          transactionHash: request.tx,
        },
        this.registry,
      );
      const sources: SourceOrigin[] = [];
      for (const source of request.sources) {
        const route = await this.registry.coveringPrefix(source);
        let covered = false;
        if (route) {
          if (!coverage.has(route.originAsn)) {
            const services = await this.market.servicesForAsn(route.originAsn);
            coverage.set(
              route.originAsn,
              services.some((s) => s.toLowerCase() === this.service.toLowerCase()),
            );
          }
          covered = coverage.get(route.originAsn)!;
        }
        sources.push({ source, originAsn: route?.originAsn ?? null, covered });
      }
      const inUse = this.store
        .requests(["accepted", "installed", "acking", "active"])
        .filter((r) => r.offeringId === request.offeringId).length;
      const decision = decide(
        {
          service: this.service,
          requestId: request.id,
          requester: request.requester,
          offeringId: request.offeringId,
          target: request.target,
          offering: offerings.find((o) => o.id === request.offeringId),
          verdict,
          sources,
          inUse,
          ackDeadline: request.ackDeadline,
          now,
        },
        this.policy,
      );
      const label = `${formatRequestId(request.id)} for ${request.target}`;
      this.store.atomically(() => {
        if (decision.accept) {
          this.store.addRules(decision.rules, request.id);
          this.store.update(request.id, "accepted");
          this.store.journal("accepted", decision.note, request.id);
        } else {
          this.store.update(request.id, "rejecting", { reasonCode: decision.code, reason: decision.reason });
          this.store.journal("rejecting", `reason ${decision.code}: ${decision.reason}`, request.id);
        }
      });
      this.backendDirty ||= decision.accept;
      this.progress(
        decision.accept ? `${label}: accepted, ${decision.note}` : `${label}: rejecting, ${decision.reason}`,
      );
    }
  }

  // ---- enforcing ----

  /** The rules that should be in force, one per match; a discard wins over a rate limit. */
  private desiredRules(): Map<string, FlowRule> {
    const desired = new Map<string, FlowRule>();
    for (const rule of this.store.rules({ wanted: true })) {
      const key = matchKey(rule);
      if (takesPrecedence(rule, desired.get(key))) desired.set(key, rule);
    }
    return desired;
  }

  /**
   * Makes the back end's rule set equal the wanted rules. Every `resyncEveryMs`, and after a
   * restart or a failure, from the back end's own list (installs missing, removes left-over,
   * whatever drifted); in between, only for the matches whose rules changed since (a provider
   * with tens of thousands of mitigations running does not read them all on every pass).
   */
  private async syncBackend(): Promise<void> {
    const due = this.needsFullSync || Date.now() - this.lastSync >= this.resyncEveryMs;
    if (!this.backendDirty && !due) return;
    if (due) await this.syncAll();
    else await this.syncChanged();
    this.store.atomically(() => {
      for (const request of this.store.requests(["accepted"])) this.store.update(request.id, "installed");
    });
    this.backendDirty = false;
  }

  /** The whole rule set against the back end's list. */
  private async syncAll(): Promise<void> {
    const desired = this.desiredRules();
    const actual = new Map((await this.backend.list()).map((r) => [matchKey(r), r]));
    const ours = this.store.knownMatches();
    const toInstall = [...desired]
      .filter(([key, rule]) => {
        const current = actual.get(key);
        return !(current && sameAction(current.action, rule.action));
      })
      .map(([, rule]) => rule);
    // Only rules this agent installed are its to remove; others belong to the operator.
    const toRemove = [...actual].filter(([key]) => !desired.has(key) && ours.has(key)).map(([, rule]) => rule);
    await this.enforce(toInstall, "install", true);
    await this.enforce(toRemove, "remove", false);
    this.store.settleRuleStates();
    this.needsFullSync = false;
    this.lastSync = Date.now();
  }

  /**
   * The matches whose rules changed since the last sync, from the store alone: its states say
   * what the back end holds (the full sync corrects any drift). Per match, the wanted rule (a
   * discard wins) is installed unless a rule with its action already is; with none wanted, the
   * one this agent installed is removed.
   */
  private async syncChanged(): Promise<void> {
    const changed = new Map(this.store.unsettledRules().map((r) => [matchKey(r), r] as const));
    const toInstall: FlowRule[] = [];
    const toRemove: FlowRule[] = [];
    const first = (ids: (string | null)[]) => ids.filter((id) => id !== null).sort()[0];
    for (const rule of changed.values()) {
      const actions = this.store.matchSummary(rule);
      // As desiredRules, over each action's first wanted rule, in id order.
      const candidates = actions
        .flatMap((a) => (a.firstWanted === null ? [] : [{ id: a.firstWanted, action: a.action }]))
        .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      let desired: (typeof candidates)[number] | undefined;
      for (const candidate of candidates) if (takesPrecedence(candidate, desired)) desired = candidate;
      if (desired !== undefined) {
        const { action, id } = desired;
        if (!actions.some((a) => a.installed && sameAction(a.action, action))) toInstall.push(this.store.rule(id)!);
      } else {
        const inForce = first(actions.map((a) => a.firstInForce));
        if (inForce !== undefined) toRemove.push(this.store.rule(inForce)!);
      }
    }
    await this.enforce(toInstall, "install", true);
    await this.enforce(toRemove, "remove", false);
    this.store.atomically(() => {
      for (const rule of changed.values()) {
        this.store.setRuleStateByMatch(rule, "installed", true);
        this.store.setRuleStateByMatch(rule, "removed", false);
      }
    });
  }

  /**
   * Installs (or removes) rules in the back end: the intent for all of them in one transaction
   * before the first command, what was done in one transaction after the last (or after a
   * failure). A crash in between leaves intents whose outcome the next sync reads from the back
   * end itself, so no command is repeated; and a thousand rules cost two commits, not three
   * thousand.
   */
  private async enforce(rules: FlowRule[], command: "install" | "remove", wanted: boolean): Promise<void> {
    if (rules.length === 0) return;
    const store = this.store;
    store.atomically(() => {
      for (const rule of rules)
        store.setRuleStateByMatch(rule, command === "install" ? "installing" : "removing", wanted);
    });
    const done: FlowRule[] = [];
    try {
      for (const rule of rules) {
        await (command === "install" ? this.backend.install(rule) : this.backend.remove(rule));
        done.push(rule);
        this.progress(`${command === "install" ? "install" : "remove "} ${ruleText(rule)}`);
      }
    } finally {
      store.atomically(() => {
        for (const rule of done) {
          store.setRuleStateByMatch(rule, command === "install" ? "installed" : "removed", wanted);
          store.journal(
            command === "install" ? "installed" : "removed",
            command === "install" ? describeRule(rule) : `${rule.family} ${rule.source} → ${rule.destination}`,
          );
        }
      });
    }
  }

  // ---- answering on chain ----

  private async acknowledgeReady(now: number): Promise<void> {
    const ready = this.store.requests(["installed"]);
    if (ready.length === 0) return;
    const tooLate = ready.filter((r) => r.ackDeadline - now < this.policy.minAckMarginSeconds);
    const ids = ready.filter((r) => !tooLate.includes(r)).map((r) => r.id);
    this.store.atomically(() => {
      for (const r of tooLate) {
        const reason = `its acknowledgement deadline is too close (${r.ackDeadline - now} s)`;
        this.store.update(r.id, "rejecting", { reasonCode: 2, reason });
        this.store.unwantRules(r.id);
        this.store.journal("rejecting", reason, r.id);
        this.backendDirty = true;
      }
      for (const id of ids) {
        this.store.update(id, "acking");
        this.store.journal("acking", `acknowledgement of ${ids.length} sent together`, id);
      }
    });
    for (let i = 0; i < ids.length; i += this.maxBatch) {
      const batch = ids.slice(i, i + this.maxBatch);
      const receipt =
        batch.length === 1
          ? await this.market.acknowledge(this.service, batch[0])
          : await this.market.acknowledgeBatch(this.service, batch);
      const skipped: { id: bigint; reason: string }[] = [];
      this.store.atomically(() => {
        for (const log of receipt.logs) {
          const parsed = parseServiceLog(log);
          if (parsed?.name === "AcknowledgementSkipped") {
            skipped.push({ id: parsed.args.requestId as bigint, reason: ACK_SKIP_REASONS[Number(parsed.args.reason)] });
          }
          if (parsed?.name !== "MitigationAcknowledged") continue;
          const id = parsed.args.requestId as bigint;
          this.activate(this.store.request(id)!, Number(parsed.args.startedAt), Number(parsed.args.endsAt));
          this.store.journal("acknowledged", `tx ${receipt.hash}, block ${receipt.blockNumber}`, id);
        }
      });
      const acknowledged = batch.filter((id) => !skipped.some((s) => s.id === id));
      this.progress(
        `acknowledged ${acknowledged.map(formatRequestId).join(", ")} in one transaction (${receipt.gasUsed.toLocaleString("en-US")} gas)`,
      );
      // A request answered or expired while the batch was in flight was skipped: follow the chain.
      for (const { id, reason } of skipped) {
        const request = this.store.request(id)!;
        const onChain = await this.market.getRequest(this.service, id);
        this.store.atomically(() => {
          this.store.journal("skipped", `acknowledgement skipped: ${reason}`, id);
          this.reconcileOne(request, onChain.status, onChain.startedAt, onChain.endsAt);
        });
        this.progress(`acknowledgement of ${formatRequestId(id)} skipped: ${reason}`);
      }
    }
  }

  private async sendRejections(): Promise<void> {
    for (const request of this.store.requests(["rejecting"])) {
      const code = request.reasonCode ?? 0;
      const receipt = await this.market.reject(this.service, request.id, code);
      this.store.atomically(() => {
        this.store.update(request.id, "rejected");
        this.store.unwantRules(request.id);
        this.store.journal("rejected", `reason ${code}, tx ${receipt.hash}`, request.id);
      });
      this.progress(`rejected ${formatRequestId(request.id)} (reason ${code}: ${request.reason ?? "unspecified"})`);
    }
  }

  // ---- ending ----

  private endMitigations(now: number): void {
    for (const request of this.store.requestsEndedBy(now)) {
      this.store.atomically(() => {
        this.store.update(request.id, "ending");
        this.store.unwantRules(request.id);
        this.store.journal("ending", `ended at ${request.endsAt}`, request.id);
      });
      this.backendDirty = true;
    }
  }

  private async finishEnding(): Promise<void> {
    for (const request of this.store.requests(["ending"])) {
      if (this.statusReports && !request.reported.includes(DOTS_STATUS.terminated)) {
        await this.report(request, DOTS_STATUS.terminated);
      }
      this.store.atomically(() => {
        this.store.update(request.id, "ended");
        this.store.journal("ended", "rules removed", request.id);
      });
      this.progress(`mitigation ${formatRequestId(request.id)} ended: rules removed`);
    }
  }

  private async sendProgressReports(): Promise<void> {
    for (const request of this.store.requestsWithPendingReport()) {
      // One transaction each: a stop does not wait for them all (the next start sends the rest).
      if (this.stopping) return;
      if (request.pendingReport === null || request.reported.includes(request.pendingReport)) continue;
      await this.report(request, request.pendingReport);
    }
  }

  /** Sends one DOTS status report, with its intent recorded first. */
  private async report(request: StoredRequest, status: number): Promise<void> {
    this.store.setPendingReport(request.id, status);
    await this.market.reportStatus(this.service, request.id, status);
    this.store.atomically(() => {
      this.store.markReported(request.id, status);
      this.store.journal("reported", `DOTS status ${status}`, request.id);
    });
  }
}

/** The provider's `send` (JsonRpcProvider, Hardhat's provider), for batched reads without a URL. */
function providerWithSend(provider: Provider): { send(method: string, params: unknown[]): Promise<unknown> } {
  const send = (provider as Partial<{ send: (method: string, params: unknown[]) => Promise<unknown> }>).send;
  if (typeof send !== "function") {
    throw new Error("The agent's provider cannot send JSON-RPC calls: give the agent an rpc.");
  }
  return { send: (method, params) => send.call(provider, method, params) };
}

/** Whether `candidate` replaces `current` as a match's rule in force: the first one, or a discard over a rate limit. */
function takesPrecedence(candidate: { action: FlowAction }, current: { action: FlowAction } | undefined): boolean {
  return current === undefined || (current.action.kind !== "discard" && candidate.action.kind === "discard");
}

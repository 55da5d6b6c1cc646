/**
 * The agents' Prometheus metrics: one registry per agent (several agents may share a process in
 * tests and benchmarks), with every metric an operator watches declared once here, with its help
 * text. The names are what docs/operations.md, the alert rules and the Grafana dashboard use; a
 * test checks that those name only metrics declared here.
 *
 * Counters of things that happened on chain (requests acknowledged, orders settled, purchases…)
 * are meant to be seeded from the agent's store when it starts (`seed`), so that after a restart
 * they still equal the chain's event counts rather than starting again from zero.
 */
import { formatUnits } from "ethers";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

import { TOKEN_DECIMALS } from "../format";

/** Seconds: from a block (1 s) to a long outage. */
export const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 20, 30, 60, 120, 300];

export type AgentKind = "provider" | "victim";

/** Reasons a provider rejects a request, as label values (`REJECT_REASON` in src/clients/market.ts). */
export const REJECT_REASON_LABELS = [
  "unspecified",
  "capacity",
  "policy",
  "not_verified",
  "sources_not_in_network",
] as const;

/** Why acknowledgeBatch skipped a request (`AcknowledgementSkipReason`), as label values. */
export const ACK_SKIP_REASON_LABELS = ["unknown_request", "not_pending", "deadline_passed"] as const;

/** Why the order intake refused an order, by its HTTP status. */
export const ORDER_REFUSAL_LABELS = {
  400: "malformed",
  402: "funds",
  403: "forbidden",
  409: "duplicate",
  422: "terms",
  503: "unavailable",
} as const;

/** Why settleOrders skipped an order (`ORDER_SKIP_REASONS` in src/clients/orders.ts), as label values. */
export const ORDER_SKIP_REASON_LABELS = [
  "wrong_service",
  "expired",
  "requester_is_provider",
  "bad_signature",
  "already_settled",
  "cancelled",
  "unknown_offering",
  "inactive_offering",
  "duration",
  "price",
  "invalid_prefix",
  "inactive_requester",
  "not_wholly_held",
  "payment_failed",
] as const;

/** The label of an on-chain reason code; "unknown" past the end of the list. */
export function reasonLabel(labels: readonly string[], code: number | bigint): string {
  return labels[Number(code)] ?? "unknown";
}

/** A token amount in base units as a float of whole tokens (what Prometheus stores). */
export function tokens(amount: bigint): number {
  return Number(formatUnits(amount, TOKEN_DECIMALS));
}

/** Metrics both agents have. */
function commonMetrics(registry: Registry, prefix: string) {
  const registers = [registry];
  return {
    chainHead: new Gauge({
      name: `${prefix}_chain_head_block`,
      help: "The latest block the agent read from its node.",
      registers,
    }),
    lastPass: new Gauge({
      name: `${prefix}_last_pass_timestamp_seconds`,
      help: "When the agent last finished a pass of its loop without an error (Unix seconds).",
      registers,
    }),
    rpcRequests: new Counter({
      name: `${prefix}_rpc_requests_total`,
      help: "JSON-RPC calls sent to the node, by method.",
      labelNames: ["method"] as const,
      registers,
    }),
    rpcErrors: new Counter({
      name: `${prefix}_rpc_errors_total`,
      help: "JSON-RPC calls that failed (node unreachable, or an error answer), by method.",
      labelNames: ["method"] as const,
      registers,
    }),
    retries: new Counter({
      name: `${prefix}_retries_total`,
      help: "Passes of the agent's loop that failed and were retried after a back-off.",
      registers,
    }),
    configReloads: new Counter({
      name: `${prefix}_config_reloads_total`,
      help: "Policy reloads on SIGHUP, by outcome (ok: in force; failed: the old policy stays).",
      labelNames: ["outcome"] as const,
      registers,
    }),
  };
}

export type CommonMetrics = ReturnType<typeof commonMetrics>;

function providerSpecific(registry: Registry) {
  const registers = [registry];
  return {
    requestsSeen: new Counter({
      name: "market_provider_requests_seen_total",
      help: "Mitigation requests read from the chain (MitigationRequested).",
      registers,
    }),
    requestsAcknowledged: new Counter({
      name: "market_provider_requests_acknowledged_total",
      help: "Requests acknowledged on chain (MitigationAcknowledged): paid.",
      registers,
    }),
    requestsRejected: new Counter({
      name: "market_provider_requests_rejected_total",
      help: "Requests rejected on chain (MitigationRejected), by reason.",
      labelNames: ["reason"] as const,
      registers,
    }),
    acknowledgementsSkipped: new Counter({
      name: "market_provider_acknowledgements_skipped_total",
      help: "Requests an acknowledgeBatch skipped (AcknowledgementSkipped), by reason.",
      labelNames: ["reason"] as const,
      registers,
    }),
    ordersReceived: new Counter({
      name: "market_provider_orders_received_total",
      help: "Signed orders posted to the order intake (each order of a batch counts).",
      registers,
    }),
    ordersAccepted: new Counter({
      name: "market_provider_orders_accepted_total",
      help: "Orders the intake accepted (202) for settlement.",
      registers,
    }),
    ordersRefused: new Counter({
      name: "market_provider_orders_refused_total",
      help: "Orders the intake refused, by reason (malformed, forbidden, duplicate, terms, funds, unavailable).",
      labelNames: ["reason"] as const,
      registers,
    }),
    ordersSettled: new Counter({
      name: "market_provider_orders_settled_total",
      help: "Orders settled on chain (OrderSettled): paid.",
      registers,
    }),
    ordersSkipped: new Counter({
      name: "market_provider_orders_skipped_total",
      help: "Orders settleOrders skipped (OrderSkipped), by reason.",
      labelNames: ["reason"] as const,
      registers,
    }),
    ordersExpired: new Counter({
      name: "market_provider_orders_expired_total",
      help: "Accepted orders that expired before they could be settled.",
      registers,
    }),
    mitigationsEnded: new Counter({
      name: "market_provider_mitigations_ended_total",
      help: "Mitigations ended (end time reached, or withdrawn by the victim) with their rules removed.",
      registers,
    }),
    mitigationsActive: new Gauge({
      name: "market_provider_mitigations_active",
      help: "Mitigations running now (acknowledged or settled, not yet ended).",
      registers,
    }),
    ackLatency: new Histogram({
      name: "market_provider_ack_latency_seconds",
      help: "Time from reading a request on chain to its acknowledgement mined.",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    settleLatency: new Histogram({
      name: "market_provider_settle_latency_seconds",
      help: "Time from accepting an order at the intake to its settlement mined.",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    cursor: new Gauge({
      name: "market_provider_cursor_block",
      help: "The last block whose events the agent has recorded (its persisted cursor).",
      registers,
    }),
    headLag: new Gauge({
      name: "market_provider_head_lag_blocks",
      help: "Blocks between the chain head and the cursor (confirmations included).",
      registers,
    }),
    rulesInForce: new Gauge({
      name: "market_provider_flowspec_rules",
      help: "FlowSpec rules in force in the back end, as it last reported them.",
      registers,
    }),
    ruleInstalls: new Counter({
      name: "market_provider_flowspec_installs_total",
      help: "FlowSpec rules installed in the back end.",
      registers,
    }),
    ruleRemovals: new Counter({
      name: "market_provider_flowspec_removals_total",
      help: "FlowSpec rules removed from the back end.",
      registers,
    }),
    backendErrors: new Counter({
      name: "market_provider_backend_errors_total",
      help: "Back-end calls that failed, by operation (install, remove, list).",
      labelNames: ["operation"] as const,
      registers,
    }),
    earned: new Counter({
      name: "market_provider_earned_tokens_total",
      help: "Tokens paid to the provider by acknowledgements and settlements.",
      registers,
    }),
  };
}

function victimSpecific(registry: Registry) {
  const registers = [registry];
  return {
    notifications: new Counter({
      name: "market_victim_notifications_total",
      help: "Detector notifications, by action (ban, unban, attack_details) and outcome (taken, refused, malformed).",
      labelNames: ["action", "outcome"] as const,
      registers,
    }),
    purchases: new Counter({
      name: "market_victim_purchases_total",
      help: "Purchases made, by way (request: a direct request on chain; order: a signed order sent to a provider).",
      labelNames: ["via"] as const,
      registers,
    }),
    acknowledged: new Counter({
      name: "market_victim_purchases_acknowledged_total",
      help: "Purchases answered with a mitigation: requests acknowledged and orders settled.",
      registers,
    }),
    rejected: new Counter({
      name: "market_victim_purchases_rejected_total",
      help: "Requests the provider rejected (escrow refunded).",
      registers,
    }),
    reclaims: new Counter({
      name: "market_victim_reclaims_total",
      help: "Requests not answered by their deadline whose escrow the daemon reclaimed.",
      registers,
    }),
    orderFallbacks: new Counter({
      name: "market_victim_order_fallbacks_total",
      help: "Orders not settled in time (skipped, expired, refused) and bought again by a direct request.",
      registers,
    }),
    withdrawals: new Counter({
      name: "market_victim_withdrawals_total",
      help: "Running mitigations withdrawn (ended early) after an unban.",
      registers,
    }),
    renewals: new Counter({
      name: "market_victim_renewals_total",
      help: "Purchases that renew a mitigation about to end while the attack lasts.",
      registers,
    }),
    policyRefusals: new Counter({
      name: "market_victim_policy_refusals_total",
      help: "Planned purchases the spending policy refused.",
      registers,
    }),
    spent: new Counter({
      name: "market_victim_spent_tokens_total",
      help: "Tokens escrowed or paid for purchases.",
      registers,
    }),
    refunded: new Counter({
      name: "market_victim_refunded_tokens_total",
      help: "Tokens given back by rejections and reclaims.",
      registers,
    }),
    budgetLeft: new Gauge({
      name: "market_victim_budget_left_tokens",
      help: "What the spending policy still allows, by window (hour, day).",
      labelNames: ["window"] as const,
      registers,
    }),
    attackToAck: new Histogram({
      name: "market_victim_attack_to_ack_seconds",
      help: "Time from the attack report (ban) to the last acknowledgement of its purchase.",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    targetsAttacked: new Gauge({
      name: "market_victim_targets_attacked",
      help: "Targets under attack now (banned, not yet unbanned).",
      registers,
    }),
    mitigationsRunning: new Gauge({
      name: "market_victim_mitigations_running",
      help: "Purchases pending or running now.",
      registers,
    }),
  };
}

interface MetricsOptions {
  /** Labels on every metric of this agent, e.g. the service or the account. */
  labels?: Record<string, string>;
  /** Node's process metrics (process_resident_memory_bytes, heap, event loop lag); default on. */
  processMetrics?: boolean;
}

/** A registry and what must run before each scrape (gauges computed from the store). */
export class AgentMetrics<M> {
  readonly registry: Registry;
  readonly common: CommonMetrics;
  readonly own: M;
  private readonly hooks: (() => void | Promise<void>)[] = [];

  constructor(kind: AgentKind, own: (registry: Registry) => M, options: MetricsOptions = {}) {
    this.registry = new Registry();
    this.registry.setDefaultLabels({ agent: kind, ...options.labels });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.common = commonMetrics(this.registry, "market_agent");
    this.own = own(this.registry);
  }

  /** Runs `hook` before every scrape (e.g. to set gauges from the store); a failing hook fails the scrape. */
  beforeScrape(hook: () => void | Promise<void>): void {
    this.hooks.push(hook);
  }

  /** The exposition text, after the hooks ran. */
  async scrape(): Promise<string> {
    for (const hook of this.hooks) await hook();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric name this agent exposes, its process metrics aside. */
  names(): string[] {
    return this.registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((n) => n.startsWith("market_"));
  }
}

export type ProviderMetrics = AgentMetrics<ReturnType<typeof providerSpecific>>;
export type VictimMetrics = AgentMetrics<ReturnType<typeof victimSpecific>>;

/** The provider agent's metrics; label `service` with its service contract. */
export function providerMetrics(options: MetricsOptions = {}): ProviderMetrics {
  return new AgentMetrics("provider", providerSpecific, options);
}

/** The victim daemon's metrics; label `account` with the victim's account is a good idea. */
export function victimMetrics(options: MetricsOptions = {}): VictimMetrics {
  return new AgentMetrics("victim", victimSpecific, options);
}

/**
 * Adds `value` to a counter at start-up: the count the agent's store already holds, so that a
 * restarted agent's counter still equals the chain's count.
 */
export function seed<L extends string>(counter: Counter<L>, value: number, labels?: Partial<Record<L, string>>): void {
  if (value <= 0) return;
  if (labels === undefined) counter.inc(value);
  else counter.inc(labels, value);
}

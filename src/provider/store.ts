/**
 * The provider agent's memory: an embedded SQLite database (WAL, synchronous=FULL, so a commit
 * survives kill -9 and power loss). It holds the event cursor, every request and its state, the
 * rules each request wants, and a journal of everything the agent did.
 *
 * Every on-chain action and back-end call is preceded by a committed intent (state "acking",
 * "rejecting", a pending report, a rule "installing"/"removing"), so a restarted agent knows what
 * may have happened and checks the chain or the back end before doing it again.
 */
import type { FlowAction, FlowRule } from "../backends/types";
import { SqliteStore } from "../sqlite";

/**
 * A request's life in the agent. received → accepted (rules wanted) → installed (rules in force)
 * → acking (acknowledgement sent or about to be) → active → ending (rules to remove, report to
 * send) → ended. Or received/accepted/installed → rejecting → rejected; or → lapsed (the
 * requester reclaimed it, or it was answered elsewhere).
 */
export type RequestState =
  | "received"
  | "accepted"
  | "installed"
  | "acking"
  | "active"
  | "ending"
  | "ended"
  | "rejecting"
  | "rejected"
  | "lapsed";

/** Whether a request can still leave each state: a Record, so that a new state must be placed. */
const REQUEST_STATES: Record<RequestState, "open" | "final"> = {
  received: "open",
  accepted: "open",
  installed: "open",
  acking: "open",
  active: "open",
  ending: "open",
  rejecting: "open",
  ended: "final",
  rejected: "final",
  lapsed: "final",
};
const statesThatAre = (kind: "open" | "final") =>
  (Object.keys(REQUEST_STATES) as RequestState[]).filter((s) => REQUEST_STATES[s] === kind);
export const FINAL_STATES: readonly RequestState[] = statesThatAre("final");
/** Every state a request can still leave. */
export const OPEN_STATES: readonly RequestState[] = statesThatAre("open");

/** The rule states, recorded before and after each back-end call. */
export type RuleState = "planned" | "installing" | "installed" | "removing" | "removed";

/** One group of `requestTallies`: `n` requests alike in state, rejection code, start and price. */
export interface RequestTally {
  state: RequestState;
  reasonCode: number | null;
  started: boolean;
  price: bigint;
  n: number;
}

export interface StoredRequest {
  id: bigint;
  requester: string;
  offeringId: number;
  target: string;
  sources: string[];
  duration: number;
  price: bigint;
  ackDeadline: number;
  block: number;
  tx: string;
  state: RequestState;
  reasonCode: number | null;
  reason: string | null;
  startedAt: number | null;
  endsAt: number | null;
  /** A DOTS status whose on-chain report was sent or is about to be. */
  pendingReport: number | null;
  /** DOTS statuses reported on chain. */
  reported: number[];
}

export interface StoredRule extends FlowRule {
  requestId: bigint;
  wanted: boolean;
  state: RuleState;
}

interface RequestRow {
  id: string;
  requester: string;
  offering_id: number;
  target: string;
  sources: string;
  duration: number;
  price: string;
  ack_deadline: number;
  block: number;
  tx: string;
  state: RequestState;
  reason_code: number | null;
  reason: string | null;
  started_at: number | null;
  ends_at: number | null;
  pending_report: number | null;
  reported: string;
}

interface RuleRow {
  id: string;
  request_id: string;
  family: "ipv4" | "ipv6";
  source: string;
  destination: string;
  action: string;
  wanted: number;
  state: RuleState;
}

export interface JournalEntry {
  seq: number;
  at: number;
  requestId: string | null;
  event: string;
  detail: string;
}

/**
 * A signed order's life in the agent: accepted (checked, committed, answered 202) → sending (in a
 * settlement batch whose transaction was sent or is about to be) → settled (its mitigation runs as
 * a request, state active) or skipped (settleOrders named a reason; nothing moved). Or accepted /
 * sending → expired (not settled before its expiry). A sending order whose batch failed goes back
 * to accepted.
 */
export type OrderState = "accepted" | "sending" | "settled" | "skipped" | "expired";

/** The states in which an order still holds a claim on its victim's balance and allowance. */
export const OPEN_ORDER_STATES: readonly OrderState[] = ["accepted", "sending"];

export interface StoredOrder {
  seq: number;
  hash: string;
  requestId: bigint;
  requester: string;
  offeringId: number;
  target: string;
  sources: string[];
  duration: number;
  /** The offering's price when it was accepted (what settlement will take, unless the terms change). */
  price: bigint;
  expiry: number;
  /** The order's ABI encoding as an element of `settleOrders`' orders (`encodeOrderTuple`). */
  tuple: Buffer;
  signature: string;
  /** Gas budgeted for it in a settlement transaction. */
  gas: number;
  /** The FlowSpec rules decided at acceptance, installed once it is settled. */
  rules: FlowRule[];
  state: OrderState;
  /** The settlement batch it was last put in. */
  batch: number | null;
  /** Why it was skipped or expired. */
  reason: string | null;
}

export type NewOrder = Omit<StoredOrder, "seq" | "state" | "batch" | "reason">;

/** A settlement transaction: its orders are in state sending with this batch until the outcome is known. */
export interface OrderBatch {
  id: number;
  /** The head block when it was built. */
  head: number;
  /** The transaction's gas limit. */
  gas: number;
  orders: number;
  /** The transaction, once the node took it; null while (or if) it may not have been sent. */
  tx: string | null;
}

interface OrderRow {
  seq: number;
  hash: string;
  request_id: string;
  requester: string;
  offering_id: number;
  target: string;
  sources: string;
  duration: number;
  price: string;
  expiry: number;
  tuple: Buffer;
  signature: string;
  gas: number;
  rules: string;
  state: OrderState;
  batch: number | null;
  reason: string | null;
}

function toOrder(row: OrderRow): StoredOrder {
  return {
    seq: row.seq,
    hash: row.hash,
    requestId: BigInt(row.request_id),
    requester: row.requester,
    offeringId: row.offering_id,
    target: row.target,
    sources: JSON.parse(row.sources) as string[],
    duration: row.duration,
    price: BigInt(row.price),
    expiry: row.expiry,
    tuple: row.tuple,
    signature: row.signature,
    gas: row.gas,
    rules: JSON.parse(row.rules) as FlowRule[],
    state: row.state,
    batch: row.batch,
    reason: row.reason,
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  requester TEXT NOT NULL,
  offering_id INTEGER NOT NULL,
  target TEXT NOT NULL,
  sources TEXT NOT NULL,
  duration INTEGER NOT NULL,
  price TEXT NOT NULL,
  ack_deadline INTEGER NOT NULL,
  block INTEGER NOT NULL,
  tx TEXT NOT NULL,
  state TEXT NOT NULL,
  reason_code INTEGER,
  reason TEXT,
  started_at INTEGER,
  ends_at INTEGER,
  pending_report INTEGER,
  reported TEXT NOT NULL DEFAULT '[]',
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
CREATE INDEX IF NOT EXISTS requests_state_end ON requests (state, ends_at);
CREATE TABLE IF NOT EXISTS rules (
  id TEXT PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests (id),
  family TEXT NOT NULL,
  source TEXT NOT NULL,
  destination TEXT NOT NULL,
  action TEXT NOT NULL,
  wanted INTEGER NOT NULL,
  state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rules_request ON rules (request_id);
CREATE INDEX IF NOT EXISTS rules_match ON rules (family, source, destination);
-- The rules still alive (wanted, or not yet removed): a match a victim renews all day keeps
-- thousands of removed rules, which the sync never needs to read or write again.
CREATE INDEX IF NOT EXISTS rules_live ON rules (family, source, destination) WHERE NOT (wanted = 0 AND state = 'removed');
CREATE INDEX IF NOT EXISTS rules_wish ON rules (wanted, state);
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  request_id TEXT,
  event TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  hash TEXT NOT NULL UNIQUE,
  request_id TEXT NOT NULL,
  requester TEXT NOT NULL,
  offering_id INTEGER NOT NULL,
  target TEXT NOT NULL,
  sources TEXT NOT NULL,
  duration INTEGER NOT NULL,
  price TEXT NOT NULL,
  expiry INTEGER NOT NULL,
  tuple BLOB NOT NULL,
  signature TEXT NOT NULL,
  gas INTEGER NOT NULL,
  rules TEXT NOT NULL,
  state TEXT NOT NULL,
  batch INTEGER,
  reason TEXT,
  accepted_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_state ON orders (state);
CREATE INDEX IF NOT EXISTS orders_batch ON orders (batch);
CREATE TABLE IF NOT EXISTS order_batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  head INTEGER NOT NULL,
  gas INTEGER NOT NULL,
  orders INTEGER NOT NULL,
  tx TEXT,
  open INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS order_batches_open ON order_batches (open);
CREATE TABLE IF NOT EXISTS cancelled_orders (hash TEXT PRIMARY KEY);
`;

function toRequest(row: RequestRow): StoredRequest {
  return {
    id: BigInt(row.id),
    requester: row.requester,
    offeringId: row.offering_id,
    target: row.target,
    sources: JSON.parse(row.sources) as string[],
    duration: row.duration,
    price: BigInt(row.price),
    ackDeadline: row.ack_deadline,
    block: row.block,
    tx: row.tx,
    state: row.state,
    reasonCode: row.reason_code,
    reason: row.reason,
    startedAt: row.started_at,
    endsAt: row.ends_at,
    pendingReport: row.pending_report,
    reported: JSON.parse(row.reported) as number[],
  };
}

function toRule(row: RuleRow): StoredRule {
  return {
    id: row.id,
    requestId: BigInt(row.request_id),
    family: row.family,
    source: row.source,
    destination: row.destination,
    action: JSON.parse(row.action) as FlowAction,
    wanted: row.wanted === 1,
    state: row.state,
  };
}

/** The live rules of one match with one action, summed up (AgentStore.matchSummary). */
export interface MatchSummary {
  action: FlowAction;
  /** The id of the first wanted rule with this action, if any is wanted. */
  firstWanted: string | null;
  /** The id of the first rule with this action in the back end or on its way in or out. */
  firstInForce: string | null;
  installed: boolean;
}

export type NewRequest = Omit<
  StoredRequest,
  "state" | "reasonCode" | "reason" | "startedAt" | "endsAt" | "pendingReport" | "reported"
>;

/** A request recorded already running (a settled order): when it started and ends, and the report to send. */
export type RunningFrom = Pick<StoredRequest, "startedAt" | "endsAt" | "pendingReport">;

export class AgentStore extends SqliteStore {
  /** Opens (or creates) the database at `file`; ":memory:" for tests. */
  constructor(file: string) {
    super(file, SCHEMA);
  }

  getMeta(key: string): string | undefined {
    const row = this.statement("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.statement(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(key, value);
  }

  /** The last block whose events are recorded, or undefined before the first. */
  cursor(): number | undefined {
    const value = this.getMeta("cursor");
    return value === undefined ? undefined : Number(value);
  }

  setCursor(block: number): void {
    this.setMeta("cursor", String(block));
  }

  /**
   * Records a request seen in an event, as received; or, given `running`, as active from the
   * start (a settled order: one statement instead of an insert and two updates). False if it was
   * already recorded.
   */
  addRequest(request: NewRequest, running?: RunningFrom): boolean {
    const result = this.statement(
      `INSERT OR IGNORE INTO requests (id, requester, offering_id, target, sources, duration, price, ack_deadline,
           block, tx, state, started_at, ends_at, pending_report, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      request.id.toString(),
      request.requester,
      request.offeringId,
      request.target,
      JSON.stringify(request.sources),
      request.duration,
      request.price.toString(),
      request.ackDeadline,
      request.block,
      request.tx,
      running === undefined ? "received" : "active",
      running?.startedAt ?? null,
      running?.endsAt ?? null,
      running?.pendingReport ?? null,
      Date.now(),
    );
    return result.changes === 1;
  }

  request(id: bigint): StoredRequest | undefined {
    const row = this.statement("SELECT * FROM requests WHERE id = ?").get(id.toString()) as RequestRow | undefined;
    return row && toRequest(row);
  }

  /**
   * The requests counted by state, rejection code, whether their mitigation started, and price:
   * one grouped read of a few rows however long the history, for the metrics (the price is a
   * decimal string, which SQL cannot sum exactly, so the caller multiplies).
   */
  requestTallies(): RequestTally[] {
    const rows = this.statement(
      `SELECT state, reason_code AS reasonCode, started_at IS NOT NULL AS started, price, COUNT(*) AS n
       FROM requests GROUP BY state, reason_code, started, price`,
    ).all() as { state: RequestState; reasonCode: number | null; started: number; price: string; n: number }[];
    return rows.map((r) => ({ ...r, started: r.started === 1, price: BigInt(r.price) }));
  }

  requests(states?: readonly RequestState[]): StoredRequest[] {
    const rows = (
      states === undefined
        ? this.statement("SELECT * FROM requests").all()
        : this.statement(`SELECT * FROM requests WHERE state IN (${states.map(() => "?").join(",")})`).all(...states)
    ) as RequestRow[];
    // Oldest first: ids of one requester grow, and blocks order requesters.
    return rows.map(toRequest).sort((a, b) => a.block - b.block || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The running mitigations whose end is at or before `now`: read through an index, so that a
   * pass does not read every running mitigation (hundreds of thousands under a heavy order load).
   */
  requestsEndedBy(now: number): StoredRequest[] {
    const rows = this.statement("SELECT * FROM requests WHERE state = 'active' AND ends_at <= ? ORDER BY ends_at").all(
      now,
    ) as RequestRow[];
    return rows.map(toRequest);
  }

  /** The running or ending mitigations with a DOTS status report to send. */
  requestsWithPendingReport(): StoredRequest[] {
    const rows = this.statement(
      "SELECT * FROM requests WHERE state IN ('active', 'ending') AND pending_report IS NOT NULL",
    ).all() as RequestRow[];
    return rows.map(toRequest);
  }

  /** Moves a request to `state`, with optional fields; the journal records why. */
  update(
    id: bigint,
    state: RequestState,
    fields: Partial<Pick<StoredRequest, "reasonCode" | "reason" | "startedAt" | "endsAt">> = {},
  ): void {
    const current = this.request(id);
    if (!current) throw new Error(`Request ${id} is not in the store.`);
    this.statement(
      `UPDATE requests SET state = ?, reason_code = ?, reason = ?, started_at = ?, ends_at = ?, updated_at = ?
         WHERE id = ?`,
    ).run(
      state,
      fields.reasonCode ?? current.reasonCode,
      fields.reason ?? current.reason,
      fields.startedAt ?? current.startedAt,
      fields.endsAt ?? current.endsAt,
      Date.now(),
      id.toString(),
    );
  }

  setPendingReport(id: bigint, status: number | null): void {
    this.statement("UPDATE requests SET pending_report = ? WHERE id = ?").run(status, id.toString());
  }

  /** Records a DOTS status as reported and clears the intent. */
  markReported(id: bigint, status: number): void {
    const current = this.request(id);
    if (!current) return;
    const reported = current.reported.includes(status) ? current.reported : [...current.reported, status];
    this.statement("UPDATE requests SET pending_report = NULL, reported = ? WHERE id = ?").run(
      JSON.stringify(reported),
      id.toString(),
    );
  }

  addRules(rules: readonly FlowRule[], requestId: bigint): void {
    const insert = this.statement(
      `INSERT OR IGNORE INTO rules (id, request_id, family, source, destination, action, wanted, state)
       VALUES (?, ?, ?, ?, ?, ?, 1, 'planned')`,
    );
    for (const r of rules) {
      insert.run(r.id, requestId.toString(), r.family, r.source, r.destination, JSON.stringify(r.action));
    }
  }

  /** Marks the rules of a request as no longer wanted (the back end sync removes them). */
  unwantRules(requestId: bigint): void {
    this.statement("UPDATE rules SET wanted = 0 WHERE request_id = ?").run(requestId.toString());
  }

  rules(filter: { wanted?: boolean; requestId?: bigint } = {}): StoredRule[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.wanted !== undefined) {
      where.push("wanted = ?");
      args.push(filter.wanted ? 1 : 0);
    }
    if (filter.requestId !== undefined) {
      where.push("request_id = ?");
      args.push(filter.requestId.toString());
    }
    const sql = `SELECT * FROM rules${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id`;
    return (this.statement(sql).all(...args) as RuleRow[]).map(toRule);
  }

  /** Sets the state of every live rule with this match (family, source, destination) and this wish. */
  setRuleStateByMatch(
    rule: Pick<FlowRule, "family" | "source" | "destination">,
    state: RuleState,
    wanted: boolean,
  ): void {
    // A removed rule nobody wants any more is final: left alone (and out of the index read).
    this.statement(
      `UPDATE rules SET state = ? WHERE family = ? AND source = ? AND destination = ? AND wanted = ?
         AND NOT (wanted = 0 AND state = 'removed') AND state <> ?`,
    ).run(state, rule.family, rule.source, rule.destination, wanted ? 1 : 0, state);
  }

  /**
   * After a sync, every rule is in the state its wish says (installed if wanted, removed if not):
   * one statement over the rules that are not, rather than a read of every rule.
   */
  settleRuleStates(): void {
    this.statement(
      `UPDATE rules SET state = CASE wanted WHEN 1 THEN 'installed' ELSE 'removed' END
         WHERE state <> CASE wanted WHEN 1 THEN 'installed' ELSE 'removed' END`,
    ).run();
  }

  /**
   * The rules not in the state their wish says (wanted but not installed, unwanted but not
   * removed): what changed since the last sync, read through an index whatever the number of
   * rules in force.
   */
  unsettledRules(): StoredRule[] {
    const rows = this.statement(
      `SELECT * FROM rules WHERE wanted = 1 AND state IN ('planned', 'installing', 'removing', 'removed')
       UNION ALL
       SELECT * FROM rules WHERE wanted = 0 AND state IN ('planned', 'installing', 'installed', 'removing')`,
    ).all() as RuleRow[];
    return rows.map(toRule);
  }

  /**
   * What the live rules with this match say, per action (discard, or a rate): the first wanted
   * rule, the first rule in force (installing, installed or removing), and whether one is installed.
   * One aggregate over the index, however many requests share the match (a victim renewing the
   * same mitigation all day).
   */
  matchSummary(rule: Pick<FlowRule, "family" | "source" | "destination">): MatchSummary[] {
    const rows = this.statement(
      `SELECT action,
              MIN(CASE WHEN wanted = 1 THEN id END) AS first_wanted,
              MIN(CASE WHEN state NOT IN ('planned', 'removed') THEN id END) AS first_in_force,
              MAX(state = 'installed') AS installed
         FROM rules WHERE family = ? AND source = ? AND destination = ?
          AND NOT (wanted = 0 AND state = 'removed')
        GROUP BY action`,
    ).all(rule.family, rule.source, rule.destination) as {
      action: string;
      first_wanted: string | null;
      first_in_force: string | null;
      installed: number;
    }[];
    return rows.map((r) => ({
      action: JSON.parse(r.action) as FlowAction,
      firstWanted: r.first_wanted,
      firstInForce: r.first_in_force,
      installed: r.installed === 1,
    }));
  }

  /** One rule by its id. */
  rule(id: string): StoredRule | undefined {
    const row = this.statement("SELECT * FROM rules WHERE id = ?").get(id) as RuleRow | undefined;
    return row && toRule(row);
  }

  /** Every match the agent ever installed or planned: only these are its to remove. */
  knownMatches(): Set<string> {
    const rows = this.statement("SELECT DISTINCT family, source, destination FROM rules").all() as {
      family: string;
      source: string;
      destination: string;
    }[];
    return new Set(rows.map((r) => `${r.family} ${r.source} ${r.destination}`));
  }

  journal(event: string, detail: string, requestId?: bigint): void {
    this.statement("INSERT INTO journal (at, request_id, event, detail) VALUES (?, ?, ?, ?)").run(
      Date.now(),
      requestId?.toString() ?? null,
      event,
      detail,
    );
  }

  /** The journal after entry `seq`, at most `limit` entries (the metrics read it as it grows). */
  journalSince(seq: number, limit = 10_000): JournalEntry[] {
    const rows = this.statement("SELECT * FROM journal WHERE seq > ? ORDER BY seq LIMIT ?").all(seq, limit) as {
      seq: number;
      at: number;
      request_id: string | null;
      event: string;
      detail: string;
    }[];
    return rows.map((r) => ({ seq: r.seq, at: r.at, requestId: r.request_id, event: r.event, detail: r.detail }));
  }

  // ---- signed orders ----

  /** Records an accepted order (the caller commits many in one transaction). */
  addOrder(order: NewOrder): void {
    this.statement(
      `INSERT INTO orders (hash, request_id, requester, offering_id, target, sources, duration, price, expiry, tuple,
           signature, gas, rules, state, accepted_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?)`,
    ).run(
      order.hash,
      order.requestId.toString(),
      order.requester,
      order.offeringId,
      order.target,
      JSON.stringify(order.sources),
      order.duration,
      order.price.toString(),
      order.expiry,
      order.tuple,
      order.signature,
      order.gas,
      JSON.stringify(order.rules),
      Date.now(),
      Date.now(),
    );
  }

  /** An order's state alone (the intake's duplicate check, per order posted); undefined if never taken. */
  orderState(hash: string): OrderState | undefined {
    const row = this.statement("SELECT state FROM orders WHERE hash = ?").get(hash) as
      { state: OrderState } | undefined;
    return row?.state;
  }

  order(hash: string): StoredOrder | undefined {
    const row = this.statement("SELECT * FROM orders WHERE hash = ?").get(hash) as OrderRow | undefined;
    return row && toOrder(row);
  }

  /** Orders in these states, oldest first; at most `limit`. */
  orders(states: readonly OrderState[], limit = -1): StoredOrder[] {
    const rows = this.statement(
      `SELECT * FROM orders WHERE state IN (${states.map(() => "?").join(",")}) ORDER BY seq LIMIT ?`,
    ).all(...states, limit) as OrderRow[];
    return rows.map(toOrder);
  }

  /** Accepted orders (not sent) whose expiry is before `time`. */
  ordersExpiringBefore(time: number): StoredOrder[] {
    const rows = this.statement("SELECT * FROM orders WHERE state = 'accepted' AND expiry < ? ORDER BY seq").all(
      time,
    ) as OrderRow[];
    return rows.map(toOrder);
  }

  /** The orders of a settlement batch still in state sending. */
  unresolvedOrders(batch: number): StoredOrder[] {
    const rows = this.statement("SELECT * FROM orders WHERE batch = ? AND state = 'sending' ORDER BY seq").all(
      batch,
    ) as OrderRow[];
    return rows.map(toOrder);
  }

  /** How many orders are in these states, of one offering or of all. */
  countOrders(states: readonly OrderState[], offeringId?: number): number {
    const where = `state IN (${states.map(() => "?").join(",")})${offeringId === undefined ? "" : " AND offering_id = ?"}`;
    const args: (string | number)[] = [...states];
    if (offeringId !== undefined) args.push(offeringId);
    return (this.statement(`SELECT COUNT(*) AS n FROM orders WHERE ${where}`).get(...args) as { n: number }).n;
  }

  /** How many orders are in this state, by their reason (null when they have none). */
  countOrdersByReason(state: OrderState): Map<string | null, number> {
    const rows = this.statement("SELECT reason, COUNT(*) AS n FROM orders WHERE state = ? GROUP BY reason").all(
      state,
    ) as { reason: string | null; n: number }[];
    return new Map(rows.map((r) => [r.reason, r.n]));
  }

  /** The requester and price of every order in these states. */
  orderClaims(states: readonly OrderState[]): { requester: string; price: bigint }[] {
    const rows = this.statement(
      `SELECT requester, price FROM orders WHERE state IN (${states.map(() => "?").join(",")})`,
    ).all(...states) as { requester: string; price: string }[];
    return rows.map((r) => ({ requester: r.requester, price: BigInt(r.price) }));
  }

  setOrderState(hash: string, state: OrderState, reason?: string): void {
    this.statement("UPDATE orders SET state = ?, reason = COALESCE(?, reason), updated_at = ? WHERE hash = ?").run(
      state,
      reason ?? null,
      Date.now(),
      hash,
    );
  }

  /** Opens a settlement batch of these orders (state sending): the intent, before the transaction is sent. */
  openBatch(head: number, orders: readonly StoredOrder[], gas: number): OrderBatch {
    const { lastInsertRowid } = this.statement(
      "INSERT INTO order_batches (head, gas, orders, tx, open, created_at) VALUES (?, ?, ?, NULL, 1, ?)",
    ).run(head, gas, orders.length, Date.now());
    const id = Number(lastInsertRowid);
    const mark = this.statement("UPDATE orders SET state = 'sending', batch = ?, updated_at = ? WHERE hash = ?");
    const now = Date.now();
    for (const o of orders) mark.run(id, now, o.hash);
    return { id, head, gas, orders: orders.length, tx: null };
  }

  setBatchTx(id: number, tx: string): void {
    this.statement("UPDATE order_batches SET tx = ? WHERE id = ?").run(tx, id);
  }

  closeBatch(id: number): void {
    this.statement("UPDATE order_batches SET open = 0 WHERE id = ?").run(id);
  }

  openBatches(): OrderBatch[] {
    return this.statement(
      "SELECT id, head, gas, orders, tx FROM order_batches WHERE open = 1 ORDER BY id",
    ).all() as OrderBatch[];
  }

  /** Records an order hash the requester cancelled on chain (OrderCancelled). */
  addCancelledOrder(hash: string): void {
    this.statement("INSERT OR IGNORE INTO cancelled_orders (hash) VALUES (?)").run(hash);
  }

  isCancelledOrder(hash: string): boolean {
    return this.statement("SELECT 1 FROM cancelled_orders WHERE hash = ?").get(hash) !== undefined;
  }

  /** How many requests of an offering are in these states. */
  countRequests(states: readonly RequestState[], offeringId: number): number {
    const row = this.statement(
      `SELECT COUNT(*) AS n FROM requests WHERE offering_id = ? AND state IN (${states.map(() => "?").join(",")})`,
    ).get(offeringId, ...states) as { n: number };
    return row.n;
  }

  journalEntries(requestId?: bigint): JournalEntry[] {
    const rows = (
      requestId === undefined
        ? this.statement("SELECT * FROM journal ORDER BY seq").all()
        : this.statement("SELECT * FROM journal WHERE request_id = ? ORDER BY seq").all(requestId.toString())
    ) as { seq: number; at: number; request_id: string | null; event: string; detail: string }[];
    return rows.map((r) => ({ seq: r.seq, at: r.at, requestId: r.request_id, event: r.event, detail: r.detail }));
  }
}

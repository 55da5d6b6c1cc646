/**
 * The victim daemon's memory, in SQLite (WAL, synchronous=FULL): the targets under attack and the
 * sources reported for each, every purchase made for them (what was bought, from whom, until
 * when, and its state), and the intents of purchases in flight. Spending is counted from the
 * purchases, so the budgets hold across restarts.
 *
 * Before a purchase is sent its intent is committed (target, sources, the block it starts from);
 * after a crash, the requests the intent may have made are found on chain from that block.
 */
import type { MitigationKindName } from "../clients/market";
import { SqliteStore } from "../sqlite";

/**
 * A purchase's life: pending (escrowed and unanswered; for a signed order, sent and not settled)
 * → acknowledged (running until `endsAt`; an order settled) → ended, or → withdrawing (withdrawal
 * sent or about to be) → withdrawn; or pending → rejected or reclaimed (refunded), or, for an
 * order, lapsed (not settled, and now never settled: nothing was paid).
 */
export type PurchaseRecordState =
  "pending" | "acknowledged" | "withdrawing" | "withdrawn" | "ended" | "rejected" | "reclaimed" | "lapsed";

/** States that spend nothing: escrow refunded, or an order never settled. */
export const REFUNDED_STATES: readonly PurchaseRecordState[] = ["rejected", "reclaimed", "lapsed"];

export interface PurchaseRecord {
  service: string;
  requestId: bigint;
  target: string;
  sources: string[];
  offeringId: number;
  kind: MitigationKindName;
  price: bigint;
  ackDeadline: number;
  state: PurchaseRecordState;
  /** Chain time the mitigation ends, once acknowledged (or when it was withdrawn). */
  endsAt: number | null;
  /** Wall-clock ms when it was bought (the budgets' windows). */
  boughtAt: number;
}

export type TargetState = "attacked" | "ended";

export interface TargetRecord {
  target: string;
  state: TargetState;
  /** Wall-clock ms the current attack (episode) began. */
  since: number;
  endedAt: number | null;
  /** Every source reported for this episode. */
  sources: string[];
  /** Sources not to buy again this episode, with why (unserved, refused, dry run). */
  skipped: Record<string, string>;
}

export interface Intent {
  id: number;
  target: string;
  sources: string[];
  fromBlock: number;
}

interface PurchaseRow {
  service: string;
  request_id: string;
  target: string;
  sources: string;
  offering_id: number;
  kind: MitigationKindName;
  price: string;
  ack_deadline: number;
  state: PurchaseRecordState;
  ends_at: number | null;
  bought_at: number;
}

interface TargetRow {
  target: string;
  state: TargetState;
  since: number;
  ended_at: number | null;
  sources: string;
  skipped: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS targets (
  target TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  since INTEGER NOT NULL,
  ended_at INTEGER,
  sources TEXT NOT NULL,
  skipped TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS purchases (
  service TEXT NOT NULL,
  request_id TEXT NOT NULL,
  target TEXT NOT NULL,
  sources TEXT NOT NULL,
  offering_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  price TEXT NOT NULL,
  ack_deadline INTEGER NOT NULL,
  state TEXT NOT NULL,
  ends_at INTEGER,
  bought_at INTEGER NOT NULL,
  PRIMARY KEY (service, request_id)
);
CREATE INDEX IF NOT EXISTS purchases_target ON purchases (target);
CREATE INDEX IF NOT EXISTS purchases_bought ON purchases (bought_at);
CREATE TABLE IF NOT EXISTS intents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  target TEXT NOT NULL,
  sources TEXT NOT NULL,
  from_block INTEGER NOT NULL,
  open INTEGER NOT NULL
);
`;

function toPurchase(row: PurchaseRow): PurchaseRecord {
  return {
    service: row.service,
    requestId: BigInt(row.request_id),
    target: row.target,
    sources: JSON.parse(row.sources) as string[],
    offeringId: row.offering_id,
    kind: row.kind,
    price: BigInt(row.price),
    ackDeadline: row.ack_deadline,
    state: row.state,
    endsAt: row.ends_at,
    boughtAt: row.bought_at,
  };
}

function toTarget(row: TargetRow): TargetRecord {
  return {
    target: row.target,
    state: row.state,
    since: row.since,
    endedAt: row.ended_at,
    sources: JSON.parse(row.sources) as string[],
    skipped: JSON.parse(row.skipped) as Record<string, string>,
  };
}

export class VictimStore extends SqliteStore {
  /** Opens (or creates) the database at `file`; ":memory:" for tests. */
  constructor(file: string) {
    super(file, SCHEMA);
  }

  // ---- targets ----

  target(target: string): TargetRecord | undefined {
    const row = this.statement("SELECT * FROM targets WHERE target = ?").get(target) as TargetRow | undefined;
    return row && toTarget(row);
  }

  targets(state?: TargetState): TargetRecord[] {
    const rows = (
      state === undefined
        ? this.statement("SELECT * FROM targets ORDER BY since").all()
        : this.statement("SELECT * FROM targets WHERE state = ? ORDER BY since").all(state)
    ) as TargetRow[];
    return rows.map(toTarget);
  }

  /**
   * Records an attack on `target` with these sources: a new episode if it was not under attack
   * (sources and skips start afresh), else the sources are added. Returns the record.
   */
  attacked(target: string, sources: readonly string[], now = Date.now()): TargetRecord {
    return this.atomically(() => {
      const current = this.target(target);
      const fresh = current === undefined || current.state === "ended";
      const all = fresh ? [...new Set(sources)] : [...new Set([...current.sources, ...sources])];
      this.statement(
        `INSERT INTO targets (target, state, since, ended_at, sources, skipped) VALUES (?, 'attacked', ?, NULL, ?, ?)
           ON CONFLICT (target) DO UPDATE SET state = 'attacked', since = excluded.since, ended_at = NULL,
             sources = excluded.sources, skipped = excluded.skipped`,
      ).run(target, fresh ? now : current.since, JSON.stringify(all), fresh ? "{}" : JSON.stringify(current.skipped));
      return this.target(target)!;
    });
  }

  /** Records the end of the attack on `target`; false if it was not under attack. */
  ended(target: string, now = Date.now()): boolean {
    const result = this.statement(
      "UPDATE targets SET state = 'ended', ended_at = ? WHERE target = ? AND state = 'attacked'",
    ).run(now, target);
    return result.changes === 1;
  }

  /** Sources not to buy again for this episode, with why. */
  skip(target: string, skipped: Record<string, string>): void {
    this.atomically(() => {
      const current = this.target(target);
      if (!current) return;
      this.statement("UPDATE targets SET skipped = ? WHERE target = ?").run(
        JSON.stringify({ ...current.skipped, ...skipped }),
        target,
      );
    });
  }

  /** Forgets the skips of `target`: a new notification gives every source another chance. */
  clearSkips(target: string): void {
    this.statement("UPDATE targets SET skipped = '{}' WHERE target = ?").run(target);
  }

  // ---- purchases ----

  addPurchase(purchase: Omit<PurchaseRecord, "endsAt"> & { endsAt?: number | null }): boolean {
    const result = this.statement(
      `INSERT OR IGNORE INTO purchases (service, request_id, target, sources, offering_id, kind, price, ack_deadline,
           state, ends_at, bought_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      purchase.service,
      purchase.requestId.toString(),
      purchase.target,
      JSON.stringify(purchase.sources),
      purchase.offeringId,
      purchase.kind,
      purchase.price.toString(),
      purchase.ackDeadline,
      purchase.state,
      purchase.endsAt ?? null,
      purchase.boughtAt,
    );
    return result.changes === 1;
  }

  purchase(service: string, requestId: bigint): PurchaseRecord | undefined {
    const row = this.statement("SELECT * FROM purchases WHERE service = ? AND request_id = ?").get(
      service,
      requestId.toString(),
    ) as PurchaseRow | undefined;
    return row && toPurchase(row);
  }

  /**
   * The purchases counted by state and price: one grouped read of a few rows however long the
   * history, for the metrics (the caller multiplies the decimal prices, which SQL cannot sum exactly).
   */
  purchaseTallies(): { state: PurchaseRecordState; price: bigint; n: number }[] {
    const rows = this.statement("SELECT state, price, COUNT(*) AS n FROM purchases GROUP BY state, price").all() as {
      state: PurchaseRecordState;
      price: string;
      n: number;
    }[];
    return rows.map((r) => ({ ...r, price: BigInt(r.price) }));
  }

  purchases(filter: { target?: string; states?: readonly PurchaseRecordState[] } = {}): PurchaseRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.target !== undefined) {
      where.push("target = ?");
      args.push(filter.target);
    }
    if (filter.states !== undefined) {
      where.push(`state IN (${filter.states.map(() => "?").join(",")})`);
      args.push(...filter.states);
    }
    const sql = `SELECT * FROM purchases${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY bought_at`;
    return (this.statement(sql).all(...args) as PurchaseRow[]).map(toPurchase);
  }

  setPurchaseState(service: string, requestId: bigint, state: PurchaseRecordState, endsAt?: number): void {
    this.statement(
      "UPDATE purchases SET state = ?, ends_at = COALESCE(?, ends_at) WHERE service = ? AND request_id = ?",
    ).run(state, endsAt ?? null, service, requestId.toString());
  }

  /** What purchases bought since `since` (wall-clock ms) cost, refunds excluded. */
  spentSince(since: number): bigint {
    const rows = this.statement(
      `SELECT price FROM purchases WHERE bought_at >= ? AND state NOT IN (${REFUNDED_STATES.map(() => "?").join(",")})`,
    ).all(since, ...REFUNDED_STATES) as { price: string }[];
    return rows.reduce((sum, r) => sum + BigInt(r.price), 0n);
  }

  // ---- intents ----

  addIntent(target: string, sources: readonly string[], fromBlock: number): number {
    const result = this.statement("INSERT INTO intents (target, sources, from_block, open) VALUES (?, ?, ?, 1)").run(
      target,
      JSON.stringify(sources),
      fromBlock,
    );
    return Number(result.lastInsertRowid);
  }

  closeIntent(id: number): void {
    this.statement("UPDATE intents SET open = 0 WHERE id = ?").run(id);
  }

  openIntents(): Intent[] {
    const rows = this.statement("SELECT * FROM intents WHERE open = 1 ORDER BY id").all() as {
      id: number;
      target: string;
      sources: string;
      from_block: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      target: r.target,
      sources: JSON.parse(r.sources) as string[],
      fromBlock: r.from_block,
    }));
  }
}

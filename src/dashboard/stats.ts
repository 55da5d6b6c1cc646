/**
 * Figures the dashboard derives from the model: each provider's acknowledgement rate, response
 * time and rating, requests per minute, and each account's balance, spending and earnings over
 * time. Browser-safe.
 */
import { ZeroAddress } from "ethers";

import type { MarketModel, MitigationRow } from "./model";

/**
 * A provider's figures. They count direct requests only: a signed order is settled acknowledged
 * by the provider itself, so it has no response time and says nothing of acknowledging; it is
 * counted apart, in `orders` (its rating counts in the average rating).
 */
export interface ProviderStats {
  requests: number;
  /** Signed orders settled. */
  orders: number;
  acknowledged: number;
  rejected: number;
  /** Reclaimed, or pending past the acknowledgement deadline. */
  unanswered: number;
  pending: number;
  /** Acknowledged among the decided (acknowledged, rejected, unanswered); null before any. */
  ackRate: number | null;
  /** Median seconds and blocks from the request to the provider's answer; null before any. */
  medianResponseSeconds: number | null;
  medianResponseBlocks: number | null;
  averageRating: number | null;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** True once the provider acknowledged (a withdrawn mitigation was acknowledged first). */
export function wasAcknowledged(row: MitigationRow): boolean {
  return row.status === "acknowledged" || row.status === "withdrawn";
}

export function providerStats(model: MarketModel, service: string): ProviderStats {
  const all = [...model.rows.values()].filter((r) => r.service === service);
  const rows = all.filter((r) => r.kind === "request");
  const acknowledged = rows.filter(wasAcknowledged).length;
  const rejected = rows.filter((r) => r.status === "rejected").length;
  const late = (r: MitigationRow) => r.status === "pending" && r.ackDeadline < model.head.time;
  const unanswered = rows.filter((r) => r.status === "reclaimed" || late(r)).length;
  const pending = rows.filter((r) => r.status === "pending" && !late(r)).length;
  const decided = acknowledged + rejected + unanswered;
  const answered = rows.filter((r) => r.answeredAt !== undefined && r.answeredBlock !== undefined);
  const ratings = model.services.get(service)?.ratings ?? [];
  return {
    requests: rows.length,
    orders: all.length - rows.length,
    acknowledged,
    rejected,
    unanswered,
    pending,
    ackRate: decided === 0 ? null : acknowledged / decided,
    medianResponseSeconds: median(answered.map((r) => r.answeredAt! - r.time)),
    medianResponseBlocks: median(answered.map((r) => r.answeredBlock! - r.blockNumber)),
    averageRating: ratings.length === 0 ? null : ratings.reduce((s, r) => s + r, 0) / ratings.length,
  };
}

export interface MinuteCount {
  /** Unix seconds at the start of the minute. */
  minute: number;
  count: number;
}

/** Requests per minute of chain time, over the last `minutes` minutes up to the head. */
export function requestsPerMinute(model: MarketModel, minutes = 30): MinuteCount[] {
  const last = Math.floor(model.head.time / 60) * 60;
  const first = last - (minutes - 1) * 60;
  const counts = new Map<number, number>();
  for (const row of model.rows.values()) {
    const minute = Math.floor(row.time / 60) * 60;
    if (minute >= first) counts.set(minute, (counts.get(minute) ?? 0) + 1);
  }
  return Array.from({ length: minutes }, (_, i) => first + i * 60).map((minute) => ({
    minute,
    count: counts.get(minute) ?? 0,
  }));
}

export interface Point {
  time: number;
  value: bigint;
}

export interface AccountFigures {
  account: string;
  /** From every transfer since the token was deployed. */
  balance: bigint;
  /** Paid for acknowledged mitigations. */
  spent: bigint;
  /** Received for acknowledged mitigations (as a provider). */
  earned: bigint;
  /** Held in escrow for its pending requests. */
  escrowed: bigint;
}

/** How an account's balance, spending and earnings grew, step by step. */
export interface AccountHistory {
  balance: Point[];
  spent: Point[];
  earned: Point[];
}

function cumulative(steps: { time: number; delta: bigint }[]): Point[] {
  let total = 0n;
  return [...steps]
    .sort((a, b) => a.time - b.time)
    .map((s) => {
      total += s.delta;
      return { time: s.time, value: total };
    });
}

/** The paid mitigations: the requester spent, the service's provider earned, at acknowledgement. */
function payments(model: MarketModel): { requester: string; provider: string; time: number; price: bigint }[] {
  return [...model.rows.values()].filter(wasAcknowledged).map((r) => ({
    requester: r.requester,
    provider: model.services.get(r.service)?.provider ?? ZeroAddress,
    time: r.answeredAt ?? r.time,
    price: r.price,
  }));
}

export function accountHistory(model: MarketModel, account: string): AccountHistory {
  const balance = model.transfers.flatMap((t) => [
    ...(t.to === account ? [{ time: t.time, delta: t.value }] : []),
    ...(t.from === account ? [{ time: t.time, delta: -t.value }] : []),
  ]);
  const paid = payments(model);
  return {
    balance: cumulative(balance),
    spent: cumulative(paid.filter((p) => p.requester === account).map((p) => ({ time: p.time, delta: p.price }))),
    earned: cumulative(paid.filter((p) => p.provider === account).map((p) => ({ time: p.time, delta: p.price }))),
  };
}

/** Every account that holds or moved tokens, with its figures, largest balance first. */
export function accountFigures(model: MarketModel): AccountFigures[] {
  const figures = new Map<string, AccountFigures>();
  const of = (account: string) => {
    let f = figures.get(account);
    if (!f) {
      f = { account, balance: 0n, spent: 0n, earned: 0n, escrowed: 0n };
      figures.set(account, f);
    }
    return f;
  };
  for (const t of model.transfers) {
    if (t.from !== ZeroAddress) of(t.from).balance -= t.value;
    if (t.to !== ZeroAddress) of(t.to).balance += t.value;
  }
  for (const p of payments(model)) {
    of(p.requester).spent += p.price;
    of(p.provider).earned += p.price;
  }
  for (const r of model.rows.values()) if (r.status === "pending") of(r.requester).escrowed += r.price;
  return [...figures.values()].sort((a, b) => (a.balance === b.balance ? 0 : a.balance > b.balance ? -1 : 1));
}

/** What the back ends share: a rule's match key, its text forms, and a replayable rule set. */
import type { FlowAction, FlowRule } from "./types";

/**
 * The FlowSpec NLRI of a rule: what a BGP speaker keys the route by. Two rules with the same
 * match are one route, so back ends keep one route per match key.
 */
export function matchKey(rule: Pick<FlowRule, "family" | "source" | "destination">): string {
  return `${rule.family} ${rule.source} ${rule.destination}`;
}

export function sameAction(a: FlowAction, b: FlowAction): boolean {
  return a.kind === b.kind && (a.kind === "discard" || a.bytesPerSecond === (b as typeof a).bytesPerSecond);
}

/** "discard" or "rate-limit 125000" (bytes per second, as FlowSpec's traffic-rate). */
export function actionText(action: FlowAction): string {
  return action.kind === "discard" ? "discard" : `rate-limit ${action.bytesPerSecond}`;
}

/** One line per rule, for logs: "ipv4 198.51.100.23/32 → 203.0.113.10/32 discard [id]". */
export function describeRule(rule: FlowRule): string {
  return `${rule.family} ${rule.source} → ${rule.destination} ${actionText(rule.action)} [${rule.id}]`;
}

/** Validates a rate for a rate-limit action. */
export function checkRate(bytesPerSecond: number): number {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0 || !Number.isInteger(bytesPerSecond)) {
    throw new Error(`A rate limit of ${bytesPerSecond} bytes/s is not valid: give a whole number above zero.`);
  }
  return bytesPerSecond;
}

/** A copy with only the fields of a FlowRule (callers may pass richer records). */
export function plainRule(rule: FlowRule): FlowRule {
  const action: FlowAction =
    rule.action.kind === "discard"
      ? { kind: "discard" }
      : { kind: "rate-limit", bytesPerSecond: rule.action.bytesPerSecond };
  return { id: rule.id, family: rule.family, source: rule.source, destination: rule.destination, action };
}

/**
 * The rules in force, keyed by match. Installing a match that is in force with the same action
 * changes nothing (idempotent); with another action it replaces it, as a BGP speaker does.
 */
export class RuleSet {
  private readonly rules = new Map<string, FlowRule>();

  /** True when the call changed the set. */
  install(rule: FlowRule): boolean {
    const existing = this.rules.get(matchKey(rule));
    if (existing && sameAction(existing.action, rule.action)) return false;
    this.rules.set(matchKey(rule), plainRule(rule));
    return true;
  }

  /** True when the call changed the set. */
  remove(rule: Pick<FlowRule, "family" | "source" | "destination">): boolean {
    return this.rules.delete(matchKey(rule));
  }

  has(rule: FlowRule): boolean {
    const existing = this.rules.get(matchKey(rule));
    return existing !== undefined && sameAction(existing.action, rule.action);
  }

  list(): FlowRule[] {
    return [...this.rules.values()];
  }
}

/**
 * The victim daemon's spending policy: a machine spends money unattended, so every order it plans
 * passes this review before any transaction. It is read from a JSON file validated with a schema
 * (one sentence per mistake) and bounds what is bought: a budget per hour and per day, a maximum
 * price per purchase and the kinds of mitigation allowed; in dry-run mode nothing is bought.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";

import { MITIGATION_KINDS, type MitigationKindName } from "../clients/market";
import { OperatorError } from "../errors";
import { formatTokens, parseTokens } from "../format";
import { formatPrefix } from "../prefix";
import type { PlannedOrder } from "./plan";

export interface SpendingPolicy {
  /** The most spent in any hour (escrowed or paid; refunds give it back), base units. */
  budgetPerHour: bigint;
  /** The most spent in any 24 hours, base units. */
  budgetPerDay: bigint;
  /** The most one purchase (one order from one provider) may cost, base units. */
  maxPricePerPurchase: bigint;
  /** The kinds of mitigation that may be bought. */
  kinds: MitigationKindName[];
  /** Seconds of mitigation bought at a time. */
  duration: number;
  /** A mitigation that ends within this many seconds while the attack goes on is bought again. */
  renewBefore: number;
  /** Seconds the providers get to acknowledge. */
  ackWindow: number;
  /** Log what would be bought, buy nothing. */
  dryRun: boolean;
}

/** A zod message: "is missing", or what was expected and what was given. */
const expected =
  (what: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? "is missing" : `must be ${what}, not ${JSON.stringify(issue.input)}`;

const tokens = (what: string) =>
  z
    .union([z.string(), z.number()], { error: expected(`${what} in tokens, such as "50" or "12.5"`) })
    .transform((value, context) => {
      try {
        return parseTokens(String(value));
      } catch {
        context.addIssue({
          code: "custom",
          message: `must be ${what} in tokens, such as "50" or "12.5", not ${JSON.stringify(value)}`,
        });
        return z.NEVER;
      }
    });

const seconds = (what: string, min: number, max: number) =>
  z
    .number({ error: expected(`${what} in whole seconds`) })
    .int({ error: expected(`${what} in whole seconds`) })
    .min(min, { error: (issue) => `must be at least ${min} s, not ${JSON.stringify(issue.input)}` })
    .max(max, { error: (issue) => `must be at most ${max} s, not ${JSON.stringify(issue.input)}` });

const SETTINGS = [
  "budgetPerHour",
  "budgetPerDay",
  "maxPricePerPurchase",
  "kinds",
  "duration",
  "renewBefore",
  "ackWindow",
  "dryRun",
] as const;

const SCHEMA = z
  .strictObject(
    {
      budgetPerHour: tokens("an amount"),
      budgetPerDay: tokens("an amount"),
      maxPricePerPurchase: tokens("a price"),
      kinds: z
        .array(z.enum(MITIGATION_KINDS, { error: expected(`one of ${MITIGATION_KINDS.join(", ")}`) }), {
          error: expected(`a list of kinds such as ["flow-filtering"]`),
        })
        .min(1, { error: "must allow at least one kind of mitigation" }),
      duration: seconds("a duration", 60, 30 * 86_400).default(900),
      renewBefore: seconds("a margin", 5, 86_400).default(60),
      ackWindow: seconds("a window", 10, 86_400).default(120),
      dryRun: z.boolean({ error: expected("true or false") }).default(false),
    },
    { error: (issue) => (issue.code === "invalid_type" ? "must be a JSON object" : undefined) },
  )
  .superRefine((policy, context) => {
    if (policy.budgetPerDay < policy.budgetPerHour) {
      context.addIssue({
        code: "custom",
        path: ["budgetPerDay"],
        message: `must be at least budgetPerHour (${formatTokens(policy.budgetPerHour)}), not ${formatTokens(policy.budgetPerDay)}`,
      });
    }
    if (policy.renewBefore >= policy.duration) {
      context.addIssue({
        code: "custom",
        path: ["renewBefore"],
        message: `must be shorter than the duration (${policy.duration} s), not ${policy.renewBefore} s`,
      });
    }
  });

/** Validates a policy; every mistake is one sentence naming the setting, all of them in one error. */
export function parseSpendingPolicy(value: unknown, origin = "The spending policy"): SpendingPolicy {
  const result = SCHEMA.safeParse(value);
  if (result.success) return { ...result.data, kinds: [...new Set(result.data.kinds)] };
  const sentences = result.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => `"${k}"`).join(", ");
      return `${origin}: ${keys} ${issue.keys.length === 1 ? "is not a setting" : "are not settings"} (the settings are ${SETTINGS.join(", ")}).`;
    }
    const path = issue.path.map((key, i) =>
      typeof key === "number" ? `[${key}]` : `${i > 0 ? "." : ""}${String(key)}`,
    );
    const where = path.length === 0 ? "" : ` "${path.join("")}"`;
    return `${origin}:${where} ${issue.message}.`;
  });
  throw new OperatorError(sentences.join(" "));
}

/** Reads and validates a policy file. */
export function readSpendingPolicy(path: string): SpendingPolicy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new OperatorError(`Cannot read the spending policy file ${path}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new OperatorError(`The spending policy file ${path} is not valid JSON.`);
  }
  return parseSpendingPolicy(json, path);
}

/** What was spent (escrowed or paid, net of refunds) in the last hour and the last day. */
export interface Spent {
  lastHour: bigint;
  lastDay: bigint;
}

export interface Refusal {
  order: PlannedOrder;
  reason: string;
}

/** "0xService (198.51.100.23/32, 198.51.100.64/26) for 203.0.113.10/32": an order, for a log line. */
export function describeOrder(order: PlannedOrder, describeService: (s: string) => string = (s) => s): string {
  const target = typeof order.target === "string" ? order.target : formatPrefix(order.target);
  return (
    `${formatTokens(order.price)} of ${order.kind} from ${describeService(order.service)} ` +
    `(${order.sources.map((s) => formatPrefix(s)).join(", ")} → ${target})`
  );
}

/**
 * Splits `orders` into those the policy allows and those it refuses, with one sentence each. The
 * orders are reviewed in turn, each counted against the budgets once approved; `spent` is what
 * was spent already (including approvals not yet on chain).
 */
export function reviewOrders(
  policy: SpendingPolicy,
  orders: readonly PlannedOrder[],
  spent: Spent,
): { approved: PlannedOrder[]; refused: Refusal[] } {
  const approved: PlannedOrder[] = [];
  const refused: Refusal[] = [];
  let hour = spent.lastHour;
  let day = spent.lastDay;
  for (const order of orders) {
    const price = order.price;
    let reason: string | undefined;
    if (!policy.kinds.includes(order.kind)) {
      reason = `${order.kind} is not among the policy's kinds (${policy.kinds.join(", ")})`;
    } else if (price > policy.maxPricePerPurchase) {
      reason = `${formatTokens(price)} is above the policy's maximum of ${formatTokens(policy.maxPricePerPurchase)} per purchase`;
    } else if (hour + price > policy.budgetPerHour) {
      reason =
        `it would bring the last hour's spending to ${formatTokens(hour + price)}, ` +
        `above the policy's budget of ${formatTokens(policy.budgetPerHour)} per hour`;
    } else if (day + price > policy.budgetPerDay) {
      reason =
        `it would bring the last day's spending to ${formatTokens(day + price)}, ` +
        `above the policy's budget of ${formatTokens(policy.budgetPerDay)} per day`;
    }
    if (reason !== undefined) {
      refused.push({ order, reason });
      continue;
    }
    approved.push(order);
    hour += price;
    day += price;
  }
  return { approved, refused };
}

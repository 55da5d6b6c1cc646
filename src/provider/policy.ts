/**
 * The provider's decision on one request, as a pure function of what the agent found on chain:
 * accept (with the FlowSpec rules to install) or reject (with a reason code from REJECT_REASON).
 */
import { REJECT_REASON, type OfferingInfo } from "../clients/market";
import type { FlowAction, FlowRule } from "../backends/types";
import { checkRate } from "../backends/rules";
import { familyOf, formatPrefix, isIPv4, parsePrefix } from "../prefix";
import type { Verdict } from "./verify";

export interface PolicyOptions {
  /** Rate for rate-limiting offerings, bytes per second. */
  rateLimitBytesPerSecond: number;
  /** Requests whose acknowledgement deadline is closer than this (seconds, chain time) are rejected. */
  minAckMarginSeconds: number;
  /** Per-offering capacity that overrides the offering's on-chain capacity (e.g. 0 when full). */
  capacity?: Readonly<Record<number, number>>;
  /** Requesters this provider does not serve. */
  denyRequesters?: readonly string[];
}

export const DEFAULT_POLICY: PolicyOptions = { rateLimitBytesPerSecond: 125_000_000, minAckMarginSeconds: 2 };

/** Where one source of a request sits, as the registry says. */
export interface SourceOrigin {
  source: string;
  /** Origin AS of the most specific registered prefix covering the source; null if none. */
  originAsn: number | null;
  /** Whether this service covers that AS. */
  covered: boolean;
}

export interface DecisionInput {
  service: string;
  requestId: bigint;
  requester: string;
  offeringId: number;
  target: string;
  /** The offering as it stands now, undefined if it does not exist. */
  offering: OfferingInfo | undefined;
  verdict: Verdict;
  sources: readonly SourceOrigin[];
  /** Mitigations of this offering running or about to run (not counting this one). */
  inUse: number;
  ackDeadline: number;
  now: number;
}

export type Decision =
  { accept: true; rules: FlowRule[]; note: string } | { accept: false; code: number; reason: string };

/** The action an offering kind maps to; undefined for scrubbing, which diverts rather than filters. */
export function actionFor(kind: OfferingInfo["kind"], options: PolicyOptions): FlowAction | undefined {
  switch (kind) {
    case "flow-filtering":
    case "blackholing":
      return { kind: "discard" };
    case "rate-limiting":
      return { kind: "rate-limit", bytesPerSecond: checkRate(options.rateLimitBytesPerSecond) };
    case "scrubbing":
      return undefined;
  }
}

export function decide(input: DecisionInput, options: PolicyOptions): Decision {
  const reject = (code: number, reason: string): Decision => ({ accept: false, code, reason });
  if (input.ackDeadline - input.now < options.minAckMarginSeconds) {
    return reject(
      REJECT_REASON.policy,
      `its acknowledgement deadline is too close (${input.ackDeadline - input.now} s)`,
    );
  }
  if (!input.verdict.ok) return reject(REJECT_REASON.notVerified, input.verdict.reason);
  const offering = input.offering;
  if (offering === undefined) return reject(REJECT_REASON.policy, `offering ${input.offeringId} does not exist`);
  if (!offering.active) return reject(REJECT_REASON.policy, `offering ${input.offeringId} is no longer active`);
  const denied = (options.denyRequesters ?? []).map((a) => a.toLowerCase());
  if (denied.includes(input.requester.toLowerCase()))
    return reject(REJECT_REASON.policy, `${input.requester} is not served`);

  const inNetwork = input.sources.filter((s) => s.covered);
  if (inNetwork.length === 0) {
    const where = input.sources.map(
      (s) => `${s.source} (${s.originAsn === null ? "unregistered" : `AS${s.originAsn}`})`,
    );
    return reject(REJECT_REASON.sourcesNotInNetwork, `no source is in an AS this service covers: ${where.join(", ")}`);
  }
  const target = parsePrefix(input.target);
  // A FlowSpec rule matches one address family: an IPv6 source never sends to an IPv4 target.
  const sameFamily = inNetwork.filter(
    (s) => familyOf(parsePrefix(s.source, { allowAddress: true })) === familyOf(target),
  );
  if (sameFamily.length === 0) {
    return reject(REJECT_REASON.policy, `no source in this network is of the target's address family`);
  }
  const capacity = options.capacity?.[input.offeringId] ?? offering.capacity;
  if (input.inUse >= capacity) {
    return reject(
      REJECT_REASON.capacity,
      `offering ${input.offeringId} is at capacity (${input.inUse} of ${capacity})`,
    );
  }

  const action = actionFor(offering.kind, options);
  const family = isIPv4(target) ? "ipv4" : "ipv6";
  const destination = formatPrefix(target);
  const rules: FlowRule[] = [];
  if (action !== undefined) {
    input.sources.forEach((s, index) => {
      if (!sameFamily.includes(s)) return;
      const source = formatPrefix(parsePrefix(s.source, { allowAddress: true }));
      rules.push({ id: `${input.service}/${input.requestId}/${index}`, family, source, destination, action });
    });
  }
  const skipped = input.sources.length - sameFamily.length;
  const note =
    (action === undefined ? `traffic to ${destination} diverted to scrubbing` : `${rules.length} rule(s)`) +
    (skipped > 0 ? `; ${skipped} source(s) outside this network or family skipped` : "");
  return { accept: true, rules, note };
}

/**
 * What a mitigation back end does: install and remove BGP FlowSpec-style rules (RFC 8955 for
 * IPv4, RFC 8956 for IPv6) that match traffic from an attack source to the victim's target.
 */

/** What happens to matching traffic. */
export type FlowAction = { kind: "discard" } | { kind: "rate-limit"; bytesPerSecond: number };

/** One FlowSpec rule. Source and destination are CIDR text of the same family. */
export interface FlowRule {
  /** Stable key, unique per rule: `<service>/<requestId>/<source index>`. */
  readonly id: string;
  readonly family: "ipv4" | "ipv6";
  /** Attack source prefix (in the provider's own network). */
  readonly source: string;
  /** The victim's target prefix. */
  readonly destination: string;
  readonly action: FlowAction;
}

/**
 * A back end that enforces rules. Both operations are idempotent: installing a rule that is
 * installed, or removing one that is not, changes nothing, so a crashed agent can replay them.
 */
export interface MitigationBackend {
  readonly name: string;
  install(rule: FlowRule): Promise<void>;
  remove(rule: FlowRule): Promise<void>;
  /** The rules in force now, as the back end itself reports them. */
  list(): Promise<FlowRule[]>;
  close(): Promise<void>;
}

/**
 * The CBOR key values of the DOTS signal channel (the IANA "DOTS Signal Channel CBOR Key Values"
 * registry): RFC 9132 (signal channel), RFC 9133 (signal control), RFC 9244 (telemetry) and
 * RFC 8973 (call home). Parameter names are those of the JSON mapping; the module-qualified names
 * are the top-level containers and the telemetry attributes that augment a mitigation scope.
 */

/** name → key. A key names one parameter wherever it appears, so one table serves all nestings. */
export const DOTS_KEYS: Readonly<Record<string, number>> = {
  // RFC 9132
  "ietf-dots-signal-channel:mitigation-scope": 1,
  scope: 2,
  cdid: 3,
  cuid: 4,
  mid: 5,
  "target-prefix": 6,
  "target-port-range": 7,
  "lower-port": 8,
  "upper-port": 9,
  "target-protocol": 10,
  "target-fqdn": 11,
  "target-uri": 12,
  "alias-name": 13,
  lifetime: 14,
  "mitigation-start": 15,
  status: 16,
  "conflict-information": 17,
  "conflict-status": 18,
  "conflict-cause": 19,
  "retry-timer": 20,
  "conflict-scope": 21,
  "acl-list": 22,
  "acl-name": 23,
  "acl-type": 24,
  "bytes-dropped": 25,
  "bps-dropped": 26,
  "pkts-dropped": 27,
  "pps-dropped": 28,
  "attack-status": 29,
  "ietf-dots-signal-channel:signal-config": 30,
  sid: 31,
  "mitigating-config": 32,
  "heartbeat-interval": 33,
  "min-value": 34,
  "max-value": 35,
  "current-value": 36,
  "missing-hb-allowed": 37,
  "max-retransmit": 38,
  "ack-timeout": 39,
  "ack-random-factor": 40,
  "min-value-decimal": 41,
  "max-value-decimal": 42,
  "current-value-decimal": 43,
  "idle-config": 44,
  "trigger-mitigation": 45,
  "ietf-dots-signal-channel:redirected-signal": 46,
  "alt-server": 47,
  "alt-server-record": 48,
  "ietf-dots-signal-channel:heartbeat": 49,
  "probing-rate": 50,
  "peer-hb-status": 51,
  // RFC 9133 (signal control of filtering)
  "activation-type": 52,
  "ietf-dots-signal-control:acl-list": 53,
  // RFC 9244 (telemetry)
  tsid: 128,
  telemetry: 129,
  "low-percentile": 130,
  "mid-percentile": 131,
  "high-percentile": 132,
  "unit-config": 133,
  unit: 134,
  "unit-status": 135,
  "total-pipe-capacity": 136,
  "link-id": 137,
  "pre-or-ongoing-mitigation": 138,
  "total-traffic-normal": 139,
  "low-percentile-g": 140,
  "mid-percentile-g": 141,
  "high-percentile-g": 142,
  "peak-g": 143,
  "total-attack-traffic": 144,
  "total-traffic": 145,
  "total-connection-capacity": 146,
  connection: 147,
  "connection-client": 148,
  embryonic: 149,
  "embryonic-client": 150,
  "connection-ps": 151,
  "connection-client-ps": 152,
  "request-ps": 153,
  "request-client-ps": 154,
  "partial-request-max": 155,
  "partial-request-client-max": 156,
  "total-attack-connection": 157,
  "connection-c": 158,
  "embryonic-c": 159,
  "connection-ps-c": 160,
  "request-ps-c": 161,
  "attack-detail": 162,
  id: 163,
  "attack-id": 164,
  "attack-description": 165,
  "attack-severity": 166,
  "start-time": 167,
  "end-time": 168,
  "source-count": 169,
  "top-talker": 170,
  "spoofed-status": 171,
  "partial-request-c": 172,
  "total-attack-connection-protocol": 173,
  baseline: 174,
  "current-config": 175,
  "max-config-values": 176,
  "min-config-values": 177,
  "supported-unit-classes": 178,
  "server-originated-telemetry": 179,
  "telemetry-notify-interval": 180,
  tmid: 181,
  "measurement-interval": 182,
  "measurement-sample": 183,
  talker: 184,
  "source-prefix": 185,
  "source-port-range": 187,
  "source-icmp-type-range": 188,
  target: 189,
  capacity: 190,
  protocol: 191,
  "total-traffic-normal-per-protocol": 192,
  "total-traffic-normal-per-port": 193,
  "total-connection-capacity-per-port": 194,
  "total-traffic-protocol": 195,
  "total-traffic-port": 196,
  "total-attack-traffic-protocol": 197,
  "total-attack-traffic-port": 198,
  "total-attack-connection-port": 199,
  port: 200,
  "supported-query-type": 201,
  "vendor-id": 202,
  "ietf-dots-telemetry:telemetry-setup": 203,
  "ietf-dots-telemetry:total-traffic": 204,
  "ietf-dots-telemetry:total-attack-traffic": 205,
  "ietf-dots-telemetry:total-attack-connection": 206,
  "ietf-dots-telemetry:attack-detail": 207,
  "ietf-dots-telemetry:telemetry": 208,
  "current-g": 209,
  "description-lang": 210,
  // RFC 8973 (call home)
  "ietf-dots-call-home:source-prefix": 32768,
  "ietf-dots-call-home:source-port-range": 32769,
  "ietf-dots-call-home:source-icmp-type-range": 32770,
  "lower-type": 32771,
  "upper-type": 32772,
};

/** key → name. */
export const DOTS_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(DOTS_KEYS).map(([name, key]) => [key, name]),
);

/**
 * Whether a receiver that does not know `key` may ignore it (RFC 9132 §9.6): the registry splits
 * every range into a comprehension-required half and a comprehension-optional half.
 */
export function isComprehensionOptional(key: number): boolean {
  if (key >= 0x4000 && key <= 0x7fff) return true;
  if (key >= 0xc000 && key <= 0xffff) return true;
  if (key >= 0x20000 && key <= 0x2ffff) return true;
  return key >= 0x2000000 && key <= 0x2ffffff;
}

/** Mitigation status (RFC 9132 §4.4.2, "status"). */
export const MITIGATION_STATUS = {
  inProgress: 1,
  successfullyMitigated: 2,
  stopped: 3,
  exceedsCapability: 4,
  clientWithdrawnTerminating: 5,
  terminated: 6,
  withdrawnByServer: 7,
  triggeredOnSignalLoss: 8,
} as const;

export const MITIGATION_STATUS_NAMES: Readonly<Record<number, string>> = {
  1: "attack-mitigation-in-progress",
  2: "attack-successfully-mitigated",
  3: "attack-stopped",
  4: "attack-exceeded-capability",
  5: "dots-client-withdrawn-mitigation",
  6: "attack-mitigation-terminated",
  7: "attack-mitigation-withdrawn",
  8: "attack-mitigation-signal-loss",
};

/** Conflict status and cause (RFC 9132 §4.4.1, conflict-information). */
export const CONFLICT_STATUS = { requestInactiveOtherActive: 1, requestActive: 2, allRequestsInactive: 3 } as const;
export const CONFLICT_CAUSE = { overlappingTargets: 1, conflictWithDropList: 2, cuidCollision: 3 } as const;

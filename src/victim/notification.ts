/**
 * A detector's notification, as FastNetMon (community edition 1.2.4) calls its notify script:
 * `script <address> incoming|outgoing <packets per second> ban|unban|attack_details`, with the
 * attack's description on standard input for `ban` (counters, then the flows to the address that
 * its connection tracking saw) and `attack_details` (counters, then sampled packets); `unban` gets
 * nothing on standard input. Any detector that can run a script can call it the same way, with
 * one source address or prefix per line on standard input.
 *
 * The lines that name sources (everything else in the text is ignored):
 *   203.0.113.10:53 < 198.51.100.23:40000 20000000 bytes 40000 packets        (a flow, ban)
 *   2026-11-27 08:14:14.000000 198.51.100.23:40000 > 203.0.113.10:53 protocol: udp frag: 0
 *     packets: 5000 size: 2500000 bytes ttl: 0 sample ratio: 1                   (a packet, attack_details)
 *   198.51.100.23  or  198.51.100.0/24                                        (any detector)
 */
import { formatPrefix, isIPv4, parseAddress, parsePrefix, type Prefix } from "../prefix";
import type { TopTalker } from "./attackReport";

export const NOTIFICATION_ACTIONS = ["ban", "unban", "attack_details"] as const;
export type NotificationAction = (typeof NOTIFICATION_ACTIONS)[number];

/** FastNetMon's direction names (get_direction_name). */
export const DIRECTIONS = ["incoming", "outgoing", "internal", "other"] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The most sources one notification contributes: a request carries at most 64 (MAX_SOURCES). */
export const MAX_TALKERS = 64;

export interface Talker {
  /** A host prefix ("198.51.100.23/32") or the prefix a detector gave. */
  source: string;
  /** Packets and bytes seen from it in the details (0 for a bare address line). */
  packets: number;
  bytes: number;
}

export interface DetectorNotification {
  action: NotificationAction;
  /** The attacked address as a host prefix: "203.0.113.10/32" or "2001:db8:a::10/128". */
  target: string;
  direction: Direction;
  /** The attack's power in packets per second, as the detector measured it. */
  pps: number;
  /** The sources of the flows towards the target, most packets first (at most MAX_TALKERS). */
  talkers: Talker[];
}

/** The error for a notification that cannot be read; its message is one sentence. */
export class NotificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotificationError";
  }
}

const FLOW = /^(\S+):(\d+) ([<>]) (\S+):(\d+) (\d+) bytes (\d+) packets$/;
const PACKET = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? (\S+) > (\S+) protocol: .*?packets: (\d+) size: (\d+) bytes/;
const BARE = /^[0-9A-Fa-f:.]+(?:\/\d{1,3})?$/;

/** "198.51.100.23:40000" or FastNetMon's IPv6 "2001:db8::66:40000" (the port after the last colon). */
function splitEndpoint(text: string): string {
  const colon = text.lastIndexOf(":");
  return colon < 0 ? text : text.slice(0, colon);
}

function host(address: bigint): Prefix {
  return { network: address, length: 128 };
}

/** Parses a notify-script call: its four arguments and what came on standard input. */
export function parseNotification(args: readonly string[], details = ""): DetectorNotification {
  if (args.length !== 4) {
    throw new NotificationError(
      `A notification takes 4 arguments (address, incoming|outgoing, packets per second, ban|unban|attack_details), not ${args.length}` +
        (args.length > 0 ? `: ${args.map((a) => JSON.stringify(a)).join(" ")}.` : "."),
    );
  }
  const [addressText, directionText, ppsText, actionText] = args;
  if (!(NOTIFICATION_ACTIONS as readonly string[]).includes(actionText)) {
    throw new NotificationError(
      `The notification's action is ${JSON.stringify(actionText)}, not one of ${NOTIFICATION_ACTIONS.join(", ")}.`,
    );
  }
  let address: bigint;
  try {
    address = parseAddress(addressText);
  } catch {
    throw new NotificationError(`The attacked address ${JSON.stringify(addressText)} is not an IP address.`);
  }
  if (!(DIRECTIONS as readonly string[]).includes(directionText)) {
    throw new NotificationError(
      `The attack's direction is ${JSON.stringify(directionText)}, not one of ${DIRECTIONS.join(", ")}.`,
    );
  }
  if (!/^\d{1,15}$/.test(ppsText)) {
    throw new NotificationError(
      `The attack's power ${JSON.stringify(ppsText)} is not a whole number of packets per second.`,
    );
  }
  const target = host(address);
  const v4 = isIPv4(target);
  const talkers = new Map<string, Talker>();
  const add = (source: Prefix, packets: number, bytes: number) => {
    // A FlowSpec rule matches one family, and the target is no source of its own attack.
    if (isIPv4(source) !== v4 || source.network === address) return;
    const key = formatPrefix(source);
    const talker = talkers.get(key) ?? { source: key, packets: 0, bytes: 0 };
    talker.packets += packets;
    talker.bytes += bytes;
    talkers.set(key, talker);
  };
  const lines = details.split("\n");
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    const flow = FLOW.exec(line);
    const packet = flow ? null : PACKET.exec(line);
    try {
      if (flow) {
        const local = parseAddress(flow[1]);
        const remote = parseAddress(flow[4]);
        // "<": a flow from the remote end to the local one; only flows towards the target count.
        if (flow[3] === "<" && local === address) add(host(remote), Number(flow[7]), Number(flow[6]));
      } else if (packet) {
        const source = parseAddress(splitEndpoint(packet[1]));
        const destination = parseAddress(splitEndpoint(packet[2]));
        if (destination === address) add(host(source), Number(packet[3]), Number(packet[4]));
      } else if (BARE.test(line) && /[.:]/.test(line)) {
        add(parsePrefix(line, { allowAddress: true }), 0, 0);
      }
    } catch {
      throw new NotificationError(
        `Line ${i + 1} of the notification's details names no valid address: ${JSON.stringify(line)}.`,
      );
    }
  }
  const sorted = [...talkers.values()].sort((a, b) => b.packets - a.packets || b.bytes - a.bytes);
  return {
    action: actionText as NotificationAction,
    target: formatPrefix(target),
    direction: directionText as Direction,
    pps: Number(ppsText),
    talkers: sorted.slice(0, MAX_TALKERS),
  };
}

/** The talkers as an attack report's top talkers. */
export function topTalkers(notification: DetectorNotification): TopTalker[] {
  return notification.talkers.map((t) => ({ source: t.source }));
}

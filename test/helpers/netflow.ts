/**
 * A NetFlow v5 exporter for the tests and the end-to-end benchmark: it sends, over UDP on
 * loopback, the flow records a router would export during a flood (Cisco's NetFlow v5 format: a
 * 24-byte header and up to 30 records of 48 bytes), so that FastNetMon sees the attack.
 */
import { createSocket, type Socket } from "node:dgram";

import { parseAddress } from "../../src/prefix";

/** One flow of the flood, from an IPv4 source to an IPv4 destination. */
export interface FloodFlow {
  source: string;
  destination: string;
  /** Packets per second it carries. */
  pps: number;
  /** Bytes per packet. */
  packetSize?: number;
  sourcePort?: number;
  destinationPort?: number;
  /** IP protocol number; UDP by default. */
  protocol?: number;
}

const HEADER = 24;
const RECORD = 48;
export const MAX_RECORDS = 30;

function ipv4(text: string): number {
  const address = parseAddress(text);
  if (address >> 32n !== 0xffffn) throw new Error(`NetFlow v5 carries IPv4 only, not ${text}.`);
  return Number(address & 0xffffffffn);
}

export interface Datagram {
  /** Flow sequence number of the first record (the header's flow_sequence). */
  sequence: number;
  /** Milliseconds since the exporter started (the header's SysUptime). */
  uptimeMs: number;
  /** Wall-clock time of export, ms. */
  nowMs: number;
  /** Milliseconds the records span. */
  spanMs: number;
}

/** One NetFlow v5 datagram with a record per flow, each carrying `spanMs` worth of its traffic. */
export function netflowV5(flows: readonly FloodFlow[], datagram: Datagram): Buffer {
  if (flows.length === 0 || flows.length > MAX_RECORDS) {
    throw new Error(`A NetFlow v5 datagram carries 1 to ${MAX_RECORDS} records, not ${flows.length}.`);
  }
  const buffer = Buffer.alloc(HEADER + RECORD * flows.length);
  buffer.writeUInt16BE(5, 0); // version
  buffer.writeUInt16BE(flows.length, 2);
  buffer.writeUInt32BE(datagram.uptimeMs >>> 0, 4);
  buffer.writeUInt32BE(Math.floor(datagram.nowMs / 1000), 8);
  buffer.writeUInt32BE((datagram.nowMs % 1000) * 1_000_000, 12);
  buffer.writeUInt32BE(datagram.sequence >>> 0, 16);
  // engine type and id 0, sampling interval 0 (unsampled)
  for (const [i, flow] of flows.entries()) {
    const at = HEADER + RECORD * i;
    const packets = Math.max(1, Math.round((flow.pps * datagram.spanMs) / 1000));
    buffer.writeUInt32BE(ipv4(flow.source), at);
    buffer.writeUInt32BE(ipv4(flow.destination), at + 4);
    buffer.writeUInt32BE(0, at + 8); // next hop
    buffer.writeUInt16BE(1, at + 12); // input interface
    buffer.writeUInt16BE(2, at + 14); // output interface
    buffer.writeUInt32BE(packets, at + 16);
    buffer.writeUInt32BE(packets * (flow.packetSize ?? 500), at + 20);
    buffer.writeUInt32BE(Math.max(0, datagram.uptimeMs - datagram.spanMs) >>> 0, at + 24); // first
    buffer.writeUInt32BE(datagram.uptimeMs >>> 0, at + 28); // last
    buffer.writeUInt16BE(flow.sourcePort ?? 40000 + i, at + 32);
    buffer.writeUInt16BE(flow.destinationPort ?? 53, at + 34);
    buffer.writeUInt8(flow.protocol ?? 17, at + 38);
  }
  return buffer;
}

/** Sends the flows to a collector every `intervalMs` until stopped. */
export class NetflowFlood {
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private readonly started = Date.now();
  /** Datagrams sent so far. */
  sent = 0;

  constructor(private readonly options: { port: number; host?: string; flows: FloodFlow[]; intervalMs?: number }) {}

  /** Sends the first datagram now and the next ones every interval; resolves once the first is sent, with its time (ms). */
  async start(): Promise<number> {
    this.socket = createSocket("udp4");
    const first = await this.send();
    this.timer = setInterval(() => {
      this.send().catch(() => undefined); // a lost datagram is a lost datagram, as on a network
    }, this.options.intervalMs ?? 100);
    return first;
  }

  private send(): Promise<number> {
    const socket = this.socket;
    if (!socket) return Promise.resolve(Date.now());
    const now = Date.now();
    const packet = netflowV5(this.options.flows, {
      sequence: this.sequence,
      uptimeMs: now - this.started + 60_000,
      nowMs: now,
      spanMs: this.options.intervalMs ?? 100,
    });
    this.sequence += this.options.flows.length;
    return new Promise((resolve, reject) =>
      socket.send(packet, this.options.port, this.options.host ?? "127.0.0.1", (error) => {
        if (error) return reject(error);
        this.sent++;
        resolve(now);
      }),
    );
  }

  /** Stops the flood: no datagram is sent after this resolves. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

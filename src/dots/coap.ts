/**
 * CoAP messages over reliable transports (RFC 8323 §3.2): the length-prefixed framing that TLS
 * carries for `coaps+tcp`, the options (RFC 7252 §3.1), and the signalling codes (CSM, Ping, Pong,
 * Release, Abort). The `coap` npm package speaks UDP only; over TCP the message has no type or
 * message id, so the framing is small enough to keep here.
 */

/** A code as class.detail packed in a byte: 2.05 is 0x45. */
export function code(cls: number, detail: number): number {
  return (cls << 5) | detail;
}

/** "2.05" from 0x45. */
export function codeText(value: number): string {
  return `${value >> 5}.${String(value & 0x1f).padStart(2, "0")}`;
}

export const METHOD = { GET: 1, POST: 2, PUT: 3, DELETE: 4 } as const;

export const RESPONSE = {
  created: code(2, 1),
  deleted: code(2, 2),
  changed: code(2, 4),
  content: code(2, 5),
  badRequest: code(4, 0),
  unauthorized: code(4, 1),
  badOption: code(4, 2),
  forbidden: code(4, 3),
  notFound: code(4, 4),
  methodNotAllowed: code(4, 5),
  notAcceptable: code(4, 6),
  conflict: code(4, 9),
  requestEntityTooLarge: code(4, 13),
  unsupportedContentFormat: code(4, 15),
  internalServerError: code(5, 0),
  serviceUnavailable: code(5, 3),
} as const;

export const SIGNAL = {
  csm: code(7, 1),
  ping: code(7, 2),
  pong: code(7, 3),
  release: code(7, 4),
  abort: code(7, 5),
} as const;

export const OPTION = {
  ifMatch: 1,
  uriHost: 3,
  etag: 4,
  ifNoneMatch: 5,
  observe: 6,
  uriPort: 7,
  locationPath: 8,
  uriPath: 11,
  contentFormat: 12,
  maxAge: 14,
  uriQuery: 15,
  hopLimit: 16,
  accept: 17,
  locationQuery: 20,
  block2: 23,
  block1: 27,
  size2: 28,
  proxyUri: 35,
  proxyScheme: 39,
  size1: 60,
} as const;

/** CSM options (RFC 8323 §5.3). */
export const CSM_OPTION = { maxMessageSize: 2, blockWiseTransfer: 4 } as const;

const KNOWN_OPTIONS: ReadonlySet<number> = new Set(Object.values(OPTION));

export interface CoapOption {
  number: number;
  value: Buffer;
}

export interface CoapMessage {
  code: number;
  token: Buffer;
  options: CoapOption[];
  payload: Buffer;
}

export class CoapFormatError extends Error {}

/** An unsigned integer option value in as few bytes as it needs (0 is the empty string). */
export function uintOption(value: number): Buffer {
  if (value === 0) return Buffer.alloc(0);
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}

export function readUint(value: Buffer): number {
  let n = 0;
  for (const byte of value) n = n * 256 + byte;
  return n;
}

function nibble(value: number): { nibble: number; extra: Buffer } {
  if (value < 13) return { nibble: value, extra: Buffer.alloc(0) };
  if (value < 269) return { nibble: 13, extra: Buffer.from([value - 13]) };
  const extra = Buffer.alloc(2);
  extra.writeUInt16BE(value - 269);
  return { nibble: 14, extra };
}

function encodeOptions(options: readonly CoapOption[]): Buffer {
  const sorted = [...options].sort((a, b) => a.number - b.number);
  const parts: Buffer[] = [];
  let previous = 0;
  for (const option of sorted) {
    const delta = nibble(option.number - previous);
    const length = nibble(option.value.length);
    parts.push(Buffer.from([(delta.nibble << 4) | length.nibble]), delta.extra, length.extra, option.value);
    previous = option.number;
  }
  return Buffer.concat(parts);
}

/** Options and payload of a message body (after the token). */
function decodeOptions(body: Buffer): { options: CoapOption[]; payload: Buffer } {
  const options: CoapOption[] = [];
  let at = 0;
  let number = 0;
  const extended = (n: number): number => {
    if (n < 13) return n;
    if (n === 13) {
      if (at + 1 > body.length) throw new CoapFormatError("An option header is cut short.");
      return body[at++] + 13;
    }
    if (n === 14) {
      if (at + 2 > body.length) throw new CoapFormatError("An option header is cut short.");
      const v = body.readUInt16BE(at) + 269;
      at += 2;
      return v;
    }
    throw new CoapFormatError("An option uses the reserved nibble 15.");
  };
  while (at < body.length) {
    const head = body[at++];
    if (head === 0xff) {
      if (at === body.length) throw new CoapFormatError("A payload marker is followed by no payload.");
      return { options, payload: body.subarray(at) };
    }
    number += extended(head >> 4);
    const length = extended(head & 0x0f);
    if (at + length > body.length) throw new CoapFormatError(`Option ${number} runs past the end of the message.`);
    options.push({ number, value: Buffer.from(body.subarray(at, at + length)) });
    at += length;
  }
  return { options, payload: Buffer.alloc(0) };
}

/** One message in RFC 8323 framing: Len|TKL, extended length, Code, Token, Options, Payload. */
export function encodeTcpMessage(message: CoapMessage): Buffer {
  if (message.token.length > 8) throw new CoapFormatError("A token is at most 8 bytes.");
  const options = encodeOptions(message.options);
  const payload = message.payload.length > 0 ? Buffer.concat([Buffer.from([0xff]), message.payload]) : Buffer.alloc(0);
  const length = options.length + payload.length;
  let head: Buffer;
  if (length < 13) head = Buffer.from([(length << 4) | message.token.length]);
  else if (length < 269) head = Buffer.from([(13 << 4) | message.token.length, length - 13]);
  else if (length < 65805) {
    head = Buffer.alloc(3);
    head[0] = (14 << 4) | message.token.length;
    head.writeUInt16BE(length - 269, 1);
  } else {
    head = Buffer.alloc(5);
    head[0] = (15 << 4) | message.token.length;
    head.writeUInt32BE(length - 65805, 1);
  }
  return Buffer.concat([head, Buffer.from([message.code]), message.token, options, payload]);
}

/** Splits a byte stream into messages; `push` returns the messages completed by `chunk`. */
export class TcpMessageReader {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessageSize = 1 << 20) {}

  push(chunk: Buffer): CoapMessage[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const messages: CoapMessage[] = [];
    for (;;) {
      if (this.buffer.length < 2) break;
      const len = this.buffer[0] >> 4;
      const tkl = this.buffer[0] & 0x0f;
      if (tkl > 8) throw new CoapFormatError(`A token length of ${tkl} is reserved.`);
      const extraBytes = len === 13 ? 1 : len === 14 ? 2 : len === 15 ? 4 : 0;
      if (this.buffer.length < 1 + extraBytes) break;
      let length = len;
      if (len === 13) length = this.buffer[1] + 13;
      else if (len === 14) length = this.buffer.readUInt16BE(1) + 269;
      else if (len === 15) length = this.buffer.readUInt32BE(1) + 65805;
      if (length > this.maxMessageSize) {
        throw new CoapFormatError(`A message of ${length} bytes is above the limit of ${this.maxMessageSize}.`);
      }
      const total = 1 + extraBytes + 1 + tkl + length;
      if (this.buffer.length < total) break;
      const codeAt = 1 + extraBytes;
      const token = Buffer.from(this.buffer.subarray(codeAt + 1, codeAt + 1 + tkl));
      const { options, payload } = decodeOptions(this.buffer.subarray(codeAt + 1 + tkl, total));
      messages.push({ code: this.buffer[codeAt], token, options, payload: Buffer.from(payload) });
      this.buffer = this.buffer.subarray(total);
    }
    return messages;
  }
}

export function optionValues(message: CoapMessage, number: number): Buffer[] {
  return message.options.filter((o) => o.number === number).map((o) => o.value);
}

export function uintOptionOf(message: CoapMessage, number: number): number | undefined {
  const [value] = optionValues(message, number);
  return value === undefined ? undefined : readUint(value);
}

export function uriPath(message: CoapMessage): string[] {
  return optionValues(message, OPTION.uriPath).map((v) => v.toString("utf8"));
}

/** The first critical option (odd number) this server does not understand, if any (RFC 7252 §5.4.1). */
export function unknownCriticalOption(message: CoapMessage): number | undefined {
  return message.options.find((o) => o.number % 2 === 1 && !KNOWN_OPTIONS.has(o.number))?.number;
}

export function isRequest(value: number): boolean {
  return value >= 1 && value <= 31;
}

export function isSignal(value: number): boolean {
  return value >> 5 === 7;
}

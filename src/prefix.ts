/**
 * IP addresses and prefixes, in text and in the on-chain encoding.
 *
 * On chain there is one 128-bit address space: an IPv6 address is itself, an IPv4 address
 * a.b.c.d is the IPv4-mapped IPv6 address ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), so an IPv4 /n is a
 * /(96 + n). A prefix is `{ network, length }` in that space, with no bits set beyond `length`.
 */
import ipaddr from "ipaddr.js";

import { Remembered } from "./remembered";

/** A prefix in the on-chain encoding. */
export interface Prefix {
  /** The first address, as a 128-bit unsigned integer. */
  readonly network: bigint;
  /** The length in the 128-bit space (an IPv4 /24 is 120). */
  readonly length: number;
}

/** The error for text that is not an address or prefix; its message is one sentence for people. */
export class PrefixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PrefixError";
  }
}

export const MAX_LENGTH = 128;
/** Where IPv4 lives in the 128-bit space: ::ffff:0:0/96. */
export const IPV4_MAPPED: Prefix = { network: 0xffffn << 32n, length: 96 };
const IPV4_OFFSET = 96;
const ALL_ONES = (1n << 128n) - 1n;

/** Prefixes already formatted: an order intake formats the same targets and attack sources again. */
const formatted = new Remembered<string, string>();

/** The network mask of a length in the 128-bit space. */
export function mask(length: number): bigint {
  return length === 0 ? 0n : (ALL_ONES << BigInt(MAX_LENGTH - length)) & ALL_ONES;
}

/** True when `outer` contains `inner` (a prefix contains itself). */
export function contains(outer: Prefix, inner: Prefix): boolean {
  return outer.length <= inner.length && (inner.network & mask(outer.length)) === outer.network;
}

/** True when the address or prefix lies in the IPv4 part of the space. */
export function isIPv4(prefix: Prefix): boolean {
  return contains(IPV4_MAPPED, prefix);
}

/** An address family. */
export type Family = "IPv4" | "IPv6";

/** The address family of an address or prefix (IPv4 is the IPv4-mapped part of the space). */
export function familyOf(prefix: Prefix): Family {
  return isIPv4(prefix) ? "IPv4" : "IPv6";
}

/** The storage key the registry uses for a prefix: network and length packed into one word. */
export function prefixKey(prefix: Prefix): bigint {
  return (prefix.network << 8n) | BigInt(prefix.length);
}

/** The prefix (`address` masked to `length`), e.g. the /24 an address falls in. */
export function truncate(address: bigint, length: number): Prefix {
  return { network: address & mask(length), length };
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** Parses an IPv4 or IPv6 address into the 128-bit space. */
export function parseAddress(text: string): bigint {
  const trimmed = text.trim();
  if (trimmed === "") throw new PrefixError("An IP address is required, but the text is empty.");
  if (ipaddr.IPv4.isValidFourPartDecimal(trimmed)) {
    const bytes = ipaddr.IPv4.parse(trimmed).toByteArray();
    return IPV4_MAPPED.network | bytesToBigInt(bytes);
  }
  // ipaddr.js reads the deprecated IPv4-compatible form "::a.b.c.d" (RFC 4291 §2.5.5.1) as the
  // IPv4-mapped "::ffff:a.b.c.d", a different address; "::1.2.3.4" is ::102:304.
  const compatible = /^::([^:]*\.[^:]*)$/.exec(trimmed);
  if (compatible !== null && ipaddr.IPv4.isValidFourPartDecimal(compatible[1])) {
    return bytesToBigInt(ipaddr.IPv4.parse(compatible[1]).toByteArray());
  }
  if (compatible === null && !trimmed.includes("%") && ipaddr.IPv6.isValid(trimmed)) {
    return bytesToBigInt(ipaddr.IPv6.parse(trimmed).toByteArray());
  }
  throw new PrefixError(`${quote(text)} is not an IP address: expected IPv4 like 192.0.2.1 or IPv6 like 2001:db8::1.`);
}

/**
 * Parses a prefix in CIDR notation ("192.0.2.0/24", "2001:db8::/32") into the on-chain encoding.
 * A bare address is accepted as a host prefix (/32 or /128) when `allowAddress` is set.
 * Host bits are an error unless `allowHostBits` is set, in which case they are cleared.
 */
export function parsePrefix(text: string, options: { allowAddress?: boolean; allowHostBits?: boolean } = {}): Prefix {
  const trimmed = text.trim();
  if (trimmed === "") throw new PrefixError("An IP prefix is required, but the text is empty.");
  const parts = trimmed.split("/");
  if (parts.length > 2) throw new PrefixError(`${quote(text)} is not a prefix: it has more than one "/".`);
  const [addressText, lengthText] = parts;
  if (addressText === "") throw new PrefixError(`${quote(text)} is not a prefix: the address before "/" is missing.`);
  const address = parseAddress(addressText);
  const v4 =
    (address & mask(IPV4_OFFSET)) === IPV4_MAPPED.network && ipaddr.IPv4.isValidFourPartDecimal(addressText.trim());
  const familyMax = v4 ? 32 : 128;
  let familyLength: number;
  if (lengthText === undefined) {
    if (!options.allowAddress) {
      throw new PrefixError(`${quote(text)} has no prefix length: write it as ${addressText}/${familyMax}.`);
    }
    familyLength = familyMax;
  } else {
    if (!/^\d{1,3}$/.test(lengthText)) {
      throw new PrefixError(
        `${quote(text)} has an invalid prefix length ${quote(lengthText)}: expected 0 to ${familyMax}.`,
      );
    }
    familyLength = Number(lengthText);
    if (familyLength > familyMax) {
      throw new PrefixError(
        `${quote(text)} has prefix length /${familyLength}, longer than the ${v4 ? "IPv4" : "IPv6"} maximum of /${familyMax}.`,
      );
    }
  }
  const length = v4 ? familyLength + IPV4_OFFSET : familyLength;
  const network = address & mask(length);
  if (network !== address && !options.allowHostBits) {
    const fixed = formatPrefix({ network, length });
    throw new PrefixError(`${quote(text)} has host bits set beyond /${familyLength}: did you mean ${fixed}?`);
  }
  return { network, length };
}

/** Formats an address of the 128-bit space: dotted quad for IPv4-mapped, RFC 5952 otherwise. */
export function formatAddress(address: bigint): string {
  if (address < 0n || address > ALL_ONES) throw new PrefixError(`${address} is outside the 128-bit address space.`);
  if ((address & mask(IPV4_OFFSET)) === IPV4_MAPPED.network) {
    return ipaddr.fromByteArray(bigIntToBytes(address & 0xffffffffn, 4)).toString();
  }
  return ipaddr.fromByteArray(bigIntToBytes(address, 16)).toString();
}

/** Formats a prefix in CIDR notation, in its family's own lengths (an IPv4 /24, not /120). */
export function formatPrefix(prefix: Prefix): string {
  return formatted.get(`${prefix.network}/${prefix.length}`, () =>
    prefix.length >= IPV4_OFFSET && isIPv4(prefix)
      ? `${formatAddress(prefix.network)}/${prefix.length - IPV4_OFFSET}`
      : `${ipaddr.fromByteArray(bigIntToBytes(prefix.network, 16)).toString()}/${prefix.length}`,
  );
}

/** The canonical text of a prefix: "2001:DB8:0::/32" → "2001:db8::/32". Host bits are an error. */
export function canonicalPrefix(text: string): string {
  return formatPrefix(parsePrefix(text));
}

function bytesToBigInt(bytes: number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function bigIntToBytes(value: bigint, size: number): number[] {
  const bytes = new Array<number>(size);
  let rest = value;
  for (let i = size - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

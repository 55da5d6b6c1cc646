/** Formatting shared by the clients, the error decoder, the tasks and the reports. */
import { formatUnits, getAddress, parseUnits, toBeHex } from "ethers";

import { formatPrefix } from "./prefix";

/** The token has 18 decimals. */
export const TOKEN_DECIMALS = 18;

/** "1234.5 MIT" from base units. */
export function formatTokens(amount: bigint, symbol = "MIT"): string {
  const text = formatUnits(amount, TOKEN_DECIMALS);
  return `${text.endsWith(".0") ? text.slice(0, -2) : text} ${symbol}`;
}

/** Parses a decimal token amount ("12.5") into base units; one clear sentence when it is not one. */
export function parseTokens(text: string): bigint {
  const trimmed = text.trim();
  if (!/^\d+(\.\d{1,18})?$/.test(trimmed)) {
    throw new Error(`"${text}" is not a token amount: expected a non-negative decimal such as 12.5.`);
  }
  return parseUnits(trimmed, TOKEN_DECIMALS);
}

/** "AS64500". */
export function formatAsn(asn: bigint | number): string {
  return `AS${asn.toString()}`;
}

/** An on-chain (network, length) pair as CIDR text, or a raw description if it is not canonical. */
export function describePrefix(network: bigint, length: bigint | number): string {
  const len = Number(length);
  if (len > 128) return `${network.toString()}/${len}`;
  try {
    return formatPrefix({ network, length: len });
  } catch {
    return `${network.toString()}/${len}`;
  }
}

/** "0xab12…cd34" for reports; full addresses go in machine-readable output. */
export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

/*
 * Request ids. On chain a request id is `requester << 64 | n`, n the service's request counter
 * (from 1); reports and agents' logs print it as "#n". Operators may type either form; the short one
 * needs the requester. Every parse and format of a request id lives here (signed orders' ids, whose
 * n has bit 63 set, will get their own short form here too).
 */
const SEQUENCE_BITS = 64n;
const SEQUENCE_MASK = (1n << SEQUENCE_BITS) - 1n;
/** The widest id there is: a 160-bit requester above the 64-bit sequence. */
const MAX_REQUEST_ID = (1n << (160n + SEQUENCE_BITS)) - 1n;

/** A request id is `requester << 64 | n`: n, the service's request counter. */
export function requestSequence(requestId: bigint): bigint {
  return requestId & SEQUENCE_MASK;
}

/** The requester encoded in a request id. */
export function requesterOf(requestId: bigint): string {
  return getAddress(toBeHex(requestId >> SEQUENCE_BITS, 20));
}

/** The full request id of the `sequence`-th request, made by `requester`. */
export function requestIdOf(requester: string, sequence: bigint): bigint {
  return (BigInt(getAddress(requester)) << SEQUENCE_BITS) | (sequence & SEQUENCE_MASK);
}

/** "#7" for reports; the full id goes in machine-readable output and into transactions. */
export function formatRequestId(requestId: bigint): string {
  return `#${requestSequence(requestId).toString()}`;
}

/** Both forms, for operators: "#7 (id 6277…)" — what the logs print, and the full id. */
export function describeRequestId(requestId: bigint): string {
  return `${formatRequestId(requestId)} (id ${requestId.toString()})`;
}

/** What an operator typed for a request: the full id, or only the number the logs print. */
export type RequestRef = { id: bigint } | { sequence: bigint };

/**
 * Reads a request as operators see it: "#7" or "7" (the number reports and logs print, which needs
 * the requester to become an id) or the full id. A number that fits in 64 bits is the short form:
 * a full id is at least 2^64, since no request is made by the zero address.
 */
export function parseRequestRef(text: string): RequestRef {
  const match = /^(#?)(\d{1,78})$/.exec(text.trim());
  const value = match === null ? undefined : BigInt(match[2]);
  if (match === null || value === undefined || value > MAX_REQUEST_ID || (match[1] === "#" && value > SEQUENCE_MASK)) {
    throw new Error(
      `"${text}" is not a request id: expected the number the logs print, such as #1 or 1, or the full id.`,
    );
  }
  return value > SEQUENCE_MASK ? { id: value } : { sequence: value };
}

/** The full id of a request reference; `requester` turns the short form into one. */
export function resolveRequestId(ref: RequestRef, requester: string): bigint {
  return "id" in ref ? ref.id : requestIdOf(requester, ref.sequence);
}

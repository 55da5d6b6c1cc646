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

const SEQUENCE_MASK = (1n << 64n) - 1n;

/** A request id is `requester << 64 | n`: n, the service's request counter. */
export function requestSequence(requestId: bigint): bigint {
  return requestId & SEQUENCE_MASK;
}

/** The requester encoded in a request id. */
export function requesterOf(requestId: bigint): string {
  return getAddress(toBeHex(requestId >> 64n, 20));
}

/** "#7" for reports; the full id goes in machine-readable output and into transactions. */
export function formatRequestId(requestId: bigint): string {
  return `#${requestSequence(requestId).toString()}`;
}

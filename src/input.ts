/** Parsers for operator input (task arguments): each failure is one sentence naming the value. */
import { DOTS_STATUS, MITIGATION_KINDS, REJECT_REASON, type MitigationKindName } from "./clients/market";
import { parseAsn } from "./asn";

const UINT32_MAX = 4294967295;

/** A whole number in [min, max]. */
export function parseWholeNumber(text: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const trimmed = text.trim();
  const value = /^\d{1,16}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`"${text}" is not a valid ${what}: expected a whole number from ${min} to ${max}.`);
  }
  return value;
}

/** Seconds of mitigation or an offering's maximum duration: 1 to 2^32 - 1. */
export function parseDuration(text: string, what = "duration in seconds"): number {
  return parseWholeNumber(text, what, 1, UINT32_MAX);
}

/** An offering's capacity (concurrent mitigations): 1 to 2^32 - 1. */
export function parseCapacity(text: string): number {
  return parseWholeNumber(text, "capacity", 1, UINT32_MAX);
}

export function parseOfferingId(text: string): number {
  return parseWholeNumber(text, "offering id", 0, UINT32_MAX);
}

/** Seconds the provider gets to acknowledge; the contracts allow at most one day. */
export const MAX_ACK_WINDOW = 86_400;

export function parseAckWindow(text: string): number {
  return parseWholeNumber(text, "acknowledgement window in seconds", 1, MAX_ACK_WINDOW);
}

/** "a, b,c" → ["a", "b", "c"]; at least one entry. */
export function parseList(text: string, what: string): string[] {
  const items = text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  if (items.length === 0) throw new Error(`Give at least one ${what}, separated by commas.`);
  return items;
}

export function parseAsnList(text: string): number[] {
  return parseList(text, "AS number").map((item) => parseAsn(item));
}

export function parseKind(text: string): MitigationKindName {
  const kind = MITIGATION_KINDS.find((k) => k === text.trim().toLowerCase());
  if (kind === undefined) throw new Error(`"${text}" is not a mitigation kind: use ${MITIGATION_KINDS.join(", ")}.`);
  return kind;
}

function parseCode(text: string, codes: Record<string, number>, what: string, min: number, max: number): number {
  const trimmed = text.trim();
  const named = Object.entries(codes).find(([name]) => name.toLowerCase() === trimmed.toLowerCase());
  if (named) return named[1];
  if (/^\d{1,3}$/.test(trimmed) && Number(trimmed) >= min && Number(trimmed) <= max) return Number(trimmed);
  throw new Error(`"${text}" is not a ${what}: use ${min} to ${max} or one of ${Object.keys(codes).join(", ")}.`);
}

/** A reject reason by name (capacity, policy, …) or code 0 to 255. */
export function parseRejectReason(text: string): number {
  return parseCode(text, REJECT_REASON, "reject reason", 0, 255);
}

/** A DOTS mitigation status (RFC 9132) by name (inProgress, …) or code 1 to 8. */
export function parseDotsStatus(text: string): number {
  return parseCode(text, DOTS_STATUS, "DOTS mitigation status", 1, 8);
}

/** A whole-number traffic counter (bytes or packets dropped), at most 2^64 - 1. */
export function parseCounter(text: string, what: string): bigint {
  const trimmed = text.trim();
  if (!/^\d{1,20}$/.test(trimmed) || BigInt(trimmed) >= 1n << 64n) {
    throw new Error(`"${text}" is not a valid ${what}: expected a whole number from 0 to 2^64 - 1.`);
  }
  return BigInt(trimmed);
}

export function parseRating(text: string): number {
  return parseWholeNumber(text, "rating", 1, 5);
}

/** An order intake URL to publish: http(s)://host[:port]/path, or "" / "none" for no orders. */
export function parseOrderEndpoint(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed === "none") return "";
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Error(`"${text}" is not a URL: expected e.g. http://203.0.113.1:8546/.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`"${text}" is not an http or https URL: victims post their orders over HTTP.`);
  }
  if (url.search !== "" || url.hash !== "")
    throw new Error(`"${text}" has a query or fragment: give the base URL only.`);
  return url.toString();
}

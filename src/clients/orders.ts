/**
 * Signed mitigation orders (EIP-712), the market's fast path: a victim signs an order off chain,
 * the provider's agent checks it and settles many in one transaction. Here: the typed data, its
 * hash and request id, signing, the JSON a victim sends over HTTP, and a fast signer check.
 * `contracts/libraries/MitigationOrders.sol` hashes the same way on chain.
 */
import { TypedDataEncoder, getAddress, keccak256, type Signer, type TypedDataDomain } from "ethers";
import { ecdsaRecover } from "secp256k1";

import type { IProviderServiceContract } from "../../typechain-types";
import { OperatorError } from "../errors";
import { formatPrefix, parsePrefix, type Prefix } from "../prefix";
import { parseAccount } from "./registry";

/** The EIP-712 domain's name and version (ProviderServiceContract's constructor). */
export const ORDER_DOMAIN_NAME = "DDoS Mitigation Service";
export const ORDER_DOMAIN_VERSION = "1";

/** The EIP-712 types of an order. */
export const ORDER_TYPES = {
  IpPrefix: [
    { name: "network", type: "uint128" },
    { name: "prefixLength", type: "uint8" },
  ],
  Order: [
    { name: "service", type: "address" },
    { name: "requester", type: "address" },
    { name: "offeringId", type: "uint32" },
    { name: "target", type: "IpPrefix" },
    { name: "sources", type: "IpPrefix[]" },
    { name: "duration", type: "uint32" },
    { name: "maxPrice", type: "uint96" },
    { name: "expiry", type: "uint40" },
    { name: "salt", type: "uint256" },
  ],
};

/** `IProviderServiceContract.OrderSkipReason`: why `settleOrders` skipped an order. */
export enum OrderSkipReason {
  WrongService,
  Expired,
  RequesterIsProvider,
  BadSignature,
  AlreadySettled,
  Cancelled,
  UnknownOffering,
  OfferingInactive,
  InvalidDuration,
  PriceAboveMaximum,
  InvalidPrefix,
  InactiveRequester,
  NotWhollyHeld,
  PaymentFailed,
}

/** Each `OrderSkipReason` as the end of a sentence ("skipped: it expired"). */
export const ORDER_SKIP_REASONS = [
  "it names another service",
  "it expired",
  "its requester is the provider",
  "its signature is not its requester's",
  "it was settled already",
  "it was cancelled",
  "its offering does not exist",
  "its offering is not active",
  "its duration is not allowed",
  "its price is above its maximum",
  "a prefix in it is not canonical, or it has no or too many sources",
  "its requester is not an active participant",
  "its requester does not hold all of the target",
  "its payment failed (allowance or balance too low)",
] as const;

/** An order with its fields as the contract takes them. */
export interface Order {
  service: string;
  requester: string;
  offeringId: number;
  target: Prefix;
  sources: Prefix[];
  duration: number;
  maxPrice: bigint;
  expiry: number;
  salt: bigint;
}

export interface SignedOrder {
  order: Order;
  signature: string;
}

/** An order as JSON on the wire: prefixes in CIDR, amounts as decimal strings. */
export interface OrderJson {
  service: string;
  requester: string;
  offeringId: number;
  target: string;
  sources: string[];
  duration: number;
  maxPrice: string;
  expiry: number;
  salt: string;
}

export interface SignedOrderJson {
  order: OrderJson;
  signature: string;
}

/** The domain of one service on one chain: an order signed for it is settled only there. */
export function orderDomain(chainId: bigint | number, service: string): TypedDataDomain {
  return { name: ORDER_DOMAIN_NAME, version: ORDER_DOMAIN_VERSION, chainId, verifyingContract: service };
}

function typedValue(order: Order): Record<string, unknown> {
  const prefix = (p: Prefix) => ({ network: p.network, prefixLength: p.length });
  return {
    service: order.service,
    requester: order.requester,
    offeringId: order.offeringId,
    target: prefix(order.target),
    sources: order.sources.map(prefix),
    duration: order.duration,
    maxPrice: order.maxPrice,
    expiry: order.expiry,
    salt: order.salt,
  };
}

/** The order as the contract's `Order` struct. */
export function toOrderStruct(order: Order): IProviderServiceContract.OrderStruct {
  const prefix = (p: Prefix) => ({ network: p.network, prefixLength: p.length });
  return { ...order, target: prefix(order.target), sources: order.sources.map(prefix) };
}

const ENCODER = TypedDataEncoder.from(ORDER_TYPES);
const domainHashes = new Map<string, string>();

/** The EIP-712 hash of an order, as signed and as the contract computes it. */
export function hashOrder(order: Order, chainId: bigint | number): string {
  const key = `${chainId}/${order.service.toLowerCase()}`;
  let domainHash = domainHashes.get(key);
  if (domainHash === undefined) {
    domainHash = TypedDataEncoder.hashDomain(orderDomain(chainId, order.service));
    domainHashes.set(key, domainHash);
  }
  return keccak256("0x1901" + domainHash.slice(2) + ENCODER.hash(typedValue(order)).slice(2));
}

/** `requester << 64 | 1 << 63 | (hash mod 2^63)`: the request id a settled order runs under. */
export function orderRequestId(requester: string, hash: string): bigint {
  const bit = 1n << 63n;
  return (BigInt(requester) << 64n) | bit | (BigInt(hash) & (bit - 1n));
}

/** True when a request id is an order's (else a direct request's). */
export function isOrderRequestId(id: bigint): boolean {
  return ((id >> 63n) & 1n) === 1n;
}

/** Signs an order as its requester (an EOA). */
export async function signOrder(signer: Signer, order: Order, chainId: bigint | number): Promise<SignedOrder> {
  const signature = await signer.signTypedData(orderDomain(chainId, order.service), ORDER_TYPES, typedValue(order));
  return { order, signature };
}

/**
 * The address whose key made `signature` (65 bytes, low s) over `hash`, with the native secp256k1
 * (tens of thousands a second, where pure JavaScript does a few thousand); null when it is not a
 * valid low-s signature.
 */
export function recoverOrderSigner(hash: string, signature: string): string | null {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return null;
  const bytes = Buffer.from(signature.slice(2), "hex");
  const v = bytes[64];
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery > 1) return null;
  // s must be in the lower half of the curve order (EIP-2), as on chain.
  const s = BigInt("0x" + bytes.subarray(32, 64).toString("hex"));
  if (s === 0n || s > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n) return null;
  try {
    const publicKey = ecdsaRecover(bytes.subarray(0, 64), recovery, Buffer.from(hash.slice(2), "hex"), false);
    return getAddress("0x" + keccak256(publicKey.subarray(1)).slice(-40));
  } catch {
    return null;
  }
}

/** The wire form of a signed order. */
export function toOrderJson({ order, signature }: SignedOrder): SignedOrderJson {
  return {
    order: {
      ...order,
      target: formatPrefix(order.target),
      sources: order.sources.map((s) => formatPrefix(s)),
      maxPrice: order.maxPrice.toString(),
      salt: order.salt.toString(),
    },
    signature,
  };
}

function field<T>(value: unknown, name: string, check: (v: unknown) => v is T, what: string): T {
  if (!check(value)) throw new OperatorError(`The order's ${name} must be ${what}, not ${JSON.stringify(value)}.`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isUint =
  (bits: number) =>
  (v: unknown): v is number =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && BigInt(v) < 1n << BigInt(bits);
const isDecimal =
  (bits: number) =>
  (v: unknown): v is string =>
    typeof v === "string" && /^\d{1,78}$/.test(v) && BigInt(v) < 1n << BigInt(bits);

function prefixOf(text: string, what: string): Prefix {
  try {
    return parsePrefix(text, { allowAddress: true });
  } catch (error) {
    throw new OperatorError(`The order's ${what}: ${(error as Error).message}`);
  }
}

function account(text: string, what: string): string {
  try {
    return parseAccount(text, what);
  } catch (error) {
    throw new OperatorError((error as Error).message);
  }
}

/** Reads a signed order from its wire form; one sentence for the first thing wrong. */
export function fromOrderJson(json: unknown): SignedOrder {
  if (json === null || typeof json !== "object") throw new OperatorError("A signed order is a JSON object.");
  const { order: raw, signature } = json as Partial<SignedOrderJson>;
  if (raw === null || typeof raw !== "object") throw new OperatorError('A signed order needs an "order" object.');
  const sig = field(signature, "signature", isString, "a hex string");
  if (!/^0x[0-9a-fA-F]*$/.test(sig) || sig.length % 2 !== 0) {
    throw new OperatorError(`The order's signature must be hex bytes, not ${JSON.stringify(sig)}.`);
  }
  const sources = field(raw.sources, "sources", Array.isArray, "a list of prefixes") as unknown[];
  const order: Order = {
    service: account(field(raw.service, "service", isString, "an address"), "service"),
    requester: account(field(raw.requester, "requester", isString, "an address"), "requester"),
    offeringId: field(raw.offeringId, "offeringId", isUint(32), "a 32-bit offering id"),
    target: prefixOf(field(raw.target, "target", isString, "a prefix"), "target"),
    sources: sources.map((s) => prefixOf(field(s, "source", isString, "a prefix"), "source")),
    duration: field(raw.duration, "duration", isUint(32), "a whole number of seconds"),
    maxPrice: BigInt(field(raw.maxPrice, "maxPrice", isDecimal(96), "a decimal amount in base units (96 bits)")),
    expiry: field(raw.expiry, "expiry", isUint(40), "a unix time in seconds"),
    salt: BigInt(field(raw.salt, "salt", isDecimal(256), "a decimal number (256 bits)")),
  };
  return { order, signature: sig };
}

/**
 * Signed mitigation orders (EIP-712), the market's fast path: a victim signs an order off chain,
 * the provider's agent checks it and settles many in one transaction. Here: the typed data, its
 * hash and request id, signing, the JSON a victim sends over HTTP, and a fast signer check.
 * `contracts/libraries/MitigationOrders.sol` hashes the same way on chain.
 */
import { TypedDataEncoder, getBytes, type Signer } from "ethers";
import { ecdsaRecover, ecdsaSign } from "secp256k1";

import { ProviderServiceContract__factory, type IProviderServiceContract } from "../../typechain-types";
import { OperatorError } from "../errors";
import { checksumHex, keccak256Bytes } from "../keccak";
import { formatPrefix, parsePrefix, type Prefix } from "../prefix";
import { Remembered } from "../remembered";
import { ORDER_TYPES, orderDomain, typedValue, type Order } from "./order-terms";
import { parseAccount } from "./registry";

export {
  ORDER_DOMAIN_NAME,
  ORDER_DOMAIN_VERSION,
  ORDER_TYPES,
  fromOrderStruct,
  hashOrderTyped,
  isOrderRequestId,
  orderDomain,
  orderRequestId,
  type Order,
} from "./order-terms";

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

/** The order as the contract's `Order` struct. */
export function toOrderStruct(order: Order): IProviderServiceContract.OrderStruct {
  const prefix = (p: Prefix) => ({ network: p.network, prefixLength: p.length });
  return { ...order, target: prefix(order.target), sources: order.sources.map(prefix) };
}

const ENCODER = TypedDataEncoder.from(ORDER_TYPES);
const ORDER_TYPE_HASH = keccak256Bytes(Buffer.from(ENCODER.encodeType("Order"), "utf8"));
const PREFIX_TYPE_HASH = keccak256Bytes(Buffer.from(ENCODER.encodeType("IpPrefix"), "utf8"));
const domainHashes = new Map<string, Buffer>();

/** Writes `value` as the 32-byte big-endian word at `offset`, after checking it fits in `bits`. */
function putWord(buf: Buffer, offset: number, value: bigint | number, bits: number, what: string): void {
  const big = BigInt(value);
  if (big < 0n || big >> BigInt(bits) !== 0n)
    throw new Error(`The order's ${what} ${value} does not fit in ${bits} bits.`);
  buf.write(big.toString(16).padStart(64, "0"), offset, 32, "hex");
}

function putAddress(buf: Buffer, offset: number, address: string, what: string): void {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error(`The order's ${what} ${address} is not an address.`);
  buf.fill(0, offset, offset + 12);
  buf.write(address.slice(2), offset + 12, 20, "hex");
}

/** The prefixes' struct hashes already computed: an intake sees the same targets and sources again. */
const prefixHashes = new Remembered<string, Buffer>();

/** EIP-712 `hashStruct` of an IpPrefix. */
function prefixStructHash(prefix: Prefix): Buffer {
  return prefixHashes.get(`${prefix.network}/${prefix.length}`, () => {
    const buf = Buffer.alloc(96);
    PREFIX_TYPE_HASH.copy(buf, 0);
    putWord(buf, 32, prefix.network, 128, "prefix network");
    putWord(buf, 64, prefix.length, 8, "prefix length");
    return keccak256Bytes(buf);
  });
}

/**
 * The EIP-712 hash of an order, as signed and as the contract computes it. Written out word by
 * word with a native keccak (the intake hashes thousands of orders a second; ethers'
 * TypedDataEncoder takes about half a millisecond per order); the tests hold it equal to ethers'.
 */
export function hashOrder(order: Order, chainId: bigint | number): string {
  const key = `${chainId}/${order.service.toLowerCase()}`;
  let domainHash = domainHashes.get(key);
  if (domainHash === undefined) {
    domainHash = Buffer.from(getBytes(TypedDataEncoder.hashDomain(orderDomain(chainId, order.service))));
    domainHashes.set(key, domainHash);
  }
  const words = Buffer.alloc(320);
  ORDER_TYPE_HASH.copy(words, 0);
  putAddress(words, 32, order.service, "service");
  putAddress(words, 64, order.requester, "requester");
  putWord(words, 96, order.offeringId, 32, "offering id");
  prefixStructHash(order.target).copy(words, 128);
  keccak256Bytes(Buffer.concat(order.sources.map(prefixStructHash))).copy(words, 160);
  putWord(words, 192, order.duration, 32, "duration");
  putWord(words, 224, order.maxPrice, 96, "maximum price");
  putWord(words, 256, order.expiry, 40, "expiry");
  putWord(words, 288, order.salt, 256, "salt");
  const digest = Buffer.alloc(66);
  digest[0] = 0x19;
  digest[1] = 0x01;
  domainHash.copy(digest, 2);
  keccak256Bytes(words).copy(digest, 34);
  return "0x" + keccak256Bytes(digest).toString("hex");
}

/**
 * The ABI encoding of an order as one element of `settleOrders`' `Order[]`: the tuple's head (ten
 * words, the target inline) and its tail (the sources). A dynamic tuple's encoding does not depend
 * on where it sits, so the intake encodes each order once and settlement only concatenates.
 */
export function encodeOrderTuple(order: Order): Buffer {
  const buf = Buffer.alloc(32 * 11 + 64 * order.sources.length);
  putAddress(buf, 0, order.service, "service");
  putAddress(buf, 32, order.requester, "requester");
  putWord(buf, 64, order.offeringId, 32, "offering id");
  putWord(buf, 96, order.target.network, 128, "target network");
  putWord(buf, 128, order.target.length, 8, "target length");
  // Where the sources start, counted from the tuple's first byte: after its ten head words.
  putWord(buf, 160, 320, 256, "sources offset");
  putWord(buf, 192, order.duration, 32, "duration");
  putWord(buf, 224, order.maxPrice, 96, "maximum price");
  putWord(buf, 256, order.expiry, 40, "expiry");
  putWord(buf, 288, order.salt, 256, "salt");
  putWord(buf, 320, order.sources.length, 256, "source count");
  order.sources.forEach((s, i) => {
    putWord(buf, 352 + 64 * i, s.network, 128, "source network");
    putWord(buf, 384 + 64 * i, s.length, 8, "source length");
  });
  return buf;
}

let settleSelector: Buffer | undefined;

/**
 * The calldata of `settleOrders(orders, signatures)` from orders encoded by `encodeOrderTuple`
 * (ethers' ABI coder takes over two milliseconds per order; this, a few microseconds).
 */
export function settleOrdersCalldata(items: readonly { tuple: Uint8Array; signature: string }[]): string {
  settleSelector ??= Buffer.from(
    getBytes(ProviderServiceContract__factory.createInterface().getFunction("settleOrders").selector),
  );
  const word = (value: number) => Buffer.from(value.toString(16).padStart(64, "0"), "hex");
  const n = items.length;
  // Order[]: its length, one offset per element (from just after the length), the elements.
  const orderParts: Buffer[] = [word(n)];
  let offset = 32 * n;
  for (const { tuple } of items) {
    orderParts.push(word(offset));
    offset += tuple.length;
  }
  for (const { tuple } of items) orderParts.push(Buffer.from(tuple.buffer, tuple.byteOffset, tuple.byteLength));
  const orders = Buffer.concat(orderParts);
  // bytes[]: the same layout, each element its length and its bytes padded to whole words.
  const signatures = items.map(({ signature }) => {
    const bytes = Buffer.from(getBytes(signature));
    const padded = Buffer.alloc(32 + Math.ceil(bytes.length / 32) * 32);
    word(bytes.length).copy(padded, 0);
    bytes.copy(padded, 32);
    return padded;
  });
  const signatureParts: Buffer[] = [word(n)];
  offset = 32 * n;
  for (const s of signatures) {
    signatureParts.push(word(offset));
    offset += s.length;
  }
  const head = Buffer.concat([settleSelector, word(64), word(64 + orders.length)]);
  return "0x" + Buffer.concat([head, orders, ...signatureParts, ...signatures]).toString("hex");
}

/** Signs an order as its requester (an EOA). */
export async function signOrder(signer: Signer, order: Order, chainId: bigint | number): Promise<SignedOrder> {
  const signature = await signer.signTypedData(orderDomain(chainId, order.service), ORDER_TYPES, typedValue(order));
  return { order, signature };
}

/**
 * Signs an order with a raw private key (0x and 64 hex digits) and the native secp256k1: the same
 * signature as `signOrder` (RFC 6979, low s, v = 27 or 28), about a hundred times faster, for
 * signing many orders (benchmarks, a victim agent holding its key).
 */
export function signOrderWithKey(privateKeyHex: string, order: Order, chainId: bigint | number): SignedOrder {
  if (!/^0x[0-9a-fA-F]{64}$/.test(privateKeyHex)) throw new OperatorError("A private key is 0x and 64 hex digits.");
  const hash = hashOrder(order, chainId);
  const { signature, recid } = ecdsaSign(Buffer.from(hash.slice(2), "hex"), Buffer.from(privateKeyHex.slice(2), "hex"));
  return { order, signature: "0x" + Buffer.from(signature).toString("hex") + (27 + recid).toString(16) };
}

/**
 * The address whose key made `signature` (65 bytes, low s) over `hash`, with the native secp256k1
 * (tens of thousands a second, where pure JavaScript does a few thousand); null when it is not a
 * valid low-s signature.
 */
export function recoverOrderSigner(hash: string, signature: string): string | null {
  const hex = recoverSignerHex(hash, signature);
  return hex === null ? null : checksumHex(hex);
}

/**
 * True when `signature` over `hash` was made by `address`'s key (any case): `recoverOrderSigner`
 * without the checksum's keccak, for the intake's check of every order posted.
 */
export function isOrderSignedBy(hash: string, signature: string, address: string): boolean {
  const hex = recoverSignerHex(hash, signature);
  return hex !== null && hex === address.slice(2).toLowerCase();
}

/** The signer's address as 40 lower-case hex digits, or null (see `recoverOrderSigner`). */
function recoverSignerHex(hash: string, signature: string): string | null {
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
    return keccak256Bytes(publicKey.subarray(1)).subarray(12).toString("hex");
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

/** Prefixes already parsed, by their text (frozen: shared by every order that names them). */
const parsedPrefixes = new Remembered<string, Readonly<Prefix>>();

function prefixOf(text: string, what: string): Prefix {
  return parsedPrefixes.get(text, () => {
    try {
      return Object.freeze(parsePrefix(text, { allowAddress: true }));
    } catch (error) {
      throw new OperatorError(`The order's ${what}: ${(error as Error).message}`);
    }
  });
}

/** Addresses already checked, by their text: an intake sees the same service and victims again and again. */
const checkedAccounts = new Remembered<string, string>();

function account(text: string, what: string): string {
  return checkedAccounts.get(text, () => {
    try {
      return parseAccount(text, what);
    } catch (error) {
      throw new OperatorError((error as Error).message);
    }
  });
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

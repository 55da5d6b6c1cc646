/**
 * The browser-safe part of signed orders (the dashboard decodes settlements with it): the order's
 * fields, its EIP-712 types and domain, its hash by ethers' TypedDataEncoder (slow, about half a
 * millisecond; `hashOrder` in ./orders is the fast native one) and the request id it runs under.
 */
import { TypedDataEncoder, getAddress, type TypedDataDomain } from "ethers";

import type { Prefix } from "../prefix";

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

/** The domain of one service on one chain: an order signed for it is settled only there. */
export function orderDomain(chainId: bigint | number, service: string): TypedDataDomain {
  return { name: ORDER_DOMAIN_NAME, version: ORDER_DOMAIN_VERSION, chainId, verifyingContract: service };
}

export function typedValue(order: Order): Record<string, unknown> {
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

/** The EIP-712 hash of an order with ethers alone (no native module): equal to `hashOrder`'s. */
export function hashOrderTyped(order: Order, chainId: bigint | number): string {
  return TypedDataEncoder.hash(orderDomain(chainId, order.service), ORDER_TYPES, typedValue(order));
}

/** An order from the contract's `Order` struct as ethers decodes it (calldata, a call's result). */
export function fromOrderStruct(struct: {
  service: string;
  requester: string;
  offeringId: bigint;
  target: { network: bigint; prefixLength: bigint };
  sources: readonly { network: bigint; prefixLength: bigint }[];
  duration: bigint;
  maxPrice: bigint;
  expiry: bigint;
  salt: bigint;
}): Order {
  const prefix = (p: { network: bigint; prefixLength: bigint }): Prefix => ({
    network: p.network,
    length: Number(p.prefixLength),
  });
  return {
    service: getAddress(struct.service),
    requester: getAddress(struct.requester),
    offeringId: Number(struct.offeringId),
    target: prefix(struct.target),
    sources: struct.sources.map(prefix),
    duration: Number(struct.duration),
    maxPrice: struct.maxPrice,
    expiry: Number(struct.expiry),
    salt: struct.salt,
  };
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

/**
 * Worker thread that signs orders as their victims: the victims' keys arrive once, then batches
 * of orders; it answers with each order's hash and the JSON body a victim POSTs to the intake.
 * Two ways, to compare: "native" (hand-made EIP-712 encoding over the native keccak, native
 * secp256k1: `signOrderWithKey`) and "ethers" (ethers' EIP-712 encoder and SigningKey, what
 * `signOrder` does inside, without its asynchronous wrapper).
 */
import { parentPort, workerData } from "node:worker_threads";
import { SigningKey, TypedDataEncoder } from "ethers";

import {
  ORDER_TYPES,
  hashOrder,
  orderDomain,
  signOrderWithKey,
  toOrderJson,
  toOrderStruct,
  type Order,
} from "../../../src/clients/orders";
import { serveJobs } from "../workerPool";
import type { OrderSignContext, OrderToSign, SignedOrderBody } from "./plan";

if (parentPort === null) throw new Error("orderWorker.ts must run in a worker thread");
const keys = (workerData as { keys: string[] }).keys;
const signingKeys = keys.map((key) => new SigningKey(key));

function signNative(key: number, order: Order, chainId: bigint): SignedOrderBody {
  const signed = signOrderWithKey(keys[key], order, chainId);
  return { hash: hashOrder(order, chainId), body: JSON.stringify(toOrderJson(signed)) };
}

function signEthers(key: number, order: Order, chainId: bigint): SignedOrderBody {
  const hash = TypedDataEncoder.hash(orderDomain(chainId, order.service), ORDER_TYPES, toOrderStruct(order));
  const signature = signingKeys[key].sign(hash).serialized;
  return { hash, body: JSON.stringify(toOrderJson({ order, signature })) };
}

serveJobs<OrderToSign, SignedOrderBody>(parentPort, (items, context) => {
  const { chainId, method } = context as OrderSignContext;
  const sign = method === "native" ? signNative : signEthers;
  return items.map(({ key, order }) => sign(key, order, chainId));
});

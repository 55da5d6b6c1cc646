/**
 * Splitting a purchase into request transactions that each stay under a gas limit. One
 * `requestMany` carries any number of orders, but its gas grows with them (about 100,000 per
 * order, docs/gas.md) and a transaction must fit in a block (and, after EIP-7825, under
 * 2^24 gas): a thousand orders take several transactions.
 */
import { gasLimitFor } from "../clients/preflight";

/**
 * What a request costs, rounded up from the measured gas of `requestMany` on the Hardhat network
 * (test/agents/batches.test.ts holds the model above the chain): the transaction (with the
 * directory's own work), each order (escrow, the request's storage, its event: a service's first
 * request, with fresh storage, is the dearest at about 86,000), each attack source (calldata and
 * event data, about 2,100). It sizes batches; it does not price them.
 */
export const REQUEST_GAS = {
  transaction: 50_000n,
  order: 100_000n,
  source: 3_000n,
} as const;

/** The most gas one request transaction is given by default: half of a 30M block, under 2^24. */
export const DEFAULT_MAX_GAS_PER_TRANSACTION = 15_000_000n;

/** The modelled gas of one order with its sources. */
export function orderGas(order: { sources: readonly unknown[] }): bigint {
  return REQUEST_GAS.order + REQUEST_GAS.source * BigInt(order.sources.length);
}

/**
 * Splits `orders`, in their order, into as few consecutive groups as fit: a group's modelled gas,
 * with the margin the PreflightSigner adds to an estimate, stays within `maxGas`.
 */
export function splitByGas<T extends { sources: readonly unknown[] }>(
  orders: readonly T[],
  maxGas: bigint,
  gasOf: (order: T) => bigint = orderGas,
): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let gas = REQUEST_GAS.transaction;
  for (const order of orders) {
    const cost = gasOf(order);
    if (gasLimitFor(REQUEST_GAS.transaction + cost) > maxGas) {
      throw new Error(
        `One order (${order.sources.length} sources) needs about ${REQUEST_GAS.transaction + cost} gas with its ` +
          `transaction, more than the ${maxGas} allowed per transaction: raise the limit or split its sources.`,
      );
    }
    if (group.length > 0 && gasLimitFor(gas + cost) > maxGas) {
      groups.push(group);
      group = [];
      gas = REQUEST_GAS.transaction;
    }
    group.push(order);
    gas += cost;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * The market as the dashboard sees it, rebuilt from the system's events: services and their
 * offerings (with price history), coverage, every request and its life, ratings and token
 * transfers. Browser-safe: the web app runs it; the tests feed it real logs.
 */
import { getAddress, type Log } from "ethers";

import {
  MitigationToken__factory,
  ProviderServiceContract__factory,
  ServiceDirectory__factory,
} from "../../typechain-types";
import { fromOrderStruct, hashOrderTyped, type Order } from "../clients/order-terms";
import {
  MITIGATION_KINDS,
  REQUEST_STATUSES,
  parseServiceLog,
  toRequestedEvent,
  type MitigationKindName,
  type RequestStatusName,
  type RequestedEvent,
} from "../clients/market";

/** The logs of a range of blocks up to `toBlock`, in chain order, with the time of their blocks. */
export interface ChainBatch {
  logs: readonly Log[];
  /** Unix seconds of every block that has logs, and of `toBlock`. */
  times: ReadonlyMap<number, number>;
  toBlock: number;
  /**
   * The transactions that settled signed orders in these logs (`settleOrders`), by hash: their
   * calldata and chain id, or null when the node did not return one (the order then shows without
   * its target and sources).
   */
  settlements?: ReadonlyMap<string, SettlementTransaction | null>;
}

/** What the model needs of a settlement transaction (eth_getTransactionByHash). */
export interface SettlementTransaction {
  data: string;
  chainId: bigint;
}

export interface PricePoint {
  block: number;
  time: number;
  pricePerHour: bigint;
}

export interface OfferingState {
  id: number;
  kind: MitigationKindName;
  pricePerHour: bigint;
  maxDuration: number;
  capacity: number;
  active: boolean;
  /** Every price the offering had, from its creation on. */
  prices: PricePoint[];
}

export interface ServiceState {
  address: string;
  provider: string;
  block: number;
  offerings: OfferingState[];
  asns: Set<number>;
  ratings: number[];
}

/** A DOTS mitigation status report (RFC 9132 status codes) with drop counters. */
export interface StatusReport {
  status: number;
  bytesDropped: bigint;
  packetsDropped: bigint;
  block: number;
  time: number;
}

/**
 * One row of the Live view: a mitigation and its life. Requests start pending; a settled signed
 * order (OrderSettled) is a row of kind "order" that starts acknowledged (answered in the block it
 * was requested in, with no response time) and lives on exactly as an acknowledged request
 * (status reports, withdrawal, rating). An order's target and sources come from its settlement's
 * calldata: without it, `target` is undefined and `sources` empty.
 */
export interface MitigationRow extends Omit<RequestedEvent, "target"> {
  kind: "request" | "order";
  target: RequestedEvent["target"] | undefined;
  /** `service/requestId`, unique in the market. */
  key: string;
  status: RequestStatusName;
  /** When it was requested (its block's time). */
  time: number;
  /** When the provider answered (acknowledged or rejected). */
  answeredBlock?: number;
  answeredAt?: number;
  startedAt?: number;
  endsAt?: number;
  rejectReason?: number;
  reports: StatusReport[];
  attackStatus?: number;
  rating?: number;
  /** Date.now() when this model first saw the row, and when it last changed. */
  seenAt: number;
  changedAt: number;
}

export interface TransferRecord {
  block: number;
  time: number;
  from: string;
  to: string;
  value: bigint;
}

const DIRECTORY = ServiceDirectory__factory.createInterface();
const TOKEN = MitigationToken__factory.createInterface();
const TRANSFER_TOPIC = TOKEN.getEvent("Transfer").topicHash;
const SERVICE = ProviderServiceContract__factory.createInterface();
export const SERVICE_CREATED_TOPIC = DIRECTORY.getEvent("ServiceCreated").topicHash;
export const ORDER_SETTLED_TOPIC = SERVICE.getEvent("OrderSettled").topicHash;

/** The orders a `settleOrders` call carries, by their hash; empty when it is not one. */
export function settledOrders(tx: SettlementTransaction): Map<string, Order> {
  const byHash = new Map<string, Order>();
  const call = SERVICE.parseTransaction({ data: tx.data });
  if (call === null || call.name !== "settleOrders") return byHash;
  for (const struct of call.args.orders as Parameters<typeof fromOrderStruct>[0][]) {
    const order = fromOrderStruct(struct);
    byHash.set(hashOrderTyped(order, tx.chainId), order);
  }
  return byHash;
}

function bigintOf(value: unknown): bigint {
  if (typeof value !== "bigint") throw new Error(`Expected an integer in an event, got ${String(value)}.`);
  return value;
}
const numberOf = (value: unknown) => Number(bigintOf(value));
function addressOf(value: unknown): string {
  if (typeof value !== "string") throw new Error(`Expected an address in an event, got ${String(value)}.`);
  return getAddress(value);
}

export class MarketModel {
  readonly services = new Map<string, ServiceState>();
  readonly rows = new Map<string, MitigationRow>();
  readonly transfers: TransferRecord[] = [];
  /** Orders skipped at settlement (OrderSkipped), by service. */
  readonly skippedOrders = new Map<string, number>();
  /** The decoded orders of the settlement transactions seen, by transaction hash. */
  private readonly settlementOrders = new Map<string, Map<string, Order>>();
  /** The last block applied and its time. */
  head = { block: -1, time: 0 };

  constructor(
    private readonly addresses: { directory: string; token: string },
    private readonly now: () => number = Date.now,
  ) {}

  /** The service with this address (any case), if the directory created it. */
  service(address: string): ServiceState | undefined {
    return this.services.get(getAddress(address));
  }

  apply(batch: ChainBatch): void {
    const directory = getAddress(this.addresses.directory);
    const token = getAddress(this.addresses.token);
    for (const log of batch.logs) {
      const time = batch.times.get(log.blockNumber) ?? this.head.time;
      const address = getAddress(log.address);
      if (address === directory) this.applyDirectory(log);
      else if (address === token) this.applyToken(log, time);
      else if (this.services.has(address)) this.applyService(address, log, time, batch.settlements);
    }
    this.head = { block: batch.toBlock, time: batch.times.get(batch.toBlock) ?? this.head.time };
  }

  private applyDirectory(log: Log): void {
    const parsed = DIRECTORY.parseLog(log);
    if (parsed === null) return;
    const { args } = parsed;
    if (parsed.name === "ServiceCreated") {
      const address = addressOf(args.service);
      this.services.set(address, {
        address,
        provider: addressOf(args.provider),
        block: log.blockNumber,
        offerings: [],
        asns: new Set(),
        ratings: [],
      });
    } else if (parsed.name === "CoverageAdded") {
      this.service(addressOf(args.service))?.asns.add(numberOf(args.asn));
    } else if (parsed.name === "CoverageRemoved") {
      this.service(addressOf(args.service))?.asns.delete(numberOf(args.asn));
    }
  }

  private applyToken(log: Log, time: number): void {
    if (log.topics[0] !== TRANSFER_TOPIC) return;
    const parsed = TOKEN.parseLog(log);
    if (parsed === null) return;
    const { from, to, value } = parsed.args;
    this.transfers.push({
      block: log.blockNumber,
      time,
      from: addressOf(from),
      to: addressOf(to),
      value: bigintOf(value),
    });
  }

  /** The order with this hash in its settlement transaction, if that transaction could be read. */
  private settledOrder(log: Log, orderHash: string, settlements: ChainBatch["settlements"]): Order | undefined {
    let orders = this.settlementOrders.get(log.transactionHash);
    if (orders === undefined) {
      const tx = settlements?.get(log.transactionHash);
      if (tx == null) return undefined;
      try {
        orders = settledOrders(tx);
      } catch {
        // Calldata that does not decode: the row shows without its target and sources.
        orders = new Map();
      }
      this.settlementOrders.set(log.transactionHash, orders);
    }
    return orders.get(orderHash.toLowerCase());
  }

  private applyService(address: string, log: Log, time: number, settlements: ChainBatch["settlements"]): void {
    const parsed = parseServiceLog(log);
    if (parsed === null) return;
    const service = this.services.get(address)!;
    const { args } = parsed;
    const block = log.blockNumber;
    const row = () => this.rows.get(rowKey(address, bigintOf(args.requestId)));
    switch (parsed.name) {
      case "OfferingAdded": {
        const pricePerHour = bigintOf(args.pricePerHour);
        service.offerings[numberOf(args.offeringId)] = {
          id: numberOf(args.offeringId),
          kind: MITIGATION_KINDS[numberOf(args.kind)],
          pricePerHour,
          maxDuration: numberOf(args.maxDuration),
          capacity: numberOf(args.capacity),
          active: true,
          prices: [{ block, time, pricePerHour }],
        };
        break;
      }
      case "OfferingUpdated": {
        const offering = service.offerings[numberOf(args.offeringId)];
        if (offering === undefined) break;
        offering.pricePerHour = bigintOf(args.pricePerHour);
        offering.maxDuration = numberOf(args.maxDuration);
        offering.capacity = numberOf(args.capacity);
        offering.prices.push({ block, time, pricePerHour: offering.pricePerHour });
        break;
      }
      case "OfferingActivationChanged": {
        const offering = service.offerings[numberOf(args.offeringId)];
        if (offering !== undefined) offering.active = Boolean(args.active);
        break;
      }
      case "MitigationRequested": {
        const event = toRequestedEvent(address, args, block, log.transactionHash);
        const now = this.now();
        const key = rowKey(address, event.requestId);
        this.rows.set(key, {
          kind: "request",
          key,
          ...event,
          status: "pending",
          time,
          reports: [],
          seenAt: now,
          changedAt: now,
        });
        break;
      }
      case "OrderSettled": {
        const requestId = bigintOf(args.requestId);
        const orderHash = String(args.orderHash);
        const order = this.settledOrder(log, orderHash, settlements);
        const now = this.now();
        const key = rowKey(address, requestId);
        const startedAt = numberOf(args.startedAt);
        const endsAt = numberOf(args.endsAt);
        this.rows.set(key, {
          kind: "order",
          key,
          service: address,
          requestId,
          requester: getAddress("0x" + (requestId >> 64n).toString(16).padStart(40, "0")),
          offeringId: numberOf(args.offeringId),
          target: order?.target,
          sources: order?.sources ?? [],
          duration: endsAt - startedAt,
          price: bigintOf(args.price),
          // Never pending: settled acknowledged, so no acknowledgement deadline applies.
          ackDeadline: startedAt,
          blockNumber: block,
          transactionHash: log.transactionHash,
          status: "acknowledged",
          time,
          answeredBlock: block,
          answeredAt: time,
          startedAt,
          endsAt,
          reports: [],
          seenAt: now,
          changedAt: now,
        });
        break;
      }
      case "OrderSkipped":
        this.skippedOrders.set(address, (this.skippedOrders.get(address) ?? 0) + 1);
        break;
      case "MitigationAcknowledged":
        this.change(row(), "acknowledged", (r) => {
          r.answeredBlock = block;
          r.answeredAt = time;
          r.startedAt = numberOf(args.startedAt);
          r.endsAt = numberOf(args.endsAt);
        });
        break;
      case "MitigationRejected":
        this.change(row(), "rejected", (r) => {
          r.answeredBlock = block;
          r.answeredAt = time;
          r.rejectReason = numberOf(args.reason);
        });
        break;
      case "MitigationReclaimed":
        this.change(row(), "reclaimed");
        break;
      case "MitigationWithdrawn":
        this.change(row(), "withdrawn", (r) => (r.endsAt = numberOf(args.endedAt)));
        break;
      case "MitigationStatusReported":
        this.change(row(), undefined, (r) =>
          r.reports.push({
            status: numberOf(args.status),
            bytesDropped: bigintOf(args.bytesDropped),
            packetsDropped: bigintOf(args.packetsDropped),
            block,
            time,
          }),
        );
        break;
      case "AttackStatusReported":
        this.change(row(), undefined, (r) => (r.attackStatus = numberOf(args.attackStatus)));
        break;
      case "MitigationRated": {
        const rating = numberOf(args.rating);
        service.ratings.push(rating);
        this.change(row(), undefined, (r) => (r.rating = rating));
        break;
      }
    }
  }

  private change(
    row: MitigationRow | undefined,
    status: RequestStatusName | undefined,
    update: (row: MitigationRow) => void = () => undefined,
  ): void {
    if (row === undefined) return;
    if (status !== undefined) row.status = status;
    update(row);
    row.changedAt = this.now();
  }
}

export function rowKey(service: string, requestId: bigint): string {
  return `${getAddress(service)}/${requestId.toString()}`;
}

/** The status names, for filters and legends. */
export const ROW_STATUSES: readonly RequestStatusName[] = REQUEST_STATUSES.slice(1);

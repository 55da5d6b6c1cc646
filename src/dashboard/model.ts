/**
 * The market as the dashboard sees it, rebuilt from the system's events: services and their
 * offerings (with price history), coverage, every request and its life, ratings and token
 * transfers. Browser-safe: the web app runs it; the tests feed it real logs.
 */
import { getAddress, type Log } from "ethers";

import { MitigationToken__factory, ServiceDirectory__factory } from "../../typechain-types";
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
 * order (OrderSettled, coming with the contracts' orders) will be a row of kind "order" that starts
 * acknowledged, and lives on exactly as an acknowledged request (status reports, withdrawal, rating).
 */
export interface MitigationRow extends RequestedEvent {
  kind: "request";
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
export const SERVICE_CREATED_TOPIC = DIRECTORY.getEvent("ServiceCreated").topicHash;

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
      else if (this.services.has(address)) this.applyService(address, log, time);
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

  private applyService(address: string, log: Log, time: number): void {
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

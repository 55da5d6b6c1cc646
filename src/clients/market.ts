/** The market, in operator terms: services, offerings, coverage, and the request life cycle. */
import {
  EventFragment,
  MaxUint256,
  type ContractRunner,
  type ContractTransactionReceipt,
  type LogDescription,
  type Signer,
} from "ethers";

import {
  ProviderServiceContract__factory,
  type IProviderServiceContract,
  type MitigationToken,
  type ProviderServiceContract,
  type ServiceDirectory,
} from "../../typechain-types";
import { parseAsn } from "../asn";
import { OperatorError, explained, toOperatorError } from "../errors";
import { parseAddress, parsePrefix, type Prefix } from "../prefix";
import { staticEventDecoder, type RawLog } from "./eventDecoder";
import { PreflightSigner } from "./preflight";
import { parseAccount } from "./registry";
import { send } from "./tx";

export const MITIGATION_KINDS = ["flow-filtering", "rate-limiting", "blackholing", "scrubbing"] as const;
export type MitigationKindName = (typeof MITIGATION_KINDS)[number];

export const REQUEST_STATUSES = [
  "none",
  "pending",
  "acknowledged",
  "rejected",
  "reclaimed",
  "withdrawn",
  "cancelled",
] as const;
export type RequestStatusName = (typeof REQUEST_STATUSES)[number];

/** DOTS mitigation status codes (RFC 9132 §5.3.3). */
export const DOTS_STATUS = {
  inProgress: 1,
  successfullyMitigated: 2,
  attackStopped: 3,
  attackExceedsCapacity: 4,
  terminating: 5,
  terminated: 6,
  withdrawnByProvider: 7,
  rejected: 8,
} as const;

/** Reason codes a provider gives when it rejects. */
export const REJECT_REASON = {
  unspecified: 0,
  capacity: 1,
  policy: 2,
  notVerified: 3,
  sourcesNotInNetwork: 4,
} as const;

export interface OfferingTerms {
  kind: MitigationKindName;
  /** Base units of the token per hour. */
  pricePerHour: bigint;
  /** Seconds. */
  maxDuration: number;
  capacity: number;
}

export interface OfferingInfo extends OfferingTerms {
  id: number;
  active: boolean;
}

/** What a victim orders from one service. */
export interface MitigationOrder {
  service: string;
  offeringId: number;
  /** The attacked prefix (CIDR), which the requester must hold. */
  target: string | Prefix;
  /** Attack source prefixes or addresses. */
  sources: readonly (string | Prefix)[];
  /** Seconds of mitigation. */
  duration: number;
  /** The most the victim pays, in base units. */
  maxPrice: bigint;
  /** Unix time by which the provider must acknowledge. */
  ackDeadline: number;
}

export interface RequestInfo {
  service: string;
  requestId: bigint;
  requester: string;
  price: bigint;
  ackDeadline: number;
  startedAt: number;
  endsAt: number;
  duration: number;
  offeringId: number;
  status: RequestStatusName;
  rating: number;
}

/** A request as its MitigationRequested event describes it. */
export interface RequestedEvent {
  service: string;
  requestId: bigint;
  requester: string;
  offeringId: number;
  target: Prefix;
  sources: Prefix[];
  duration: number;
  price: bigint;
  ackDeadline: number;
  blockNumber: number;
  transactionHash: string;
}

const SERVICE_INTERFACE = ProviderServiceContract__factory.createInterface();
/**
 * The service's events by topic, each with its decoder: words read directly for events of static
 * fields (src/clients/eventDecoder.ts), ethers for the others. Interface.parseLog hashes every
 * event's signature for each log.
 */
const SERVICE_EVENTS = new Map(
  SERVICE_INTERFACE.fragments
    .filter((f) => EventFragment.isFragment(f))
    .map((fragment) => {
      const decode =
        staticEventDecoder(fragment) ??
        ((log: RawLog) => SERVICE_INTERFACE.decodeEventLog(fragment, log.data, log.topics));
      return [fragment.topicHash, { name: fragment.name, decode }] as const;
    }),
);

/** A service contract's log decoded (as Interface.parseLog does), or null if it is none of its events. */
export function parseServiceLog(log: RawLog): Pick<LogDescription, "name" | "args"> | null {
  const event = log.topics.length > 0 ? SERVICE_EVENTS.get(log.topics[0]) : undefined;
  if (!event) return null;
  return { name: event.name, args: event.decode(log) };
}

/**
 * One contract object per service address for the whole process: building one parses the whole
 * ABI, connecting it to another runner does not.
 */
const SERVICE_CONTRACTS = new Map<string, ProviderServiceContract>();

/** A prefix given as CIDR text or already parsed; `allowAddress` for attack sources. */
export function asPrefix(value: string | Prefix, allowAddress = false): Prefix {
  return typeof value === "string" ? parsePrefix(value, { allowAddress }) : value;
}

/** The price of `duration` seconds at `pricePerHour`, rounded up as the contract rounds it. */
export function priceOf(pricePerHour: bigint, duration: number): bigint {
  return (pricePerHour * BigInt(duration) + 3599n) / 3600n;
}

/**
 * Simulates a request before any approval is sent: the contracts check everything else before
 * they pull the escrow, so a missing allowance is the only refusal that approving can cure.
 */
async function simulateBeforeApproving(simulate: () => Promise<unknown>): Promise<void> {
  try {
    await simulate();
  } catch (error) {
    const explained = toOperatorError(error);
    if (explained.errorName !== "ERC20InsufficientAllowance") throw explained;
  }
}

/** Converts an order to the contract's parameters, validating every field first. */
export function toRequestParams(order: MitigationOrder): IProviderServiceContract.RequestParamsStruct {
  const target = asPrefix(order.target);
  if (order.sources.length === 0) throw new Error("A request needs at least one attack source.");
  const sources = order.sources.map((s) => asPrefix(s, true));
  if (!Number.isInteger(order.duration) || order.duration <= 0 || order.duration > 0xffffffff) {
    throw new Error(`A duration of ${order.duration} s is not valid: give a whole number of seconds above zero.`);
  }
  if (order.maxPrice < 0n) throw new Error("The maximum price cannot be negative.");
  if (!Number.isInteger(order.offeringId) || order.offeringId < 0) {
    throw new Error(`"${order.offeringId}" is not an offering id.`);
  }
  return {
    offeringId: order.offeringId,
    target: { network: target.network, prefixLength: target.length },
    sources: sources.map((s) => ({ network: s.network, prefixLength: s.length })),
    duration: order.duration,
    maxPrice: order.maxPrice,
    ackDeadline: order.ackDeadline,
  };
}

/** The MitigationRequested events of a receipt, from any service. */
export function requestedEvents(receipt: ContractTransactionReceipt): RequestedEvent[] {
  const events: RequestedEvent[] = [];
  for (const log of receipt.logs) {
    const parsed = parseServiceLog(log);
    if (parsed?.name !== "MitigationRequested") continue;
    events.push(toRequestedEvent(log.address, parsed.args, log.blockNumber, log.transactionHash));
  }
  return events;
}

/** Builds a RequestedEvent from a MitigationRequested log's arguments. */
export function toRequestedEvent(
  service: string,
  args: ReadonlyArray<unknown> & Record<string, unknown>,
  blockNumber: number,
  transactionHash: string,
): RequestedEvent {
  const target = args.target as { network: bigint; prefixLength: bigint };
  const sources = args.sources as { network: bigint; prefixLength: bigint }[];
  return {
    service,
    requestId: args.requestId as bigint,
    requester: args.requester as string,
    offeringId: Number(args.offeringId),
    target: { network: target.network, length: Number(target.prefixLength) },
    sources: sources.map((s) => ({ network: s.network, length: Number(s.prefixLength) })),
    duration: Number(args.duration),
    price: args.price as bigint,
    ackDeadline: Number(args.ackDeadline),
    blockNumber,
    transactionHash,
  };
}

/** Every offering of a service, by eth_call (any runner: no signer needed). */
export async function readOfferings(service: ProviderServiceContract): Promise<OfferingInfo[]> {
  const count = Number(await explained(() => service.offeringCount()));
  const ids = Array.from({ length: count }, (_, i) => i);
  return Promise.all(
    ids.map(async (id) => {
      const o = await explained(() => service.offering(id));
      return {
        id,
        kind: MITIGATION_KINDS[Number(o.kind)],
        pricePerHour: o.pricePerHour,
        maxDuration: Number(o.maxDuration),
        capacity: Number(o.capacity),
        active: o.active,
      };
    }),
  );
}

export class MarketClient {
  readonly directory: ServiceDirectory;
  readonly token: MitigationToken;
  readonly runner: Signer;
  /** Service contracts bound to `runner`, by address. */
  private readonly services = new Map<string, ProviderServiceContract>();

  /**
   * A client acting as `signer`. Every transaction is simulated first (PreflightSigner), so a
   * call the contracts would refuse is never sent, on any network.
   */
  constructor(directory: ServiceDirectory, token: MitigationToken, signer: Signer) {
    this.runner = signer instanceof PreflightSigner ? signer : new PreflightSigner(signer);
    this.directory = directory.connect(this.runner);
    this.token = token.connect(this.runner);
  }

  /** The same client acting as another account. */
  as(signer: Signer): MarketClient {
    return new MarketClient(this.directory, this.token, signer);
  }

  service(address: string, runner: ContractRunner = this.runner): ProviderServiceContract {
    const checked = parseAccount(address, "service");
    let base = SERVICE_CONTRACTS.get(checked);
    if (!base) {
      base = ProviderServiceContract__factory.connect(checked);
      SERVICE_CONTRACTS.set(checked, base);
    }
    if (runner !== this.runner) return base.connect(runner);
    let service = this.services.get(checked);
    if (!service) {
      service = base.connect(runner);
      this.services.set(checked, service);
    }
    return service;
  }

  /** Creates the caller's service contract and returns its address. */
  async createService(): Promise<string> {
    const me = await this.runner.getAddress();
    await send(() => this.directory.createService());
    return this.directory.serviceOf(me);
  }

  /** The caller's service, or an error saying it has none. */
  async myService(): Promise<string> {
    const me = await this.runner.getAddress();
    const service = await this.directory.serviceOf(me);
    if (service === "0x0000000000000000000000000000000000000000") {
      throw new OperatorError(`${me} has no service contract: create one first.`);
    }
    return service;
  }

  async addOffering(terms: OfferingTerms): Promise<number> {
    const kind = MITIGATION_KINDS.indexOf(terms.kind);
    if (kind < 0) throw new Error(`"${terms.kind}" is not a mitigation kind: use ${MITIGATION_KINDS.join(", ")}.`);
    const service = this.service(await this.myService());
    const receipt = await send(() => service.addOffering(kind, terms.pricePerHour, terms.maxDuration, terms.capacity));
    for (const log of receipt.logs) {
      const parsed = parseServiceLog(log);
      if (parsed?.name === "OfferingAdded") return Number(parsed.args.offeringId as bigint);
    }
    throw new OperatorError("The offering was added but no OfferingAdded event was found.");
  }

  async updateOffering(offeringId: number, terms: Omit<OfferingTerms, "kind">): Promise<ContractTransactionReceipt> {
    const service = this.service(await this.myService());
    return send(() => service.updateOffering(offeringId, terms.pricePerHour, terms.maxDuration, terms.capacity));
  }

  async setOfferingActive(offeringId: number, active: boolean): Promise<ContractTransactionReceipt> {
    const service = this.service(await this.myService());
    return send(() => service.setOfferingActive(offeringId, active));
  }

  /** Publishes the caller's order intake URL on its service ("" to take no orders). */
  async setOrderEndpoint(url: string): Promise<ContractTransactionReceipt> {
    const service = this.service(await this.myService());
    return send(() => service.setOrderEndpoint(url));
  }

  /** The order intake URL a service publishes; "" when its provider takes no orders. */
  orderEndpoint(serviceAddress: string): Promise<string> {
    return explained(() => this.service(serviceAddress).orderEndpoint());
  }

  offerings(serviceAddress: string): Promise<OfferingInfo[]> {
    return readOfferings(this.service(serviceAddress));
  }

  addCoverage(asns: readonly (number | string)[]): Promise<ContractTransactionReceipt> {
    const numbers = asns.map((a) => parseAsn(a));
    if (numbers.length === 0) throw new Error("Give at least one AS number to cover.");
    return send(() => this.directory.addCoverage(numbers));
  }

  removeCoverage(asns: readonly (number | string)[]): Promise<ContractTransactionReceipt> {
    const numbers = asns.map((a) => parseAsn(a));
    if (numbers.length === 0) throw new Error("Give at least one AS number to stop covering.");
    return send(() => this.directory.removeCoverage(numbers));
  }

  servicesForAsn(asn: number | string): Promise<string[]> {
    const number = parseAsn(asn);
    return explained(async () => [...(await this.directory.servicesForAsn(number))]);
  }

  /** Registry longest-prefix match → origin AS → services. originAsn is 0 when nothing matched. */
  async servicesForAddress(address: string | bigint): Promise<{ originAsn: number; services: string[] }> {
    const addr = typeof address === "bigint" ? address : parseAddress(address);
    const [originAsn, services] = await explained(() => this.directory.servicesForAddress(addr));
    return { originAsn: Number(originAsn), services: [...services] };
  }

  quote(serviceAddress: string, offeringId: number, duration: number): Promise<bigint> {
    const service = this.service(serviceAddress);
    return explained(() => service.quote(offeringId, duration));
  }

  /** Approves `spender` for at least `amount`, sending a transaction only when needed. */
  async ensureAllowance(spender: string, amount: bigint): Promise<void> {
    await this.approveIfShort(spender, amount);
  }

  /**
   * Approves `spender` for `amount` when its allowance is short, after `simulate` shows that the
   * allowance is all that is missing (nothing is approved for a call that would fail anyway).
   * With enough allowance nothing is simulated here: the PreflightSigner simulates the call itself.
   */
  private async approveIfShort(spender: string, amount: bigint, simulate?: () => Promise<unknown>): Promise<void> {
    const owner = await this.runner.getAddress();
    const allowance = await this.token.allowance(owner, spender);
    if (allowance >= amount) return;
    if (simulate) await simulateBeforeApproving(simulate);
    await send(() => this.token.approve(spender, amount));
  }

  /** Requests from one service, approving it for the maximum price first if needed. */
  async request(order: MitigationOrder): Promise<{ event: RequestedEvent; receipt: ContractTransactionReceipt }> {
    const params = toRequestParams(order);
    const service = this.service(order.service);
    await this.approveIfShort(order.service, order.maxPrice, () => service.request.staticCall(params));
    const receipt = await send(() => service.request(params));
    const [event] = requestedEvents(receipt);
    return { event, receipt };
  }

  /**
   * Requests from several services in one transaction through the directory, approving the
   * directory for the sum of the maximum prices first if needed. Each escrow stays separate.
   */
  async requestMany(
    orders: readonly MitigationOrder[],
  ): Promise<{ events: RequestedEvent[]; receipt: ContractTransactionReceipt }> {
    if (orders.length === 0) throw new Error("Give at least one order.");
    const requests = orders.map((order) => ({
      service: parseAccount(order.service, "service"),
      params: toRequestParams(order),
    }));
    const total = orders.reduce((sum, o) => sum + o.maxPrice, 0n);
    await this.approveIfShort(await this.directory.getAddress(), total, () =>
      this.directory.requestMany.staticCall(requests),
    );
    const receipt = await send(() => this.directory.requestMany(requests));
    return { events: requestedEvents(receipt), receipt };
  }

  async getRequest(serviceAddress: string, requestId: bigint): Promise<RequestInfo> {
    const service = this.service(serviceAddress);
    const r = await explained(() => service.getRequest(requestId));
    return {
      service: serviceAddress,
      requestId,
      requester: r.requester,
      price: r.price,
      ackDeadline: Number(r.ackDeadline),
      startedAt: Number(r.startedAt),
      endsAt: Number(r.endsAt),
      duration: Number(r.duration),
      offeringId: Number(r.offeringId),
      status: REQUEST_STATUSES[Number(r.status)],
      rating: Number(r.rating),
    };
  }

  acknowledge(serviceAddress: string, requestId: bigint): Promise<ContractTransactionReceipt> {
    return send(() => this.service(serviceAddress).acknowledge(requestId));
  }

  acknowledgeBatch(serviceAddress: string, requestIds: readonly bigint[]): Promise<ContractTransactionReceipt> {
    if (requestIds.length === 0) throw new Error("Give at least one request id to acknowledge.");
    return send(() => this.service(serviceAddress).acknowledgeBatch([...requestIds]));
  }

  reject(serviceAddress: string, requestId: bigint, reason: number): Promise<ContractTransactionReceipt> {
    if (!Number.isInteger(reason) || reason < 0 || reason > 255) {
      throw new Error(`Reject reason ${reason} is not a code from 0 to 255.`);
    }
    return send(() => this.service(serviceAddress).reject(requestId, reason));
  }

  reclaim(serviceAddress: string, requestId: bigint): Promise<ContractTransactionReceipt> {
    return send(() => this.service(serviceAddress).reclaim(requestId));
  }

  withdraw(serviceAddress: string, requestId: bigint): Promise<ContractTransactionReceipt> {
    return send(() => this.service(serviceAddress).withdraw(requestId));
  }

  reportStatus(
    serviceAddress: string,
    requestId: bigint,
    status: number,
    bytesDropped = 0n,
    packetsDropped = 0n,
  ): Promise<ContractTransactionReceipt> {
    if (!Number.isInteger(status) || status < 1 || status > 8) {
      throw new Error(`DOTS status ${status} is not valid: use 1 (in progress) to 8 (rejected), RFC 9132.`);
    }
    return send(() => this.service(serviceAddress).reportStatus(requestId, status, bytesDropped, packetsDropped));
  }

  reportAttackStatus(
    serviceAddress: string,
    requestId: bigint,
    attackStatus: number,
  ): Promise<ContractTransactionReceipt> {
    if (attackStatus !== 1 && attackStatus !== 2) {
      throw new Error(`Attack status ${attackStatus} is not valid: use 1 (under attack) or 2 (mitigated).`);
    }
    return send(() => this.service(serviceAddress).reportAttackStatus(requestId, attackStatus));
  }

  rate(serviceAddress: string, requestId: bigint, rating: number): Promise<ContractTransactionReceipt> {
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) {
      throw new Error(`A rating is a whole number from 1 to 5, not ${rating}.`);
    }
    return send(() => this.service(serviceAddress).rate(requestId, rating));
  }

  /** Approves a spender without limit (operators who trust the contracts). */
  approveUnlimited(spender: string): Promise<ContractTransactionReceipt> {
    const who = parseAccount(spender, "spender");
    return send(() => this.token.approve(who, MaxUint256));
  }
}

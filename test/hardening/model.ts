/**
 * A plain TypeScript model of the whole market (participants, the registry, the token, every
 * service's offerings and requests) for the stateful tests. Each `predict*` method follows the
 * contract's checks in the contract's order and answers the custom error the transaction must
 * revert with, or `undefined` with an `apply` that performs the transaction's effects on the
 * model. The registry part is the obviously-correct ReferenceRegistry of the property tests.
 *
 * Signed orders: `predictSettleOrders` answers, beyond the transaction's revert or success, what
 * becomes of every order of the batch (settled under which request id at which price, or skipped
 * for which `OrderSkipReason`), the orders taken one after the other as the contract takes them:
 * an order settled earlier in the batch is settled already for its duplicate, and its payment has
 * left its requester's balance and allowance for the next.
 */
import { OrderSkipReason as OrderSkip } from "../../src/clients/orders";
import type { Order } from "../../src/clients/orders";
import { MAX_LENGTH, mask } from "../../src/prefix";
import type { Prefix } from "../../src/prefix";
import { ReferenceRegistry } from "../helpers/referenceRegistry";
import { RequestStatus as ReqStatus } from "../helpers/marketFixtures";

/** `IPrefixRegistry.ParticipantStatus`. */
export enum Status {
  None = 0,
  Active = 1,
  Suspended = 2,
}

/** `IProviderServiceContract.RequestStatus` and `OrderSkipReason`, named as the model's other enums. */
export { OrderSkip, ReqStatus };

export const UINT96_MAX = (1n << 96n) - 1n;
export const UINT32_MAX = 2 ** 32 - 1;
export const UINT256_MAX = (1n << 256n) - 1n;
/** ProviderServiceContract.MAX_ACK_WINDOW, MAX_SOURCES and MAX_ENDPOINT_LENGTH. */
export const MAX_ACK_WINDOW = 86_400;
export const MAX_SOURCES = 64;
export const MAX_ENDPOINT_LENGTH = 256;
/** The largest DOTS mitigation status, attack status and rating the contract takes (codes start at 1). */
export const DOTS_STATUS_MAX = 8;
export const ATTACK_STATUS_MAX = 2;
export const RATING_MAX = 5;
/** The bit that sets an order's request id apart from a direct request's (`MitigationOrders`). */
const ORDER_BIT = 1n << 63n;

export { Random } from "../helpers/random";

export interface ModelOffering {
  pricePerHour: bigint;
  maxDuration: number;
  capacity: number;
  active: boolean;
}

export interface ModelRequest {
  id: bigint;
  requester: string;
  price: bigint;
  ackDeadline: number;
  startedAt: number;
  duration: number;
  offeringId: number;
  status: ReqStatus;
  /** The requester's rating of the mitigation (1-5), 0 while unrated. */
  rating: number;
  /** A settled or cancelled order's EIP-712 hash; undefined for a direct request. */
  orderHash?: string;
}

export interface ModelService {
  address: string;
  provider: string;
  offerings: ModelOffering[];
  requestCount: bigint;
  /** Direct requests, and the orders settled or cancelled here, by request id. */
  requests: Map<bigint, ModelRequest>;
  orderEndpoint: string;
}

export interface RequestInput {
  offeringId: number;
  target: Prefix;
  sources: Prefix[];
  duration: number;
  maxPrice: bigint;
  ackDeadline: number;
}

/** An order as a settlement carries it. */
export interface OrderInput {
  order: Order;
  /** Its EIP-712 hash as the settling service computes it (under its own domain). */
  hash: string;
  /**
   * The account whose valid EOA signature (65 bytes, low s, v 27 or 28) over `hash` comes with
   * the order; undefined when the signature is no valid signature over `hash`.
   */
  signer: string | undefined;
}

/** What `settleOrders` does with one order: settles it, or skips it and says why. */
export type OrderOutcome =
  | { settled: true; requestId: bigint; price: bigint; startedAt: number; endsAt: number }
  | { settled: false; reason: OrderSkip };

/**
 * What a transaction must do: revert with `error`, or succeed and `apply` its effects (and, for a
 * settlement, do with each order what `orders` says).
 */
export interface Prediction {
  error?: string;
  apply?: () => void;
  orders?: OrderOutcome[];
}

const fail = (error: string): Prediction => ({ error });

/** The registry's `_requireCanonical`: the error for a bad prefix, if any. */
function canonicalError(p: Prefix): string | undefined {
  if (p.length > MAX_LENGTH) return "PrefixRegistryInvalidLength";
  if ((p.network & mask(p.length)) !== p.network) return "PrefixRegistryHostBitsSet";
  return undefined;
}

function isCanonical(p: Prefix): boolean {
  return p.length >= 0 && p.length <= MAX_LENGTH && (p.network & mask(p.length)) === p.network;
}

/** `MitigationOrders.requestId`: `requester << 64 | 1 << 63 | (hash mod 2^63)`. */
export function orderRequestIdOf(requester: string, hash: string): bigint {
  return (BigInt(requester) << 64n) | ORDER_BIT | (BigInt(hash) & (ORDER_BIT - 1n));
}

/** What `getRequest` answers for an order never settled (None) or cancelled: its status, the rest zeros. */
export function noRequest(id: bigint, requester: string, status: ReqStatus): ModelRequest {
  return { id, requester, price: 0n, ackDeadline: 0, startedAt: 0, duration: 0, offeringId: 0, status, rating: 0 };
}

/** The contract's price: ceil(pricePerHour × duration / 3600). */
export function priceOf(pricePerHour: bigint, duration: number): bigint {
  return (pricePerHour * BigInt(duration) + 3599n) / 3600n;
}

export class MarketModel {
  now = 0;
  readonly registrars = new Set<string>();
  readonly status = new Map<string, Status>();
  readonly registry = new ReferenceRegistry();
  readonly balances = new Map<string, bigint>();
  minted = 0n;
  readonly services = new Map<string, ModelService>();
  /** Token allowances, by `owner/spender`. */
  readonly allowances = new Map<string, bigint>();
  /** The registry's `minOrderSalt` of each account that raised it. */
  readonly minOrderSalt = new Map<string, bigint>();

  /** `minter` holds the token's MINTER_ROLE. */
  constructor(
    readonly minter: string,
    readonly directory: string,
  ) {}

  statusOf(account: string): Status {
    return this.status.get(account) ?? Status.None;
  }

  balanceOf(account: string): bigint {
    return this.balances.get(account) ?? 0n;
  }

  allowanceOf(owner: string, spender: string): bigint {
    return this.allowances.get(`${owner}/${spender}`) ?? 0n;
  }

  minOrderSaltOf(account: string): bigint {
    return this.minOrderSalt.get(account) ?? 0n;
  }

  /** Every service's pending escrow. */
  escrowOf(service: ModelService): bigint {
    let sum = 0n;
    for (const r of service.requests.values()) if (r.status === ReqStatus.Pending) sum += r.price;
    return sum;
  }

  private move(from: string, to: string, amount: bigint): void {
    this.balances.set(from, this.balanceOf(from) - amount);
    this.balances.set(to, this.balanceOf(to) + amount);
  }

  /**
   * ERC-20 `transferFrom(owner, to, amount)` by `spender` as OpenZeppelin checks it (allowance,
   * then balance), against the given view of balances and allowances: the error, or undefined.
   */
  private pullError(
    owner: string,
    spender: string,
    amount: bigint,
    balance = this.balanceOf(owner),
    allowance = this.allowanceOf(owner, spender),
  ): string | undefined {
    if (allowance < amount) return "ERC20InsufficientAllowance";
    if (balance < amount) return "ERC20InsufficientBalance";
    return undefined;
  }

  /** Performs a checked `transferFrom`: an unlimited allowance stays unlimited. */
  private pull(owner: string, spender: string, to: string, amount: bigint): void {
    const allowance = this.allowanceOf(owner, spender);
    if (allowance !== UINT256_MAX) this.allowances.set(`${owner}/${spender}`, allowance - amount);
    this.move(owner, to, amount);
  }

  private requireActive(account: string): string | undefined {
    const s = this.statusOf(account);
    if (s === Status.None) return "PrefixRegistryNotParticipant";
    if (s === Status.Suspended) return "PrefixRegistryParticipantSuspended";
    return undefined;
  }

  // --- token ------------------------------------------------------------------------------

  predictMint(caller: string, to: string, amount: bigint): Prediction {
    if (caller !== this.minter) return fail("AccessControlUnauthorizedAccount");
    return {
      apply: () => {
        this.balances.set(to, this.balanceOf(to) + amount);
        this.minted += amount;
      },
    };
  }

  /** `approve(spender, amount)`; the spenders drawn are never the zero address. */
  predictApprove(owner: string, spender: string, amount: bigint): Prediction {
    return { apply: () => void this.allowances.set(`${owner}/${spender}`, amount) };
  }

  predictTransfer(from: string, to: string, amount: bigint): Prediction {
    if (amount > this.balanceOf(from)) return fail("ERC20InsufficientBalance");
    return { apply: () => this.move(from, to, amount) };
  }

  // --- registry ---------------------------------------------------------------------------

  predictRegister(caller: string, account: string): Prediction {
    if (!this.registrars.has(caller)) return fail("AccessControlUnauthorizedAccount");
    if (this.statusOf(account) !== Status.None) return fail("PrefixRegistryAlreadyRegistered");
    return { apply: () => this.status.set(account, Status.Active) };
  }

  predictSuspend(caller: string, account: string): Prediction {
    if (!this.registrars.has(caller)) return fail("AccessControlUnauthorizedAccount");
    const inactive = this.requireActive(account);
    if (inactive !== undefined) return fail(inactive);
    return { apply: () => this.status.set(account, Status.Suspended) };
  }

  predictReinstate(caller: string, account: string): Prediction {
    if (!this.registrars.has(caller)) return fail("AccessControlUnauthorizedAccount");
    if (this.statusOf(account) !== Status.Suspended) return fail("PrefixRegistryParticipantNotSuspended");
    return { apply: () => this.status.set(account, Status.Active) };
  }

  private predictRegisterPrefix(prefix: Prefix, holder: string): string | undefined {
    const inactive = this.requireActive(holder);
    if (inactive !== undefined) return inactive;
    if (this.registry.get(prefix) !== undefined) return "PrefixRegistryPrefixAlreadyRegistered";
    return undefined;
  }

  predictAllocate(caller: string, prefix: Prefix, holder: string, originAsn: number): Prediction {
    if (!this.registrars.has(caller)) return fail("AccessControlUnauthorizedAccount");
    const bad = canonicalError(prefix);
    if (bad !== undefined) return fail(bad);
    const error = this.predictRegisterPrefix(prefix, holder);
    if (error !== undefined) return fail(error);
    return { apply: () => this.registry.allocate(prefix, holder, originAsn) };
  }

  predictDelegate(caller: string, prefix: Prefix, to: string, originAsn: number): Prediction {
    const bad = canonicalError(prefix);
    if (bad !== undefined) return fail(bad);
    const inactive = this.requireActive(caller);
    if (inactive !== undefined) return fail(inactive);
    // The contract looks for the covering prefix including the prefix itself.
    const parent = this.registry.covering(prefix);
    if (parent === undefined || parent.holder !== caller) return fail("PrefixRegistryNotHolder");
    const error = this.predictRegisterPrefix(prefix, to);
    if (error !== undefined) return fail(error);
    return { apply: () => this.registry.delegate(prefix, caller, to, originAsn) };
  }

  predictRevoke(caller: string, prefix: Prefix): Prediction {
    const bad = canonicalError(prefix);
    if (bad !== undefined) return fail(bad);
    const route = this.registry.get(prefix);
    if (route === undefined) return fail("PrefixRegistryPrefixNotRegistered");
    if (!this.registrars.has(caller)) {
      if (!route.delegated) return fail("PrefixRegistryNotRevoker");
      if (this.registry.parent(prefix)?.holder !== caller) return fail("PrefixRegistryNotRevoker");
      const inactive = this.requireActive(caller);
      if (inactive !== undefined) return fail(inactive);
    }
    return { apply: () => void this.registry.revoke(prefix) };
  }

  /** `PrefixRegistry.cancelOrdersUpTo`: any participant, suspended or not, only upwards. */
  predictCancelOrdersUpTo(caller: string, minSalt: bigint): Prediction {
    if (this.statusOf(caller) === Status.None) return fail("PrefixRegistryNotParticipant");
    if (minSalt <= this.minOrderSaltOf(caller)) return fail("PrefixRegistryMinOrderSaltNotRaised");
    return { apply: () => void this.minOrderSalt.set(caller, minSalt) };
  }

  /**
   * True when `account` holds all of `prefix` (the ReferenceRegistry's rule: the covering prefix
   * and everything registered inside).
   */
  holdsAll(account: string, prefix: Prefix): boolean {
    return this.registry.holdsAll(account, prefix);
  }

  // --- services ---------------------------------------------------------------------------

  serviceAt(address: string): ModelService {
    const service = this.services.get(address);
    if (service === undefined) throw new Error(`model: no service at ${address}`);
    return service;
  }

  predictAddOffering(caller: string, service: ModelService, o: Omit<ModelOffering, "active">): Prediction {
    if (caller !== service.provider) return fail("ProviderServiceNotProvider");
    if (o.maxDuration === 0 || o.capacity === 0) return fail("ProviderServiceInvalidOffering");
    return { apply: () => void service.offerings.push({ ...o, active: true }) };
  }

  predictUpdateOffering(
    caller: string,
    service: ModelService,
    offeringId: number,
    o: Omit<ModelOffering, "active">,
  ): Prediction {
    if (caller !== service.provider) return fail("ProviderServiceNotProvider");
    if (o.maxDuration === 0 || o.capacity === 0) return fail("ProviderServiceInvalidOffering");
    const offering = service.offerings[offeringId];
    if (offering === undefined) return fail("ProviderServiceUnknownOffering");
    return { apply: () => Object.assign(offering, o) };
  }

  predictSetOfferingActive(caller: string, service: ModelService, offeringId: number, active: boolean): Prediction {
    if (caller !== service.provider) return fail("ProviderServiceNotProvider");
    const offering = service.offerings[offeringId];
    if (offering === undefined) return fail("ProviderServiceUnknownOffering");
    return { apply: () => void (offering.active = active) };
  }

  /**
   * The checks of `_request`, in order, for a request by `requester`; `chainHolds` is what the
   * registry's `isHolder` answers for the target now.
   * Returns the error, or the price.
   */
  checkRequest(
    requester: string,
    service: ModelService,
    p: RequestInput,
    chainHolds: boolean,
  ): { error: string } | { price: bigint } {
    if (requester === service.provider) return { error: "ProviderServiceRequesterIsProvider" };
    const offering = service.offerings[p.offeringId];
    if (offering === undefined) return { error: "ProviderServiceUnknownOffering" };
    if (!offering.active) return { error: "ProviderServiceOfferingInactive" };
    if (p.duration === 0 || p.duration > offering.maxDuration) return { error: "ProviderServiceInvalidDuration" };
    const price = priceOf(offering.pricePerHour, p.duration);
    if (price > p.maxPrice) return { error: "ProviderServicePriceAboveMaximum" };
    if (p.ackDeadline <= this.now || p.ackDeadline > this.now + MAX_ACK_WINDOW) {
      return { error: "ProviderServiceInvalidDeadline" };
    }
    if (p.sources.length === 0 || p.sources.length > MAX_SOURCES) return { error: "ProviderServiceInvalidSourceCount" };
    if (!p.sources.every(isCanonical)) return { error: "ProviderServiceInvalidPrefix" };
    if (!isCanonical(p.target)) return { error: "ProviderServiceInvalidPrefix" };
    if (this.statusOf(requester) !== Status.Active) return { error: "ProviderServiceInactiveParticipant" };
    if (!chainHolds) {
      return {
        error:
          this.registry.holderOf(p.target) === requester
            ? "ProviderServiceTargetNotWhollyHeld"
            : "ProviderServiceNotHolder",
      };
    }
    if (this.statusOf(service.provider) !== Status.Active) return { error: "ProviderServiceInactiveParticipant" };
    return { price };
  }

  private recordRequest(requester: string, service: ModelService, p: RequestInput, price: bigint): ModelRequest {
    service.requestCount += 1n;
    const id = (BigInt(requester) << 64n) | service.requestCount;
    const r: ModelRequest = {
      id,
      requester,
      price,
      ackDeadline: p.ackDeadline,
      startedAt: 0,
      duration: p.duration,
      offeringId: p.offeringId,
      status: ReqStatus.Pending,
      rating: 0,
    };
    service.requests.set(id, r);
    return r;
  }

  predictRequest(requester: string, service: ModelService, p: RequestInput, chainHolds: boolean): Prediction {
    const checked = this.checkRequest(requester, service, p, chainHolds);
    if ("error" in checked) return fail(checked.error);
    const { price } = checked;
    // A free request moves no token at all.
    const unpaid = price === 0n ? undefined : this.pullError(requester, service.address, price);
    if (unpaid !== undefined) return fail(unpaid);
    return {
      apply: () => {
        this.recordRequest(requester, service, p, price);
        if (price !== 0n) this.pull(requester, service.address, service.address, price);
      },
    };
  }

  /** `ServiceDirectory.requestMany`: each request checked, recorded and paid in turn; all or nothing. */
  predictRequestMany(
    requester: string,
    batch: { service: ModelService | undefined; params: RequestInput; chainHolds: boolean }[],
  ): Prediction {
    if (batch.length === 0) return fail("ServiceDirectoryEmptyBatch");
    // The directory pulls each price in turn, with the directory's allowance.
    let balance = this.balanceOf(requester);
    let allowance = this.allowanceOf(requester, this.directory);
    const prices: bigint[] = [];
    for (const { service, params, chainHolds } of batch) {
      if (service === undefined) return fail("ServiceDirectoryUnknownService");
      const checked = this.checkRequest(requester, service, params, chainHolds);
      if ("error" in checked) return fail(checked.error);
      if (checked.price !== 0n) {
        const unpaid = this.pullError(requester, this.directory, checked.price, balance, allowance);
        if (unpaid !== undefined) return fail(unpaid);
        balance -= checked.price;
        if (allowance !== UINT256_MAX) allowance -= checked.price;
      }
      prices.push(checked.price);
    }
    return {
      apply: () => {
        batch.forEach(({ service, params }, i) => {
          this.recordRequest(requester, service!, params, prices[i]);
          if (prices[i] !== 0n) this.pull(requester, this.directory, service!.address, prices[i]);
        });
      },
    };
  }

  /** The `_pending` check: exists and pending. */
  private pending(service: ModelService, id: bigint): { error: string } | { r: ModelRequest } {
    const r = service.requests.get(id);
    if (r === undefined) return { error: "ProviderServiceUnknownRequest" };
    if (r.status !== ReqStatus.Pending) return { error: "ProviderServiceWrongStatus" };
    return { r };
  }

  predictAcknowledge(caller: string, service: ModelService, ids: bigint[], batch: boolean): Prediction {
    if (caller !== service.provider) return fail("ProviderServiceNotProvider");
    if (batch && ids.length === 0) return fail("ProviderServiceEmptyBatch");
    if (this.statusOf(caller) !== Status.Active) return fail("ProviderServiceInactiveParticipant");
    // A single acknowledgement reverts on a request it cannot acknowledge; a batch skips it
    // (AcknowledgementSkipped) and goes on with the rest.
    const started = new Set<bigint>();
    let paid = 0n;
    for (const id of ids) {
      const found = this.pending(service, id);
      // A duplicate in the batch finds the request already acknowledged.
      const error =
        "error" in found
          ? found.error
          : started.has(id)
            ? "ProviderServiceWrongStatus"
            : this.now > found.r.ackDeadline
              ? "ProviderServiceDeadlinePassed"
              : undefined;
      if (error !== undefined) {
        if (!batch) return fail(error);
        continue;
      }
      started.add(id);
      paid += (found as { r: ModelRequest }).r.price;
    }
    return {
      apply: () => {
        for (const id of started) {
          const r = service.requests.get(id)!;
          r.status = ReqStatus.Acknowledged;
          r.startedAt = this.now;
        }
        this.move(service.address, service.provider, paid);
      },
    };
  }

  predictReject(caller: string, service: ModelService, id: bigint): Prediction {
    if (caller !== service.provider) return fail("ProviderServiceNotProvider");
    const found = this.pending(service, id);
    if ("error" in found) return fail(found.error);
    const { r } = found;
    return {
      apply: () => {
        r.status = ReqStatus.Rejected;
        this.move(service.address, r.requester, r.price);
      },
    };
  }

  predictReclaim(caller: string, service: ModelService, id: bigint): Prediction {
    const found = this.pending(service, id);
    if ("error" in found) return fail(found.error);
    const { r } = found;
    if (caller !== r.requester) return fail("ProviderServiceNotRequester");
    if (this.now <= r.ackDeadline) return fail("ProviderServiceDeadlineNotPassed");
    return {
      apply: () => {
        r.status = ReqStatus.Reclaimed;
        this.move(service.address, r.requester, r.price);
      },
    };
  }

  predictWithdraw(caller: string, service: ModelService, id: bigint): Prediction {
    const r = service.requests.get(id);
    if (r === undefined) return fail("ProviderServiceUnknownRequest");
    if (caller !== r.requester) return fail("ProviderServiceNotRequester");
    if (r.status !== ReqStatus.Acknowledged) return fail("ProviderServiceWrongStatus");
    if (this.now >= r.startedAt + r.duration) return fail("ProviderServiceMitigationEnded");
    return {
      apply: () => {
        r.status = ReqStatus.Withdrawn;
        r.duration = this.now - r.startedAt;
      },
    };
  }

  /** `_existingRequest` then `_requireStarted`: a request that is running or ran (acknowledged or withdrawn). */
  private started(service: ModelService, id: bigint): { error: string } | { r: ModelRequest } {
    const r = service.requests.get(id);
    if (r === undefined) return { error: "ProviderServiceUnknownRequest" };
    if (r.status !== ReqStatus.Acknowledged && r.status !== ReqStatus.Withdrawn) {
      return { error: "ProviderServiceWrongStatus" };
    }
    return { r };
  }

  /** `reportStatus(id, status, …)`: the provider reports on a started mitigation; changes nothing. */
  predictReportStatus(caller: string, service: ModelService, id: bigint, status: number): Prediction {
    if (caller !== service.provider) return fail("ProviderServiceNotProvider");
    const found = this.started(service, id);
    if ("error" in found) return fail(found.error);
    if (status === 0 || status > DOTS_STATUS_MAX) return fail("ProviderServiceInvalidCode");
    return {};
  }

  /** The requester's checks on a started mitigation: exists, then the caller's, then started. */
  private startedFor(caller: string, service: ModelService, id: bigint): { error: string } | { r: ModelRequest } {
    const r = service.requests.get(id);
    if (r !== undefined && caller !== r.requester) return { error: "ProviderServiceNotRequester" };
    return this.started(service, id);
  }

  /** `reportAttackStatus(id, code)`: the requester reports on a started mitigation; changes nothing. */
  predictReportAttackStatus(caller: string, service: ModelService, id: bigint, code: number): Prediction {
    const found = this.startedFor(caller, service, id);
    if ("error" in found) return fail(found.error);
    if (code === 0 || code > ATTACK_STATUS_MAX) return fail("ProviderServiceInvalidCode");
    return {};
  }

  /** `rate(id, rating)`: the requester rates a started mitigation, once. */
  predictRate(caller: string, service: ModelService, id: bigint, rating: number): Prediction {
    const found = this.startedFor(caller, service, id);
    if ("error" in found) return fail(found.error);
    const { r } = found;
    if (rating === 0 || rating > RATING_MAX) return fail("ProviderServiceInvalidCode");
    if (r.rating !== 0) return fail("ProviderServiceAlreadyRated");
    return { apply: () => void (r.rating = rating) };
  }

  // --- signed orders ----------------------------------------------------------------------

  predictSetOrderEndpoint(caller: string, service: ModelService, endpoint: string): Prediction {
    if (caller !== service.provider) return fail("ProviderServiceNotProvider");
    if (Buffer.byteLength(endpoint, "utf8") > MAX_ENDPOINT_LENGTH) return fail("ProviderServiceEndpointTooLong");
    return { apply: () => void (service.orderEndpoint = endpoint) };
  }

  /** `cancelOrder(order)` at `service`; `hash` is the order's hash there. */
  predictCancelOrder(caller: string, service: ModelService, order: Order, hash: string): Prediction {
    if (order.service !== service.address) return fail("ProviderServiceWrongService");
    const id = orderRequestIdOf(order.requester, hash);
    if (caller !== order.requester) return fail("ProviderServiceNotRequester");
    if (service.requests.has(id)) return fail("ProviderServiceWrongStatus");
    return {
      apply: () =>
        void service.requests.set(id, { ...noRequest(id, order.requester, ReqStatus.Cancelled), orderHash: hash }),
    };
  }

  /**
   * `settleOrders(orders, signatures)` by `caller` at `service`, with `signatureCount` signatures:
   * the revert, or what becomes of each order (`_checkOrder`'s checks in its order, then the
   * payment, requester → provider).
   */
  predictSettleOrders(
    caller: string,
    service: ModelService,
    batch: readonly OrderInput[],
    signatureCount: number,
  ): Prediction {
    if (caller !== service.provider) return fail("ProviderServiceNotProvider");
    if (batch.length === 0) return fail("ProviderServiceEmptyBatch");
    if (signatureCount !== batch.length) return fail("ProviderServiceSignatureCountMismatch");
    if (this.statusOf(caller) !== Status.Active) return fail("ProviderServiceInactiveParticipant");
    // What the batch changed so far, as the next order sees it.
    const settled = new Map<bigint, ModelRequest>();
    const balances = new Map<string, bigint>();
    const allowances = new Map<string, bigint>();
    const outcomes = batch.map((input): OrderOutcome => {
      const skip = (reason: OrderSkip): OrderOutcome => ({ settled: false, reason });
      const { order, hash } = input;
      const requester = order.requester;
      if (order.service !== service.address) return skip(OrderSkip.WrongService);
      if (this.now > order.expiry) return skip(OrderSkip.Expired);
      if (requester === caller) return skip(OrderSkip.RequesterIsProvider);
      if (input.signer === undefined || input.signer !== requester) return skip(OrderSkip.BadSignature);
      const requestId = orderRequestIdOf(requester, hash);
      const recorded = settled.get(requestId) ?? service.requests.get(requestId);
      if (recorded?.status === ReqStatus.Cancelled) return skip(OrderSkip.Cancelled);
      if (recorded !== undefined) return skip(OrderSkip.AlreadySettled);
      const offering = service.offerings[order.offeringId];
      if (offering === undefined) return skip(OrderSkip.UnknownOffering);
      if (!offering.active) return skip(OrderSkip.OfferingInactive);
      if (order.duration === 0 || order.duration > offering.maxDuration) return skip(OrderSkip.InvalidDuration);
      const price = priceOf(offering.pricePerHour, order.duration);
      if (price > order.maxPrice) return skip(OrderSkip.PriceAboveMaximum);
      const sources = order.sources.length;
      if (!isCanonical(order.target) || sources === 0 || sources > MAX_SOURCES || !order.sources.every(isCanonical)) {
        return skip(OrderSkip.InvalidPrefix);
      }
      if (order.salt < this.minOrderSaltOf(requester)) return skip(OrderSkip.Cancelled);
      if (this.statusOf(requester) !== Status.Active) return skip(OrderSkip.InactiveRequester);
      if (!this.holdsAll(requester, order.target)) return skip(OrderSkip.NotWhollyHeld);
      if (price !== 0n) {
        const allowanceKey = `${requester}/${service.address}`;
        const balance = balances.get(requester) ?? this.balanceOf(requester);
        const allowance = allowances.get(allowanceKey) ?? this.allowanceOf(requester, service.address);
        if (this.pullError(requester, service.address, price, balance, allowance) !== undefined) {
          return skip(OrderSkip.PaymentFailed);
        }
        balances.set(requester, balance - price);
        if (allowance !== UINT256_MAX) allowances.set(allowanceKey, allowance - price);
      }
      settled.set(requestId, {
        id: requestId,
        requester,
        price,
        ackDeadline: order.expiry,
        startedAt: this.now,
        duration: order.duration,
        offeringId: order.offeringId,
        status: ReqStatus.Acknowledged,
        rating: 0,
        orderHash: hash,
      });
      return { settled: true, requestId, price, startedAt: this.now, endsAt: this.now + order.duration };
    });
    return {
      orders: outcomes,
      apply: () => {
        for (const r of settled.values()) {
          service.requests.set(r.id, r);
          if (r.price !== 0n) this.pull(r.requester, service.address, caller, r.price);
        }
      },
    };
  }
}

/**
 * A plain TypeScript model of the whole market (participants, the registry, the token, every
 * service's offerings and requests) for the stateful tests. Each `predict*` method follows the
 * contract's checks in the contract's order and answers the custom error the transaction must
 * revert with, or `undefined` with an `apply` that performs the transaction's effects on the
 * model. The registry part is the obviously-correct ReferenceRegistry of the property tests.
 */
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

/** `IProviderServiceContract.RequestStatus`, named as the model's other enums. */
export { ReqStatus };

export const UINT96_MAX = (1n << 96n) - 1n;
export const UINT32_MAX = 2 ** 32 - 1;
/** ProviderServiceContract.MAX_ACK_WINDOW and MAX_SOURCES. */
export const MAX_ACK_WINDOW = 86_400;
export const MAX_SOURCES = 64;

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
}

export interface ModelService {
  address: string;
  provider: string;
  offerings: ModelOffering[];
  requestCount: bigint;
  requests: Map<bigint, ModelRequest>;
}

export interface RequestInput {
  offeringId: number;
  target: Prefix;
  sources: Prefix[];
  duration: number;
  maxPrice: bigint;
  ackDeadline: number;
}

/** What a transaction must do: revert with `error`, or succeed and `apply` its effects. */
export interface Prediction {
  error?: string;
  apply?: () => void;
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
  /** Accounts that approved every service and the directory for type(uint256).max. */
  readonly approvedAll = new Set<string>();

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
    };
    service.requests.set(id, r);
    return r;
  }

  predictRequest(requester: string, service: ModelService, p: RequestInput, chainHolds: boolean): Prediction {
    const checked = this.checkRequest(requester, service, p, chainHolds);
    if ("error" in checked) return fail(checked.error);
    const { price } = checked;
    if (price !== 0n && !this.approvedAll.has(requester)) return fail("ERC20InsufficientAllowance");
    if (price > this.balanceOf(requester)) return fail("ERC20InsufficientBalance");
    return {
      apply: () => {
        this.recordRequest(requester, service, p, price);
        this.move(requester, service.address, price);
      },
    };
  }

  /** `ServiceDirectory.requestMany`: each request checked, recorded and paid in turn; all or nothing. */
  predictRequestMany(
    requester: string,
    batch: { service: ModelService | undefined; params: RequestInput; chainHolds: boolean }[],
  ): Prediction {
    if (batch.length === 0) return fail("ServiceDirectoryEmptyBatch");
    let balance = this.balanceOf(requester);
    const prices: bigint[] = [];
    for (const { service, params, chainHolds } of batch) {
      if (service === undefined) return fail("ServiceDirectoryUnknownService");
      const checked = this.checkRequest(requester, service, params, chainHolds);
      if ("error" in checked) return fail(checked.error);
      if (checked.price !== 0n && !this.approvedAll.has(requester)) return fail("ERC20InsufficientAllowance");
      if (checked.price > balance) return fail("ERC20InsufficientBalance");
      balance -= checked.price;
      prices.push(checked.price);
    }
    return {
      apply: () => {
        batch.forEach(({ service, params }, i) => {
          this.recordRequest(requester, service!, params, prices[i]);
          this.move(requester, service!.address, prices[i]);
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
}

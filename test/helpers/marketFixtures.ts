/**
 * The market fixture: the foundation (token and registry) plus a ServiceDirectory with three
 * provider services, participants that hold AS numbers and documentation prefixes, and tokens to
 * spend. Market tests load `deployMarket` with `loadFixture` and build on it.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { BigNumberish, Signature } from "ethers";

import { signPermit as signPermitFor } from "../../src/clients/permit";
import { parsePrefix } from "../../src/prefix";
import type { MitigationToken, PrefixRegistry, ProviderServiceContract, ServiceDirectory } from "../../typechain-types";
import type { IProviderServiceContract } from "../../typechain-types/contracts/ProviderServiceContract";
import { deployFoundation } from "./fixtures";

export type IpPrefixStruct = IProviderServiceContract.IpPrefixStruct;
export type RequestParamsStruct = IProviderServiceContract.RequestParamsStruct;

/** `IProviderServiceContract.MitigationKind`. */
export enum MitigationKind {
  FlowFiltering = 0,
  RateLimiting = 1,
  Blackholing = 2,
  Scrubbing = 3,
}

/** `IProviderServiceContract.RequestStatus`. */
export enum RequestStatus {
  None = 0,
  Pending = 1,
  Acknowledged = 2,
  Rejected = 3,
  Reclaimed = 4,
  Withdrawn = 5,
  Cancelled = 6,
}

/** `IProviderServiceContract.AcknowledgementSkipReason`. */
export enum AckSkip {
  UnknownRequest = 0,
  NotPending = 1,
  DeadlinePassed = 2,
}

const REQUEST_STATUSES: readonly RequestStatus[] = [
  RequestStatus.None,
  RequestStatus.Pending,
  RequestStatus.Acknowledged,
  RequestStatus.Rejected,
  RequestStatus.Reclaimed,
  RequestStatus.Withdrawn,
  RequestStatus.Cancelled,
];

/** A status as the contract returns it (a bigint), as a `RequestStatus`. */
export function requestStatus(value: bigint): RequestStatus {
  const status = REQUEST_STATUSES[Number(value)];
  if (status === undefined) throw new RangeError(`${value} is not a RequestStatus`);
  return status;
}

/** Documentation AS numbers (RFC 5398), by holder. */
export const ASN = {
  victim: 64496,
  victim2: 64497,
  provider1: 64500,
  provider2: 64501,
  provider3: 64502,
  /** Assigned to no one. */
  unassigned: 64511,
} as const;

/** The documentation prefixes (RFC 5737, RFC 3849) the fixture allocates, by holder. */
export const PREFIX = {
  victimV4: "192.0.2.0/24",
  victimV6: "2001:db8:1000::/36",
  victim2V4: "198.51.100.0/24",
  victim2V6: "2001:db8:2000::/36",
  provider1V4: "203.0.113.0/24",
  provider1V6: "2001:db8:a000::/36",
  provider2V6: "2001:db8:b000::/36",
  provider3V6: "2001:db8:c000::/36",
} as const;

const ONE_TOKEN = 10n ** 18n;

/** The offerings of the fixture's services: [service][offeringId]. */
export const OFFERINGS = {
  service1: [
    { kind: MitigationKind.FlowFiltering, pricePerHour: 10n * ONE_TOKEN, maxDuration: 24 * 3600, capacity: 10 },
    { kind: MitigationKind.Scrubbing, pricePerHour: 30n * ONE_TOKEN, maxDuration: 6 * 3600, capacity: 2 },
  ],
  service2: [{ kind: MitigationKind.RateLimiting, pricePerHour: 12n * ONE_TOKEN, maxDuration: 12 * 3600, capacity: 5 }],
  service3: [{ kind: MitigationKind.Blackholing, pricePerHour: 2n * ONE_TOKEN, maxDuration: 48 * 3600, capacity: 50 }],
} as const;

/** What each victim is minted, and what each provider starts with. */
export const VICTIM_BALANCE = 10_000n * ONE_TOKEN;
export const PROVIDER_BALANCE = 100n * ONE_TOKEN;

/** The accounts of the market, by role. */
export interface MarketSigners {
  readonly admin: HardhatEthersSigner;
  readonly minter: HardhatEthersSigner;
  readonly registrar1: HardhatEthersSigner;
  readonly registrar2: HardhatEthersSigner;
  /** Holds ASN.victim, PREFIX.victimV4 and PREFIX.victimV6; has tokens. */
  readonly victim: HardhatEthersSigner;
  /** Holds ASN.victim2, PREFIX.victim2V4 and PREFIX.victim2V6; has tokens; authorises provider3. */
  readonly victim2: HardhatEthersSigner;
  /** Holds ASN.provider1 and its prefixes; service1 covers ASN.provider1. */
  readonly provider1: HardhatEthersSigner;
  /** Holds ASN.provider2; service2 covers ASN.provider2 and, authorised by provider1, ASN.provider1. */
  readonly provider2: HardhatEthersSigner;
  /** Holds ASN.provider3; service3 covers ASN.provider3 and, authorised by victim2, ASN.victim2. */
  readonly provider3: HardhatEthersSigner;
  /** An active participant with no resources and no service. */
  readonly newcomer: HardhatEthersSigner;
  /** Registered nowhere. */
  readonly outsider: HardhatEthersSigner;
  /** Accounts no fixture uses. */
  readonly spare: readonly HardhatEthersSigner[];
}

export interface Market extends MarketSigners {
  readonly token: MitigationToken;
  readonly registry: PrefixRegistry;
  readonly directory: ServiceDirectory;
  /** The services of provider1, provider2 and provider3. */
  readonly service1: ProviderServiceContract;
  readonly service2: ProviderServiceContract;
  readonly service3: ProviderServiceContract;
}

/** A prefix in CIDR text ("192.0.2.0/24", or a bare address for a host) as a contract struct. */
export function ipPrefix(text: string): { network: bigint; prefixLength: number } {
  const { network, length } = parsePrefix(text, { allowAddress: true });
  return { network, prefixLength: length };
}

/** A prefix in CIDR text as the [network, length] of an event or error argument. */
export function prefixArgs(text: string): [network: bigint, length: number] {
  const { network, length } = parsePrefix(text, { allowAddress: true });
  return [network, length];
}

/** A prefix struct as the [network, length] of an event argument. */
export function structArgs(prefix: IpPrefixStruct): [network: BigNumberish, length: BigNumberish] {
  return [prefix.network, prefix.prefixLength];
}

/**
 * Deploys the market: token and registry (`deployFoundation`), a ServiceDirectory, and
 * - participants victim, victim2, provider1..3 and newcomer (registered by registrar1), each
 *   provider and victim with its AS number and prefixes (allocated by registrar2);
 * - a service for each provider with the offerings of OFFERINGS, and its coverage;
 * - VICTIM_BALANCE tokens for each victim and PROVIDER_BALANCE for each provider.
 */
export async function deployMarket(): Promise<Market> {
  const foundation = await deployFoundation();
  const { token, registry, admin, minter, registrar1, registrar2, outsider, others } = foundation;
  const [victim, victim2, provider1, provider2, provider3, newcomer, ...spare] = others;

  const directory = await ethers.deployContract("ServiceDirectory", [
    await token.getAddress(),
    await registry.getAddress(),
  ]);
  await directory.waitForDeployment();

  const participants: [HardhatEthersSigner, string, number | undefined][] = [
    [victim, "Victim Hosting", ASN.victim],
    [victim2, "Victim Two Access", ASN.victim2],
    [provider1, "Provider One Transit", ASN.provider1],
    [provider2, "Provider Two Scrubbing", ASN.provider2],
    [provider3, "Provider Three Networks", ASN.provider3],
    [newcomer, "Newcomer Networks", undefined],
  ];
  for (const [account, name, asn] of participants) {
    await registry.connect(registrar1).registerParticipant(account.address, name, `https://example.org/${asn ?? 0}`);
    if (asn !== undefined) await registry.connect(registrar1).assignAsn(asn, account.address);
  }

  const allocations: [string, HardhatEthersSigner, number][] = [
    [PREFIX.victimV4, victim, ASN.victim],
    [PREFIX.victimV6, victim, ASN.victim],
    [PREFIX.victim2V4, victim2, ASN.victim2],
    [PREFIX.victim2V6, victim2, ASN.victim2],
    [PREFIX.provider1V4, provider1, ASN.provider1],
    [PREFIX.provider1V6, provider1, ASN.provider1],
    [PREFIX.provider2V6, provider2, ASN.provider2],
    [PREFIX.provider3V6, provider3, ASN.provider3],
  ];
  await registry
    .connect(registrar2)
    .allocateBatch(
      allocations.map(([text, holder, originAsn]) => ({ ...ipPrefix(text), holder: holder.address, originAsn })),
    );

  const services: ProviderServiceContract[] = [];
  const offerings = [OFFERINGS.service1, OFFERINGS.service2, OFFERINGS.service3];
  for (const [index, provider] of [provider1, provider2, provider3].entries()) {
    await directory.connect(provider).createService();
    const service = await ethers.getContractAt(
      "ProviderServiceContract",
      await directory.serviceOf(provider.address),
      provider,
    );
    for (const o of offerings[index]) {
      await service.addOffering(o.kind, o.pricePerHour, o.maxDuration, o.capacity);
    }
    services.push(service);
  }
  const [service1, service2, service3] = services;

  await directory.connect(provider1).setCoverageAuthorization(ASN.provider1, provider2.address, true);
  await directory.connect(victim2).setCoverageAuthorization(ASN.victim2, provider3.address, true);
  await directory.connect(provider1).addCoverage([ASN.provider1]);
  await directory.connect(provider2).addCoverage([ASN.provider2, ASN.provider1]);
  await directory.connect(provider3).addCoverage([ASN.provider3, ASN.victim2]);

  for (const account of [victim, victim2]) await token.connect(minter).mint(account.address, VICTIM_BALANCE);
  for (const account of [provider1, provider2, provider3]) {
    await token.connect(minter).mint(account.address, PROVIDER_BALANCE);
  }

  return {
    admin,
    minter,
    registrar1,
    registrar2,
    victim,
    victim2,
    provider1,
    provider2,
    provider3,
    newcomer,
    outsider,
    spare,
    token,
    registry,
    directory,
    service1,
    service2,
    service3,
  };
}

/** The attack sources of a default request: networks of provider1. */
export const DEFAULT_SOURCES = ["203.0.113.0/26", "203.0.113.128/25", "2001:db8:a000::/48", "2001:db8:a001::/48"];

/** Overrides of `requestParams`: any field, with prefixes in CIDR text. */
export interface RequestOverrides {
  offeringId?: number;
  target?: string | IpPrefixStruct;
  sources?: (string | IpPrefixStruct)[];
  duration?: number;
  maxPrice?: BigNumberish;
  /** Defaults to an hour after the latest block. */
  ackDeadline?: number;
}

function toStruct(prefix: string | IpPrefixStruct): IpPrefixStruct {
  return typeof prefix === "string" ? ipPrefix(prefix) : prefix;
}

/**
 * The parameters of a request to `service`: by default offering 0 for an hour, targeting
 * PREFIX.victimV4 from DEFAULT_SOURCES, at exactly the quoted price, acknowledged within an hour.
 */
export async function requestParams(
  service: ProviderServiceContract,
  overrides: RequestOverrides = {},
): Promise<RequestParamsStruct> {
  const offeringId = overrides.offeringId ?? 0;
  const duration = overrides.duration ?? 3600;
  return {
    offeringId,
    target: toStruct(overrides.target ?? PREFIX.victimV4),
    sources: (overrides.sources ?? DEFAULT_SOURCES).map(toStruct),
    duration,
    maxPrice: overrides.maxPrice ?? (await service.quote(offeringId, duration)),
    ackDeadline: overrides.ackDeadline ?? (await time.latest()) + 3600,
  };
}

/** The price of `params`, as the service quotes it now. */
export async function priceOf(service: ProviderServiceContract, params: RequestParamsStruct): Promise<bigint> {
  return service.quote(params.offeringId, params.duration);
}

/**
 * `requester` approves `service` for the price and requests; returns the new request's id and its
 * price.
 */
export async function openRequest(
  service: ProviderServiceContract,
  requester: HardhatEthersSigner,
  token: MitigationToken,
  overrides: RequestOverrides = {},
): Promise<{ id: bigint; price: bigint; params: RequestParamsStruct }> {
  const params = await requestParams(service, overrides);
  const price = await priceOf(service, params);
  await token.connect(requester).approve(await service.getAddress(), price);
  await service.connect(requester).request(params);
  return { id: requestIdOf(requester.address, await service.requestCount()), price, params };
}

/** Request ids are `requester << 64 | n`, n counting a service's requests from 1. */
export function requestIdOf(requester: string, sequence: bigint | number): bigint {
  return (BigInt(requester) << 64n) | BigInt(sequence);
}

/** `owner` signs an ERC-2612 permit letting `spender` take `value` until `deadline`. */
export async function signPermit(
  token: MitigationToken,
  owner: HardhatEthersSigner,
  spender: string,
  value: bigint,
  deadline: bigint,
): Promise<Signature> {
  return signPermitFor(token, owner, { spender, value, deadline });
}

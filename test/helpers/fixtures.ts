/**
 * Typed fixtures for `loadFixture`, shared by every test file. Market tests extend them by calling
 * `deployFoundation()` (or `deployWithParticipants()`) inside their own fixture function.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { parsePrefix } from "../../src/prefix";
import type { IPrefixRegistry, MitigationToken, PrefixRegistry } from "../../typechain-types";

export const TOKEN_NAME = "Mitigation Token";
export const TOKEN_SYMBOL = "MIT";

/** Documentation AS numbers (RFC 5398) assigned to the participants of `deployWithParticipants`. */
export const ALICE_ASN = 64500;
export const BOB_ASN = 64501;
export const CAROL_ASN = 64502;

/** The accounts of a test, by role. */
export interface NamedSigners {
  /** Holds DEFAULT_ADMIN_ROLE on the token and the registry. */
  readonly admin: HardhatEthersSigner;
  /** Holds the token's MINTER_ROLE. */
  readonly minter: HardhatEthersSigner;
  /** Registrars of the registry. */
  readonly registrar1: HardhatEthersSigner;
  readonly registrar2: HardhatEthersSigner;
  /** Accounts that `deployWithParticipants` registers as participants. */
  readonly alice: HardhatEthersSigner;
  readonly bob: HardhatEthersSigner;
  readonly carol: HardhatEthersSigner;
  /** An account that no fixture registers anywhere. */
  readonly outsider: HardhatEthersSigner;
  /** The remaining accounts of the node, free for any use. */
  readonly others: readonly HardhatEthersSigner[];
}

/** The token and the registry, deployed with their roles set, plus the named signers. */
export interface Foundation extends NamedSigners {
  readonly token: MitigationToken;
  readonly registry: PrefixRegistry;
}

/** The node's accounts, by role. */
export async function namedSigners(): Promise<NamedSigners> {
  const [admin, minter, registrar1, registrar2, alice, bob, carol, outsider, ...others] = await ethers.getSigners();
  return { admin, minter, registrar1, registrar2, alice, bob, carol, outsider, others };
}

/**
 * Deploys MitigationToken ("Mitigation Token", "MIT", admin, minter) and
 * PrefixRegistry(admin, [registrar1, registrar2]), nothing registered yet.
 */
export async function deployFoundation(): Promise<Foundation> {
  const signers = await namedSigners();
  const { admin, minter, registrar1, registrar2 } = signers;
  const token = await ethers.deployContract("MitigationToken", [
    TOKEN_NAME,
    TOKEN_SYMBOL,
    admin.address,
    minter.address,
  ]);
  const registry = await ethers.deployContract("PrefixRegistry", [
    admin.address,
    [registrar1.address, registrar2.address],
  ]);
  await token.waitForDeployment();
  await registry.waitForDeployment();
  return { ...signers, token, registry };
}

/**
 * `deployFoundation`, then registrar1 registers alice, bob and carol as active participants and
 * assigns them ALICE_ASN, BOB_ASN and CAROL_ASN. No prefixes yet.
 */
export async function deployWithParticipants(): Promise<Foundation> {
  const foundation = await deployFoundation();
  const { registry, registrar1, alice, bob, carol } = foundation;
  const participants: [HardhatEthersSigner, string, number][] = [
    [alice, "Alice Networks", ALICE_ASN],
    [bob, "Bob Transit", BOB_ASN],
    [carol, "Carol Hosting", CAROL_ASN],
  ];
  for (const [account, name, asn] of participants) {
    await registry.connect(registrar1).registerParticipant(account.address, name, `ipfs://${name}`);
    await registry.connect(registrar1).assignAsn(asn, account.address);
  }
  return foundation;
}

/** A prefix in CIDR text as the [network, length] arguments of a contract call. */
export function onChain(text: string): [network: bigint, length: number] {
  const { network, length } = parsePrefix(text);
  return [network, length];
}

/** A registry `Route` as a plain object, for `deep.equal`. */
export interface PlainRoute {
  network: bigint;
  length: number;
  originAsn: number;
  holder: string;
  delegated: boolean;
}

/** Converts a `Route` returned by the registry into a `PlainRoute`. */
export function plainRoute(route: IPrefixRegistry.RouteStructOutput): PlainRoute {
  return {
    network: route.network,
    length: Number(route.prefixLength),
    originAsn: Number(route.originAsn),
    holder: route.holder,
    delegated: route.delegated,
  };
}

/** The `PlainRoute` the registry should return for a prefix given in CIDR text. */
export function expectedRoute(text: string, originAsn: number, holder: string, delegated: boolean): PlainRoute {
  const [network, length] = onChain(text);
  return { network, length, originAsn, holder, delegated };
}

/** The route the registry returns when nothing is registered. */
export const NO_ROUTE: PlainRoute = {
  network: 0n,
  length: 0,
  originAsn: 0,
  holder: ethers.ZeroAddress,
  delegated: false,
};

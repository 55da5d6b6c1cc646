/** The registry, in the terms operators use: CIDR text, AS numbers, addresses. */
import { getAddress, type ContractTransactionReceipt } from "ethers";

import type { IPrefixRegistry, PrefixRegistry } from "../../typechain-types";
import { parseAsn } from "../asn";
import { explained } from "../errors";
import { formatPrefix, parseAddress, parsePrefix, type Prefix } from "../prefix";
import { send } from "./tx";

export const PARTICIPANT_STATUS = ["none", "active", "suspended"] as const;
export type ParticipantStatusName = (typeof PARTICIPANT_STATUS)[number];

/** A registered prefix in operator terms. */
export interface RouteInfo {
  prefix: string;
  originAsn: number;
  holder: string;
  delegated: boolean;
}

/** One entry of a batch allocation, in operator terms. */
export interface AllocationInput {
  prefix: string | Prefix;
  holder: string;
  originAsn: number | string;
}

function toRoute(route: IPrefixRegistry.RouteStructOutput): RouteInfo {
  return {
    prefix: formatPrefix({ network: route.network, length: Number(route.prefixLength) }),
    originAsn: Number(route.originAsn),
    holder: route.holder,
    delegated: route.delegated,
  };
}

/** Validates an account argument; one sentence if it is not an address. */
export function parseAccount(text: string, what = "account"): string {
  try {
    return getAddress(text.trim());
  } catch {
    throw new Error(`"${text}" is not a valid ${what} address: expected 0x followed by 40 hex digits.`);
  }
}

function asPrefix(value: string | Prefix): Prefix {
  return typeof value === "string" ? parsePrefix(value) : value;
}

export class RegistryClient {
  constructor(readonly registry: PrefixRegistry) {}

  registerParticipant(account: string, name: string, metadataURI = ""): Promise<ContractTransactionReceipt> {
    const who = parseAccount(account);
    if (name.trim() === "") throw new Error(`An organisation name is required to register ${who}.`);
    return send(() => this.registry.registerParticipant(who, name, metadataURI));
  }

  suspendParticipant(account: string): Promise<ContractTransactionReceipt> {
    const who = parseAccount(account);
    return send(() => this.registry.suspendParticipant(who));
  }

  reinstateParticipant(account: string): Promise<ContractTransactionReceipt> {
    const who = parseAccount(account);
    return send(() => this.registry.reinstateParticipant(who));
  }

  async participant(account: string): Promise<{ status: ParticipantStatusName; name: string; metadataURI: string }> {
    const who = parseAccount(account);
    const [status, name, metadataURI] = await explained(() => this.registry.participant(who));
    return { status: PARTICIPANT_STATUS[Number(status)], name, metadataURI };
  }

  assignAsn(asn: number | string, holder: string): Promise<ContractTransactionReceipt> {
    const number = parseAsn(asn);
    const who = parseAccount(holder, "holder");
    return send(() => this.registry.assignAsn(number, who));
  }

  transferAsn(asn: number | string, to: string): Promise<ContractTransactionReceipt> {
    const number = parseAsn(asn);
    const who = parseAccount(to, "holder");
    return send(() => this.registry.transferAsn(number, who));
  }

  revokeAsn(asn: number | string): Promise<ContractTransactionReceipt> {
    const number = parseAsn(asn);
    return send(() => this.registry.revokeAsn(number));
  }

  async asnHolder(asn: number | string): Promise<string | null> {
    const number = parseAsn(asn);
    const holder = await explained(() => this.registry.asnHolder(number));
    return holder === "0x0000000000000000000000000000000000000000" ? null : holder;
  }

  allocate(prefix: string | Prefix, holder: string, originAsn: number | string): Promise<ContractTransactionReceipt> {
    const p = asPrefix(prefix);
    const who = parseAccount(holder, "holder");
    const asn = parseAsn(originAsn);
    return send(() => this.registry.allocate(p.network, p.length, who, asn));
  }

  allocateBatch(entries: readonly AllocationInput[]): Promise<ContractTransactionReceipt> {
    if (entries.length === 0) throw new Error("The batch is empty: give at least one prefix to allocate.");
    const allocations = entries.map((entry) => {
      const p = asPrefix(entry.prefix);
      return {
        network: p.network,
        prefixLength: p.length,
        holder: parseAccount(entry.holder, "holder"),
        originAsn: parseAsn(entry.originAsn),
      };
    });
    return send(() => this.registry.allocateBatch(allocations));
  }

  delegate(prefix: string | Prefix, to: string, originAsn: number | string): Promise<ContractTransactionReceipt> {
    const p = asPrefix(prefix);
    const who = parseAccount(to, "delegatee");
    const asn = parseAsn(originAsn);
    return send(() => this.registry.delegate(p.network, p.length, who, asn));
  }

  revoke(prefix: string | Prefix): Promise<ContractTransactionReceipt> {
    const p = asPrefix(prefix);
    return send(() => this.registry.revoke(p.network, p.length));
  }

  setOrigin(prefix: string | Prefix, originAsn: number | string): Promise<ContractTransactionReceipt> {
    const p = asPrefix(prefix);
    const asn = parseAsn(originAsn);
    return send(() => this.registry.setOrigin(p.network, p.length, asn));
  }

  /** Longest-prefix match of an address; null when no registered prefix contains it. */
  async lookup(address: string | bigint): Promise<RouteInfo | null> {
    const addr = typeof address === "bigint" ? address : parseAddress(address);
    const [found, route] = await explained(() => this.registry.lookup(addr));
    return found ? toRoute(route) : null;
  }

  /** The most specific registered prefix covering a prefix; null when none does. */
  async coveringPrefix(prefix: string | Prefix): Promise<RouteInfo | null> {
    const p = asPrefix(prefix);
    const [found, route] = await explained(() => this.registry.coveringPrefix(p.network, p.length));
    return found ? toRoute(route) : null;
  }

  /** Whether `account` holds all of `prefix` (see IPrefixRegistry.isHolder). */
  isHolder(account: string, prefix: string | Prefix): Promise<boolean> {
    const who = parseAccount(account);
    const p = asPrefix(prefix);
    return explained(() => this.registry.isHolder(who, p.network, p.length));
  }
}

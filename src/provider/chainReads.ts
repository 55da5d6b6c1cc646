/**
 * The views the provider agent reads in bulk — the order intake's checks, and reconciliation —
 * as raw eth_calls sent together in one JSON-RPC batch (src/rpc.ts), never one round trip each.
 * The calls made once per order or per victim (getRequest, settlementStanding, balanceOf, allowance)
 * are encoded and decoded here word by word: through ethers' ABI coder, thousands a second would
 * cost the agent more than the node's work. The tests hold every one equal to ethers'.
 */
import type { Interface } from "ethers";

import {
  MitigationToken__factory,
  PrefixRegistry__factory,
  ProviderServiceContract__factory,
  ServiceDirectory__factory,
} from "../../typechain-types";
import { MITIGATION_KINDS, REQUEST_STATUSES, type OfferingInfo, type RequestInfo } from "../clients/market";
import { PARTICIPANT_STATUS, type ParticipantStatusName } from "../clients/registry";
import { checksumHex } from "../keccak";
import type { Prefix } from "../prefix";
import { batchAll, revertedWith, type JsonRpc, type RpcCall } from "../rpc";

/** One eth_call and how to read its answer. */
export interface ViewCall<T> {
  call: RpcCall;
  decode(data: string): T;
}

/** A view's answer, or why it failed (a revert, or the node's error) as one sentence. */
export type ViewResult<T> = { ok: true; value: T } | { ok: false; error: string; data?: string };

let selectors: Map<string, string> | undefined;

/** The 4-byte selector of a function of the project's contracts, by "Contract.function". */
function selector(name: string): string {
  if (selectors === undefined) {
    selectors = new Map();
    const add = (contract: string, iface: Interface) =>
      iface.forEachFunction((f) => selectors!.set(`${contract}.${f.name}`, f.selector.slice(2)));
    add("service", ProviderServiceContract__factory.createInterface());
    add("registry", PrefixRegistry__factory.createInterface());
    add("token", MitigationToken__factory.createInterface());
    add("directory", ServiceDirectory__factory.createInterface());
  }
  const found = selectors.get(name);
  if (found === undefined) throw new Error(`No function ${name} in the contracts' ABIs.`);
  return found;
}

const uintWord = (value: bigint | number) => BigInt(value).toString(16).padStart(64, "0");
const addressWord = (address: string) => address.slice(2).toLowerCase().padStart(64, "0");

function ethCall(to: string, data: string): RpcCall {
  return { method: "eth_call", params: [{ to, data: "0x" + data }, "latest"] };
}

/** The i-th 32-byte word of ABI-encoded return data (0x-prefixed hex), as hex digits. */
function word(data: string, i: number): string {
  const start = 2 + 64 * i;
  if (data.length < start + 64) throw new Error(`The node answered ${data.length > 2 ? "too little" : "nothing"}.`);
  return data.slice(start, start + 64);
}

const uint = (w: string) => BigInt("0x" + w);
const small = (w: string) => Number.parseInt(w.slice(48), 16);
const address = (w: string) => checksumHex(w.slice(24));

/** The node's latest block number (`eth_blockNumber`, read in a batch beside views). */
export function blockNumberCall(): ViewCall<number> {
  return { call: { method: "eth_blockNumber", params: [] }, decode: (data) => Number(data) };
}

/** `getRequest(id)` of a service. */
export function getRequestCall(service: string, requestId: bigint): ViewCall<RequestInfo> {
  return {
    call: ethCall(service, selector("service.getRequest") + uintWord(requestId)),
    decode: (data) => ({
      service,
      requestId,
      requester: address(word(data, 0)),
      price: uint(word(data, 1)),
      ackDeadline: small(word(data, 2)),
      startedAt: small(word(data, 3)),
      endsAt: small(word(data, 4)),
      duration: small(word(data, 5)),
      offeringId: small(word(data, 6)),
      status: REQUEST_STATUSES[small(word(data, 7))],
      rating: small(word(data, 8)),
    }),
  };
}

let unknownRequest: { name: string; selector: string } | undefined;

/**
 * True when a `getRequest` failed because the service has no such request: it reverts with
 * `ProviderServiceUnknownRequest` for an id it never recorded (an order not settled).
 */
export function isUnknownRequest(result: ViewResult<RequestInfo>): boolean {
  unknownRequest ??= ProviderServiceContract__factory.createInterface().getError("ProviderServiceUnknownRequest")!;
  return revertedWith(result, unknownRequest);
}

/** What the registry says of an order's requester: `settlementStanding(account, target)`. */
export interface OrderStanding {
  status: ParticipantStatusName;
  holdsAll: boolean;
  minSalt: bigint;
}

export function settlementStandingCall(registry: string, account: string, target: Prefix): ViewCall<OrderStanding> {
  return {
    call: ethCall(
      registry,
      selector("registry.settlementStanding") +
        addressWord(account) +
        uintWord(target.network) +
        uintWord(target.length),
    ),
    decode: (data) => ({
      status: PARTICIPANT_STATUS[small(word(data, 0))],
      holdsAll: small(word(data, 1)) !== 0,
      minSalt: uint(word(data, 2)),
    }),
  };
}

export function balanceOfCall(token: string, account: string): ViewCall<bigint> {
  return {
    call: ethCall(token, selector("token.balanceOf") + addressWord(account)),
    decode: (data) => uint(word(data, 0)),
  };
}

export function allowanceCall(token: string, owner: string, spender: string): ViewCall<bigint> {
  return {
    call: ethCall(token, selector("token.allowance") + addressWord(owner) + addressWord(spender)),
    decode: (data) => uint(word(data, 0)),
  };
}

/** `isValidSignature(bytes32,bytes)`, which is also the magic value a wallet answers with (ERC-1271). */
const ERC1271_SELECTOR = "1626ba7e";

/**
 * ERC-1271: whether the contract at `wallet` accepts `signature` over `hash`. An account without
 * code answers nothing, which is a no.
 */
export function isValidSignatureCall(wallet: string, hash: string, signature: string): ViewCall<boolean> {
  const bytes = signature.slice(2);
  const padded = bytes.padEnd(Math.ceil(bytes.length / 64) * 64, "0");
  return {
    call: ethCall(wallet, ERC1271_SELECTOR + hash.slice(2) + uintWord(64) + uintWord(bytes.length / 2) + padded),
    decode: (data) => data.length >= 66 && data.slice(2, 10) === ERC1271_SELECTOR,
  };
}

/** The origin AS of the most specific registered prefix covering `prefix`, or null. */
export function coveringAsnCall(registry: string, prefix: Prefix): ViewCall<number | null> {
  return {
    call: ethCall(registry, selector("registry.coveringPrefix") + uintWord(prefix.network) + uintWord(prefix.length)),
    // (bool found, Route(network, prefixLength, originAsn, holder, delegated)), all inline.
    decode: (data) => (small(word(data, 0)) === 0 ? null : small(word(data, 3))),
  };
}

/** The services covering an AS. */
export function servicesForAsnCall(directory: string, asn: number): ViewCall<string[]> {
  return {
    call: ethCall(directory, selector("directory.servicesForAsn") + uintWord(asn)),
    decode: (data) => {
      const start = Number(uint(word(data, 0))) / 32;
      const count = Number(uint(word(data, start)));
      return Array.from({ length: count }, (_, i) => address(word(data, start + 1 + i)));
    },
  };
}

/** `MAX_SOURCES`: the most sources an order (or a request) may list. */
export function maxSourcesCall(service: string): ViewCall<number> {
  return { call: ethCall(service, selector("service.MAX_SOURCES")), decode: (data) => small(word(data, 0)) };
}

export function offeringCountCall(service: string): ViewCall<number> {
  return { call: ethCall(service, selector("service.offeringCount")), decode: (data) => small(word(data, 0)) };
}

export function offeringCall(service: string, id: number): ViewCall<OfferingInfo> {
  return {
    call: ethCall(service, selector("service.offering") + uintWord(id)),
    decode: (data) => ({
      id,
      pricePerHour: uint(word(data, 0)),
      maxDuration: small(word(data, 1)),
      capacity: small(word(data, 2)),
      kind: MITIGATION_KINDS[small(word(data, 3))],
      active: small(word(data, 4)) !== 0,
    }),
  };
}

/** Runs the views in JSON-RPC batches (one round trip for up to `size`) and decodes each answer. */
export async function readViews<T>(rpc: JsonRpc, views: readonly ViewCall<T>[], size = 1000): Promise<ViewResult<T>[]> {
  const outcomes = await batchAll(
    rpc,
    views.map((v) => v.call),
    size,
  );
  return outcomes.map((outcome, i) => {
    if (!outcome.ok) return outcome;
    try {
      return { ok: true, value: views[i].decode(outcome.result as string) };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  });
}

/** The value of a view that must succeed, or its failure as one sentence naming `what`. */
export function valueOf<T>(result: ViewResult<T>, what: string): T {
  if (!result.ok) throw new Error(`Reading ${what} failed: ${result.error}`);
  return result.value;
}

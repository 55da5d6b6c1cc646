/**
 * The import plan: the transactions an import sends, in nonce order, each with its gas limit.
 * It depends only on the table and the options, never on the chain, so that a run after a crash
 * plans the same batches and can tell from the chain which of them are already in.
 */
import { PrefixRegistry__factory } from "../../typechain-types";
import { mask } from "../prefix";
import { importHolder, type ImportEntry } from "./table";

/** Gas of one allocateBatch, as a function of what each entry makes the registry do. */
export interface GasModel {
  /** Per transaction: intrinsic gas, role check, first reads of the registry's words. */
  perTransaction: number;
  /**
   * Per entry: its record and, most of the time, the branch node where it parts from its nearest
   * neighbour in the registry's tree (a new slot each), the parent's links, the event, calldata.
   */
  perEntry: number;
  /**
   * Per length in use below the entry: the search for the node to hang it under probes the
   * lengths at which nodes exist (registered prefixes and branch nodes), a cold read or two each,
   * until it finds one containing the entry. Counted over the registered lengths below the entry,
   * an upper bound in a sparse registry; a dense one stops sooner.
   */
  perProbe: number;
  /** Per entry whose holder the transaction has not read yet. */
  perHolder: number;
  /** Per entry that has a registered parent: the parent's links, and its summary turned mixed. */
  perParent: number;
  /** Per entry at a length no prefix used before: a bit of the registry's length bitmap. */
  perNewLength: number;
}

/**
 * Calibrated on Hardhat against receipts of samples of the table (sparse: the worst case, ~112k
 * gas per prefix in a batch of 100 random IPv4 rows), with headroom: a batch's real gas stays below
 * its estimate (the import checks every receipt).
 */
export const DEFAULT_GAS_MODEL: GasModel = {
  perTransaction: 90_000,
  perEntry: 62_000,
  perProbe: 3_500,
  perHolder: 2_700,
  perParent: 28_000,
  perNewLength: 3_000,
};

export interface PlanOptions {
  /** The most gas one allocateBatch may use: at most the block gas limit. */
  batchGas: number;
  /** False when no entry lies inside another (range tables): the parent search then never hits. */
  mayNest?: boolean;
  /** At most this many prefixes per batch, whatever the gas (keeps transactions small). */
  maxBatchEntries?: number;
  gasModel?: GasModel;
}

/** One allocateBatch: entries [start, end) of the table. */
export interface Batch {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly gas: number;
}

/**
 * Cuts the entries into batches that fit `batchGas`, simulating what the registry probes: the
 * lengths in use below each prefix (from an empty registry: lengths others registered only add a
 * few probes, which the model's headroom covers).
 */
export function planBatches(entries: readonly ImportEntry[], options: PlanOptions): Batch[] {
  const model = options.gasModel ?? DEFAULT_GAS_MODEL;
  const maxEntries = options.maxBatchEntries ?? Number.MAX_SAFE_INTEGER;
  const mayNest = options.mayNest ?? true;
  const batches: Batch[] = [];
  // The lengths in use, longest first.
  const lengths: number[] = [];
  // String keys: V8 hashes a bigint by its low word, and IPv6 networks all end in zero words.
  const registered = new Map<number, Set<string>>();
  let start = 0;
  let gas = model.perTransaction;
  let holders = new Set<number>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    // The parent search walks the lengths in use from the longest below this one down, and stops
    // at the first registered prefix containing it.
    let probes = 0;
    let parent = false;
    for (const length of lengths) {
      if (length >= entry.length) continue;
      probes++;
      parent = mayNest && registered.get(length)!.has((entry.network & mask(length)).toString(16));
      if (parent) break;
    }
    const cost =
      model.perEntry +
      probes * model.perProbe +
      (holders.has(entry.asn) ? 0 : model.perHolder) +
      (parent ? model.perParent : 0) +
      (registered.has(entry.length) ? 0 : model.perNewLength);
    if (i > start && (gas + cost > options.batchGas || i - start >= maxEntries)) {
      batches.push({ index: batches.length, start, end: i, gas });
      start = i;
      gas = model.perTransaction;
      holders = new Set();
    }
    gas += cost;
    holders.add(entry.asn);
    let level = registered.get(entry.length);
    if (level === undefined) {
      registered.set(entry.length, (level = new Set()));
      lengths.push(entry.length);
      lengths.sort((a, b) => b - a);
    }
    if (mayNest) level.add(entry.network.toString(16));
  }
  if (start < entries.length) batches.push({ index: batches.length, start, end: entries.length, gas });
  return batches;
}

// --- calldata -------------------------------------------------------------------------------
// Hand-encoded: ethers' ABI coder would spend more time on 700,000 tuples than the chain does.
// test/import checks these encoders against ethers'.

const registryInterface = PrefixRegistry__factory.createInterface();

function selector(name: Parameters<typeof registryInterface.getFunction>[0]): string {
  return registryInterface.getFunction(name).selector.slice(2);
}

const SELECTORS = {
  allocateBatch: selector("allocateBatch"),
  registerParticipant: selector("registerParticipant"),
  assignAsn: selector("assignAsn"),
  asnHolder: selector("asnHolder"),
  participantStatus: selector("participantStatus"),
  prefix: selector("prefix"),
  lookup: selector("lookup"),
  prefixCount: selector("prefixCount"),
};

function word(value: bigint | number): string {
  return value.toString(16).padStart(64, "0");
}

function addressWord(address: string): string {
  return address.slice(2).toLowerCase().padStart(64, "0");
}

/** allocateBatch(Allocation[]) for the entries, each held by its AS's import holder. */
export function encodeAllocateBatch(entries: readonly ImportEntry[], holderOf: (asn: number) => string): string {
  const parts = ["0x", SELECTORS.allocateBatch, word(32), word(entries.length)];
  for (const entry of entries) {
    parts.push(word(entry.network), word(entry.length), addressWord(holderOf(entry.asn)), word(entry.asn));
  }
  return parts.join("");
}

function encodeString(text: string): string {
  const hex = Buffer.from(text, "utf8").toString("hex");
  const padded = hex.padEnd(Math.ceil(hex.length / 64) * 64, "0");
  return word(hex.length / 2) + padded;
}

/** registerParticipant(address, string, string). */
export function encodeRegisterParticipant(account: string, name: string, metadataURI: string): string {
  const nameData = encodeString(name);
  const offsetName = 96;
  const offsetMeta = offsetName + nameData.length / 2;
  return (
    "0x" +
    SELECTORS.registerParticipant +
    addressWord(account) +
    word(offsetName) +
    word(offsetMeta) +
    nameData +
    encodeString(metadataURI)
  );
}

/** registerParticipantBatch((address,string,string)[]). */
export function encodeRegisterParticipantBatch(
  participants: readonly { account: string; name: string; metadataURI: string }[],
): string {
  return registryInterface.encodeFunctionData("registerParticipantBatch", [[...participants]]);
}

/** assignAsnBatch((uint32,address)[]). */
export function encodeAssignAsnBatch(assignments: readonly { asn: number; holder: string }[]): string {
  return registryInterface.encodeFunctionData("assignAsnBatch", [[...assignments]]);
}

export function encodeAssignAsn(asn: number, holder: string): string {
  return "0x" + SELECTORS.assignAsn + word(asn) + addressWord(holder);
}

export function encodeAsnHolder(asn: number): string {
  return "0x" + SELECTORS.asnHolder + word(asn);
}

export function encodeParticipantStatus(account: string): string {
  return "0x" + SELECTORS.participantStatus + addressWord(account);
}

export function encodePrefix(network: bigint, length: number): string {
  return "0x" + SELECTORS.prefix + word(network) + word(length);
}

export function encodeLookup(address: bigint): string {
  return "0x" + SELECTORS.lookup + word(address);
}

export function encodePrefixCount(): string {
  return "0x" + SELECTORS.prefixCount;
}

/** The address in word `index` of ABI-encoded return data. */
export function decodeAddressWord(data: string, index: number): string {
  return "0x" + data.slice(2 + index * 64 + 24, 2 + (index + 1) * 64);
}

/** The unsigned integer in word `index` of ABI-encoded return data. */
export function decodeUintWord(data: string, index: number): bigint {
  const hex = data.slice(2 + index * 64, 2 + (index + 1) * 64);
  return hex === "" ? 0n : BigInt("0x" + hex);
}

/** lookup(addr) → (found, Route{network, prefixLength, originAsn, holder, delegated}). */
export function decodeLookup(data: string): {
  found: boolean;
  network: bigint;
  length: number;
  asn: number;
  holder: string;
} {
  return {
    found: decodeUintWord(data, 0) !== 0n,
    network: decodeUintWord(data, 1),
    length: Number(decodeUintWord(data, 2)),
    asn: Number(decodeUintWord(data, 3)),
    holder: decodeAddressWord(data, 4),
  };
}

// --- the plan -------------------------------------------------------------------------------

/** The name a holder participant is registered with. */
export function holderName(asn: number, organisation: string): string {
  return organisation.trim() === "" ? `AS${asn}` : organisation.trim();
}

/** Where an import holder's identity is described: the AS and the table it came from. */
export function holderMetadata(asn: number, source: string): string {
  return `as:${asn};source:${source}`;
}

/** Gas limits of the single-purpose transactions: generous, since only the gas used is paid. */
export function registerParticipantGas(name: string, metadataURI: string): number {
  const slots = (text: string): number => {
    const bytes = Buffer.byteLength(text, "utf8");
    return bytes < 32 ? 1 : 1 + Math.ceil(bytes / 32);
  };
  return 80_000 + 23_000 * (slots(name) + slots(metadataURI)) + 20 * (196 + Buffer.byteLength(name + metadataURI));
}
export const ASSIGN_ASN_GAS = 80_000;

/** Memoised holder addresses: derivation is a keccak, and each AS appears in many prefixes. */
export function holderCache(): (asn: number) => string {
  const cache = new Map<number, string>();
  return (asn) => {
    let holder = cache.get(asn);
    if (holder === undefined) cache.set(asn, (holder = importHolder(asn)));
    return holder;
  };
}

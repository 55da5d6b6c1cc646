/**
 * The resumable import: registers a holder participant per AS, assigns the AS to it, and
 * allocates the table's prefixes in batches, all from one account with consecutive nonces.
 *
 * Crash safety comes from reading the chain, not from a local journal. Before it plans what to
 * send, a run waits until the account has nothing pending (a transaction sent just before a crash
 * is mined or dropped first), then asks the registry what is already there: each AS's holder, each
 * holder's status, and for every planned batch whether its first and last prefixes are registered.
 * A batch is all or nothing, so those two answer for the whole batch. What is there is skipped,
 * the rest sent: nothing twice (a duplicate would revert), nothing left out.
 */
import { plannedBatchesState, sendAll, waitForIdleAccount, type ChainContext, type Op } from "./send";
import {
  ASSIGN_ASN_GAS,
  decodeAddressWord,
  decodeUintWord,
  encodeAllocateBatch,
  encodeAsnHolder,
  encodeAssignAsnBatch,
  encodeParticipantStatus,
  encodeRegisterParticipantBatch,
  holderCache,
  holderMetadata,
  holderName,
  planBatches,
  registerParticipantGas,
  type Batch,
  type GasModel,
} from "./plan";
import { batchAll, resultOf, type JsonRpc, type TxSender } from "./rpc";
import type { ImportTable } from "./table";

export interface Progress {
  phase: "holders" | "prefixes";
  done: number;
  total: number;
}

export interface ImportOptions {
  rpc: JsonRpc;
  /** The PrefixRegistry's address. */
  registry: string;
  /** A registrar account. */
  sender: TxSender;
  /** Where the table came from, recorded in each holder's metadata. */
  source: string;
  /**
   * The most estimated gas per allocateBatch; default: 30M, or the block gas limit over the
   * headroom, whichever is lower. The transaction's gas limit is 30 % above the estimate.
   */
  batchGas?: number;
  maxBatchEntries?: number;
  gasModel?: GasModel;
  /** At most this many transactions sent and not yet mined (default 2000). */
  window?: number;
  /**
   * At most this much gas outstanding (default: two blocks' worth). Flooding a node's pool gains
   * nothing once blocks are full, and anvil drops transactions that arrive while it builds a block.
   */
  maxPendingGas?: number;
  /** How long to wait for transactions pending from an earlier run (default 120 s). */
  drainTimeoutMs?: number;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  onProgress?: (progress: Progress) => void;
}

export interface ImportSummary {
  prefixes: { total: number; ipv4: number; ipv6: number; imported: number; alreadyPresent: number };
  asns: { total: number; assigned: number; alreadyAssigned: number; heldByOthers: number };
  participants: { registered: number };
  batches: { total: number; sent: number; batchGas: number };
  transactions: number;
  /** Transactions sent again because the node had dropped them. */
  rebroadcast: number;
  gas: { allocations: string; perImportedPrefix: number | null; holders: string };
  seconds: number;
  prefixesPerSecond: number | null;
}

/**
 * Gas limit over the plan's estimate of a batch. The model is calibrated on the whole table, where
 * neighbouring prefixes share holders and lengths; a sparse table (a sample) costs up to ~13 % more
 * per prefix. Only the gas used is paid, so the margin is free.
 */
const GAS_LIMIT_HEADROOM = 1.3;

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** The ASes whose holder is not yet in place, from the registry's own answers. */
async function holderState(
  rpc: JsonRpc,
  registry: string,
  table: ImportTable,
  holderOf: (asn: number) => string,
): Promise<{ register: number[]; assign: number[]; heldByOthers: { asn: number; holder: string }[] }> {
  const asns = [...table.asns.keys()];
  const call = (data: string) => ({ method: "eth_call", params: [{ to: registry, data }, "latest"] });
  const holders = await batchAll(
    rpc,
    asns.map((asn) => call(encodeAsnHolder(asn))),
  );
  const assign: number[] = [];
  const heldByOthers: { asn: number; holder: string }[] = [];
  // An AS already assigned to its import holder implies the holder is registered; for the others
  // the holder's status is asked, since it receives the AS's prefixes either way.
  const unknown: number[] = [];
  for (let i = 0; i < asns.length; i++) {
    const asn = asns[i];
    const holder = decodeAddressWord(resultOf(holders[i], `asnHolder(${asn})`) as string, 0);
    if (holder === holderOf(asn).toLowerCase()) continue;
    if (holder === ZERO_ADDRESS) assign.push(asn);
    else heldByOthers.push({ asn, holder });
    unknown.push(asn);
  }
  const statuses = await batchAll(
    rpc,
    unknown.map((asn) => call(encodeParticipantStatus(holderOf(asn)))),
  );
  const register: number[] = [];
  for (let i = 0; i < unknown.length; i++) {
    const status = decodeUintWord(resultOf(statuses[i], "participantStatus") as string, 0);
    if (status === 0n) register.push(unknown[i]);
    else if (status === 2n) {
      throw new Error(
        `The import holder of AS${unknown[i]} (${holderOf(unknown[i])}) is suspended: reinstate it first.`,
      );
    }
  }
  return { register, assign, heldByOthers };
}

/** Imports `table` into the registry, or continues an import that stopped. */
export async function importTable(table: ImportTable, options: ImportOptions): Promise<ImportSummary> {
  const started = Date.now();
  const { rpc, registry, sender } = options;
  const holderOf = holderCache();
  const context: ChainContext = await waitForIdleAccount(rpc, sender.address, options.drainTimeoutMs ?? 120_000);
  // The plan's estimate is cut at `batchGas`; the gas limit adds GAS_LIMIT_HEADROOM on top, within a block.
  const blockGas = Number(context.blockGasLimit);
  const batchGas = options.batchGas ?? Math.min(30_000_000, Math.floor(blockGas / GAS_LIMIT_HEADROOM));
  const batches = planBatches(table.entries, {
    batchGas,
    maxBatchEntries: options.maxBatchEntries,
    mayNest: table.mayNest,
    gasModel: options.gasModel,
  });

  const holders = await holderState(rpc, registry, table, holderOf);
  const { todo, present } = await plannedBatchesState(rpc, registry, table.entries, batches);

  // Holders go in batches too: one transaction per AS would be ~180,000 transactions for the
  // full table. A batch is all or nothing, so a crash never leaves one half applied.
  const ops: Op[] = [];
  const holderBatchGas = Math.floor(batchGas / 2);
  let registrations: { account: string; name: string; metadataURI: string }[] = [];
  let registrationGas = 0;
  const flushRegistrations = (): void => {
    if (registrations.length === 0) return;
    ops.push({
      kind: "holder",
      data: encodeRegisterParticipantBatch(registrations),
      gasLimit: registrationGas,
      weight: 0,
    });
    registrations = [];
    registrationGas = 0;
  };
  for (const asn of holders.register) {
    const name = holderName(asn, table.asns.get(asn) ?? "");
    const metadataURI = holderMetadata(asn, options.source);
    const gas = registerParticipantGas(name, metadataURI);
    if (registrationGas + gas > holderBatchGas) flushRegistrations();
    registrations.push({ account: holderOf(asn), name, metadataURI });
    registrationGas += gas;
  }
  flushRegistrations();
  const assignmentsPerBatch = Math.max(1, Math.floor(holderBatchGas / ASSIGN_ASN_GAS));
  for (let i = 0; i < holders.assign.length; i += assignmentsPerBatch) {
    const chunk = holders.assign.slice(i, i + assignmentsPerBatch);
    ops.push({
      kind: "holder",
      data: encodeAssignAsnBatch(chunk.map((asn) => ({ asn, holder: holderOf(asn) }))),
      gasLimit: ASSIGN_ASN_GAS * chunk.length,
      weight: 0,
    });
  }
  const holderOps = ops.length;
  for (const batch of todo) {
    ops.push({
      kind: "batch",
      data: encodeAllocateBatch(table.entries.slice(batch.start, batch.end), holderOf),
      gasLimit: Math.min(blockGas, Math.ceil(batch.gas * GAS_LIMIT_HEADROOM)),
      weight: batch.end - batch.start,
      batch,
    });
  }

  const prefixTotal = todo.reduce((sum, b: Batch) => sum + b.end - b.start, 0);
  const result = await sendAll(rpc, sender, registry, context, ops, {
    window: options.window ?? 2000,
    maxPendingGas: options.maxPendingGas ?? blockGas * 2,
    maxFeePerGas: options.maxFeePerGas,
    maxPriorityFeePerGas: options.maxPriorityFeePerGas,
    onProgress: (sent) => {
      if (sent.index < holderOps) options.onProgress?.({ phase: "holders", done: sent.index, total: holderOps });
      else options.onProgress?.({ phase: "prefixes", done: sent.weight, total: prefixTotal });
    },
  });

  const imported = prefixTotal;
  const seconds = (Date.now() - started) / 1000;
  const alreadyPresent = present.reduce((sum, b) => sum + b.end - b.start, 0);
  return {
    prefixes: {
      total: table.entries.length,
      ipv4: table.report.ipv4Prefixes,
      ipv6: table.report.ipv6Prefixes,
      imported,
      alreadyPresent,
    },
    asns: {
      total: table.asns.size,
      assigned: holders.assign.length,
      alreadyAssigned: table.asns.size - holders.assign.length - holders.heldByOthers.length,
      heldByOthers: holders.heldByOthers.length,
    },
    participants: { registered: holders.register.length },
    batches: { total: batches.length, sent: todo.length, batchGas },
    transactions: ops.length,
    rebroadcast: result.rebroadcast,
    gas: {
      allocations: result.batchGas.toString(),
      perImportedPrefix: imported === 0 ? null : Math.round(Number(result.batchGas) / imported),
      holders: result.otherGas.toString(),
    },
    seconds,
    prefixesPerSecond: imported === 0 ? null : Math.round(imported / seconds),
  };
}

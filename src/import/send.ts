/** Sending many transactions from one account: explicit nonces, batched submission, a window. */
import { keccak256 } from "ethers";

import type { Batch } from "./plan";
import { decodeAddressWord, encodePrefix } from "./plan";
import { batchAll, resultOf, type FeeSettings, type JsonRpc, type RpcCall, type TxSender } from "./rpc";
import type { ImportEntry } from "./table";

/** What the chain says before a run sends anything. */
export interface ChainContext {
  chainId: bigint;
  /** The account's next nonce, with nothing pending. */
  nonce: number;
  blockGasLimit: bigint;
  baseFee: bigint;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function nonceAt(rpc: JsonRpc, address: string, tag: "latest" | "pending"): Promise<number> {
  return Number(BigInt((await rpc.request("eth_getTransactionCount", [address, tag])) as string));
}

/**
 * Waits until `address` has no transaction pending, so that the chain state a run reads is final
 * for this account: a transaction sent by a run that crashed is mined (or dropped) first.
 */
export async function waitForIdleAccount(rpc: JsonRpc, address: string, timeoutMs: number): Promise<ChainContext> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [latest, pending] = await Promise.all([nonceAt(rpc, address, "latest"), nonceAt(rpc, address, "pending")]);
    if (pending <= latest) {
      const chainId = BigInt((await rpc.request("eth_chainId", [])) as string);
      const block = (await rpc.request("eth_getBlockByNumber", ["latest", false])) as {
        gasLimit: string;
        baseFeePerGas?: string;
      };
      return {
        chainId,
        nonce: latest,
        blockGasLimit: BigInt(block.gasLimit),
        baseFee: BigInt(block.baseFeePerGas ?? "0x0"),
      };
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${address} still has ${pending - latest} transactions pending after ${Math.round(timeoutMs / 1000)} s: wait until the node mines or drops them, then run the import again.`,
      );
    }
    await sleep(250);
  }
}

/**
 * Which planned batches the registry already has. A batch is atomic, so its first and last
 * prefixes answer for it; one registered without the other means someone else registered part
 * of it, and the import stops rather than guess.
 */
export async function plannedBatchesState(
  rpc: JsonRpc,
  registry: string,
  entries: readonly ImportEntry[],
  batches: readonly Batch[],
): Promise<{ todo: Batch[]; present: Batch[] }> {
  const calls = batches.flatMap((batch) =>
    [entries[batch.start], entries[batch.end - 1]].map((entry) => ({
      method: "eth_call",
      params: [{ to: registry, data: encodePrefix(entry.network, entry.length) }, "latest"],
    })),
  );
  const outcomes = await batchAll(rpc, calls);
  const todo: Batch[] = [];
  const present: Batch[] = [];
  const ZERO = "0x0000000000000000000000000000000000000000";
  for (const batch of batches) {
    const registered = [0, 1].map(
      (k) => decodeAddressWord(resultOf(outcomes[batch.index * 2 + k], "prefix()") as string, 3) !== ZERO,
    );
    if (registered[0] && registered[1]) present.push(batch);
    else if (!registered[0] && !registered[1]) todo.push(batch);
    else {
      throw new Error(
        `Batch ${batch.index} (entries ${batch.start} to ${batch.end - 1}) is partly registered: the registry holds prefixes this import did not allocate, so the import stops rather than guess.`,
      );
    }
  }
  return { todo, present };
}

/** One transaction to send. */
export interface Op {
  kind: "holder" | "batch";
  data: string;
  gasLimit: number;
  /** Prefixes it allocates (0 for holder transactions). */
  weight: number;
  batch?: Batch;
}

export interface SendOptions {
  /** At most this many transactions sent and not yet mined. */
  window: number;
  /** At most this much gas (by gas limit) sent and not yet mined; default: no limit. */
  maxPendingGas?: number;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  /**
   * How long the account's nonce may stand still, with transactions outstanding, before the
   * sender asks the node whether it still has them (default 3 s). Nodes drop transactions (anvil
   * loses some when they arrive while it builds a block; a restarted node loses its pool); each
   * one the node no longer knows is sent again, signed as before.
   */
  stallMs?: number;
  /** Rebroadcasts without progress before the run gives up (default 5). */
  maxRebroadcasts?: number;
  /** After each receipt check: how many ops are mined, and the prefixes they allocated. */
  onProgress?: (mined: { index: number; weight: number }) => void;
  /** Told when transactions the node had dropped are sent again. */
  onRebroadcast?: (event: { fromNonce: number; count: number }) => void;
}

export interface SendResult {
  batchGas: bigint;
  otherGas: bigint;
  /** Transactions sent again because the node had dropped them. */
  rebroadcast: number;
}

interface Receipt {
  status: string;
  gasUsed: string;
}

/** A node's answer to a transaction it already has (sent by an earlier run, signed the same). */
const ALREADY_KNOWN = /already (known|imported)|known transaction|AlreadyImported/i;
/** A node's answer to a transaction sent again that was mined meanwhile. */
const ALREADY_MINED = /nonce too low/i;

/** Nodes cap a request's size (anvil refuses a batch of 250 full allocateBatch transactions). */
const MAX_REQUEST_CHARS = 1_000_000;
const SUBMIT_CHUNK = 250;

/** Splits `calls` into JSON-RPC batches below the size nodes accept. */
function requestChunks<T extends { params: readonly unknown[] }>(calls: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let chars = 0;
  for (const call of calls) {
    const size = JSON.stringify(call.params).length;
    if (chunk.length > 0 && (chunk.length >= SUBMIT_CHUNK || chars + size > MAX_REQUEST_CHARS)) {
      chunks.push(chunk);
      chunk = [];
      chars = 0;
    }
    chunk.push(call);
    chars += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Sends `ops` with consecutive nonces from `context.nonce`, at most `window` unmined at a time,
 * and checks every receipt. A reverted transaction stops the run (what was sent after it is
 * still mined, and a new run finds it in the chain). Transactions the node drops are sent again.
 */
export async function sendAll(
  rpc: JsonRpc,
  sender: TxSender,
  to: string,
  context: ChainContext,
  ops: readonly Op[],
  options: SendOptions,
): Promise<SendResult> {
  const priority = options.maxPriorityFeePerGas ?? 0n;
  const fees: FeeSettings = {
    chainId: context.chainId,
    maxPriorityFeePerGas: priority,
    // Room for the base fee to rise while blocks are full.
    maxFeePerGas: options.maxFeePerGas ?? context.baseFee * 4n + priority + 1_000_000_000n,
  };
  const stallMs = options.stallMs ?? 3000;
  const maxRebroadcasts = options.maxRebroadcasts ?? 5;
  const hashes: string[] = new Array<string>(ops.length);
  // The signed submissions not yet mined, kept to send again if the node drops them.
  const submissions = new Map<number, RpcCall>();
  let sent = 0;
  let checked = 0;
  let weight = 0;
  let batchGas = 0n;
  let otherGas = 0n;
  let rebroadcast = 0;
  let pendingGas = 0;
  const maxPendingGas = options.maxPendingGas ?? Number.POSITIVE_INFINITY;
  let fruitlessRebroadcasts = 0;
  let lastProgress = Date.now();
  let failure: string | null = null;

  while (checked < ops.length) {
    // Submit while the window has room.
    while (failure === null && sent < ops.length && sent - checked < options.window) {
      let end = Math.min(ops.length, sent + SUBMIT_CHUNK, checked + options.window);
      let gas = pendingGas;
      for (let i = sent; i < end; i++) {
        if (i > checked && gas + ops[i].gasLimit > maxPendingGas) {
          end = i;
          break;
        }
        gas += ops[i].gasLimit;
      }
      if (end <= sent) break;
      const calls: RpcCall[] = [];
      for (let i = sent; i < end; i++) {
        calls.push(
          sender.submission({ to, data: ops[i].data, nonce: context.nonce + i, gasLimit: ops[i].gasLimit }, fees),
        );
      }
      for (const chunk of requestChunks(calls)) {
        const outcomes = await rpc.batch(chunk);
        // The same signed transaction from a run that crashed is the one this run would send.
        const known = (k: number): string | null => {
          const outcome = outcomes[k];
          if (outcome.ok) return outcome.result as string;
          const raw = chunk[k].method === "eth_sendRawTransaction" ? (chunk[k].params[0] as string) : null;
          return raw !== null && ALREADY_KNOWN.test(outcome.error) ? keccak256(raw) : null;
        };
        const refused = outcomes.findIndex((_, k) => known(k) === null);
        const accepted = refused === -1 ? outcomes.length : refused;
        for (let k = 0; k < accepted; k++) {
          hashes[sent + k] = known(k)!;
          submissions.set(sent + k, chunk[k]);
          pendingGas += ops[sent + k].gasLimit;
        }
        if (refused !== -1) {
          const outcome = outcomes[refused];
          failure = `The node refused transaction ${sent + refused} (nonce ${context.nonce + sent + refused}): ${outcome.ok ? "" : outcome.error}`;
          sent += accepted;
          break;
        }
        sent += chunk.length;
      }
    }
    if (checked >= sent) break;

    const mined = Math.min(sent, (await nonceAt(rpc, sender.address, "latest")) - context.nonce);
    if (mined <= checked) {
      if (Date.now() - lastProgress > stallMs) {
        const resent = await rebroadcastDropped(rpc, hashes, submissions, checked, sent);
        if (resent > 0) {
          rebroadcast += resent;
          fruitlessRebroadcasts++;
          options.onRebroadcast?.({ fromNonce: context.nonce + checked, count: resent });
          if (fruitlessRebroadcasts > maxRebroadcasts) {
            failure = `The node dropped transaction ${checked} (nonce ${context.nonce + checked}) ${fruitlessRebroadcasts} times`;
            break;
          }
        }
        lastProgress = Date.now();
      }
      await sleep(20);
      continue;
    }
    lastProgress = Date.now();
    fruitlessRebroadcasts = 0;
    const receipts = await batchAll(
      rpc,
      hashes.slice(checked, mined).map((hash) => ({ method: "eth_getTransactionReceipt", params: [hash] })),
      500,
    );
    let ready = checked;
    for (let k = 0; k < receipts.length; k++) {
      const index = checked + k;
      const receipt = resultOf(receipts[k], `the receipt of ${hashes[index]}`) as Receipt | null;
      // The account's nonce can move before the node serves the block's receipts.
      if (receipt === null) break;
      ready = index + 1;
      submissions.delete(index);
      pendingGas -= ops[index].gasLimit;
      const gasUsed = BigInt(receipt.gasUsed);
      if (ops[index].kind === "batch") batchGas += gasUsed;
      else otherGas += gasUsed;
      if (receipt.status !== "0x1" && failure === null) {
        const op = ops[index];
        failure = op.batch
          ? `Batch ${op.batch.index} (prefixes ${op.batch.start} to ${op.batch.end - 1}) reverted in ${hashes[index]} after ${gasUsed} of ${op.gasLimit} gas`
          : `Transaction ${hashes[index]} reverted`;
      }
      weight += ops[index].weight;
    }
    if (ready === checked) await sleep(20);
    checked = ready;
    options.onProgress?.({ index: checked, weight });
  }
  if (failure !== null) {
    throw new Error(
      `${failure}. ${checked} of ${ops.length} transactions were mined; run the import again to continue from the chain's state.`,
    );
  }
  return { batchGas, otherGas, rebroadcast };
}

/**
 * Asks the node for the outstanding transactions `from..to` and sends again, as signed before,
 * those it no longer has. Returns how many were sent.
 */
async function rebroadcastDropped(
  rpc: JsonRpc,
  hashes: readonly string[],
  submissions: ReadonlyMap<number, RpcCall>,
  from: number,
  to: number,
): Promise<number> {
  const known = await batchAll(
    rpc,
    hashes.slice(from, to).map((hash) => ({ method: "eth_getTransactionByHash", params: [hash] })),
    500,
  );
  const dropped: RpcCall[] = [];
  for (let k = 0; k < known.length; k++) {
    if (resultOf(known[k], `transaction ${hashes[from + k]}`) === null) dropped.push(submissions.get(from + k)!);
  }
  for (const chunk of requestChunks(dropped)) {
    const outcomes = await rpc.batch(chunk);
    for (const outcome of outcomes) {
      if (!outcome.ok && !ALREADY_KNOWN.test(outcome.error) && !ALREADY_MINED.test(outcome.error)) {
        throw new Error(`The node refused a transaction sent again after it had dropped it: ${outcome.error}`);
      }
    }
  }
  return dropped.length;
}

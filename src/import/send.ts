/** Sending many transactions from one account: explicit nonces, batched submission, a window. */
import type { Batch } from "./plan";
import { decodeAddressWord, encodePrefix } from "./plan";
import { batchAll, resultOf, type FeeSettings, type JsonRpc, type TxSender } from "./rpc";
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
  window: number;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  /** After each receipt check: how many ops are mined, and the prefixes they allocated. */
  onProgress?: (mined: { index: number; weight: number }) => void;
}

export interface SendResult {
  batchGas: bigint;
  otherGas: bigint;
}

interface Receipt {
  status: string;
  gasUsed: string;
}

/**
 * Sends `ops` with consecutive nonces from `context.nonce`, at most `window` unmined at a time,
 * and checks every receipt. A reverted transaction stops the run (what was sent after it is
 * still mined, and a new run finds it in the chain).
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
  const hashes: string[] = new Array<string>(ops.length);
  let sent = 0;
  let checked = 0;
  let weight = 0;
  let batchGas = 0n;
  let otherGas = 0n;
  let failure: string | null = null;
  const SUBMIT_CHUNK = 250;
  const MAX_REQUEST_CHARS = 1_000_000;

  while (checked < ops.length) {
    // Submit while the window has room.
    while (failure === null && sent < ops.length && sent - checked < options.window) {
      let end = Math.min(ops.length, sent + SUBMIT_CHUNK, checked + options.window);
      // Nodes cap a request's size (anvil refuses a batch of 250 full allocateBatch transactions).
      let bytes = 0;
      for (let i = sent; i < end; i++) {
        bytes += ops[i].data.length;
        if (bytes > MAX_REQUEST_CHARS && i > sent) {
          end = i;
          break;
        }
      }
      const calls = [];
      for (let i = sent; i < end; i++) {
        calls.push(
          sender.submission({ to, data: ops[i].data, nonce: context.nonce + i, gasLimit: ops[i].gasLimit }, fees),
        );
      }
      const outcomes = await rpc.batch(calls);
      for (let k = 0; k < outcomes.length; k++) {
        const outcome = outcomes[k];
        if (!outcome.ok) {
          failure = `The node refused transaction ${sent + k} (nonce ${context.nonce + sent + k}): ${outcome.error}`;
          break;
        }
        hashes[sent + k] = outcome.result as string;
      }
      if (failure !== null) {
        sent += outcomes.findIndex((o) => !o.ok);
        break;
      }
      sent = end;
    }
    if (checked >= sent) break;

    const mined = Math.min(sent, (await nonceAt(rpc, sender.address, "latest")) - context.nonce);
    if (mined <= checked) {
      await sleep(20);
      continue;
    }
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
  return { batchGas, otherGas };
}

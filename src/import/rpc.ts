/**
 * Plain JSON-RPC, batched: the import sends thousands of transactions and reads thousands of
 * views, and one HTTP round trip per call would cost more than the chain's work.
 */
import { Transaction, type SigningKey } from "ethers";

export interface RpcCall {
  method: string;
  params: unknown[];
}

/** One call's outcome in a batch: its result, or the node's error message. */
export type RpcOutcome = { ok: true; result: unknown } | { ok: false; error: string };

export interface JsonRpc {
  request(method: string, params: unknown[]): Promise<unknown>;
  /** The calls in one round trip where the transport allows it; outcomes in call order. */
  batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]>;
}

interface RpcResponse {
  id: number;
  result?: unknown;
  error?: { message?: string };
}

/** JSON-RPC over HTTP, with real batches. */
export class HttpJsonRpc implements JsonRpc {
  private nextId = 1;

  constructor(readonly url: string) {}

  private async post(body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new Error(`The node at ${this.url} did not answer (${(error as Error).message}).`);
    }
    if (!response.ok) throw new Error(`The node at ${this.url} answered HTTP ${response.status}.`);
    return response.json();
  }

  async request(method: string, params: unknown[]): Promise<unknown> {
    const reply = (await this.post({ jsonrpc: "2.0", id: this.nextId++, method, params })) as RpcResponse;
    if (reply.error !== undefined) throw new Error(`${method} failed: ${reply.error.message ?? "unknown error"}.`);
    return reply.result;
  }

  async batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]> {
    if (calls.length === 0) return [];
    const first = this.nextId;
    this.nextId += calls.length;
    const body = calls.map((call, i) => ({ jsonrpc: "2.0", id: first + i, method: call.method, params: call.params }));
    const reply = await this.post(body);
    if (!Array.isArray(reply)) {
      const error = (reply as RpcResponse).error?.message ?? "not a batch reply";
      throw new Error(`The node at ${this.url} refused a batch of ${calls.length} calls: ${error}.`);
    }
    const outcomes = new Array<RpcOutcome>(calls.length);
    for (const item of reply as RpcResponse[]) {
      const index = item.id - first;
      outcomes[index] =
        item.error === undefined
          ? { ok: true, result: item.result }
          : { ok: false, error: item.error.message ?? "unknown error" };
    }
    for (let i = 0; i < outcomes.length; i++) {
      if (outcomes[i] === undefined) outcomes[i] = { ok: false, error: "no reply in the batch" };
    }
    return outcomes;
  }
}

/** An EIP-1193 provider (Hardhat's in-process network): no batches, calls in parallel instead. */
export class Eip1193JsonRpc implements JsonRpc {
  constructor(readonly provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> }) {}

  request(method: string, params: unknown[]): Promise<unknown> {
    return this.provider.request({ method, params });
  }

  async batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]> {
    const outcomes: RpcOutcome[] = [];
    // In order: transactions of one sender must reach the pool in nonce order.
    for (const call of calls) {
      try {
        outcomes.push({ ok: true, result: await this.provider.request({ method: call.method, params: call.params }) });
      } catch (error) {
        outcomes.push({ ok: false, error: (error as Error).message });
      }
    }
    return outcomes;
  }
}

/** Splits `calls` into batches of `size` and runs them, `parallel` batches at a time. */
export async function batchAll(
  rpc: JsonRpc,
  calls: readonly RpcCall[],
  size = 1000,
  parallel = 2,
): Promise<RpcOutcome[]> {
  const outcomes = new Array<RpcOutcome>(calls.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < calls.length) {
      const start = next;
      next += size;
      const results = await rpc.batch(calls.slice(start, start + size));
      for (let i = 0; i < results.length; i++) outcomes[start + i] = results[i];
    }
  }
  await Promise.all(Array.from({ length: parallel }, () => worker()));
  return outcomes;
}

/** The result of a successful call, or the error as one sentence. */
export function resultOf(outcome: RpcOutcome, what: string): unknown {
  if (!outcome.ok) throw new Error(`${what} failed: ${outcome.error}`);
  return outcome.result;
}

/** A transaction before signing: the importer fixes nonce, gas and fees itself. */
export interface PlannedTx {
  to: string;
  data: string;
  nonce: number;
  gasLimit: number;
}

export interface FeeSettings {
  chainId: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** How transactions reach the node: signed here, or by the node for an account it manages. */
export interface TxSender {
  readonly address: string;
  /** The JSON-RPC call that submits `tx`. */
  submission(tx: PlannedTx, fees: FeeSettings): RpcCall;
}

/** Signs locally with a key and submits raw transactions. */
export class KeySender implements TxSender {
  constructor(
    readonly address: string,
    private readonly key: SigningKey,
  ) {}

  submission(tx: PlannedTx, fees: FeeSettings): RpcCall {
    const unsigned = Transaction.from({
      type: 2,
      chainId: fees.chainId,
      nonce: tx.nonce,
      to: tx.to,
      data: tx.data,
      gasLimit: tx.gasLimit,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    unsigned.signature = this.key.sign(unsigned.unsignedHash);
    return { method: "eth_sendRawTransaction", params: [unsigned.serialized] };
  }
}

/** Lets the node sign, for an account it manages (anvil's and `hardhat node`'s dev accounts). */
export class NodeSender implements TxSender {
  constructor(readonly address: string) {}

  submission(tx: PlannedTx, fees: FeeSettings): RpcCall {
    const hex = (value: bigint | number): string => "0x" + value.toString(16);
    return {
      method: "eth_sendTransaction",
      params: [
        {
          from: this.address,
          to: tx.to,
          data: tx.data,
          nonce: hex(tx.nonce),
          gas: hex(tx.gasLimit),
          maxFeePerGas: hex(fees.maxFeePerGas),
          maxPriorityFeePerGas: hex(fees.maxPriorityFeePerGas),
        },
      ],
    };
  }
}

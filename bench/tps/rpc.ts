/**
 * The benchmark's JSON-RPC transport: batched calls over HTTP (Node 20's global fetch, keep-alive)
 * or, for Hardhat's in-process network, over an EIP-1193 provider. No ethers provider sits in the
 * hot path: it would add a round trip per transaction for nonce, gas and fees.
 */

export interface RpcCall {
  method: string;
  params: unknown[];
}

/** One call's outcome in a batch: a result or a JSON-RPC error. */
export type RpcOutcome = { ok: true; result: unknown } | { ok: false; error: string };

export interface Rpc {
  /** Sends the calls in one batch, in order; the outcomes come back in the same order. */
  batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]>;
  readonly description: string;
}

interface JsonRpcResponse {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

export class HttpRpc implements Rpc {
  private nextId = 1;

  constructor(readonly url: string) {}

  get description(): string {
    return this.url;
  }

  async batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]> {
    if (calls.length === 0) return [];
    const first = this.nextId;
    this.nextId += calls.length;
    const body = JSON.stringify(
      calls.map((call, i) => ({ jsonrpc: "2.0", id: first + i, method: call.method, params: call.params })),
    );
    const response = await fetch(this.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    if (!response.ok) throw new Error(`${this.url} answered HTTP ${response.status}: ${await response.text()}`);
    const parsed = (await response.json()) as JsonRpcResponse[] | JsonRpcResponse;
    if (!Array.isArray(parsed)) {
      throw new Error(`${this.url} refused the batch: ${parsed.error?.message ?? JSON.stringify(parsed)}`);
    }
    const outcomes: RpcOutcome[] = new Array<RpcOutcome>(calls.length);
    for (const item of parsed) {
      outcomes[item.id - first] =
        item.error === undefined ? { ok: true, result: item.result } : { ok: false, error: item.error.message };
    }
    return outcomes;
  }
}

/** An EIP-1193 provider (Hardhat's in-process network): a "batch" is the calls one after another. */
export interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

export class ProviderRpc implements Rpc {
  readonly description = "Hardhat in-process network";

  constructor(private readonly provider: Eip1193) {}

  async batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]> {
    const outcomes: RpcOutcome[] = [];
    for (const call of calls) {
      try {
        outcomes.push({ ok: true, result: await this.provider.request({ method: call.method, params: call.params }) });
      } catch (error) {
        outcomes.push({ ok: false, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return outcomes;
  }
}

/** One call; throws with the node's message on a JSON-RPC error. */
export async function call<T>(rpc: Rpc, method: string, params: unknown[] = []): Promise<T> {
  const [outcome] = await rpc.batch([{ method, params }]);
  if (!outcome.ok) throw new Error(`${method} failed: ${outcome.error}`);
  return outcome.result as T;
}

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

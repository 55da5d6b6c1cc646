/**
 * Plain JSON-RPC, batched: the importer and the benchmarks send thousands of transactions and
 * read thousands of views, and one HTTP round trip per call (or an ethers provider's round trips
 * for nonce, gas and fees) would cost more than the chain's work.
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";

import { postJson, PostTimeout, type HttpAnswer } from "./net";

export interface RpcCall {
  method: string;
  params: unknown[];
}

/** One call's outcome: its result, or the node's error message and, for a revert, its data where the node gives it. */
export type RpcOutcome = { ok: true; result: unknown } | { ok: false; error: string; data?: string };

export interface JsonRpc {
  request(method: string, params: unknown[]): Promise<unknown>;
  /** The calls in one round trip where the transport allows it; outcomes in call order. */
  batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]>;
}

interface RpcResponse {
  id: number;
  result?: unknown;
  error?: { message?: string; data?: unknown };
}

/** How long an agent's batched read may take before it fails (and is retried, or answered 503). */
export const AGENT_RPC_TIMEOUT_MS = 15_000;

/**
 * JSON-RPC over HTTP(S), with real batches, on keep-alive connections of Node's own http client:
 * an agent posts several times a block for ever, and `fetch` costs about three times the CPU per
 * post here (1.3-2.0 ms against 0.36-0.63 ms for `eth_blockNumber` on anvil).
 */
export class HttpJsonRpc implements JsonRpc {
  private nextId = 1;
  private readonly target: URL;
  private readonly agent: HttpAgent;

  /**
   * `timeoutMs`: how long a call (or batch) may take before it fails, so that a node that takes
   * the connection and never answers cannot hold its caller for ever. The default is generous: a
   * node may hold calls while it builds a large block (the import's 3e9-gas blocks under load took
   * over 15 s). The agents ask for less (AGENT_RPC_TIMEOUT_MS): an order intake must answer
   * within the life of an order.
   */
  constructor(
    readonly url: string,
    readonly timeoutMs = 120_000,
  ) {
    this.target = new URL(url);
    if (this.target.protocol !== "http:" && this.target.protocol !== "https:") {
      throw new Error(`The node's URL ${url} is not http:// or https://.`);
    }
    this.agent = new (this.target.protocol === "https:" ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: 16 });
  }

  private async post(body: unknown): Promise<unknown> {
    let answer: HttpAnswer;
    try {
      answer = await postJson(this.target, this.agent, JSON.stringify(body), {
        ms: this.timeoutMs,
        message: `The node at ${this.url} did not answer within ${this.timeoutMs / 1000} s.`,
      });
    } catch (error) {
      if (error instanceof PostTimeout) throw error;
      throw new Error(`The node at ${this.url} did not answer (${(error as Error).message}).`);
    }
    if (answer.status < 200 || answer.status > 299) {
      throw new Error(`The node at ${this.url} answered HTTP ${answer.status}.`);
    }
    try {
      return JSON.parse(answer.text);
    } catch {
      throw new Error(`The node at ${this.url} did not answer in JSON: ${answer.text.slice(0, 80)}`);
    }
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
          : {
              ok: false,
              error: item.error.message ?? "unknown error",
              ...(typeof item.error.data === "string" ? { data: item.error.data } : {}),
            };
    }
    for (let i = 0; i < outcomes.length; i++) {
      if (outcomes[i] === undefined) outcomes[i] = { ok: false, error: "no reply in the batch" };
    }
    return outcomes;
  }
}

/**
 * The revert data a thrown call error carries, if any: as a string in `data` (ethers, Hardhat when
 * it knows the error from the contracts' source maps), nested one level down (`data.data`), or only
 * in the message ("return data: 0x…", Hardhat for contracts compiled through the IR).
 */
export function revertDataOf(error: unknown): string | undefined {
  const { message, data } = (error ?? {}) as { message?: unknown; data?: unknown };
  if (typeof data === "string") return data;
  const inner = (data as { data?: unknown } | undefined)?.data;
  if (typeof inner === "string") return inner;
  return typeof message === "string" ? /return data: (0x[0-9a-fA-F]*)/.exec(message)?.[1] : undefined;
}

/** A call that threw: its message, and its revert data if the error carries it. */
function failure(error: unknown): RpcOutcome {
  const message = (error as { message?: string } | undefined)?.message;
  const data = revertDataOf(error);
  return { ok: false, error: message ?? String(error), ...(data !== undefined ? { data } : {}) };
}

/**
 * True when a failed call reverted with the custom error `error` (its name and 4-byte selector):
 * from the revert data, or from the message where the node only quotes it there (anvil: "custom
 * error 0x…", Hardhat: "custom error 'Name(…)'" or "return data: 0x…").
 */
export function revertedWith(
  outcome: { ok: boolean; error?: string; data?: string },
  error: { name: string; selector: string },
): boolean {
  if (outcome.ok) return false;
  const selector = error.selector.toLowerCase();
  if (outcome.data !== undefined) return outcome.data.toLowerCase().startsWith(selector);
  const message = outcome.error ?? "";
  return message.toLowerCase().includes(selector) || message.includes(`'${error.name}(`);
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
        outcomes.push(failure(error));
      }
    }
    return outcomes;
  }
}

/**
 * JSON-RPC through an ethers provider's `send` (a JsonRpcProvider, Hardhat's provider): for code
 * given a provider rather than a URL. A batch's calls go out together (a JsonRpcProvider puts
 * calls made together into one HTTP batch itself).
 */
export class ProviderJsonRpc implements JsonRpc {
  constructor(readonly provider: { send(method: string, params: unknown[]): Promise<unknown> }) {}

  request(method: string, params: unknown[]): Promise<unknown> {
    return this.provider.send(method, params);
  }

  batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]> {
    return Promise.all(
      calls.map(async (call): Promise<RpcOutcome> => {
        try {
          return { ok: true, result: await this.provider.send(call.method, call.params) };
        } catch (error) {
          return failure(error);
        }
      }),
    );
  }
}

/**
 * A read that raced a new block on a node that keeps no history (anvil --prune-history): "latest"
 * resolved to a block whose state was dropped before the call ran. Asking again answers it.
 */
const STATE_GONE = /BlockOutOfRange|block height is \d+ but requested was/;
const STATE_GONE_RETRIES = 3;

/**
 * Splits `calls` into batches of `size` and runs them, `parallel` batches at a time. Calls that
 * raced a pruned state are asked again.
 */
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
  for (let attempt = 0; attempt < STATE_GONE_RETRIES; attempt++) {
    const again = outcomes.flatMap((outcome, i) => (!outcome.ok && STATE_GONE.test(outcome.error) ? [i] : []));
    if (again.length === 0) break;
    const results = await rpc.batch(again.map((i) => calls[i]));
    again.forEach((i, k) => (outcomes[i] = results[k]));
  }
  return outcomes;
}

/** The result of a successful call, or the error as one sentence. */
export function resultOf(outcome: RpcOutcome, what: string): unknown {
  if (!outcome.ok) throw new Error(`${what} failed: ${outcome.error}`);
  return outcome.result;
}

/** One call; throws with the node's message on a JSON-RPC error. */
export async function call<T>(rpc: JsonRpc, method: string, params: unknown[] = []): Promise<T> {
  // Through batchAll, so that a read racing a pruned state is asked again, as in a batch.
  return resultOf((await batchAll(rpc, [{ method, params }], 1, 1))[0], method) as T;
}

/** A JSON-RPC quantity. */
export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

/**
 * Metrics taken at the edges of an agent, without touching its logic: every JSON-RPC call to the
 * node (by method, and whether it failed), and every call to the mitigation back end (installs,
 * removals, failures, and the rules in force as the back end reports them).
 */
import { JsonRpcProvider, type JsonRpcError, type JsonRpcPayload, type JsonRpcResult } from "ethers";

import type { FlowRule, MitigationBackend } from "../backends/types";
import type { JsonRpc, RpcOutcome } from "../rpc";
import type { CommonMetrics, ProviderMetrics } from "./metrics";

type RpcMetrics = Pick<CommonMetrics, "rpcRequests" | "rpcErrors">;

/** A JSON-RPC provider (an agent's own node connection) that counts its calls and their failures. */
export class MeteredJsonRpcProvider extends JsonRpcProvider {
  metrics: RpcMetrics | undefined;

  async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const calls = Array.isArray(payload) ? payload : [payload];
    const metrics = this.metrics;
    for (const call of calls) metrics?.rpcRequests.inc({ method: call.method });
    // ethers types the answers as results, but an error answer comes back as one too.
    let results: (JsonRpcResult | JsonRpcError)[];
    try {
      results = await super._send(payload);
    } catch (error) {
      for (const call of calls) metrics?.rpcErrors.inc({ method: call.method });
      throw error;
    }
    for (const result of results) {
      if (!("error" in result)) continue;
      const method = calls.find((c) => c.id === result.id)?.method ?? "unknown";
      metrics?.rpcErrors.inc({ method });
    }
    return results as JsonRpcResult[];
  }
}

/** An EIP-1193 provider (Hardhat's network provider, under hre.ethers) that counts its calls. */
export interface Eip1193 {
  request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
}

export function meteredEip1193<P extends Eip1193>(provider: P, metrics: RpcMetrics): P {
  return new Proxy(provider, {
    get(target, property, receiver) {
      if (property !== "request") return Reflect.get(target, property, receiver) as unknown;
      return async (args: { method: string; params?: unknown[] | object }) => {
        metrics.rpcRequests.inc({ method: args.method });
        try {
          return await target.request(args);
        } catch (error) {
          metrics.rpcErrors.inc({ method: args.method });
          throw error;
        }
      };
    },
  });
}

/**
 * Counts the calls of Hardhat's network provider in place (the agent's ethers provider already
 * holds it and calls its `send`; other code calls `request`): both are replaced by counting ones.
 */
export function meterInPlace(
  provider: Eip1193 & { send?: (method: string, params?: unknown[]) => Promise<unknown> },
  metrics: RpcMetrics,
): void {
  const counted =
    <A extends unknown[], R>(method: (...args: A) => string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const name = method(...args);
      metrics.rpcRequests.inc({ method: name });
      try {
        return await call(...args);
      } catch (error) {
        metrics.rpcErrors.inc({ method: name });
        throw error;
      }
    };
  const request = provider.request.bind(provider);
  provider.request = counted((args: { method: string; params?: unknown[] | object }) => args.method, request);
  if (provider.send) {
    const send = provider.send.bind(provider);
    provider.send = counted((method: string) => method, send);
  }
}

/** Batched reads (src/rpc.ts) that count their calls and failures, as the node provider's are. */
export function meteredJsonRpc(rpc: JsonRpc, metrics: RpcMetrics): JsonRpc {
  return {
    async request(method, params) {
      metrics.rpcRequests.inc({ method });
      try {
        return await rpc.request(method, params);
      } catch (error) {
        metrics.rpcErrors.inc({ method });
        throw error;
      }
    },
    async batch(calls) {
      for (const call of calls) metrics.rpcRequests.inc({ method: call.method });
      let outcomes: RpcOutcome[];
      try {
        outcomes = await rpc.batch(calls);
      } catch (error) {
        for (const call of calls) metrics.rpcErrors.inc({ method: call.method });
        throw error;
      }
      outcomes.forEach((outcome, i) => {
        if (!outcome.ok) metrics.rpcErrors.inc({ method: calls[i].method });
      });
      return outcomes;
    },
  };
}

/** A back end that counts what it does; the agent uses it exactly as the back end it wraps. */
export class MeteredBackend implements MitigationBackend {
  constructor(
    private readonly inner: MitigationBackend,
    private readonly metrics: ProviderMetrics["own"],
  ) {}

  get name(): string {
    return this.inner.name;
  }

  async install(rule: FlowRule): Promise<void> {
    await this.count("install", () => this.inner.install(rule));
    this.metrics.ruleInstalls.inc();
  }

  async remove(rule: FlowRule): Promise<void> {
    await this.count("remove", () => this.inner.remove(rule));
    this.metrics.ruleRemovals.inc();
  }

  async list(): Promise<FlowRule[]> {
    const rules = await this.count("list", () => this.inner.list());
    this.metrics.rulesInForce.set(rules.length);
    return rules;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async count<T>(operation: "install" | "remove" | "list", call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      this.metrics.backendErrors.inc({ operation });
      throw error;
    }
  }
}

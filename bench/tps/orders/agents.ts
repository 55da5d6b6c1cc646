/**
 * The provider agents of the orders benchmark: one process per provider (./agentProcess.ts), each
 * with its own service, key and port. The benchmark then finds each agent's endpoint the way a
 * victim does, from its service on chain (`orderEndpoint()`), and waits until it answers HTTP.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

import { ProviderServiceContract__factory } from "../../../typechain-types";
import { freePort } from "../../../src/net";
import { call, type JsonRpc } from "../../../src/rpc";
import { processCpuSeconds, stopChild } from "../node";
import type { AgentSettings } from "./agentProcess";
import { askProfiler } from "./profiler";

const SERVICE = ProviderServiceContract__factory.createInterface();

export type AgentCommon = Omit<AgentSettings, "service" | "providerKey" | "host" | "port">;

export interface RunningAgent {
  service: string;
  provider: number;
  process: ChildProcess;
  /** The endpoint the agent published on chain. */
  url: string;
  /** The last lines it printed (for errors). */
  output: () => string;
}

export class AgentFleet {
  readonly agents: RunningAgent[] = [];
  private stopping = false;

  private constructor(private readonly rpc: JsonRpc) {}

  /** Starts one agent per provider given and resolves once every one answers at its published endpoint. */
  static async start(
    rpc: JsonRpc,
    common: AgentCommon,
    providers: readonly { provider: number; service: string; key: string }[],
    timeoutMs = 120_000,
  ): Promise<AgentFleet> {
    const fleet = new AgentFleet(rpc);
    try {
      for (const p of providers) {
        const settings: AgentSettings = {
          ...common,
          service: p.service,
          providerKey: p.key,
          host: "127.0.0.1",
          port: await freePort(),
        };
        const child = spawn(
          process.execPath,
          ["--require", "ts-node/register/transpile-only", path.join(__dirname, "agentProcess.ts")],
          // The IPC channel carries the profiler's start and stop (./profiler.ts).
          { env: { ...process.env, BENCH_AGENT: JSON.stringify(settings) }, stdio: ["ignore", "pipe", "pipe", "ipc"] },
        );
        let output = "";
        const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
        child.stdout?.on("data", keep);
        child.stderr?.on("data", keep);
        const agent: RunningAgent = {
          service: p.service,
          provider: p.provider,
          process: child,
          url: "",
          output: () => output,
        };
        // An agent that dies while the benchmark runs is said at once, with what it printed last.
        child.once("exit", (code, signal) => {
          if (!fleet.stopping)
            console.log(
              `  The agent of ${p.service} exited (${signal ?? `code ${code}`}): ${output.trim().slice(-1500)}`,
            );
        });
        fleet.agents.push(agent);
      }
      const deadline = Date.now() + timeoutMs;
      for (const agent of fleet.agents) agent.url = await fleet.waitForEndpoint(agent, deadline);
      return fleet;
    } catch (error) {
      await fleet.stop();
      throw error;
    }
  }

  /** The endpoint published on the agent's service, once it answers there. */
  private async waitForEndpoint(agent: RunningAgent, deadline: number): Promise<string> {
    for (;;) {
      if (agent.process.exitCode !== null) {
        throw new Error(`The agent of ${agent.service} exited with code ${agent.process.exitCode}: ${agent.output()}`);
      }
      // anvil sometimes answers an eth_call at "latest" with BlockOutOfRangeError while it mines
      // (foundry-rs/foundry#10709): such a read is simply tried again.
      const url = await call<string>(this.rpc, "eth_call", [
        { to: agent.service, data: SERVICE.encodeFunctionData("orderEndpoint") },
        "latest",
      ]).then(
        (data) => SERVICE.decodeFunctionResult("orderEndpoint", data)[0] as string,
        () => "",
      );
      if (url !== "") {
        // Ready once it answers orders, and says it is synced where it has GET /health.
        const answered = await fetch(`${url}/orders/0x${"0".repeat(64)}`).then(
          (response) => response.status === 404,
          () => false,
        );
        const synced = await fetch(`${url}/health`).then(
          async (response) =>
            response.status === 404 || ((await response.json()) as { synced?: boolean }).synced === true,
          () => false,
        );
        if (answered && synced) return url;
      }
      if (Date.now() > deadline) {
        throw new Error(`The agent of ${agent.service} published no answering endpoint in time: ${agent.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** CPU seconds each agent process has used so far. */
  cpuSeconds(): (number | undefined)[] {
    return this.agents.map((agent) => processCpuSeconds(agent.process.pid));
  }

  /** Starts every agent's CPU profiler. */
  async startProfiling(): Promise<void> {
    await Promise.all(this.agents.map((agent) => askProfiler(agent.process, { profiler: "start" })));
  }

  /** Stops the profilers; each agent writes its profile into `directory`. Resolves with the files. */
  async stopProfiling(directory: string): Promise<string[]> {
    const files = this.agents.map((agent, i) => path.join(directory, `agent-${i}-${agent.process.pid}.cpuprofile`));
    await Promise.all(this.agents.map((agent, i) => askProfiler(agent.process, { profiler: "stop", file: files[i] })));
    return files;
  }

  /** Stops every agent (SIGTERM, then SIGKILL after 5 s) and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.agents.map((agent) => stopChild(agent.process)));
    // What each agent says of its work as it stops (its counts, its JSON-RPC calls).
    for (const agent of this.agents) {
      for (const line of agent.output().split("\n")) {
        if (/^(stopped;|JSON-RPC:)/.test(line)) console.log(`  ${agent.service.slice(0, 10)}… ${line}`);
      }
    }
  }
}

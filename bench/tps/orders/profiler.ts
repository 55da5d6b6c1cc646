/**
 * CPU profiling of an agent process over exactly the benchmark's sending window: the benchmark
 * sends "start" and "stop" over the child's IPC channel; the child runs V8's sampling profiler
 * (node:inspector, in process) and writes the profile where "stop" says. `--cpu-prof` would
 * profile from start-up (ts-node's compilation) to exit instead.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import type { ChildProcess } from "node:child_process";

import type { ProfileCategory } from "../../lib/cpuProfile";

export type ProfilerMessage = { profiler: "start" } | { profiler: "stop"; file: string };
type ProfilerReply =
  { profiler: "started" } | { profiler: "written"; file: string } | { profiler: "failed"; error: string };

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
  );
}

/** In the agent process: answers the benchmark's profiler messages. */
export function serveProfiler(): void {
  if (process.send === undefined) return;
  const session = new Session();
  session.connect();
  const reply = (message: ProfilerReply) => process.send?.(message);
  process.on("message", (message: ProfilerMessage) => {
    const task =
      message.profiler === "start"
        ? post(session, "Profiler.enable")
            .then(() => post(session, "Profiler.setSamplingInterval", { interval: 1000 }))
            .then(() => post(session, "Profiler.start"))
            .then((): ProfilerReply => ({ profiler: "started" }))
        : post<{ profile: unknown }>(session, "Profiler.stop").then(({ profile }): ProfilerReply => {
            writeFileSync(message.file, JSON.stringify(profile));
            return { profiler: "written", file: message.file };
          });
    task.then(reply, (error: unknown) => reply({ profiler: "failed", error: String(error) }));
  });
}

/** In the benchmark: sends a profiler message to an agent and waits for its answer. */
export function askProfiler(child: ChildProcess, message: ProfilerMessage, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", onMessage);
      reject(
        new Error(`The agent (pid ${child.pid}) did not answer "${message.profiler}" within ${timeoutMs / 1000} s.`),
      );
    }, timeoutMs);
    const onMessage = (answer: ProfilerReply) => {
      if (answer?.profiler === undefined) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      if (answer.profiler === "failed") reject(new Error(`The agent's profiler failed: ${answer.error}`));
      else resolve();
    };
    child.on("message", onMessage);
    child.send(message);
  });
}

/** What an agent's time is spent on, by where the code is (first match wins). */
export const AGENT_PROFILE_CATEGORIES: readonly ProfileCategory[] = [
  { name: "garbage collection", functionName: /^\(garbage collector\)$/ },
  { name: "native code outside JavaScript (V8, libuv, add-ons)", functionName: /^\(program\)$/ },
  { name: "JSON parse / stringify (V8 built-ins)", url: /^$/, functionName: /^(parse|stringify)$/ },
  {
    name: "SQLite store (better-sqlite3, the agent's store)",
    url: /better-sqlite3|src\/provider\/store|src\/store/,
  },
  // better-sqlite3's native methods (no script URL).
  {
    name: "SQLite store (better-sqlite3, the agent's store)",
    url: /^$/,
    functionName: /^(run|iterate|prepare|Statement|exec)$/,
  },
  {
    name: "signature recovery and keccak (native secp256k1, keccak)",
    url: /node_modules\/(secp256k1|keccak)\/|src\/keccak/,
  },
  { name: "order wire format and EIP-712 hash (src/clients/orders.ts)", url: /src\/clients\/orders/ },
  {
    name: "intake checks and HTTP API (src/provider/order{Intake,Server}, chainReads, verify)",
    url: /src\/provider\/(orderIntake|orderServer|chainReads|verify)/,
  },
  { name: "settlement (src/provider/order{Settlement,Desk})", url: /src\/provider\/(orderSettlement|orderDesk)/ },
  { name: "rest of the provider agent (src/provider)", url: /src\/provider\// },
  { name: "ethers (ABI, transactions, addresses, its keccak)", url: /node_modules\/(ethers|@noble)\// },
  { name: "JSON-RPC client (src/rpc.ts)", url: /src\/rpc/ },
  { name: "Node.js internals (HTTP server, sockets, streams, timers)", url: /^node:/ },
];

/** Our own code, to which a profile charges the time spent in libraries on its behalf. */
export const OWN_CODE = /\/(src|bench)\//;

/**
 * The agents as an operator runs them (`npx hardhat agent provider|victim-daemon`), each in its own
 * process, for the operations tests and the soak: start, wait for a log line, signal, kill -9,
 * and read their /metrics and /healthz as Prometheus and a load balancer would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

import { until } from "./until";

const ROOT = path.join(__dirname, "..", "..");
const HARDHAT = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");
/** What is kept of an agent's output: its tail, so that a long run does not grow the test's memory. */
const KEEP_CHARS = 200_000;

export class AgentProcess {
  child: ChildProcess | undefined;
  output = "";
  /** Every start, for the soak's count of restarts. */
  starts = 0;

  constructor(
    readonly task: "provider" | "victim-daemon",
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  start(): void {
    this.output = "";
    this.starts++;
    this.child = spawn(process.execPath, [HARDHAT, "agent", this.task, ...this.args], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (d: Buffer) => {
      this.output += d.toString();
      if (this.output.length > 2 * KEEP_CHARS) this.output = this.output.slice(-KEEP_CHARS);
    };
    this.child.stdout!.on("data", keep);
    this.child.stderr!.on("data", keep);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for `text` in the output since the last start; fails at once if the agent exits. */
  async waitFor(text: string | RegExp, ms = 60_000): Promise<void> {
    const seen = () => (typeof text === "string" ? this.output.includes(text) : text.test(this.output));
    await until(() => seen() || !this.running, ms, `${String(text)} from ${this.task}`, 50).catch((error: Error) => {
      throw new Error(`${error.message}; its output: ${this.output.slice(-2000)}`);
    });
    if (!seen()) {
      const how = `exit code ${this.child?.exitCode ?? "none"}, signal ${this.child?.signalCode ?? "none"}`;
      throw new Error(`the agent exited (${how}) before ${String(text)}: ${this.output.slice(-4000)}`);
    }
  }

  /** Sends `signal`; resolves with the exit code once it exited (null when killed by a signal). */
  async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }
}

/** One Prometheus sample: `name{labels}` → value. */
export type Samples = Map<string, number>;

/** Parses the Prometheus text format (what /metrics serves) into samples. */
export function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** The sum of a metric over its label sets (labels in `where` must match). */
export function total(samples: Samples, name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf("{");
    if ((brace === -1 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(where).every(([k, v]) => key.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}

/** GETs /metrics at `url` and parses it. */
export async function scrape(url: string): Promise<Samples> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`${url}/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** GETs /healthz: the status and the body. */
export async function health(
  url: string,
): Promise<{ status: number; body: { ready: boolean; checks: Record<string, { ok: boolean; message: string }> } }> {
  const response = await fetch(`${url}/healthz`);
  return { status: response.status, body: (await response.json()) as never };
}

/**
 * Real BGP speakers on loopback for the tests and the end-to-end benchmark: gobgpd (with its
 * gobgp CLI) and ExaBGP, each with its own configuration in a temporary directory and free ports,
 * and a reader of gobgpd's FlowSpec RIB. Every start returns a stop; callers stop them in an
 * `after` hook, so that a failing test leaves no daemon behind.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { openSync, writeFileSync } from "node:fs";
import path from "node:path";

import { freePort } from "../../src/net";
import { until } from "./until";

/** The bridge ExaBGP runs to read the provider agent's command file (scripts/exabgp-bridge.cjs). */
export const EXABGP_BRIDGE = path.join(__dirname, "..", "..", "scripts", "exabgp-bridge.cjs");

/** Whether `command` runs (e.g. `--version`): the tests skip, saying why, only when it does not. */
export function installed(command: string, args = ["--version"]): boolean {
  return spawnSync(command, args, { stdio: "ignore" }).error === undefined;
}

/** A daemon started by a test: its process and a stop that waits for it to exit. */
export interface Daemon {
  process: ChildProcess;
  /** Its standard output and error. */
  log: string;
  stop(): Promise<void>;
}

/** Starts `command` with its output in `log`; `stop` sends SIGTERM, then SIGKILL after 5 s. */
export function startDaemon(command: string, args: string[], log: string, env?: NodeJS.ProcessEnv): Daemon {
  const out = openSync(log, "a");
  const child = spawn(command, args, { stdio: ["ignore", out, out], env: env ?? process.env });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    process: child,
    log,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function gobgp(apiPort: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("gobgp", ["-u", "127.0.0.1", "-p", String(apiPort), ...args], (error, stdout, stderr) =>
      error ? reject(new Error(`gobgp ${args.join(" ")}: ${stderr || stdout || error.message}`)) : resolve(stdout),
    );
  });
}

export type FlowspecFamily = "ipv4-flowspec" | "ipv6-flowspec";

/** The RIB as `gobgp global rib -a <family>` prints it: "[destination: …][source: …] discard". */
export async function flowspecRib(apiPort: number, family: FlowspecFamily): Promise<string[]> {
  const text = await gobgp(apiPort, ["global", "rib", "-a", family]);
  const routes: string[] = [];
  for (const line of text.split("\n")) {
    const network = /(\[destination: [^\]]+\]\[source: [^\]]+\])/.exec(line);
    const action = /Extcomms: \[([^\]]+)\]/.exec(line);
    if (network && action) routes.push(`${network[1]} ${action[1]}`);
  }
  return routes.sort();
}

export interface BgpNeighbor {
  address: string;
  as: number;
  /** Its BGP port, when this speaker connects to it. */
  port?: number;
  /** Whether this speaker only waits for the neighbor to connect. */
  passive: boolean;
}

export interface Gobgpd extends Daemon {
  /** gobgpd's gRPC port, for the gobgp CLI and the GoBGP back end. */
  api: number;
  /** Its BGP port. */
  port: number;
}

const FLOWSPEC_FAMILIES = `
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-flowspec"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-flowspec"`;

/** Starts gobgpd (AS `as` on `address`) with FlowSpec sessions to `neighbors`; waits until its API answers. */
export async function startGobgpd(options: {
  dir: string;
  name: string;
  as: number;
  address: string;
  neighbors: BgpNeighbor[];
  port?: number;
}): Promise<Gobgpd> {
  const port = options.port ?? (await freePort());
  const api = await freePort();
  const neighbors = options.neighbors.map(
    (n) => `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.address}"
    peer-as = ${n.as}
  [neighbors.transport.config]
    local-address = "${options.address}"
    passive-mode = ${n.passive}${n.port === undefined ? "" : `\n    remote-port = ${n.port}`}
  [neighbors.timers.config]
    connect-retry = 1
${FLOWSPEC_FAMILIES}
`,
  );
  const config = `[global.config]
  as = ${options.as}
  router-id = "${options.address}"
  port = ${port}
  local-address-list = ["${options.address}"]
${neighbors.join("")}`;
  const file = path.join(options.dir, `${options.name}.toml`);
  writeFileSync(file, config);
  const daemon = startDaemon(
    "gobgpd",
    ["-f", file, "--api-hosts", `127.0.0.1:${api}`, "--pprof-disable", "-p"],
    path.join(options.dir, `${options.name}.log`),
  );
  try {
    await until(
      () =>
        gobgp(api, ["global"]).then(
          () => true,
          () => false,
        ),
      15_000,
      `gobgpd ${options.name} on API port ${api}`,
      100,
    );
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  return { ...daemon, api, port };
}

/** Waits until gobgpd's session with `neighbor` is established. */
export async function established(api: number, neighbor: string, ms = 30_000): Promise<void> {
  await until(
    async () => new RegExp(`${neighbor.replace(/\./g, "\\.")}\\s.*Establ`).test(await gobgp(api, ["neighbor"])),
    ms,
    `the BGP session with ${neighbor}`,
    100,
  );
}

/**
 * Starts ExaBGP (AS `as` on `address`) peering with `peer` for IPv4 and IPv6 FlowSpec, its API
 * fed by one bridge per command file (one per provider agent). No privilege drop (the command
 * files are in a private temporary directory), no CLI pipes (shared paths), no listening socket.
 */
export function startExabgp(options: {
  dir: string;
  name: string;
  as: number;
  address: string;
  peer: { address: string; as: number; port: number };
  commandFiles: string[];
}): Daemon {
  const processes = options.commandFiles.map((_file, i) => `market${i}`);
  const config = `${options.commandFiles
    .map(
      (file, i) =>
        `process ${processes[i]} {\n  run ${process.execPath} ${EXABGP_BRIDGE} ${file};\n  encoder text;\n}\n`,
    )
    .join("\n")}
neighbor ${options.peer.address} {
  router-id ${options.address};
  local-address ${options.address};
  local-as ${options.as};
  peer-as ${options.peer.as};
  connect ${options.peer.port};
  family {
    ipv4 flow;
    ipv6 flow;
  }
  api {
    processes [ ${processes.join(" ")} ];
  }
}
`;
  const file = path.join(options.dir, `${options.name}.conf`);
  writeFileSync(file, config);
  return startDaemon("exabgp", [file], path.join(options.dir, `${options.name}.log`), {
    ...process.env,
    "exabgp.daemon.drop": "false",
    "exabgp.api.cli": "false",
    "exabgp.log.destination": "stdout",
    "exabgp.tcp.bind": "",
  });
}

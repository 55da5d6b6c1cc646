/**
 * For the crash tests: the provider agent as an operator runs it (`npx hardhat agent provider`, a
 * child process), and a small market on anvil for it: a victim holding 203.0.113.0/24 and
 * 2001:db8:a::/48 with tokens and an unlimited approval, and a provider whose service sells flow
 * filtering (1 token/h, up to an hour, capacity 1000) and covers its own AS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { JsonRpcProvider, Signer } from "ethers";

import { MarketClient } from "../../src/clients/market";
import { RegistryClient } from "../../src/clients/registry";
import { TokenClient } from "../../src/clients/token";
import { deploySystem, systemAddresses, type System } from "../../src/deploy";
import { writeDeployment } from "../../src/deployment";
import { parseTokens } from "../../src/format";
import { anvilWallet } from "../helpers/anvil";
import { until } from "../helpers/until";

const ROOT = path.join(__dirname, "..", "..");
const HARDHAT = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");

/** The agent as an operator runs it: `npx hardhat agent provider`, in its own process. */
export class AgentProcess {
  child: ChildProcess | undefined;
  output = "";

  constructor(
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  start(): void {
    this.output = "";
    this.child = spawn(process.execPath, [HARDHAT, "agent", "provider", ...this.args], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on("data", (d: Buffer) => (this.output += d.toString()));
  }

  /** Waits for `text` in the output since the last start. */
  waitFor(text: string, ms = 60_000): Promise<void> {
    return until(
      () => this.output.includes(text) || this.child?.exitCode !== null || this.child?.signalCode !== null,
      ms,
      `"${text}" from the agent`,
      50,
    ).then(() => {
      if (!this.output.includes(text)) throw new Error(`the agent exited: ${this.output}`);
    });
  }

  async kill(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child!;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }
}

export interface AnvilMarket {
  system: System;
  serviceAddress: string;
  /** The victim (anvil account 1) and the provider (account 2). */
  victim: Signer;
  victimAddress: string;
  providerAddress: string;
  /** The victim's market client. */
  market: MarketClient;
}

/** Deploys the market on `node` and writes its deployment to `deploymentDir` for the agent's tasks. */
export async function deployAnvilMarket(node: JsonRpcProvider, deploymentDir: string): Promise<AnvilMarket> {
  const [admin, victim, provider] = [anvilWallet(node, 0), anvilWallet(node, 1), anvilWallet(node, 2)];
  const [victimAddress, providerAddress] = await Promise.all([victim.getAddress(), provider.getAddress()]);
  const system = await deploySystem(admin);
  const registry = new RegistryClient(system.registry);
  await registry.registerParticipant(victimAddress, "Victim Net");
  await registry.registerParticipant(providerAddress, "Provider Net");
  await registry.assignAsn(64500, victimAddress);
  await registry.assignAsn(64510, providerAddress);
  await registry.allocate("203.0.113.0/24", victimAddress, 64500);
  await registry.allocate("2001:db8:a::/48", victimAddress, 64500);
  await registry.allocate("198.51.100.0/24", providerAddress, 64510);
  await registry.allocate("2001:db8:1000::/36", providerAddress, 64510);
  await new TokenClient(system.token).mint(victimAddress, parseTokens("10000"));
  const providerMarket = new MarketClient(system.directory, system.token, provider);
  const serviceAddress = await providerMarket.createService();
  await providerMarket.addOffering({
    kind: "flow-filtering",
    pricePerHour: parseTokens("1"),
    maxDuration: 3600,
    capacity: 1000,
  });
  await providerMarket.addCoverage([64510]);
  const market = new MarketClient(system.directory, system.token, victim);
  await market.approveUnlimited(serviceAddress);
  writeDeployment(deploymentDir, await systemAddresses(system));
  return { system, serviceAddress, victim, victimAddress, providerAddress, market };
}

/** `agent provider` arguments on anvil as account 2, with the store and ExaBGP's file in `dir`. */
export function agentArgs(dir: string, pollMs: number, extra: string[] = []): string[] {
  const files = ["--exabgp-output", path.join(dir, "exabgp.cmd"), "--db", path.join(dir, "provider.db")];
  return ["--network", "anvil", "--from", "2", "--backend", "exabgp", ...files, "--poll-ms", String(pollMs), ...extra];
}

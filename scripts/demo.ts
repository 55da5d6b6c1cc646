/**
 * `npm run demo`: the whole market on Hardhat's in-process network, run by its agents (or on a
 * node: `npm run demo -- --network anvil`, which then leaves the market for `npm run dashboard`
 * and writes its addresses where the tasks and the dashboard find them). A small
 * Internet is registered; four provider agents (log back end) follow their services; a victim
 * agent under attack from three ASes buys mitigation from the providers nearest the sources in one
 * transaction; each provider agent verifies ownership on chain, installs the FlowSpec rules and
 * acknowledges; tokens move. Then a refused request, a rejected one (Delta's agent is at capacity:
 * refund) and an unanswered one (Beta's agent is offline: the victim agent reclaims the escrow).
 */
import path from "node:path";
import hre from "hardhat";

import { ProviderAgent } from "../src/provider/agent";
import { startOrderServer, type OrderServer } from "../src/provider/orderServer";
import { AgentStore } from "../src/provider/store";
import { describeSummary, VictimAgent, type VictimSummary } from "../src/victim/agent";
import { LogBackend } from "../src/backends/log";
import { MarketClient } from "../src/clients/market";
import { RegistryClient } from "../src/clients/registry";
import { deploySystem, systemAddresses } from "../src/deploy";
import { deploymentDirectory, writeDemoDeployment } from "../src/deployment";
import { toOperatorError } from "../src/errors";
import { formatTokens } from "../src/format";
import { ORGANISATIONS, buildSmallInternet, scenarioAccounts } from "../src/scenario";
import type { AttackReport } from "../src/victim/attackReport";
import { Report } from "./lib/report";

/** How often the agents poll the chain (ms); DEMO_POLL_MS overrides it. */
const POLL_MS = Number(process.env.DEMO_POLL_MS ?? 250);

/**
 * On Hardhat's in-process network the demo moves the clock forward (evm_increaseTime); on a node
 * time is real, so Beta's acknowledgement window is short and the demo waits it out.
 */
const IN_PROCESS = hre.network.name === "hardhat";
const UNANSWERED_WINDOW = IN_PROCESS ? 60 : 5;

/** The provider whose agent takes signed orders: the victim agent buys from it by order. */
const ORDER_TAKER = "gamma";

const ATTACK: AttackReport = {
  target: "203.0.113.10/32",
  lifetime: 2 * 3600,
  topTalkers: [
    { source: "198.51.100.23", bps: 4.2e9 },
    { source: "198.51.100.77", bps: 1.1e9 },
    { source: "198.51.100.200", bps: 2.5e9 },
    { source: "192.0.2.66", bps: 3.0e9 },
    { source: "192.0.2.200", bps: 0.4e9 },
  ],
};

async function main(): Promise<void> {
  const report = new Report();
  const signers = await hre.ethers.getSigners();
  const accounts = scenarioAccounts(signers);
  const name = new Map<string, string>();
  for (const org of ORGANISATIONS) name.set(await accounts.orgs[org.key].getAddress(), org.name);

  report.heading("1. Deploy");
  const registrarAddresses = await Promise.all(accounts.registrars.map((r) => r.getAddress()));
  const system = await report.step("deploy token, registry and directory", async () => {
    const deployed = await deploySystem(accounts.admin, { registrars: registrarAddresses });
    return { result: deployed, gasUsed: await deploymentGas(deployed) };
  });
  const addresses = await systemAddresses(system);
  name.set(addresses.directory, "directory");
  report.line(`token ${addresses.token}, registry ${addresses.registry}, directory ${addresses.directory}`);
  if (!IN_PROCESS) {
    const { chainId } = await hre.ethers.provider.getNetwork();
    const ignitionDir = hre.config.paths.ignition ?? path.join(hre.config.paths.root, "ignition");
    const dir = deploymentDirectory(chainId, { ignitionDir });
    writeDemoDeployment(dir, addresses);
    const shown = path.relative(process.cwd(), dir);
    report.line(`addresses written to ${shown.startsWith("..") ? dir : shown}: the tasks and the dashboard find them`);
    report.line(`watch it: npm run dashboard -- --network ${hre.network.name}`);
  }

  report.heading("2. A small Internet: two registrars, 11 ASes, IPv4 and IPv6 documentation prefixes");
  const services = await buildSmallInternet(system, accounts, (s) => report.record(s.step, s.gasUsed, s.transactions));
  const providerName = new Map<string, string>();
  for (const [key, service] of Object.entries(services)) {
    const org = ORGANISATIONS.find((o) => o.key === key)!.name;
    providerName.set(service, org);
    name.set(service, `${org}'s service`);
  }
  const serviceName = (service: string) => providerName.get(service) ?? service;

  const victim = accounts.orgs.victim;
  const victimAddress = await victim.getAddress();
  const registry = new RegistryClient(system.registry.connect(victim));
  const market = new MarketClient(system.directory, system.token, victim);
  const watched = [victimAddress, ...Object.values(services)];
  for (const key of ["alpha", "beta", "gamma", "delta"]) watched.push(await accounts.orgs[key].getAddress());
  const before = await balances(system.token, watched);

  report.heading(`3. The provider agents start (log back end, SQLite store, polling every ${POLL_MS} ms)`);
  const agents = new Map<string, ProviderAgent>();
  const { chainId } = await hre.ethers.provider.getNetwork();
  for (const key of Object.keys(services)) {
    const signer = accounts.orgs[key];
    const label = serviceName(services[key]);
    const say = (line: string) => report.line(`    [${label}] ${line}`);
    agents.set(
      key,
      new ProviderAgent({
        market: new MarketClient(system.directory, system.token, signer),
        registry: new RegistryClient(system.registry.connect(signer)),
        provider: hre.ethers.provider,
        service: services[key],
        store: new AgentStore(":memory:"),
        backend: new LogBackend(),
        pollMs: POLL_MS,
        // Delta's scrubbing centre is full today: its agent turns every request down.
        policy: key === "delta" ? { capacity: { 0: 0 } } : {},
        // Gamma's agent also takes signed orders, settled in batches (the fast path).
        orders: key === ORDER_TAKER ? { chainId, ...addresses } : undefined,
        onProgress: say,
      }),
    );
    report.line(`  ${label}'s agent follows ${services[key]}${key === "delta" ? " (scrubbing centre full)" : ""}`);
  }
  for (const agent of agents.values()) agent.start();
  const orderTaker = agents.get(ORDER_TAKER)!;
  const intake: OrderServer = await startOrderServer(orderTaker.orders!, "127.0.0.1", 0);
  await new MarketClient(system.directory, system.token, accounts.orgs[ORDER_TAKER]).setOrderEndpoint(intake.url);
  report.line(
    `  ${serviceName(services[ORDER_TAKER])}'s agent also takes signed orders at ${intake.url}/orders ` +
      "and publishes that endpoint on its service contract",
  );
  const victimAgent = (ackWindow: number, onLine: (line: string) => void = () => undefined) =>
    new VictimAgent({
      registry,
      market,
      provider: hre.ethers.provider,
      ackWindow,
      pollMs: POLL_MS,
      describeService: serviceName,
      onProgress: (line) => {
        report.line(`    [victim] ${line}`);
        onLine(line);
      },
    });

  try {
    report.heading(`4. ${name.get(victimAddress)} is under attack on ${ATTACK.target}: its agent buys mitigation`);
    const summary = await victimAgent(300).run(ATTACK);
    for (const line of describeSummary(summary, serviceName)) report.line(`  ${line}`);
    report.line("  rules in force:");
    for (const [key, agent] of agents) {
      for (const rule of await agent.backend.list()) {
        report.line(
          `    ${serviceName(services[key])}: ${rule.family} ${rule.source} → ${rule.destination} ${rule.action.kind}`,
        );
      }
    }
    const timeToAck = summary.msToLastAck;

    report.heading("5. A refused request: the victim asks to filter traffic to a prefix it does not hold");
    const nonceBefore = await victim.getNonce();
    const balanceBefore = await system.token.balanceOf(victimAddress);
    try {
      await market.request({
        service: services.alpha,
        offeringId: 0,
        target: "198.51.100.0/25",
        sources: ["192.0.2.200"],
        duration: 3600,
        maxPrice: 10n ** 19n,
        ackDeadline: (await now()) + 300,
      });
      throw new Error("unexpected: the registry accepted a foreign prefix");
    } catch (error) {
      report.line(`  refused: ${toOperatorError(error).message}`);
    }
    if ((await victim.getNonce()) !== nonceBefore || (await system.token.balanceOf(victimAddress)) !== balanceBefore) {
      throw new Error("unexpected: the refused request was sent or moved tokens");
    }
    report.line("  no transaction was sent (the victim's nonce is unchanged) and nothing was paid.");

    report.heading("6. A rejected request: Delta's agent is at capacity; the escrow is refunded");
    const rejected = await victimAgent(300).run({
      target: "203.0.113.0/24",
      lifetime: 3600,
      topTalkers: [{ source: "192.0.2.150", bps: 1e9 }],
    });
    expectOutcome(rejected, "rejected");
    report.line(`  refunded ${formatTokens(rejected.refunded)}; no other provider covers AS64540, so it is reported.`);

    report.heading("7. An unanswered request: Beta's agent is offline; the victim agent reclaims the escrow");
    await agents.get("beta")!.stop();
    report.line("  Beta's agent stops");
    if (!IN_PROCESS) report.line(`  Beta has ${UNANSWERED_WINDOW} s to answer (real time on a node)`);
    let requested = false;
    const [reclaimed] = await Promise.all([
      victimAgent(UNANSWERED_WINDOW, (line) => (requested ||= line.startsWith("requested"))).run({
        target: "203.0.113.128/25",
        lifetime: 1800,
        topTalkers: [{ source: "198.51.100.130" }],
      }),
      (async () => {
        if (!IN_PROCESS) return;
        while (!requested) await sleep(POLL_MS);
        await hre.network.provider.send("evm_increaseTime", [UNANSWERED_WINDOW + 1]);
        await hre.network.provider.send("evm_mine", []);
        report.line(`  ${UNANSWERED_WINDOW + 1} s pass with no answer from Beta`);
      })(),
    ]);
    expectOutcome(reclaimed, "reclaimed");
    report.line(`  reclaimed ${formatTokens(reclaimed.refunded)}.`);

    report.heading("8. Who paid whom");
    const after = await balances(system.token, watched);
    report.table(
      ["account", "before", "after", "change"],
      watched.map((a) => [
        name.get(a) ?? a,
        formatTokens(before.get(a)!),
        formatTokens(after.get(a)!),
        signed(after.get(a)! - before.get(a)!),
      ]),
    );
    for (const s of Object.values(services)) {
      if (after.get(s)! !== 0n)
        throw new Error(`invariant broken: ${name.get(s)} still holds ${formatTokens(after.get(s)!)}`);
    }
    report.line("every service contract holds 0 MIT: no escrow is left open or stuck.");
    report.line(`time from attack report to last acknowledgement: ${timeToAck ?? "none"} ms`);
    report.summary();
  } finally {
    await intake.close();
    await Promise.all([...agents.values()].map((a) => a.stop()));
  }
}

async function now(): Promise<number> {
  return (await hre.ethers.provider.getBlock("latest"))!.timestamp;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The demo's sections each end one way; anything else is a bug worth stopping for. */
function expectOutcome(summary: VictimSummary, state: "rejected" | "reclaimed"): void {
  if (summary.purchases.length !== 1 || summary.purchases[0].state !== state) {
    throw new Error(`unexpected: the request ended ${summary.purchases.map((p) => p.state).join(", ")}, not ${state}`);
  }
}

function signed(delta: bigint): string {
  return delta > 0n ? `+${formatTokens(delta)}` : delta < 0n ? `-${formatTokens(-delta)}` : "0";
}

async function balances(
  token: { balanceOf(a: string): Promise<bigint> },
  accounts: string[],
): Promise<Map<string, bigint>> {
  return new Map(await Promise.all(accounts.map(async (a) => [a, await token.balanceOf(a)] as const)));
}

async function deploymentGas(system: Awaited<ReturnType<typeof deploySystem>>): Promise<bigint> {
  let total = 0n;
  for (const c of [system.token, system.registry, system.directory]) {
    const tx = c.deploymentTransaction();
    const receipt = tx ? await tx.wait() : null;
    total += receipt?.gasUsed ?? 0n;
  }
  return total;
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${toOperatorError(error).message}`);
  process.exitCode = 1;
});

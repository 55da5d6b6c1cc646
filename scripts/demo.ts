/**
 * `npm run demo`: the whole market on Hardhat's in-process network. A small Internet is
 * registered; a victim under attack from three ASes buys mitigation from the providers nearest
 * the sources in one transaction; each provider verifies ownership and acknowledges; tokens move.
 * Then a refused request, a rejected one (refund) and an unanswered one (reclaimed).
 */
import hre from "hardhat";

import { MarketClient, REJECT_REASON } from "../src/clients/market";
import { RegistryClient } from "../src/clients/registry";
import { deploySystem, systemAddresses } from "../src/deploy";
import { toOperatorError } from "../src/errors";
import { formatRequestId, formatTokens } from "../src/format";
import { formatPrefix } from "../src/prefix";
import { verifyRequest } from "../src/provider/verify";
import { ORGANISATIONS, buildSmallInternet, scenarioAccounts } from "../src/scenario";
import type { AttackReport } from "../src/victim/attackReport";
import { planPurchases } from "../src/victim/plan";
import { Report } from "./lib/report";

const ATTACK: AttackReport = {
  target: "203.0.113.10/32",
  lifetime: 2 * 3600,
  topTalkers: [
    { source: "198.51.100.23", bps: 4.2e9 },
    { source: "198.51.100.77", bps: 1.1e9 },
    { source: "198.51.100.200", bps: 2.5e9 },
    { source: "2001:db8:2000::66", bps: 3.0e9 },
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

  report.heading("2. A small Internet: two registrars, 11 ASes, IPv4 and IPv6 documentation prefixes");
  const services = await buildSmallInternet(system, accounts, (s) => report.record(s.step, s.gasUsed, s.transactions));
  for (const [key, service] of Object.entries(services)) {
    name.set(service, `${ORGANISATIONS.find((o) => o.key === key)!.name}'s service`);
  }

  const victim = accounts.orgs.victim;
  const victimAddress = await victim.getAddress();
  const registry = new RegistryClient(system.registry.connect(victim));
  const market = new MarketClient(system.directory, system.token, victim);
  const watched = [victimAddress, ...Object.values(services)];
  for (const key of ["alpha", "beta", "gamma", "delta"]) watched.push(await accounts.orgs[key].getAddress());
  const before = await balances(system.token, watched);

  report.heading(`3. ${name.get(victimAddress)} is under attack on ${ATTACK.target}`);
  const now = async () => (await hre.ethers.provider.getBlock("latest"))!.timestamp;
  const started = Date.now();
  const plan = await report.step("map sources → AS → services, pick the cheapest offer per AS", async () => ({
    result: await planPurchases(ATTACK, registry, market, { ackWindow: 300, now: await now() }),
  }));
  for (const order of plan.orders) {
    report.line(
      `  buy from ${name.get(order.service)} (AS${order.asns.join(", AS")}): offering ${order.offeringId}, ` +
        `${order.sources.map(formatPrefix).join(" ")}, ${formatTokens(order.price)}`,
    );
  }
  for (const u of plan.unserved)
    report.line(`  not served: ${u.source}${u.originAsn ? ` (AS${u.originAsn})` : ""}: ${u.reason}`);

  const bought = await report.step(`request from all ${plan.orders.length} providers in one transaction`, async () => {
    const result = await market.requestMany(plan.orders);
    return { result, gasUsed: result.receipt.gasUsed };
  });

  report.heading("4. Each provider verifies ownership on chain and acknowledges; the escrow pays it");
  for (const event of bought.events) {
    const provider = await system.directory.providerOf(event.service);
    const signer = signers.find((s) => s.address === provider)!;
    const providerMarket = market.as(signer);
    const verdict = await verifyRequest(event, new RegistryClient(system.registry.connect(signer)));
    if (!verdict.ok) throw new Error(`unexpected: ${verdict.reason}`);
    await report.step(
      `${name.get(provider)} verifies ${formatPrefix(event.target)} and acknowledges request ${formatRequestId(event.requestId)}`,
      async () => {
        const receipt = await providerMarket.acknowledge(event.service, event.requestId);
        return { result: receipt, gasUsed: receipt.gasUsed };
      },
    );
  }
  report.line(`time from attack report to last acknowledgement: ${Date.now() - started} ms`);

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

  report.heading("6. A rejected request: Delta's scrubbing centre is full; the escrow is refunded");
  const scrubbing = await market.request({
    service: services.delta,
    offeringId: 0,
    target: "203.0.113.0/24",
    sources: ["192.0.2.200"],
    duration: 3600,
    maxPrice: await market.quote(services.delta, 0, 3600),
    ackDeadline: (await now()) + 300,
  });
  report.record(
    `victim requests scrubbing from Delta (${formatTokens(scrubbing.event.price)} escrowed)`,
    scrubbing.receipt.gasUsed,
    1,
  );
  const delta = market.as(accounts.orgs.delta);
  const rejected = await delta.reject(services.delta, scrubbing.event.requestId, REJECT_REASON.capacity);
  report.record("Delta rejects (reason: capacity); the victim gets its escrow back", rejected.gasUsed, 1);

  report.heading("7. An unanswered request: the victim reclaims its escrow after the deadline");
  const unanswered = await market.request({
    service: services.beta,
    offeringId: 0,
    target: "2001:db8:a::/48",
    sources: ["198.51.100.130"],
    duration: 1800,
    maxPrice: await market.quote(services.beta, 0, 1800),
    ackDeadline: (await now()) + 60,
  });
  report.record(
    `victim requests rate limiting from Beta, deadline in 60 s (${formatTokens(unanswered.event.price)} escrowed)`,
    unanswered.receipt.gasUsed,
    1,
  );
  await hre.network.provider.send("evm_increaseTime", [61]);
  await hre.network.provider.send("evm_mine", []);
  report.line("  61 s pass with no answer from Beta");
  const reclaimed = await market.reclaim(services.beta, unanswered.event.requestId);
  report.record("victim reclaims the escrow", reclaimed.gasUsed, 1);

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
  report.summary();
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

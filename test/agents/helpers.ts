/**
 * The agents' fixture: the demo's small Internet (src/scenario.ts) on the in-process network, and
 * builders for provider agents (log back end, in-memory store) and victim clients.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { ProviderAgent, type ProviderAgentOptions } from "../../src/provider/agent";
import { AgentStore } from "../../src/provider/store";
import { LogBackend } from "../../src/backends/log";
import type { MitigationBackend } from "../../src/backends/types";
import { MarketClient, type MitigationOrder, type RequestedEvent } from "../../src/clients/market";
import { RegistryClient } from "../../src/clients/registry";
import { deploySystem, type System } from "../../src/deploy";
import { buildSmallInternet, scenarioAccounts, type ScenarioAccounts } from "../../src/scenario";

export interface SmallInternet {
  system: System;
  accounts: ScenarioAccounts;
  /** Service address by provider key (alpha, beta, gamma, delta). */
  services: Record<string, string>;
  signers: Record<string, HardhatEthersSigner>;
  /** The victim's market client. */
  victim: MarketClient;
  victimRegistry: RegistryClient;
}

export async function deploySmallInternet(): Promise<SmallInternet> {
  const all = await ethers.getSigners();
  const accounts = scenarioAccounts(all);
  const registrars = await Promise.all(accounts.registrars.map((r) => r.getAddress()));
  const system = await deploySystem(accounts.admin, { registrars });
  const services = await buildSmallInternet(system, accounts);
  const signers = Object.fromEntries(
    Object.entries(accounts.orgs).map(([key, signer]) => [key, signer as HardhatEthersSigner]),
  );
  return {
    system,
    accounts,
    services,
    signers,
    victim: new MarketClient(system.directory, system.token, accounts.orgs.victim),
    victimRegistry: new RegistryClient(system.registry.connect(accounts.orgs.victim)),
  };
}

/** A provider agent for `key` on the in-process network, with a log back end and in-memory store. */
export function providerAgent(
  net: SmallInternet,
  key: string,
  options: Partial<ProviderAgentOptions> & { backend?: MitigationBackend; store?: AgentStore } = {},
): ProviderAgent {
  const signer = net.accounts.orgs[key];
  return new ProviderAgent({
    market: new MarketClient(net.system.directory, net.system.token, signer),
    registry: new RegistryClient(net.system.registry.connect(signer)),
    provider: ethers.provider,
    service: net.services[key],
    store: options.store ?? new AgentStore(":memory:"),
    backend: options.backend ?? new LogBackend(),
    pollMs: 20,
    ...options,
  });
}

export async function chainNow(): Promise<number> {
  return (await ethers.provider.getBlock("latest"))!.timestamp;
}

/** An order from the victim to `service`, priced at its quote. */
export async function order(
  net: SmallInternet,
  key: string,
  sources: string[],
  fields: Partial<MitigationOrder> = {},
): Promise<MitigationOrder> {
  const offeringId = fields.offeringId ?? 0;
  const duration = fields.duration ?? 3600;
  return {
    service: net.services[key],
    offeringId,
    target: "203.0.113.0/24",
    sources,
    duration,
    maxPrice: await net.victim.quote(net.services[key], offeringId, duration),
    ackDeadline: (await chainNow()) + 300,
    ...fields,
  };
}

/** The rate Beta's agent enforces in the FlowSpec sample, bytes per second. */
export const SAMPLE_RATE_LIMIT = 1_250_000;

/** The routes gobgpd shows for the FlowSpec sample (`gobgp global rib -a <family>`, sorted). */
export const SAMPLE_ROUTES = {
  ipv4: [
    `[destination: 203.0.113.0/24][source: 198.51.100.200/32] rate: ${SAMPLE_RATE_LIMIT}.000000`,
    "[destination: 203.0.113.10/32][source: 198.51.100.23/32] discard",
    "[destination: 203.0.113.10/32][source: 198.51.100.64/26] discard",
  ],
  ipv6: ["[destination: 2001:db8:a::/48/0][source: 2001:db8:1000::66/128/0] discard"],
};

/**
 * The FlowSpec sample for the back-end tests, both families and both actions: Alpha filters two
 * IPv4 sources and one IPv6 source (discard), Beta rate-limits one IPv4 source (give Beta's agent
 * `policy: { rateLimitBytesPerSecond: SAMPLE_RATE_LIMIT }`). Returns Alpha's IPv4 request.
 */
export async function requestFlowspecSample(net: SmallInternet): Promise<RequestedEvent> {
  const { event } = await net.victim.request(
    await order(net, "alpha", ["198.51.100.23", "198.51.100.64/26"], { target: "203.0.113.10/32", duration: 600 }),
  );
  await net.victim.request(
    await order(net, "alpha", ["2001:db8:1000::66"], { target: "2001:db8:a::/48", duration: 600 }),
  );
  await net.victim.request(await order(net, "beta", ["198.51.100.200"], { duration: 600 }));
  return event;
}

export { until } from "../helpers/until";

/**
 * A small, realistic Internet for the demo and integration tests: two registrars, eleven ASes,
 * IPv4 and IPv6 documentation prefixes (RFC 5737, RFC 3849) and four mitigation providers.
 */
import { parseUnits, type Signer } from "ethers";

import { MarketClient, type MitigationKindName } from "./clients/market";
import { RegistryClient } from "./clients/registry";
import type { System } from "./deploy";

export interface Organisation {
  key: string;
  name: string;
  asns: number[];
  /** Prefixes the registrar allocates: [cidr, origin AS, registrar index]. */
  prefixes: [string, number, 0 | 1][];
  /** Offerings, if it sells mitigation: [kind, tokens per hour, max hours, capacity]. */
  offerings?: [MitigationKindName, string, number, number][];
}

export const ORGANISATIONS: Organisation[] = [
  {
    key: "victim",
    name: "Example Hosting Ltd",
    asns: [64500, 64501],
    prefixes: [
      ["203.0.113.0/24", 64500, 0],
      ["2001:db8:a::/48", 64501, 1],
    ],
  },
  {
    key: "alpha",
    name: "Alpha Transit",
    asns: [64510, 64511],
    prefixes: [
      ["198.51.100.0/25", 64510, 0],
      ["2001:db8:1000::/36", 64511, 1],
    ],
    offerings: [["flow-filtering", "10", 24, 20]],
  },
  {
    key: "beta",
    name: "Beta Networks",
    asns: [64520],
    prefixes: [["198.51.100.128/25", 64520, 0]],
    offerings: [
      ["rate-limiting", "8", 12, 10],
      ["flow-filtering", "12", 24, 10],
    ],
  },
  {
    key: "gamma",
    name: "Gamma Telecom",
    asns: [64530, 64531],
    prefixes: [
      ["192.0.2.0/25", 64530, 1],
      ["2001:db8:2000::/36", 64531, 1],
    ],
    offerings: [["flow-filtering", "6", 48, 50]],
  },
  {
    key: "delta",
    name: "Delta Scrubbing Centres",
    asns: [64540],
    prefixes: [["192.0.2.128/26", 64540, 0]],
    offerings: [["scrubbing", "40", 6, 5]],
  },
  { key: "epsilon", name: "Epsilon Broadband", asns: [64550], prefixes: [["192.0.2.192/26", 64550, 0]] },
  { key: "zeta", name: "Zeta Research Network", asns: [64560, 4200000001], prefixes: [["198.18.0.0/15", 64560, 1]] },
];

/** Alpha delegates part of its IPv6 block to Zeta, which originates it from its own AS. */
export const DELEGATIONS: { from: string; prefix: string; to: string; originAsn: number }[] = [
  { from: "alpha", prefix: "2001:db8:1a00::/40", to: "zeta", originAsn: 4200000001 },
];

export const INITIAL_TOKENS = parseUnits("1000", 18);

export interface ScenarioAccounts {
  admin: Signer;
  registrars: [Signer, Signer];
  orgs: Record<string, Signer>;
}

/** Names the accounts of the scenario from a list of signers (at least 10). */
export function scenarioAccounts(signers: Signer[]): ScenarioAccounts {
  if (signers.length < 3 + ORGANISATIONS.length) {
    throw new Error(`The scenario needs ${3 + ORGANISATIONS.length} accounts, the network has ${signers.length}.`);
  }
  const orgs: Record<string, Signer> = {};
  ORGANISATIONS.forEach((org, i) => (orgs[org.key] = signers[3 + i]));
  return { admin: signers[0], registrars: [signers[1], signers[2]], orgs };
}

/** One step of the set-up, for the report. */
export interface StepRecord {
  step: string;
  gasUsed: bigint;
  transactions: number;
}

/**
 * Registers the organisations, their ASNs and prefixes, makes the delegations, mints tokens and
 * sets up the providers' services, offerings and coverage. The registrars must hold the
 * registrar role and the admin the minter role.
 */
export async function buildSmallInternet(
  system: System,
  accounts: ScenarioAccounts,
  onStep: (record: StepRecord) => void = () => undefined,
): Promise<Record<string, string>> {
  const registrars = accounts.registrars.map((r) => new RegistryClient(system.registry.connect(r)));
  const services: Record<string, string> = {};
  const record = (step: string, receipts: { gasUsed: bigint }[]) =>
    onStep({ step, gasUsed: receipts.reduce((s, r) => s + r.gasUsed, 0n), transactions: receipts.length });

  for (const org of ORGANISATIONS) {
    const account = await accounts.orgs[org.key].getAddress();
    const registrar = registrars[org.prefixes[0]?.[2] ?? 0];
    const receipts = [await registrar.registerParticipant(account, org.name, `https://example.net/${org.key}.json`)];
    for (const asn of org.asns) receipts.push(await registrar.assignAsn(asn, account));
    for (const [cidr, asn, which] of org.prefixes) receipts.push(await registrars[which].allocate(cidr, account, asn));
    record(`register ${org.name}: ${org.asns.length} AS, ${org.prefixes.length} prefixes`, receipts);
  }
  for (const d of DELEGATIONS) {
    const from = new RegistryClient(system.registry.connect(accounts.orgs[d.from]));
    const receipt = await from.delegate(d.prefix, await accounts.orgs[d.to].getAddress(), d.originAsn);
    record(`${d.from} delegates ${d.prefix} to ${d.to}`, [receipt]);
  }
  const minter = system.token.connect(accounts.admin);
  for (const org of ORGANISATIONS) {
    await (await minter.mint(await accounts.orgs[org.key].getAddress(), INITIAL_TOKENS)).wait();
  }
  for (const org of ORGANISATIONS) {
    if (!org.offerings) continue;
    const market = new MarketClient(system.directory, system.token, accounts.orgs[org.key]);
    services[org.key] = await market.createService();
    for (const [kind, price, hours, capacity] of org.offerings) {
      await market.addOffering({ kind, pricePerHour: parseUnits(price, 18), maxDuration: hours * 3600, capacity });
    }
    const coverage = await market.addCoverage(org.asns);
    record(
      `${org.name} opens its service, ${org.offerings.length} offering(s), covers ${org.asns.map((a) => `AS${a}`).join(", ")}`,
      [coverage],
    );
  }
  return services;
}

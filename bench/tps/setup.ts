/**
 * Sets up the market for the benchmark with pre-signed, batched transactions: deploys the system,
 * registers the providers and victims with their AS numbers and prefixes, creates the services
 * with an offering and coverage, mints tokens and approves the services and the directory.
 */
import { MaxUint256, getCreateAddress, parseUnits } from "ethers";

import {
  MitigationToken__factory,
  PrefixRegistry__factory,
  ProviderServiceContract__factory,
  ServiceDirectory__factory,
} from "../../typechain-types";
import { parsePrefix, type Prefix } from "../../src/prefix";
import type { BenchAccounts } from "./accounts";
import { Sender, type Follower, type TrackedTx } from "./chain";
import { call, type JsonRpc } from "../../src/rpc";
import type { SignerPool, UnsignedTx } from "./signer";

export const TOKEN = MitigationToken__factory.createInterface();
export const REGISTRY = PrefixRegistry__factory.createInterface();
export const DIRECTORY = ServiceDirectory__factory.createInterface();
export const SERVICE = ProviderServiceContract__factory.createInterface();

export const ONE_TOKEN = parseUnits("1", 18);
/** The offering every provider sells: flow filtering at 1 token an hour. */
export const OFFERING = { kind: 0, pricePerHour: ONE_TOKEN, maxDuration: 86_400, capacity: 1_000_000 };

/** AS numbers from the private 32-bit range (RFC 6996), prefixes from private space. */
export function victimAsn(v: number): number {
  return 4_200_000_000 + v;
}
export function providerAsn(p: number): number {
  return 4_200_100_000 + p;
}
export function victimPrefix(v: number): Prefix {
  return parsePrefix(`10.${v >> 8}.${v & 255}.0/24`);
}
export function providerPrefix(p: number): Prefix {
  return parsePrefix(`172.16.${p}.0/24`);
}

export interface MarketDeployment {
  token: string;
  registry: string;
  directory: string;
  /** The service of each provider, by provider number. */
  services: string[];
  /** The next nonce of every account. */
  nonces: number[];
  /** Direct requests planned so far at each service (request ids count them from 1). */
  requestCounts: number[];
}

/** Signs, sends and waits for a set of transactions that do not depend on each other's order across senders. */
async function runPhase(
  name: string,
  txs: UnsignedTx[],
  signer: SignerPool,
  sender: Sender,
  follower: Follower,
): Promise<TrackedTx[]> {
  const started = Date.now();
  const signed = await signer.sign(txs);
  const tracked: TrackedTx[] = signed.map((s) => ({ ...s, kind: "setup", items: 0 }));
  follower.track(tracked);
  await sender.send(tracked);
  await follower.settled(tracked, 120_000);
  const refused = tracked.filter((tx) => tx.sendError !== undefined);
  const reverted = tracked.filter((tx) => tx.status === 0);
  if (refused.length > 0 || reverted.length > 0) {
    throw new Error(
      `Set-up ${name}: ${refused.length} refused (${refused[0]?.sendError ?? "-"}), ${reverted.length} reverted.`,
    );
  }
  console.log(`  set-up ${name}: ${tracked.length} transactions in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return tracked;
}

export async function setUpMarket(
  accounts: BenchAccounts,
  signer: SignerPool,
  sender: Sender,
  follower: Follower,
  rpc: JsonRpc,
): Promise<MarketDeployment> {
  const nonces = accounts.keys.map(() => 0);
  const at = (key: number) => accounts.addresses[key];
  const tx = (key: number, to: string, data: string, gasLimit: bigint): UnsignedTx => ({
    key,
    nonce: nonces[key]++,
    to,
    data,
    gasLimit,
  });
  const deployer = accounts.deployer;
  const admin = at(deployer);

  // Phase 1, all from the deployer (its nonces order them): contracts, participants, resources, tokens.
  const token = getCreateAddress({ from: admin, nonce: 0 });
  const registry = getCreateAddress({ from: admin, nonce: 1 });
  const directory = getCreateAddress({ from: admin, nonce: 2 });
  const deploys = [
    await new MitigationToken__factory().getDeployTransaction("Mitigation Token", "MIT", admin, admin),
    await new PrefixRegistry__factory().getDeployTransaction(admin, [admin]),
    await new ServiceDirectory__factory().getDeployTransaction(token, registry),
  ];
  const phase1: UnsignedTx[] = deploys.map((d) => ({
    key: deployer,
    nonce: nonces[deployer]++,
    to: null,
    data: d.data,
    gasLimit: 10_000_000n,
  }));
  const participants: [key: number, name: string, asn: number, prefix: Prefix][] = [
    ...accounts.providers.map((key, p): [number, string, number, Prefix] => [
      key,
      `Provider ${p}`,
      providerAsn(p),
      providerPrefix(p),
    ]),
    ...accounts.victims.map((key, v): [number, string, number, Prefix] => [
      key,
      `Victim ${v}`,
      victimAsn(v),
      victimPrefix(v),
    ]),
  ];
  for (const [key, name, asn] of participants) {
    phase1.push(
      tx(
        deployer,
        registry,
        REGISTRY.encodeFunctionData("registerParticipant", [at(key), name, `https://bench.example/${asn}`]),
        300_000n,
      ),
    );
    phase1.push(tx(deployer, registry, REGISTRY.encodeFunctionData("assignAsn", [asn, at(key)]), 200_000n));
  }
  for (let start = 0; start < participants.length; start += 50) {
    const allocations = participants.slice(start, start + 50).map(([key, , asn, prefix]) => ({
      network: prefix.network,
      prefixLength: prefix.length,
      holder: at(key),
      originAsn: asn,
    }));
    phase1.push(tx(deployer, registry, REGISTRY.encodeFunctionData("allocateBatch", [allocations]), 8_000_000n));
  }
  for (const key of [...accounts.victims, ...accounts.baseline]) {
    phase1.push(tx(deployer, token, TOKEN.encodeFunctionData("mint", [at(key), 1_000_000n * ONE_TOKEN]), 200_000n));
  }
  await runPhase("1 (deploy, register, allocate, mint)", phase1, signer, sender, follower);

  const services: string[] = [];
  for (const key of accounts.providers) {
    const result = await call<string>(rpc, "eth_call", [
      { to: directory, data: DIRECTORY.encodeFunctionData("predictServiceAddress", [at(key)]) },
      "latest",
    ]);
    services.push(DIRECTORY.decodeFunctionResult("predictServiceAddress", result)[0] as string);
  }

  // Phase 2: each provider creates its service, its offering and its coverage; each victim
  // approves every service and the directory once, for good.
  const phase2: UnsignedTx[] = [];
  accounts.providers.forEach((key, p) => {
    phase2.push(tx(key, directory, DIRECTORY.encodeFunctionData("createService"), 1_000_000n));
    phase2.push(
      tx(
        key,
        services[p],
        SERVICE.encodeFunctionData("addOffering", [
          OFFERING.kind,
          OFFERING.pricePerHour,
          OFFERING.maxDuration,
          OFFERING.capacity,
        ]),
        300_000n,
      ),
    );
    phase2.push(tx(key, directory, DIRECTORY.encodeFunctionData("addCoverage", [[providerAsn(p)]]), 300_000n));
  });
  for (const key of accounts.victims) {
    for (const spender of [...services, directory]) {
      phase2.push(tx(key, token, TOKEN.encodeFunctionData("approve", [spender, MaxUint256]), 100_000n));
    }
  }
  await runPhase("2 (services, offerings, coverage, approvals)", phase2, signer, sender, follower);
  return { token, registry, directory, services, nonces, requestCounts: services.map(() => 0) };
}

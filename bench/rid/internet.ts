/**
 * The benchmark's Internet: the system deployed by an admin (also the registrar and minter), a
 * victim holding its prefix, and one provider per AS, each with its own generated account, its
 * prefix, its service contract, a flow-filtering offering and the coverage of its AS. Set-up is
 * not measured; it goes in a few rounds of transactions sent together, so that interval mining
 * costs a few blocks rather than one per transaction. Accounts get their ether from the
 * development node's setBalance; the victim gets its MIT from the admin, the minter.
 */
import {
  MaxUint256,
  NonceManager,
  Wallet,
  keccak256,
  parseUnits,
  toUtf8Bytes,
  type ContractTransactionResponse,
  type Provider,
} from "ethers";

import { ProviderServiceContract__factory } from "../../typechain-types";
import { PreflightSigner } from "../../src/clients/preflight";
import { send } from "../../src/clients/tx";
import { deploySystem, type System } from "../../src/deploy";
import { parsePrefix } from "../../src/prefix";
import { providerAsn, providerPrefix, VICTIM_ASN, VICTIM_PREFIX } from "./topology";

/** The offering every provider sells: flow filtering at 1 MIT an hour, up to a day, no practical capacity limit. */
export const OFFERING = { kind: 0, pricePerHour: parseUnits("1", 18), maxDuration: 86_400, capacity: 1_000_000 };
/** Ether for every account, and MIT for the victim. */
const ETHER = 10n ** 21n;
const VICTIM_TOKENS = parseUnits("10000000", 18);
/** Registry batches: well under a 30M block. */
const BATCH = 50;
/** Gas limits given outright to the providers' set-up, so nothing waits for an estimate. */
const GAS = { createService: 1_000_000n, addOffering: 300_000n, addCoverage: 300_000n };
/** Fees for the set-up transactions, above any base fee a development node reaches. */
const FEES = { maxFeePerGas: 10n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n };

export interface BenchProvider {
  /** Its number: AS and prefix derive from it. */
  index: number;
  asn: number;
  prefix: string;
  address: string;
  /** Its own account, local nonces (as the agent task runs it). */
  signer: NonceManager;
  service: string;
}

export interface BenchInternet {
  system: System;
  victim: { address: string; signer: PreflightSigner };
  providers: Map<number, BenchProvider>;
  /** Transactions the set-up sent. */
  transactions: number;
}

/** A deterministic key per role, from a seed: the same accounts on every run. */
function wallet(seed: string, role: string, provider: Provider): Wallet {
  return new Wallet(keccak256(toUtf8Bytes(`${seed}/${role}`)), provider);
}

/** Runs `work` on every item, at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function mined(what: string, responses: readonly ContractTransactionResponse[]): Promise<void> {
  const receipts = await Promise.all(responses.map((r) => r.wait()));
  const failed = receipts.filter((r) => r === null || r.status !== 1).length;
  if (failed > 0) throw new Error(`Set-up (${what}): ${failed} of ${responses.length} transactions failed.`);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

export interface InternetOptions {
  provider: Provider;
  setBalance(address: string, wei: bigint): Promise<void>;
  /** Provider numbers to create. */
  providers: readonly number[];
  /** Provider numbers the victim may buy from alone (a lone order goes straight to the service). */
  boughtAlone: readonly number[];
  seed: string;
  onProgress: (line: string) => void;
}

export async function buildInternet(options: InternetOptions): Promise<BenchInternet> {
  const { provider, seed, onProgress } = options;
  const adminWallet = wallet(seed, "admin", provider);
  const victimWallet = wallet(seed, "victim", provider);
  const admin = new PreflightSigner(new NonceManager(adminWallet));
  const victim = new PreflightSigner(new NonceManager(victimWallet));
  const accounts = options.providers.map((index) => ({ index, wallet: wallet(seed, `provider/${index}`, provider) }));
  let transactions = 0;

  await mapLimit([adminWallet, victimWallet, ...accounts.map((a) => a.wallet)], 50, (w) =>
    options.setBalance(w.address, ETHER),
  );
  const system = await deploySystem(admin);
  transactions += 3;
  onProgress(`deployed token, registry and directory; ${accounts.length} provider accounts funded`);

  const registry = system.registry.connect(admin);
  const participants = [
    { account: victimWallet.address, name: "RID bench victim", asn: VICTIM_ASN, prefix: VICTIM_PREFIX },
    ...accounts.map((a) => ({
      account: a.wallet.address,
      name: `RID bench AS${providerAsn(a.index)}`,
      asn: providerAsn(a.index),
      prefix: providerPrefix(a.index),
    })),
  ];
  const round = async (what: string, sendAll: () => Promise<ContractTransactionResponse>[]) => {
    const responses = await Promise.all(sendAll());
    await mined(what, responses);
    transactions += responses.length;
  };
  await round("participants", () =>
    chunks(participants, BATCH).map((c) =>
      registry.registerParticipantBatch(
        c.map((p) => ({ account: p.account, name: p.name, metadataURI: `https://bench.example/as${p.asn}` })),
      ),
    ),
  );
  await round("AS numbers", () =>
    chunks(participants, BATCH).map((c) => registry.assignAsnBatch(c.map((p) => ({ asn: p.asn, holder: p.account })))),
  );
  await round("prefixes and tokens", () => [
    ...chunks(participants, BATCH).map((c) =>
      registry.allocateBatch(
        c.map((p) => {
          const prefix = parsePrefix(p.prefix);
          return { network: prefix.network, prefixLength: prefix.length, holder: p.account, originAsn: p.asn };
        }),
      ),
    ),
    system.token.connect(admin).mint(victimWallet.address, VICTIM_TOKENS),
  ]);
  onProgress(`registered ${participants.length} participants with their AS numbers and prefixes`);

  const providers = new Map<number, BenchProvider>();
  const directory = system.directory;
  const responses = await mapLimit(accounts, 20, async ({ index, wallet: w }) => {
    const signer = new NonceManager(w);
    const service = await directory.predictServiceAddress(w.address);
    const serviceContract = ProviderServiceContract__factory.connect(service, signer);
    // Sent in nonce order without waiting: the node mines them in that order.
    const sent = [
      await directory.connect(signer).createService({ gasLimit: GAS.createService, ...FEES }),
      await serviceContract.addOffering(OFFERING.kind, OFFERING.pricePerHour, OFFERING.maxDuration, OFFERING.capacity, {
        gasLimit: GAS.addOffering,
        ...FEES,
      }),
      await directory.connect(signer).addCoverage([providerAsn(index)], { gasLimit: GAS.addCoverage, ...FEES }),
    ];
    providers.set(index, {
      index,
      asn: providerAsn(index),
      prefix: providerPrefix(index),
      address: w.address,
      signer,
      service,
    });
    return sent;
  });
  await mined("services", responses.flat());
  transactions += responses.flat().length;
  onProgress(`${providers.size} services opened, each with an offering and the coverage of its AS`);

  // A standing allowance, as an operator gives it once: otherwise every purchase would first wait
  // for an approval transaction (one more block under interval mining).
  const victimToken = system.token.connect(victim);
  const spenders = [
    await directory.getAddress(),
    ...options.boughtAlone.map((p) => {
      const found = providers.get(p);
      if (!found) throw new Error(`Provider ${p} is bought from alone but was not created.`);
      return found.service;
    }),
  ];
  for (const spender of spenders) await send(() => victimToken.approve(spender, MaxUint256));
  transactions += spenders.length;
  onProgress(`the victim approved the directory and ${spenders.length - 1} services once, without limit`);
  return { system, victim: { address: victimWallet.address, signer: victim }, providers, transactions };
}

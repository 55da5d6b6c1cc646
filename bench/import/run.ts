/**
 * `npm run bench:import`: the whole RouteViews/RIR table (@ip-location-db/asn) into a fresh
 * registry on anvil, then the agreement check and lookup latency. anvil's cost per block grows
 * with its state, so few large blocks (10 s, 3e9 gas) import the table in about 8 minutes where
 * 1–2 s blocks take over an hour. The result is printed as JSON on stdout (the latest is kept in
 * bench/results/import-anvil.json), progress on stderr.
 *
 * Environment: IMPORT_BLOCK_TIME (seconds, 0 = automine; default 10), IMPORT_GAS_LIMIT (block
 * gas limit, default 3e9), IMPORT_BATCH_GAS (default 30M), IMPORT_SIGNER (key | node, default key),
 * IMPORT_LIMIT (import only the first N prefixes of the plan, for a quick look),
 * IMPORT_SAMPLES (addresses checked, default 10000), IMPORT_SEED (default 1).
 */
import { JsonRpcProvider, Network, Wallet } from "ethers";

import { PrefixRegistry__factory } from "../../typechain-types";
import { ANVIL_KEY_0, startAnvil } from "../../src/import/anvil";
import { importTable } from "../../src/import/importer";
import { ipLocationDbFiles, loadTable, sourceLabel } from "../../src/import/load";
import { formatDuration, ProgressBar } from "../../src/import/progress";
import { KeySender, NodeSender } from "../../src/import/rpc";
import type { ImportEntry } from "../../src/import/table";
import { formatPrefix, isIPv4, mask } from "../../src/prefix";
import { checkAgreement, lookupLatency, sampleAddresses } from "../../src/import/verify";

const env = process.env;
const num = (name: string, fallback: number): number => (env[name] === undefined ? fallback : Number(env[name]));

async function main(): Promise<void> {
  const blockTime = num("IMPORT_BLOCK_TIME", 10);
  const gasLimit = num("IMPORT_GAS_LIMIT", 3_000_000_000);
  const started = Date.now();
  let t = Date.now();
  const files = ipLocationDbFiles();
  const table = await loadTable("ip-location-db", files);
  const limit = env.IMPORT_LIMIT === undefined ? undefined : Number(env.IMPORT_LIMIT);
  if (limit !== undefined) table.entries.length = Math.min(limit, table.entries.length);
  const loadSeconds = (Date.now() - t) / 1000;
  console.error(
    `Loaded ${table.entries.length.toLocaleString("en")} prefixes of ${table.asns.size.toLocaleString("en")} ASes in ${loadSeconds.toFixed(1)} s.`,
  );

  const node = await startAnvil({ gasLimit, blockTime });
  try {
    const network = Network.from(31337);
    const provider = new JsonRpcProvider(node.url, network, { staticNetwork: network });
    const deployer = new Wallet(ANVIL_KEY_0, provider);
    const registry = await new PrefixRegistry__factory(deployer).deploy(deployer.address, [deployer.address]);
    await registry.waitForDeployment();
    const registryAddress = await registry.getAddress();
    provider.destroy();

    const sender =
      env.IMPORT_SIGNER === "node"
        ? new NodeSender(deployer.address)
        : new KeySender(deployer.address, deployer.signingKey);
    const bar = new ProgressBar();
    t = Date.now();
    const summary = await importTable(table, {
      rpc: node.rpc,
      registry: registryAddress,
      sender,
      source: sourceLabel("ip-location-db", files),
      batchGas: num("IMPORT_BATCH_GAS", 30_000_000),
      onProgress: (p) => bar.update(p.phase, p.done, p.total),
    });
    bar.finish();
    const importSeconds = (Date.now() - t) / 1000;

    const addresses = sampleAddresses(table.sampleRanges, num("IMPORT_SAMPLES", 10_000), num("IMPORT_SEED", 1));
    t = Date.now();
    const agreement = await checkAgreement(node.rpc, registryAddress, table, addresses);
    const agreementSeconds = (Date.now() - t) / 1000;
    const latency = await lookupLatency(node.rpc, registryAddress, addresses.slice(0, 2000));
    const fresh = await freshAllocations(node.url, registryAddress, table.entries);
    const result = {
      node: { client: "anvil", blockTime, gasLimit, signer: env.IMPORT_SIGNER ?? "key" },
      table: table.report,
      import: summary,
      seconds: {
        load: loadSeconds,
        import: importSeconds,
        agreement: agreementSeconds,
        total: (Date.now() - started) / 1000,
      },
      agreement: { ...agreement, percent: (100 * agreement.agreed) / agreement.checked },
      latency,
      freshAllocations: fresh,
    };
    console.log(JSON.stringify(result, null, 2));
    console.error(
      `Imported ${summary.prefixes.imported.toLocaleString("en")} prefixes and ${summary.asns.assigned.toLocaleString("en")} ASes in ${formatDuration(importSeconds)}; ` +
        `${summary.gas.perImportedPrefix} gas per prefix; agreement ${agreement.agreed}/${agreement.checked}; lookup p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms.`,
    );
    console.error(
      `After the import: ${fresh.allocated} allocated inside ${fresh.inside} to a new holder, wholly held: ${fresh.allocatedHeld}; ` +
        `${fresh.reallocated} revoked and allocated again to it, wholly held: ${fresh.reallocatedHeld}.`,
    );
    if (agreement.agreed !== agreement.checked || !fresh.allocatedHeld || !fresh.reallocatedHeld) process.exitCode = 1;
  } finally {
    node.stop();
  }
}

/**
 * What an operator does after an import (docs/import.md): a registrar allocates a /24 inside an
 * imported prefix to a new participant, and revokes an imported /24 and allocates it again to that
 * participant. The registry must answer that the new holder wholly holds both.
 */
async function freshAllocations(url: string, registryAddress: string, entries: readonly ImportEntry[]) {
  const network = Network.from(31337);
  const provider = new JsonRpcProvider(url, network, { staticNetwork: network });
  try {
    const registrar = new Wallet(ANVIL_KEY_0, provider);
    const registry = PrefixRegistry__factory.connect(registryAddress, registrar);
    const newcomer = Wallet.createRandom().address;
    const wait = async (tx: Promise<{ wait(): Promise<unknown> }>) => (await tx).wait();
    await wait(registry.registerParticipant(newcomer, "Fresh Holder", ""));
    const ipv4 = entries.filter((e) => isIPv4(e));
    const wide = ipv4.find((e) => e.length <= 96 + 22)!;
    const inside = { network: wide.network | (1n << 8n), length: 96 + 24 };
    inside.network &= mask(inside.length);
    await wait(registry.allocate(inside.network, inside.length, newcomer, wide.asn));
    // The most specific IPv4 prefix imported (a /24 on the full table).
    const slash24 = ipv4[ipv4.length - 1];
    await wait(registry.revoke(slash24.network, slash24.length));
    await wait(registry.allocate(slash24.network, slash24.length, newcomer, slash24.asn));
    return {
      inside: formatPrefix(wide),
      allocated: formatPrefix(inside),
      allocatedHeld: await registry.isHolder(newcomer, inside.network, inside.length),
      reallocated: formatPrefix(slash24),
      reallocatedHeld: await registry.isHolder(newcomer, slash24.network, slash24.length),
    };
  } finally {
    provider.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});

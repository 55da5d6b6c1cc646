/** `npx hardhat registry import` / `registry import-check`: the RouteViews/RIR table in the registry. */
import { HDNodeWallet, Mnemonic, Wallet } from "ethers";
import { scope, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import { importTable } from "../src/import/importer";
import { ipLocationDbFiles, loadTable, sourceLabel, type SourceKind } from "../src/import/load";
import { ProgressBar, formatDuration } from "../src/import/progress";
import { Eip1193JsonRpc, HttpJsonRpc, KeySender, NodeSender, type JsonRpc, type TxSender } from "../src/import/rpc";
import { checkAgreement, lookupLatency, sampleAddresses } from "../src/import/verify";
import { operator, operatorAction, operatorTask, type CommonArgs } from "./lib";

const registry = scope("registry");

interface SourceArgs extends CommonArgs {
  source: string;
  file?: string;
}

function sourceOf(args: SourceArgs): { kind: SourceKind; files: string[] } {
  if (args.source !== "ip-location-db" && args.source !== "pfx2as") {
    throw new Error(`--source is "${args.source}": expected ip-location-db or pfx2as.`);
  }
  const files = args.file === undefined ? [] : args.file.split(",").map((f) => f.trim());
  if (args.source === "pfx2as" && files.length === 0) throw new Error("--file is required with --source pfx2as.");
  return { kind: args.source, files: files.length > 0 ? files : ipLocationDbFiles() };
}

function rpcOf(hre: HardhatRuntimeEnvironment): JsonRpc {
  const config = hre.network.config;
  return "url" in config ? new HttpJsonRpc(config.url) : new Eip1193JsonRpc(hre.network.provider);
}

/** Signs locally when the network's config has the key; lets the node sign otherwise. */
function senderOf(hre: HardhatRuntimeEnvironment, address: string, index: number): TxSender {
  const accounts = hre.network.config.accounts;
  if (!("url" in hre.network.config) || accounts === "remote") return new NodeSender(address);
  if (Array.isArray(accounts)) {
    const entry = accounts[index];
    const key = typeof entry === "string" ? entry : entry.privateKey;
    return new KeySender(address, new Wallet(String(key)).signingKey);
  }
  const hd = accounts as { mnemonic: string; path: string; passphrase?: string };
  const wallet = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(hd.mnemonic, hd.passphrase), `${hd.path}/${index}`);
  return new KeySender(address, wallet.signingKey);
}

operatorTask(
  registry,
  "import",
  "Imports a prefix-to-AS table: a holder per AS, then the prefixes (registrar only; resumable)",
)
  .addOptionalParam(
    "source",
    "ip-location-db (the npm package) or pfx2as (CAIDA files)",
    "ip-location-db",
    types.string,
  )
  .addOptionalParam(
    "file",
    "Comma-separated source files (default: the package's IPv4 and IPv6 files)",
    undefined,
    types.string,
  )
  .addOptionalParam(
    "batchGas",
    "Gas per allocateBatch (default: min(30M, 95% of the block gas limit))",
    undefined,
    types.int,
  )
  .addOptionalParam("window", "Transactions in flight at most", 2000, types.int)
  .setAction(
    operatorAction(async (args: SourceArgs & { batchGas?: number; window: number }, hre) => {
      const { kind, files } = sourceOf(args);
      const op = await operator(hre, args.from);
      const table = await loadTable(kind, files);
      const signers = await hre.ethers.getSigners();
      const index = signers.findIndex((s) => s.address === op.address);
      const bar = new ProgressBar();
      const summary = await importTable(table, {
        rpc: rpcOf(hre),
        registry: await op.system.registry.getAddress(),
        sender: senderOf(hre, op.address, index),
        source: sourceLabel(kind, files),
        batchGas: args.batchGas,
        window: args.window,
        onProgress: (p) => bar.update(p.phase, p.done, p.total),
      });
      bar.finish();
      const r = table.report;
      const text = [
        `Imported ${summary.prefixes.imported.toLocaleString("en")} prefixes (${summary.prefixes.alreadyPresent.toLocaleString("en")} were already there) of ${summary.prefixes.total.toLocaleString("en")}: ${r.ipv4Prefixes.toLocaleString("en")} IPv4, ${r.ipv6Prefixes.toLocaleString("en")} IPv6.`,
        `ASes: ${summary.asns.total.toLocaleString("en")}; assigned now ${summary.asns.assigned.toLocaleString("en")}, already ${summary.asns.alreadyAssigned.toLocaleString("en")}, held by others ${summary.asns.heldByOthers}; holders registered ${summary.participants.registered.toLocaleString("en")}.`,
        `Gas: ${summary.gas.allocations} for allocations (${summary.gas.perImportedPrefix ?? "-"} per prefix), ${summary.gas.holders} for holders; ${summary.transactions.toLocaleString("en")} transactions in ${formatDuration(summary.seconds)}.`,
        `Source: ${r.sourceRows.toLocaleString("en")} rows, ${r.overlappingRows} overlapping (most specific kept), reserved ASes skipped ${JSON.stringify(r.reservedRows)}, multi-origin ${r.multiOrigin}, AS sets ${r.asSets}, rejected lines ${r.rejectedLines}.`,
      ].join("\n");
      return { data: { table: r, ...summary }, text };
    }),
  );

operatorTask(registry, "import-check", "Checks random addresses' lookups against the source table, and lookup latency")
  .addOptionalParam("source", "ip-location-db or pfx2as", "ip-location-db", types.string)
  .addOptionalParam("file", "Comma-separated source files", undefined, types.string)
  .addOptionalParam("samples", "How many addresses", 10_000, types.int)
  .addOptionalParam("seed", "PRNG seed", 1, types.int)
  .setAction(
    operatorAction(async (args: SourceArgs & { samples: number; seed: number }, hre) => {
      const { kind, files } = sourceOf(args);
      const op = await operator(hre, args.from);
      const table = await loadTable(kind, files);
      const address = await op.system.registry.getAddress();
      const addresses = sampleAddresses(table.sampleRanges, args.samples, args.seed);
      const agreement = await checkAgreement(rpcOf(hre), address, table, addresses);
      const latency = await lookupLatency(rpcOf(hre), address, addresses.slice(0, 1000));
      if (agreement.agreed !== agreement.checked) process.exitCode = 1;
      const text =
        `${agreement.agreed}/${agreement.checked} lookups agree with the table (${agreement.found} found, ${agreement.notFound} not found); lookup p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms.` +
        agreement.mismatches.map((m) => `\n  ${m.address}: table ${m.expected}, registry ${m.registry}`).join("");
      return { data: { agreement, latency }, text };
    }),
  );

/**
 * The reduced import: a seeded sample of the RouteViews/RIR table (over 20,000 prefixes, IPv4
 * and IPv6) into a fresh registry on an anvil child process, interrupted half-way and resumed,
 * then 10,000 seeded addresses looked up and compared with the source table.
 */
import { expect } from "chai";
import { Interface, Transaction, Wallet } from "ethers";

import { PrefixRegistry__factory } from "../../typechain-types";
import { ANVIL_KEY_0, anvilAvailable, startAnvil, type AnvilNode } from "../../src/import/anvil";
import { importTable } from "../../src/import/importer";
import { ipLocationDbFiles, readSource } from "../../src/import/load";
import { encodeAllocateBatch, encodeRegisterParticipant, holderCache, planBatches } from "../../src/import/plan";
import { rangeToPrefixes, flattenRanges } from "../../src/import/ranges";
import { KeySender, type JsonRpc, type RpcCall } from "../../src/import/rpc";
import type { NamedRange } from "../../src/import/sources";
import { tableFromRanges, type ImportTable } from "../../src/import/table";
import { checkAgreement, prng, sampleAddresses } from "../../src/import/verify";
import { formatPrefix, parsePrefix } from "../../src/prefix";

const SEED = 20240601;

/** A deterministic sample of the package's rows: `v4` IPv4 rows and `v6` IPv6 rows. */
async function sampleTable(v4: number, v6: number): Promise<ImportTable> {
  const source = await readSource("ip-location-db", ipLocationDbFiles());
  const rows = source.rows as NamedRange[];
  const next = prng(SEED);
  const isV4 = (row: NamedRange): boolean => row.first >> 32n === 0xffffn;
  const pick = (pool: NamedRange[], count: number): NamedRange[] => {
    const chosen = new Set<number>();
    while (chosen.size < Math.min(count, pool.length)) chosen.add(next() % pool.length);
    return [...chosen].map((i) => pool[i]);
  };
  return tableFromRanges([
    ...pick(rows.filter(isV4), v4),
    ...pick(
      rows.filter((r) => !isV4(r)),
      v6,
    ),
  ]);
}

/**
 * A transport that fails when asked to send allocation batch number `batches + 1`: a crash in
 * the middle, after every holder transaction and some of the batches were sent.
 */
function crashingAfterBatches(rpc: JsonRpc, batches: number): JsonRpc {
  const selector = new Interface(PrefixRegistry__factory.abi).getFunction("allocateBatch")!.selector;
  let left = batches;
  return {
    request: (method, params) => rpc.request(method, params),
    batch: async (calls: readonly RpcCall[]) => {
      const allocations = calls.filter(
        (c) =>
          c.method === "eth_sendRawTransaction" && Transaction.from(c.params[0] as string).data.startsWith(selector),
      ).length;
      if (allocations > 0) {
        if (left < allocations) throw new Error("simulated crash");
        left -= allocations;
      }
      return rpc.batch(calls);
    },
  };
}

describe("import (RouteViews/RIR table)", function () {
  describe("#rangeToPrefixes", function () {
    it("covers a range exactly with the fewest prefixes", function () {
      const p = (text: string) => parsePrefix(text);
      const first = p("10.0.0.1/32").network;
      const last = p("10.0.1.254/32").network;
      const prefixes = rangeToPrefixes(first, last).map(formatPrefix);
      expect(prefixes[0]).to.equal("10.0.0.1/32");
      expect(prefixes[prefixes.length - 1]).to.equal("10.0.1.254/32");
      expect(prefixes).to.have.length(16);
      expect(rangeToPrefixes(0n, (1n << 128n) - 1n)).to.deep.equal([{ network: 0n, length: 0 }]);
    });

    it("matches a brute-force cover on random ranges", function () {
      const next = prng(7);
      for (let i = 0; i < 300; i++) {
        const a = BigInt(next() % 5000);
        const b = a + BigInt(next() % 3000);
        const prefixes = rangeToPrefixes(a, b);
        let cursor = a;
        for (const prefix of prefixes) {
          expect(prefix.network).to.equal(cursor);
          const size = 1n << BigInt(128 - prefix.length);
          expect(prefix.network % size).to.equal(0n);
          cursor += size;
        }
        expect(cursor - 1n).to.equal(b);
        // Minimal: no two consecutive prefixes could be one.
        for (let k = 1; k < prefixes.length; k++) {
          const [x, y] = [prefixes[k - 1], prefixes[k]];
          const joinable = x.length === y.length && x.network % (2n << BigInt(128 - x.length)) === 0n;
          expect(joinable).to.equal(false);
        }
      }
    });
  });

  describe("#flattenRanges", function () {
    it("keeps the most specific row where rows overlap", function () {
      const { ranges } = flattenRanges([
        { first: 0n, last: 99n, asn: 1 },
        { first: 10n, last: 19n, asn: 2 },
        { first: 90n, last: 120n, asn: 3 },
      ]);
      expect(ranges).to.deep.equal([
        { first: 0n, last: 9n, asn: 1 },
        { first: 10n, last: 19n, asn: 2 },
        { first: 20n, last: 89n, asn: 1 },
        { first: 90n, last: 120n, asn: 3 },
      ]);
    });
  });

  describe("calldata", function () {
    it("encodes like ethers", function () {
      const registry = new Interface(PrefixRegistry__factory.abi);
      const holderOf = holderCache();
      const entries = [
        { ...parsePrefix("192.0.2.0/24"), asn: 64500 },
        { ...parsePrefix("2001:db8::/32"), asn: 4200000000 },
      ];
      expect(encodeAllocateBatch(entries, holderOf)).to.equal(
        registry.encodeFunctionData("allocateBatch", [
          entries.map((e) => ({
            network: e.network,
            prefixLength: e.length,
            holder: holderOf(e.asn),
            originAsn: e.asn,
          })),
        ]),
      );
      const name = "Ünïcode, Inc. — a name longer than thirty-two bytes";
      expect(encodeRegisterParticipant(holderOf(1), name, "as:1")).to.equal(
        registry.encodeFunctionData("registerParticipant", [holderOf(1), name, "as:1"]),
      );
    });
  });

  describe("a reduced import on anvil", function () {
    let node: AnvilNode | undefined;
    this.timeout(600_000);

    before(function () {
      if (!anvilAvailable()) this.skip();
    });

    after(function () {
      node?.stop();
    });

    it("imports over 20,000 prefixes, resumes after a crash, and agrees on 10,000 addresses", async function () {
      const table = await sampleTable(11_000, 5_000);
      expect(table.report.ipv4Prefixes).to.be.greaterThan(10_000);
      expect(table.report.ipv6Prefixes).to.be.greaterThan(5_000);
      expect(table.entries.length).to.be.greaterThanOrEqual(20_000);

      node = await startAnvil({ gasLimit: 300_000_000, blockTime: 1 });
      const deployer = new Wallet(ANVIL_KEY_0);
      const factory = new PrefixRegistry__factory();
      const deploy = await factory.getDeployTransaction(deployer.address, [deployer.address]);
      const hash = (await node.rpc.request("eth_sendRawTransaction", [
        await deployer.signTransaction({
          ...deploy,
          chainId: 31337,
          nonce: 0,
          gasLimit: 8_000_000,
          type: 2,
          maxFeePerGas: 1_000_000_000,
          maxPriorityFeePerGas: 0,
        }),
      ])) as string;
      let receipt: { contractAddress: string } | null = null;
      while (receipt === null) {
        receipt = (await node.rpc.request("eth_getTransactionReceipt", [hash])) as { contractAddress: string } | null;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const registry = receipt.contractAddress;
      const sender = new KeySender(deployer.address, deployer.signingKey);
      // Small batches, so that the crash falls among them.
      const options = { registry, sender, source: "test", batchGas: 5_000_000 };

      // A crash mid-way: holders and half of the batches sent, the rest not.
      const planned = planBatches(table.entries, { batchGas: 5_000_000, mayNest: false }).length;
      await importTable(table, { ...options, rpc: crashingAfterBatches(node.rpc, Math.floor(planned / 2)) }).then(
        () => expect.fail("the simulated crash did not happen"),
        (error: Error) => expect(error.message).to.equal("simulated crash"),
      );
      const resumed = await importTable(table, { ...options, rpc: node.rpc });
      expect(resumed.prefixes.alreadyPresent).to.be.greaterThan(0);
      expect(resumed.prefixes.imported + resumed.prefixes.alreadyPresent).to.equal(table.entries.length);
      expect(resumed.asns.assigned).to.equal(0);

      const count = BigInt(
        (await node.rpc.request("eth_call", [
          {
            to: registry,
            data: "0x" + new Interface(PrefixRegistry__factory.abi).getFunction("prefixCount")!.selector.slice(2),
          },
          "latest",
        ])) as string,
      );
      expect(count).to.equal(BigInt(table.entries.length));
      expect(resumed.batches.total).to.equal(planned);
      expect(resumed.batches.sent).to.be.greaterThan(0).and.lessThan(planned);

      const addresses = sampleAddresses(table.sampleRanges, 10_000, SEED);
      const agreement = await checkAgreement(node.rpc, registry, table, addresses);
      expect(agreement.mismatches).to.deep.equal([]);
      expect(agreement.agreed).to.equal(10_000);
      expect(agreement.found).to.be.greaterThan(5_000);
      expect(agreement.notFound).to.be.greaterThan(500);
    });
  });
});

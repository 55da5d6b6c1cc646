/**
 * Gas of the registry's main paths, read from receipts, printed as a table and held under upper
 * bounds so that a regression fails the suite. The bounds leave headroom over the measured figures;
 * tighten them when the figures improve.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";

import type { HolderProbe } from "../typechain-types";
import { ALICE_ASN, BOB_ASN, deployWithParticipants, onChain } from "./helpers/fixtures";
import type { Foundation } from "./helpers/fixtures";

const BATCH_SIZE = 100;

const BOUNDS = {
  allocateFirst: 130_000,
  allocate: 80_000,
  delegate: 90_000,
  batchPerPrefix: 40_000,
  isHolderOverhead: 15_000,
  isHolderProvedByProbing: 25_000,
};

interface GasProbe extends Foundation {
  probe: HolderProbe;
}

async function withProbe(foundation: Foundation): Promise<GasProbe> {
  const probe = await ethers.deployContract("HolderProbe", [await foundation.registry.getAddress()]);
  await probe.waitForDeployment();
  return { ...foundation, probe };
}

/** Participants, a HolderProbe, and 10.0.0.0/8 plus 10.1.0.0/16 and 10.2.0.0/24 to alice. */
async function deployForGas(): Promise<GasProbe> {
  const foundation = await deployWithParticipants();
  const { registry, registrar1, alice } = foundation;
  for (const text of ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/24"]) {
    await registry.connect(registrar1).allocate(...onChain(text), alice.address, ALICE_ASN);
  }
  return withProbe(foundation);
}

/**
 * Participants, a HolderProbe, 10.0.0.0/8 to alice, who delegates 10.1.128.0/17 to herself: for
 * 10.1.0.0/16, isHolder must probe both /17s to prove that alice holds all of it.
 */
async function deployWithOwnSubPrefix(): Promise<GasProbe> {
  const foundation = await deployWithParticipants();
  const { registry, registrar1, alice } = foundation;
  await registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN);
  await registry.connect(alice).delegate(...onChain("10.1.128.0/17"), alice.address, ALICE_ASN);
  return withProbe(foundation);
}

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  return receipt!.gasUsed;
}

describe("PrefixRegistry gas", function () {
  const rows: [path: string, gas: bigint, bound: number][] = [];

  function record(path: string, gas: bigint, bound: number): void {
    rows.push([path, gas, bound]);
    expect(gas, path).to.be.below(BigInt(bound));
  }

  after(function () {
    const width = Math.max(...rows.map(([path]) => path.length));
    const lines = rows.map(
      ([path, gas, bound]) =>
        `  ${path.padEnd(width)}  ${gas.toLocaleString("en-US").padStart(9)}  ${`< ${bound.toLocaleString("en-US")}`.padStart(9)}`,
    );
    console.log(
      [`\n  ${"path".padEnd(width)}  ${"gas".padStart(9)}  ${"bound".padStart(9)}`, ...lines].join("\n") + "\n",
    );
  });

  it("allocate: the first IPv4 /24 in an empty registry", async function () {
    const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
    const gas = await gasOf(
      registry.connect(registrar1).allocate(...onChain("192.0.2.0/24"), alice.address, ALICE_ASN),
    );
    record("allocate IPv4 /24, empty registry", gas, BOUNDS.allocateFirst);
  });

  it("allocate: an IPv4 /24 where /24s are in use", async function () {
    const { registry, registrar1, bob } = await loadFixture(deployForGas);
    const gas = await gasOf(registry.connect(registrar1).allocate(...onChain("192.0.2.0/24"), bob.address, BOB_ASN));
    record("allocate IPv4 /24", gas, BOUNDS.allocate);
  });

  it("delegate: an IPv4 /24 out of a /16", async function () {
    const { registry, alice, bob } = await loadFixture(deployForGas);
    const gas = await gasOf(registry.connect(alice).delegate(...onChain("10.1.2.0/24"), bob.address, BOB_ASN));
    record("delegate IPv4 /24 out of a /16", gas, BOUNDS.delegate);
  });

  it(`allocateBatch: ${BATCH_SIZE} IPv4 /24s, per prefix`, async function () {
    const { registry, registrar1, bob } = await loadFixture(deployForGas);
    const batch = Array.from({ length: BATCH_SIZE }, (_, i) => {
      const [network, prefixLength] = onChain(`198.51.${i}.0/24`);
      return { network, prefixLength, holder: bob.address, originAsn: BOB_ASN };
    });
    const gas = await gasOf(registry.connect(registrar1).allocateBatch(batch));
    expect(await registry.prefixCount()).to.equal(BigInt(3 + BATCH_SIZE));
    record(`allocateBatch of ${BATCH_SIZE}, per prefix`, gas / BigInt(BATCH_SIZE), BOUNDS.batchPerPrefix);
  });

  describe("isHolder inside a transaction, over the same bookkeeping without it", function () {
    /** Gas of HolderProbe.probe less that of HolderProbe.record, each from the fixture's state. */
    async function overhead(fixture: () => Promise<GasProbe>, account: string, text: string, expected: boolean) {
      const [network, length] = onChain(text);
      const { probe } = await loadFixture(fixture);
      expect(await probe.probe.staticCall(account, network, length)).to.equal(expected);
      const baseline = await gasOf(probe.record(account, network, length, expected));
      await loadFixture(fixture);
      const withCall = await gasOf(probe.probe(account, network, length));
      expect(await probe.lastHeld()).to.equal(expected);
      return withCall - baseline;
    }

    it("for a /24 with nothing inside, held", async function () {
      const { alice } = await loadFixture(deployForGas);
      const gas = await overhead(deployForGas, alice.address, "10.2.0.0/24", true);
      record("isHolder in tx: /24 held", gas, BOUNDS.isHolderOverhead);
    });

    it("for a /25 inside a held /16", async function () {
      const { alice } = await loadFixture(deployForGas);
      const gas = await overhead(deployForGas, alice.address, "10.1.2.0/25", true);
      record("isHolder in tx: /25 inside a /16", gas, BOUNDS.isHolderOverhead);
    });

    it("for a /16 with a /17 of the holder's own inside, proved by probing", async function () {
      const { alice } = await loadFixture(deployWithOwnSubPrefix);
      const gas = await overhead(deployWithOwnSubPrefix, alice.address, "10.1.0.0/16", true);
      record("isHolder in tx: /16 with own /17 inside", gas, BOUNDS.isHolderProvedByProbing);
    });

    it("for a prefix someone else holds", async function () {
      const { bob } = await loadFixture(deployForGas);
      const gas = await overhead(deployForGas, bob.address, "10.2.0.0/24", false);
      record("isHolder in tx: not held", gas, BOUNDS.isHolderOverhead);
    });
  });
});

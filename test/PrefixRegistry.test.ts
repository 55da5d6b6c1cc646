import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import { parseAddress } from "../src/prefix";
import {
  ALICE_ASN,
  BOB_ASN,
  CAROL_ASN,
  NO_ROUTE,
  deployFoundation,
  deployWithParticipants,
  expectedRoute,
  onChain,
  plainRoute,
} from "./helpers/fixtures";
import type { Foundation } from "./helpers/fixtures";

const NONE = 0n;
const ACTIVE = 1n;
const SUSPENDED = 2n;
const RESERVED_ASNS = [0, 23456, 65535, 4294967295];
const ASSIGNABLE_EDGE_ASNS = [1, 65536, 4294967294];
const UNASSIGNED_ASN = 64999;

/** The bitmap of registeredLengths with the bits of the given lengths set. */
function lengthBits(...lengths: number[]): bigint {
  return lengths.reduce((bitmap, length) => bitmap | (1n << BigInt(length)), 0n);
}

/** Participants, plus 10.0.0.0/8 allocated to alice and 2001:db8::/32 allocated to bob. */
async function deployWithPrefixes(): Promise<Foundation> {
  const foundation = await deployWithParticipants();
  const { registry, registrar1, alice, bob } = foundation;
  await registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN);
  await registry.connect(registrar1).allocate(...onChain("2001:db8::/32"), bob.address, BOB_ASN);
  return foundation;
}

/** deployWithPrefixes, then alice delegates 10.1.0.0/16 to bob, who delegates 10.1.2.0/24 to carol. */
async function deployWithDelegations(): Promise<Foundation> {
  const foundation = await deployWithPrefixes();
  const { registry, alice, bob, carol } = foundation;
  await registry.connect(alice).delegate(...onChain("10.1.0.0/16"), bob.address, BOB_ASN);
  await registry.connect(bob).delegate(...onChain("10.1.2.0/24"), carol.address, CAROL_ASN);
  return foundation;
}

describe("PrefixRegistry", function () {
  describe("#constructor", function () {
    describe("when the admin is the zero address", function () {
      it("reverts with PrefixRegistryZeroAddress", async function () {
        const factory = await ethers.getContractFactory("PrefixRegistry");
        await expect(factory.deploy(ethers.ZeroAddress, [])).to.be.revertedWithCustomError(
          factory,
          "PrefixRegistryZeroAddress",
        );
      });
    });

    describe("when deployed", function () {
      it("grants the admin role to admin and the registrar role to the registrars", async function () {
        const { registry, admin, registrar1, registrar2 } = await loadFixture(deployFoundation);
        const registrarRole = await registry.REGISTRAR_ROLE();
        expect(registrarRole).to.equal(ethers.id("REGISTRAR_ROLE"));
        expect(await registry.hasRole(await registry.DEFAULT_ADMIN_ROLE(), admin.address)).to.be.true;
        expect(await registry.hasRole(registrarRole, registrar1.address)).to.be.true;
        expect(await registry.hasRole(registrarRole, registrar2.address)).to.be.true;
        expect(await registry.hasRole(registrarRole, admin.address)).to.be.false;
      });

      it("starts empty", async function () {
        const { registry } = await loadFixture(deployFoundation);
        expect(await registry.prefixCount()).to.equal(0n);
        expect(await registry.registeredLengths()).to.equal(0n);
      });
    });
  });

  describe("#grantRole", function () {
    describe("when the admin grants the registrar role", function () {
      it("emits RoleGranted and lets the new registrar register participants", async function () {
        const { registry, admin, carol, outsider } = await loadFixture(deployFoundation);
        const registrarRole = await registry.REGISTRAR_ROLE();
        await expect(registry.connect(admin).grantRole(registrarRole, carol.address))
          .to.emit(registry, "RoleGranted")
          .withArgs(registrarRole, carol.address, admin.address);
        await expect(registry.connect(carol).registerParticipant(outsider.address, "Outsider Ltd", ""))
          .to.emit(registry, "ParticipantRegistered")
          .withArgs(outsider.address, "Outsider Ltd", "", carol.address);
      });
    });

    describe("when a registrar grants the registrar role", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, registrar1, carol } = await loadFixture(deployFoundation);
        await expect(registry.connect(registrar1).grantRole(await registry.REGISTRAR_ROLE(), carol.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(registrar1.address, await registry.DEFAULT_ADMIN_ROLE());
      });
    });
  });

  describe("#revokeRole", function () {
    describe("when the admin revokes a registrar", function () {
      it("emits RoleRevoked and stops the former registrar from allocating", async function () {
        const { registry, admin, registrar2, alice } = await loadFixture(deployWithParticipants);
        const registrarRole = await registry.REGISTRAR_ROLE();
        await expect(registry.connect(admin).revokeRole(registrarRole, registrar2.address))
          .to.emit(registry, "RoleRevoked")
          .withArgs(registrarRole, registrar2.address, admin.address);
        await expect(registry.connect(registrar2).allocate(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(registrar2.address, registrarRole);
      });
    });
  });

  describe("#registerParticipant", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, admin, alice } = await loadFixture(deployFoundation);
        await expect(registry.connect(admin).registerParticipant(alice.address, "Alice Networks", ""))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(admin.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the account is the zero address", function () {
      it("reverts with PrefixRegistryZeroAddress", async function () {
        const { registry, registrar1 } = await loadFixture(deployFoundation);
        await expect(
          registry.connect(registrar1).registerParticipant(ethers.ZeroAddress, "Nobody", ""),
        ).to.be.revertedWithCustomError(registry, "PrefixRegistryZeroAddress");
      });
    });

    describe("when the name is empty", function () {
      it("reverts with PrefixRegistryEmptyName", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployFoundation);
        await expect(registry.connect(registrar1).registerParticipant(alice.address, "", "ipfs://x"))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryEmptyName")
          .withArgs(alice.address);
      });
    });

    describe("when the account is already registered", function () {
      it("reverts with PrefixRegistryAlreadyRegistered", async function () {
        const { registry, registrar2, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar2).registerParticipant(alice.address, "Alice Again", ""))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryAlreadyRegistered")
          .withArgs(alice.address);
      });

      it("reverts with PrefixRegistryAlreadyRegistered while it is suspended", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        await expect(registry.connect(registrar1).registerParticipant(alice.address, "Alice Again", ""))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryAlreadyRegistered")
          .withArgs(alice.address);
      });
    });

    describe("when a registrar registers a new account", function () {
      it("emits ParticipantRegistered", async function () {
        const { registry, registrar2, outsider } = await loadFixture(deployFoundation);
        await expect(registry.connect(registrar2).registerParticipant(outsider.address, "Newcomer", "ipfs://new"))
          .to.emit(registry, "ParticipantRegistered")
          .withArgs(outsider.address, "Newcomer", "ipfs://new", registrar2.address);
      });

      it("makes it an active participant with that identity", async function () {
        const { registry, registrar1, outsider } = await loadFixture(deployFoundation);
        await registry.connect(registrar1).registerParticipant(outsider.address, "Newcomer", "ipfs://new");
        expect(await registry.participantStatus(outsider.address)).to.equal(ACTIVE);
        expect(await registry.participant(outsider.address)).to.deep.equal([ACTIVE, "Newcomer", "ipfs://new"]);
      });
    });
  });

  describe("#registerParticipantBatch", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, admin, alice } = await loadFixture(deployFoundation);
        await expect(
          registry
            .connect(admin)
            .registerParticipantBatch([{ account: alice.address, name: "Alice", metadataURI: "" }]),
        )
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(admin.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the batch is empty", function () {
      it("reverts with PrefixRegistryEmptyBatch", async function () {
        const { registry, registrar1 } = await loadFixture(deployFoundation);
        await expect(registry.connect(registrar1).registerParticipantBatch([])).to.be.revertedWithCustomError(
          registry,
          "PrefixRegistryEmptyBatch",
        );
      });
    });

    describe("when one entry is invalid", function () {
      it("reverts with that entry's error and registers none", async function () {
        const { registry, registrar1, outsider, carol } = await loadFixture(deployFoundation);
        const batch = [
          { account: outsider.address, name: "Newcomer", metadataURI: "" },
          { account: carol.address, name: "", metadataURI: "" },
        ];
        await expect(registry.connect(registrar1).registerParticipantBatch(batch))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryEmptyName")
          .withArgs(carol.address);
        expect(await registry.participantStatus(outsider.address)).to.equal(NONE);
      });
    });

    describe("when every entry is valid", function () {
      it("registers each, with an event each", async function () {
        const { registry, registrar2, outsider, carol } = await loadFixture(deployFoundation);
        const batch = [
          { account: outsider.address, name: "Newcomer", metadataURI: "ipfs://new" },
          { account: carol.address, name: "Carol Carriers", metadataURI: "" },
        ];
        await expect(registry.connect(registrar2).registerParticipantBatch(batch))
          .to.emit(registry, "ParticipantRegistered")
          .withArgs(outsider.address, "Newcomer", "ipfs://new", registrar2.address)
          .and.to.emit(registry, "ParticipantRegistered")
          .withArgs(carol.address, "Carol Carriers", "", registrar2.address);
        expect(await registry.participant(outsider.address)).to.deep.equal([ACTIVE, "Newcomer", "ipfs://new"]);
        expect(await registry.participant(carol.address)).to.deep.equal([ACTIVE, "Carol Carriers", ""]);
      });
    });
  });

  describe("#updateParticipant", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(alice).updateParticipant(alice.address, "Alice Renamed", ""))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the account is not a participant", function () {
      it("reverts with PrefixRegistryNotParticipant", async function () {
        const { registry, registrar1, outsider } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).updateParticipant(outsider.address, "Outsider", ""))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(outsider.address);
      });
    });

    describe("when the name is empty", function () {
      it("reverts with PrefixRegistryEmptyName", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).updateParticipant(alice.address, "", "ipfs://x"))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryEmptyName")
          .withArgs(alice.address);
      });
    });

    describe("when a registrar updates a participant", function () {
      it("emits ParticipantUpdated and replaces the identity", async function () {
        const { registry, registrar2, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar2).updateParticipant(alice.address, "Alice Renamed", "ipfs://v2"))
          .to.emit(registry, "ParticipantUpdated")
          .withArgs(alice.address, "Alice Renamed", "ipfs://v2", registrar2.address);
        expect(await registry.participant(alice.address)).to.deep.equal([ACTIVE, "Alice Renamed", "ipfs://v2"]);
      });

      it("keeps a suspended participant suspended", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        await registry.connect(registrar1).updateParticipant(alice.address, "Alice Renamed", "");
        expect(await registry.participant(alice.address)).to.deep.equal([SUSPENDED, "Alice Renamed", ""]);
      });
    });
  });

  describe("#suspendParticipant", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, bob, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(bob).suspendParticipant(alice.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(bob.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the account is not a participant", function () {
      it("reverts with PrefixRegistryNotParticipant", async function () {
        const { registry, registrar1, outsider } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).suspendParticipant(outsider.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(outsider.address);
      });
    });

    describe("when the participant is already suspended", function () {
      it("reverts with PrefixRegistryParticipantSuspended", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        await expect(registry.connect(registrar1).suspendParticipant(alice.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantSuspended")
          .withArgs(alice.address);
      });
    });

    describe("when a registrar suspends an active participant", function () {
      it("emits ParticipantSuspended and sets the status", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).suspendParticipant(alice.address))
          .to.emit(registry, "ParticipantSuspended")
          .withArgs(alice.address, registrar1.address);
        expect(await registry.participantStatus(alice.address)).to.equal(SUSPENDED);
      });

      it("leaves its prefixes and AS numbers with it", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithPrefixes);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        expect(await registry.holderOf(...onChain("10.0.0.0/8"))).to.equal(alice.address);
        expect(await registry.asnHolder(ALICE_ASN)).to.equal(alice.address);
      });
    });
  });

  describe("#reinstateParticipant", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        await expect(registry.connect(alice).reinstateParticipant(alice.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the participant is active", function () {
      it("reverts with PrefixRegistryParticipantNotSuspended", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).reinstateParticipant(alice.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantNotSuspended")
          .withArgs(alice.address);
      });
    });

    describe("when the account is not a participant", function () {
      it("reverts with PrefixRegistryParticipantNotSuspended", async function () {
        const { registry, registrar1, outsider } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).reinstateParticipant(outsider.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantNotSuspended")
          .withArgs(outsider.address);
      });
    });

    describe("when a registrar reinstates a suspended participant", function () {
      it("emits ParticipantReinstated and lets it act again", async function () {
        const { registry, registrar1, registrar2, alice, bob } = await loadFixture(deployWithPrefixes);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        await expect(registry.connect(registrar2).reinstateParticipant(alice.address))
          .to.emit(registry, "ParticipantReinstated")
          .withArgs(alice.address, registrar2.address);
        expect(await registry.participantStatus(alice.address)).to.equal(ACTIVE);
        await expect(registry.connect(alice).delegate(...onChain("10.1.0.0/16"), bob.address, BOB_ASN)).to.emit(
          registry,
          "PrefixDelegated",
        );
      });
    });
  });

  describe("#participant", function () {
    describe("when the account was never registered", function () {
      it("returns None and an empty identity", async function () {
        const { registry, outsider } = await loadFixture(deployWithParticipants);
        expect(await registry.participantStatus(outsider.address)).to.equal(NONE);
        expect(await registry.participant(outsider.address)).to.deep.equal([NONE, "", ""]);
      });
    });

    describe("when the account is registered", function () {
      it("returns its status, name and metadata URI", async function () {
        const { registry, bob } = await loadFixture(deployWithParticipants);
        expect(await registry.participant(bob.address)).to.deep.equal([ACTIVE, "Bob Transit", "ipfs://Bob Transit"]);
      });
    });
  });

  describe("#assignAsnBatch", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(alice).assignAsnBatch([{ asn: UNASSIGNED_ASN, holder: alice.address }]))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the batch is empty", function () {
      it("reverts with PrefixRegistryEmptyBatch", async function () {
        const { registry, registrar1 } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).assignAsnBatch([])).to.be.revertedWithCustomError(
          registry,
          "PrefixRegistryEmptyBatch",
        );
      });
    });

    describe("when one entry is a reserved AS number", function () {
      it("reverts with PrefixRegistryReservedAsn and assigns none", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        const batch = [
          { asn: UNASSIGNED_ASN, holder: alice.address },
          { asn: 23456, holder: alice.address },
        ];
        await expect(registry.connect(registrar1).assignAsnBatch(batch))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryReservedAsn")
          .withArgs(23456);
        expect(await registry.asnHolder(UNASSIGNED_ASN)).to.equal(ethers.ZeroAddress);
      });
    });

    describe("when every entry is valid", function () {
      it("assigns each, with an event each", async function () {
        const { registry, registrar1, alice, bob } = await loadFixture(deployWithParticipants);
        const batch = [
          { asn: UNASSIGNED_ASN, holder: alice.address },
          { asn: 4200000000, holder: bob.address },
        ];
        await expect(registry.connect(registrar1).assignAsnBatch(batch))
          .to.emit(registry, "AsnAssigned")
          .withArgs(UNASSIGNED_ASN, alice.address, registrar1.address)
          .and.to.emit(registry, "AsnAssigned")
          .withArgs(4200000000, bob.address, registrar1.address);
        expect(await registry.asnHolder(UNASSIGNED_ASN)).to.equal(alice.address);
        expect(await registry.asnHolder(4200000000)).to.equal(bob.address);
      });
    });
  });

  describe("#assignAsn", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(alice).assignAsn(UNASSIGNED_ASN, alice.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, await registry.REGISTRAR_ROLE());
      });
    });

    for (const asn of RESERVED_ASNS) {
      describe(`when the AS number is the reserved AS${asn}`, function () {
        it("reverts with PrefixRegistryReservedAsn", async function () {
          const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
          await expect(registry.connect(registrar1).assignAsn(asn, alice.address))
            .to.be.revertedWithCustomError(registry, "PrefixRegistryReservedAsn")
            .withArgs(asn);
        });
      });
    }

    for (const asn of ASSIGNABLE_EDGE_ASNS) {
      describe(`when the AS number is AS${asn}, next to a reserved one`, function () {
        it("emits AsnAssigned and records the holder", async function () {
          const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
          await expect(registry.connect(registrar1).assignAsn(asn, alice.address))
            .to.emit(registry, "AsnAssigned")
            .withArgs(asn, alice.address, registrar1.address);
          expect(await registry.asnHolder(asn)).to.equal(alice.address);
        });
      });
    }

    describe("when the AS number is already assigned", function () {
      it("reverts with PrefixRegistryAsnAlreadyAssigned", async function () {
        const { registry, registrar2, alice, bob } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar2).assignAsn(ALICE_ASN, bob.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryAsnAlreadyAssigned")
          .withArgs(ALICE_ASN, alice.address);
      });
    });

    describe("when the holder is not a participant", function () {
      it("reverts with PrefixRegistryNotParticipant", async function () {
        const { registry, registrar1, outsider } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).assignAsn(UNASSIGNED_ASN, outsider.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(outsider.address);
      });

      it("reverts with PrefixRegistryNotParticipant for the zero address", async function () {
        const { registry, registrar1 } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).assignAsn(UNASSIGNED_ASN, ethers.ZeroAddress))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(ethers.ZeroAddress);
      });
    });

    describe("when the holder is suspended", function () {
      it("reverts with PrefixRegistryParticipantSuspended", async function () {
        const { registry, registrar1, bob } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).suspendParticipant(bob.address);
        await expect(registry.connect(registrar1).assignAsn(UNASSIGNED_ASN, bob.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantSuspended")
          .withArgs(bob.address);
      });
    });
  });

  describe("#transferAsn", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(alice).transferAsn(ALICE_ASN, bob.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the AS number is not assigned", function () {
      it("reverts with PrefixRegistryAsnNotAssigned", async function () {
        const { registry, registrar1, bob } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).transferAsn(UNASSIGNED_ASN, bob.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryAsnNotAssigned")
          .withArgs(UNASSIGNED_ASN);
      });
    });

    describe("when the new holder is not a participant", function () {
      it("reverts with PrefixRegistryNotParticipant", async function () {
        const { registry, registrar1, outsider } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).transferAsn(ALICE_ASN, outsider.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(outsider.address);
      });
    });

    describe("when the new holder is suspended", function () {
      it("reverts with PrefixRegistryParticipantSuspended", async function () {
        const { registry, registrar1, bob } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).suspendParticipant(bob.address);
        await expect(registry.connect(registrar1).transferAsn(ALICE_ASN, bob.address))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantSuspended")
          .withArgs(bob.address);
      });
    });

    describe("when a registrar moves an assigned AS number", function () {
      it("emits AsnTransferred and records the new holder", async function () {
        const { registry, registrar2, alice, bob } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar2).transferAsn(ALICE_ASN, bob.address))
          .to.emit(registry, "AsnTransferred")
          .withArgs(ALICE_ASN, alice.address, bob.address);
        expect(await registry.asnHolder(ALICE_ASN)).to.equal(bob.address);
      });
    });
  });

  describe("#revokeAsn", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(alice).revokeAsn(ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the AS number is not assigned", function () {
      it("reverts with PrefixRegistryAsnNotAssigned", async function () {
        const { registry, registrar1 } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).revokeAsn(UNASSIGNED_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryAsnNotAssigned")
          .withArgs(UNASSIGNED_ASN);
      });
    });

    describe("when a registrar takes an AS number back", function () {
      it("emits AsnRevoked and clears the holder", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).revokeAsn(ALICE_ASN))
          .to.emit(registry, "AsnRevoked")
          .withArgs(ALICE_ASN, alice.address, registrar1.address);
        expect(await registry.asnHolder(ALICE_ASN)).to.equal(ethers.ZeroAddress);
      });

      it("leaves it as the origin AS of the prefixes that name it", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithPrefixes);
        await registry.connect(registrar1).revokeAsn(ALICE_ASN);
        expect(plainRoute(await registry.prefix(...onChain("10.0.0.0/8")))).to.deep.equal(
          expectedRoute("10.0.0.0/8", ALICE_ASN, alice.address, false),
        );
      });

      it("lets it be assigned again", async function () {
        const { registry, registrar1, bob } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).revokeAsn(ALICE_ASN);
        await expect(registry.connect(registrar1).assignAsn(ALICE_ASN, bob.address))
          .to.emit(registry, "AsnAssigned")
          .withArgs(ALICE_ASN, bob.address, registrar1.address);
      });
    });
  });

  describe("#allocate", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(alice).allocate(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the length exceeds 128", function () {
      for (const length of [129, 255]) {
        it(`reverts with PrefixRegistryInvalidLength for /${length}`, async function () {
          const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
          await expect(registry.connect(registrar1).allocate(0n, length, alice.address, ALICE_ASN))
            .to.be.revertedWithCustomError(registry, "PrefixRegistryInvalidLength")
            .withArgs(length);
        });
      }
    });

    describe("when host bits are set", function () {
      it("reverts with PrefixRegistryHostBitsSet for 10.0.0.1/24", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        const network = parseAddress("10.0.0.1");
        await expect(registry.connect(registrar1).allocate(network, 120, alice.address, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryHostBitsSet")
          .withArgs(network, 120);
      });

      it("reverts with PrefixRegistryHostBitsSet for anything but :: at /0", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).allocate(1n, 0, alice.address, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryHostBitsSet")
          .withArgs(1n, 0);
      });
    });

    for (const asn of RESERVED_ASNS) {
      describe(`when the origin is the reserved AS${asn}`, function () {
        it("reverts with PrefixRegistryReservedAsn", async function () {
          const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
          await expect(registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), alice.address, asn))
            .to.be.revertedWithCustomError(registry, "PrefixRegistryReservedAsn")
            .withArgs(asn);
        });
      });
    }

    describe("when the holder is not a participant", function () {
      it("reverts with PrefixRegistryNotParticipant", async function () {
        const { registry, registrar1, outsider } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), outsider.address, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(outsider.address);
      });

      it("reverts with PrefixRegistryNotParticipant for the zero address", async function () {
        const { registry, registrar1 } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), ethers.ZeroAddress, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(ethers.ZeroAddress);
      });
    });

    describe("when the holder is suspended", function () {
      it("reverts with PrefixRegistryParticipantSuspended", async function () {
        const { registry, registrar1, carol } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).suspendParticipant(carol.address);
        await expect(registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), carol.address, CAROL_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantSuspended")
          .withArgs(carol.address);
      });
    });

    describe("when the prefix is already registered", function () {
      it("reverts with PrefixRegistryPrefixAlreadyRegistered, naming its holder", async function () {
        const { registry, registrar2, alice, carol } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(registrar2).allocate(...onChain("10.0.0.0/8"), carol.address, CAROL_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryPrefixAlreadyRegistered")
          .withArgs(...onChain("10.0.0.0/8"), alice.address);
      });

      it('reverts for "::ffff:10.0.0.0/104", the IPv4-mapped spelling of 10.0.0.0/8', async function () {
        const { registry, registrar2, alice, carol } = await loadFixture(deployWithPrefixes);
        expect(onChain("::ffff:10.0.0.0/104")).to.deep.equal(onChain("10.0.0.0/8"));
        await expect(registry.connect(registrar2).allocate(...onChain("::ffff:10.0.0.0/104"), carol.address, CAROL_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryPrefixAlreadyRegistered")
          .withArgs(...onChain("10.0.0.0/8"), alice.address);
      });

      it("reverts when the prefix was delegated", async function () {
        const { registry, registrar1, bob, carol } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(registrar1).allocate(...onChain("10.1.0.0/16"), carol.address, CAROL_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryPrefixAlreadyRegistered")
          .withArgs(...onChain("10.1.0.0/16"), bob.address);
      });
    });

    describe("when a registrar allocates an IPv4 prefix", function () {
      it("emits PrefixAllocated with the prefix at length 96 + n", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        const [network, length] = onChain("192.0.2.0/24");
        expect(length).to.equal(120);
        await expect(registry.connect(registrar1).allocate(network, length, alice.address, ALICE_ASN))
          .to.emit(registry, "PrefixAllocated")
          .withArgs(network, 120, alice.address, ALICE_ASN);
      });

      it("registers it, not delegated", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).allocate(...onChain("192.0.2.0/24"), alice.address, ALICE_ASN);
        expect(plainRoute(await registry.prefix(...onChain("192.0.2.0/24")))).to.deep.equal(
          expectedRoute("192.0.2.0/24", ALICE_ASN, alice.address, false),
        );
        expect(await registry.prefixCount()).to.equal(1n);
        expect(await registry.registeredLengths()).to.equal(lengthBits(120));
        expect(await registry.holderOf(...onChain("192.0.2.128/25"))).to.equal(alice.address);
      });
    });

    describe("when a registrar allocates an IPv6 prefix", function () {
      it("emits PrefixAllocated and registers it", async function () {
        const { registry, registrar2, bob } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar2).allocate(...onChain("2001:db8::/32"), bob.address, BOB_ASN))
          .to.emit(registry, "PrefixAllocated")
          .withArgs(...onChain("2001:db8::/32"), bob.address, BOB_ASN);
        expect(plainRoute(await registry.prefix(...onChain("2001:db8::/32")))).to.deep.equal(
          expectedRoute("2001:db8::/32", BOB_ASN, bob.address, false),
        );
        expect(await registry.registeredLengths()).to.equal(lengthBits(32));
      });
    });

    describe("when the prefix lies inside another participant's prefix", function () {
      it("allocates the more-specific prefix, which then decides the holder inside it", async function () {
        const { registry, registrar1, alice, carol } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(registrar1).allocate(...onChain("10.9.0.0/16"), carol.address, CAROL_ASN))
          .to.emit(registry, "PrefixAllocated")
          .withArgs(...onChain("10.9.0.0/16"), carol.address, CAROL_ASN);
        expect(await registry.holderOf(...onChain("10.9.9.0/24"))).to.equal(carol.address);
        expect(await registry.holderOf(...onChain("10.8.0.0/16"))).to.equal(alice.address);
      });
    });

    describe("when the prefix is the default route or a host route", function () {
      it("allocates ::/0 and an IPv4 /32", async function () {
        const { registry, registrar1, alice, bob } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).allocate(...onChain("::/0"), alice.address, ALICE_ASN);
        await registry.connect(registrar1).allocate(...onChain("192.0.2.1/32"), bob.address, BOB_ASN);
        expect(await registry.registeredLengths()).to.equal(lengthBits(0, 128));
        expect(await registry.holderOf(...onChain("192.0.2.1/32"))).to.equal(bob.address);
        expect(await registry.holderOf(...onChain("192.0.2.2/32"))).to.equal(alice.address);
      });
    });
  });

  describe("#allocateBatch", function () {
    describe("when the caller is not a registrar", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { registry, alice } = await loadFixture(deployWithParticipants);
        const [network, prefixLength] = onChain("10.0.0.0/8");
        await expect(
          registry
            .connect(alice)
            .allocateBatch([{ network, prefixLength, holder: alice.address, originAsn: ALICE_ASN }]),
        )
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, await registry.REGISTRAR_ROLE());
      });
    });

    describe("when the batch is empty", function () {
      it("reverts with PrefixRegistryEmptyBatch", async function () {
        const { registry, registrar1 } = await loadFixture(deployWithParticipants);
        await expect(registry.connect(registrar1).allocateBatch([])).to.be.revertedWithCustomError(
          registry,
          "PrefixRegistryEmptyBatch",
        );
      });
    });

    describe("when every entry is valid", function () {
      it("emits PrefixAllocated for each, IPv4 and IPv6, nested or not", async function () {
        const { registry, registrar1, alice, bob, carol } = await loadFixture(deployWithParticipants);
        const entries = [
          { text: "10.0.0.0/8", holder: alice.address, originAsn: ALICE_ASN },
          { text: "10.1.0.0/16", holder: carol.address, originAsn: CAROL_ASN },
          { text: "2001:db8::/32", holder: bob.address, originAsn: BOB_ASN },
        ];
        const batch = entries.map(({ text, holder, originAsn }) => {
          const [network, prefixLength] = onChain(text);
          return { network, prefixLength, holder, originAsn };
        });
        await expect(registry.connect(registrar1).allocateBatch(batch))
          .to.emit(registry, "PrefixAllocated")
          .withArgs(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN)
          .and.to.emit(registry, "PrefixAllocated")
          .withArgs(...onChain("10.1.0.0/16"), carol.address, CAROL_ASN)
          .and.to.emit(registry, "PrefixAllocated")
          .withArgs(...onChain("2001:db8::/32"), bob.address, BOB_ASN);
        expect(await registry.prefixCount()).to.equal(3n);
        expect(await registry.registeredLengths()).to.equal(lengthBits(32, 104, 112));
        expect(await registry.holderOf(...onChain("10.1.2.0/24"))).to.equal(carol.address);
      });

      it("stores a batch of 100", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        const batch = Array.from({ length: 100 }, (_, i) => {
          const [network, prefixLength] = onChain(`10.0.${i}.0/24`);
          return { network, prefixLength, holder: alice.address, originAsn: ALICE_ASN };
        });
        await registry.connect(registrar1).allocateBatch(batch);
        expect(await registry.prefixCount()).to.equal(100n);
        expect(await registry.holderOf(...onChain("10.0.99.0/24"))).to.equal(alice.address);
        expect(await registry.holderOf(...onChain("10.0.100.0/24"))).to.equal(ethers.ZeroAddress);
      });
    });

    describe("when an entry is invalid", function () {
      it("reverts the whole batch with that entry's error, storing nothing", async function () {
        const { registry, registrar1, alice, bob } = await loadFixture(deployWithParticipants);
        const [validNetwork, validLength] = onChain("10.0.0.0/8");
        const badNetwork = parseAddress("192.0.2.1");
        const batch = [
          { network: validNetwork, prefixLength: validLength, holder: alice.address, originAsn: ALICE_ASN },
          { network: badNetwork, prefixLength: 120, holder: bob.address, originAsn: BOB_ASN },
          { network: onChain("2001:db8::/32")[0], prefixLength: 32, holder: bob.address, originAsn: BOB_ASN },
        ];
        await expect(registry.connect(registrar1).allocateBatch(batch))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryHostBitsSet")
          .withArgs(badNetwork, 120);
        expect(await registry.prefixCount()).to.equal(0n);
        expect(await registry.registeredLengths()).to.equal(0n);
        expect(plainRoute(await registry.prefix(validNetwork, validLength))).to.deep.equal(NO_ROUTE);
      });

      it("reverts with PrefixRegistryPrefixAlreadyRegistered when it repeats an earlier entry", async function () {
        const { registry, registrar1, alice, bob } = await loadFixture(deployWithParticipants);
        const [network, prefixLength] = onChain("10.0.0.0/8");
        const batch = [
          { network, prefixLength, holder: alice.address, originAsn: ALICE_ASN },
          { network, prefixLength, holder: bob.address, originAsn: BOB_ASN },
        ];
        await expect(registry.connect(registrar1).allocateBatch(batch))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryPrefixAlreadyRegistered")
          .withArgs(network, prefixLength, alice.address);
        expect(await registry.prefixCount()).to.equal(0n);
      });

      it("reverts with PrefixRegistryNotParticipant when a holder is not a participant", async function () {
        const { registry, registrar1, alice, outsider } = await loadFixture(deployWithParticipants);
        const batch = ["10.0.0.0/8", "11.0.0.0/8"].map((text, i) => {
          const [network, prefixLength] = onChain(text);
          return { network, prefixLength, holder: i === 0 ? alice.address : outsider.address, originAsn: ALICE_ASN };
        });
        await expect(registry.connect(registrar1).allocateBatch(batch))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(outsider.address);
        expect(await registry.holderOf(...onChain("10.0.0.0/8"))).to.equal(ethers.ZeroAddress);
      });
    });
  });

  describe("#delegate", function () {
    describe("when the length exceeds 128", function () {
      it("reverts with PrefixRegistryInvalidLength", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).delegate(0n, 129, bob.address, BOB_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryInvalidLength")
          .withArgs(129);
      });
    });

    describe("when host bits are set", function () {
      it("reverts with PrefixRegistryHostBitsSet", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        const network = parseAddress("10.1.0.1");
        await expect(registry.connect(alice).delegate(network, 112, bob.address, BOB_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryHostBitsSet")
          .withArgs(network, 112);
      });
    });

    describe("when the caller is not a participant", function () {
      it("reverts with PrefixRegistryNotParticipant", async function () {
        const { registry, outsider, bob } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(outsider).delegate(...onChain("10.1.0.0/16"), bob.address, BOB_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(outsider.address);
      });
    });

    describe("when the caller is suspended", function () {
      it("reverts with PrefixRegistryParticipantSuspended", async function () {
        const { registry, registrar1, alice, bob } = await loadFixture(deployWithPrefixes);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        await expect(registry.connect(alice).delegate(...onChain("10.1.0.0/16"), bob.address, BOB_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantSuspended")
          .withArgs(alice.address);
      });
    });

    describe("when no registered prefix covers the delegation", function () {
      it("reverts with PrefixRegistryNotHolder, naming no holder", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).delegate(...onChain("11.0.0.0/16"), bob.address, BOB_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotHolder")
          .withArgs(alice.address, ...onChain("11.0.0.0/16"), ethers.ZeroAddress);
      });
    });

    describe("when the delegation lies inside someone else's prefix", function () {
      it("reverts with PrefixRegistryNotHolder, naming the actual holder", async function () {
        const { registry, alice, carol } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(carol).delegate(...onChain("10.1.0.0/16"), carol.address, CAROL_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotHolder")
          .withArgs(carol.address, ...onChain("10.1.0.0/16"), alice.address);
      });

      it("reverts with PrefixRegistryNotHolder for a prefix wider than the one held", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).delegate(...onChain("10.0.0.0/7"), bob.address, BOB_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotHolder")
          .withArgs(alice.address, ...onChain("10.0.0.0/7"), ethers.ZeroAddress);
      });
    });

    describe("when the delegator delegated the covering sub-prefix away", function () {
      it("reverts with PrefixRegistryNotHolder, naming the delegatee", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(alice).delegate(...onChain("10.1.9.0/24"), alice.address, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotHolder")
          .withArgs(alice.address, ...onChain("10.1.9.0/24"), bob.address);
      });
    });

    describe("when the delegation is the held prefix itself", function () {
      it("reverts with PrefixRegistryPrefixAlreadyRegistered", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).delegate(...onChain("10.0.0.0/8"), bob.address, BOB_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryPrefixAlreadyRegistered")
          .withArgs(...onChain("10.0.0.0/8"), alice.address);
      });
    });

    describe("when the recipient is not a participant", function () {
      it("reverts with PrefixRegistryNotParticipant", async function () {
        const { registry, alice, outsider } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).delegate(...onChain("10.1.0.0/16"), outsider.address, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotParticipant")
          .withArgs(outsider.address);
      });
    });

    describe("when the recipient is suspended", function () {
      it("reverts with PrefixRegistryParticipantSuspended", async function () {
        const { registry, registrar1, alice, carol } = await loadFixture(deployWithPrefixes);
        await registry.connect(registrar1).suspendParticipant(carol.address);
        await expect(registry.connect(alice).delegate(...onChain("10.1.0.0/16"), carol.address, CAROL_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantSuspended")
          .withArgs(carol.address);
      });
    });

    describe("when the origin AS is reserved", function () {
      it("reverts with PrefixRegistryReservedAsn", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).delegate(...onChain("10.1.0.0/16"), bob.address, 23456))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryReservedAsn")
          .withArgs(23456);
      });
    });

    describe("when the holder delegates inside its IPv4 prefix", function () {
      it("emits PrefixDelegated", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).delegate(...onChain("10.1.0.0/16"), bob.address, BOB_ASN))
          .to.emit(registry, "PrefixDelegated")
          .withArgs(...onChain("10.1.0.0/16"), alice.address, bob.address, BOB_ASN);
      });

      it("registers the delegation, and makes the recipient the holder inside it only", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        await registry.connect(alice).delegate(...onChain("10.1.0.0/16"), bob.address, BOB_ASN);
        expect(plainRoute(await registry.prefix(...onChain("10.1.0.0/16")))).to.deep.equal(
          expectedRoute("10.1.0.0/16", BOB_ASN, bob.address, true),
        );
        expect(await registry.holderOf(...onChain("10.1.2.0/24"))).to.equal(bob.address);
        expect(await registry.holderOf(...onChain("10.2.0.0/16"))).to.equal(alice.address);
        expect(await registry.holderOf(...onChain("10.0.0.0/8"))).to.equal(alice.address);
        expect(await registry.prefixCount()).to.equal(3n);
      });
    });

    describe("when the holder delegates inside its IPv6 prefix", function () {
      it("emits PrefixDelegated and registers the delegation", async function () {
        const { registry, bob, carol } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(bob).delegate(...onChain("2001:db8:8000::/33"), carol.address, CAROL_ASN))
          .to.emit(registry, "PrefixDelegated")
          .withArgs(...onChain("2001:db8:8000::/33"), bob.address, carol.address, CAROL_ASN);
        expect(await registry.holderOf(...onChain("2001:db8:ffff::/48"))).to.equal(carol.address);
        expect(await registry.holderOf(...onChain("2001:db8:7fff::/48"))).to.equal(bob.address);
      });
    });

    describe("when the delegatee delegates further", function () {
      it("emits PrefixDelegated from the delegatee", async function () {
        const { registry, alice, bob, carol } = await loadFixture(deployWithPrefixes);
        await registry.connect(alice).delegate(...onChain("10.1.0.0/16"), bob.address, BOB_ASN);
        await expect(registry.connect(bob).delegate(...onChain("10.1.2.0/24"), carol.address, CAROL_ASN))
          .to.emit(registry, "PrefixDelegated")
          .withArgs(...onChain("10.1.2.0/24"), bob.address, carol.address, CAROL_ASN);
        expect(await registry.holderOf(...onChain("10.1.2.128/25"))).to.equal(carol.address);
      });
    });

    describe("when the holder of a registrar's more-specific allocation delegates out of it", function () {
      it("emits PrefixDelegated, though the allocation lies inside another holder's prefix", async function () {
        const { registry, registrar1, bob, carol } = await loadFixture(deployWithPrefixes);
        await registry.connect(registrar1).allocate(...onChain("10.9.0.0/16"), carol.address, CAROL_ASN);
        await expect(registry.connect(carol).delegate(...onChain("10.9.1.0/24"), bob.address, BOB_ASN))
          .to.emit(registry, "PrefixDelegated")
          .withArgs(...onChain("10.9.1.0/24"), carol.address, bob.address, BOB_ASN);
      });
    });
  });

  describe("#revoke", function () {
    describe("when the length exceeds 128", function () {
      it("reverts with PrefixRegistryInvalidLength", async function () {
        const { registry, registrar1 } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(registrar1).revoke(0n, 200))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryInvalidLength")
          .withArgs(200);
      });
    });

    describe("when host bits are set", function () {
      it("reverts with PrefixRegistryHostBitsSet", async function () {
        const { registry, registrar1 } = await loadFixture(deployWithDelegations);
        const network = parseAddress("10.0.0.1");
        await expect(registry.connect(registrar1).revoke(network, 104))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryHostBitsSet")
          .withArgs(network, 104);
      });
    });

    describe("when the prefix is not registered", function () {
      it("reverts with PrefixRegistryPrefixNotRegistered", async function () {
        const { registry, registrar1 } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(registrar1).revoke(...onChain("10.2.0.0/16")))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryPrefixNotRegistered")
          .withArgs(...onChain("10.2.0.0/16"));
      });
    });

    describe("when a registrar revokes an allocation", function () {
      it("emits PrefixRevoked and removes it", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(registrar1).revoke(...onChain("10.0.0.0/8")))
          .to.emit(registry, "PrefixRevoked")
          .withArgs(...onChain("10.0.0.0/8"), alice.address, registrar1.address);
        expect(plainRoute(await registry.prefix(...onChain("10.0.0.0/8")))).to.deep.equal(NO_ROUTE);
        expect(await registry.holderOf(...onChain("10.2.0.0/16"))).to.equal(ethers.ZeroAddress);
        expect(await registry.prefixCount()).to.equal(3n);
      });

      it("leaves the delegations made out of it", async function () {
        const { registry, registrar1, bob, carol } = await loadFixture(deployWithDelegations);
        await registry.connect(registrar1).revoke(...onChain("10.0.0.0/8"));
        expect(await registry.holderOf(...onChain("10.1.0.0/16"))).to.equal(bob.address);
        expect(await registry.holderOf(...onChain("10.1.2.0/24"))).to.equal(carol.address);
      });

      it("lets the prefix be allocated afresh", async function () {
        const { registry, registrar1, carol } = await loadFixture(deployWithDelegations);
        await registry.connect(registrar1).revoke(...onChain("10.1.0.0/16"));
        await registry.connect(registrar1).allocate(...onChain("10.1.0.0/16"), carol.address, CAROL_ASN);
        expect(plainRoute(await registry.prefix(...onChain("10.1.0.0/16")))).to.deep.equal(
          expectedRoute("10.1.0.0/16", CAROL_ASN, carol.address, false),
        );
      });
    });

    describe("when a registrar revokes a delegation", function () {
      it("emits PrefixRevoked and hands the addresses back to the covering holder", async function () {
        const { registry, registrar2, bob, carol } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(registrar2).revoke(...onChain("10.1.2.0/24")))
          .to.emit(registry, "PrefixRevoked")
          .withArgs(...onChain("10.1.2.0/24"), carol.address, registrar2.address);
        expect(await registry.holderOf(...onChain("10.1.2.0/24"))).to.equal(bob.address);
      });
    });

    describe("when the holder of the covering prefix revokes a delegation", function () {
      it("emits PrefixRevoked, by the covering holder", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(alice).revoke(...onChain("10.1.0.0/16")))
          .to.emit(registry, "PrefixRevoked")
          .withArgs(...onChain("10.1.0.0/16"), bob.address, alice.address);
        expect(await registry.holderOf(...onChain("10.1.0.0/16"))).to.equal(alice.address);
      });

      it("lets a delegatee revoke what it delegated further", async function () {
        const { registry, bob, carol } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(bob).revoke(...onChain("10.1.2.0/24")))
          .to.emit(registry, "PrefixRevoked")
          .withArgs(...onChain("10.1.2.0/24"), carol.address, bob.address);
      });
    });

    describe("when the revoked delegation had delegations of its own", function () {
      it("keeps them, under the next covering prefix", async function () {
        const { registry, alice, carol } = await loadFixture(deployWithDelegations);
        await registry.connect(alice).revoke(...onChain("10.1.0.0/16"));
        expect(plainRoute(await registry.prefix(...onChain("10.1.2.0/24")))).to.deep.equal(
          expectedRoute("10.1.2.0/24", CAROL_ASN, carol.address, true),
        );
        const [found, covering] = await registry.coveringPrefix(...onChain("10.1.0.0/16"));
        expect(found).to.be.true;
        expect(plainRoute(covering)).to.deep.equal(expectedRoute("10.0.0.0/8", ALICE_ASN, alice.address, false));
      });

      it("lets the next covering holder revoke them, and no longer the former one", async function () {
        const { registry, registrar1, alice, bob, carol } = await loadFixture(deployWithDelegations);
        await registry.connect(registrar1).revoke(...onChain("10.1.0.0/16"));
        await expect(registry.connect(bob).revoke(...onChain("10.1.2.0/24")))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotRevoker")
          .withArgs(bob.address, ...onChain("10.1.2.0/24"));
        await expect(registry.connect(alice).revoke(...onChain("10.1.2.0/24")))
          .to.emit(registry, "PrefixRevoked")
          .withArgs(...onChain("10.1.2.0/24"), carol.address, alice.address);
      });
    });

    describe("when no prefix covers a delegation any more", function () {
      it("reverts with PrefixRegistryNotRevoker for a holder, while a registrar can still revoke it", async function () {
        const { registry, registrar1, alice, carol } = await loadFixture(deployWithDelegations);
        await registry.connect(registrar1).revoke(...onChain("10.1.0.0/16"));
        await registry.connect(registrar1).revoke(...onChain("10.0.0.0/8"));
        await expect(registry.connect(alice).revoke(...onChain("10.1.2.0/24")))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotRevoker")
          .withArgs(alice.address, ...onChain("10.1.2.0/24"));
        await expect(registry.connect(registrar1).revoke(...onChain("10.1.2.0/24")))
          .to.emit(registry, "PrefixRevoked")
          .withArgs(...onChain("10.1.2.0/24"), carol.address, registrar1.address);
      });
    });

    describe("when the caller holds a prefix above the covering one", function () {
      it("reverts with PrefixRegistryNotRevoker", async function () {
        const { registry, alice } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(alice).revoke(...onChain("10.1.2.0/24")))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotRevoker")
          .withArgs(alice.address, ...onChain("10.1.2.0/24"));
      });
    });

    describe("when the delegatee revokes its own delegation", function () {
      it("reverts with PrefixRegistryNotRevoker", async function () {
        const { registry, bob } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(bob).revoke(...onChain("10.1.0.0/16")))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotRevoker")
          .withArgs(bob.address, ...onChain("10.1.0.0/16"));
      });
    });

    describe("when an outsider revokes a delegation", function () {
      it("reverts with PrefixRegistryNotRevoker", async function () {
        const { registry, outsider } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(outsider).revoke(...onChain("10.1.0.0/16")))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotRevoker")
          .withArgs(outsider.address, ...onChain("10.1.0.0/16"));
      });
    });

    describe("when a holder revokes a registrar's allocation", function () {
      it("reverts with PrefixRegistryNotRevoker for its own allocation", async function () {
        const { registry, alice } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(alice).revoke(...onChain("10.0.0.0/8")))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotRevoker")
          .withArgs(alice.address, ...onChain("10.0.0.0/8"));
      });

      it("reverts with PrefixRegistryNotRevoker for a more-specific allocation inside its prefix", async function () {
        const { registry, registrar1, alice, carol } = await loadFixture(deployWithPrefixes);
        await registry.connect(registrar1).allocate(...onChain("10.9.0.0/16"), carol.address, CAROL_ASN);
        await expect(registry.connect(alice).revoke(...onChain("10.9.0.0/16")))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotRevoker")
          .withArgs(alice.address, ...onChain("10.9.0.0/16"));
      });
    });

    describe("when the covering holder is suspended", function () {
      it("reverts with PrefixRegistryParticipantSuspended", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithDelegations);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        await expect(registry.connect(alice).revoke(...onChain("10.1.0.0/16")))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantSuspended")
          .withArgs(alice.address);
      });
    });
  });

  describe("#setOrigin", function () {
    describe("when the length exceeds 128", function () {
      it("reverts with PrefixRegistryInvalidLength", async function () {
        const { registry, alice } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).setOrigin(0n, 129, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryInvalidLength")
          .withArgs(129);
      });
    });

    describe("when host bits are set", function () {
      it("reverts with PrefixRegistryHostBitsSet", async function () {
        const { registry, alice } = await loadFixture(deployWithPrefixes);
        const network = parseAddress("10.0.0.1");
        await expect(registry.connect(alice).setOrigin(network, 104, ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryHostBitsSet")
          .withArgs(network, 104);
      });
    });

    for (const asn of RESERVED_ASNS) {
      describe(`when the new origin is the reserved AS${asn}`, function () {
        it("reverts with PrefixRegistryReservedAsn", async function () {
          const { registry, alice } = await loadFixture(deployWithPrefixes);
          await expect(registry.connect(alice).setOrigin(...onChain("10.0.0.0/8"), asn))
            .to.be.revertedWithCustomError(registry, "PrefixRegistryReservedAsn")
            .withArgs(asn);
        });
      });
    }

    describe("when the prefix is not registered", function () {
      it("reverts with PrefixRegistryPrefixNotRegistered, even inside a held prefix", async function () {
        const { registry, alice } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).setOrigin(...onChain("10.1.0.0/16"), ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryPrefixNotRegistered")
          .withArgs(...onChain("10.1.0.0/16"));
      });
    });

    describe("when the caller does not hold the prefix", function () {
      it("reverts with PrefixRegistryNotHolder, naming the holder", async function () {
        const { registry, alice, outsider } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(outsider).setOrigin(...onChain("10.0.0.0/8"), 64510))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotHolder")
          .withArgs(outsider.address, ...onChain("10.0.0.0/8"), alice.address);
      });

      it("reverts with PrefixRegistryNotHolder for the holder of the covering prefix", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(alice).setOrigin(...onChain("10.1.0.0/16"), ALICE_ASN))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryNotHolder")
          .withArgs(alice.address, ...onChain("10.1.0.0/16"), bob.address);
      });
    });

    describe("when the holder is suspended", function () {
      it("reverts with PrefixRegistryParticipantSuspended", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithPrefixes);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        await expect(registry.connect(alice).setOrigin(...onChain("10.0.0.0/8"), 64510))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryParticipantSuspended")
          .withArgs(alice.address);
      });
    });

    describe("when the holder sets a new origin", function () {
      it("emits PrefixOriginChanged and records it", async function () {
        const { registry, alice } = await loadFixture(deployWithPrefixes);
        await expect(registry.connect(alice).setOrigin(...onChain("10.0.0.0/8"), 65536))
          .to.emit(registry, "PrefixOriginChanged")
          .withArgs(...onChain("10.0.0.0/8"), ALICE_ASN, 65536);
        expect(plainRoute(await registry.prefix(...onChain("10.0.0.0/8")))).to.deep.equal(
          expectedRoute("10.0.0.0/8", 65536, alice.address, false),
        );
      });

      it("lets a delegatee set the origin of its delegation", async function () {
        const { registry, carol } = await loadFixture(deployWithDelegations);
        await expect(registry.connect(carol).setOrigin(...onChain("10.1.2.0/24"), 64510))
          .to.emit(registry, "PrefixOriginChanged")
          .withArgs(...onChain("10.1.2.0/24"), CAROL_ASN, 64510);
      });
    });
  });

  describe("#prefix", function () {
    describe("when the prefix is not registered", function () {
      it("returns an empty route", async function () {
        const { registry } = await loadFixture(deployWithDelegations);
        expect(plainRoute(await registry.prefix(...onChain("10.2.0.0/16")))).to.deep.equal(NO_ROUTE);
      });
    });

    describe("when the prefix is registered", function () {
      it("returns it, whether allocated or delegated", async function () {
        const { registry, bob } = await loadFixture(deployWithDelegations);
        expect(plainRoute(await registry.prefix(...onChain("2001:db8::/32")))).to.deep.equal(
          expectedRoute("2001:db8::/32", BOB_ASN, bob.address, false),
        );
        expect(plainRoute(await registry.prefix(...onChain("10.1.0.0/16")))).to.deep.equal(
          expectedRoute("10.1.0.0/16", BOB_ASN, bob.address, true),
        );
      });
    });

    describe("when the prefix is malformed", function () {
      it("reverts with PrefixRegistryInvalidLength or PrefixRegistryHostBitsSet", async function () {
        const { registry } = await loadFixture(deployWithDelegations);
        await expect(registry.prefix(0n, 129))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryInvalidLength")
          .withArgs(129);
        const network = parseAddress("10.1.0.1");
        await expect(registry.prefix(network, 112))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryHostBitsSet")
          .withArgs(network, 112);
      });
    });
  });

  describe("#lookup", function () {
    async function lookup(foundation: Foundation, address: string) {
      const [found, route] = await foundation.registry.lookup(parseAddress(address));
      return { found, route: plainRoute(route) };
    }

    describe("when nothing is registered", function () {
      it("finds nothing", async function () {
        const foundation = await loadFixture(deployWithParticipants);
        expect(await lookup(foundation, "10.0.0.1")).to.deep.equal({ found: false, route: NO_ROUTE });
      });
    });

    describe("when prefixes are nested", function () {
      it("returns the most specific prefix containing the address", async function () {
        const foundation = await loadFixture(deployWithDelegations);
        const { alice, bob, carol } = foundation;
        expect(await lookup(foundation, "10.1.2.3")).to.deep.equal({
          found: true,
          route: expectedRoute("10.1.2.0/24", CAROL_ASN, carol.address, true),
        });
        expect(await lookup(foundation, "10.1.3.3")).to.deep.equal({
          found: true,
          route: expectedRoute("10.1.0.0/16", BOB_ASN, bob.address, true),
        });
        expect(await lookup(foundation, "10.200.0.1")).to.deep.equal({
          found: true,
          route: expectedRoute("10.0.0.0/8", ALICE_ASN, alice.address, false),
        });
      });

      it("matches the first and last addresses of a prefix, and not their neighbours", async function () {
        const foundation = await loadFixture(deployWithDelegations);
        for (const inside of ["10.0.0.0", "10.255.255.255", "10.1.2.0", "10.1.2.255"]) {
          expect((await lookup(foundation, inside)).found, inside).to.be.true;
        }
        for (const outside of ["9.255.255.255", "11.0.0.0"]) {
          expect((await lookup(foundation, outside)).found, outside).to.be.false;
        }
        expect((await lookup(foundation, "10.1.1.255")).route.length).to.equal(112);
        expect((await lookup(foundation, "10.1.3.0")).route.length).to.equal(112);
      });

      it("matches IPv6 addresses", async function () {
        const foundation = await loadFixture(deployWithDelegations);
        expect(await lookup(foundation, "2001:db8::1")).to.deep.equal({
          found: true,
          route: expectedRoute("2001:db8::/32", BOB_ASN, foundation.bob.address, false),
        });
        expect((await lookup(foundation, "2001:db9::")).found).to.be.false;
        expect((await lookup(foundation, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")).found).to.be.false;
      });
    });

    describe("when a prefix is revoked", function () {
      it("falls back to the next covering prefix", async function () {
        const foundation = await loadFixture(deployWithDelegations);
        const { registry, registrar1, bob } = foundation;
        await registry.connect(registrar1).revoke(...onChain("10.1.2.0/24"));
        expect(await lookup(foundation, "10.1.2.3")).to.deep.equal({
          found: true,
          route: expectedRoute("10.1.0.0/16", BOB_ASN, bob.address, true),
        });
      });
    });

    describe("when a default route and a host route are registered", function () {
      it("returns the host route for its address and the default route for every other", async function () {
        const foundation = await loadFixture(deployWithDelegations);
        const { registry, registrar1, alice, carol } = foundation;
        await registry.connect(registrar1).allocate(...onChain("::/0"), carol.address, CAROL_ASN);
        await registry.connect(registrar1).allocate(...onChain("10.1.2.3/32"), alice.address, ALICE_ASN);
        expect((await lookup(foundation, "10.1.2.3")).route).to.deep.equal(
          expectedRoute("10.1.2.3/32", ALICE_ASN, alice.address, false),
        );
        expect((await lookup(foundation, "10.1.2.4")).route.length).to.equal(120);
        for (const elsewhere of ["11.0.0.1", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]) {
          expect((await lookup(foundation, elsewhere)).route, elsewhere).to.deep.equal(
            expectedRoute("::/0", CAROL_ASN, carol.address, false),
          );
        }
      });
    });

    describe("when an IPv6 prefix covers the IPv4-mapped space", function () {
      it("matches IPv4 addresses, which live at ::ffff:0:0/96", async function () {
        const foundation = await loadFixture(deployWithParticipants);
        const { registry, registrar1, carol } = foundation;
        await registry.connect(registrar1).allocate(...onChain("::/80"), carol.address, CAROL_ASN);
        expect((await lookup(foundation, "192.0.2.1")).route).to.deep.equal(
          expectedRoute("::/80", CAROL_ASN, carol.address, false),
        );
      });
    });
  });

  describe("#coveringPrefix", function () {
    describe("when the prefix itself is registered", function () {
      it("returns the prefix itself", async function () {
        const { registry, bob } = await loadFixture(deployWithDelegations);
        const [found, route] = await registry.coveringPrefix(...onChain("10.1.0.0/16"));
        expect(found).to.be.true;
        expect(plainRoute(route)).to.deep.equal(expectedRoute("10.1.0.0/16", BOB_ASN, bob.address, true));
      });
    });

    describe("when a shorter registered prefix covers it", function () {
      it("returns the most specific one", async function () {
        const { registry, bob } = await loadFixture(deployWithDelegations);
        const [found, route] = await registry.coveringPrefix(...onChain("10.1.128.0/17"));
        expect(found).to.be.true;
        expect(plainRoute(route)).to.deep.equal(expectedRoute("10.1.0.0/16", BOB_ASN, bob.address, true));
      });

      it("ignores the more-specific prefixes inside it", async function () {
        const { registry, alice } = await loadFixture(deployWithDelegations);
        const [, route] = await registry.coveringPrefix(...onChain("10.0.0.0/8"));
        expect(plainRoute(route)).to.deep.equal(expectedRoute("10.0.0.0/8", ALICE_ASN, alice.address, false));
      });
    });

    describe("when no registered prefix covers all of it", function () {
      it("finds nothing", async function () {
        const { registry } = await loadFixture(deployWithDelegations);
        const [found, route] = await registry.coveringPrefix(...onChain("10.0.0.0/7"));
        expect(found).to.be.false;
        expect(plainRoute(route)).to.deep.equal(NO_ROUTE);
      });
    });

    describe("when the prefix is malformed", function () {
      it("reverts with PrefixRegistryInvalidLength or PrefixRegistryHostBitsSet", async function () {
        const { registry } = await loadFixture(deployWithDelegations);
        await expect(registry.coveringPrefix(0n, 129))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryInvalidLength")
          .withArgs(129);
        const network = parseAddress("10.1.2.1");
        await expect(registry.coveringPrefix(network, 120))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryHostBitsSet")
          .withArgs(network, 120);
      });
    });
  });

  describe("#holderOf", function () {
    describe("when a registered prefix covers it", function () {
      it("returns the holder of the most specific one", async function () {
        const { registry, alice, bob, carol } = await loadFixture(deployWithDelegations);
        expect(await registry.holderOf(...onChain("10.0.0.0/8"))).to.equal(alice.address);
        expect(await registry.holderOf(...onChain("10.1.0.0/16"))).to.equal(bob.address);
        expect(await registry.holderOf(...onChain("10.1.2.0/25"))).to.equal(carol.address);
        expect(await registry.holderOf(...onChain("2001:db8:1::/48"))).to.equal(bob.address);
      });
    });

    describe("when nothing covers it", function () {
      it("returns the zero address", async function () {
        const { registry } = await loadFixture(deployWithDelegations);
        expect(await registry.holderOf(...onChain("11.0.0.0/8"))).to.equal(ethers.ZeroAddress);
        expect(await registry.holderOf(...onChain("::/0"))).to.equal(ethers.ZeroAddress);
      });
    });

    describe("when the prefix is malformed", function () {
      it("reverts with PrefixRegistryInvalidLength or PrefixRegistryHostBitsSet", async function () {
        const { registry } = await loadFixture(deployWithDelegations);
        await expect(registry.holderOf(0n, 129))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryInvalidLength")
          .withArgs(129);
        await expect(registry.holderOf(1n, 127))
          .to.be.revertedWithCustomError(registry, "PrefixRegistryHostBitsSet")
          .withArgs(1n, 127);
      });
    });
  });

  describe("#isHolder", function () {
    describe("when the account holds all of the prefix", function () {
      it("returns true for the prefix and any part of it", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/8"))).to.be.true;
        expect(await registry.isHolder(alice.address, ...onChain("10.1.2.0/24"))).to.be.true;
        expect(await registry.isHolder(alice.address, ...onChain("10.1.2.3/32"))).to.be.true;
        expect(await registry.isHolder(bob.address, ...onChain("2001:db8::/32"))).to.be.true;
      });
    });

    describe("when someone else holds the prefix", function () {
      it("returns false", async function () {
        const { registry, alice, bob, outsider } = await loadFixture(deployWithPrefixes);
        expect(await registry.isHolder(bob.address, ...onChain("10.0.0.0/8"))).to.be.false;
        expect(await registry.isHolder(outsider.address, ...onChain("10.1.0.0/16"))).to.be.false;
        expect(await registry.isHolder(alice.address, ...onChain("2001:db8::/48"))).to.be.false;
      });
    });

    describe("when nothing covers the prefix", function () {
      it("returns false, also for the zero address", async function () {
        const { registry, alice } = await loadFixture(deployWithPrefixes);
        expect(await registry.isHolder(alice.address, ...onChain("11.0.0.0/8"))).to.be.false;
        expect(await registry.isHolder(ethers.ZeroAddress, ...onChain("11.0.0.0/8"))).to.be.false;
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/7"))).to.be.false;
      });
    });

    describe("when the prefix is malformed", function () {
      it("returns false rather than reverting", async function () {
        const { registry, alice } = await loadFixture(deployWithPrefixes);
        expect(await registry.isHolder(alice.address, parseAddress("10.0.0.1"), 104)).to.be.false;
        expect(await registry.isHolder(alice.address, 0n, 129)).to.be.false;
        expect(await registry.isHolder(alice.address, 0n, 255)).to.be.false;
      });
    });

    describe("when part of the prefix is delegated to someone else", function () {
      it("returns false for the whole, and true for the parts each holds", async function () {
        const { registry, alice, bob, carol } = await loadFixture(deployWithDelegations);
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/8"))).to.be.false;
        expect(await registry.isHolder(alice.address, ...onChain("10.2.0.0/24"))).to.be.true;
        expect(await registry.isHolder(bob.address, ...onChain("10.1.0.0/16"))).to.be.false;
        expect(await registry.isHolder(bob.address, ...onChain("10.1.3.0/24"))).to.be.true;
        expect(await registry.isHolder(carol.address, ...onChain("10.1.2.0/24"))).to.be.true;
      });

      it("returns false for a target with a foreign prefix inside, and true beside it", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithPrefixes);
        await registry.connect(alice).delegate(...onChain("10.3.128.0/17"), bob.address, BOB_ASN);
        expect(await registry.isHolder(alice.address, ...onChain("10.3.0.0/16"))).to.be.false;
        expect(await registry.isHolder(alice.address, ...onChain("10.3.0.0/17"))).to.be.true;
        expect(await registry.isHolder(alice.address, ...onChain("10.2.0.0/15"))).to.be.false;
        expect(await registry.isHolder(alice.address, ...onChain("10.4.0.0/14"))).to.be.true;
      });

      it("returns true again once the delegation is revoked", async function () {
        const { registry, alice } = await loadFixture(deployWithDelegations);
        await registry.connect(alice).revoke(...onChain("10.1.0.0/16"));
        // carol's /24 is still inside.
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/8"))).to.be.false;
        await registry.connect(alice).revoke(...onChain("10.1.2.0/24"));
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/8"))).to.be.true;
      });
    });

    describe("when part of the prefix is delegated to the holder itself", function () {
      it("returns true for the whole", async function () {
        const { registry, alice } = await loadFixture(deployWithPrefixes);
        await registry.connect(alice).delegate(...onChain("10.3.128.0/17"), alice.address, 64510);
        expect(await registry.isHolder(alice.address, ...onChain("10.3.0.0/16"))).to.be.true;
      });

      it("returns true for a broad aggregate with a self-delegation far below it", async function () {
        const { registry, alice } = await loadFixture(deployWithPrefixes);
        await registry.connect(alice).delegate(...onChain("10.3.0.0/16"), alice.address, 64510);
        await registry.connect(alice).delegate(...onChain("10.3.7.9/32"), alice.address, 64510);
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/8"))).to.be.true;
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/12"))).to.be.true;
      });
    });

    describe("when an unrelated participant delegates elsewhere (audit finding 1)", function () {
      it("still returns true for a target the account holds in full", async function () {
        const { registry, registrar1, alice, bob, carol } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).allocate(...onChain("10.0.0.0/16"), alice.address, ALICE_ASN);
        await registry.connect(alice).delegate(...onChain("10.0.5.0/24"), carol.address, CAROL_ASN);
        await registry.connect(registrar1).allocate(...onChain("192.0.2.0/24"), bob.address, BOB_ASN);
        expect(await registry.isHolder(alice.address, ...onChain("10.0.16.0/20"))).to.be.true;
        // Someone else's /32 elsewhere puts every IPv4 length from /16 to /32 in use.
        await registry.connect(bob).delegate(...onChain("192.0.2.7/32"), carol.address, CAROL_ASN);
        expect(await registry.isHolder(alice.address, ...onChain("10.0.16.0/20"))).to.be.true;
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/20"))).to.be.false;
      });
    });

    describe("when a prefix is registered without a parent while longer ones exist (audit finding 2)", function () {
      it("returns true for a fresh allocation, a re-allocation, and a prefix whose only sub-prefix went", async function () {
        const { registry, registrar1, alice, bob } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN);
        await registry.connect(alice).delegate(...onChain("10.1.2.3/32"), bob.address, BOB_ASN);
        await registry.connect(registrar1).allocate(...onChain("2001:db8::/32"), bob.address, BOB_ASN);
        await registry.connect(bob).delegate(...onChain("2001:db8::1/128"), alice.address, ALICE_ASN);
        // A fresh allocation with nothing inside, in each family.
        await registry.connect(registrar1).allocate(...onChain("172.16.0.0/16"), bob.address, BOB_ASN);
        await registry.connect(registrar1).allocate(...onChain("3fff::/20"), alice.address, ALICE_ASN);
        expect(await registry.isHolder(bob.address, ...onChain("172.16.0.0/16"))).to.be.true;
        expect(await registry.isHolder(alice.address, ...onChain("3fff::/20"))).to.be.true;
        // Revoked and allocated again.
        await registry.connect(registrar1).revoke(...onChain("172.16.0.0/16"));
        await registry.connect(registrar1).allocate(...onChain("172.16.0.0/16"), alice.address, ALICE_ASN);
        expect(await registry.isHolder(alice.address, ...onChain("172.16.0.0/16"))).to.be.true;
        // Its only sub-prefix revoked.
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/8"))).to.be.false;
        await registry.connect(alice).revoke(...onChain("10.1.2.3/32"));
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/8"))).to.be.true;
      });
    });

    describe("when the target is IPv6 and IPv4 prefixes are registered at many lengths", function () {
      it("answers for the target's own family", async function () {
        const { registry, alice, bob } = await loadFixture(deployWithDelegations);
        await registry.connect(alice).delegate(...onChain("10.9.9.9/32"), alice.address, ALICE_ASN);
        await registry.connect(bob).delegate(...onChain("2001:db8:8000::/33"), bob.address, BOB_ASN);
        expect(await registry.isHolder(bob.address, ...onChain("2001:db8::/32"))).to.be.true;
      });
    });

    describe("when the holder is suspended", function () {
      it("still returns true: the status is the caller's to check", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithPrefixes);
        await registry.connect(registrar1).suspendParticipant(alice.address);
        expect(await registry.isHolder(alice.address, ...onChain("10.0.0.0/8"))).to.be.true;
      });
    });
  });

  describe("#holderStatus", function () {
    it("returns the account's status and whether it holds all of the prefix", async function () {
      const { registry, registrar1, alice, bob, outsider } = await loadFixture(deployWithDelegations);
      expect(await registry.holderStatus(alice.address, ...onChain("10.2.0.0/24"))).to.deep.equal([ACTIVE, true]);
      expect(await registry.holderStatus(alice.address, ...onChain("10.0.0.0/8"))).to.deep.equal([ACTIVE, false]);
      expect(await registry.holderStatus(outsider.address, ...onChain("10.0.0.0/8"))).to.deep.equal([NONE, false]);
      await registry.connect(registrar1).suspendParticipant(bob.address);
      expect(await registry.holderStatus(bob.address, ...onChain("10.1.3.0/24"))).to.deep.equal([SUSPENDED, true]);
    });
  });

  describe("#registeredLengths", function () {
    describe("when prefixes come and go", function () {
      it("sets a length's bit with its first prefix and keeps it after its last", async function () {
        const { registry, registrar1, alice } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN);
        expect(await registry.registeredLengths()).to.equal(lengthBits(104));
        await registry.connect(alice).delegate(...onChain("10.1.0.0/16"), alice.address, ALICE_ASN);
        await registry.connect(alice).delegate(...onChain("10.2.0.0/16"), alice.address, ALICE_ASN);
        expect(await registry.registeredLengths()).to.equal(lengthBits(104, 112));
        await registry.connect(alice).revoke(...onChain("10.1.0.0/16"));
        await registry.connect(registrar1).revoke(...onChain("10.2.0.0/16"));
        await registry.connect(registrar1).revoke(...onChain("10.0.0.0/8"));
        // A stale length costs a lookup one read, never a wrong answer.
        expect(await registry.registeredLengths()).to.equal(lengthBits(104, 112));
        expect((await registry.lookup(parseAddress("10.1.2.3")))[0]).to.be.false;
      });
    });

    describe("when IPv4 and IPv6 prefixes share a length", function () {
      it("sets one bit for both", async function () {
        const { registry, registrar1, alice, bob } = await loadFixture(deployWithParticipants);
        await registry.connect(registrar1).allocate(...onChain("192.0.2.0/24"), alice.address, ALICE_ASN);
        await registry.connect(registrar1).allocate(...onChain("2001:db8::/120"), bob.address, BOB_ASN);
        expect(await registry.registeredLengths()).to.equal(lengthBits(120));
      });
    });

    describe("when only IPv6 prefixes are registered", function () {
      it("reports each at its own length and no other", async function () {
        const { registry, registrar1, bob } = await loadFixture(deployWithParticipants);
        for (const text of ["2001:db8::/33", "2001:db8:1::/48", "2001:db8:2::/64", "2001:db8:3::1/128"]) {
          await registry.connect(registrar1).allocate(...onChain(text), bob.address, BOB_ASN);
        }
        expect(await registry.registeredLengths()).to.equal(lengthBits(33, 48, 64, 128));
      });
    });
  });

  describe("#prefixCount", function () {
    it("counts allocations, batches and delegations, less revocations", async function () {
      const { registry, registrar1, alice, bob } = await loadFixture(deployWithParticipants);
      await registry.connect(registrar1).allocate(...onChain("10.0.0.0/8"), alice.address, ALICE_ASN);
      const batch = ["11.0.0.0/8", "12.0.0.0/8"].map((text) => {
        const [network, prefixLength] = onChain(text);
        return { network, prefixLength, holder: bob.address, originAsn: BOB_ASN };
      });
      await registry.connect(registrar1).allocateBatch(batch);
      await registry.connect(alice).delegate(...onChain("10.1.0.0/16"), bob.address, BOB_ASN);
      expect(await registry.prefixCount()).to.equal(4n);
      await registry.connect(alice).revoke(...onChain("10.1.0.0/16"));
      await registry.connect(registrar1).revoke(...onChain("11.0.0.0/8"));
      expect(await registry.prefixCount()).to.equal(2n);
    });
  });
});

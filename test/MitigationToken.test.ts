import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import type { MitigationToken } from "../typechain-types";
import { PERMIT_TYPES, permitDomain, signPermit, type PermitValues } from "../src/clients/permit";
import { TOKEN_NAME, TOKEN_SYMBOL, deployFoundation } from "./helpers/fixtures";

describe("MitigationToken", function () {
  async function deployWithBalances() {
    const foundation = await deployFoundation();
    const { token, minter, alice } = foundation;
    await token.connect(minter).mint(alice.address, ethers.parseEther("1000"));
    return foundation;
  }

  describe("#constructor", function () {
    it("sets name, symbol and 18 decimals, with no supply", async function () {
      const { token } = await loadFixture(deployFoundation);
      expect(await token.name()).to.equal(TOKEN_NAME);
      expect(await token.symbol()).to.equal(TOKEN_SYMBOL);
      expect(await token.decimals()).to.equal(18n);
      expect(await token.totalSupply()).to.equal(0n);
    });

    it("gives the admin role to admin and the minter role to minter only", async function () {
      const { token, admin, minter } = await loadFixture(deployFoundation);
      const [adminRole, minterRole] = [await token.DEFAULT_ADMIN_ROLE(), await token.MINTER_ROLE()];
      expect(minterRole).to.equal(ethers.id("MINTER_ROLE"));
      expect(await token.hasRole(adminRole, admin.address)).to.be.true;
      expect(await token.hasRole(minterRole, minter.address)).to.be.true;
      expect(await token.hasRole(minterRole, admin.address)).to.be.false;
      expect(await token.hasRole(adminRole, minter.address)).to.be.false;
      expect(await token.getRoleAdmin(minterRole)).to.equal(adminRole);
    });

    it("refuses the zero address as admin or minter (audit finding 6)", async function () {
      const { admin, minter } = await loadFixture(deployFoundation);
      const factory = await ethers.getContractFactory("MitigationToken");
      await expect(factory.deploy(TOKEN_NAME, TOKEN_SYMBOL, ethers.ZeroAddress, minter.address))
        .to.be.revertedWithCustomError(factory, "MitigationTokenZeroAddress")
        .withArgs(ethers.ZeroHash);
      await expect(factory.deploy(TOKEN_NAME, TOKEN_SYMBOL, admin.address, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, "MitigationTokenZeroAddress")
        .withArgs(ethers.id("MINTER_ROLE"));
    });
  });

  describe("#mint", function () {
    describe("when the caller is the minter", function () {
      it("creates tokens for the recipient", async function () {
        const { token, minter, alice } = await loadFixture(deployFoundation);
        const amount = ethers.parseEther("250");
        await expect(token.connect(minter).mint(alice.address, amount)).to.changeTokenBalances(
          token,
          [alice],
          [amount],
        );
        expect(await token.totalSupply()).to.equal(amount);
      });

      it("emits Transfer from the zero address", async function () {
        const { token, minter, alice } = await loadFixture(deployFoundation);
        await expect(token.connect(minter).mint(alice.address, 7n))
          .to.emit(token, "Transfer")
          .withArgs(ethers.ZeroAddress, alice.address, 7n);
      });
    });

    describe("when the caller is not a minter", function () {
      for (const who of ["admin", "alice", "outsider"] as const) {
        it(`reverts with AccessControlUnauthorizedAccount for ${who}`, async function () {
          const foundation = await loadFixture(deployFoundation);
          const { token } = foundation;
          const caller = foundation[who];
          await expect(token.connect(caller).mint(caller.address, 1n))
            .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
            .withArgs(caller.address, await token.MINTER_ROLE());
        });
      }
    });

    describe("when the recipient is the zero address", function () {
      it("reverts with ERC20InvalidReceiver", async function () {
        const { token, minter } = await loadFixture(deployFoundation);
        await expect(token.connect(minter).mint(ethers.ZeroAddress, 1n))
          .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
          .withArgs(ethers.ZeroAddress);
      });
    });
  });

  describe("#grantRole", function () {
    describe("when the admin grants the minter role", function () {
      it("emits RoleGranted and lets the grantee mint", async function () {
        const { token, admin, alice, bob } = await loadFixture(deployFoundation);
        const minterRole = await token.MINTER_ROLE();
        await expect(token.connect(admin).grantRole(minterRole, alice.address))
          .to.emit(token, "RoleGranted")
          .withArgs(minterRole, alice.address, admin.address);
        await expect(token.connect(alice).mint(bob.address, 5n)).to.changeTokenBalances(token, [bob], [5n]);
      });
    });

    describe("when the caller is not the admin", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { token, minter, alice } = await loadFixture(deployFoundation);
        await expect(token.connect(minter).grantRole(await token.MINTER_ROLE(), alice.address))
          .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
          .withArgs(minter.address, await token.DEFAULT_ADMIN_ROLE());
      });
    });
  });

  describe("#revokeRole", function () {
    describe("when the admin revokes the minter role", function () {
      it("emits RoleRevoked and stops the former minter", async function () {
        const { token, admin, minter } = await loadFixture(deployFoundation);
        const minterRole = await token.MINTER_ROLE();
        await expect(token.connect(admin).revokeRole(minterRole, minter.address))
          .to.emit(token, "RoleRevoked")
          .withArgs(minterRole, minter.address, admin.address);
        await expect(token.connect(minter).mint(minter.address, 1n))
          .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
          .withArgs(minter.address, minterRole);
      });
    });

    describe("when the caller is not the admin", function () {
      it("reverts with AccessControlUnauthorizedAccount", async function () {
        const { token, minter, alice } = await loadFixture(deployFoundation);
        await expect(token.connect(alice).revokeRole(await token.MINTER_ROLE(), minter.address))
          .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
          .withArgs(alice.address, await token.DEFAULT_ADMIN_ROLE());
      });
    });
  });

  describe("#renounceRole", function () {
    it("lets the minter give up minting", async function () {
      const { token, minter } = await loadFixture(deployFoundation);
      const minterRole = await token.MINTER_ROLE();
      await token.connect(minter).renounceRole(minterRole, minter.address);
      expect(await token.hasRole(minterRole, minter.address)).to.be.false;
    });
  });

  describe("#permit", function () {
    async function permitFor(token: MitigationToken, owner: HardhatEthersSigner, spender: HardhatEthersSigner) {
      const values: Required<PermitValues> = {
        owner: owner.address,
        spender: spender.address,
        value: ethers.parseEther("100"),
        nonce: await token.nonces(owner.address),
        deadline: BigInt(await time.latest()) + 3600n,
      };
      return values;
    }

    it("uses the EIP-712 domain of the token name, version 1", async function () {
      const { token } = await loadFixture(deployFoundation);
      const domain = await permitDomain(token, ethers.provider);
      expect(await token.DOMAIN_SEPARATOR()).to.equal(ethers.TypedDataEncoder.hashDomain(domain));
    });

    describe("when the owner signed it", function () {
      it("sets the allowance, emits Approval and uses up the nonce", async function () {
        const { token, alice, bob } = await loadFixture(deployWithBalances);
        const values = await permitFor(token, alice, bob);
        const { v, r, s } = await signPermit(token, alice, values);
        await expect(token.connect(bob).permit(alice.address, bob.address, values.value, values.deadline, v, r, s))
          .to.emit(token, "Approval")
          .withArgs(alice.address, bob.address, values.value);
        expect(await token.allowance(alice.address, bob.address)).to.equal(values.value);
        expect(await token.nonces(alice.address)).to.equal(values.nonce + 1n);
      });

      it("lets the spender transfer the owner's tokens", async function () {
        const { token, alice, bob, carol } = await loadFixture(deployWithBalances);
        const values = await permitFor(token, alice, bob);
        const { v, r, s } = await signPermit(token, alice, values);
        await token.connect(carol).permit(alice.address, bob.address, values.value, values.deadline, v, r, s);
        await expect(
          token.connect(bob).transferFrom(alice.address, carol.address, values.value),
        ).to.changeTokenBalances(token, [alice, carol], [-values.value, values.value]);
      });
    });

    describe("when the same signature is replayed", function () {
      it("reverts with ERC2612InvalidSigner, as the nonce moved on", async function () {
        const { token, alice, bob } = await loadFixture(deployWithBalances);
        const values = await permitFor(token, alice, bob);
        const { v, r, s } = await signPermit(token, alice, values);
        await token.permit(alice.address, bob.address, values.value, values.deadline, v, r, s);
        // The contract now hashes nonce + 1, so the signature recovers to some other address.
        const recovered = ethers.verifyTypedData(
          await permitDomain(token, ethers.provider),
          PERMIT_TYPES,
          { ...values, nonce: values.nonce + 1n },
          ethers.Signature.from({ v, r, s }),
        );
        expect(recovered).not.to.equal(alice.address);
        await expect(token.permit(alice.address, bob.address, values.value, values.deadline, v, r, s))
          .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
          .withArgs(recovered, alice.address);
      });
    });

    describe("when the deadline has passed", function () {
      it("reverts with ERC2612ExpiredSignature", async function () {
        const { token, alice, bob } = await loadFixture(deployWithBalances);
        const values = await permitFor(token, alice, bob);
        const { v, r, s } = await signPermit(token, alice, values);
        await time.increaseTo(values.deadline + 1n);
        await expect(token.permit(alice.address, bob.address, values.value, values.deadline, v, r, s))
          .to.be.revertedWithCustomError(token, "ERC2612ExpiredSignature")
          .withArgs(values.deadline);
      });
    });

    describe("when someone other than the owner signed it", function () {
      it("reverts with ERC2612InvalidSigner", async function () {
        const { token, alice, bob, outsider } = await loadFixture(deployWithBalances);
        const values = await permitFor(token, alice, bob);
        const { v, r, s } = await signPermit(token, outsider, values);
        await expect(token.permit(alice.address, bob.address, values.value, values.deadline, v, r, s))
          .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
          .withArgs(outsider.address, alice.address);
        expect(await token.allowance(alice.address, bob.address)).to.equal(0n);
      });
    });

    describe("when the call changes a signed value", function () {
      it("reverts with ERC2612InvalidSigner", async function () {
        const { token, alice, bob } = await loadFixture(deployWithBalances);
        const values = await permitFor(token, alice, bob);
        const { v, r, s } = await signPermit(token, alice, values);
        const inflated = values.value * 2n;
        const recovered = ethers.verifyTypedData(
          await permitDomain(token, ethers.provider),
          PERMIT_TYPES,
          { ...values, value: inflated },
          ethers.Signature.from({ v, r, s }),
        );
        await expect(token.permit(alice.address, bob.address, inflated, values.deadline, v, r, s))
          .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
          .withArgs(recovered, alice.address);
      });
    });
  });
});

import { expect } from "chai";
import { ethers } from "hardhat";
import {
  impersonateAccount,
  setBalance,
  stopImpersonatingAccount,
  time,
} from "@nomicfoundation/hardhat-network-helpers";

import { parseAddress } from "../src/prefix";
import { invariantsAfterEach } from "./helpers/invariants";
import {
  ASN,
  PREFIX,
  RequestStatus,
  deployMarket,
  ipPrefix,
  priceOf,
  requestIdOf,
  requestParams,
  prefixArgs,
  signPermit,
  structArgs,
} from "./helpers/marketFixtures";
import type { Market, RequestParamsStruct } from "./helpers/marketFixtures";

describe("ServiceDirectory", function () {
  const load = invariantsAfterEach();

  async function serviceAddresses(market: Market): Promise<[string, string, string]> {
    return [await market.service1.getAddress(), await market.service2.getAddress(), await market.service3.getAddress()];
  }

  describe("#constructor", function () {
    it("records the token and registry and deploys an uninitialised implementation bound to itself", async function () {
      const { directory, token, registry } = await load(deployMarket);
      expect(await directory.TOKEN()).to.equal(await token.getAddress());
      expect(await directory.REGISTRY()).to.equal(await registry.getAddress());
      const implementation = await ethers.getContractAt("ProviderServiceContract", await directory.IMPLEMENTATION());
      expect(await implementation.DIRECTORY()).to.equal(await directory.getAddress());
      expect(await implementation.TOKEN()).to.equal(await token.getAddress());
      expect(await implementation.REGISTRY()).to.equal(await registry.getAddress());
      expect(await implementation.getFunction("provider")()).to.equal(ethers.ZeroAddress);
    });
  });

  describe("#createService", function () {
    describe("when the caller is an active participant without a service", function () {
      it("clones the implementation at the predicted address and initialises it for the caller", async function () {
        const { directory, newcomer, token, registry } = await load(deployMarket);
        const predicted = await directory.predictServiceAddress(newcomer.address);
        expect(await ethers.provider.getCode(predicted)).to.equal("0x");

        await expect(directory.connect(newcomer).createService())
          .to.emit(directory, "ServiceCreated")
          .withArgs(newcomer.address, predicted);

        expect(await directory.serviceOf(newcomer.address)).to.equal(predicted);
        expect(await directory.providerOf(predicted)).to.equal(newcomer.address);
        expect(await directory.allServices()).to.have.lengthOf(4);
        expect((await directory.allServices())[3]).to.equal(predicted);
        // An EIP-1167 minimal proxy is 45 bytes of code.
        expect(ethers.dataLength(await ethers.provider.getCode(predicted))).to.equal(45);
        const service = await ethers.getContractAt("ProviderServiceContract", predicted);
        expect(await service.getFunction("provider")()).to.equal(newcomer.address);
        expect(await service.DIRECTORY()).to.equal(await directory.getAddress());
        expect(await service.TOKEN()).to.equal(await token.getAddress());
        expect(await service.REGISTRY()).to.equal(await registry.getAddress());
        expect(await service.offeringCount()).to.equal(0n);
        expect(await service.requestCount()).to.equal(0n);
      });

      it("returns the new service's address", async function () {
        const { directory, newcomer } = await load(deployMarket);
        expect(await directory.connect(newcomer).createService.staticCall()).to.equal(
          await directory.predictServiceAddress(newcomer.address),
        );
      });
    });

    describe("when the caller already has a service", function () {
      it("reverts with ServiceDirectoryServiceExists and the existing service", async function () {
        const { directory, provider1, service1 } = await load(deployMarket);
        await expect(directory.connect(provider1).createService())
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryServiceExists")
          .withArgs(provider1.address, await service1.getAddress());
      });
    });

    describe("when the caller is suspended", function () {
      it("reverts with ServiceDirectoryInactiveParticipant", async function () {
        const { directory, registry, registrar1, newcomer } = await load(deployMarket);
        await registry.connect(registrar1).suspendParticipant(newcomer.address);
        await expect(directory.connect(newcomer).createService())
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryInactiveParticipant")
          .withArgs(newcomer.address);
      });
    });

    describe("when the caller is not a participant", function () {
      it("reverts with ServiceDirectoryInactiveParticipant", async function () {
        const { directory, outsider } = await load(deployMarket);
        await expect(directory.connect(outsider).createService())
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryInactiveParticipant")
          .withArgs(outsider.address);
      });
    });
  });

  describe("#predictServiceAddress", function () {
    it("is the address of an existing service, and differs between providers", async function () {
      const market = await load(deployMarket);
      const { directory, provider1, provider2, provider3, newcomer, outsider } = market;
      const predicted = [
        await directory.predictServiceAddress(provider1.address),
        await directory.predictServiceAddress(provider2.address),
        await directory.predictServiceAddress(provider3.address),
      ];
      expect(predicted).to.deep.equal(await serviceAddresses(market));
      const newcomerAddress = await directory.predictServiceAddress(newcomer.address);
      const outsiderAddress = await directory.predictServiceAddress(outsider.address);
      expect(new Set([...predicted, newcomerAddress, outsiderAddress]).size).to.equal(5);
    });
  });

  describe("#serviceOf / #providerOf", function () {
    it("answers the zero address for accounts and contracts that are not ours", async function () {
      const { directory, newcomer, token } = await load(deployMarket);
      expect(await directory.serviceOf(newcomer.address)).to.equal(ethers.ZeroAddress);
      expect(await directory.providerOf(await token.getAddress())).to.equal(ethers.ZeroAddress);
      expect(await directory.providerOf(await directory.IMPLEMENTATION())).to.equal(ethers.ZeroAddress);
    });
  });

  describe("ProviderServiceContract#initialize", function () {
    describe("when a provider calls it on its own clone", function () {
      it("reverts with ProviderServiceNotDirectory", async function () {
        const { service1, provider1 } = await load(deployMarket);
        await expect(service1.connect(provider1).initialize(provider1.address))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotDirectory")
          .withArgs(provider1.address);
      });
    });

    describe("when the directory calls it again", function () {
      it("reverts with ProviderServiceAlreadyInitialized", async function () {
        const { directory, service1, outsider, provider1 } = await load(deployMarket);
        const directoryAddress = await directory.getAddress();
        await impersonateAccount(directoryAddress);
        await setBalance(directoryAddress, ethers.parseEther("1"));
        const asDirectory = await ethers.getSigner(directoryAddress);
        await expect(service1.connect(asDirectory).initialize(outsider.address)).to.be.revertedWithCustomError(
          service1,
          "ProviderServiceAlreadyInitialized",
        );
        await stopImpersonatingAccount(directoryAddress);
        await setBalance(directoryAddress, 0n);
        expect(await service1.getFunction("provider")()).to.equal(provider1.address);
      });
    });

    describe("when anyone calls it on the implementation", function () {
      it("reverts with ProviderServiceNotDirectory", async function () {
        const { directory, outsider } = await load(deployMarket);
        const implementation = await ethers.getContractAt("ProviderServiceContract", await directory.IMPLEMENTATION());
        await expect(implementation.connect(outsider).initialize(outsider.address))
          .to.be.revertedWithCustomError(implementation, "ProviderServiceNotDirectory")
          .withArgs(outsider.address);
      });
    });
  });

  describe("#addCoverage", function () {
    describe("when the provider holds the AS", function () {
      it("adds its service to the AS's coverage", async function () {
        const { directory, registry, registrar1, provider1, service1 } = await load(deployMarket);
        const asn = 64505;
        await registry.connect(registrar1).assignAsn(asn, provider1.address);
        await expect(directory.connect(provider1).addCoverage([asn]))
          .to.emit(directory, "CoverageAdded")
          .withArgs(asn, await service1.getAddress());
        expect(await directory.servicesForAsn(asn)).to.deep.equal([await service1.getAddress()]);
      });
    });

    describe("when the provider claims an AS held by someone else", function () {
      it("reverts with ServiceDirectoryAsnNotHeld and the actual holder", async function () {
        const { directory, provider1, provider3 } = await load(deployMarket);
        await expect(directory.connect(provider1).addCoverage([ASN.provider3]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryAsnNotHeld")
          .withArgs(ASN.provider3, provider1.address, provider3.address);
      });
    });

    describe("when the provider claims an AS no one holds", function () {
      it("reverts with ServiceDirectoryAsnNotHeld and the zero address", async function () {
        const { directory, provider1 } = await load(deployMarket);
        await expect(directory.connect(provider1).addCoverage([ASN.unassigned]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryAsnNotHeld")
          .withArgs(ASN.unassigned, provider1.address, ethers.ZeroAddress);
      });
    });

    describe("when one AS of the batch is not held", function () {
      it("reverts the whole batch", async function () {
        const { directory, registry, registrar1, provider1, provider2 } = await load(deployMarket);
        await registry.connect(registrar1).assignAsn(64505, provider1.address);
        await expect(directory.connect(provider1).addCoverage([64505, ASN.provider2]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryAsnNotHeld")
          .withArgs(ASN.provider2, provider1.address, provider2.address);
        expect(await directory.servicesForAsn(64505)).to.be.empty;
      });
    });

    describe("when the service already covers the AS", function () {
      it("reverts with ServiceDirectoryAlreadyCovered", async function () {
        const { directory, provider1, service1 } = await load(deployMarket);
        await expect(directory.connect(provider1).addCoverage([ASN.provider1]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryAlreadyCovered")
          .withArgs(ASN.provider1, await service1.getAddress());
      });
    });

    describe("when the caller has no service", function () {
      it("reverts with ServiceDirectoryNoService", async function () {
        const { directory, newcomer } = await load(deployMarket);
        await expect(directory.connect(newcomer).addCoverage([ASN.victim]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryNoService")
          .withArgs(newcomer.address);
      });
    });

    describe("when the provider is suspended", function () {
      it("reverts with ServiceDirectoryInactiveParticipant", async function () {
        const { directory, registry, registrar1, provider1 } = await load(deployMarket);
        await registry.connect(registrar1).assignAsn(64505, provider1.address);
        await registry.connect(registrar1).suspendParticipant(provider1.address);
        await expect(directory.connect(provider1).addCoverage([64505]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryInactiveParticipant")
          .withArgs(provider1.address);
      });
    });

    describe("when the batch is empty", function () {
      it("reverts with ServiceDirectoryEmptyBatch", async function () {
        const { directory, provider1 } = await load(deployMarket);
        await expect(directory.connect(provider1).addCoverage([])).to.be.revertedWithCustomError(
          directory,
          "ServiceDirectoryEmptyBatch",
        );
      });
    });
  });

  describe("#setCoverageAuthorization", function () {
    describe("when the holder of the AS authorises a provider", function () {
      it("lets the provider cover the AS", async function () {
        const { directory, victim, provider1, service1 } = await load(deployMarket);
        expect(await directory.isCoverageAuthorized(ASN.victim, provider1.address)).to.be.false;
        await expect(directory.connect(provider1).addCoverage([ASN.victim]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryAsnNotHeld")
          .withArgs(ASN.victim, provider1.address, victim.address);

        await expect(directory.connect(victim).setCoverageAuthorization(ASN.victim, provider1.address, true))
          .to.emit(directory, "CoverageAuthorizationChanged")
          .withArgs(ASN.victim, provider1.address, true);
        expect(await directory.isCoverageAuthorized(ASN.victim, provider1.address)).to.be.true;

        await expect(directory.connect(provider1).addCoverage([ASN.victim]))
          .to.emit(directory, "CoverageAdded")
          .withArgs(ASN.victim, await service1.getAddress());
        expect(await directory.servicesForAsn(ASN.victim)).to.deep.equal([await service1.getAddress()]);
      });

      it("covers the fixture's authorised AS numbers", async function () {
        const market = await load(deployMarket);
        const { directory, provider2, provider3 } = market;
        const [service1, service2, service3] = await serviceAddresses(market);
        expect(await directory.isCoverageAuthorized(ASN.provider1, provider2.address)).to.be.true;
        expect(await directory.isCoverageAuthorized(ASN.victim2, provider3.address)).to.be.true;
        expect(await directory.servicesForAsn(ASN.provider1)).to.deep.equal([service1, service2]);
        expect(await directory.servicesForAsn(ASN.provider2)).to.deep.equal([service2]);
        expect(await directory.servicesForAsn(ASN.provider3)).to.deep.equal([service3]);
        expect(await directory.servicesForAsn(ASN.victim2)).to.deep.equal([service3]);
        expect(await directory.servicesForAsn(ASN.victim)).to.be.empty;
      });
    });

    describe("when the caller does not hold the AS", function () {
      it("reverts with ServiceDirectoryAsnNotHeld and the actual holder", async function () {
        const { directory, provider2, provider3, provider1 } = await load(deployMarket);
        await expect(directory.connect(provider2).setCoverageAuthorization(ASN.provider1, provider3.address, true))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryAsnNotHeld")
          .withArgs(ASN.provider1, provider2.address, provider1.address);
      });
    });

    describe("when the holder is suspended", function () {
      it("reverts with ServiceDirectoryInactiveParticipant", async function () {
        const { directory, registry, registrar1, victim, provider1 } = await load(deployMarket);
        await registry.connect(registrar1).suspendParticipant(victim.address);
        await expect(directory.connect(victim).setCoverageAuthorization(ASN.victim, provider1.address, true))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryInactiveParticipant")
          .withArgs(victim.address);
      });
    });

    describe("when the holder withdraws the authorisation", function () {
      it("drops the service from the AS's services at once, and lets anyone prune it", async function () {
        const market = await load(deployMarket);
        const { directory, victim2, provider3, outsider } = market;
        const [, , service3] = await serviceAddresses(market);
        await expect(directory.connect(victim2).setCoverageAuthorization(ASN.victim2, provider3.address, false))
          .to.emit(directory, "CoverageAuthorizationChanged")
          .withArgs(ASN.victim2, provider3.address, false);
        expect(await directory.isCoverageAuthorized(ASN.victim2, provider3.address)).to.be.false;
        expect(await directory.servicesForAsn(ASN.victim2)).to.be.empty;

        await expect(directory.connect(outsider).pruneCoverage(ASN.victim2, service3))
          .to.emit(directory, "CoverageRemoved")
          .withArgs(ASN.victim2, service3);
        await expect(directory.connect(outsider).pruneCoverage(ASN.victim2, service3))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryNotCovered")
          .withArgs(ASN.victim2, service3);
        // The provider may claim it again only once re-authorised.
        await expect(directory.connect(provider3).addCoverage([ASN.victim2]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryAsnNotHeld")
          .withArgs(ASN.victim2, provider3.address, victim2.address);
      });
    });

    describe("when the AS is transferred to another holder", function () {
      it("lapses the previous holder's authorisations and its own coverage", async function () {
        const market = await load(deployMarket);
        const { directory, registry, registrar1, provider1, provider2, victim } = market;
        const [service1, service2] = await serviceAddresses(market);
        await expect(registry.connect(registrar1).transferAsn(ASN.provider1, victim.address))
          .to.emit(registry, "AsnTransferred")
          .withArgs(ASN.provider1, provider1.address, victim.address);

        expect(await directory.isCoverageAuthorized(ASN.provider1, provider2.address)).to.be.false;
        expect(await directory.servicesForAsn(ASN.provider1)).to.be.empty;
        const [originAsn, services] = await directory.servicesForAddress(parseAddress("203.0.113.9"));
        expect(originAsn).to.equal(BigInt(ASN.provider1));
        expect(services).to.be.empty;
        await expect(directory.connect(provider2).addCoverage([ASN.provider1]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryAsnNotHeld")
          .withArgs(ASN.provider1, provider2.address, victim.address);
        await expect(directory.pruneCoverage(ASN.provider1, service2))
          .to.emit(directory, "CoverageRemoved")
          .withArgs(ASN.provider1, service2);
        await expect(directory.pruneCoverage(ASN.provider1, service1))
          .to.emit(directory, "CoverageRemoved")
          .withArgs(ASN.provider1, service1);

        // The new holder decides afresh.
        await directory.connect(victim).setCoverageAuthorization(ASN.provider1, provider2.address, true);
        await directory.connect(provider2).addCoverage([ASN.provider1]);
        expect(await directory.servicesForAsn(ASN.provider1)).to.deep.equal([service2]);
      });
    });

    describe("when the AS is transferred away and back (audit finding 4)", function () {
      it("does not revive the earlier authorisation: the holder must consent again", async function () {
        const market = await load(deployMarket);
        const { directory, registry, registrar1, provider1, provider2, victim } = market;
        const [, service2] = await serviceAddresses(market);
        expect(await directory.isCoverageAuthorized(ASN.provider1, provider2.address)).to.be.true;
        const [, epoch] = await registry.asnAssignment(ASN.provider1);
        await registry.connect(registrar1).transferAsn(ASN.provider1, victim.address);
        await registry.connect(registrar1).transferAsn(ASN.provider1, provider1.address);
        expect(await registry.asnAssignment(ASN.provider1)).to.deep.equal([provider1.address, epoch + 2n]);

        expect(await directory.isCoverageAuthorized(ASN.provider1, provider2.address)).to.be.false;
        expect(await directory.servicesForAsn(ASN.provider1)).to.not.include(service2);
        await expect(directory.pruneCoverage(ASN.provider1, service2))
          .to.emit(directory, "CoverageRemoved")
          .withArgs(ASN.provider1, service2);
        await directory.connect(provider1).setCoverageAuthorization(ASN.provider1, provider2.address, true);
        expect(await directory.isCoverageAuthorized(ASN.provider1, provider2.address)).to.be.true;
      });

      it("does not revive it after a revocation and a new assignment either", async function () {
        const market = await load(deployMarket);
        const { directory, registry, registrar1, provider1, provider2 } = market;
        await registry.connect(registrar1).revokeAsn(ASN.provider1);
        expect((await registry.asnAssignment(ASN.provider1))[0]).to.equal(ethers.ZeroAddress);
        await registry.connect(registrar1).assignAsn(ASN.provider1, provider1.address);
        expect(await directory.isCoverageAuthorized(ASN.provider1, provider2.address)).to.be.false;
      });
    });
  });

  describe("#servicesForAsn", function () {
    describe("when a covering provider is suspended", function () {
      it("leaves its service out until it is reinstated, and no one can prune it meanwhile (audit finding 5)", async function () {
        const market = await load(deployMarket);
        const { directory, registry, registrar1, provider2, outsider } = market;
        const [service1, service2] = await serviceAddresses(market);
        await registry.connect(registrar1).suspendParticipant(provider2.address);
        expect(await directory.servicesForAsn(ASN.provider1)).to.deep.equal([service1]);
        expect(await directory.servicesForAsn(ASN.provider2)).to.be.empty;
        await expect(directory.connect(outsider).pruneCoverage(ASN.provider2, service2))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryCoverageValid")
          .withArgs(ASN.provider2, service2);

        await registry.connect(registrar1).reinstateParticipant(provider2.address);
        expect(await directory.servicesForAsn(ASN.provider1)).to.deep.equal([service1, service2]);
        expect(await directory.servicesForAsn(ASN.provider2)).to.deep.equal([service2]);
      });
    });

    describe("when the coverage is still valid", function () {
      it("refuses to prune it with ServiceDirectoryCoverageValid", async function () {
        const market = await load(deployMarket);
        const { directory, outsider } = market;
        const [service1] = await serviceAddresses(market);
        await expect(directory.connect(outsider).pruneCoverage(ASN.provider1, service1))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryCoverageValid")
          .withArgs(ASN.provider1, service1);
      });
    });
  });

  describe("#removeCoverage", function () {
    describe("when the service covers the AS", function () {
      it("removes it and keeps the order of the others consistent", async function () {
        const market = await load(deployMarket);
        const { directory, provider1, provider2, provider3 } = market;
        const [service1, service2, service3] = await serviceAddresses(market);
        await directory.connect(provider1).setCoverageAuthorization(ASN.provider1, provider3.address, true);
        await directory.connect(provider3).addCoverage([ASN.provider1]);
        expect(await directory.servicesForAsn(ASN.provider1)).to.deep.equal([service1, service2, service3]);

        await expect(directory.connect(provider1).removeCoverage([ASN.provider1]))
          .to.emit(directory, "CoverageRemoved")
          .withArgs(ASN.provider1, service1);
        // The last entry moved into the freed position.
        expect(await directory.servicesForAsn(ASN.provider1)).to.deep.equal([service3, service2]);

        await directory.connect(provider3).removeCoverage([ASN.provider1]);
        expect(await directory.servicesForAsn(ASN.provider1)).to.deep.equal([service2]);
        await directory.connect(provider2).removeCoverage([ASN.provider1]);
        expect(await directory.servicesForAsn(ASN.provider1)).to.be.empty;

        // Positions were kept right: every service can come back and leave again.
        await directory.connect(provider1).addCoverage([ASN.provider1]);
        await directory.connect(provider2).addCoverage([ASN.provider1]);
        await directory.connect(provider1).removeCoverage([ASN.provider1]);
        expect(await directory.servicesForAsn(ASN.provider1)).to.deep.equal([service2]);
      });

      it("lets a suspended provider withdraw its coverage", async function () {
        const market = await load(deployMarket);
        const { directory, registry, registrar1, provider3 } = market;
        const [, , service3] = await serviceAddresses(market);
        await registry.connect(registrar1).suspendParticipant(provider3.address);
        await expect(directory.connect(provider3).removeCoverage([ASN.provider3, ASN.victim2]))
          .to.emit(directory, "CoverageRemoved")
          .withArgs(ASN.victim2, service3);
      });
    });

    describe("when the service does not cover the AS", function () {
      it("reverts with ServiceDirectoryNotCovered", async function () {
        const market = await load(deployMarket);
        const { directory, provider1 } = market;
        const [service1] = await serviceAddresses(market);
        await expect(directory.connect(provider1).removeCoverage([ASN.provider2]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryNotCovered")
          .withArgs(ASN.provider2, service1);
      });
    });

    describe("when the caller has no service", function () {
      it("reverts with ServiceDirectoryNoService", async function () {
        const { directory, newcomer } = await load(deployMarket);
        await expect(directory.connect(newcomer).removeCoverage([ASN.provider1]))
          .to.be.revertedWithCustomError(directory, "ServiceDirectoryNoService")
          .withArgs(newcomer.address);
      });
    });

    describe("when the batch is empty", function () {
      it("reverts with ServiceDirectoryEmptyBatch", async function () {
        const { directory, provider1 } = await load(deployMarket);
        await expect(directory.connect(provider1).removeCoverage([])).to.be.revertedWithCustomError(
          directory,
          "ServiceDirectoryEmptyBatch",
        );
      });
    });
  });

  describe("#servicesForAddress", function () {
    async function servicesFor(market: Market, address: string): Promise<[bigint, string[]]> {
      const [originAsn, services] = await market.directory.servicesForAddress(parseAddress(address));
      return [originAsn, [...services]];
    }

    describe("when the address is IPv4", function () {
      it("finds the origin AS of the longest matching prefix and the services covering it", async function () {
        const market = await load(deployMarket);
        const [service1, service2, service3] = await serviceAddresses(market);
        expect(await servicesFor(market, "203.0.113.77")).to.deep.equal([BigInt(ASN.provider1), [service1, service2]]);
        expect(await servicesFor(market, "198.51.100.200")).to.deep.equal([BigInt(ASN.victim2), [service3]]);
        expect(await servicesFor(market, "192.0.2.1")).to.deep.equal([BigInt(ASN.victim), []]);
      });
    });

    describe("when the address is IPv6", function () {
      it("finds the origin AS of the longest matching prefix and the services covering it", async function () {
        const market = await load(deployMarket);
        const [service1, service2, service3] = await serviceAddresses(market);
        expect(await servicesFor(market, "2001:db8:a123::1")).to.deep.equal([
          BigInt(ASN.provider1),
          [service1, service2],
        ]);
        expect(await servicesFor(market, "2001:db8:b000::1")).to.deep.equal([BigInt(ASN.provider2), [service2]]);
        expect(await servicesFor(market, "2001:db8:cfff:ffff::")).to.deep.equal([BigInt(ASN.provider3), [service3]]);
      });
    });

    describe("when a more-specific prefix with another origin is delegated", function () {
      it("follows the more-specific prefix's origin", async function () {
        const market = await load(deployMarket);
        const { registry, provider1, victim2 } = market;
        const [service1, service2, service3] = await serviceAddresses(market);
        const { network, prefixLength } = ipPrefix("203.0.113.128/25");
        await registry.connect(provider1).delegate(network, prefixLength, victim2.address, ASN.victim2);
        expect(await servicesFor(market, "203.0.113.200")).to.deep.equal([BigInt(ASN.victim2), [service3]]);
        expect(await servicesFor(market, "203.0.113.127")).to.deep.equal([BigInt(ASN.provider1), [service1, service2]]);
      });
    });

    describe("when no registered prefix contains the address", function () {
      it("answers AS 0 and no services", async function () {
        const market = await load(deployMarket);
        expect(await servicesFor(market, "10.0.0.1")).to.deep.equal([0n, []]);
        expect(await servicesFor(market, "2001:db8:f000::1")).to.deep.equal([0n, []]);
        expect(await servicesFor(market, "::1")).to.deep.equal([0n, []]);
      });
    });
  });

  describe("#requestMany", function () {
    async function threeRequests(
      market: Market,
    ): Promise<{ batch: { service: string; params: RequestParamsStruct }[]; prices: bigint[] }> {
      const batch: { service: string; params: RequestParamsStruct }[] = [];
      const prices: bigint[] = [];
      for (const service of [market.service1, market.service2, market.service3]) {
        const params = await requestParams(service, { duration: 7200 });
        batch.push({ service: await service.getAddress(), params });
        prices.push(await priceOf(service, params));
      }
      return { batch, prices };
    }

    describe("when the requester approved the directory for the total", function () {
      it("opens one request in each service, each escrowing its own price", async function () {
        const market = await load(deployMarket);
        const { directory, token, victim, service1, service2, service3 } = market;
        const { batch, prices } = await threeRequests(market);
        const total = prices[0] + prices[1] + prices[2];
        await token.connect(victim).approve(await directory.getAddress(), total);

        const id = requestIdOf(victim.address, 1);
        expect(await directory.connect(victim).requestMany.staticCall(batch)).to.deep.equal([id, id, id]);
        const tx = directory.connect(victim).requestMany(batch);
        await expect(tx).to.changeTokenBalances(
          token,
          [victim, service1, service2, service3],
          [-total, prices[0], prices[1], prices[2]],
        );
        for (const [index, service] of [service1, service2, service3].entries()) {
          await expect(tx)
            .to.emit(service, "MitigationRequested")
            .withArgs(
              id,
              victim.address,
              0n,
              prefixArgs(PREFIX.victimV4),
              batch[index].params.sources.map(structArgs),
              7200n,
              prices[index],
              batch[index].params.ackDeadline,
            );
          const r = await service.getRequest(id);
          expect(r.requester).to.equal(victim.address);
          expect(r.price).to.equal(prices[index]);
          expect(r.status).to.equal(BigInt(RequestStatus.Pending));
        }
        expect(await token.allowance(victim.address, await directory.getAddress())).to.equal(0n);
      });

      it("keeps the escrows apart: one service's refund leaves the others' escrow", async function () {
        const market = await load(deployMarket);
        const { directory, token, victim, service1, service2, service3 } = market;
        const { batch, prices } = await threeRequests(market);
        await token.connect(victim).approve(await directory.getAddress(), prices[0] + prices[1] + prices[2]);
        await directory.connect(victim).requestMany(batch);
        const id = requestIdOf(victim.address, 1);

        await expect(service2.reject(id, 1)).to.changeTokenBalances(
          token,
          [victim, service1, service2, service3],
          [prices[1], 0n, -prices[1], 0n],
        );
        await expect(service1.acknowledge(id)).to.changeTokenBalances(
          token,
          [service1, service3, market.provider1],
          [-prices[0], 0n, prices[0]],
        );
        expect(await token.balanceOf(await service3.getAddress())).to.equal(prices[2]);
      });
    });

    describe("when a request names an address that is not a service of the directory", function () {
      it("reverts with ServiceDirectoryUnknownService", async function () {
        const market = await load(deployMarket);
        const { directory, token, victim, outsider } = market;
        const { batch, prices } = await threeRequests(market);
        await token.connect(victim).approve(await directory.getAddress(), prices[0] + prices[1] + prices[2]);
        const implementation = await directory.IMPLEMENTATION();
        for (const stranger of [outsider.address, implementation, await token.getAddress()]) {
          const forged = [batch[0], { ...batch[1], service: stranger }, batch[2]];
          await expect(directory.connect(victim).requestMany(forged))
            .to.be.revertedWithCustomError(directory, "ServiceDirectoryUnknownService")
            .withArgs(stranger);
        }
      });
    });

    describe("when one request of the batch is invalid", function () {
      it("reverts the whole batch and moves nothing", async function () {
        const market = await load(deployMarket);
        const { directory, token, victim, service1, service2, service3 } = market;
        const { batch, prices } = await threeRequests(market);
        await token.connect(victim).approve(await directory.getAddress(), prices[0] + prices[1] + prices[2]);
        const services = [service1, service2, service3];
        const before = await Promise.all([victim, ...services].map((account) => token.balanceOf(account)));

        const invalid = [batch[0], batch[1], { ...batch[2], params: { ...batch[2].params, maxPrice: prices[2] - 1n } }];
        await expect(directory.connect(victim).requestMany(invalid))
          .to.be.revertedWithCustomError(service3, "ProviderServicePriceAboveMaximum")
          .withArgs(prices[2], prices[2] - 1n);

        expect(await Promise.all([victim, ...services].map((account) => token.balanceOf(account)))).to.deep.equal(
          before,
        );
        for (const service of services) expect(await service.requestCount()).to.equal(0n);
      });
    });

    describe("when the allowance does not cover the total", function () {
      it("reverts with the token's ERC20InsufficientAllowance", async function () {
        const market = await load(deployMarket);
        const { directory, token, victim } = market;
        const { batch, prices } = await threeRequests(market);
        const total = prices[0] + prices[1] + prices[2];
        await token.connect(victim).approve(await directory.getAddress(), total - 1n);
        await expect(directory.connect(victim).requestMany(batch))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await directory.getAddress(), prices[2] - 1n, prices[2]);
      });
    });

    describe("when the caller does not hold a target", function () {
      it("reverts: the directory requests for the caller only", async function () {
        const market = await load(deployMarket);
        const { directory, victim, victim2, service1 } = market;
        const { batch } = await threeRequests(market);
        const { network, prefixLength } = ipPrefix(PREFIX.victimV4);
        await expect(directory.connect(victim2).requestMany(batch))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotHolder")
          .withArgs(victim2.address, network, prefixLength, victim.address);
      });
    });

    describe("when the batch is empty", function () {
      it("reverts with ServiceDirectoryEmptyBatch", async function () {
        const { directory, victim } = await load(deployMarket);
        await expect(directory.connect(victim).requestMany([])).to.be.revertedWithCustomError(
          directory,
          "ServiceDirectoryEmptyBatch",
        );
      });
    });

    describe("when anyone but the directory calls requestFor", function () {
      it("reverts with ProviderServiceNotDirectory", async function () {
        const { service1, victim } = await load(deployMarket);
        const params = await requestParams(service1);
        await expect(service1.connect(victim).requestFor(victim.address, params))
          .to.be.revertedWithCustomError(service1, "ProviderServiceNotDirectory")
          .withArgs(victim.address);
      });
    });
  });

  describe("#requestManyWithPermit", function () {
    async function permitScene() {
      const market = await load(deployMarket);
      const { directory, token, victim } = market;
      const batch: { service: string; params: RequestParamsStruct }[] = [];
      let total = 0n;
      for (const service of [market.service1, market.service2, market.service3]) {
        const params = await requestParams(service);
        batch.push({ service: await service.getAddress(), params });
        total += await priceOf(service, params);
      }
      const deadline = BigInt(await time.latest()) + 600n;
      const signature = await signPermit(token, victim, await directory.getAddress(), total, deadline);
      return { market, batch, total, deadline, signature };
    }

    describe("when the permit is fresh", function () {
      it("approves and requests in one transaction", async function () {
        const { market, batch, total, deadline, signature } = await permitScene();
        const { directory, token, victim, service1, service2, service3 } = market;
        const { v, r, s } = signature;
        expect(await token.allowance(victim.address, await directory.getAddress())).to.equal(0n);
        const tx = directory.connect(victim).requestManyWithPermit(batch, total, deadline, v, r, s);
        await expect(tx).to.changeTokenBalance(token, victim, -total);
        for (const service of [service1, service2, service3]) {
          await expect(tx).to.emit(service, "MitigationRequested");
        }
        expect(await token.nonces(victim.address)).to.equal(1n);
        expect(await token.allowance(victim.address, await directory.getAddress())).to.equal(0n);
      });
    });

    describe("when someone front-ran the permit", function () {
      it("still requests, on the allowance the permit set", async function () {
        const { market, batch, total, deadline, signature } = await permitScene();
        const { directory, token, victim, outsider } = market;
        const { v, r, s } = signature;
        await token.connect(outsider).permit(victim.address, await directory.getAddress(), total, deadline, v, r, s);
        await expect(
          directory.connect(victim).requestManyWithPermit(batch, total, deadline, v, r, s),
        ).to.changeTokenBalance(token, victim, -total);
      });
    });

    describe("when the permit is invalid and there is no allowance", function () {
      it("reverts with the token's ERC20InsufficientAllowance", async function () {
        const { market, batch, total, deadline } = await permitScene();
        const { directory, token, victim, victim2, service1 } = market;
        // Signed by the wrong account.
        const { v, r, s } = await signPermit(token, victim2, await directory.getAddress(), total, deadline);
        const first = await priceOf(service1, batch[0].params);
        await expect(directory.connect(victim).requestManyWithPermit(batch, total, deadline, v, r, s))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await directory.getAddress(), 0n, first);
      });
    });
  });
});

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";

import {IPrefixRegistry} from "./interfaces/IPrefixRegistry.sol";
import {IProviderServiceContract} from "./interfaces/IProviderServiceContract.sol";
import {IServiceDirectory} from "./interfaces/IServiceDirectory.sol";
import {ProviderServiceContract} from "./ProviderServiceContract.sol";

/// @title ServiceDirectory
/// @notice Factory and index of provider services. See IServiceDirectory.
/// @dev Coverage is stored as claimed and re-validated on every read against the registry, so an
/// AS that changes hands stops pointing at the old holder's service at once, before anyone prunes.
contract ServiceDirectory is IServiceDirectory {
    using SafeERC20 for IERC20;

    /// @notice The token that pays for mitigation.
    IERC20 public immutable TOKEN;
    /// @notice The registry of participants and number resources.
    IPrefixRegistry public immutable REGISTRY;
    /// @notice The ProviderServiceContract every service is a clone of.
    address public immutable IMPLEMENTATION;

    mapping(address provider => address service) private _serviceOf;
    mapping(address service => address provider) private _providerOf;
    address[] private _services;

    mapping(uint32 asn => address[] services) private _coverage;
    mapping(uint32 asn => mapping(address service => uint256 positionPlusOne)) private _coveragePosition;
    /// @dev Who authorised a provider to cover an AS, and during which of the AS number's holdings
    /// (the registry's epoch): the consent lapses when the AS moves, even if it comes back.
    struct Consent {
        address holder;
        uint64 epoch;
    }

    mapping(uint32 asn => mapping(address provider => Consent)) private _consents;

    constructor(IERC20 token, IPrefixRegistry registry) {
        TOKEN = token;
        REGISTRY = registry;
        IMPLEMENTATION = address(new ProviderServiceContract(token, registry, address(this)));
    }

    // --- services -------------------------------------------------------------------------

    /// @inheritdoc IServiceDirectory
    function createService() external returns (address service) {
        _requireActive(msg.sender);
        address existing = _serviceOf[msg.sender];
        if (existing != address(0)) revert ServiceDirectoryServiceExists(msg.sender, existing);
        service = Clones.cloneDeterministic(IMPLEMENTATION, _salt(msg.sender));
        _serviceOf[msg.sender] = service;
        _providerOf[service] = msg.sender;
        _services.push(service);
        IProviderServiceContract(service).initialize(msg.sender);
        emit ServiceCreated(msg.sender, service);
    }

    /// @inheritdoc IServiceDirectory
    function predictServiceAddress(address provider) external view returns (address) {
        return Clones.predictDeterministicAddress(IMPLEMENTATION, _salt(provider));
    }

    /// @inheritdoc IServiceDirectory
    function serviceOf(address provider) external view returns (address) {
        return _serviceOf[provider];
    }

    /// @inheritdoc IServiceDirectory
    function providerOf(address service) external view returns (address) {
        return _providerOf[service];
    }

    /// @inheritdoc IServiceDirectory
    function allServices() external view returns (address[] memory) {
        return _services;
    }

    // --- coverage -------------------------------------------------------------------------

    /// @inheritdoc IServiceDirectory
    function setCoverageAuthorization(uint32 asn, address provider, bool authorized) external {
        (address holder, uint64 epoch) = REGISTRY.asnAssignment(asn);
        if (holder != msg.sender) revert ServiceDirectoryAsnNotHeld(asn, msg.sender, holder);
        _requireActive(msg.sender);
        if (authorized) _consents[asn][provider] = Consent(holder, epoch);
        else delete _consents[asn][provider];
        emit CoverageAuthorizationChanged(asn, provider, authorized);
    }

    /// @inheritdoc IServiceDirectory
    function isCoverageAuthorized(uint32 asn, address provider) external view returns (bool) {
        (address holder, uint64 epoch) = REGISTRY.asnAssignment(asn);
        return holder != address(0) && _consented(asn, provider, holder, epoch);
    }

    /// @inheritdoc IServiceDirectory
    function addCoverage(uint32[] calldata asns) external {
        if (asns.length == 0) revert ServiceDirectoryEmptyBatch();
        address service = _requireService(msg.sender);
        _requireActive(msg.sender);
        for (uint256 i = 0; i < asns.length; ++i) {
            uint32 asn = asns[i];
            (address holder, uint64 epoch) = REGISTRY.asnAssignment(asn);
            if (!_mayCover(asn, msg.sender, holder, epoch)) revert ServiceDirectoryAsnNotHeld(asn, msg.sender, holder);
            if (_coveragePosition[asn][service] != 0) revert ServiceDirectoryAlreadyCovered(asn, service);
            _coverage[asn].push(service);
            _coveragePosition[asn][service] = _coverage[asn].length;
            emit CoverageAdded(asn, service);
        }
    }

    /// @inheritdoc IServiceDirectory
    function removeCoverage(uint32[] calldata asns) external {
        if (asns.length == 0) revert ServiceDirectoryEmptyBatch();
        address service = _requireService(msg.sender);
        for (uint256 i = 0; i < asns.length; ++i) {
            _removeCoverage(asns[i], service);
        }
    }

    /// @inheritdoc IServiceDirectory
    function pruneCoverage(uint32 asn, address service) external {
        // A suspended provider's coverage stays: reads hide it, and it is back on reinstatement.
        if (_isClaimValid(asn, service)) revert ServiceDirectoryCoverageValid(asn, service);
        _removeCoverage(asn, service);
    }

    /// @inheritdoc IServiceDirectory
    function servicesForAsn(uint32 asn) public view returns (address[] memory services) {
        address[] storage claimed = _coverage[asn];
        uint256 count = claimed.length;
        services = new address[](count);
        uint256 valid = 0;
        for (uint256 i = 0; i < count; ++i) {
            if (_isValidCoverage(asn, claimed[i])) services[valid++] = claimed[i];
        }
        // Shrink the array to the valid entries: cheaper than a second pass and a copy.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(services, valid)
        }
    }

    /// @inheritdoc IServiceDirectory
    function servicesForAddress(uint128 addr) external view returns (uint32 originAsn, address[] memory services) {
        (bool found, IPrefixRegistry.Route memory route) = REGISTRY.lookup(addr);
        if (!found) return (0, new address[](0));
        return (route.originAsn, servicesForAsn(route.originAsn));
    }

    // --- batch requests -------------------------------------------------------------------

    /// @inheritdoc IServiceDirectory
    function requestMany(ServiceRequest[] calldata requests) external returns (uint256[] memory) {
        return _requestMany(requests);
    }

    /// @inheritdoc IServiceDirectory
    function requestManyWithPermit(
        ServiceRequest[] calldata requests,
        uint256 permitValue,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256[] memory) {
        // A front-runner may have submitted the permit already; the allowance then decides.
        try IERC20Permit(address(TOKEN)).permit(msg.sender, address(this), permitValue, permitDeadline, v, r, s) {
            // solhint-disable-previous-line no-empty-blocks
        } catch {} // solhint-disable-line no-empty-blocks
        return _requestMany(requests);
    }

    // --- internals ------------------------------------------------------------------------

    function _requestMany(ServiceRequest[] calldata requests) private returns (uint256[] memory requestIds) {
        uint256 count = requests.length;
        if (count == 0) revert ServiceDirectoryEmptyBatch();
        requestIds = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            address service = requests[i].service;
            if (_providerOf[service] == address(0)) revert ServiceDirectoryUnknownService(service);
            uint256 price;
            (requestIds[i], price) = IProviderServiceContract(service).requestFor(msg.sender, requests[i].params);
            // The service recorded the escrow; the funds reach it before this transaction ends.
            if (price != 0) TOKEN.safeTransferFrom(msg.sender, service, price);
        }
    }

    function _removeCoverage(uint32 asn, address service) private {
        uint256 position = _coveragePosition[asn][service];
        if (position == 0) revert ServiceDirectoryNotCovered(asn, service);
        address[] storage list = _coverage[asn];
        address last = list[list.length - 1];
        list[position - 1] = last;
        _coveragePosition[asn][last] = position;
        list.pop();
        delete _coveragePosition[asn][service];
        emit CoverageRemoved(asn, service);
    }

    /// @dev A coverage claimed by an active provider with the right to it.
    function _isValidCoverage(uint32 asn, address service) private view returns (bool) {
        return
            _isClaimValid(asn, service) &&
            REGISTRY.participantStatus(_providerOf[service]) == IPrefixRegistry.ParticipantStatus.Active;
    }

    /// @dev A coverage claimed by a service whose provider still has the right to it (holds the AS,
    /// or was authorised by its current holding), whatever the provider's status.
    function _isClaimValid(uint32 asn, address service) private view returns (bool) {
        address provider = _providerOf[service];
        if (provider == address(0) || _coveragePosition[asn][service] == 0) return false;
        (address holder, uint64 epoch) = REGISTRY.asnAssignment(asn);
        return _mayCover(asn, provider, holder, epoch);
    }

    function _mayCover(uint32 asn, address provider, address holder, uint64 epoch) private view returns (bool) {
        return holder != address(0) && (holder == provider || _consented(asn, provider, holder, epoch));
    }

    function _consented(uint32 asn, address provider, address holder, uint64 epoch) private view returns (bool) {
        Consent storage consent = _consents[asn][provider];
        return consent.holder == holder && consent.epoch == epoch;
    }

    function _requireService(address provider) private view returns (address service) {
        service = _serviceOf[provider];
        if (service == address(0)) revert ServiceDirectoryNoService(provider);
    }

    function _requireActive(address account) private view {
        if (REGISTRY.participantStatus(account) != IPrefixRegistry.ParticipantStatus.Active) {
            revert ServiceDirectoryInactiveParticipant(account);
        }
    }

    function _salt(address provider) private pure returns (bytes32) {
        return bytes32(uint256(uint160(provider)));
    }
}

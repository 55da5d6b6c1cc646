// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IProviderServiceContract} from "./IProviderServiceContract.sol";

/// @title IServiceDirectory
/// @notice Creates one ProviderServiceContract per provider at a predictable address, and indexes
/// which services cover which AS numbers, so that attack source → AS → service is a lookup.
interface IServiceDirectory {
    /// @notice One request of a batch made through the directory.
    struct ServiceRequest {
        address service;
        IProviderServiceContract.RequestParams params;
    }

    /// @notice Emitted when a provider creates its service contract.
    event ServiceCreated(address indexed provider, address indexed service);
    /// @notice Emitted when a provider declares that its service mitigates for `asn`.
    event CoverageAdded(uint32 indexed asn, address indexed service);
    /// @notice Emitted when a service stops covering `asn` (withdrawn, or pruned as invalid).
    event CoverageRemoved(uint32 indexed asn, address indexed service);
    /// @notice Emitted when the holder of `asn` authorises (or stops authorising) a provider to
    /// cover it.
    event CoverageAuthorizationChanged(uint32 indexed asn, address indexed provider, bool authorized);

    /// @notice Thrown when the caller is not an active registry participant.
    error ServiceDirectoryInactiveParticipant(address account);
    /// @notice Thrown when a provider creates a second service.
    error ServiceDirectoryServiceExists(address provider, address service);
    /// @notice Thrown when a provider without a service acts as one.
    error ServiceDirectoryNoService(address provider);
    /// @notice Thrown when a provider claims an AS it neither holds nor was authorised for.
    error ServiceDirectoryAsnNotHeld(uint32 asn, address provider, address holder);
    /// @notice Thrown when a service claims an AS it already covers.
    error ServiceDirectoryAlreadyCovered(uint32 asn, address service);
    /// @notice Thrown when a service releases an AS it does not cover.
    error ServiceDirectoryNotCovered(uint32 asn, address service);
    /// @notice Thrown when pruning a coverage that is still valid.
    error ServiceDirectoryCoverageValid(uint32 asn, address service);
    /// @notice Thrown when a batch request names an address that is not a service of this
    /// directory.
    error ServiceDirectoryUnknownService(address service);
    /// @notice Thrown when a batch is empty.
    error ServiceDirectoryEmptyBatch();

    /// @notice Creates the caller's service contract. The caller must be an active participant.
    function createService() external returns (address service);

    /// @notice The address the service of `provider` has, or will have once created.
    function predictServiceAddress(address provider) external view returns (address);

    /// @notice The service of `provider`, or the zero address.
    function serviceOf(address provider) external view returns (address);

    /// @notice The provider that owns `service`, or the zero address if not one of ours.
    function providerOf(address service) external view returns (address);

    /// @notice All services created, in order.
    function allServices() external view returns (address[] memory);

    /// @notice Authorises `provider` to cover `asn`, or withdraws the authorisation. The caller
    /// must hold `asn`.
    function setCoverageAuthorization(uint32 asn, address provider, bool authorized) external;

    /// @notice True when the holder of `asn` authorised `provider` to cover it during its current
    /// holding: an authorisation lapses when the AS number changes hands, even if it comes back.
    function isCoverageAuthorized(uint32 asn, address provider) external view returns (bool);

    /// @notice Declares that the caller's service mitigates for these AS numbers, each held by the
    /// caller or authorised by its holder.
    function addCoverage(uint32[] calldata asns) external;

    /// @notice Stops covering these AS numbers.
    function removeCoverage(uint32[] calldata asns) external;

    /// @notice Removes a coverage that is no longer valid (the AS changed hands, the
    /// authorisation was withdrawn or lapsed). Anyone may call it. A suspended provider's coverage
    /// is not removed: reads hide it while the provider is suspended.
    function pruneCoverage(uint32 asn, address service) external;

    /// @notice The services that validly cover `asn` now (stale entries are filtered out).
    function servicesForAsn(uint32 asn) external view returns (address[] memory);

    /// @notice The services covering the origin AS of the most specific registered prefix that
    /// contains `addr`.
    /// @return originAsn The origin AS found (0 when no registered prefix contains `addr`).
    /// @return services The services covering it.
    function servicesForAddress(uint128 addr) external view returns (uint32 originAsn, address[] memory services);

    /// @notice Requests from several services in one transaction, each with its own escrow. The
    /// caller approves this directory (not each service) for the total.
    /// @return requestIds The id of each request in its service.
    function requestMany(ServiceRequest[] calldata requests) external returns (uint256[] memory requestIds);

    /// @notice As `requestMany`, with an ERC-2612 permit for this directory.
    function requestManyWithPermit(
        ServiceRequest[] calldata requests,
        uint256 permitValue,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256[] memory requestIds);
}

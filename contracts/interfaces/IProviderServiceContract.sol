// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IProviderServiceContract
/// @notice One provider's DDoS mitigation service: its offerings, and two ways to buy them.
/// Direct (the use case's flow, and the fallback): request (escrow, on-chain ownership check) →
/// acknowledge (payment) or reject / reclaim (refund). Orders (the fast path): the victim signs an
/// EIP-712 order off chain and sends it to the provider's agent, which settles many in one
/// transaction, each checked on chain and paid victim → provider at once. Both lead to the same
/// running mitigation: status and efficacy reports, withdrawal, rating.
/// @dev Deployed as a minimal-proxy clone by the ServiceDirectory, one per provider.
interface IProviderServiceContract {
    /// @notice What a mitigation does to the attack traffic.
    enum MitigationKind {
        FlowFiltering,
        RateLimiting,
        Blackholing,
        Scrubbing
    }

    /// @notice Where a request stands. An acknowledged mitigation runs until `endsAt`.
    enum RequestStatus {
        None,
        Pending,
        Acknowledged,
        Rejected,
        Reclaimed,
        Withdrawn,
        Cancelled
    }

    /// @notice An offering of the provider.
    /// @param pricePerHour Tokens (18 decimals) per hour of mitigation; the price of a request is
    /// `ceil(pricePerHour * duration / 3600)`.
    /// @param maxDuration The longest mitigation sold, in seconds.
    /// @param capacity How many mitigations the provider runs at once under this offering; its
    /// agent enforces it.
    struct Offering {
        uint96 pricePerHour;
        uint32 maxDuration;
        uint32 capacity;
        MitigationKind kind;
        bool active;
    }

    /// @notice Why `acknowledgeBatch` skipped a request.
    enum AcknowledgementSkipReason {
        UnknownRequest,
        NotPending,
        DeadlinePassed
    }

    /// @notice Why `settleOrders` skipped an order. It moved nothing, and the batch went on.
    enum OrderSkipReason {
        WrongService,
        Expired,
        RequesterIsProvider,
        BadSignature,
        AlreadySettled,
        Cancelled,
        UnknownOffering,
        OfferingInactive,
        InvalidDuration,
        PriceAboveMaximum,
        InvalidPrefix,
        InactiveRequester,
        NotWhollyHeld,
        PaymentFailed
    }

    /// @notice A prefix in the registry's 128-bit space (IPv4 as ::ffff:a.b.c.d/96+n).
    struct IpPrefix {
        uint128 network;
        uint8 prefixLength;
    }

    /// @notice What a victim asks for.
    /// @param offeringId The offering bought.
    /// @param target The attacked prefix; the requester must hold all of it.
    /// @param sources The attack sources to filter (kept in the event only).
    /// @param duration Seconds of mitigation.
    /// @param maxPrice The most the requester pays; the request fails if the price is higher.
    /// @param ackDeadline The provider must acknowledge by then, or the requester may reclaim.
    struct RequestParams {
        uint32 offeringId;
        IpPrefix target;
        IpPrefix[] sources;
        uint32 duration;
        uint96 maxPrice;
        uint40 ackDeadline;
    }

    /// @notice A victim's order, signed with EIP-712 (domain: this contract's name "DDoS Mitigation
    /// Service", version "1", the chain id and this service's address, so that it can be settled
    /// only here). Settled once, by the provider, at the price of the offering then.
    /// @param service This service (checked against the domain's too).
    /// @param requester The victim: an EOA (low-s ECDSA) or a contract wallet (ERC-1271).
    /// @param expiry The order may not be settled after this time (unix seconds).
    /// @param salt Unique per order; orders with a salt below the requester's minimum in the
    /// registry (`IPrefixRegistry.cancelOrdersUpTo`) are void.
    struct Order {
        address service;
        address requester;
        uint32 offeringId;
        IpPrefix target;
        IpPrefix[] sources;
        uint32 duration;
        uint96 maxPrice;
        uint40 expiry;
        uint256 salt;
    }

    /// @notice A request as `getRequest` returns it. Request ids are `requester << 64 | n`, where
    /// n counts this service's requests from 1; `endsAt` is 0 until acknowledged, and a
    /// withdrawal sets it (and shortens `duration`) to the moment of withdrawal.
    struct Request {
        address requester;
        uint96 price;
        uint40 ackDeadline;
        uint40 startedAt;
        uint40 endsAt;
        uint32 duration;
        uint32 offeringId;
        RequestStatus status;
        uint8 rating;
    }

    /// @notice Emitted when the provider adds an offering.
    event OfferingAdded(
        uint32 indexed offeringId,
        MitigationKind kind,
        uint96 pricePerHour,
        uint32 maxDuration,
        uint32 capacity
    );
    /// @notice Emitted when the provider changes an offering's terms.
    event OfferingUpdated(uint32 indexed offeringId, uint96 pricePerHour, uint32 maxDuration, uint32 capacity);
    /// @notice Emitted when the provider activates or deactivates an offering.
    event OfferingActivationChanged(uint32 indexed offeringId, bool active);

    /// @notice Emitted when a request is accepted and its price escrowed. Carries everything a
    /// provider agent needs; the sources are kept nowhere else.
    event MitigationRequested(
        uint256 indexed requestId,
        address indexed requester,
        uint32 indexed offeringId,
        IpPrefix target,
        IpPrefix[] sources,
        uint32 duration,
        uint96 price,
        uint40 ackDeadline
    );
    /// @notice Emitted when the provider acknowledges: the mitigation runs from `startedAt` to
    /// `endsAt` and the escrow is paid to the provider.
    event MitigationAcknowledged(uint256 indexed requestId, uint40 startedAt, uint40 endsAt, uint96 paid);
    /// @notice Emitted when `acknowledgeBatch` leaves a request as it was, and why; the rest of the
    /// batch goes on.
    event AcknowledgementSkipped(uint256 indexed requestId, AcknowledgementSkipReason reason);
    /// @notice Emitted when the provider rejects a request; the escrow is refunded.
    event MitigationRejected(uint256 indexed requestId, uint8 reason, uint96 refunded);
    /// @notice Emitted when the requester takes back the escrow of an unanswered request.
    event MitigationReclaimed(uint256 indexed requestId, uint96 refunded);
    /// @notice Emitted when the requester ends a running mitigation early.
    event MitigationWithdrawn(uint256 indexed requestId, uint40 endedAt);
    /// @notice Emitted when the provider settles an order: the mitigation runs from `startedAt` to
    /// `endsAt` and `price` went from the requester (the top 160 bits of `requestId`) to the
    /// provider. The order itself, target and sources, is in the settlement's calldata (and with the
    /// provider, who received it): the event stays small because it is paid once per order.
    event OrderSettled(
        uint256 indexed requestId,
        bytes32 orderHash,
        uint32 offeringId,
        uint96 price,
        uint40 startedAt,
        uint40 endsAt
    );
    /// @notice Emitted when `settleOrders` skips an order, and why.
    event OrderSkipped(bytes32 indexed orderHash, address indexed requester, OrderSkipReason reason);
    /// @notice Emitted when a requester cancels one of its orders before settlement.
    event OrderCancelled(bytes32 indexed orderHash, address indexed requester);
    /// @notice Emitted when the provider publishes where its agent takes orders.
    event OrderEndpointChanged(string endpoint);
    /// @notice Emitted when the provider reports on a mitigation (DOTS status codes, RFC 9132).
    event MitigationStatusReported(uint256 indexed requestId, uint8 status, uint64 bytesDropped, uint64 packetsDropped);
    /// @notice Emitted when the requester reports the attack's status (1 under attack, 2 mitigated).
    event AttackStatusReported(uint256 indexed requestId, uint8 attackStatus);
    /// @notice Emitted when the requester rates the service (1 to 5).
    event MitigationRated(uint256 indexed requestId, uint8 rating);

    /// @notice Thrown when the clone is initialised twice, or by anyone but the directory.
    error ProviderServiceAlreadyInitialized();
    /// @notice Thrown when someone other than the provider calls a provider-only function.
    error ProviderServiceNotProvider(address account);
    /// @notice Thrown when someone other than the directory calls a directory-only function.
    error ProviderServiceNotDirectory(address account);
    /// @notice Thrown when an account other than the requester acts on a request.
    error ProviderServiceNotRequester(uint256 requestId, address account);
    /// @notice Thrown when a provider asks its own service for mitigation (it would pay itself, and
    /// could rate itself).
    error ProviderServiceRequesterIsProvider(address requester);
    /// @notice Thrown when the requester or the provider is not an active registry participant.
    error ProviderServiceInactiveParticipant(address account);
    /// @notice Thrown when the requester's target is held by `holder`, not by the requester.
    error ProviderServiceNotHolder(address requester, uint128 network, uint8 length, address holder);
    /// @notice Thrown when the requester holds the prefix covering the target, but cannot be shown
    /// to hold all of it: a more-specific prefix inside it may belong to someone else.
    error ProviderServiceTargetNotWhollyHeld(address requester, uint128 network, uint8 length);
    /// @notice Thrown for a prefix with host bits set or a length above 128; `index` is the
    /// position among the sources, or type(uint256).max for the target.
    error ProviderServiceInvalidPrefix(uint256 index, uint128 network, uint8 length);
    /// @notice Thrown when a request lists no source, or more than the maximum.
    error ProviderServiceInvalidSourceCount(uint256 count, uint256 max);
    /// @notice Thrown when an offering id does not exist.
    error ProviderServiceUnknownOffering(uint32 offeringId);
    /// @notice Thrown when requesting an inactive offering.
    error ProviderServiceOfferingInactive(uint32 offeringId);
    /// @notice Thrown when an offering's terms are out of range (zero duration or capacity).
    error ProviderServiceInvalidOffering(uint32 maxDuration, uint32 capacity);
    /// @notice Thrown when a duration is zero or above the offering's maximum.
    error ProviderServiceInvalidDuration(uint32 duration, uint32 maxDuration);
    /// @notice Thrown when the price exceeds what the requester will pay.
    error ProviderServicePriceAboveMaximum(uint256 price, uint96 maxPrice);
    /// @notice Thrown when an acknowledgement deadline is past or too far ahead.
    error ProviderServiceInvalidDeadline(uint40 ackDeadline, uint256 earliest, uint256 latest);
    /// @notice Thrown when a request id does not exist.
    error ProviderServiceUnknownRequest(uint256 requestId);
    /// @notice Thrown when a request is not in the status the action needs.
    error ProviderServiceWrongStatus(uint256 requestId, RequestStatus status);
    /// @notice Thrown when acknowledging after the deadline.
    error ProviderServiceDeadlinePassed(uint256 requestId, uint40 ackDeadline);
    /// @notice Thrown when reclaiming before the deadline has passed.
    error ProviderServiceDeadlineNotPassed(uint256 requestId, uint40 ackDeadline);
    /// @notice Thrown when withdrawing a mitigation that has already ended.
    error ProviderServiceMitigationEnded(uint256 requestId, uint40 endsAt);
    /// @notice Thrown for a DOTS status outside 1..8, an attack status outside 1..2, or a rating
    /// outside 1..5.
    error ProviderServiceInvalidCode(uint8 code);
    /// @notice Thrown when rating a request twice.
    error ProviderServiceAlreadyRated(uint256 requestId);
    /// @notice Thrown when a batch is empty.
    error ProviderServiceEmptyBatch();
    /// @notice Thrown when `settleOrders` gets a different number of orders and signatures.
    error ProviderServiceSignatureCountMismatch(uint256 orders, uint256 signatures);
    /// @notice Thrown when an order names another service than this one.
    error ProviderServiceWrongService(address service);
    /// @notice Thrown when a published order endpoint is longer than the maximum.
    error ProviderServiceEndpointTooLong(uint256 length, uint256 max);

    /// @notice Sets the provider. Called once by the directory right after cloning.
    function initialize(address provider) external;

    /// @notice The provider that owns this service.
    function provider() external view returns (address);

    /// @notice Adds an offering. Provider only.
    /// @return offeringId The new offering's id (0, 1, 2, …).
    function addOffering(
        MitigationKind kind,
        uint96 pricePerHour,
        uint32 maxDuration,
        uint32 capacity
    ) external returns (uint32 offeringId);

    /// @notice Changes an offering's terms; requests already made keep their price. Provider only.
    function updateOffering(uint32 offeringId, uint96 pricePerHour, uint32 maxDuration, uint32 capacity) external;

    /// @notice Activates or deactivates an offering. Provider only.
    function setOfferingActive(uint32 offeringId, bool active) external;

    /// @notice An offering's terms.
    function offering(uint32 offeringId) external view returns (Offering memory);

    /// @notice How many offerings there are (ids 0 to count - 1).
    function offeringCount() external view returns (uint32);

    /// @notice The price of `duration` seconds of an offering.
    function quote(uint32 offeringId, uint32 duration) external view returns (uint256 price);

    /// @notice Requests mitigation and escrows its price from the caller (who must have approved
    /// this contract). Checks that the caller is an active participant holding all of the target.
    function request(RequestParams calldata params) external returns (uint256 requestId);

    /// @notice As `request`, with an ERC-2612 permit for this contract so that one transaction
    /// suffices. A permit already used (e.g. front-run) is tolerated if the allowance suffices.
    function requestWithPermit(
        RequestParams calldata params,
        uint256 permitValue,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 requestId);

    /// @notice As `request` for `requester`, who pays through the directory. Directory only.
    /// @return requestId The new request.
    /// @return price What the directory must transfer to this contract in the same transaction.
    function requestFor(
        address requester,
        RequestParams calldata params
    ) external returns (uint256 requestId, uint256 price);

    /// @notice Accepts a pending request before its deadline: the mitigation starts now and the
    /// escrow is paid to the provider. Provider only.
    function acknowledge(uint256 requestId) external;

    /// @notice Acknowledges many requests with one payout. A request that cannot be acknowledged
    /// (unknown, no longer pending, past its deadline) is skipped with `AcknowledgementSkipped`;
    /// the others go on. Provider only.
    /// @return acknowledged How many were acknowledged.
    function acknowledgeBatch(uint256[] calldata requestIds) external returns (uint256 acknowledged);

    /// @notice Refuses a pending request and refunds its escrow. Provider only.
    /// @param reason The provider's reason code (0 unspecified, 1 capacity, 2 policy, 3 not
    /// verified, 4 sources not in its network; others its own).
    function reject(uint256 requestId, uint8 reason) external;

    /// @notice Refunds the escrow of a request left unanswered past its deadline. Requester only.
    function reclaim(uint256 requestId) external;

    /// @notice Ends a running mitigation now. No refund: the price was paid at acknowledgement.
    /// Requester only.
    function withdraw(uint256 requestId) external;

    /// @notice Reports a mitigation's status: a DOTS status (RFC 9132, 1 in progress … 8
    /// rejected) and drop counters. Provider only, after acknowledgement.
    function reportStatus(uint256 requestId, uint8 status, uint64 bytesDropped, uint64 packetsDropped) external;

    /// @notice Reports the attack's status as the requester sees it (1 under attack, 2
    /// successfully mitigated). Requester only, after acknowledgement.
    function reportAttackStatus(uint256 requestId, uint8 attackStatus) external;

    /// @notice Rates the service from 1 to 5, once per request. Requester only, after
    /// acknowledgement.
    function rate(uint256 requestId, uint8 rating) external;

    /// @notice Settles signed orders: each valid one is paid from its requester to the provider at
    /// once and starts its mitigation, with the request id `orderRequestId(requester, hash)`. An
    /// order that fails a check is skipped with `OrderSkipped` and its reason; it moves nothing and
    /// never reverts the batch. Provider only, while active.
    /// @param signatures One per order: 65 bytes (r, s, v) for an EOA, anything its ERC-1271 wallet
    /// accepts otherwise.
    /// @return settled How many orders were settled.
    function settleOrders(Order[] calldata orders, bytes[] calldata signatures) external returns (uint256 settled);

    /// @notice Cancels one of the caller's orders (not yet settled). Requester only. To void many at
    /// once, at every service, see `IPrefixRegistry.cancelOrdersUpTo`.
    function cancelOrder(Order calldata order) external;

    /// @notice The EIP-712 hash of an order, as signed.
    function orderHash(Order calldata order) external view returns (bytes32);

    /// @notice The request id a settled (or cancelled) order is recorded under:
    /// `requester << 64 | 1 << 63 | (orderHash mod 2^63)` (direct requests count up from 1 below
    /// 2^63).
    function orderRequestId(address requester, bytes32 hash) external pure returns (uint256);

    /// @notice Publishes where the provider's agent takes orders (e.g. its HTTPS URL). Provider
    /// only.
    function setOrderEndpoint(string calldata endpoint) external;

    /// @notice Where the provider's agent takes orders; empty when it does not.
    function orderEndpoint() external view returns (string memory);

    /// @notice A request as stored.
    function getRequest(uint256 requestId) external view returns (Request memory);

    /// @notice How many requests were made. The n-th request's id is `requester << 64 | n`.
    function requestCount() external view returns (uint256);
}

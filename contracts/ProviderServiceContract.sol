// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IPrefixRegistry} from "./interfaces/IPrefixRegistry.sol";
import {IProviderServiceContract} from "./interfaces/IProviderServiceContract.sol";
import {MitigationOrders} from "./libraries/MitigationOrders.sol";
import {PrefixMath} from "./libraries/PrefixMath.sol";

/// @title ProviderServiceContract
/// @notice One provider's mitigation service. See IProviderServiceContract.
/// @dev Used through minimal-proxy clones made by the ServiceDirectory. The token, registry and
/// directory are immutables of the implementation, shared by every clone, so a clone's own
/// storage starts with the provider. Tokens held by a clone are exactly the escrows of its
/// pending requests: every path out of Pending pays or refunds that request's price once. A settled
/// order never passes through the contract: it is paid from the victim to the provider directly.
/// The EIP-712 domain's name and version are immutables too; its verifying contract is the clone.
contract ProviderServiceContract is IProviderServiceContract, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The most attack sources one request may list.
    uint256 public constant MAX_SOURCES = 64;
    /// @notice How far ahead an acknowledgement deadline may be: escrow is never locked longer.
    uint256 public constant MAX_ACK_WINDOW = 1 days;
    /// @notice The gas an ERC-1271 wallet gets to check a signature: a wallet that burns more
    /// fails its own order, never the batch.
    uint256 public constant ERC1271_GAS = 100_000;
    /// @notice The longest order endpoint a provider may publish, in bytes.
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;

    /// @notice The token that pays for mitigation.
    IERC20 public immutable TOKEN;
    /// @notice The registry that says who holds which prefix.
    IPrefixRegistry public immutable REGISTRY;
    /// @notice The directory that clones and initialises this contract.
    address public immutable DIRECTORY;

    uint256 private constant _TARGET_INDEX = type(uint256).max;
    uint8 private constant _DOTS_STATUS_MAX = 8;
    uint8 private constant _ATTACK_STATUS_MAX = 2;
    uint8 private constant _RATING_MAX = 5;

    /// @dev A request in one slot (a fresh slot costs 22,100 gas; this is most of a request's
    /// cost). The requester is not stored: it is the top 160 bits of the request id. The end of a
    /// mitigation is `startedAt + duration`; a withdrawal shortens `duration` to what ran.
    struct StoredRequest {
        uint96 price;
        uint40 ackDeadline;
        uint40 startedAt;
        uint32 duration;
        uint32 offeringId;
        RequestStatus status;
        uint8 rating;
    }

    // One slot, read by every request: the provider, and the two counters.
    address private _provider;
    uint32 private _offeringCount;
    uint64 private _requestCount;

    mapping(uint32 offeringId => Offering) private _offerings;
    mapping(uint256 requestId => StoredRequest) private _requests;
    string private _orderEndpoint;

    modifier onlyProvider() {
        if (msg.sender != _provider) revert ProviderServiceNotProvider(msg.sender);
        _;
    }

    constructor(IERC20 token, IPrefixRegistry registry, address directory) EIP712("DDoS Mitigation Service", "1") {
        TOKEN = token;
        REGISTRY = registry;
        DIRECTORY = directory;
    }

    /// @inheritdoc IProviderServiceContract
    function initialize(address provider_) external {
        if (msg.sender != DIRECTORY) revert ProviderServiceNotDirectory(msg.sender);
        if (_provider != address(0)) revert ProviderServiceAlreadyInitialized();
        _provider = provider_;
    }

    /// @inheritdoc IProviderServiceContract
    function provider() external view returns (address) {
        return _provider;
    }

    // --- offerings ------------------------------------------------------------------------

    /// @inheritdoc IProviderServiceContract
    function addOffering(
        MitigationKind kind,
        uint96 pricePerHour,
        uint32 maxDuration,
        uint32 capacity
    ) external onlyProvider returns (uint32 offeringId) {
        _requireValidTerms(maxDuration, capacity);
        offeringId = _offeringCount++;
        _offerings[offeringId] = Offering(pricePerHour, maxDuration, capacity, kind, true);
        emit OfferingAdded(offeringId, kind, pricePerHour, maxDuration, capacity);
    }

    /// @inheritdoc IProviderServiceContract
    function updateOffering(
        uint32 offeringId,
        uint96 pricePerHour,
        uint32 maxDuration,
        uint32 capacity
    ) external onlyProvider {
        _requireValidTerms(maxDuration, capacity);
        Offering storage o = _existingOffering(offeringId);
        o.pricePerHour = pricePerHour;
        o.maxDuration = maxDuration;
        o.capacity = capacity;
        emit OfferingUpdated(offeringId, pricePerHour, maxDuration, capacity);
    }

    /// @inheritdoc IProviderServiceContract
    function setOfferingActive(uint32 offeringId, bool active) external onlyProvider {
        _existingOffering(offeringId).active = active;
        emit OfferingActivationChanged(offeringId, active);
    }

    /// @inheritdoc IProviderServiceContract
    function offering(uint32 offeringId) external view returns (Offering memory) {
        return _existingOffering(offeringId);
    }

    /// @inheritdoc IProviderServiceContract
    function offeringCount() external view returns (uint32) {
        return _offeringCount;
    }

    /// @inheritdoc IProviderServiceContract
    function quote(uint32 offeringId, uint32 duration) external view returns (uint256) {
        return _price(_existingOffering(offeringId).pricePerHour, duration);
    }

    // --- requests -------------------------------------------------------------------------

    /// @inheritdoc IProviderServiceContract
    function request(RequestParams calldata params) external nonReentrant returns (uint256 requestId) {
        uint256 price;
        (requestId, price) = _request(msg.sender, params);
        if (price != 0) TOKEN.safeTransferFrom(msg.sender, address(this), price);
    }

    /// @inheritdoc IProviderServiceContract
    function requestWithPermit(
        RequestParams calldata params,
        uint256 permitValue,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 requestId) {
        // A front-runner may have submitted the permit already; the allowance then decides.
        try IERC20Permit(address(TOKEN)).permit(msg.sender, address(this), permitValue, permitDeadline, v, r, s) {
            // solhint-disable-previous-line no-empty-blocks
        } catch {} // solhint-disable-line no-empty-blocks
        uint256 price;
        (requestId, price) = _request(msg.sender, params);
        if (price != 0) TOKEN.safeTransferFrom(msg.sender, address(this), price);
    }

    /// @inheritdoc IProviderServiceContract
    function requestFor(
        address requester,
        RequestParams calldata params
    ) external nonReentrant returns (uint256 requestId, uint256 price) {
        if (msg.sender != DIRECTORY) revert ProviderServiceNotDirectory(msg.sender);
        return _request(requester, params);
    }

    /// @inheritdoc IProviderServiceContract
    function acknowledge(uint256 requestId) external onlyProvider nonReentrant {
        _requireActive(msg.sender);
        uint256 paid = _acknowledge(requestId);
        if (paid != 0) TOKEN.safeTransfer(msg.sender, paid);
    }

    /// @inheritdoc IProviderServiceContract
    function acknowledgeBatch(
        uint256[] calldata requestIds
    ) external onlyProvider nonReentrant returns (uint256 acknowledged) {
        uint256 count = requestIds.length;
        if (count == 0) revert ProviderServiceEmptyBatch();
        _requireActive(msg.sender);
        // One payout for the whole batch: per-request transfers would cost a token call each.
        uint256 paid = 0;
        for (uint256 i = 0; i < count; ++i) {
            uint256 requestId = requestIds[i];
            StoredRequest storage r = _requests[requestId];
            RequestStatus status = r.status;
            // A request answered or expired while the batch was in flight must not sink the rest.
            if (status != RequestStatus.Pending) {
                emit AcknowledgementSkipped(
                    requestId,
                    status == RequestStatus.None
                        ? AcknowledgementSkipReason.UnknownRequest
                        : AcknowledgementSkipReason.NotPending
                );
            } else if (block.timestamp > r.ackDeadline) {
                emit AcknowledgementSkipped(requestId, AcknowledgementSkipReason.DeadlinePassed);
            } else {
                paid += _start(requestId, r);
                ++acknowledged;
            }
        }
        if (paid != 0) TOKEN.safeTransfer(msg.sender, paid);
    }

    // --- orders ---------------------------------------------------------------------------

    /// @inheritdoc IProviderServiceContract
    function settleOrders(
        Order[] calldata orders,
        bytes[] calldata signatures
    ) external onlyProvider nonReentrant returns (uint256 settled) {
        uint256 count = orders.length;
        if (count == 0) revert ProviderServiceEmptyBatch();
        if (signatures.length != count) revert ProviderServiceSignatureCountMismatch(count, signatures.length);
        _requireActive(msg.sender);
        // A clone is not the implementation EIP712 cached its separator for: compute it once here.
        bytes32 domainSeparator = _domainSeparatorV4();
        for (uint256 i = 0; i < count; ++i) {
            Order calldata order = orders[i];
            bytes32 hash = MessageHashUtils.toTypedDataHash(domainSeparator, MitigationOrders.structHash(order));
            (bool ok, OrderSkipReason reason) = _settle(order, hash, signatures[i]);
            if (ok) ++settled;
            else emit OrderSkipped(hash, order.requester, reason);
        }
    }

    /// @inheritdoc IProviderServiceContract
    function cancelOrder(Order calldata order) external {
        if (order.service != address(this)) revert ProviderServiceWrongService(order.service);
        bytes32 hash = _hashTypedDataV4(MitigationOrders.structHash(order));
        uint256 requestId = MitigationOrders.requestId(order.requester, hash);
        if (msg.sender != order.requester) revert ProviderServiceNotRequester(requestId, msg.sender);
        StoredRequest storage r = _requests[requestId];
        if (r.status != RequestStatus.None) revert ProviderServiceWrongStatus(requestId, r.status);
        r.status = RequestStatus.Cancelled;
        emit OrderCancelled(hash, msg.sender);
    }

    /// @inheritdoc IProviderServiceContract
    function orderHash(Order calldata order) external view returns (bytes32) {
        return _hashTypedDataV4(MitigationOrders.structHash(order));
    }

    /// @inheritdoc IProviderServiceContract
    function orderRequestId(address requester, bytes32 hash) external pure returns (uint256) {
        return MitigationOrders.requestId(requester, hash);
    }

    /// @inheritdoc IProviderServiceContract
    function setOrderEndpoint(string calldata endpoint) external onlyProvider {
        uint256 length = bytes(endpoint).length;
        if (length > MAX_ENDPOINT_LENGTH) revert ProviderServiceEndpointTooLong(length, MAX_ENDPOINT_LENGTH);
        _orderEndpoint = endpoint;
        emit OrderEndpointChanged(endpoint);
    }

    /// @inheritdoc IProviderServiceContract
    function orderEndpoint() external view returns (string memory) {
        return _orderEndpoint;
    }

    // --- answers and the running mitigation -------------------------------------------------

    /// @inheritdoc IProviderServiceContract
    function reject(uint256 requestId, uint8 reason) external onlyProvider nonReentrant {
        StoredRequest storage r = _pending(requestId);
        r.status = RequestStatus.Rejected;
        uint96 refund = r.price;
        emit MitigationRejected(requestId, reason, refund);
        if (refund != 0) TOKEN.safeTransfer(_requesterOf(requestId), refund);
    }

    /// @inheritdoc IProviderServiceContract
    function reclaim(uint256 requestId) external nonReentrant {
        StoredRequest storage r = _pending(requestId);
        _requireRequester(requestId);
        if (block.timestamp <= r.ackDeadline) revert ProviderServiceDeadlineNotPassed(requestId, r.ackDeadline);
        r.status = RequestStatus.Reclaimed;
        uint96 refund = r.price;
        emit MitigationReclaimed(requestId, refund);
        if (refund != 0) TOKEN.safeTransfer(msg.sender, refund);
    }

    /// @inheritdoc IProviderServiceContract
    function withdraw(uint256 requestId) external {
        StoredRequest storage r = _existingRequest(requestId);
        _requireRequester(requestId);
        if (r.status != RequestStatus.Acknowledged) revert ProviderServiceWrongStatus(requestId, r.status);
        uint40 endsAt = r.startedAt + r.duration;
        if (block.timestamp >= endsAt) revert ProviderServiceMitigationEnded(requestId, endsAt);
        r.status = RequestStatus.Withdrawn;
        // startedAt <= now < endsAt, so the shortened duration fits in the old one's type.
        r.duration = uint32(block.timestamp - r.startedAt);
        emit MitigationWithdrawn(requestId, uint40(block.timestamp));
    }

    /// @inheritdoc IProviderServiceContract
    function reportStatus(
        uint256 requestId,
        uint8 status,
        uint64 bytesDropped,
        uint64 packetsDropped
    ) external onlyProvider {
        _requireStarted(_existingRequest(requestId), requestId);
        if (status == 0 || status > _DOTS_STATUS_MAX) revert ProviderServiceInvalidCode(status);
        emit MitigationStatusReported(requestId, status, bytesDropped, packetsDropped);
    }

    /// @inheritdoc IProviderServiceContract
    function reportAttackStatus(uint256 requestId, uint8 attackStatus) external {
        StoredRequest storage r = _existingRequest(requestId);
        _requireRequester(requestId);
        _requireStarted(r, requestId);
        if (attackStatus == 0 || attackStatus > _ATTACK_STATUS_MAX) revert ProviderServiceInvalidCode(attackStatus);
        emit AttackStatusReported(requestId, attackStatus);
    }

    /// @inheritdoc IProviderServiceContract
    function rate(uint256 requestId, uint8 rating) external {
        StoredRequest storage r = _existingRequest(requestId);
        _requireRequester(requestId);
        _requireStarted(r, requestId);
        if (rating == 0 || rating > _RATING_MAX) revert ProviderServiceInvalidCode(rating);
        if (r.rating != 0) revert ProviderServiceAlreadyRated(requestId);
        r.rating = rating;
        emit MitigationRated(requestId, rating);
    }

    /// @inheritdoc IProviderServiceContract
    function getRequest(uint256 requestId) external view returns (Request memory) {
        StoredRequest memory r = _existingRequest(requestId);
        return
            Request({
                requester: _requesterOf(requestId),
                price: r.price,
                ackDeadline: r.ackDeadline,
                startedAt: r.startedAt,
                endsAt: r.startedAt == 0 ? 0 : r.startedAt + r.duration,
                duration: r.duration,
                offeringId: r.offeringId,
                status: r.status,
                rating: r.rating
            });
    }

    /// @inheritdoc IProviderServiceContract
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }

    // --- internals ------------------------------------------------------------------------

    /// @dev Validates and records a request; the caller moves `price` tokens in.
    function _request(
        address requester,
        RequestParams calldata params
    ) private returns (uint256 requestId, uint256 price) {
        if (requester == _provider) revert ProviderServiceRequesterIsProvider(requester);
        price = _validatedPrice(params);
        _requireValidSources(params.sources);
        _requireWhollyHeld(requester, params.target);
        _requireActive(_provider);

        requestId = (uint256(uint160(requester)) << 64) | ++_requestCount;
        _storeNew(requestId, price, params.ackDeadline, 0, params.duration, params.offeringId, RequestStatus.Pending);
        emit MitigationRequested(
            requestId,
            requester,
            params.offeringId,
            params.target,
            params.sources,
            params.duration,
            uint96(price),
            params.ackDeadline
        );
    }

    /// @dev Checks one order and, if it passes, starts it. The reason is read only when it was skipped.
    function _settle(
        Order calldata order,
        bytes32 hash,
        bytes calldata signature
    ) private returns (bool settled, OrderSkipReason reason) {
        uint256 requestId;
        uint256 price;
        (settled, reason, requestId, price) = _checkOrder(order, hash, signature);
        if (!settled) return (false, reason);
        if (!_startOrder(order, hash, requestId, price)) return (false, OrderSkipReason.PaymentFailed);
    }

    /// @dev Writes a new request's slot in one SSTORE, unrated: assigned member by member, the
    /// fresh slot would be read and written again for each member (~700 gas more per request
    /// under viaIR). The layout is StoredRequest's, lowest bits first.
    function _storeNew(
        uint256 requestId,
        uint256 price,
        uint40 ackDeadline,
        uint40 startedAt,
        uint32 duration,
        uint32 offeringId,
        RequestStatus status
    ) private {
        // Callers pass a price at most the request's or order's maximum, a uint96.
        uint256 word = uint256(uint96(price)) |
            (uint256(ackDeadline) << 96) |
            (uint256(startedAt) << 136) |
            (uint256(duration) << 176) |
            (uint256(offeringId) << 208) |
            (uint256(status) << 240);
        StoredRequest storage r = _requests[requestId];
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(r.slot, word)
        }
    }

    /// @dev Records a checked order's running mitigation and takes its price from the requester to
    /// the provider (the caller); false, with nothing recorded, when the payment fails.
    function _startOrder(Order calldata order, bytes32 hash, uint256 requestId, uint256 price) private returns (bool) {
        uint40 startedAt = uint40(block.timestamp);
        uint32 duration = order.duration;
        uint32 offeringId = order.offeringId;
        // Recorded before the tokens move, undone if they cannot.
        _storeNew(requestId, price, order.expiry, startedAt, duration, offeringId, RequestStatus.Acknowledged);
        if (price != 0 && !SafeERC20.trySafeTransferFrom(TOKEN, order.requester, msg.sender, price)) {
            delete _requests[requestId];
            return false;
        }
        uint40 endsAt;
        unchecked {
            endsAt = startedAt + duration; // a uint40 of seconds lasts until the year 36,812
        }
        emit OrderSettled(requestId, hash, offeringId, uint96(price), startedAt, endsAt);
        return true;
    }

    /// @dev Every check of an order but its payment, cheap ones first; the signature before any
    /// storage read that only this order needs. Returns its request id and price when it passes.
    function _checkOrder(
        Order calldata order,
        bytes32 hash,
        bytes calldata signature
    ) private view returns (bool sellable, OrderSkipReason reason, uint256 requestId, uint256 price) {
        address requester = order.requester;
        if (order.service != address(this)) return (false, OrderSkipReason.WrongService, 0, 0);
        if (block.timestamp > order.expiry) return (false, OrderSkipReason.Expired, 0, 0);
        if (requester == msg.sender) return (false, OrderSkipReason.RequesterIsProvider, 0, 0);
        if (!_isSignedBy(requester, hash, signature)) return (false, OrderSkipReason.BadSignature, 0, 0);
        requestId = MitigationOrders.requestId(requester, hash);
        RequestStatus status = _requests[requestId].status;
        if (status == RequestStatus.Cancelled) return (false, OrderSkipReason.Cancelled, 0, 0);
        if (status != RequestStatus.None) return (false, OrderSkipReason.AlreadySettled, 0, 0);
        (sellable, reason, price) = _orderPrice(order);
        if (!sellable) return (false, reason, 0, 0);
        (sellable, reason) = _checkStanding(order);
        if (!sellable) return (false, reason, 0, 0);
    }

    /// @dev The registry's answer for an order's requester, in one call: an active participant,
    /// holding all of the target, that has not voided orders with this salt.
    function _checkStanding(Order calldata order) private view returns (bool, OrderSkipReason) {
        (IPrefixRegistry.ParticipantStatus status, bool holdsAll, uint256 minSalt) = REGISTRY.settlementStanding(
            order.requester,
            order.target.network,
            order.target.prefixLength
        );
        if (order.salt < minSalt) return (false, OrderSkipReason.Cancelled);
        if (status != IPrefixRegistry.ParticipantStatus.Active) return (false, OrderSkipReason.InactiveRequester);
        if (!holdsAll) return (false, OrderSkipReason.NotWhollyHeld);
        return (true, OrderSkipReason.WrongService);
    }

    /// @dev The price of an order, or why it cannot be sold (`sellable` false): the offering exists
    /// and is active, the duration is allowed, the price within the order's maximum, the prefixes
    /// canonical.
    function _orderPrice(
        Order calldata order
    ) private view returns (bool sellable, OrderSkipReason reason, uint256 price) {
        uint32 offeringId = order.offeringId;
        if (offeringId >= _offeringCount) return (false, OrderSkipReason.UnknownOffering, 0);
        Offering storage o = _offerings[offeringId];
        if (!o.active) return (false, OrderSkipReason.OfferingInactive, 0);
        uint32 duration = order.duration;
        if (duration == 0 || duration > o.maxDuration) return (false, OrderSkipReason.InvalidDuration, 0);
        price = _price(o.pricePerHour, duration);
        if (price > order.maxPrice) return (false, OrderSkipReason.PriceAboveMaximum, 0);
        if (!_validPrefixes(order.target, order.sources)) return (false, OrderSkipReason.InvalidPrefix, 0);
        return (true, reason, price);
    }

    /// @dev True when `signature` is `requester`'s over `hash`: low-s ECDSA for an EOA, else the
    /// requester's ERC-1271 answer, given bounded gas.
    function _isSignedBy(address requester, bytes32 hash, bytes calldata signature) private view returns (bool) {
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(hash, signature);
        if (error == ECDSA.RecoverError.NoError && signer == requester) return true;
        if (requester.code.length == 0) return false;
        bytes memory query = abi.encodeCall(IERC1271.isValidSignature, (hash, signature));
        bool valid;
        // Only the first 32 bytes of the answer are copied, so a wallet cannot make this call
        // expensive by returning much; its gas is capped at ERC1271_GAS.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let success := staticcall(ERC1271_GAS, requester, add(query, 0x20), mload(query), 0x00, 0x20)
            valid := and(success, and(gt(returndatasize(), 0x1f), eq(shr(224, mload(0x00)), 0x1626ba7e)))
        }
        return valid;
    }

    /// @dev The target is canonical, and there are 1 to MAX_SOURCES canonical sources.
    function _validPrefixes(IpPrefix calldata target, IpPrefix[] calldata sources) private pure returns (bool) {
        if (!PrefixMath.isCanonical(target.network, target.prefixLength)) return false;
        uint256 count = sources.length;
        if (count == 0 || count > MAX_SOURCES) return false;
        for (uint256 i = 0; i < count; ++i) {
            if (!PrefixMath.isCanonical(sources[i].network, sources[i].prefixLength)) return false;
        }
        return true;
    }

    /// @dev The offering is active, the duration and deadline allowed, the price within bounds.
    function _validatedPrice(RequestParams calldata params) private view returns (uint256 price) {
        uint32 offeringId = params.offeringId;
        if (offeringId >= _offeringCount) revert ProviderServiceUnknownOffering(offeringId);
        Offering memory o = _offerings[offeringId];
        if (!o.active) revert ProviderServiceOfferingInactive(offeringId);
        if (params.duration == 0 || params.duration > o.maxDuration) {
            revert ProviderServiceInvalidDuration(params.duration, o.maxDuration);
        }
        price = _price(o.pricePerHour, params.duration);
        if (price > params.maxPrice) revert ProviderServicePriceAboveMaximum(price, params.maxPrice);
        if (params.ackDeadline <= block.timestamp || params.ackDeadline > block.timestamp + MAX_ACK_WINDOW) {
            revert ProviderServiceInvalidDeadline(
                params.ackDeadline,
                block.timestamp + 1,
                block.timestamp + MAX_ACK_WINDOW
            );
        }
    }

    /// @dev The requester is an active participant and holds all of the target (one registry call
    /// on the happy path; a second only to name the holder in the error).
    function _requireWhollyHeld(address requester, IpPrefix calldata target) private view {
        if (!PrefixMath.isCanonical(target.network, target.prefixLength)) {
            revert ProviderServiceInvalidPrefix(_TARGET_INDEX, target.network, target.prefixLength);
        }
        (IPrefixRegistry.ParticipantStatus status, bool holdsAll) = REGISTRY.holderStatus(
            requester,
            target.network,
            target.prefixLength
        );
        if (status != IPrefixRegistry.ParticipantStatus.Active) revert ProviderServiceInactiveParticipant(requester);
        if (!holdsAll) {
            address holder = REGISTRY.holderOf(target.network, target.prefixLength);
            if (holder == requester) {
                revert ProviderServiceTargetNotWhollyHeld(requester, target.network, target.prefixLength);
            }
            revert ProviderServiceNotHolder(requester, target.network, target.prefixLength, holder);
        }
    }

    /// @dev Starts a pending request's mitigation; returns what the provider is owed.
    function _acknowledge(uint256 requestId) private returns (uint256 paid) {
        StoredRequest storage r = _pending(requestId);
        if (block.timestamp > r.ackDeadline) revert ProviderServiceDeadlinePassed(requestId, r.ackDeadline);
        return _start(requestId, r);
    }

    /// @dev Starts the mitigation of `r`, pending and within its deadline.
    function _start(uint256 requestId, StoredRequest storage r) private returns (uint256 paid) {
        uint40 startedAt = uint40(block.timestamp);
        uint40 endsAt = startedAt + r.duration;
        r.status = RequestStatus.Acknowledged;
        r.startedAt = startedAt;
        paid = r.price;
        emit MitigationAcknowledged(requestId, startedAt, endsAt, uint96(paid));
    }

    function _price(uint96 pricePerHour, uint32 duration) private pure returns (uint256) {
        // Rounded up, so that no mitigation is free by rounding; cannot overflow in 256 bits.
        return (uint256(pricePerHour) * duration + 1 hours - 1) / 1 hours;
    }

    function _requireValidSources(IpPrefix[] calldata sources) private pure {
        uint256 count = sources.length;
        if (count == 0 || count > MAX_SOURCES) revert ProviderServiceInvalidSourceCount(count, MAX_SOURCES);
        for (uint256 i = 0; i < count; ++i) {
            IpPrefix calldata source = sources[i];
            if (!PrefixMath.isCanonical(source.network, source.prefixLength)) {
                revert ProviderServiceInvalidPrefix(i, source.network, source.prefixLength);
            }
        }
    }

    function _requireValidTerms(uint32 maxDuration, uint32 capacity) private pure {
        if (maxDuration == 0 || capacity == 0) revert ProviderServiceInvalidOffering(maxDuration, capacity);
    }

    function _requireActive(address account) private view {
        if (REGISTRY.participantStatus(account) != IPrefixRegistry.ParticipantStatus.Active) {
            revert ProviderServiceInactiveParticipant(account);
        }
    }

    function _existingOffering(uint32 offeringId) private view returns (Offering storage) {
        if (offeringId >= _offeringCount) revert ProviderServiceUnknownOffering(offeringId);
        return _offerings[offeringId];
    }

    function _existingRequest(uint256 requestId) private view returns (StoredRequest storage r) {
        r = _requests[requestId];
        if (r.status == RequestStatus.None) revert ProviderServiceUnknownRequest(requestId);
    }

    function _pending(uint256 requestId) private view returns (StoredRequest storage r) {
        r = _existingRequest(requestId);
        if (r.status != RequestStatus.Pending) revert ProviderServiceWrongStatus(requestId, r.status);
    }

    function _requireRequester(uint256 requestId) private view {
        if (msg.sender != _requesterOf(requestId)) revert ProviderServiceNotRequester(requestId, msg.sender);
    }

    /// @dev Request ids are `requester << 64 | sequence`.
    function _requesterOf(uint256 requestId) private pure returns (address) {
        return address(uint160(requestId >> 64));
    }

    /// @dev Reports and ratings concern mitigations that ran: acknowledged, perhaps withdrawn.
    function _requireStarted(StoredRequest storage r, uint256 requestId) private view {
        RequestStatus status = r.status;
        if (status != RequestStatus.Acknowledged && status != RequestStatus.Withdrawn) {
            revert ProviderServiceWrongStatus(requestId, status);
        }
    }
}

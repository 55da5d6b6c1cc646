// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IPrefixRegistry} from "./interfaces/IPrefixRegistry.sol";
import {PrefixMath} from "./libraries/PrefixMath.sol";
import {PrefixTrie} from "./libraries/PrefixTrie.sol";

/// @title PrefixRegistry
/// @notice Who holds which AS numbers and IP prefixes, and which AS originates each prefix.
/// @dev One storage slot per prefix (holder, origin AS, flags), keyed by network and length, in a
/// radix tree (PrefixTrie) whose nodes summarise who holds what beneath them. Longest-prefix match
/// probes the lengths at which prefixes have been registered, from the most specific down, so a
/// lookup costs one read per such length at most, and usually one; "does this account hold all of
/// the target?" then walks the tree down from the covering prefix, so it is exact and its cost
/// depends only on what is registered inside the covering prefix.
contract PrefixRegistry is IPrefixRegistry, AccessControl {
    using PrefixTrie for PrefixTrie.Trie;

    /// @notice The role of the RIR-like authorities that register participants and resources.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @dev AS_TRANS (RFC 6793), reserved by RFC 7300, and the last 32-bit ASN (RFC 7300).
    uint32 private constant _AS_TRANS = 23456;
    uint32 private constant _AS_LAST_16 = 65535;
    uint32 private constant _AS_LAST_32 = type(uint32).max;

    struct Identity {
        string name;
        string metadataURI;
    }

    /// @dev A participant's status, and the salt below which its signed orders are void: one slot,
    /// so that a service settling an order reads both at once.
    struct Standing {
        ParticipantStatus status;
        uint248 minOrderSalt;
    }

    mapping(address account => Standing) private _standing;
    mapping(address account => Identity) private _identity;
    /// @dev `epoch` counts the AS number's changes of hands (assign, transfer, revoke) and is never
    /// reset, so that a consent given to one holding does not outlive it.
    struct AsnRecord {
        address holder;
        uint64 epoch;
    }

    mapping(uint32 asn => AsnRecord) private _asns;
    PrefixTrie.Trie private _trie;
    uint256 private _prefixCount;

    /// @param admin Receives the admin role, which grants and revokes the registrar role.
    /// @param registrars The initial registrars.
    constructor(address admin, address[] memory registrars) {
        if (admin == address(0)) revert PrefixRegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i = 0; i < registrars.length; ++i) {
            _grantRole(REGISTRAR_ROLE, registrars[i]);
        }
    }

    // --- participants ---------------------------------------------------------------------

    /// @inheritdoc IPrefixRegistry
    function registerParticipant(
        address account,
        string calldata name,
        string calldata metadataURI
    ) external onlyRole(REGISTRAR_ROLE) {
        _registerParticipant(account, name, metadataURI);
    }

    /// @inheritdoc IPrefixRegistry
    function registerParticipantBatch(
        ParticipantRegistration[] calldata registrations
    ) external onlyRole(REGISTRAR_ROLE) {
        uint256 count = registrations.length;
        if (count == 0) revert PrefixRegistryEmptyBatch();
        for (uint256 i = 0; i < count; ++i) {
            ParticipantRegistration calldata r = registrations[i];
            _registerParticipant(r.account, r.name, r.metadataURI);
        }
    }

    /// @inheritdoc IPrefixRegistry
    function updateParticipant(
        address account,
        string calldata name,
        string calldata metadataURI
    ) external onlyRole(REGISTRAR_ROLE) {
        if (_standing[account].status == ParticipantStatus.None) revert PrefixRegistryNotParticipant(account);
        if (bytes(name).length == 0) revert PrefixRegistryEmptyName(account);
        _identity[account] = Identity(name, metadataURI);
        emit ParticipantUpdated(account, name, metadataURI, msg.sender);
    }

    /// @inheritdoc IPrefixRegistry
    function suspendParticipant(address account) external onlyRole(REGISTRAR_ROLE) {
        _requireActive(account);
        _standing[account].status = ParticipantStatus.Suspended;
        emit ParticipantSuspended(account, msg.sender);
    }

    /// @inheritdoc IPrefixRegistry
    function reinstateParticipant(address account) external onlyRole(REGISTRAR_ROLE) {
        Standing storage standing = _standing[account];
        if (standing.status != ParticipantStatus.Suspended) revert PrefixRegistryParticipantNotSuspended(account);
        standing.status = ParticipantStatus.Active;
        emit ParticipantReinstated(account, msg.sender);
    }

    /// @inheritdoc IPrefixRegistry
    function participantStatus(address account) external view returns (ParticipantStatus) {
        return _standing[account].status;
    }

    /// @inheritdoc IPrefixRegistry
    function participant(
        address account
    ) external view returns (ParticipantStatus status, string memory name, string memory metadataURI) {
        Identity storage identity = _identity[account];
        return (_standing[account].status, identity.name, identity.metadataURI);
    }

    // --- AS numbers -----------------------------------------------------------------------

    /// @inheritdoc IPrefixRegistry
    function assignAsn(uint32 asn, address holder) external onlyRole(REGISTRAR_ROLE) {
        _assignAsn(asn, holder);
    }

    /// @inheritdoc IPrefixRegistry
    function assignAsnBatch(AsnAssignment[] calldata assignments) external onlyRole(REGISTRAR_ROLE) {
        uint256 count = assignments.length;
        if (count == 0) revert PrefixRegistryEmptyBatch();
        for (uint256 i = 0; i < count; ++i) {
            _assignAsn(assignments[i].asn, assignments[i].holder);
        }
    }

    /// @inheritdoc IPrefixRegistry
    function transferAsn(uint32 asn, address to) external onlyRole(REGISTRAR_ROLE) {
        AsnRecord storage record = _asns[asn];
        address from = record.holder;
        if (from == address(0)) revert PrefixRegistryAsnNotAssigned(asn);
        _requireActive(to);
        record.holder = to;
        ++record.epoch;
        emit AsnTransferred(asn, from, to);
    }

    /// @inheritdoc IPrefixRegistry
    function revokeAsn(uint32 asn) external onlyRole(REGISTRAR_ROLE) {
        AsnRecord storage record = _asns[asn];
        address holder = record.holder;
        if (holder == address(0)) revert PrefixRegistryAsnNotAssigned(asn);
        record.holder = address(0);
        ++record.epoch;
        emit AsnRevoked(asn, holder, msg.sender);
    }

    /// @inheritdoc IPrefixRegistry
    function asnHolder(uint32 asn) external view returns (address) {
        return _asns[asn].holder;
    }

    /// @inheritdoc IPrefixRegistry
    function asnAssignment(uint32 asn) external view returns (address holder, uint64 epoch) {
        AsnRecord storage record = _asns[asn];
        return (record.holder, record.epoch);
    }

    // --- prefixes -------------------------------------------------------------------------

    /// @inheritdoc IPrefixRegistry
    function allocate(
        uint128 network,
        uint8 length,
        address holder,
        uint32 originAsn
    ) external onlyRole(REGISTRAR_ROLE) {
        _allocate(network, length, holder, originAsn);
    }

    /// @inheritdoc IPrefixRegistry
    function allocateBatch(Allocation[] calldata allocations) external onlyRole(REGISTRAR_ROLE) {
        uint256 count = allocations.length;
        if (count == 0) revert PrefixRegistryEmptyBatch();
        for (uint256 i = 0; i < count; ++i) {
            Allocation calldata a = allocations[i];
            _allocate(a.network, a.prefixLength, a.holder, a.originAsn);
        }
    }

    /// @inheritdoc IPrefixRegistry
    function delegate(uint128 network, uint8 length, address to, uint32 originAsn) external {
        _requireCanonical(network, length);
        _requireActive(msg.sender);
        // The prefix itself is not registered yet (checked in _register), so the covering prefix
        // is a strictly shorter one: the delegation lies inside a prefix the caller holds.
        (bool found, Route memory parent) = _covering(network, length, length);
        if (!found || parent.holder != msg.sender) {
            revert PrefixRegistryNotHolder(msg.sender, network, length, parent.holder);
        }
        _register(network, length, to, originAsn, true);
        emit PrefixDelegated(network, length, msg.sender, to, originAsn);
    }

    /// @inheritdoc IPrefixRegistry
    function revoke(uint128 network, uint8 length) external {
        _requireCanonical(network, length);
        PrefixTrie.Node storage record = _trie.nodes[PrefixMath.key(network, length)];
        if (!record.registered) revert PrefixRegistryPrefixNotRegistered(network, length);
        address holder = record.holder;
        if (!hasRole(REGISTRAR_ROLE, msg.sender)) {
            // A delegation always has a parent: it was made inside one, and revoking a parent
            // re-parents it to the next covering prefix. A registrar's allocation may have none.
            if (!record.delegated) revert PrefixRegistryNotRevoker(msg.sender, network, length);
            (, Route memory parent) = _covering(network, length, length - 1);
            if (parent.holder != msg.sender) revert PrefixRegistryNotRevoker(msg.sender, network, length);
            _requireActive(msg.sender);
        }
        // What was registered inside the revoked prefix stays, beneath its parent.
        _trie.remove(network, length);
        --_prefixCount;
        emit PrefixRevoked(network, length, holder, msg.sender);
    }

    /// @inheritdoc IPrefixRegistry
    function setOrigin(uint128 network, uint8 length, uint32 originAsn) external {
        _requireCanonical(network, length);
        _requireAssignableAsn(originAsn);
        PrefixTrie.Node storage record = _trie.nodes[PrefixMath.key(network, length)];
        if (!record.registered) revert PrefixRegistryPrefixNotRegistered(network, length);
        address holder = record.holder;
        if (holder != msg.sender) revert PrefixRegistryNotHolder(msg.sender, network, length, holder);
        _requireActive(msg.sender);
        uint32 previous = record.originAsn;
        record.originAsn = originAsn;
        emit PrefixOriginChanged(network, length, previous, originAsn);
    }

    /// @inheritdoc IPrefixRegistry
    function prefix(uint128 network, uint8 length) external view returns (Route memory route) {
        _requireCanonical(network, length);
        PrefixTrie.Node memory record = _trie.nodes[PrefixMath.key(network, length)];
        if (record.registered) route = _route(network, length, record);
    }

    /// @inheritdoc IPrefixRegistry
    function lookup(uint128 addr) external view returns (bool found, Route memory route) {
        return _covering(addr, PrefixMath.MAX_LENGTH, PrefixMath.MAX_LENGTH);
    }

    /// @inheritdoc IPrefixRegistry
    function coveringPrefix(uint128 network, uint8 length) external view returns (bool found, Route memory route) {
        _requireCanonical(network, length);
        return _covering(network, length, length);
    }

    /// @inheritdoc IPrefixRegistry
    function holderOf(uint128 network, uint8 length) external view returns (address) {
        _requireCanonical(network, length);
        (, Route memory route) = _covering(network, length, length);
        return route.holder;
    }

    /// @inheritdoc IPrefixRegistry
    function isHolder(address account, uint128 network, uint8 length) external view returns (bool) {
        return _holdsAll(account, network, length);
    }

    /// @inheritdoc IPrefixRegistry
    function holderStatus(
        address account,
        uint128 network,
        uint8 length
    ) external view returns (ParticipantStatus status, bool holdsAll) {
        return (_standing[account].status, _holdsAll(account, network, length));
    }

    /// @inheritdoc IPrefixRegistry
    function settlementStanding(
        address account,
        uint128 network,
        uint8 length
    ) external view returns (ParticipantStatus status, bool holdsAll, uint256 minSalt) {
        Standing storage standing = _standing[account];
        return (standing.status, _holdsAll(account, network, length), standing.minOrderSalt);
    }

    // --- signed orders --------------------------------------------------------------------

    /// @inheritdoc IPrefixRegistry
    function cancelOrdersUpTo(uint248 minSalt) external {
        Standing storage standing = _standing[msg.sender];
        if (standing.status == ParticipantStatus.None) revert PrefixRegistryNotParticipant(msg.sender);
        uint248 current = standing.minOrderSalt;
        if (minSalt <= current) revert PrefixRegistryMinOrderSaltNotRaised(msg.sender, current, minSalt);
        standing.minOrderSalt = minSalt;
        emit OrdersCancelledUpTo(msg.sender, minSalt);
    }

    /// @inheritdoc IPrefixRegistry
    function minOrderSalt(address account) external view returns (uint256) {
        return _standing[account].minOrderSalt;
    }

    function _holdsAll(address account, uint128 network, uint8 length) private view returns (bool) {
        // A non-canonical prefix is held by no one; a view meant for other contracts answers
        // rather than reverts.
        if (!PrefixMath.isCanonical(network, length) || account == address(0)) return false;
        // On every request and order: the covering prefix's key and holder, nothing more.
        (bool found, uint256 key) = _coveringKey(network, length, length);
        if (!found) return false;
        PrefixTrie.Node storage covering = _trie.nodes[key];
        if (covering.holder != account) return false;
        // The target itself registered (the usual case): held wholly unless something inside is
        // another's, which its `mixed` flag says without going down.
        if (uint8(key) == length) return !covering.mixed;
        return _trie.holdsAllInside(uint128(key >> 8), uint8(key), network, length, account);
    }

    /// @inheritdoc IPrefixRegistry
    function registeredLengths() external view returns (uint256) {
        return _trie.registeredLengths();
    }

    /// @inheritdoc IPrefixRegistry
    function prefixCount() external view returns (uint256) {
        return _prefixCount;
    }

    // --- internals ------------------------------------------------------------------------

    function _registerParticipant(address account, string calldata name, string calldata metadataURI) private {
        if (account == address(0)) revert PrefixRegistryZeroAddress();
        if (bytes(name).length == 0) revert PrefixRegistryEmptyName(account);
        if (_standing[account].status != ParticipantStatus.None) revert PrefixRegistryAlreadyRegistered(account);
        _standing[account].status = ParticipantStatus.Active;
        _identity[account] = Identity(name, metadataURI);
        emit ParticipantRegistered(account, name, metadataURI, msg.sender);
    }

    function _assignAsn(uint32 asn, address holder) private {
        _requireAssignableAsn(asn);
        AsnRecord storage record = _asns[asn];
        address current = record.holder;
        if (current != address(0)) revert PrefixRegistryAsnAlreadyAssigned(asn, current);
        _requireActive(holder);
        record.holder = holder;
        ++record.epoch;
        emit AsnAssigned(asn, holder, msg.sender);
    }

    function _allocate(uint128 network, uint8 length, address holder, uint32 originAsn) private {
        _requireCanonical(network, length);
        _register(network, length, holder, originAsn, false);
        emit PrefixAllocated(network, length, holder, originAsn);
    }

    /// @dev Checks shared by allocation and delegation; `network`/`length` are canonical.
    function _register(uint128 network, uint8 length, address holder, uint32 originAsn, bool delegated) private {
        _requireAssignableAsn(originAsn);
        _requireActive(holder);
        PrefixTrie.Node storage record = _trie.nodes[PrefixMath.key(network, length)];
        if (record.registered) revert PrefixRegistryPrefixAlreadyRegistered(network, length, record.holder);
        _trie.insert(network, length, holder, originAsn, delegated);
        ++_prefixCount;
    }

    /// @dev The most specific registered prefix of length at most `maxLength` containing
    /// (`network`, `length`). Probes only the lengths in use, longest first.
    function _covering(
        uint128 network,
        uint8 length,
        uint8 maxLength
    ) private view returns (bool found, Route memory route) {
        uint256 key;
        (found, key) = _coveringKey(network, length, maxLength);
        if (found) route = _route(uint128(key >> 8), uint8(key), _trie.nodes[key]);
    }

    /// @dev The key of the prefix `_covering` finds. Probes only the lengths registered, longest
    /// first.
    function _coveringKey(uint128 network, uint8 length, uint8 maxLength) private view returns (bool, uint256) {
        uint8 longest = maxLength < length ? maxLength : length;
        // The lengths ever registered, up to `longest` (which is at most 128).
        uint256 candidates = _trie.registeredLengths() & ((uint256(2) << longest) - 1);
        while (candidates != 0) {
            uint8 candidate = uint8(Math.log2(candidates));
            uint256 key = PrefixMath.key(network & PrefixMath.mask(candidate), candidate);
            if (_trie.nodes[key].registered) return (true, key);
            candidates ^= uint256(1) << candidate;
        }
        return (false, 0);
    }

    function _route(uint128 network, uint8 length, PrefixTrie.Node memory record) private pure returns (Route memory) {
        return Route(network, length, record.originAsn, record.holder, record.delegated);
    }

    function _requireCanonical(uint128 network, uint8 length) private pure {
        if (length > PrefixMath.MAX_LENGTH) revert PrefixRegistryInvalidLength(length);
        if (!PrefixMath.isCanonical(network, length)) revert PrefixRegistryHostBitsSet(network, length);
    }

    function _requireAssignableAsn(uint32 asn) private pure {
        if (asn == 0 || asn == _AS_TRANS || asn == _AS_LAST_16 || asn == _AS_LAST_32) {
            revert PrefixRegistryReservedAsn(asn);
        }
    }

    function _requireActive(address account) private view {
        ParticipantStatus status = _standing[account].status;
        if (status == ParticipantStatus.None) revert PrefixRegistryNotParticipant(account);
        if (status == ParticipantStatus.Suspended) revert PrefixRegistryParticipantSuspended(account);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IPrefixRegistry
/// @notice The trust anchor for Internet number resources: which participant holds which AS
/// numbers and IP prefixes, and which AS may originate each prefix (ROA-like). Registrars
/// (RIR-like authorities) register participants, assign AS numbers and allocate prefixes; a holder
/// may delegate a more-specific part of its prefix to another participant.
/// @dev IPv4 and IPv6 share one 128-bit space: IPv4 a.b.c.d/n is ::ffff:a.b.c.d/(96+n). A prefix
/// is (network, length) with no bits set beyond `length`. The holder of any prefix or address is
/// the holder of the most specific registered prefix that covers it.
interface IPrefixRegistry {
    /// @notice Where a participant stands.
    enum ParticipantStatus {
        None,
        Active,
        Suspended
    }

    /// @notice A registered prefix, as returned by the queries.
    /// @param network The first address of the prefix.
    /// @param prefixLength The prefix length in the 128-bit space.
    /// @param originAsn The AS authorised to originate the prefix.
    /// @param holder The participant that holds it.
    /// @param delegated True when a holder delegated it, false when a registrar allocated it.
    struct Route {
        uint128 network;
        uint8 prefixLength;
        uint32 originAsn;
        address holder;
        bool delegated;
    }

    /// @notice One prefix of a batch allocation.
    struct Allocation {
        uint128 network;
        uint8 prefixLength;
        address holder;
        uint32 originAsn;
    }

    /// @notice One participant of a batch registration.
    struct ParticipantRegistration {
        address account;
        string name;
        string metadataURI;
    }

    /// @notice One AS number of a batch assignment.
    struct AsnAssignment {
        uint32 asn;
        address holder;
    }

    /// @notice Emitted when a registrar registers a participant.
    event ParticipantRegistered(address indexed account, string name, string metadataURI, address indexed registrar);
    /// @notice Emitted when a registrar changes a participant's identity.
    event ParticipantUpdated(address indexed account, string name, string metadataURI, address indexed registrar);
    /// @notice Emitted when a registrar suspends a participant.
    event ParticipantSuspended(address indexed account, address indexed registrar);
    /// @notice Emitted when a registrar reinstates a suspended participant.
    event ParticipantReinstated(address indexed account, address indexed registrar);

    /// @notice Emitted when a registrar assigns an AS number to a holder.
    event AsnAssigned(uint32 indexed asn, address indexed holder, address indexed registrar);
    /// @notice Emitted when a registrar moves an AS number to another holder.
    event AsnTransferred(uint32 indexed asn, address indexed from, address indexed to);
    /// @notice Emitted when a registrar takes an AS number back.
    event AsnRevoked(uint32 indexed asn, address indexed formerHolder, address indexed registrar);

    /// @notice Emitted when a participant voids every order it signed with a salt below `minSalt`.
    event OrdersCancelledUpTo(address indexed account, uint256 minSalt);

    /// @notice Emitted when a registrar allocates a prefix.
    event PrefixAllocated(uint128 network, uint8 prefixLength, address indexed holder, uint32 indexed originAsn);
    /// @notice Emitted when a holder delegates a more-specific prefix out of one it holds.
    event PrefixDelegated(
        uint128 network,
        uint8 prefixLength,
        address indexed from,
        address indexed to,
        uint32 indexed originAsn
    );
    /// @notice Emitted when a prefix is removed from the registry.
    event PrefixRevoked(uint128 network, uint8 prefixLength, address indexed formerHolder, address indexed by);
    /// @notice Emitted when the holder of a prefix changes the AS authorised to originate it.
    event PrefixOriginChanged(uint128 network, uint8 prefixLength, uint32 indexed previousAsn, uint32 indexed newAsn);

    /// @notice Thrown when a prefix length exceeds 128.
    error PrefixRegistryInvalidLength(uint8 length);
    /// @notice Thrown when a prefix has bits set beyond its length (e.g. 10.0.0.1/24).
    error PrefixRegistryHostBitsSet(uint128 network, uint8 length);
    /// @notice Thrown for AS 0, 23456 (AS_TRANS), 65535 and 4294967295, which no one may hold.
    error PrefixRegistryReservedAsn(uint32 asn);
    /// @notice Thrown when an account or holder argument is the zero address.
    error PrefixRegistryZeroAddress();
    /// @notice Thrown when a participant is registered without an organisation name.
    error PrefixRegistryEmptyName(address account);
    /// @notice Thrown when an account is registered twice.
    error PrefixRegistryAlreadyRegistered(address account);
    /// @notice Thrown when an account that must be a participant is not one.
    error PrefixRegistryNotParticipant(address account);
    /// @notice Thrown when a suspended participant acts, or is made to receive resources.
    error PrefixRegistryParticipantSuspended(address account);
    /// @notice Thrown when reinstating a participant that is not suspended.
    error PrefixRegistryParticipantNotSuspended(address account);
    /// @notice Thrown when assigning an AS number that already has a holder.
    error PrefixRegistryAsnAlreadyAssigned(uint32 asn, address holder);
    /// @notice Thrown when transferring or revoking an AS number that has no holder.
    error PrefixRegistryAsnNotAssigned(uint32 asn);
    /// @notice Thrown when registering a prefix that is already registered.
    error PrefixRegistryPrefixAlreadyRegistered(uint128 network, uint8 length, address holder);
    /// @notice Thrown when a prefix that must be registered is not.
    error PrefixRegistryPrefixNotRegistered(uint128 network, uint8 length);
    /// @notice Thrown when `account` acts on a prefix whose holder is `holder` (zero when no
    /// registered prefix covers it).
    error PrefixRegistryNotHolder(address account, uint128 network, uint8 length, address holder);
    /// @notice Thrown when someone other than a registrar or the holder of the covering prefix
    /// revokes a prefix, or a holder tries to revoke a registrar's allocation.
    error PrefixRegistryNotRevoker(address account, uint128 network, uint8 length);
    /// @notice Thrown when a batch is empty.
    error PrefixRegistryEmptyBatch();
    /// @notice Thrown when a participant's new minimum order salt does not raise the current one.
    error PrefixRegistryMinOrderSaltNotRaised(address account, uint256 current, uint256 proposed);

    // --- participants ---------------------------------------------------------------------

    /// @notice Registers `account` as an identified participant. Registrar only.
    /// @param name The organisation's name, as the registrar verified it.
    /// @param metadataURI Where the rest of its identity is published (or a content hash).
    function registerParticipant(address account, string calldata name, string calldata metadataURI) external;

    /// @notice Registers many participants in one transaction (bulk import). Registrar only. All
    /// or nothing: the first invalid entry reverts the batch with its own error.
    function registerParticipantBatch(ParticipantRegistration[] calldata registrations) external;

    /// @notice Replaces a participant's name and metadata. Registrar only.
    function updateParticipant(address account, string calldata name, string calldata metadataURI) external;

    /// @notice Suspends a participant: it can then neither delegate, set origins, request nor sell
    /// mitigation, until reinstated. Registrar only.
    function suspendParticipant(address account) external;

    /// @notice Lifts a suspension. Registrar only.
    function reinstateParticipant(address account) external;

    /// @notice The status of `account`.
    function participantStatus(address account) external view returns (ParticipantStatus);

    /// @notice The identity of `account`.
    function participant(
        address account
    ) external view returns (ParticipantStatus status, string memory name, string memory metadataURI);

    // --- AS numbers -----------------------------------------------------------------------

    /// @notice Assigns `asn` to the participant `holder`. Registrar only.
    function assignAsn(uint32 asn, address holder) external;

    /// @notice Assigns many AS numbers in one transaction (bulk import). Registrar only. All or
    /// nothing: the first invalid entry reverts the batch with its own error.
    function assignAsnBatch(AsnAssignment[] calldata assignments) external;

    /// @notice Moves `asn` to the participant `to`. Registrar only.
    function transferAsn(uint32 asn, address to) external;

    /// @notice Takes `asn` back. Prefixes keep it as origin AS until their holders change it.
    /// Registrar only.
    function revokeAsn(uint32 asn) external;

    /// @notice The holder of `asn`, or the zero address.
    function asnHolder(uint32 asn) external view returns (address);

    /// @notice The holder of `asn` (or the zero address) and its epoch, which changes whenever the
    /// AS number changes hands (assigned, transferred, revoked) and never repeats: consents tied
    /// to an epoch lapse when the AS number moves, even if it comes back.
    function asnAssignment(uint32 asn) external view returns (address holder, uint64 epoch);

    // --- prefixes -------------------------------------------------------------------------

    /// @notice Allocates a prefix to the participant `holder`, originated by `originAsn`.
    /// Registrar only. It may lie inside another registered prefix (a more-specific allocation).
    function allocate(uint128 network, uint8 length, address holder, uint32 originAsn) external;

    /// @notice Allocates many prefixes in one transaction (bulk import). Registrar only. All or
    /// nothing: the first invalid entry reverts the batch with its own error.
    function allocateBatch(Allocation[] calldata allocations) external;

    /// @notice Delegates the more-specific prefix (`network`, `length`) to the participant `to`.
    /// The caller must be an active participant holding the most specific registered prefix that
    /// covers it.
    function delegate(uint128 network, uint8 length, address to, uint32 originAsn) external;

    /// @notice Removes a prefix. A registrar may revoke any prefix; the holder of the most
    /// specific prefix strictly covering a delegated prefix may revoke that delegation.
    /// Delegations made out of the revoked prefix stay, and come under the next covering prefix.
    function revoke(uint128 network, uint8 length) external;

    /// @notice Sets the AS authorised to originate a prefix. Its holder only, while active.
    function setOrigin(uint128 network, uint8 length, uint32 originAsn) external;

    /// @notice The registered prefix (`network`, `length`) itself; `holder` is zero if none.
    function prefix(uint128 network, uint8 length) external view returns (Route memory);

    /// @notice Longest-prefix match: the most specific registered prefix containing `addr`.
    /// @return found False when no registered prefix contains `addr`.
    /// @return route The matching prefix.
    function lookup(uint128 addr) external view returns (bool found, Route memory route);

    /// @notice The most specific registered prefix that covers all of (`network`, `length`),
    /// which may be the prefix itself.
    function coveringPrefix(uint128 network, uint8 length) external view returns (bool found, Route memory route);

    /// @notice The holder of (`network`, `length`): the holder of the most specific registered
    /// prefix covering it, or the zero address.
    function holderOf(uint128 network, uint8 length) external view returns (address);

    /// @notice True when `account` holds all of (`network`, `length`): it holds the most specific
    /// registered prefix covering it, and no more-specific prefix inside it is registered to
    /// anyone else. Where the registry cannot prove the latter within a small probe budget it
    /// answers false (request the more-specific prefixes one by one). Meant to be called inside
    /// other contracts' transactions: it probes only the prefix lengths in use.
    function isHolder(address account, uint128 network, uint8 length) external view returns (bool);

    /// @notice What a service checks when it settles a signed order of `account`: its status,
    /// whether it holds all of (`network`, `length`), and the salt below which its orders are void.
    /// @dev Called once per settled order. Its selector (0x0104de45) is the registry's lowest, and
    /// the compiled dispatcher compares selectors in ascending order: it is found first (at the
    /// end of the list, where it was as `orderStanding`, the comparisons cost ~700 gas a call).
    function settlementStanding(
        address account,
        uint128 network,
        uint8 length
    ) external view returns (ParticipantStatus status, bool holdsAll, uint256 minSalt);

    /// @notice Voids every signed mitigation order of the caller whose salt is below `minSalt`, at
    /// every service at once. The minimum only rises. Any participant, even suspended.
    function cancelOrdersUpTo(uint248 minSalt) external;

    /// @notice The salt below which `account`'s signed orders are void.
    function minOrderSalt(address account) external view returns (uint256);

    /// @notice One call for contracts that act on a participant's behalf: its status, and whether
    /// it holds all of (`network`, `length`) as `isHolder` defines it.
    function holderStatus(
        address account,
        uint128 network,
        uint8 length
    ) external view returns (ParticipantStatus status, bool holdsAll);

    /// @notice The prefix lengths at which prefixes have been registered, as a bitmap (bit n for
    /// /n): every length in use now, and lengths no longer in use (they are never cleared; a
    /// longest-prefix match probes each of them at most once).
    function registeredLengths() external view returns (uint256);

    /// @notice How many prefixes are registered.
    function prefixCount() external view returns (uint256);
}

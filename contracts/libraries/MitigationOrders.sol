// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IProviderServiceContract} from "../interfaces/IProviderServiceContract.sol";

/// @title MitigationOrders
/// @notice The EIP-712 struct hash of a signed mitigation order, and the request id a settled order
/// is recorded under. Off chain, ethers' TypedDataEncoder with the types below gives the same hash
/// (`src/clients/orders.ts`).
library MitigationOrders {
    /// @notice keccak256 of the EIP-712 type of a prefix.
    bytes32 internal constant IP_PREFIX_TYPEHASH = keccak256("IpPrefix(uint128 network,uint8 prefixLength)");
    /// @notice keccak256 of the EIP-712 type of an order (referenced types appended, as EIP-712 says).
    bytes32 internal constant ORDER_TYPEHASH =
        keccak256(
            "Order(address service,address requester,uint32 offeringId,IpPrefix target,IpPrefix[] sources,"
            "uint32 duration,uint96 maxPrice,uint40 expiry,uint256 salt)IpPrefix(uint128 network,uint8 prefixLength)"
        );

    /// @dev Order ids set this bit; direct requests count up from 1 and never reach it.
    uint256 private constant _ORDER_BIT = 1 << 63;

    /// @notice The EIP-712 struct hash of `order` (hash it with the domain to get what is signed).
    /// @dev Hashed straight from calldata in scratch and free memory, without allocating: this
    /// runs for every order of a settlement. Fields are hashed as they are in calldata; a value
    /// with bits set above its type (which only a hand-made call could carry) hashes differently
    /// from what was signed and fails the signature check.
    function structHash(IProviderServiceContract.Order calldata order) internal pure returns (bytes32 result) {
        IProviderServiceContract.IpPrefix[] calldata sources = order.sources;
        bytes32 prefixTypeHash = IP_PREFIX_TYPEHASH;
        bytes32 orderTypeHash = ORDER_TYPEHASH;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let free := mload(0x40)
            // The sources: each IpPrefix is two words in calldata; their struct hashes go in a row
            // at `free`, each computed in the three words after them.
            let count := sources.length
            let scratch := add(free, shl(5, count))
            mstore(scratch, prefixTypeHash)
            for {
                let i := 0
            } lt(i, count) {
                i := add(i, 1)
            } {
                let source := add(sources.offset, shl(6, i))
                mstore(add(scratch, 0x20), calldataload(source))
                mstore(add(scratch, 0x40), calldataload(add(source, 0x20)))
                mstore(add(free, shl(5, i)), keccak256(scratch, 0x60))
            }
            let sourcesHash := keccak256(free, shl(5, count))
            // The target, at words 3 and 4 of the order.
            mstore(add(scratch, 0x20), calldataload(add(order, 0x60)))
            mstore(add(scratch, 0x40), calldataload(add(order, 0x80)))
            let targetHash := keccak256(scratch, 0x60)
            // The order: service, requester, offeringId, target, sources, duration, maxPrice,
            // expiry, salt (words 0-2 and 6-9 of the order; word 5 is the sources' offset).
            mstore(free, orderTypeHash)
            mstore(add(free, 0x20), calldataload(order))
            mstore(add(free, 0x40), calldataload(add(order, 0x20)))
            mstore(add(free, 0x60), calldataload(add(order, 0x40)))
            mstore(add(free, 0x80), targetHash)
            mstore(add(free, 0xa0), sourcesHash)
            mstore(add(free, 0xc0), calldataload(add(order, 0xc0)))
            mstore(add(free, 0xe0), calldataload(add(order, 0xe0)))
            mstore(add(free, 0x100), calldataload(add(order, 0x100)))
            mstore(add(free, 0x120), calldataload(add(order, 0x120)))
            result := keccak256(free, 0x140)
        }
    }

    /// @notice `requester << 64 | 1 << 63 | (hash mod 2^63)`: the requester is part of the id, as for a
    /// direct request, and the set bit keeps order ids apart from direct ones.
    function requestId(address requester, bytes32 hash) internal pure returns (uint256) {
        return (uint256(uint160(requester)) << 64) | _ORDER_BIT | (uint256(hash) & (_ORDER_BIT - 1));
    }
}

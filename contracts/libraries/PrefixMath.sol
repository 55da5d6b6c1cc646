// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title PrefixMath
/// @notice Arithmetic on IP prefixes in one 128-bit address space. IPv6 addresses are used as they
/// are; an IPv4 address a.b.c.d is the IPv4-mapped IPv6 address ::ffff:a.b.c.d (RFC 4291
/// §2.5.5.2), so an IPv4 /n is a /(96 + n) here. One space means one spelling per prefix: there is
/// no second, "IPv4" encoding that could register the same addresses twice.
library PrefixMath {
    /// @notice The longest prefix length in the 128-bit space.
    uint8 internal constant MAX_LENGTH = 128;

    /// @notice Returns the network mask of a prefix length (the `length` leading bits set).
    /// @dev Shifting a uint128 by 128 yields 0, which is the mask of the default route ::/0.
    function mask(uint8 length) internal pure returns (uint128) {
        return type(uint128).max << (MAX_LENGTH - length);
    }

    /// @notice True when `network` has no bits set beyond `length` and `length` is at most 128.
    function isCanonical(uint128 network, uint8 length) internal pure returns (bool) {
        return length <= MAX_LENGTH && network & ~mask(length) == 0;
    }

    /// @notice The storage key of a prefix: network and length packed into one word, so that two
    /// prefixes with the same network and different lengths never collide.
    function key(uint128 network, uint8 length) internal pure returns (uint256) {
        return (uint256(network) << 8) | length;
    }
}

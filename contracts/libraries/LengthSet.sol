// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title LengthSet
/// @notice The prefix lengths in use, per family, in one bitmap word beside per-length counts.
/// Longest-prefix match probes only the lengths in use, most specific first, instead of all 129;
/// and "could a registered prefix lie inside this one?" looks only at the lengths of its family.
/// @dev Bits 0..128 hold the lengths of prefixes outside the IPv4-mapped range ::ffff:0:0/96;
/// bits 129..161 hold lengths 96..128 of IPv4-mapped prefixes.
library LengthSet {
    uint256 private constant _IPV4_SHIFT = 129 - 96;
    uint256 private constant _OTHER_MASK = (uint256(1) << 129) - 1;

    struct Counts {
        uint128 other;
        uint128 ipv4;
    }

    struct Set {
        uint256 bitmap;
        mapping(uint8 length => Counts) counts;
    }

    function add(Set storage set, uint8 length, bool ipv4) internal {
        Counts storage c = set.counts[length];
        if (ipv4) {
            if (c.ipv4++ == 0) set.bitmap |= uint256(1) << (length + _IPV4_SHIFT);
        } else {
            if (c.other++ == 0) set.bitmap |= uint256(1) << length;
        }
    }

    function remove(Set storage set, uint8 length, bool ipv4) internal {
        Counts storage c = set.counts[length];
        if (ipv4) {
            if (--c.ipv4 == 0) set.bitmap &= ~(uint256(1) << (length + _IPV4_SHIFT));
        } else {
            if (--c.other == 0) set.bitmap &= ~(uint256(1) << length);
        }
    }

    /// @notice The lengths in use in either family, bit n for length n.
    function all(uint256 bitmap) internal pure returns (uint256) {
        // Not `bitmap >> _IPV4_SHIFT`: that would also move the other family's lengths 33..128 down.
        return other(bitmap) | ipv4(bitmap);
    }

    /// @notice The lengths in use by IPv4-mapped prefixes, bit n for length n.
    function ipv4(uint256 bitmap) internal pure returns (uint256) {
        return (bitmap >> 129) << 96;
    }

    /// @notice The lengths in use by prefixes outside the IPv4-mapped range, bit n for length n.
    function other(uint256 bitmap) internal pure returns (uint256) {
        return bitmap & _OTHER_MASK;
    }

    /// @notice The bits of `lengths` at most `maxLength`.
    function upTo(uint256 lengths, uint8 maxLength) internal pure returns (uint256) {
        // maxLength <= 128, so the shift never overflows 256 bits.
        return lengths & ((uint256(1) << (uint256(maxLength) + 1)) - 1);
    }

    /// @notice The bits of `lengths` above `minLength`.
    function above(uint256 lengths, uint8 minLength) internal pure returns (uint256) {
        return (lengths >> (uint256(minLength) + 1)) << (uint256(minLength) + 1);
    }

    /// @notice The highest set bit of a non-zero bitmap.
    function highest(uint256 bitmap) internal pure returns (uint8 length) {
        // Binary search over the bit positions.
        uint256 x = bitmap;
        if (x >> 128 != 0) {
            x >>= 128;
            length += 128;
        }
        if (x >> 64 != 0) {
            x >>= 64;
            length += 64;
        }
        if (x >> 32 != 0) {
            x >>= 32;
            length += 32;
        }
        if (x >> 16 != 0) {
            x >>= 16;
            length += 16;
        }
        if (x >> 8 != 0) {
            x >>= 8;
            length += 8;
        }
        if (x >> 4 != 0) {
            x >>= 4;
            length += 4;
        }
        if (x >> 2 != 0) {
            x >>= 2;
            length += 2;
        }
        if (x >> 1 != 0) length += 1;
    }
}

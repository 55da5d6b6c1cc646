// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title LengthSet
/// @notice The set of prefix lengths (0..128) that have at least one registered prefix, kept as a
/// bitmap beside a per-length count. Longest-prefix match then probes only the lengths in use,
/// most specific first, instead of all 129.
library LengthSet {
    struct Set {
        // Bit n is set iff counts[n] > 0.
        uint256 bitmap;
        mapping(uint8 length => uint256 prefixes) counts;
    }

    function add(Set storage set, uint8 length) internal {
        if (set.counts[length]++ == 0) set.bitmap |= uint256(1) << length;
    }

    function remove(Set storage set, uint8 length) internal {
        if (--set.counts[length] == 0) set.bitmap &= ~(uint256(1) << length);
    }

    /// @notice The lengths in use that are at most `maxLength`, as a bitmap.
    function upTo(Set storage set, uint8 maxLength) internal view returns (uint256) {
        // maxLength <= 128, so the shift never overflows 256 bits.
        return set.bitmap & ((uint256(1) << (uint256(maxLength) + 1)) - 1);
    }

    /// @notice The highest set bit of a non-zero bitmap.
    function highest(uint256 bitmap) internal pure returns (uint8 length) {
        // Binary search over the bit positions; at most 129 are ever set.
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

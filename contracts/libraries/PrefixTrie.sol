// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {PrefixMath} from "./PrefixMath.sol";

/// @title PrefixTrie
/// @notice The registered prefixes as a binary radix (Patricia) tree over the 128-bit space, each
/// node summarising its subtree: one holder for every registered prefix in it, or "mixed". It
/// answers "is every registered prefix inside this target held by this account?" exactly, by a
/// walk down from the target's covering prefix: one storage read per node between the two,
/// whatever is registered elsewhere.
/// @dev Two kinds of node. A registered prefix has a record in `nodes` (holder, origin, flags, and
/// `mixed`: some prefix beneath it is held by someone else). A branch node exists only where two
/// subtrees part, so it always has two children; it has no record, only its `links` word, whose
/// top bit says whether its subtree is mixed. When it is not, its holder is found by going down
/// its first children to a registered prefix. The root ::/0 is always a node; it has a record only
/// while ::/0 itself is registered.
///
/// `links` holds a node's two children, each encoded relative to the node (network `pn`, length
/// `pl`): the child's bits after position `pl` (its bit at `pl` is the side it hangs on), then a
/// marker bit, i.e. `uint128(network << (pl + 1)) | 1 << (128 - length + pl)`: the marker is the
/// lowest set bit, so its position gives the length, and 0 means "no child". Below the root
/// (`pl` >= 1) that takes at most 127 bits, so it is stored shifted down by one: the child on side
/// 0 in bits 0..126, bit 127 set when that child is a registered prefix (so that going down first
/// children reads one slot per node), the child on side 1 in bits 128..254, and bit 255 the branch
/// node's `mixed`. The root's children take 128 bits each.
///
/// No walk from the root: the node to hang a new prefix under is the deepest node that contains
/// it, found like a longest-prefix match over `lengths`, the lengths at which registered prefixes
/// (bits 0..128) and branch nodes (bits 129..255 for lengths 1..127: a branch node has children
/// longer than itself) have ever existed. Never cleared: a stale length costs a probe, never a
/// wrong answer.
library PrefixTrie {
    /// @notice A registered prefix.
    /// @param mixed True when some registered prefix beneath it is held by someone other than
    /// `holder`.
    struct Node {
        address holder;
        uint32 originAsn;
        bool registered;
        bool delegated;
        bool mixed;
    }

    struct Trie {
        mapping(uint256 prefixKey => Node) nodes;
        mapping(uint256 prefixKey => uint256 word) links;
        uint256 lengths;
    }

    /// @dev `PrefixMath.key(0, 0)`: the root ::/0.
    uint256 private constant _ROOT = 0;
    /// @dev In a branch node's `links`: its subtree holds more than one holder.
    uint256 private constant _MIXED = 1 << 255;
    /// @dev In `links` below the root: the child on side 0 is a registered prefix.
    uint256 private constant _ZERO_REGISTERED = 1 << 127;
    uint256 private constant _LOW_HALF = type(uint128).max;
    /// @dev In `lengths`: where branch lengths start (bit 129 is length 1).
    uint256 private constant _BRANCH_LENGTHS = 128;
    uint256 private constant _REGISTERED_LENGTHS = (uint256(1) << 129) - 1;
    /// @dev The bits of one child in the `links` of a node below the root.
    uint128 private constant _CHILD_BITS = type(uint128).max >> 1;

    /// @notice Registers (`network`, `length`), which must be canonical and not registered.
    function insert(
        Trie storage trie,
        uint128 network,
        uint8 length,
        address holder,
        uint32 originAsn,
        bool delegated
    ) internal {
        Node memory added = Node(holder, originAsn, true, delegated, false);
        _useLength(trie, uint256(1) << length);
        if (length == 0) {
            added.mixed = _sideDiffers(trie, _ROOT, 0, holder) || _sideDiffers(trie, _ROOT, 1, holder);
            trie.nodes[_ROOT] = added;
            return;
        }
        uint256 key = PrefixMath.key(network, length);
        uint256 parentKey = _deepest(trie, network, length);
        // What the parent had on the new prefix's side before, when it was one holder's.
        address before;
        if (parentKey == key) {
            // A branch node is there already: it becomes registered, keeping its children.
            bool mixed;
            (before, mixed) = _summary(trie, key);
            added.mixed = mixed || before != holder;
            trie.nodes[key] = added;
            trie.links[key] &= ~_MIXED;
            parentKey = _parentOf(trie, key);
            if (parentKey != _ROOT && _bit(network, uint8(parentKey)) == 0) trie.links[parentKey] |= _ZERO_REGISTERED;
        } else {
            before = _placeUnder(trie, parentKey, key, added);
        }
        _addHolderAbove(trie, parentKey, holder, before);
    }

    /// @notice Unregisters (`network`, `length`), which must be registered. What lies beneath it
    /// stays registered.
    function remove(Trie storage trie, uint128 network, uint8 length) internal {
        if (length == 0) {
            delete trie.nodes[_ROOT];
            return;
        }
        uint256 key = PrefixMath.key(network, length);
        uint256 parentKey = _parentOf(trie, key);
        uint256 side = _bit(network, uint8(parentKey));
        uint256 word = trie.links[key];
        uint128 zero = uint128(word) & _CHILD_BITS;
        uint128 one = uint128(word >> 128) & _CHILD_BITS;
        delete trie.nodes[key];
        if (zero != 0 && one != 0) {
            // Two subtrees still part here: it stays, as a branch node.
            _useLength(trie, uint256(1) << (_BRANCH_LENGTHS + length));
            if (_branchMixed(trie, key, word)) trie.links[key] = word | _MIXED;
            if (parentKey != _ROOT && side == 0) trie.links[parentKey] &= ~_ZERO_REGISTERED;
        } else if (zero != 0 || one != 0) {
            // One child: it takes the removed node's place under the parent.
            _moveChild(trie, key, zero != 0 ? 0 : 1, zero | one, parentKey, side);
            delete trie.links[key];
        } else {
            _setChild(trie, parentKey, side, 0, false);
            if (parentKey != _ROOT && !trie.nodes[parentKey].registered) {
                // The parent was a branch node and has one child left: that child takes its place.
                uint256 grandparentKey = _parentOf(trie, parentKey);
                uint256 parentSide = _bit(uint128(parentKey >> 8), uint8(grandparentKey));
                _moveChild(trie, parentKey, 1 - side, _child(trie, parentKey, 1 - side), grandparentKey, parentSide);
                delete trie.links[parentKey];
                parentKey = grandparentKey;
            }
        }
        _resummariseAbove(trie, parentKey);
    }

    /// @notice True when every registered prefix strictly inside (`network`, `length`) is held by
    /// `account`, given the registered prefix that covers it (`coveringNetwork`,
    /// `coveringLength`), which `account` holds.
    function holdsAllInside(
        Trie storage trie,
        uint128 coveringNetwork,
        uint8 coveringLength,
        uint128 network,
        uint8 length,
        address account
    ) internal view returns (bool) {
        if (coveringLength == length) return !trie.nodes[PrefixMath.key(network, length)].mixed;
        // Go down from the covering prefix towards the target, to the first node inside it: its
        // subtree is exactly what is registered inside the target.
        (bool found, uint256 parentKey, uint256 word, uint256 side) = _firstInside(
            trie,
            PrefixMath.key(coveringNetwork, coveringLength),
            network,
            length
        );
        if (!found) return true;
        (address holder, bool mixed) = _childSummary(trie, parentKey, word, side);
        return !mixed && holder == account;
    }

    /// @notice The lengths at which prefixes have been registered (bit n for /n), never cleared.
    function registeredLengths(Trie storage trie) internal view returns (uint256) {
        return trie.lengths & _REGISTERED_LENGTHS;
    }

    /// @dev Goes down from node `parentKey`, which contains (`network`, `length`), to the first node
    /// inside it. Returns that node's parent, the parent's `links` and the node's side there; or
    /// `found` false when nothing is registered inside.
    function _firstInside(
        Trie storage trie,
        uint256 parentKey,
        uint128 network,
        uint8 length
    ) private view returns (bool found, uint256 parent, uint256 word, uint256 side) {
        while (true) {
            (uint128 parentNetwork, uint8 parentLength) = _split(parentKey);
            side = _bit(network, parentLength);
            word = trie.links[parentKey];
            uint128 encoded = _half(word, parentKey, side);
            if (encoded == 0) return (false, parentKey, word, side);
            (uint128 childNetwork, uint8 childLength) = _decode(encoded, parentNetwork, parentLength, side);
            if (childLength >= length)
                return (childNetwork & PrefixMath.mask(length) == network, parentKey, word, side);
            if (network & PrefixMath.mask(childLength) != childNetwork) return (false, parentKey, word, side);
            parentKey = PrefixMath.key(childNetwork, childLength);
        }
    }

    // --- structure ------------------------------------------------------------------------

    /// @dev Hangs `added` at `key` beneath `parentKey`, the deepest node containing it: on an
    /// empty side, or next to the child there. Returns the holder of that child's subtree when it
    /// was one holder's.
    function _placeUnder(
        Trie storage trie,
        uint256 parentKey,
        uint256 key,
        Node memory added
    ) private returns (address before) {
        uint8 parentLength = uint8(parentKey);
        (uint128 network, uint8 length) = _split(key);
        uint256 side = _bit(network, parentLength);
        uint128 encoded = _child(trie, parentKey, side);
        trie.nodes[key] = added;
        if (encoded == 0) {
            _setChild(trie, parentKey, side, _encode(network, length, parentLength), true);
            return address(0);
        }
        (uint128 childNetwork, uint8 childLength) = _decode(encoded, uint128(parentKey >> 8), parentLength, side);
        uint256 childKey = PrefixMath.key(childNetwork, childLength);
        bool childMixed;
        (before, childMixed) = _summary(trie, childKey);
        _placeBeside(trie, parentKey, childKey, key, childMixed || before != added.holder);
    }

    /// @dev Hangs the registered `key` next to `childKey`, the child of `parentKey` on its side:
    /// above it when it contains it, else beside it under a new branch node where the two part.
    /// `differs` says whether the child's subtree holds someone other than the new prefix's holder.
    function _placeBeside(Trie storage trie, uint256 parentKey, uint256 childKey, uint256 key, bool differs) private {
        (uint128 network, uint8 length) = _split(key);
        (uint128 childNetwork, uint8 childLength) = _split(childKey);
        // The parent is the deepest node containing the new prefix, so the child does not: either
        // the new prefix contains the child, or they part before the shorter one ends.
        uint8 common = _commonLength(network, childNetwork, childLength < length ? childLength : length);
        bool childRegistered = trie.nodes[childKey].registered;
        uint256 placedKey = key;
        if (common == length) {
            if (differs) trie.nodes[key].mixed = true;
            _setChild(trie, key, _bit(childNetwork, length), _relative(childKey, length), childRegistered);
        } else {
            _useLength(trie, uint256(1) << (_BRANCH_LENGTHS + common));
            placedKey = PrefixMath.key(network & PrefixMath.mask(common), common);
            _setChild(trie, placedKey, _bit(network, common), _relative(key, common), true);
            _setChild(trie, placedKey, _bit(childNetwork, common), _relative(childKey, common), childRegistered);
            if (differs) trie.links[placedKey] |= _MIXED;
        }
        uint8 parentLength = uint8(parentKey);
        _setChild(trie, parentKey, _bit(network, parentLength), _relative(placedKey, parentLength), placedKey == key);
    }

    /// @dev Hangs the child on `fromSide` of node `fromKey` (encoded as `encoded`) on `toSide` of
    /// node `toKey`, an ancestor of `fromKey`.
    function _moveChild(
        Trie storage trie,
        uint256 fromKey,
        uint256 fromSide,
        uint128 encoded,
        uint256 toKey,
        uint256 toSide
    ) private {
        (uint128 fromNetwork, uint8 fromLength) = _split(fromKey);
        (uint128 childNetwork, uint8 childLength) = _decode(encoded, fromNetwork, fromLength, fromSide);
        uint256 childKey = PrefixMath.key(childNetwork, childLength);
        _setChild(trie, toKey, toSide, _relative(childKey, uint8(toKey)), trie.nodes[childKey].registered);
    }

    // --- summaries ------------------------------------------------------------------------

    /// @dev After `holder` was placed beneath `key`: marks mixed every ancestor, from `key` up,
    /// that was one holder's and is no longer. `before` is the holder of the subtree the walk comes
    /// from, as it was, when it was one holder's: a branch node that was not mixed held just that.
    function _addHolderAbove(Trie storage trie, uint256 key, address holder, address before) private {
        while (true) {
            Node storage node = trie.nodes[key];
            if (node.registered) {
                if (node.mixed || node.holder == holder) return;
                node.mixed = true;
                before = node.holder;
            } else {
                if (key == _ROOT) return;
                uint256 word = trie.links[key];
                if (word & _MIXED != 0 || before == holder) return;
                trie.links[key] = word | _MIXED;
            }
            if (key == _ROOT) return;
            key = _parentOf(trie, key);
        }
    }

    /// @dev After something beneath `key` was removed: recomputes each ancestor's summary from its
    /// children, from `key` up, until one does not change (nor, then, will any above it; a removal
    /// never changes which holder a subtree that is not mixed belongs to).
    function _resummariseAbove(Trie storage trie, uint256 key) private {
        while (true) {
            Node storage node = trie.nodes[key];
            if (node.registered) {
                bool mixed = _sideDiffers(trie, key, 0, node.holder) || _sideDiffers(trie, key, 1, node.holder);
                if (mixed == node.mixed) return;
                node.mixed = mixed;
            } else {
                if (key == _ROOT) return;
                uint256 word = trie.links[key];
                bool mixed = _branchMixed(trie, key, word);
                if (mixed == (word & _MIXED != 0)) return;
                trie.links[key] = mixed ? word | _MIXED : word & ~_MIXED;
            }
            if (key == _ROOT) return;
            key = _parentOf(trie, key);
        }
    }

    /// @dev The holder of every registered prefix in the subtree of node `key`, or `mixed`.
    function _summary(Trie storage trie, uint256 key) private view returns (address holder, bool mixed) {
        Node storage node = trie.nodes[key];
        if (node.registered) return (node.holder, node.mixed);
        return _branchSummary(trie, key);
    }

    /// @dev `_summary` of the child on `side` of node `parentKey`, whose `links` are `word`: below
    /// the root, the child on side 0 is known to be registered or not without reading its record.
    function _childSummary(
        Trie storage trie,
        uint256 parentKey,
        uint256 word,
        uint256 side
    ) private view returns (address holder, bool mixed) {
        (uint128 network, uint8 length) = _split(parentKey);
        (uint128 childNetwork, uint8 childLength) = _decode(_half(word, parentKey, side), network, length, side);
        uint256 childKey = PrefixMath.key(childNetwork, childLength);
        if (side == 1 || parentKey == _ROOT) return _summary(trie, childKey);
        if (word & _ZERO_REGISTERED == 0) return _branchSummary(trie, childKey);
        Node storage child = trie.nodes[childKey];
        return (child.holder, child.mixed);
    }

    /// @dev `_summary` of the branch node `key`.
    function _branchSummary(Trie storage trie, uint256 key) private view returns (address holder, bool mixed) {
        uint256 word = trie.links[key];
        if (word & _MIXED != 0) return (address(0), true);
        // One holder throughout: any registered prefix below says which. Go down the children on
        // side 0 (a branch node always has one) to the first registered prefix.
        while (true) {
            (uint128 network, uint8 length) = _split(key);
            (uint128 childNetwork, uint8 childLength) = _decode(uint128(word) & _CHILD_BITS, network, length, 0);
            key = PrefixMath.key(childNetwork, childLength);
            if (word & _ZERO_REGISTERED != 0) return (trie.nodes[key].holder, false);
            word = trie.links[key];
        }
    }

    /// @dev Whether the subtree of the branch node `key`, whose `links` are `word`, holds more than
    /// one holder.
    function _branchMixed(Trie storage trie, uint256 key, uint256 word) private view returns (bool) {
        (address holder, bool mixed) = _childSummary(trie, key, word, 0);
        return mixed || _sideDiffers(trie, key, 1, holder);
    }

    /// @dev True when node `key` has a child on `side` whose subtree holds someone other than
    /// `holder`.
    function _sideDiffers(Trie storage trie, uint256 key, uint256 side, address holder) private view returns (bool) {
        uint256 word = trie.links[key];
        if (_half(word, key, side) == 0) return false;
        (address childHolder, bool mixed) = _childSummary(trie, key, word, side);
        return mixed || childHolder != holder;
    }

    // --- finding nodes --------------------------------------------------------------------

    /// @dev The deepest node, of length at most `length`, containing (`network`, `length`).
    function _deepest(Trie storage trie, uint128 network, uint8 length) private view returns (uint256) {
        uint256 lengths = trie.lengths;
        // Lengths 1..length at which nodes have existed; the root is the answer when none is there.
        uint256 upTo = (uint256(2) << length) - 2;
        uint256 registered = lengths & upTo;
        uint256 branch = (lengths >> _BRANCH_LENGTHS) & upTo;
        uint256 candidates = registered | branch;
        while (candidates != 0) {
            uint8 candidate = uint8(Math.log2(candidates));
            uint256 bit = uint256(1) << candidate;
            uint256 key = PrefixMath.key(network & PrefixMath.mask(candidate), candidate);
            // Read only what can be there: a registered prefix has a record, a branch node links.
            if (registered & bit != 0 && trie.nodes[key].registered) return key;
            if (branch & bit != 0 && trie.links[key] != 0) return key;
            candidates ^= bit;
        }
        return _ROOT;
    }

    /// @dev The parent of node `key` (not the root).
    function _parentOf(Trie storage trie, uint256 key) private view returns (uint256) {
        (uint128 network, uint8 length) = _split(key);
        return _deepest(trie, network, length - 1);
    }

    function _useLength(Trie storage trie, uint256 bit) private {
        if (trie.lengths & bit == 0) trie.lengths |= bit;
    }

    // --- encoding -------------------------------------------------------------------------

    function _child(Trie storage trie, uint256 key, uint256 side) private view returns (uint128) {
        return _half(trie.links[key], key, side);
    }

    /// @dev The encoded child on `side` in the `links` word of node `key`.
    function _half(uint256 word, uint256 key, uint256 side) private pure returns (uint128) {
        uint128 half = side == 0 ? uint128(word) : uint128(word >> 128);
        return key == _ROOT ? half : half & _CHILD_BITS;
    }

    /// @dev Sets the child on `side` of node `key`; `registered` says whether it is a registered
    /// prefix (recorded for side 0 below the root).
    function _setChild(Trie storage trie, uint256 key, uint256 side, uint128 encoded, bool registered) private {
        uint256 word = trie.links[key];
        if (key == _ROOT) {
            // The root's children take whole halves, and it has no flags.
            trie.links[key] = side == 0
                ? (word & ~_LOW_HALF) | encoded
                : (word & _LOW_HALF) | (uint256(encoded) << 128);
        } else if (side == 0) {
            uint256 kind = registered ? _ZERO_REGISTERED : 0;
            trie.links[key] = (word & ~(_LOW_HALF)) | encoded | kind;
        } else {
            trie.links[key] = (word & (_LOW_HALF | _MIXED)) | (uint256(encoded) << 128);
        }
    }

    /// @dev The node `key` encoded as a child of a node of length `parentLength`.
    function _relative(uint256 key, uint8 parentLength) private pure returns (uint128) {
        return _encode(uint128(key >> 8), uint8(key), parentLength);
    }

    /// @dev A child (`network`, `length`) relative to its parent's length `parentLength`.
    function _encode(uint128 network, uint8 length, uint8 parentLength) private pure returns (uint128) {
        // length > parentLength, so the marker's position 128 - length + parentLength is in 0..127,
        // and in 1..127 below the root.
        uint128 encoded = (network << (parentLength + 1)) | (uint128(1) << (128 - length + parentLength));
        return parentLength == 0 ? encoded : encoded >> 1;
    }

    /// @dev The child on `side` of (`parentNetwork`, `parentLength`) from its encoding (non-zero).
    function _decode(
        uint128 encoded,
        uint128 parentNetwork,
        uint8 parentLength,
        uint256 side
    ) private pure returns (uint128 network, uint8 length) {
        uint128 full = parentLength == 0 ? encoded : encoded << 1;
        uint256 marker = Math.log2(uint256(full & (~full + 1)));
        length = uint8(128 + uint256(parentLength) - marker);
        network =
            parentNetwork |
            (uint128(side) << (127 - parentLength)) |
            ((full ^ uint128(1 << marker)) >> (parentLength + 1));
    }

    /// @dev How many leading bits `a` and `b` share, at most `limit`.
    function _commonLength(uint128 a, uint128 b, uint8 limit) private pure returns (uint8) {
        uint128 different = a ^ b;
        if (different == 0) return limit;
        uint256 common = 127 - Math.log2(uint256(different));
        return common < limit ? uint8(common) : limit;
    }

    /// @dev The bit of `network` at `position` (0 is the most significant).
    function _bit(uint128 network, uint8 position) private pure returns (uint256) {
        return (network >> (127 - position)) & 1;
    }

    function _split(uint256 key) private pure returns (uint128 network, uint8 length) {
        return (uint128(key >> 8), uint8(key));
    }
}

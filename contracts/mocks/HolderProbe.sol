// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IPrefixRegistry} from "../interfaces/IPrefixRegistry.sol";

/// @title HolderProbe
/// @notice Test-only: calls `IPrefixRegistry.isHolder` inside a transaction, the way a market
/// contract will, so that the gas of the check can be read from a receipt.
/// @dev `record` does the same bookkeeping without the registry call; the difference between the
/// two receipts is the cost of asking the registry.
contract HolderProbe {
    /// @notice The registry asked.
    IPrefixRegistry public immutable REGISTRY;

    /// @notice The answer of the last probe.
    bool public lastHeld;
    /// @notice How many probes or records were made.
    uint256 public probes;

    /// @notice Emitted for every probe or record.
    event Probed(address indexed account, uint128 network, uint8 length, bool held);

    constructor(IPrefixRegistry registry) {
        REGISTRY = registry;
    }

    /// @notice Asks the registry whether `account` holds the prefix, and records the answer.
    function probe(address account, uint128 network, uint8 length) external returns (bool held) {
        held = REGISTRY.isHolder(account, network, length);
        _record(account, network, length, held);
    }

    /// @notice Records `held` as if the registry had answered it: the baseline of `probe`.
    function record(address account, uint128 network, uint8 length, bool held) external {
        _record(account, network, length, held);
    }

    function _record(address account, uint128 network, uint8 length, bool held) private {
        lastHeld = held;
        ++probes;
        emit Probed(account, network, length, held);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice Test-only: a hostile ERC-20 for a ServiceDirectory deployed with it. Armed with a call,
/// its next transfer (`transfer` or `transferFrom`, not a mint) makes that call after moving the
/// tokens: into a service contract or the directory, in the middle of an escrow, payout or refund.
/// A failing call's revert is bubbled up, so a test sees the error the re-entered contract raised.
/// @dev The token can also act as an account (`execute`), so it can be the participant that
/// requests (a hostile requester) or the provider that is paid (a hostile provider): its re-entrant
/// calls then pass the callee's caller checks and meet only its re-entrancy guard.
contract ReentrantToken is ERC20 {
    address private _target;
    bytes private _payload;
    bool private _armed;

    /// @notice How many re-entrant calls were made.
    uint256 public reentries;

    constructor() ERC20("Reentrant Token", "RNT") {}

    /// @notice Creates tokens, for anyone: a test token.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Makes the next transfer call `target` with `payload`, once.
    function arm(address target, bytes calldata payload) external {
        _target = target;
        _payload = payload;
        _armed = true;
    }

    /// @notice Calls `target` with `payload` as this contract, bubbling up a revert.
    function execute(address target, bytes calldata payload) external returns (bytes memory result) {
        return _call(target, payload);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (_armed && from != address(0)) {
            _armed = false;
            ++reentries;
            _call(_target, _payload);
        }
    }

    function _call(address target, bytes memory payload) private returns (bytes memory result) {
        bool ok;
        // solhint-disable-next-line avoid-low-level-calls
        (ok, result) = target.call(payload);
        if (!ok) {
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title OrderWallet
/// @notice Test-only contract wallet (ERC-1271): a victim that is a contract, whose owner's key signs
/// its orders. In `greedy` mode its signature check burns all the gas it is given, as a hostile
/// wallet would to sink a provider's batch.
contract OrderWallet is IERC1271 {
    /// @notice The key that signs for the wallet.
    address public immutable OWNER;
    /// @notice When true, `isValidSignature` never returns.
    bool public greedy;

    constructor(address owner) {
        OWNER = owner;
    }

    /// @notice Approves `spender` for the wallet's tokens.
    function approve(IERC20 token, address spender, uint256 amount) external {
        token.approve(spender, amount);
    }

    /// @notice Turns the gas-burning mode on or off.
    function setGreedy(bool on) external {
        greedy = on;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (greedy) {
            uint256 spin = 0;
            while (gasleft() > 0) ++spin;
        }
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(hash, signature);
        return error == ECDSA.RecoverError.NoError && signer == OWNER ? IERC1271.isValidSignature.selector : bytes4(0);
    }
}

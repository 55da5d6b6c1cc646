// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title MitigationToken
/// @notice The ERC-20 token (18 decimals, ERC-2612 permit) that pays for DDoS mitigation. Only
/// accounts with the minter role create tokens; the admin role grants and revokes roles.
contract MitigationToken is ERC20, ERC20Permit, AccessControl {
    /// @notice The role allowed to mint.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Thrown when the admin or the minter given to the constructor is the zero address:
    /// roles could then never be managed, or tokens never minted.
    error MitigationTokenZeroAddress(bytes32 role);

    /// @param admin Receives the admin role.
    /// @param minter Receives the minter role (may be the admin).
    constructor(
        string memory name,
        string memory symbol,
        address admin,
        address minter
    ) ERC20(name, symbol) ERC20Permit(name) {
        if (admin == address(0)) revert MitigationTokenZeroAddress(DEFAULT_ADMIN_ROLE);
        if (minter == address(0)) revert MitigationTokenZeroAddress(MINTER_ROLE);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, minter);
    }

    /// @notice Creates `amount` tokens for `to`. Minter only.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IPrefixRegistry} from "../interfaces/IPrefixRegistry.sol";
import {IProviderServiceContract} from "../interfaces/IProviderServiceContract.sol";

/// @title HardeningLens
/// @notice Test-only: reads everything the stateful tests compare with their model in one
/// `eth_call` (balances, allowances, participants, the registry's answers, requests and orders), so
/// that the invariants can be checked after every step of thousands of random sequences.
contract HardeningLens {
    /// @notice A prefix to ask about.
    struct Query {
        uint128 network;
        uint8 prefixLength;
    }

    /// @notice A request to read.
    struct RequestRef {
        IProviderServiceContract service;
        uint256 requestId;
    }

    /// @notice What `read` read. `allowances[i * spenders.length + j]` is what `accounts[i]`
    /// allows `spenders[j]`; a request never made (an order not settled) reads as status None.
    struct Snapshot {
        uint256 totalSupply;
        uint256[] balances;
        uint8[] statuses;
        uint256[] minOrderSalts;
        uint256[] allowances;
        string[] orderEndpoints;
        IProviderServiceContract.Request[] requests;
    }

    /// @notice What `readRegistry` read.
    struct RegistrySnapshot {
        IPrefixRegistry.Route[] covering;
        bool[] held;
        uint256 registeredLengths;
        uint256 prefixCount;
    }

    /// @notice The token balances, allowances to `spenders`, participant status and minimum
    /// order salt of `accounts`, the order endpoint of `services`, and `requests`.
    function read(
        IERC20 token,
        IPrefixRegistry registry,
        address[] calldata accounts,
        address[] calldata spenders,
        IProviderServiceContract[] calldata services,
        RequestRef[] calldata requests
    ) external view returns (Snapshot memory s) {
        s.totalSupply = token.totalSupply();
        s.balances = new uint256[](accounts.length);
        s.statuses = new uint8[](accounts.length);
        s.minOrderSalts = new uint256[](accounts.length);
        s.allowances = new uint256[](accounts.length * spenders.length);
        for (uint256 i = 0; i < accounts.length; ++i) {
            s.balances[i] = token.balanceOf(accounts[i]);
            s.statuses[i] = uint8(registry.participantStatus(accounts[i]));
            s.minOrderSalts[i] = registry.minOrderSalt(accounts[i]);
            for (uint256 j = 0; j < spenders.length; ++j) {
                s.allowances[i * spenders.length + j] = token.allowance(accounts[i], spenders[j]);
            }
        }
        s.orderEndpoints = new string[](services.length);
        for (uint256 j = 0; j < services.length; ++j) s.orderEndpoints[j] = services[j].orderEndpoint();
        s.requests = new IProviderServiceContract.Request[](requests.length);
        for (uint256 k = 0; k < requests.length; ++k) {
            try requests[k].service.getRequest(requests[k].requestId) returns (
                IProviderServiceContract.Request memory r
            ) {
                s.requests[k] = r;
            } catch (bytes memory reason) {
                // Never made: status None, the rest zeros. Any other failure is the lens's caller's.
                if (bytes4(reason) != IProviderServiceContract.ProviderServiceUnknownRequest.selector) {
                    // solhint-disable-next-line no-inline-assembly
                    assembly ("memory-safe") {
                        revert(add(reason, 0x20), mload(reason))
                    }
                }
                s.requests[k].requester = address(uint160(requests[k].requestId >> 64));
            }
        }
    }

    /// @notice The registry's answers: `covering[j]` is `coveringPrefix(queries[j])`, and
    /// `held[k]` is `isHolder(accounts[k], queries[queryOf[k]])`.
    function readRegistry(
        IPrefixRegistry registry,
        Query[] calldata queries,
        address[] calldata accounts,
        uint256[] calldata queryOf
    ) external view returns (RegistrySnapshot memory s) {
        s.covering = new IPrefixRegistry.Route[](queries.length);
        for (uint256 j = 0; j < queries.length; ++j) {
            (, s.covering[j]) = registry.coveringPrefix(queries[j].network, queries[j].prefixLength);
        }
        s.held = new bool[](accounts.length);
        for (uint256 k = 0; k < accounts.length; ++k) {
            Query calldata q = queries[queryOf[k]];
            s.held[k] = registry.isHolder(accounts[k], q.network, q.prefixLength);
        }
        s.registeredLengths = registry.registeredLengths();
        s.prefixCount = registry.prefixCount();
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";
import {IERC6551Registry} from "./interfaces/IERC6551.sol";

/// @title Registry of token bound accounts (ERC-6551)
/// @notice Permissionless, ownerless and immutable, as EIP-6551 specifies: the account of a token is
///         an ERC-1167 minimal proxy to `implementation` whose runtime code ends with the 128-byte
///         footer (salt, chainId, tokenContract, tokenId), deployed with CREATE2 under `salt`, so its
///         address is known before it exists. The AgentRegistry creates each agent's account here
///         (salt 0) when the agent registers.
/// @dev Runtime code of an account (173 bytes):
///      `363d3d373d3d3d363d73` ‖ implementation (20) ‖ `5af43d82803e903d91602b57fd5bf3` ‖ salt (32) ‖
///      chainId (32) ‖ tokenContract (32, left-padded) ‖ tokenId (32). Its creation code is
///      `3d60ad80600a3d3981f3` (copy the 0xad bytes that follow and return them) ‖ the runtime code.
contract ERC6551Registry is IERC6551Registry {
    /// @inheritdoc IERC6551Registry
    function createAccount(address implementation, bytes32 salt, uint256 chainId, address tokenContract, uint256 tokenId)
        external
        returns (address account_)
    {
        bytes memory code = _creationCode(implementation, salt, chainId, tokenContract, tokenId);
        account_ = Create2.computeAddress(salt, keccak256(code));
        if (account_.code.length != 0) return account_;
        address created;
        assembly ("memory-safe") {
            created := create2(0, add(code, 0x20), mload(code), salt)
        }
        if (created == address(0)) revert AccountCreationFailed();
        emit ERC6551AccountCreated(created, implementation, salt, chainId, tokenContract, tokenId);
    }

    /// @inheritdoc IERC6551Registry
    function account(address implementation, bytes32 salt, uint256 chainId, address tokenContract, uint256 tokenId)
        external
        view
        returns (address)
    {
        return Create2.computeAddress(salt, keccak256(_creationCode(implementation, salt, chainId, tokenContract, tokenId)));
    }

    function _creationCode(address implementation, bytes32 salt, uint256 chainId, address tokenContract, uint256 tokenId)
        private
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(
            hex"3d60ad80600a3d3981f3363d3d373d3d3d363d73",
            implementation,
            hex"5af43d82803e903d91602b57fd5bf3",
            salt,
            chainId,
            uint256(uint160(tokenContract)),
            tokenId
        );
    }
}

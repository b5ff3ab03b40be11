// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

/// @title What other protocol contracts call on the AgentRegistry
/// @notice An agent's ERC-6551 account reads the owner epoch (so that a transfer of the agent ends
///         every session key granted before it); the SkillRegistry checks who may act for an agent.
interface IAgentRegistry is IERC721 {
    /// @notice How many times agent `agentId` changed hands (0 until its first transfer).
    /// @param agentId The agent.
    /// @return The owner epoch.
    function ownerEpoch(uint256 agentId) external view returns (uint256);

    /// @notice Whether `spender` is the agent's owner, approved for it, or an operator of its owner.
    /// @param spender The address asked about.
    /// @param agentId The agent (reverts with ERC721NonexistentToken if there is none).
    /// @return True when `spender` may act for the agent.
    function isAuthorizedOrOwner(address spender, uint256 agentId) external view returns (bool);

    /// @notice The agent's wallet: its ERC-6551 account.
    /// @param agentId The agent (reverts with ERC721NonexistentToken if there is none).
    /// @return wallet The account's address.
    function getAgentWallet(uint256 agentId) external view returns (address wallet);
}

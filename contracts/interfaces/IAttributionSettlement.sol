// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title What other protocol contracts call on AttributionSettlement
/// @notice SkillCallRoots reads an operator's epochs (whose epoch it is, its status and challenge
///         window) and, holding ARBITER_ROLE, resolves a dispute as upheld when a fraud proof checks
///         out. The enum and struct mirror AttributionSettlement's exactly (same order, same types),
///         so that `getEpoch`'s return data decodes into them.
interface IAttributionSettlement {
    /// @notice Life of an epoch root (AttributionSettlement.EpochStatus).
    enum EpochStatus {
        None,
        Pending,
        Disputed,
        Finalized,
        Reverted
    }

    /// @notice One posted epoch (AttributionSettlement.Epoch).
    struct Epoch {
        bytes32 root;
        uint256 cumulativeTotal;
        uint256 funded;
        address operator;
        uint64 postedAt;
        uint64 challengeEndsAt;
        EpochStatus status;
        bytes32 inputsHash;
        address challenger;
    }

    /// @notice A posted epoch of an operator (all zero, status None, if it was never posted).
    /// @param operator The operator.
    /// @param epoch Its number.
    /// @return The epoch's record.
    function getEpoch(address operator, uint256 epoch) external view returns (Epoch memory);

    /// @notice Decide a bonded dispute (ARBITER_ROLE only). Upheld: the root is reverted, the
    ///         operator slashed and the bond returned to the challenger.
    /// @param operator The operator whose epoch is disputed.
    /// @param epoch The disputed epoch.
    /// @param upheld The decision.
    function resolveDispute(address operator, uint256 epoch, bool upheld) external;
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title What other protocol contracts call on the DatanetRegistry
/// @notice Staking reads a datanet's contribution stake when a contributor bonds (it becomes the
///         stake's per-slash cap); ModelRegistry checks that a model's snapshot roots were recorded.
interface IDatanetRegistry {
    /// @notice OPEN a contributor must bond in `datanetId` before contributing; reverts for an unknown datanet.
    /// @param datanetId The datanet.
    /// @return The contribution stake in wei (0 for none).
    function contributionStakeOf(uint256 datanetId) external view returns (uint96);

    /// @notice How many datanets recorded `root` as a snapshot (0: not a snapshot anywhere).
    /// @param root A snapshot's Merkle root.
    /// @return The number of recordings.
    function snapshotRecordings(bytes32 root) external view returns (uint256);
}

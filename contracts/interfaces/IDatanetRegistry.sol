// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title What other protocol contracts call on the DatanetRegistry
/// @notice Staking reads a datanet's contribution stake when a contributor bonds (it becomes the
///         stake's per-slash cap); ModelRegistry checks that a model's snapshot roots were recorded;
///         DataAvailabilityChallenge reads an anchored batch's DA commitment and submitter.
interface IDatanetRegistry {
    /// @notice OPEN a contributor must bond in `datanetId` before contributing; reverts for an unknown datanet.
    /// @param datanetId The datanet.
    /// @return The contribution stake in wei (0 for none).
    function contributionStakeOf(uint256 datanetId) external view returns (uint96);

    /// @notice How many datanets recorded `root` as a snapshot (0: not a snapshot anywhere).
    /// @param root A snapshot's Merkle root.
    /// @return The number of recordings.
    function snapshotRecordings(bytes32 root) external view returns (uint256);

    /// @notice The DA commitment of an anchored batch: the keccak256 of its DA payload, the account
    ///         that anchored it and the block it was anchored in (all zero for no such batch).
    /// @param datanetId The datanet.
    /// @param batchIndex The batch, from 0.
    /// @return dataHash keccak256 of the batch's DA payload.
    /// @return submitter The account that anchored the batch.
    /// @return anchoredBlock The block number the batch was anchored in.
    function batchDataOf(uint256 datanetId, uint256 batchIndex)
        external
        view
        returns (bytes32 dataHash, address submitter, uint64 anchoredBlock);
}

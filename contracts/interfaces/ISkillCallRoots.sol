// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title What other protocol contracts call on SkillCallRoots
/// @notice The ReputationRegistry accepts feedback only for a call an operator's settled epoch paid:
///         it reads that with `isPaidCall`. The leaf type lives here so that callers need nothing else.
interface ISkillCallRoots {
    /// @notice A skill call as its operator's call root commits to it: the signed `SkillCall`
    ///         (src/settlement/skill-call.ts) with its two lists replaced by their hashes. The leaf is
    ///         OpenZeppelin's standard one: keccak256(bytes.concat(keccak256(abi.encode(the ten fields
    ///         in this order)))).
    struct CallLeaf {
        /// The call's id.
        bytes32 callId;
        /// The call that made it (zero for a consumer's call).
        bytes32 parentCallId;
        /// The skill called.
        bytes32 skill;
        /// The agent that sold the call: its ERC-6551 account.
        address agent;
        /// Who paid: the consumer, or the parent call's agent.
        address payer;
        /// The call's price in OPEN (wei).
        uint256 price;
        bytes32 inputHash;
        bytes32 outputHash;
        /// keccak256(abi.encodePacked(inferenceReceipts)): the receipts of the inferences it paid.
        bytes32 receiptsHash;
        /// keccak256(abi.encodePacked(children)): the ids of the calls it made.
        bytes32 childrenHash;
    }

    /// @notice Whether `leaf` is a call `operator`'s epoch `epoch` paid: the leaf is in the epoch's
    ///         call root and the epoch is settled (finalized, or pending with its challenge window over).
    /// @param operator The operator.
    /// @param epoch The operator's epoch.
    /// @param leaf The call.
    /// @param proof Its Merkle proof against the epoch's call root.
    /// @return True when paid.
    function isPaidCall(address operator, uint256 epoch, CallLeaf calldata leaf, bytes32[] calldata proof) external view returns (bool);

    /// @notice The call root `operator` posted for its epoch `epoch` (zero if none).
    /// @param operator The operator.
    /// @param epoch The operator's epoch.
    /// @return The root.
    function callRootOf(address operator, uint256 epoch) external view returns (bytes32);
}

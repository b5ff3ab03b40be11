// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title What other protocol contracts call on the attribution verifier predeploy
/// @notice SkillCallRoots reads which node a listed receipt names (`receiptOrigin`) to prove a
///         foreign inference. The verifier lives at {ATTRIBUTION_VERIFIER} on every OpenLedger
///         chain (decision 0030), so callers hold no address of it.
interface IAttributionVerifier {
    /// @notice The node and chain a receipt body (its canonical JSON bytes) names.
    /// @param body The body's bytes.
    /// @return readable False when either field is not where canonical JSON puts it.
    /// @return node The `node` field.
    /// @return chainId The `chainId` field.
    function receiptOrigin(bytes calldata body) external pure returns (bool readable, address node, uint256 chainId);
}

/// @dev The verifier's predeploy address: OpenLedger's namespace 0x4F4C ("OL"), index 1 — outside OP
///      Stack's 0x4200… predeploys (src/chain/attribution-verifier.ts).
IAttributionVerifier constant ATTRIBUTION_VERIFIER = IAttributionVerifier(0x4F4C000000000000000000000000000000000001);

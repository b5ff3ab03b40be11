// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title What the settlement contract calls on the InferenceEscrow
/// @notice AttributionSettlement draws consumers' authorised spend for the operator posting or
///         funding an epoch; the types of a draw live here so that it needs nothing else.
interface IInferenceEscrow {
    /// @notice What a consumer signs (EIP-712): `operator` may have drawn up to `cumulativeAmount` in total.
    struct SpendAuthorization {
        address consumer;
        address operator;
        uint256 cumulativeAmount;
        uint256 nonce;
        uint256 expiry;
    }

    /// @notice One draw: a consumer's authorization, its signature, and the cumulative spend to draw up to.
    struct Draw {
        SpendAuthorization auth;
        bytes signature;
        uint256 drawTo;
    }

    /// @notice Draw for `operator`, from each authorization, up to its `drawTo`, and pay the total to the caller.
    /// @param draws The consumers' authorizations (each naming `operator`), signatures and cumulative spends.
    /// @param operator The operator drawing.
    /// @return total OPEN drawn.
    function draw(Draw[] calldata draws, address operator) external returns (uint256 total);
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title What other protocol contracts call on Staking
/// @notice AttributionSettlement checks, freezes and slashes operators; DatanetRegistry reads and
///         slashes contributor stakes. Only these functions, so a caller depends on no more of
///         Staking than it uses.
interface IStaking {
    /// @notice What a stake is for. Operator and Validator stakes are network-wide (scope 0);
    ///         a Contributor stake is bonded in one datanet (scope = the datanet's id).
    enum Role {
        Operator,
        Validator,
        Contributor
    }

    /// @notice One staker's position under one (role, scope) key.
    struct Position {
        /// OPEN bonded: counts towards the role (active operator, may contribute) and is slashable.
        uint256 bonded;
        /// OPEN asked back: still slashable, withdrawable from `releaseAt`.
        uint256 unbonding;
        /// When the unbonding OPEN can be withdrawn (0 if no unbond was ever requested or it was cancelled).
        uint64 releaseAt;
        /// Contributor stakes only: the most one slash takes, the datanet's contribution stake when
        /// the contributor last bonded (so an owner raising it later cannot take more than agreed).
        uint96 perSlash;
    }

    /// @notice Slash `amount` of `staker`'s stake under (`role`, `scope`), bonded first, then unbonding.
    /// @param staker Whose stake.
    /// @param role The stake's role.
    /// @param scope 0 for Operator and Validator; the datanet for Contributor.
    /// @param amount OPEN in wei.
    /// @param reason Why (the disputed epoch, the slashed contribution's id), for the event.
    function slash(address staker, Role role, uint256 scope, uint256 amount, bytes32 reason) external;

    /// @notice Stop `staker` withdrawing its Operator and Validator stakes until a matching {unfreeze}.
    /// @param staker Whose withdrawals to stop.
    function freeze(address staker) external;

    /// @notice Undo one {freeze} of `staker`.
    /// @param staker Whose freeze to lift.
    function unfreeze(address staker) external;

    /// @notice A staker's position under (`role`, `scope`).
    /// @param staker The staker.
    /// @param role The stake's role.
    /// @param scope 0 for Operator and Validator; the datanet for Contributor.
    /// @return The bonded and unbonding amounts, the release time and the per-slash cap.
    function positionOf(address staker, Role role, uint256 scope) external view returns (Position memory);

    /// @notice Whether `staker` has at least the role's minimum (and a non-zero) bonded stake.
    /// @param staker The staker.
    /// @param role Operator or Validator.
    /// @return True when active.
    function isActive(address staker, Role role) external view returns (bool);

    /// @notice Where slashed OPEN (and an expired dispute's bond) is sent.
    /// @return The destination, the treasury by default.
    function slashDestination() external view returns (address);
}

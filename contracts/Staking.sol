// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title Staking of OPEN by node operators and validators
/// @notice Stake is bonded per role. Unbonding starts a delay during which the stake can still be
///         slashed; after it, the staker withdraws, unless a dispute has frozen it. Governance keeps
///         the unbonding delay longer than the settlement's challenge window. Slashing is done by holders of SLASHER_ROLE (the
///         settlement contract) and the slashed OPEN goes to `slashDestination`.
///         Parameters belong to DEFAULT_ADMIN_ROLE (the governance timelock).
contract Staking is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to slash stakes.
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    /// @notice What a stake is for.
    enum Role {
        Operator,
        Validator
    }

    /// @notice One staker's position in one role.
    struct Position {
        uint256 bonded;
        uint256 unbonding;
        uint64 releaseAt;
    }

    /// @notice The staked token (OPEN).
    IERC20 public immutable token;
    /// @notice Seconds between an unbond request and the withdrawal it allows.
    uint64 public unbondingDelay;
    /// @notice Where slashed OPEN is sent.
    address public slashDestination;
    /// @notice Minimum bonded stake to count as an active operator / validator, by role.
    mapping(Role => uint256) public minimumStake;
    /// @notice Total bonded plus unbonding, by role.
    mapping(Role => uint256) public totalStaked;

    /// @notice Open freezes of each staker's withdrawals (a disputed epoch freezes its operator).
    mapping(address => uint256) public freezes;

    mapping(address => mapping(Role => Position)) private _positions;

    event Staked(address indexed staker, Role indexed role, uint256 amount);
    event UnbondRequested(address indexed staker, Role indexed role, uint256 amount, uint64 releaseAt);
    event Withdrawn(address indexed staker, Role indexed role, uint256 amount);
    event Slashed(address indexed staker, Role indexed role, uint256 amount, address destination, bytes32 reason);
    event UnbondingDelaySet(uint64 delay);
    event SlashDestinationSet(address destination);
    event MinimumStakeSet(Role indexed role, uint256 amount);
    event Frozen(address indexed staker, uint256 freezes);
    event Unfrozen(address indexed staker, uint256 freezes);

    error ZeroAmount();
    error ZeroAddress();
    error InsufficientBonded(uint256 bonded, uint256 requested);
    error NothingToWithdraw();
    error StillUnbonding(uint64 releaseAt);
    error SlashExceedsStake(uint256 stake, uint256 requested);
    error StakeFrozen(address staker);
    error NotFrozen(address staker);

    /// @param token_ The OPEN token.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (the timelock, or the deployer while wiring).
    /// @param unbondingDelay_ Initial unbonding delay in seconds.
    /// @param slashDestination_ Initial destination of slashed stake.
    constructor(IERC20 token_, address admin, uint64 unbondingDelay_, address slashDestination_) {
        if (address(token_) == address(0) || admin == address(0) || slashDestination_ == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        unbondingDelay = unbondingDelay_;
        slashDestination = slashDestination_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Bond `amount` OPEN in `role` (the caller must have approved this contract).
    /// @param role Operator or Validator.
    /// @param amount OPEN in wei.
    function stake(Role role, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _positions[msg.sender][role].bonded += amount;
        totalStaked[role] += amount;
        emit Staked(msg.sender, role, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Move `amount` from bonded to unbonding; it can be withdrawn after `unbondingDelay`.
    /// @dev A new request restarts the delay for everything unbonding in that role.
    /// @param role Operator or Validator.
    /// @param amount OPEN in wei.
    function requestUnbond(Role role, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Position storage p = _positions[msg.sender][role];
        if (p.bonded < amount) revert InsufficientBonded(p.bonded, amount);
        p.bonded -= amount;
        p.unbonding += amount;
        p.releaseAt = uint64(block.timestamp) + unbondingDelay;
        emit UnbondRequested(msg.sender, role, amount, p.releaseAt);
    }

    /// @notice Withdraw everything whose unbonding delay has passed.
    /// @param role Operator or Validator.
    function withdraw(Role role) external nonReentrant {
        Position storage p = _positions[msg.sender][role];
        uint256 amount = p.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < p.releaseAt) revert StillUnbonding(p.releaseAt);
        if (freezes[msg.sender] > 0) revert StakeFrozen(msg.sender);
        p.unbonding = 0;
        totalStaked[role] -= amount;
        emit Withdrawn(msg.sender, role, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Slash `amount` of `staker`'s stake in `role`, bonded first, then unbonding.
    /// @dev Only SLASHER_ROLE. Reverts if the stake is smaller than `amount`.
    /// @param staker Whose stake.
    /// @param role Operator or Validator.
    /// @param amount OPEN in wei.
    /// @param reason Free-form reason (e.g. the disputed epoch), for the event.
    function slash(address staker, Role role, uint256 amount, bytes32 reason) external onlyRole(SLASHER_ROLE) nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Position storage p = _positions[staker][role];
        uint256 total = p.bonded + p.unbonding;
        if (total < amount) revert SlashExceedsStake(total, amount);
        uint256 fromBonded = amount <= p.bonded ? amount : p.bonded;
        p.bonded -= fromBonded;
        p.unbonding -= amount - fromBonded;
        totalStaked[role] -= amount;
        address destination = slashDestination;
        emit Slashed(staker, role, amount, destination, reason);
        token.safeTransfer(destination, amount);
    }

    /// @notice Stop `staker` from withdrawing until a matching {unfreeze} (e.g. while a dispute
    ///         that may slash it is open). Only SLASHER_ROLE; freezes nest.
    /// @param staker Whose withdrawals to stop.
    function freeze(address staker) external onlyRole(SLASHER_ROLE) {
        uint256 n = ++freezes[staker];
        emit Frozen(staker, n);
    }

    /// @notice Undo one {freeze} of `staker`. Only SLASHER_ROLE.
    /// @param staker Whose freeze to lift.
    function unfreeze(address staker) external onlyRole(SLASHER_ROLE) {
        uint256 n = freezes[staker];
        if (n == 0) revert NotFrozen(staker);
        freezes[staker] = n - 1;
        emit Unfrozen(staker, n - 1);
    }

    /// @notice Set the unbonding delay (governance).
    /// @param delay Seconds.
    function setUnbondingDelay(uint64 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    /// @notice Set where slashed stake goes (governance).
    /// @param destination Non-zero address.
    function setSlashDestination(address destination) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (destination == address(0)) revert ZeroAddress();
        slashDestination = destination;
        emit SlashDestinationSet(destination);
    }

    /// @notice Set the minimum bonded stake for `role` (governance).
    /// @param role Operator or Validator.
    /// @param amount OPEN in wei.
    function setMinimumStake(Role role, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        minimumStake[role] = amount;
        emit MinimumStakeSet(role, amount);
    }

    /// @notice A staker's position in one role.
    /// @param staker The staker.
    /// @param role Operator or Validator.
    /// @return The bonded amount, the unbonding amount and when it is released.
    function positionOf(address staker, Role role) external view returns (Position memory) {
        return _positions[staker][role];
    }

    /// @notice Whether `staker` has at least the minimum bonded stake (and a non-zero one) in `role`.
    /// @param staker The staker.
    /// @param role Operator or Validator.
    /// @return True when active.
    function isActive(address staker, Role role) public view returns (bool) {
        uint256 bonded = _positions[staker][role].bonded;
        return bonded > 0 && bonded >= minimumStake[role];
    }
}

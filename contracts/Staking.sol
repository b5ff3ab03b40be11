// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {OpenPayments} from "./OpenPayments.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IDatanetRegistry} from "./interfaces/IDatanetRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Staking of OPEN by node operators, validators and datanet contributors
/// @notice One staking concept for every stake: a position is keyed by (staker, role, scope), where
///         scope is 0 for the network-wide Operator and Validator roles and the datanet's id for a
///         Contributor. Every position is bonded with {stake}, asked back with {requestUnbond}
///         (it stays slashable during the role's `unbondingDelay`), withdrawn by its staker alone
///         with {withdraw}, and slashed with {slash} to `slashDestination`.
///         Who may slash depends on the role and never crosses over: Operator and Validator stakes
///         are slashed by holders of SLASHER_ROLE (the settlement contract), which may also freeze
///         their withdrawals while a dispute is open; Contributor stakes only by the
///         `datanetRegistry`, which first checks that a datanet owner or curator is slashing a
///         contribution the contributor signed, and at most the position's `perSlash` (the
///         datanet's contribution stake when the contributor last bonded) per slash.
///         Governance keeps the operators' unbonding delay longer than the settlement's challenge
///         window plus a governance decision. Parameters belong to DEFAULT_ADMIN_ROLE (the
///         governance timelock).
contract Staking is IStaking, AccessControl, ReentrancyGuard, OpenPayments {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to slash and freeze Operator and Validator stakes.
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    /// @notice The staked token (OPEN).
    IERC20 public immutable token;
    /// @notice The registry whose datanets Contributor stakes are bonded in; it alone slashes them.
    ///         Set once, after deployment (the registry is deployed after this contract).
    IDatanetRegistry public datanetRegistry;
    /// @notice Seconds between an unbond request and the withdrawal it allows, by role.
    mapping(Role => uint64) public unbondingDelay;
    /// @notice Where slashed OPEN is sent.
    address public slashDestination;
    /// @notice Minimum bonded stake to count as an active operator / validator, by role.
    mapping(Role => uint256) public minimumStake;
    /// @notice Total bonded plus unbonding, by role (all scopes together).
    mapping(Role => uint256) public totalStaked;
    /// @notice Open freezes of each staker's Operator and Validator withdrawals (a disputed epoch
    ///         freezes its operator).
    mapping(address => uint256) public freezes;

    mapping(address staker => mapping(Role => mapping(uint256 scope => Position))) private _positions;

    /// @notice `staker` bonded `amount` under (`role`, `scope`).
    event Staked(address indexed staker, Role indexed role, uint256 indexed scope, uint256 amount);
    /// @notice `staker` asked `amount` back under (`role`, `scope`); everything unbonding there is released at `releaseAt`.
    event UnbondRequested(address indexed staker, Role indexed role, uint256 indexed scope, uint256 amount, uint64 releaseAt);
    /// @notice `staker` returned its unbonding `amount` under (`role`, `scope`) to bonded.
    event UnbondCancelled(address indexed staker, Role indexed role, uint256 indexed scope, uint256 amount);
    /// @notice `staker` withdrew `amount` from (`role`, `scope`).
    event Withdrawn(address indexed staker, Role indexed role, uint256 indexed scope, uint256 amount);
    /// @notice `amount` of `staker`'s stake under (`role`, `scope`) was slashed to `destination`.
    event Slashed(address indexed staker, Role indexed role, uint256 indexed scope, uint256 amount, address destination, bytes32 reason);
    /// @notice The unbonding delay of `role` is now `delay` seconds.
    event UnbondingDelaySet(Role indexed role, uint64 delay);
    /// @notice Slashed OPEN now goes to `destination`.
    event SlashDestinationSet(address destination);
    /// @notice The minimum active stake of `role` is now `amount`.
    event MinimumStakeSet(Role indexed role, uint256 amount);
    /// @notice Contributor stakes are now bonded in, and slashed by, `registry`.
    event DatanetRegistrySet(address registry);
    /// @notice `staker`'s withdrawals were frozen; `freezes` are open now.
    event Frozen(address indexed staker, uint256 freezes);
    /// @notice One freeze of `staker` was lifted; `freezes` are still open.
    event Unfrozen(address indexed staker, uint256 freezes);

    /// @notice A stake, unbond or slash of nothing.
    error StakingZeroAmount();
    /// @notice The token given to the constructor is the zero address.
    error StakingInvalidToken(address token);
    /// @notice The admin given to the constructor is the zero address.
    error StakingInvalidAdmin(address admin);
    /// @notice A slash destination that is the zero address.
    error StakingInvalidSlashDestination(address destination);
    /// @notice A datanet registry that is the zero address.
    error StakingInvalidDatanetRegistry(address registry);
    /// @notice The datanet registry is set once; it is `registry` already.
    error StakingDatanetRegistryAlreadySet(address registry);
    /// @notice A Contributor stake before the datanet registry was set.
    error StakingDatanetRegistryNotSet();
    /// @notice An Operator or Validator stake under a non-zero scope (those roles are network-wide).
    error StakingInvalidScope(Role role, uint256 scope);
    /// @notice A setting that does not apply to `role` (a contributor's minimum is its datanet's contribution stake).
    error StakingInvalidRole(Role role);
    /// @notice An unbond request for more than is bonded.
    error StakingInsufficientBonded(uint256 bonded, uint256 requested);
    /// @notice Nothing is unbonding under (`role`, `scope`) for `staker`.
    error StakingNothingToWithdraw(address staker, Role role, uint256 scope);
    /// @notice A cancel with nothing unbonding under (`role`, `scope`) for `staker`.
    error StakingNothingUnbonding(address staker, Role role, uint256 scope);
    /// @notice The unbonding stake is released only at `releaseAt`.
    error StakingStillUnbonding(uint64 releaseAt);
    /// @notice A slash of more than the position holds.
    error StakingSlashExceedsStake(uint256 stake, uint256 requested);
    /// @notice A slash of a Contributor stake beyond its per-slash cap.
    error StakingSlashExceedsCap(uint256 perSlash, uint256 requested);
    /// @notice `caller` may not slash `role` stakes (only the datanet registry slashes contributors).
    error StakingUnauthorizedSlasher(address caller, Role role);
    /// @notice `staker`'s Operator and Validator withdrawals are frozen (a dispute is open).
    error StakingFrozen(address staker);
    /// @notice An unfreeze of a staker that is not frozen.
    error StakingNotFrozen(address staker);

    /// @param token_ The OPEN token.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (the timelock, or the deployer while wiring).
    /// @param unbondingDelay_ Initial unbonding delay of Operator and Validator stakes, in seconds.
    /// @param contributorUnbondingDelay Initial unbonding delay of Contributor stakes, in seconds.
    /// @param slashDestination_ Initial destination of slashed stake.
    constructor(IERC20 token_, address admin, uint64 unbondingDelay_, uint64 contributorUnbondingDelay, address slashDestination_) {
        if (address(token_) == address(0)) revert StakingInvalidToken(address(token_));
        if (admin == address(0)) revert StakingInvalidAdmin(admin);
        if (slashDestination_ == address(0)) revert StakingInvalidSlashDestination(slashDestination_);
        token = token_;
        _setUnbondingDelay(Role.Operator, unbondingDelay_);
        _setUnbondingDelay(Role.Validator, unbondingDelay_);
        _setUnbondingDelay(Role.Contributor, contributorUnbondingDelay);
        slashDestination = slashDestination_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ stakes

    /// @notice Bond `amount` OPEN under (`role`, `scope`): sent with the call as native OPEN, or as
    ///         the token after an approval ({OpenPayments}).
    /// @dev For a Contributor stake, `scope` must be a datanet of the registry, and the position's
    ///      per-slash cap becomes the datanet's contribution stake now: bonding again agrees to the
    ///      stake in force.
    /// @param role Operator, Validator or Contributor.
    /// @param scope 0 for Operator and Validator; the datanet for Contributor.
    /// @param amount OPEN in wei.
    function stake(Role role, uint256 scope, uint256 amount) external payable nonReentrant {
        if (amount == 0) revert StakingZeroAmount();
        uint96 perSlash;
        if (role == Role.Contributor) {
            IDatanetRegistry registry = datanetRegistry;
            if (address(registry) == address(0)) revert StakingDatanetRegistryNotSet();
            perSlash = registry.contributionStakeOf(scope); // reverts for an unknown datanet
        } else if (scope != 0) {
            revert StakingInvalidScope(role, scope);
        }
        Position storage p = _positions[msg.sender][role][scope];
        p.bonded += amount;
        if (role == Role.Contributor) p.perSlash = perSlash;
        totalStaked[role] += amount;
        emit Staked(msg.sender, role, scope, amount);
        _collect(amount);
    }

    /// @notice Move `amount` from bonded to unbonding; it stays slashable and can be withdrawn after
    ///         the role's `unbondingDelay`.
    /// @dev A new request restarts the delay for everything unbonding under that key.
    /// @param role Operator, Validator or Contributor.
    /// @param scope 0 for Operator and Validator; the datanet for Contributor.
    /// @param amount OPEN in wei.
    function requestUnbond(Role role, uint256 scope, uint256 amount) external {
        if (amount == 0) revert StakingZeroAmount();
        Position storage p = _positions[msg.sender][role][scope];
        if (p.bonded < amount) revert StakingInsufficientBonded(p.bonded, amount);
        p.bonded -= amount;
        p.unbonding += amount;
        p.releaseAt = uint64(block.timestamp) + unbondingDelay[role];
        emit UnbondRequested(msg.sender, role, scope, amount, p.releaseAt);
    }

    /// @notice Return everything unbonding under (`role`, `scope`) to bonded (e.g. a contributor who
    ///         asked its stake back and wants to contribute again).
    /// @param role Operator, Validator or Contributor.
    /// @param scope 0 for Operator and Validator; the datanet for Contributor.
    function cancelUnbond(Role role, uint256 scope) external {
        Position storage p = _positions[msg.sender][role][scope];
        uint256 amount = p.unbonding;
        if (amount == 0) revert StakingNothingUnbonding(msg.sender, role, scope);
        p.unbonding = 0;
        p.bonded += amount;
        p.releaseAt = 0;
        emit UnbondCancelled(msg.sender, role, scope, amount);
    }

    /// @notice Withdraw the caller's unbonding stake under (`role`, `scope`) once its delay has
    ///         passed, unless a dispute froze the caller's Operator and Validator stakes.
    /// @param role Operator, Validator or Contributor.
    /// @param scope 0 for Operator and Validator; the datanet for Contributor.
    function withdraw(Role role, uint256 scope) external nonReentrant {
        Position storage p = _positions[msg.sender][role][scope];
        uint256 amount = p.unbonding;
        if (amount == 0) revert StakingNothingToWithdraw(msg.sender, role, scope);
        if (block.timestamp < p.releaseAt) revert StakingStillUnbonding(p.releaseAt);
        if (role != Role.Contributor && freezes[msg.sender] > 0) revert StakingFrozen(msg.sender);
        p.unbonding = 0;
        totalStaked[role] -= amount;
        emit Withdrawn(msg.sender, role, scope, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- slashing

    /// @notice Slash `amount` of `staker`'s stake under (`role`, `scope`), bonded first, then
    ///         unbonding, to `slashDestination`.
    /// @dev Operator and Validator stakes: SLASHER_ROLE only. Contributor stakes: the datanet
    ///      registry only (which checks the contribution was signed and slashes it once), at most the
    ///      position's `perSlash`. Reverts if the position holds less than `amount`.
    /// @param staker Whose stake.
    /// @param role Operator, Validator or Contributor.
    /// @param scope 0 for Operator and Validator; the datanet for Contributor.
    /// @param amount OPEN in wei.
    /// @param reason Free-form reason (the disputed epoch, the slashed contribution's id), for the event.
    function slash(address staker, Role role, uint256 scope, uint256 amount, bytes32 reason) external nonReentrant {
        if (role == Role.Contributor) {
            if (msg.sender != address(datanetRegistry)) revert StakingUnauthorizedSlasher(msg.sender, role);
        } else {
            _checkRole(SLASHER_ROLE);
        }
        if (amount == 0) revert StakingZeroAmount();
        Position storage p = _positions[staker][role][scope];
        uint256 total = p.bonded + p.unbonding;
        if (total < amount) revert StakingSlashExceedsStake(total, amount);
        if (role == Role.Contributor && amount > p.perSlash) revert StakingSlashExceedsCap(p.perSlash, amount);
        uint256 fromBonded = amount <= p.bonded ? amount : p.bonded;
        p.bonded -= fromBonded;
        p.unbonding -= amount - fromBonded;
        totalStaked[role] -= amount;
        address destination = slashDestination;
        emit Slashed(staker, role, scope, amount, destination, reason);
        token.safeTransfer(destination, amount);
    }

    /// @notice Stop `staker` from withdrawing its Operator and Validator stakes until a matching
    ///         {unfreeze} (e.g. while a dispute that may slash it is open). Only SLASHER_ROLE; freezes
    ///         nest. Contributor stakes answer to their datanets' curators and are not frozen.
    /// @param staker Whose withdrawals to stop.
    function freeze(address staker) external onlyRole(SLASHER_ROLE) {
        uint256 n = ++freezes[staker];
        emit Frozen(staker, n);
    }

    /// @notice Undo one {freeze} of `staker`. Only SLASHER_ROLE.
    /// @param staker Whose freeze to lift.
    function unfreeze(address staker) external onlyRole(SLASHER_ROLE) {
        uint256 n = freezes[staker];
        if (n == 0) revert StakingNotFrozen(staker);
        freezes[staker] = n - 1;
        emit Unfrozen(staker, n - 1);
    }

    // -------------------------------------------------------------- governance

    /// @notice Set the unbonding delay of `role` (governance); it applies to the next unbond request.
    /// @param role Operator, Validator or Contributor.
    /// @param delay Seconds.
    function setUnbondingDelay(Role role, uint64 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setUnbondingDelay(role, delay);
    }

    /// @notice Set where slashed stake goes (governance).
    /// @param destination Non-zero address.
    function setSlashDestination(address destination) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (destination == address(0)) revert StakingInvalidSlashDestination(destination);
        slashDestination = destination;
        emit SlashDestinationSet(destination);
    }

    /// @notice Set the minimum bonded stake for `role` (governance).
    /// @param role Operator or Validator (a contributor's minimum is its datanet's contribution stake).
    /// @param amount OPEN in wei.
    function setMinimumStake(Role role, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (role == Role.Contributor) revert StakingInvalidRole(role);
        minimumStake[role] = amount;
        emit MinimumStakeSet(role, amount);
    }

    /// @notice Name the datanet registry Contributor stakes are bonded in and slashed by (admin,
    ///         once: a registry swapped later could slash every contributor stake by its own rules).
    /// @param registry The DatanetRegistry.
    function setDatanetRegistry(IDatanetRegistry registry) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(registry) == address(0)) revert StakingInvalidDatanetRegistry(address(registry));
        if (address(datanetRegistry) != address(0)) revert StakingDatanetRegistryAlreadySet(address(datanetRegistry));
        datanetRegistry = registry;
        emit DatanetRegistrySet(address(registry));
    }

    // ------------------------------------------------------------------- views

    /// @notice A staker's position under (`role`, `scope`).
    /// @param staker The staker.
    /// @param role Operator, Validator or Contributor.
    /// @param scope 0 for Operator and Validator; the datanet for Contributor.
    /// @return The bonded and unbonding amounts, when the unbonding is released, and the per-slash cap.
    function positionOf(address staker, Role role, uint256 scope) external view returns (Position memory) {
        return _positions[staker][role][scope];
    }

    /// @notice Whether `staker` has at least the minimum bonded stake (and a non-zero one) in `role`.
    /// @param staker The staker.
    /// @param role Operator or Validator (always false for Contributor: see DatanetRegistry.canContribute).
    /// @return True when active.
    function isActive(address staker, Role role) public view returns (bool) {
        uint256 bonded = _positions[staker][role][0].bonded;
        return bonded > 0 && bonded >= minimumStake[role];
    }

    function _setUnbondingDelay(Role role, uint64 delay) private {
        unbondingDelay[role] = delay;
        emit UnbondingDelaySet(role, delay);
    }

    /// @inheritdoc OpenPayments
    function _openToken() internal view override returns (IERC20) {
        return token;
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IDatanetRegistry} from "./interfaces/IDatanetRegistry.sol";
import {OpenPayments} from "./OpenPayments.sol";

/// @title Data availability challenges of anchored contribution batches
/// @notice Modelled on the OP Stack's Alt-DA `DataAvailabilityChallenge`. Every batch anchored in the
///         DatanetRegistry carries a keccak commitment to its DA payload (Alt-DA commitment type 0:
///         `0x00 ‖ keccak256(payload)`, 33 bytes). For `challengeWindow` blocks after the batch was
///         anchored anyone may challenge it by locking `bondSize` OPEN of its balance here; the data
///         must then be posted as calldata (`resolve`, by the submitter or anyone who has it) within
///         `resolveWindow` blocks of the challenge. A challenge left unresolved expires: the batch is
///         voided (`isVoided`: its root must be treated as not anchored) and `expire` returns the
///         challenger's bond and slashes the submitter's bond by `submitterSlash`.
/// @dev Differences from OP's contract: bonds are OPEN (an ERC-20) instead of ether; a challenge names
///      an anchored batch (datanet, batch index) instead of an L1 block number, and the contract checks
///      the commitment against the batch's, because an expiry here slashes the batch's submitter (OP
///      accepts any commitment and leaves its validity to derivation, where nobody is slashed); the
///      submitter keeps a slashable bond whose withdrawal waits `challengeWindow + resolveWindow`
///      blocks; the part of a resolved challenge's bond that OP burns goes to `slashDestination` (OPEN
///      has no burn). Windows and bond sizes are fixed at deployment (OP fixes the windows too).
contract DataAvailabilityChallenge is OpenPayments {
    using SafeERC20 for IERC20;

    /// @notice The state of a challenge. `Expired` is read from the block number: an active challenge
    ///         whose resolve window has passed is expired whether or not `expire` was called.
    enum ChallengeStatus {
        Uninitialized,
        Active,
        Resolved,
        Expired
    }

    /// @notice One challenge of one anchored batch.
    /// @param challenger Who challenged.
    /// @param lockedBond OPEN locked by the challenge (0 once paid out).
    /// @param startBlock Block of the challenge.
    /// @param resolvedBlock Block of the resolution (0 while unresolved).
    /// @param settled Whether `expire` has paid out an expired challenge.
    struct Challenge {
        address challenger;
        uint64 startBlock;
        uint64 resolvedBlock;
        bool settled;
        uint256 lockedBond;
    }

    /// @notice A submitter's bond: what an expired challenge of its batches slashes.
    /// @param bonded OPEN bonded.
    /// @param unbonding OPEN asked back, still slashable until `unlockBlock`.
    /// @param unlockBlock First block at which `unbonding` can be withdrawn.
    struct SubmitterBond {
        uint256 bonded;
        uint256 unbonding;
        uint64 unlockBlock;
    }

    /// @notice Alt-DA commitment type of a keccak256 commitment, the only one resolvable on chain.
    uint8 public constant KECCAK256_COMMITMENT_TYPE = 0;
    /// @notice Gas of a resolution of a small payload, measured (107 528 for 1 byte; see docs/decisions/0029).
    uint256 public constant FIXED_RESOLUTION_COST = 108000;
    /// @notice Upper bound of a resolution's gas per byte of data, scaled by `VARIABLE_RESOLUTION_COST_PRECISION`
    ///         (Prague's calldata floor, EIP-7623: 40 gas per non-zero byte, which a large resolution pays).
    uint256 public constant VARIABLE_RESOLUTION_COST = 40000;
    /// @notice Precision of `VARIABLE_RESOLUTION_COST`.
    uint256 public constant VARIABLE_RESOLUTION_COST_PRECISION = 1000;

    /// @notice The bond token (OPEN).
    IERC20 public immutable token;
    /// @notice Where batches and their DA commitments are anchored.
    IDatanetRegistry public immutable registry;
    /// @notice Blocks after a batch's anchoring during which it may be challenged.
    uint256 public immutable challengeWindow;
    /// @notice Blocks after a challenge during which it may be resolved.
    uint256 public immutable resolveWindow;
    /// @notice OPEN a challenge locks.
    uint256 public immutable bondSize;
    /// @notice OPEN taken from the submitter's bond when a challenge of its batch expires.
    uint256 public immutable submitterSlash;
    /// @notice Percentage of a resolution's estimated cost paid to the resolver out of the challenger's bond.
    uint256 public immutable resolverRefundPercentage;
    /// @notice Percentage of a submitter's slash paid to the challenger; the rest goes to `slashDestination`.
    uint256 public immutable challengerRewardPercentage;
    /// @notice Receives slashed OPEN not paid to a challenger and the unrefunded part of resolution costs.
    address public immutable slashDestination;

    /// @notice Unlocked OPEN of each account: deposits, returned bonds, refunds and rewards.
    mapping(address => uint256) public balances;
    mapping(address => SubmitterBond) private _submitterBonds;
    mapping(uint256 => mapping(uint256 => Challenge)) private _challenges;

    /// @notice The challenge of batch `batchIndex` of `datanetId` (commitment `commitment`) is now `status`.
    event ChallengeStatusChanged(uint256 indexed datanetId, uint256 indexed batchIndex, bytes commitment, ChallengeStatus status);
    /// @notice `account`'s unlocked balance is now `balance`.
    event BalanceChanged(address indexed account, uint256 balance);
    /// @notice `submitter` bonded `amount` more.
    event SubmitterBonded(address indexed submitter, uint256 amount);
    /// @notice `submitter` asked `amount` of its bond back; it can be withdrawn from `unlockBlock`.
    event SubmitterUnbondRequested(address indexed submitter, uint256 amount, uint256 unlockBlock);
    /// @notice `submitter` withdrew `amount` of its bond.
    event SubmitterWithdrawn(address indexed submitter, uint256 amount);
    /// @notice `submitter` lost `amount` for batch `batchIndex` of `datanetId`, `reward` of it to `challenger`.
    event SubmitterSlashed(uint256 indexed datanetId, uint256 indexed batchIndex, address indexed submitter, address challenger, uint256 amount, uint256 reward);

    /// @notice The token given to the constructor is the zero address.
    error DataAvailabilityChallengeInvalidToken(address token);
    /// @notice The registry given to the constructor is the zero address.
    error DataAvailabilityChallengeInvalidRegistry(address registry);
    /// @notice The slash destination given to the constructor is the zero address.
    error DataAvailabilityChallengeInvalidSlashDestination(address slashDestination);
    /// @notice A challenge or resolve window of zero blocks.
    error DataAvailabilityChallengeInvalidWindow(uint256 challengeWindow, uint256 resolveWindow);
    /// @notice A percentage above 100.
    error DataAvailabilityChallengeInvalidPercentage(uint256 percentage);
    /// @notice A deposit or bond of zero, or more than is there to move.
    error DataAvailabilityChallengeInvalidAmount(uint256 amount, uint256 available);
    /// @notice The commitment's type byte is not a known commitment type.
    error DataAvailabilityChallengeUnknownCommitmentType(uint8 commitmentType);
    /// @notice The commitment's length does not fit its type.
    error DataAvailabilityChallengeInvalidCommitmentLength(uint8 commitmentType, uint256 expectedLength, uint256 actualLength);
    /// @notice No batch `batchIndex` is anchored in `datanetId`.
    error DataAvailabilityChallengeUnknownBatch(uint256 datanetId, uint256 batchIndex);
    /// @notice The commitment is not the one batch `batchIndex` of `datanetId` was anchored with.
    error DataAvailabilityChallengeCommitmentMismatch(uint256 datanetId, uint256 batchIndex, bytes32 anchored, bytes32 given);
    /// @notice The batch was challenged already.
    error DataAvailabilityChallengeExists(uint256 datanetId, uint256 batchIndex);
    /// @notice The batch's challenge window closed at block `closedAt`.
    error DataAvailabilityChallengeWindowClosed(uint256 datanetId, uint256 batchIndex, uint256 closedAt);
    /// @notice The challenger's unlocked balance is under the bond.
    error DataAvailabilityChallengeBondTooLow(uint256 balance, uint256 required);
    /// @notice The batch's challenge is not active (none, resolved, or expired).
    error DataAvailabilityChallengeNotActive(uint256 datanetId, uint256 batchIndex, ChallengeStatus status);
    /// @notice The data posted does not hash to the commitment.
    error DataAvailabilityChallengeInvalidInputData(bytes32 computed, bytes32 expected);
    /// @notice The batch's challenge has not expired (status `status`).
    error DataAvailabilityChallengeNotExpired(uint256 datanetId, uint256 batchIndex, ChallengeStatus status);
    /// @notice The expired challenge was paid out already.
    error DataAvailabilityChallengeAlreadySettled(uint256 datanetId, uint256 batchIndex);
    /// @notice The submitter's unbonding OPEN unlocks at block `unlockBlock`.
    error DataAvailabilityChallengeBondLocked(uint256 unlockBlock);

    /// @param token_ OPEN.
    /// @param registry_ The DatanetRegistry whose batches are challenged.
    /// @param challengeWindow_ Blocks after anchoring during which a batch may be challenged.
    /// @param resolveWindow_ Blocks after a challenge during which it may be resolved.
    /// @param bondSize_ OPEN a challenge locks.
    /// @param submitterSlash_ OPEN an expired challenge takes from the submitter's bond.
    /// @param resolverRefundPercentage_ Share (0–100) of a resolution's estimated cost refunded to the resolver.
    /// @param challengerRewardPercentage_ Share (0–100) of a slash paid to the challenger.
    /// @param slashDestination_ Receives the rest of slashes and resolution costs (the treasury).
    constructor(
        IERC20 token_,
        IDatanetRegistry registry_,
        uint256 challengeWindow_,
        uint256 resolveWindow_,
        uint256 bondSize_,
        uint256 submitterSlash_,
        uint256 resolverRefundPercentage_,
        uint256 challengerRewardPercentage_,
        address slashDestination_
    ) {
        if (address(token_) == address(0)) revert DataAvailabilityChallengeInvalidToken(address(token_));
        if (address(registry_) == address(0)) revert DataAvailabilityChallengeInvalidRegistry(address(registry_));
        if (slashDestination_ == address(0)) revert DataAvailabilityChallengeInvalidSlashDestination(slashDestination_);
        if (challengeWindow_ == 0 || resolveWindow_ == 0) revert DataAvailabilityChallengeInvalidWindow(challengeWindow_, resolveWindow_);
        if (resolverRefundPercentage_ > 100) revert DataAvailabilityChallengeInvalidPercentage(resolverRefundPercentage_);
        if (challengerRewardPercentage_ > 100) revert DataAvailabilityChallengeInvalidPercentage(challengerRewardPercentage_);
        token = token_;
        registry = registry_;
        challengeWindow = challengeWindow_;
        resolveWindow = resolveWindow_;
        bondSize = bondSize_;
        submitterSlash = submitterSlash_;
        resolverRefundPercentage = resolverRefundPercentage_;
        challengerRewardPercentage = challengerRewardPercentage_;
        slashDestination = slashDestination_;
    }

    // ------------------------------------------------------------ balances

    /// @notice Add `amount` OPEN to the caller's unlocked balance, to bond challenges with: sent with
    ///         the call as native OPEN, or as the token after an approval ({OpenPayments}).
    /// @param amount OPEN in wei.
    function deposit(uint256 amount) external payable {
        if (amount == 0) revert DataAvailabilityChallengeInvalidAmount(amount, 0);
        uint256 balance = balances[msg.sender] += amount;
        emit BalanceChanged(msg.sender, balance);
        _collect(amount);
    }

    /// @notice Withdraw the caller's whole unlocked balance.
    function withdraw() external {
        uint256 amount = balances[msg.sender];
        balances[msg.sender] = 0;
        emit BalanceChanged(msg.sender, 0);
        if (amount > 0) token.safeTransfer(msg.sender, amount);
    }

    /// @notice Bond `amount` OPEN as the caller's submitter bond: sent with the call as native OPEN,
    ///         or as the token after an approval ({OpenPayments}).
    /// @param amount OPEN in wei.
    function bond(uint256 amount) external payable {
        if (amount == 0) revert DataAvailabilityChallengeInvalidAmount(amount, 0);
        _submitterBonds[msg.sender].bonded += amount;
        emit SubmitterBonded(msg.sender, amount);
        _collect(amount);
    }

    /// @notice Ask `amount` of the caller's submitter bond back. It stays slashable for
    ///         `challengeWindow + resolveWindow` blocks, long enough for any batch anchored before
    ///         now to be challenged and the challenge to expire; a new request restarts the wait.
    /// @param amount OPEN in wei.
    function requestUnbond(uint256 amount) external {
        SubmitterBond storage b = _submitterBonds[msg.sender];
        if (amount == 0 || amount > b.bonded) revert DataAvailabilityChallengeInvalidAmount(amount, b.bonded);
        b.bonded -= amount;
        b.unbonding += amount;
        uint256 unlockBlock = block.number + challengeWindow + resolveWindow;
        b.unlockBlock = uint64(unlockBlock);
        emit SubmitterUnbondRequested(msg.sender, amount, unlockBlock);
    }

    /// @notice Withdraw the caller's unbonded submitter bond once its wait is over.
    function withdrawUnbonded() external {
        SubmitterBond storage b = _submitterBonds[msg.sender];
        if (block.number < b.unlockBlock) revert DataAvailabilityChallengeBondLocked(b.unlockBlock);
        uint256 amount = b.unbonding;
        if (amount == 0) revert DataAvailabilityChallengeInvalidAmount(0, 0);
        b.unbonding = 0;
        emit SubmitterWithdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice A submitter's bond.
    /// @param submitter The submitter.
    /// @return The bond: bonded, unbonding, and the block from which the unbonding part can be withdrawn.
    function submitterBondOf(address submitter) external view returns (SubmitterBond memory) {
        return _submitterBonds[submitter];
    }

    // ---------------------------------------------------------- challenges

    /// @notice Check that `commitment` is an Alt-DA commitment this contract can resolve: type 0
    ///         (keccak256) and 33 bytes long; reverts otherwise.
    /// @param commitment The encoded commitment (type byte, then the commitment).
    function validateCommitment(bytes calldata commitment) public pure {
        if (commitment.length == 0) revert DataAvailabilityChallengeInvalidCommitmentLength(KECCAK256_COMMITMENT_TYPE, 33, 0);
        uint8 commitmentType = uint8(commitment[0]);
        if (commitmentType != KECCAK256_COMMITMENT_TYPE) revert DataAvailabilityChallengeUnknownCommitmentType(commitmentType);
        if (commitment.length != 33) revert DataAvailabilityChallengeInvalidCommitmentLength(commitmentType, 33, commitment.length);
    }

    /// @notice The Alt-DA keccak commitment of `data`: `0x00 ‖ keccak256(data)`.
    /// @param data The data.
    /// @return The 33-byte commitment.
    function computeCommitmentKeccak256(bytes calldata data) external pure returns (bytes memory) {
        return bytes.concat(bytes1(KECCAK256_COMMITMENT_TYPE), keccak256(data));
    }

    /// @notice Challenge the availability of batch `batchIndex` of `datanetId`, locking `bondSize` of
    ///         the caller's unlocked balance. Within `challengeWindow` blocks of the batch's anchoring,
    ///         once per batch.
    /// @param datanetId The datanet.
    /// @param batchIndex The batch.
    /// @param commitment The batch's Alt-DA keccak commitment (`0x00 ‖ dataHash`).
    function challenge(uint256 datanetId, uint256 batchIndex, bytes calldata commitment) external {
        (, uint64 anchoredBlock) = _anchoredBatch(datanetId, batchIndex, commitment);
        if (_challenges[datanetId][batchIndex].challenger != address(0)) revert DataAvailabilityChallengeExists(datanetId, batchIndex);
        uint256 closedAt = uint256(anchoredBlock) + challengeWindow;
        if (block.number > closedAt) revert DataAvailabilityChallengeWindowClosed(datanetId, batchIndex, closedAt);
        uint256 balance = balances[msg.sender];
        if (balance < bondSize) revert DataAvailabilityChallengeBondTooLow(balance, bondSize);
        balances[msg.sender] = balance - bondSize;
        _challenges[datanetId][batchIndex] =
            Challenge({challenger: msg.sender, startBlock: uint64(block.number), resolvedBlock: 0, settled: false, lockedBond: bondSize});
        emit BalanceChanged(msg.sender, balance - bondSize);
        emit ChallengeStatusChanged(datanetId, batchIndex, commitment, ChallengeStatus.Active);
    }

    /// @notice Answer an active challenge by posting the batch's DA payload as calldata. Anyone may
    ///         resolve. The challenger's bond pays the resolution's estimated cost,
    ///         `(FIXED_RESOLUTION_COST + length × VARIABLE_RESOLUTION_COST / precision) × basefee`
    ///         (OPEN is the gas token of the protocol's chain): `resolverRefundPercentage` of it to the
    ///         resolver, the rest of it to `slashDestination`; the challenger gets back the bond above it.
    /// @param datanetId The datanet.
    /// @param batchIndex The batch.
    /// @param commitment The batch's Alt-DA keccak commitment.
    /// @param resolveData The batch's DA payload.
    function resolve(uint256 datanetId, uint256 batchIndex, bytes calldata commitment, bytes calldata resolveData) external {
        (bytes32 dataHash, ) = _anchoredBatch(datanetId, batchIndex, commitment);
        ChallengeStatus status = getChallengeStatus(datanetId, batchIndex);
        if (status != ChallengeStatus.Active) revert DataAvailabilityChallengeNotActive(datanetId, batchIndex, status);
        bytes32 computed = keccak256(resolveData);
        if (computed != dataHash) revert DataAvailabilityChallengeInvalidInputData(computed, dataHash);

        Challenge storage c = _challenges[datanetId][batchIndex];
        c.resolvedBlock = uint64(block.number);
        uint256 locked = c.lockedBond;
        c.lockedBond = 0;
        uint256 cost = (FIXED_RESOLUTION_COST + (resolveData.length * VARIABLE_RESOLUTION_COST) / VARIABLE_RESOLUTION_COST_PRECISION) * block.basefee;
        if (cost > locked) cost = locked;
        uint256 refund = (cost * resolverRefundPercentage) / 100;
        emit ChallengeStatusChanged(datanetId, batchIndex, commitment, ChallengeStatus.Resolved);
        if (locked > cost) _credit(c.challenger, locked - cost);
        if (refund > 0) _credit(msg.sender, refund);
        if (cost > refund) token.safeTransfer(slashDestination, cost - refund);
    }

    /// @notice Pay out an expired challenge: the challenger's bond comes back to its balance, and the
    ///         submitter's bond (bonded first, then unbonding) loses `submitterSlash` (or what is left),
    ///         `challengerRewardPercentage` of it to the challenger's balance and the rest to
    ///         `slashDestination`. The batch is voided from the moment its challenge expired, whether
    ///         or not this was called. Anyone may call it, once.
    /// @param datanetId The datanet.
    /// @param batchIndex The batch.
    function expire(uint256 datanetId, uint256 batchIndex) external {
        ChallengeStatus status = getChallengeStatus(datanetId, batchIndex);
        if (status != ChallengeStatus.Expired) revert DataAvailabilityChallengeNotExpired(datanetId, batchIndex, status);
        Challenge storage c = _challenges[datanetId][batchIndex];
        if (c.settled) revert DataAvailabilityChallengeAlreadySettled(datanetId, batchIndex);
        c.settled = true;
        uint256 locked = c.lockedBond;
        c.lockedBond = 0;
        address challenger = c.challenger;

        (, address submitter, ) = registry.batchDataOf(datanetId, batchIndex);
        SubmitterBond storage b = _submitterBonds[submitter];
        uint256 slash = submitterSlash;
        uint256 fromBonded = slash < b.bonded ? slash : b.bonded;
        uint256 fromUnbonding = slash - fromBonded < b.unbonding ? slash - fromBonded : b.unbonding;
        b.bonded -= fromBonded;
        b.unbonding -= fromUnbonding;
        slash = fromBonded + fromUnbonding;
        uint256 reward = (slash * challengerRewardPercentage) / 100;

        emit SubmitterSlashed(datanetId, batchIndex, submitter, challenger, slash, reward);
        _credit(challenger, locked + reward);
        if (slash > reward) token.safeTransfer(slashDestination, slash - reward);
    }

    /// @notice A batch's challenge.
    /// @param datanetId The datanet.
    /// @param batchIndex The batch.
    /// @return The challenge (all zero for none).
    function getChallenge(uint256 datanetId, uint256 batchIndex) external view returns (Challenge memory) {
        return _challenges[datanetId][batchIndex];
    }

    /// @notice A batch's challenge status (`Expired` once an unresolved challenge's resolve window has passed).
    /// @param datanetId The datanet.
    /// @param batchIndex The batch.
    /// @return The status.
    function getChallengeStatus(uint256 datanetId, uint256 batchIndex) public view returns (ChallengeStatus) {
        Challenge storage c = _challenges[datanetId][batchIndex];
        if (c.challenger == address(0)) return ChallengeStatus.Uninitialized;
        if (c.resolvedBlock != 0) return ChallengeStatus.Resolved;
        if (block.number <= uint256(c.startBlock) + resolveWindow) return ChallengeStatus.Active;
        return ChallengeStatus.Expired;
    }

    /// @notice Whether a batch's data was challenged and not made available in time: its root must
    ///         then be treated as not anchored (DatanetRegistry keeps the record; readers ask here).
    /// @param datanetId The datanet.
    /// @param batchIndex The batch.
    /// @return True for a voided batch.
    function isVoided(uint256 datanetId, uint256 batchIndex) external view returns (bool) {
        return getChallengeStatus(datanetId, batchIndex) == ChallengeStatus.Expired;
    }

    function _anchoredBatch(uint256 datanetId, uint256 batchIndex, bytes calldata commitment)
        private
        view
        returns (bytes32 dataHash, uint64 anchoredBlock)
    {
        validateCommitment(commitment);
        address submitter;
        (dataHash, submitter, anchoredBlock) = registry.batchDataOf(datanetId, batchIndex);
        if (submitter == address(0)) revert DataAvailabilityChallengeUnknownBatch(datanetId, batchIndex);
        bytes32 given = bytes32(commitment[1:]);
        if (given != dataHash) revert DataAvailabilityChallengeCommitmentMismatch(datanetId, batchIndex, dataHash, given);
    }

    function _credit(address account, uint256 amount) private {
        uint256 balance = balances[account] += amount;
        emit BalanceChanged(account, balance);
    }

    /// @inheritdoc OpenPayments
    function _openToken() internal view override returns (IERC20) {
        return token;
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {OpenPayments} from "./OpenPayments.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IInferenceEscrow} from "./interfaces/IInferenceEscrow.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Epoch settlement of attributed inference fees
/// @notice Every operator settles on its own ledger. Each epoch, an active operator draws what
///         consumers authorised *to it* from the escrow and posts the Merkle root of every payee's
///         *cumulative* earnings from that operator since genesis. During the challenge window
///         anyone but the operator may dispute the root (with a bond; an arbiter decides) or prove
///         on chain that it lowered a payee's earnings; an upheld dispute reverts the root and
///         slashes the operator. After the window the root is final and each payee claims, per
///         operator, the difference between its cumulative earnings and what it already claimed
///         from that operator, with one proof.
///         An operator's roots pay only from what that operator drew: no operator can reduce, hold
///         up or pay out another operator's funds, and one operator's roots never need another's
///         leaves (decision 0018).
///         The fee split, the attribution threshold and the signal weights live here and belong to
///         governance (DEFAULT_ADMIN_ROLE, the timelock); the node reads them from chain.
///         The contract cannot check that a root's leaves sum to its declared total, nor prove that a
///         payee was left out: those frauds are for the bonded dispute. An operator's claims can
///         never exceed what it drew from the escrow.
/// @dev Leaves are OpenZeppelin merkle-tree "standard" leaves of (address payee, uint256 cumulative).
contract AttributionSettlement is AccessControl, ReentrancyGuard, OpenPayments {
    using SafeERC20 for IERC20;

    /// @notice Role that decides bonded disputes.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    /// @notice Basis-point denominator.
    uint16 public constant BPS = 10_000;
    /// @notice The evidence threshold a new deployment starts with (decision 0013).
    uint32 public constant DEFAULT_EVIDENCE_THRESHOLD_PPM = 400_000;

    /// @notice Shares of an inference fee, in basis points summing to 10,000.
    struct FeeSplit {
        uint16 modelOwnerBps;
        uint16 datanetOwnersBps;
        uint16 contributorsBps;
        uint16 stakersBps;
    }

    /// @notice Life of an epoch root.
    enum EpochStatus {
        None,
        Pending,
        Disputed,
        Finalized,
        Reverted
    }

    /// @notice One operator's settlement: its epochs, its final root, its funds.
    struct Ledger {
        /// Number of the operator's last posted epoch (reverted ones included).
        uint256 lastEpoch;
        /// The operator's epoch awaiting finalization (0 if none).
        uint256 pendingEpoch;
        /// The operator's last finalized epoch, its root and its total.
        uint256 finalizedEpoch;
        bytes32 finalizedRoot;
        uint256 finalizedTotal;
        /// OPEN the operator drew from the escrow, in total.
        uint256 funded;
        /// OPEN claimed from the operator's roots, in total.
        uint256 claimed;
    }

    /// @notice One posted epoch.
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

    /// @notice The settled token (OPEN).
    IERC20 public immutable token;
    /// @notice The escrow consumers' authorised spend is drawn from.
    IInferenceEscrow public immutable escrow;
    /// @notice Where operators are staked, frozen and slashed.
    IStaking public immutable staking;

    /// @notice Seconds after posting during which a root can be disputed.
    uint64 public challengeWindow;
    /// @notice OPEN a challenger bonds to open a dispute.
    uint256 public disputeBond;
    /// @notice OPEN slashed from an operator whose root is reverted (capped at its stake).
    uint256 public operatorSlashAmount;
    /// @notice Seconds after an epoch's challenge window within which an arbiter must decide its
    ///         dispute; after it, anyone may expire the dispute: the root is dropped unslashed and the
    ///         bond goes to the staking contract's slash destination (the treasury), so holding up
    ///         settlement costs the challenger its bond each time. It must outlast a governance vote
    ///         and its timelock, the arbiter of last resort (decision 0018).
    uint64 public disputeTimeout = 7 days;
    /// @notice The fee split in force.
    FeeSplit public feeSplit;
    /// @notice Contributions whose share of an inference's attribution is below this (parts per
    ///         million) get nothing, and the rest are renormalised.
    uint32 public attributionThresholdPpm;
    /// @notice Weight of span attribution in the combined score (bps); influence gets the rest.
    uint16 public spanWeightBps;
    /// @notice Evidence (parts per million) an inference's attribution must reach before individual
    ///         contributions are paid: the stronger of the share of the output's information found
    ///         verbatim in the training data and the influence confidence. Below it the
    ///         contributors' share goes to the datanets' pools.
    uint32 public evidenceThresholdPpm;

    /// @notice OPEN drawn from the escrow, in total (all operators).
    uint256 public totalFunded;
    /// @notice OPEN claimed, in total (all operators).
    uint256 public totalClaimed;
    /// @notice Cumulative amount each payee claimed from each operator's roots.
    mapping(address operator => mapping(address payee => uint256)) public claimed;

    mapping(address operator => Ledger) private _ledgers;
    mapping(address operator => mapping(uint256 => Epoch)) private _epochs;
    mapping(address operator => mapping(uint256 => uint256)) private _disputeBonds;

    /// @notice `operator` posted `epoch`: its root, cumulative total, what it drew now and its inputs.
    event EpochPosted(uint256 indexed epoch, address indexed operator, bytes32 root, uint256 cumulativeTotal, uint256 funded, bytes32 inputsHash, string inputsURI);
    /// @notice `operator`'s `epoch` is final: payees claim against `root`.
    event EpochFinalized(uint256 indexed epoch, address indexed operator, bytes32 root, uint256 cumulativeTotal);
    /// @notice `challenger` disputed `operator`'s `epoch` with a bond and evidence.
    event EpochDisputed(uint256 indexed epoch, address indexed operator, address indexed challenger, bytes32 evidenceHash, string evidenceURI);
    /// @notice `arbiter` decided the dispute of `operator`'s `epoch`.
    event DisputeResolved(uint256 indexed epoch, address indexed operator, bool upheld, address arbiter);
    /// @notice `operator`'s `epoch` was reverted and `slashed` OPEN taken from its stake.
    event EpochReverted(uint256 indexed epoch, address indexed operator, uint256 slashed);
    /// @notice The dispute of `operator`'s `epoch` expired undecided.
    event DisputeExpired(uint256 indexed epoch, address indexed operator);
    /// @notice `operator` drew `amount` into its ledger without posting an epoch.
    event Funded(address indexed operator, uint256 amount);
    /// @notice Disputes must now be decided within `timeout` seconds after their window.
    event DisputeTimeoutSet(uint64 timeout);
    /// @notice `payee` claimed `amount` from `operator`'s roots, `cumulativeAmount` in total.
    event Claimed(address indexed operator, address indexed payee, uint256 amount, uint256 cumulativeAmount, uint256 epoch);
    /// @notice The fee split in force (basis points).
    event FeeSplitSet(uint16 modelOwnerBps, uint16 datanetOwnersBps, uint16 contributorsBps, uint16 stakersBps);
    /// @notice The attribution threshold in force (ppm).
    event AttributionThresholdSet(uint32 thresholdPpm);
    /// @notice The weight of span attribution in force (bps).
    event SpanWeightSet(uint16 spanWeightBps);
    /// @notice The evidence threshold in force (ppm).
    event EvidenceThresholdSet(uint32 thresholdPpm);
    /// @notice Epochs posted from now on can be disputed for `window` seconds.
    event ChallengeWindowSet(uint64 window);
    /// @notice A dispute now bonds `bond` OPEN.
    event DisputeBondSet(uint256 bond);
    /// @notice A reverted root now slashes its operator `amount` OPEN.
    event OperatorSlashAmountSet(uint256 amount);

    /// @notice The token given to the constructor is the zero address.
    error AttributionSettlementInvalidToken(address token);
    /// @notice The escrow given to the constructor is the zero address.
    error AttributionSettlementInvalidEscrow(address escrow);
    /// @notice The staking contract given to the constructor is the zero address.
    error AttributionSettlementInvalidStaking(address staking);
    /// @notice The admin given to the constructor is the zero address.
    error AttributionSettlementInvalidAdmin(address admin);
    /// @notice `caller` is not an active operator.
    error AttributionSettlementNotOperator(address caller);
    /// @notice The operator's next epoch is `expected`, not `given`.
    error AttributionSettlementEpochOutOfOrder(uint256 expected, uint256 given);
    /// @notice The operator's `epoch` is still pending (or disputed).
    error AttributionSettlementEpochPending(uint256 epoch);
    /// @notice A zero root posted for `epoch`.
    error AttributionSettlementEmptyRoot(uint256 epoch);
    /// @notice A cumulative total (`newTotal`) below the operator's final one (`previousTotal`).
    error AttributionSettlementTotalDecreased(uint256 previousTotal, uint256 newTotal);
    /// @notice A root paying `cumulativeTotal`, more than the operator drew (`totalFunded`).
    error AttributionSettlementRootExceedsFunding(uint256 cumulativeTotal, uint256 totalFunded);
    /// @notice `epoch` is not pending.
    error AttributionSettlementNotPending(uint256 epoch);
    /// @notice `operator` disputing its own epoch.
    error AttributionSettlementSelfDispute(address operator);
    /// @notice `epoch` is not disputed.
    error AttributionSettlementNotDisputed(uint256 epoch);
    /// @notice The challenge window of `epoch` has closed.
    error AttributionSettlementChallengeWindowClosed(uint256 epoch);
    /// @notice The dispute of `epoch` expires only at `expiresAt`.
    error AttributionSettlementDisputeNotExpired(uint256 epoch, uint64 expiresAt);
    /// @notice `operator` has no final root yet.
    error AttributionSettlementNoFinalizedRoot(address operator);
    /// @notice The proof does not show (`payee`, `amount`) in the root it is checked against.
    error AttributionSettlementInvalidProof(address payee, uint256 amount);
    /// @notice `payee` claimed everything the root gives it already.
    error AttributionSettlementNothingToClaim(address payee);
    /// @notice Claims from `operator`'s roots would reach `claimed`, more than it drew (`funded`).
    error AttributionSettlementClaimsExceedFunding(address operator, uint256 claimed, uint256 funded);
    /// @notice `newAmount` is not below `previousAmount`.
    error AttributionSettlementNotADecrease(uint256 previousAmount, uint256 newAmount);
    /// @notice A fee split whose shares do not sum to 10,000 bps.
    error AttributionSettlementInvalidFeeSplit(uint16 modelOwnerBps, uint16 datanetOwnersBps, uint16 contributorsBps, uint16 stakersBps);
    /// @notice A challenge window of 0 seconds.
    error AttributionSettlementInvalidChallengeWindow(uint64 window);
    /// @notice A dispute timeout of 0 seconds.
    error AttributionSettlementInvalidDisputeTimeout(uint64 timeout);
    /// @notice A span weight above 10,000 bps.
    error AttributionSettlementInvalidSpanWeight(uint16 weightBps);
    /// @notice An attribution threshold above 1,000,000 ppm.
    error AttributionSettlementInvalidAttributionThreshold(uint32 thresholdPpm);
    /// @notice An evidence threshold above 1,000,000 ppm.
    error AttributionSettlementInvalidEvidenceThreshold(uint32 thresholdPpm);

    /// @param token_ The OPEN token.
    /// @param escrow_ The escrow drawn from.
    /// @param staking_ Where operators are staked (this contract needs its SLASHER_ROLE).
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (the timelock, or the deployer while wiring).
    /// @param challengeWindow_ Initial challenge window in seconds.
    /// @param split Initial fee split.
    /// @param thresholdPpm Initial attribution threshold.
    constructor(
        IERC20 token_,
        IInferenceEscrow escrow_,
        IStaking staking_,
        address admin,
        uint64 challengeWindow_,
        FeeSplit memory split,
        uint32 thresholdPpm
    ) {
        if (address(token_) == address(0)) revert AttributionSettlementInvalidToken(address(token_));
        if (address(escrow_) == address(0)) revert AttributionSettlementInvalidEscrow(address(escrow_));
        if (address(staking_) == address(0)) revert AttributionSettlementInvalidStaking(address(staking_));
        if (admin == address(0)) revert AttributionSettlementInvalidAdmin(admin);
        token = token_;
        escrow = escrow_;
        staking = staking_;
        challengeWindow = challengeWindow_;
        _setFeeSplit(split);
        _setAttributionThreshold(thresholdPpm);
        _setSpanWeight(BPS / 2);
        _setEvidenceThreshold(DEFAULT_EVIDENCE_THRESHOLD_PPM);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ epochs

    /// @notice Draw the given authorizations from the escrow and post the caller's epoch `epoch`.
    /// @dev Caller must be an active operator. Its previous pending epoch must be final first (this
    ///      call finalizes it if its window has passed). The escrow is a trusted protocol contract
    ///      called under the reentrancy guard; its draw must precede the funding check.
    /// @param epoch Must be the caller's `lastEpoch + 1`.
    /// @param root Merkle root of (payee, cumulative earnings from the caller).
    /// @param cumulativeTotal Sum of all cumulative earnings in the tree, at most what the caller drew.
    /// @param inputsHash Hash of the epoch's inputs (its receipts), for recomputation.
    /// @param inputsURI Where the inputs can be fetched.
    /// @param draws Consumers' spend authorizations for this operator, their signatures, and each
    ///        consumer's metered cumulative spend to draw up to.
    function postEpoch(
        uint256 epoch,
        bytes32 root,
        uint256 cumulativeTotal,
        bytes32 inputsHash,
        string calldata inputsURI,
        IInferenceEscrow.Draw[] calldata draws
    ) external nonReentrant {
        if (!staking.isActive(msg.sender, IStaking.Role.Operator)) revert AttributionSettlementNotOperator(msg.sender);
        Ledger storage l = _ledgers[msg.sender];
        _tryFinalize(msg.sender, l);
        if (l.pendingEpoch != 0) revert AttributionSettlementEpochPending(l.pendingEpoch);
        if (epoch != l.lastEpoch + 1) revert AttributionSettlementEpochOutOfOrder(l.lastEpoch + 1, epoch);
        if (root == bytes32(0)) revert AttributionSettlementEmptyRoot(epoch);
        if (cumulativeTotal < l.finalizedTotal) revert AttributionSettlementTotalDecreased(l.finalizedTotal, cumulativeTotal);

        uint256 funded = draws.length > 0 ? escrow.draw(draws, msg.sender) : 0;
        uint256 newFunded = l.funded + funded;
        if (cumulativeTotal > newFunded) revert AttributionSettlementRootExceedsFunding(cumulativeTotal, newFunded);

        l.funded = newFunded;
        totalFunded += funded;
        l.lastEpoch = epoch;
        l.pendingEpoch = epoch;
        _epochs[msg.sender][epoch] = Epoch(
            root,
            cumulativeTotal,
            funded,
            msg.sender,
            uint64(block.timestamp),
            uint64(block.timestamp) + challengeWindow,
            EpochStatus.Pending,
            inputsHash,
            address(0)
        );
        emit EpochPosted(epoch, msg.sender, root, cumulativeTotal, funded, inputsHash, inputsURI);
    }

    /// @notice Draw authorised spend into the caller's ledger without posting an epoch, e.g. when a
    ///         consumer asks to withdraw while an epoch is pending or disputed.
    /// @param draws Consumers' spend authorizations for the caller (an active operator), their
    ///        signatures, and each consumer's metered cumulative spend to draw up to.
    /// @return funded OPEN drawn.
    function fund(IInferenceEscrow.Draw[] calldata draws)
        external
        nonReentrant
        returns (uint256 funded)
    {
        if (!staking.isActive(msg.sender, IStaking.Role.Operator)) revert AttributionSettlementNotOperator(msg.sender);
        funded = escrow.draw(draws, msg.sender);
        _ledgers[msg.sender].funded += funded;
        totalFunded += funded;
        emit Funded(msg.sender, funded);
    }

    /// @notice Finalize `operator`'s pending epoch if its challenge window has passed undisputed.
    /// @param operator The operator.
    /// @return True if an epoch was finalized.
    function finalizeEpoch(address operator) external returns (bool) {
        return _tryFinalize(operator, _ledgers[operator]);
    }

    /// @notice Dispute `operator`'s pending epoch during its window, bonding `disputeBond` OPEN (native with the call, or the token: {OpenPayments}). The
    ///         operator's stake is frozen until the dispute ends. The operator cannot dispute its own
    ///         epoch (it would hold up its payees for free).
    /// @param operator The operator whose epoch is disputed.
    /// @param epoch Its pending epoch.
    /// @param evidenceHash Hash of the evidence (e.g. a receipt whose recomputation differs).
    /// @param evidenceURI Where the evidence can be fetched.
    function dispute(address operator, uint256 epoch, bytes32 evidenceHash, string calldata evidenceURI) external payable nonReentrant {
        if (msg.sender == operator) revert AttributionSettlementSelfDispute(operator);
        Epoch storage e = _epochs[operator][epoch];
        if (e.status != EpochStatus.Pending) revert AttributionSettlementNotPending(epoch);
        if (block.timestamp >= e.challengeEndsAt) revert AttributionSettlementChallengeWindowClosed(epoch);
        e.status = EpochStatus.Disputed;
        e.challenger = msg.sender;
        uint256 bond = disputeBond;
        _disputeBonds[operator][epoch] = bond;
        emit EpochDisputed(epoch, operator, msg.sender, evidenceHash, evidenceURI);
        staking.freeze(operator);
        _collect(bond);
    }

    /// @notice Decide a bonded dispute (arbiter only). Upheld: the root is reverted, the operator
    ///         slashed and the bond returned. Rejected: the bond goes to the operator and the epoch
    ///         is pending again (final once its original window has passed).
    /// @param operator The operator whose epoch is disputed.
    /// @param epoch The disputed epoch.
    /// @param upheld The decision.
    function resolveDispute(address operator, uint256 epoch, bool upheld) external onlyRole(ARBITER_ROLE) nonReentrant {
        Epoch storage e = _epochs[operator][epoch];
        if (e.status != EpochStatus.Disputed) revert AttributionSettlementNotDisputed(epoch);
        uint256 bond = _disputeBonds[operator][epoch];
        delete _disputeBonds[operator][epoch];
        emit DisputeResolved(epoch, operator, upheld, msg.sender);
        if (upheld) {
            _revert(epoch, e, _ledgers[operator]);
        } else {
            e.status = EpochStatus.Pending;
        }
        staking.unfreeze(e.operator);
        if (bond > 0) token.safeTransfer(upheld ? e.challenger : e.operator, bond);
    }

    /// @notice Drop a disputed epoch whose arbiter did not decide within `disputeTimeout` after its
    ///         window: the root is reverted without slashing, so the operator's settlement moves on,
    ///         and the bond goes to the slash destination (the treasury), not to either party: a
    ///         dispute nobody decides costs its challenger the bond, whoever the challenger is (the
    ///         operator's own second address included).
    /// @param operator The operator whose epoch is disputed.
    /// @param epoch The disputed epoch.
    function expireDispute(address operator, uint256 epoch) external nonReentrant {
        Epoch storage e = _epochs[operator][epoch];
        if (e.status != EpochStatus.Disputed) revert AttributionSettlementNotDisputed(epoch);
        uint64 expiresAt = e.challengeEndsAt + disputeTimeout;
        if (block.timestamp < expiresAt) revert AttributionSettlementDisputeNotExpired(epoch, expiresAt);
        uint256 bond = _disputeBonds[operator][epoch];
        delete _disputeBonds[operator][epoch];
        e.status = EpochStatus.Reverted;
        _ledgers[operator].pendingEpoch = 0;
        emit DisputeExpired(epoch, operator);
        emit EpochReverted(epoch, operator, 0);
        staking.unfreeze(operator);
        if (bond > 0) token.safeTransfer(staking.slashDestination(), bond);
    }

    /// @notice Prove that an operator's pending root gives `payee` less than the operator's last final
    ///         root did; cumulative earnings never decrease, so the root is reverted and the operator
    ///         slashed at once.
    /// @param operator The operator.
    /// @param epoch Its pending (or disputed) epoch.
    /// @param payee The payee.
    /// @param previousAmount Its cumulative earnings in the operator's last final root.
    /// @param previousProof Proof of that against `finalizedRoot`.
    /// @param newAmount Its cumulative earnings in the challenged root.
    /// @param newProof Proof of that against the challenged root.
    function proveDecrease(
        address operator,
        uint256 epoch,
        address payee,
        uint256 previousAmount,
        bytes32[] calldata previousProof,
        uint256 newAmount,
        bytes32[] calldata newProof
    ) external nonReentrant {
        Epoch storage e = _epochs[operator][epoch];
        Ledger storage l = _ledgers[operator];
        if (e.status != EpochStatus.Pending && e.status != EpochStatus.Disputed) revert AttributionSettlementNotPending(epoch);
        if (block.timestamp >= e.challengeEndsAt && e.status == EpochStatus.Pending) revert AttributionSettlementChallengeWindowClosed(epoch);
        if (newAmount >= previousAmount) revert AttributionSettlementNotADecrease(previousAmount, newAmount);
        if (!MerkleProof.verifyCalldata(previousProof, l.finalizedRoot, _leaf(payee, previousAmount))) revert AttributionSettlementInvalidProof(payee, previousAmount);
        if (!MerkleProof.verifyCalldata(newProof, e.root, _leaf(payee, newAmount))) revert AttributionSettlementInvalidProof(payee, newAmount);
        uint256 bond = _disputeBonds[operator][epoch];
        delete _disputeBonds[operator][epoch];
        bool wasDisputed = e.status == EpochStatus.Disputed;
        _revert(epoch, e, l);
        if (wasDisputed) staking.unfreeze(operator);
        if (bond > 0) token.safeTransfer(e.challenger, bond);
    }

    // ------------------------------------------------------------------ claims

    /// @notice Pay `payee` its cumulative earnings in `operator`'s final root minus what it already
    ///         claimed from that operator, out of what that operator drew.
    /// @dev Anyone may call; the OPEN goes to `payee`.
    /// @param operator The operator whose root pays.
    /// @param payee The payee.
    /// @param cumulativeAmount Its cumulative earnings in the operator's final root.
    /// @param proof Merkle proof from @openzeppelin/merkle-tree.
    /// @return amount OPEN paid.
    function claim(address operator, address payee, uint256 cumulativeAmount, bytes32[] calldata proof) external nonReentrant returns (uint256 amount) {
        Ledger storage l = _ledgers[operator];
        _tryFinalize(operator, l);
        bytes32 root = l.finalizedRoot;
        if (root == bytes32(0)) revert AttributionSettlementNoFinalizedRoot(operator);
        if (!MerkleProof.verifyCalldata(proof, root, _leaf(payee, cumulativeAmount))) revert AttributionSettlementInvalidProof(payee, cumulativeAmount);
        uint256 already = claimed[operator][payee];
        if (cumulativeAmount <= already) revert AttributionSettlementNothingToClaim(payee);
        amount = cumulativeAmount - already;
        uint256 newClaimed = l.claimed + amount;
        if (newClaimed > l.funded) revert AttributionSettlementClaimsExceedFunding(operator, newClaimed, l.funded);
        claimed[operator][payee] = cumulativeAmount;
        l.claimed = newClaimed;
        totalClaimed += amount;
        emit Claimed(operator, payee, amount, cumulativeAmount, l.finalizedEpoch);
        token.safeTransfer(payee, amount);
    }

    // -------------------------------------------------------------- governance

    /// @notice Set the fee split (governance); the shares must sum to 10,000 bps.
    /// @param split The new split.
    function setFeeSplit(FeeSplit calldata split) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFeeSplit(split);
    }

    /// @notice Set the attribution threshold (governance), at most 1,000,000 ppm.
    /// @param thresholdPpm Parts per million.
    function setAttributionThreshold(uint32 thresholdPpm) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setAttributionThreshold(thresholdPpm);
    }

    /// @notice Set the evidence an attribution needs before individual contributions are paid
    ///         (governance), at most 1,000,000 ppm.
    /// @param thresholdPpm Parts per million.
    function setEvidenceThreshold(uint32 thresholdPpm) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setEvidenceThreshold(thresholdPpm);
    }

    /// @notice Set the weight of span attribution in the combined score (governance).
    /// @param weightBps At most 10,000; influence gets `10,000 - weightBps`.
    function setSpanWeight(uint16 weightBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSpanWeight(weightBps);
    }

    /// @notice Set the challenge window (governance); epochs already posted keep theirs.
    /// @param window Seconds, non-zero.
    function setChallengeWindow(uint64 window) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (window == 0) revert AttributionSettlementInvalidChallengeWindow(window);
        challengeWindow = window;
        emit ChallengeWindowSet(window);
    }

    /// @notice Set the dispute timeout (governance).
    /// @param timeout Seconds, non-zero.
    function setDisputeTimeout(uint64 timeout) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (timeout == 0) revert AttributionSettlementInvalidDisputeTimeout(timeout);
        disputeTimeout = timeout;
        emit DisputeTimeoutSet(timeout);
    }

    /// @notice Set the dispute bond (governance).
    /// @param bond OPEN in wei.
    function setDisputeBond(uint256 bond) external onlyRole(DEFAULT_ADMIN_ROLE) {
        disputeBond = bond;
        emit DisputeBondSet(bond);
    }

    /// @notice Set how much an operator is slashed when its root is reverted (governance).
    /// @param amount OPEN in wei.
    function setOperatorSlashAmount(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        operatorSlashAmount = amount;
        emit OperatorSlashAmountSet(amount);
    }

    // ------------------------------------------------------------------- views

    /// @notice An operator's ledger: its epochs' numbers, its final root and total, its funds.
    /// @param operator The operator.
    /// @return The ledger.
    function ledgerOf(address operator) external view returns (Ledger memory) {
        return _ledgers[operator];
    }

    /// @notice A posted epoch of an operator.
    /// @param operator The operator.
    /// @param epoch Its number.
    /// @return The epoch's record.
    function getEpoch(address operator, uint256 epoch) external view returns (Epoch memory) {
        return _epochs[operator][epoch];
    }

    /// @notice What `payee` could claim now from `operator` with a proof of `cumulativeAmount` in the
    ///         operator's final root.
    /// @param operator The operator.
    /// @param payee The payee.
    /// @param cumulativeAmount Its cumulative earnings in the final root.
    /// @return The claimable amount.
    function claimable(address operator, address payee, uint256 cumulativeAmount) external view returns (uint256) {
        uint256 already = claimed[operator][payee];
        return cumulativeAmount > already ? cumulativeAmount - already : 0;
    }

    // ---------------------------------------------------------------- internal

    function _tryFinalize(address operator, Ledger storage l) private returns (bool) {
        uint256 epoch = l.pendingEpoch;
        if (epoch == 0) return false;
        Epoch storage e = _epochs[operator][epoch];
        if (e.status != EpochStatus.Pending || block.timestamp < e.challengeEndsAt) return false;
        e.status = EpochStatus.Finalized;
        l.pendingEpoch = 0;
        l.finalizedEpoch = epoch;
        l.finalizedRoot = e.root;
        l.finalizedTotal = e.cumulativeTotal;
        emit EpochFinalized(epoch, operator, e.root, e.cumulativeTotal);
        return true;
    }

    function _revert(uint256 epoch, Epoch storage e, Ledger storage l) private {
        e.status = EpochStatus.Reverted;
        l.pendingEpoch = 0;
        IStaking.Position memory p = staking.positionOf(e.operator, IStaking.Role.Operator, 0);
        uint256 stake = p.bonded + p.unbonding;
        uint256 amount = operatorSlashAmount < stake ? operatorSlashAmount : stake;
        emit EpochReverted(epoch, e.operator, amount);
        if (amount > 0) staking.slash(e.operator, IStaking.Role.Operator, 0, amount, bytes32(epoch));
    }

    function _setFeeSplit(FeeSplit memory split) private {
        if (uint256(split.modelOwnerBps) + split.datanetOwnersBps + split.contributorsBps + split.stakersBps != BPS) {
            revert AttributionSettlementInvalidFeeSplit(split.modelOwnerBps, split.datanetOwnersBps, split.contributorsBps, split.stakersBps);
        }
        feeSplit = split;
        emit FeeSplitSet(split.modelOwnerBps, split.datanetOwnersBps, split.contributorsBps, split.stakersBps);
    }

    function _setSpanWeight(uint16 weightBps) private {
        if (weightBps > BPS) revert AttributionSettlementInvalidSpanWeight(weightBps);
        spanWeightBps = weightBps;
        emit SpanWeightSet(weightBps);
    }

    function _setAttributionThreshold(uint32 thresholdPpm) private {
        if (thresholdPpm > 1_000_000) revert AttributionSettlementInvalidAttributionThreshold(thresholdPpm);
        attributionThresholdPpm = thresholdPpm;
        emit AttributionThresholdSet(thresholdPpm);
    }

    function _setEvidenceThreshold(uint32 thresholdPpm) private {
        if (thresholdPpm > 1_000_000) revert AttributionSettlementInvalidEvidenceThreshold(thresholdPpm);
        evidenceThresholdPpm = thresholdPpm;
        emit EvidenceThresholdSet(thresholdPpm);
    }

    function _leaf(address payee, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(payee, amount))));
    }

    /// @inheritdoc OpenPayments
    function _openToken() internal view override returns (IERC20) {
        return token;
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {OpenPayments} from "./OpenPayments.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IInferenceEscrow} from "./interfaces/IInferenceEscrow.sol";

/// @title Consumers' deposits that pay for inference
/// @notice Consumers deposit OPEN. A node meters each call off chain and collects, from the
///         consumer, an EIP-712 SpendAuthorization: the cumulative amount the consumer allows that
///         operator to draw, a nonce that grows with every authorization, and an expiry. The
///         settlement contract draws, for its operator, the difference between the latest
///         authorization's cumulative amount and what was drawn before, so an operator can never
///         take more than the consumer signed. Withdrawals wait `withdrawalDelay` so an operator
///         can draw what it already served (governance keeps it longer than an epoch).
contract InferenceEscrow is IInferenceEscrow, AccessControl, EIP712, ReentrancyGuard, OpenPayments {
    using SafeERC20 for IERC20;

    /// @notice Role of the settlement contract, the only caller of `draw`.
    bytes32 public constant SETTLEMENT_ROLE = keccak256("SETTLEMENT_ROLE");

    /// @notice EIP-712 type hash of SpendAuthorization.
    bytes32 public constant SPEND_AUTHORIZATION_TYPEHASH = keccak256(
        "SpendAuthorization(address consumer,address operator,uint256 cumulativeAmount,uint256 nonce,uint256 expiry)"
    );

    // SpendAuthorization (what a consumer signs) and Draw (one draw) are declared in IInferenceEscrow.

    /// @notice A pending withdrawal.
    struct Withdrawal {
        uint256 amount;
        uint64 unlockAt;
    }

    /// @notice The deposited token (OPEN).
    IERC20 public immutable token;
    /// @notice Seconds between a withdrawal request and the withdrawal.
    uint64 public withdrawalDelay;
    /// @notice Sum of all balances.
    uint256 public totalDeposits;
    /// @notice Deposit of each consumer.
    mapping(address => uint256) public balanceOf;
    /// @notice Cumulative amount drawn, by consumer then operator.
    mapping(address => mapping(address => uint256)) public drawn;
    /// @notice Highest authorization nonce used, by consumer then operator.
    mapping(address => mapping(address => uint256)) public lastNonce;

    mapping(address => Withdrawal) private _withdrawals;

    /// @notice `from` deposited `amount` for `consumer`.
    event Deposited(address indexed consumer, address indexed from, uint256 amount);
    /// @notice `consumer` asked to withdraw `amount`, possible from `unlockAt`.
    event WithdrawalRequested(address indexed consumer, uint256 amount, uint64 unlockAt);
    /// @notice `consumer` cancelled its pending withdrawal.
    event WithdrawalCancelled(address indexed consumer);
    /// @notice `consumer` withdrew `amount`.
    event Withdrawn(address indexed consumer, uint256 amount);
    /// @notice `operator` drew `amount` of `consumer`'s deposit, up to `cumulativeAmount` in total, under authorization `nonce`.
    event Drawn(address indexed consumer, address indexed operator, uint256 amount, uint256 cumulativeAmount, uint256 nonce);
    /// @notice Withdrawals now wait `delay` seconds.
    event WithdrawalDelaySet(uint64 delay);

    /// @notice A deposit or withdrawal of nothing.
    error InferenceEscrowZeroAmount();
    /// @notice The token given to the constructor is the zero address.
    error InferenceEscrowInvalidToken(address token);
    /// @notice The admin given to the constructor is the zero address.
    error InferenceEscrowInvalidAdmin(address admin);
    /// @notice A deposit for the zero address.
    error InferenceEscrowInvalidConsumer(address consumer);
    /// @notice `consumer` has no pending withdrawal.
    error InferenceEscrowNoWithdrawalPending(address consumer);
    /// @notice The pending withdrawal unlocks only at `unlockAt`.
    error InferenceEscrowWithdrawalLocked(uint64 unlockAt);
    /// @notice The deposit (`balance`) is smaller than `requested`.
    error InferenceEscrowInsufficientDeposit(uint256 balance, uint256 requested);
    /// @notice The authorization names `expected` as its operator, not the drawing `actual`.
    error InferenceEscrowWrongOperator(address expected, address actual);
    /// @notice The authorization expired at `expiry`.
    error InferenceEscrowAuthorizationExpired(uint256 expiry);
    /// @notice The authorization (`nonce`) is older than, or drawn no further than, the last one used (`lastNonce`).
    error InferenceEscrowAuthorizationReplayed(uint256 nonce, uint256 lastNonce);
    /// @notice A draw up to `cumulativeAmount`, below what was drawn already.
    error InferenceEscrowCumulativeBelowDrawn(uint256 cumulativeAmount, uint256 alreadyDrawn);
    /// @notice A draw up to `drawTo`, beyond the authorization's `cumulativeAmount`.
    error InferenceEscrowDrawExceedsAuthorization(uint256 drawTo, uint256 cumulativeAmount);
    /// @notice The authorization's signature is not `consumer`'s (ECDSA, or ERC-1271 for a contract account).
    error InferenceEscrowInvalidSignature(address consumer);

    /// @param token_ The OPEN token.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (the timelock, or the deployer while wiring).
    /// @param withdrawalDelay_ Initial withdrawal delay in seconds.
    constructor(IERC20 token_, address admin, uint64 withdrawalDelay_) EIP712("OpenLedger InferenceEscrow", "1") {
        if (address(token_) == address(0)) revert InferenceEscrowInvalidToken(address(token_));
        if (admin == address(0)) revert InferenceEscrowInvalidAdmin(admin);
        token = token_;
        withdrawalDelay = withdrawalDelay_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Deposit `amount` OPEN for `consumer`: sent with the call as native OPEN, or as the
    ///         token after an approval ({OpenPayments}).
    /// @param consumer Whose balance is credited.
    /// @param amount OPEN in wei.
    function deposit(address consumer, uint256 amount) public payable nonReentrant {
        if (amount == 0) revert InferenceEscrowZeroAmount();
        if (consumer == address(0)) revert InferenceEscrowInvalidConsumer(consumer);
        balanceOf[consumer] += amount;
        totalDeposits += amount;
        emit Deposited(consumer, msg.sender, amount);
        _collect(amount);
    }

    /// @notice Deposit for the caller with an EIP-2612 permit instead of a prior approval.
    /// @param amount OPEN in wei.
    /// @param deadline Permit deadline.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        // A front-run permit leaves the allowance in place, so a failed permit is not fatal.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        deposit(msg.sender, amount);
    }

    /// @notice Ask to withdraw `amount`; it stays drawable by operators until withdrawn.
    /// @dev Replaces any pending request and restarts the delay.
    /// @param amount OPEN in wei.
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert InferenceEscrowZeroAmount();
        uint256 balance = balanceOf[msg.sender];
        if (balance < amount) revert InferenceEscrowInsufficientDeposit(balance, amount);
        uint64 unlockAt = uint64(block.timestamp) + withdrawalDelay;
        _withdrawals[msg.sender] = Withdrawal(amount, unlockAt);
        emit WithdrawalRequested(msg.sender, amount, unlockAt);
    }

    /// @notice Cancel the caller's pending withdrawal.
    function cancelWithdrawal() external {
        if (_withdrawals[msg.sender].amount == 0) revert InferenceEscrowNoWithdrawalPending(msg.sender);
        delete _withdrawals[msg.sender];
        emit WithdrawalCancelled(msg.sender);
    }

    /// @notice Withdraw the pending amount once unlocked (or the whole balance if draws left less).
    function withdraw() external nonReentrant {
        Withdrawal memory w = _withdrawals[msg.sender];
        if (w.amount == 0) revert InferenceEscrowNoWithdrawalPending(msg.sender);
        if (block.timestamp < w.unlockAt) revert InferenceEscrowWithdrawalLocked(w.unlockAt);
        uint256 balance = balanceOf[msg.sender];
        uint256 amount = w.amount < balance ? w.amount : balance;
        delete _withdrawals[msg.sender];
        balanceOf[msg.sender] = balance - amount;
        totalDeposits -= amount;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Draw for `operator`, from each authorization, up to the cumulative amount the
    ///         operator metered (never beyond what the consumer signed), and pay the total to the
    ///         caller in one transfer.
    /// @dev Only SETTLEMENT_ROLE, which passes the operator who posts or funds the epoch. Any
    ///      failing authorization reverts the whole batch. An authorization is a standing cap: it can
    ///      be drawn on again for more (same nonce) until a later one (higher nonce) supersedes it;
    ///      drawing it again for nothing more, or an older one at all, is a replay.
    /// @param draws The consumers' authorizations (each naming `operator`), their EIP-712 signatures
    ///        (EOA or ERC-1271 wallet) and the cumulative spend to draw up to (at most the
    ///        authorization's `cumulativeAmount`).
    /// @param operator The operator drawing.
    /// @return total OPEN drawn.
    function draw(Draw[] calldata draws, address operator)
        external
        onlyRole(SETTLEMENT_ROLE)
        nonReentrant
        returns (uint256 total)
    {
        for (uint256 i = 0; i < draws.length; i++) {
            total += _draw(draws[i].auth, draws[i].signature, draws[i].drawTo, operator);
        }
        totalDeposits -= total;
        if (total > 0) token.safeTransfer(msg.sender, total);
    }

    function _draw(SpendAuthorization calldata auth, bytes calldata signature, uint256 drawTo, address operator) private returns (uint256 amount) {
        if (auth.operator != operator) revert InferenceEscrowWrongOperator(auth.operator, operator);
        if (block.timestamp > auth.expiry) revert InferenceEscrowAuthorizationExpired(auth.expiry);
        if (drawTo > auth.cumulativeAmount) revert InferenceEscrowDrawExceedsAuthorization(drawTo, auth.cumulativeAmount);
        uint256 previousNonce = lastNonce[auth.consumer][operator];
        uint256 alreadyDrawn = drawn[auth.consumer][operator];
        if (auth.nonce < previousNonce || (auth.nonce == previousNonce && drawTo <= alreadyDrawn)) {
            revert InferenceEscrowAuthorizationReplayed(auth.nonce, previousNonce);
        }
        if (!SignatureChecker.isValidSignatureNow(auth.consumer, hashAuthorization(auth), signature)) {
            revert InferenceEscrowInvalidSignature(auth.consumer);
        }
        if (drawTo < alreadyDrawn) revert InferenceEscrowCumulativeBelowDrawn(drawTo, alreadyDrawn);
        amount = drawTo - alreadyDrawn;
        uint256 balance = balanceOf[auth.consumer];
        if (balance < amount) revert InferenceEscrowInsufficientDeposit(balance, amount);

        lastNonce[auth.consumer][operator] = auth.nonce;
        drawn[auth.consumer][operator] = drawTo;
        balanceOf[auth.consumer] = balance - amount;
        emit Drawn(auth.consumer, operator, amount, drawTo, auth.nonce);
    }

    /// @notice Set the withdrawal delay (governance).
    /// @param delay Seconds.
    function setWithdrawalDelay(uint64 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        withdrawalDelay = delay;
        emit WithdrawalDelaySet(delay);
    }

    /// @notice A consumer's pending withdrawal.
    /// @param consumer The consumer.
    /// @return The amount and unlock time (zero if none).
    function withdrawalOf(address consumer) external view returns (Withdrawal memory) {
        return _withdrawals[consumer];
    }

    /// @notice The EIP-712 digest a consumer signs for `auth`.
    /// @param auth The authorization.
    /// @return The digest.
    function hashAuthorization(SpendAuthorization calldata auth) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    SPEND_AUTHORIZATION_TYPEHASH, auth.consumer, auth.operator, auth.cumulativeAmount, auth.nonce, auth.expiry
                )
            )
        );
    }

    /// @inheritdoc OpenPayments
    function _openToken() internal view override returns (IERC20) {
        return token;
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IAgentRegistry} from "./interfaces/IAgentRegistry.sol";
import {IERC6551Account, IERC6551Executable} from "./interfaces/IERC6551.sol";

/// @title An agent's treasury: its ERC-6551 token bound account, with session keys
/// @notice The implementation behind every agent's account (the ERC6551Registry deploys one
///         ERC-1167 proxy per agent; this code runs in the proxy's storage). The holder of the agent
///         token controls the account: `execute` makes any call as the account, and ERC-1271
///         `isValidSignature` accepts the holder's signature. The holder may also grant session keys
///         (ERC-7715-style permissions, enforced here): a session key may only spend OPEN — an ERC-20
///         `transfer` or `approve` on `openToken`, through `executeAsSession` — at most `perCallCap`
///         a call and `periodCap` a period, only to its allowed payees, until its expiry; and, if
///         granted `canSign`, sign for the account (ERC-1271) while it is valid. `revokeSessionKey`
///         ends one key, `setPaused` stops them all, and every key granted under a previous holder is
///         void: a key records the agent's owner epoch when granted (the AgentRegistry counts the
///         token's transfers), and a key of another epoch is stale.
///
///         The period cap is a fixed window: a window opens when a key is granted, and again at the
///         first spend after the previous one ended; at most `periodCap` is spent in one window
///         (`periodSeconds` 0: one window for the key's whole life, so `periodCap` is a lifetime cap).
///         A window holds no more than the rolling `periodSeconds` before any of its spends, so
///         whatever a rolling-window policy off chain allows, this allows too; across the edge of two
///         windows a key can spend up to twice `periodCap` within `periodSeconds`.
///
///         A session key's signature is bounded by the key's validity, not by its caps (a hash says
///         nothing about an amount): grant `canSign` only to keys trusted with whatever the account can
///         sign for, such as spend authorizations on its InferenceEscrow deposit (which the deposit
///         bounds). Signatures that do not name the account (e.g. an EIP-712 message without the
///         account's address) verify for every account of the same holder.
contract AgentAccount is IERC165, IERC1271, IERC6551Account, IERC6551Executable {
    /// @notice What the holder grants a session key.
    struct SessionKeyLimits {
        /// Most OPEN (wei) one call may transfer or approve.
        uint256 perCallCap;
        /// Most OPEN (wei) all calls of one window may transfer or approve together.
        uint256 periodCap;
        /// Length of a window in seconds (0: one window for the key's life).
        uint64 periodSeconds;
        /// Unix seconds after which the key does nothing (it may act at `expiry` itself).
        uint64 expiry;
        /// Whether the key may sign for the account (ERC-1271).
        bool canSign;
        /// Who the key may pay: the recipient of a `transfer`, the spender of an `approve` (empty: anyone).
        address[] allowedTargets;
    }

    /// @notice A session key as recorded: its limits, when granted, and what it spent.
    struct SessionKey {
        uint256 perCallCap;
        uint256 periodCap;
        uint64 periodSeconds;
        uint64 expiry;
        bool canSign;
        bool revoked;
        /// The agent's owner epoch when the key was granted; the key is void in any other.
        uint256 ownerEpoch;
        /// Start of the current window.
        uint64 windowStart;
        /// OPEN spent in the current window.
        uint256 spentInWindow;
        address[] allowedTargets;
    }

    /// @notice ERC-6551's magic value of `isValidSigner`.
    bytes4 public constant VALID_SIGNER = 0x523e3260;
    /// @notice Most payees one session key may be limited to.
    uint256 public constant MAX_ALLOWED_TARGETS = 16;

    /// @notice The token session keys may spend (OPEN).
    IERC20 public immutable openToken;

    /// @notice Whether every session key is stopped (the kill switch).
    bool public paused;

    uint256 private _state;
    mapping(address key => SessionKey) private _sessionKeys;

    /// @notice The holder granted `key` its limits, in owner epoch `ownerEpoch`.
    event SessionKeyGranted(
        address indexed key,
        uint256 indexed ownerEpoch,
        uint256 perCallCap,
        uint256 periodCap,
        uint64 periodSeconds,
        uint64 expiry,
        bool canSign,
        address[] allowedTargets
    );
    /// @notice `key` was revoked (by the holder or by itself).
    event SessionKeyRevoked(address indexed key);
    /// @notice Session keys are now stopped (`paused` true) or may act again.
    event PausedSet(bool paused);
    /// @notice Session key `key` made the account `transfer` or `approve` (`selector`) `amount` OPEN to `payee`.
    event SessionKeySpent(address indexed key, bytes4 selector, address indexed payee, uint256 amount);

    /// @notice The token given to the constructor is the zero address.
    error AgentAccountInvalidToken(address token);
    /// @notice `caller` does not hold the agent token.
    error AgentAccountNotOwner(address caller);
    /// @notice `execute` with an operation other than 0 (CALL).
    error AgentAccountUnsupportedOperation(uint8 operation);
    /// @notice A session key that is the zero address.
    error AgentAccountInvalidSessionKey(address key);
    /// @notice A session key granted an expiry that is not in the future.
    error AgentAccountInvalidExpiry(uint64 expiry);
    /// @notice A session key limited to `count` payees, over `max`.
    error AgentAccountTooManyTargets(uint256 count, uint256 max);
    /// @notice Session keys are paused.
    error AgentAccountPaused();
    /// @notice `key` was never granted on this account.
    error AgentAccountUnknownSessionKey(address key);
    /// @notice `key` was revoked.
    error AgentAccountSessionKeyRevoked(address key);
    /// @notice `key` was granted in owner epoch `grantedEpoch`; the agent changed hands since (now `currentEpoch`).
    error AgentAccountSessionKeyStale(address key, uint256 grantedEpoch, uint256 currentEpoch);
    /// @notice `key` expired at `expiry`.
    error AgentAccountSessionKeyExpired(address key, uint64 expiry);
    /// @notice A session key may only call `transfer` or `approve` on the OPEN token, without ether: not (`to`, `value`, `selector`).
    error AgentAccountSessionCallNotAllowed(address to, uint256 value, bytes4 selector);
    /// @notice A session key's spend of nothing.
    error AgentAccountSessionZeroAmount(address key);
    /// @notice `payee` is not one `key` may pay.
    error AgentAccountPayeeNotAllowed(address key, address payee);
    /// @notice `amount` is over the key's per-call cap.
    error AgentAccountPerCallCapExceeded(uint256 amount, uint256 perCallCap);
    /// @notice `spent` in the current window, and `amount` more, is over the key's period cap.
    error AgentAccountPeriodCapExceeded(uint256 spent, uint256 amount, uint256 periodCap);
    /// @notice The OPEN token answered a session key's call with false.
    error AgentAccountTokenCallFailed(bytes4 selector);

    /// @param openToken_ The token session keys may spend (OPEN).
    constructor(IERC20 openToken_) {
        if (address(openToken_) == address(0)) revert AgentAccountInvalidToken(address(openToken_));
        openToken = openToken_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner()) revert AgentAccountNotOwner(msg.sender);
        _;
    }

    /// @inheritdoc IERC6551Account
    receive() external payable {}

    /// @notice Make a call as the account (holder only; operation 0, CALL, only).
    /// @param to The target.
    /// @param value Ether sent.
    /// @param data Call data.
    /// @param operation Must be 0.
    /// @return result What the call returned (a failed call's revert is passed on).
    function execute(address to, uint256 value, bytes calldata data, uint8 operation)
        external
        payable
        onlyOwner
        returns (bytes memory result)
    {
        if (operation != 0) revert AgentAccountUnsupportedOperation(operation);
        ++_state;
        result = _call(to, value, data);
    }

    /// @notice Spend OPEN as the account with the caller's session key: `data` must be an ERC-20
    ///         `transfer(payee, amount)` or `approve(payee, amount)` and `to` the OPEN token, with no
    ///         ether, within the key's caps, payees and expiry, while not paused and in the owner
    ///         epoch the key was granted in.
    /// @param to The OPEN token.
    /// @param value Must be 0.
    /// @param data `transfer(payee, amount)` or `approve(payee, amount)`.
    /// @return result What the token returned.
    function executeAsSession(address to, uint256 value, bytes calldata data) external returns (bytes memory result) {
        SessionKey storage k = _usableKey(msg.sender);
        bytes4 selector = data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
        if (
            to != address(openToken) || value != 0 || data.length != 68
                || (selector != IERC20.transfer.selector && selector != IERC20.approve.selector)
        ) revert AgentAccountSessionCallNotAllowed(to, value, selector);
        (address payee, uint256 amount) = abi.decode(data[4:], (address, uint256));
        if (amount == 0) revert AgentAccountSessionZeroAmount(msg.sender);
        if (!_mayPay(k.allowedTargets, payee)) revert AgentAccountPayeeNotAllowed(msg.sender, payee);
        if (amount > k.perCallCap) revert AgentAccountPerCallCapExceeded(amount, k.perCallCap);
        uint256 spent = k.spentInWindow;
        uint64 windowStart = k.windowStart;
        if (k.periodSeconds != 0 && block.timestamp >= uint256(windowStart) + k.periodSeconds) {
            spent = 0;
            windowStart = uint64(block.timestamp);
        }
        if (spent + amount > k.periodCap) revert AgentAccountPeriodCapExceeded(spent, amount, k.periodCap);
        k.spentInWindow = spent + amount;
        k.windowStart = windowStart;
        ++_state;
        emit SessionKeySpent(msg.sender, selector, payee, amount);
        result = _call(to, 0, data);
        if (result.length != 0 && !abi.decode(result, (bool))) revert AgentAccountTokenCallFailed(selector);
    }

    /// @notice Grant `key` (or grant it again, which replaces its limits and forgets what it spent)
    ///         for the current owner epoch (holder only).
    /// @param key The session key's address.
    /// @param limits Its caps, window, expiry, signing right and payees.
    function grantSessionKey(address key, SessionKeyLimits calldata limits) external onlyOwner {
        if (key == address(0)) revert AgentAccountInvalidSessionKey(key);
        if (limits.expiry <= block.timestamp) revert AgentAccountInvalidExpiry(limits.expiry);
        if (limits.allowedTargets.length > MAX_ALLOWED_TARGETS) {
            revert AgentAccountTooManyTargets(limits.allowedTargets.length, MAX_ALLOWED_TARGETS);
        }
        uint256 epoch = ownerEpoch();
        SessionKey storage k = _sessionKeys[key];
        k.perCallCap = limits.perCallCap;
        k.periodCap = limits.periodCap;
        k.periodSeconds = limits.periodSeconds;
        k.expiry = limits.expiry;
        k.canSign = limits.canSign;
        k.revoked = false;
        k.ownerEpoch = epoch;
        k.windowStart = uint64(block.timestamp);
        k.spentInWindow = 0;
        k.allowedTargets = limits.allowedTargets;
        ++_state;
        emit SessionKeyGranted(
            key, epoch, limits.perCallCap, limits.periodCap, limits.periodSeconds, limits.expiry, limits.canSign, limits.allowedTargets
        );
    }

    /// @notice End `key` (the holder, or the key itself).
    /// @param key The session key.
    function revokeSessionKey(address key) external {
        if (msg.sender != key && msg.sender != owner()) revert AgentAccountNotOwner(msg.sender);
        SessionKey storage k = _sessionKeys[key];
        if (k.expiry == 0) revert AgentAccountUnknownSessionKey(key);
        k.revoked = true;
        ++_state;
        emit SessionKeyRevoked(key);
    }

    /// @notice Stop every session key, or let them act again (holder only).
    /// @param paused_ True to stop them.
    function setPaused(bool paused_) external onlyOwner {
        paused = paused_;
        ++_state;
        emit PausedSet(paused_);
    }

    /// @notice ERC-1271: the magic value if `signature` over `hash` is the holder's (ECDSA, or
    ///         ERC-1271 for a contract holder), or an ECDSA signature of a session key that may sign
    ///         and is valid now (granted in this owner epoch, not revoked, not expired, not paused).
    /// @param hash The signed digest.
    /// @param signature The signature.
    /// @return magicValue 0x1626ba7e if valid, 0xffffffff if not.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4 magicValue) {
        address holder = owner();
        if (holder != address(0) && SignatureChecker.isValidSignatureNowCalldata(holder, hash, signature)) {
            return IERC1271.isValidSignature.selector;
        }
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature);
        if (err == ECDSA.RecoverError.NoError && signer != address(0) && _sessionKeyCanSign(signer)) {
            return IERC1271.isValidSignature.selector;
        }
        return 0xffffffff;
    }

    /// @inheritdoc IERC6551Account
    /// @dev Only the holder is a valid signer: session keys act through `executeAsSession` alone.
    function isValidSigner(address signer, bytes calldata) external view returns (bytes4) {
        return signer != address(0) && signer == owner() ? VALID_SIGNER : bytes4(0);
    }

    /// @inheritdoc IERC6551Account
    /// @dev Counts every change to the account and every transfer of its agent token.
    function state() external view returns (uint256) {
        return _state + ownerEpoch();
    }

    /// @inheritdoc IERC6551Account
    function token() public view returns (uint256 chainId, address tokenContract, uint256 tokenId) {
        bytes memory footer = new bytes(0x60);
        assembly ("memory-safe") {
            // the proxy's code: 0x2d bytes of proxy, the salt, then (chainId, tokenContract, tokenId)
            extcodecopy(address(), add(footer, 0x20), 0x4d, 0x60)
        }
        return abi.decode(footer, (uint256, address, uint256));
    }

    /// @notice The holder of the agent token (the zero address if the token is on another chain or does not exist).
    /// @return The holder.
    function owner() public view returns (address) {
        (uint256 chainId, address tokenContract, uint256 tokenId) = token();
        if (chainId != block.chainid) return address(0);
        try IERC721(tokenContract).ownerOf(tokenId) returns (address holder) {
            return holder;
        } catch {
            return address(0);
        }
    }

    /// @notice How many times the agent token changed hands (the AgentRegistry's count); session keys
    ///         of another epoch are void.
    /// @return The owner epoch.
    function ownerEpoch() public view returns (uint256) {
        (, address tokenContract, uint256 tokenId) = token();
        return IAgentRegistry(tokenContract).ownerEpoch(tokenId);
    }

    /// @notice A session key as recorded (all zero if never granted).
    /// @param key The session key.
    /// @return The record, spending included.
    function sessionKey(address key) external view returns (SessionKey memory) {
        return _sessionKeys[key];
    }

    /// @notice Whether `key` may spend now (granted in this owner epoch, not revoked, not expired, not paused).
    /// @param key The session key.
    /// @return True if it may.
    function isSessionKeyActive(address key) public view returns (bool) {
        SessionKey storage k = _sessionKeys[key];
        return !paused && k.expiry != 0 && !k.revoked && block.timestamp <= k.expiry && k.ownerEpoch == ownerEpoch();
    }

    /// @notice ERC-165: IERC165, IERC1271, IERC6551Account and IERC6551Executable.
    /// @param interfaceId The interface.
    /// @return True if supported.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC1271).interfaceId
            || interfaceId == type(IERC6551Account).interfaceId || interfaceId == type(IERC6551Executable).interfaceId;
    }

    function _sessionKeyCanSign(address key) private view returns (bool) {
        return _sessionKeys[key].canSign && isSessionKeyActive(key);
    }

    /// @dev The caller's key, or the reason it may not act now.
    function _usableKey(address key) private view returns (SessionKey storage k) {
        if (paused) revert AgentAccountPaused();
        k = _sessionKeys[key];
        if (k.expiry == 0) revert AgentAccountUnknownSessionKey(key);
        if (k.revoked) revert AgentAccountSessionKeyRevoked(key);
        uint256 epoch = ownerEpoch();
        if (k.ownerEpoch != epoch) revert AgentAccountSessionKeyStale(key, k.ownerEpoch, epoch);
        if (block.timestamp > k.expiry) revert AgentAccountSessionKeyExpired(key, k.expiry);
    }

    function _mayPay(address[] storage allowed, address payee) private view returns (bool) {
        uint256 n = allowed.length;
        if (n == 0) return true;
        for (uint256 i = 0; i < n; i++) {
            if (allowed[i] == payee) return true;
        }
        return false;
    }

    function _call(address to, uint256 value, bytes calldata data) private returns (bytes memory result) {
        bool ok;
        (ok, result) = to.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }
}

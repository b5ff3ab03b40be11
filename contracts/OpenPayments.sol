// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @notice WETH9's wrapping entry point (WOPEN's).
interface IWrappedNative {
    function deposit() external payable;
}

/// @title OPEN paid in, as the native coin or as the token
/// @notice The protocol's contracts hold OPEN as one ERC-20, `token`: the OPEN token on a chain
///         where OPEN is an ERC-20, WOPEN where OPEN is the native coin. A payable entry point built
///         on {_collect} takes either: OPEN sent with the call (wrapped into WOPEN at once, so the
///         contract's books never hold two kinds of value), or, with no value, the token by
///         `transferFrom` after an approval. Payouts are always the token (no native transfer to an
///         arbitrary payee, so none can revert a settlement); WOPEN unwraps with one call.
abstract contract OpenPayments {
    using SafeERC20 for IERC20;

    /// @notice OPEN sent with a call (`value`) that is not the amount it pays (`amount`).
    error OpenPaymentsValueMismatch(uint256 value, uint256 amount);
    /// @notice OPEN sent with a call on a chain where `token` is not wrapped native OPEN.
    error OpenPaymentsNativeUnsupported(address token);

    /// @notice The ERC-20 form of OPEN this contract holds.
    function _openToken() internal view virtual returns (IERC20);

    /// @dev Takes `amount` from the caller: the call's value if it carries any (it must equal
    ///      `amount`), else the token by `transferFrom`. Call last (checks-effects-interactions).
    function _collect(uint256 amount) internal {
        IERC20 token = _openToken();
        if (msg.value == 0) {
            if (amount > 0) token.safeTransferFrom(msg.sender, address(this), amount);
            return;
        }
        if (msg.value != amount) revert OpenPaymentsValueMismatch(msg.value, amount);
        try IWrappedNative(address(token)).deposit{value: amount}() {}
        catch {
            revert OpenPaymentsNativeUnsupported(address(token));
        }
    }
}

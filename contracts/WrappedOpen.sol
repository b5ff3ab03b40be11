// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title WOPEN, wrapped native OPEN
/// @notice WETH9's interface on a chain whose native coin is OPEN: `deposit` (or a plain transfer of
///         OPEN to this contract) mints WOPEN 1:1, `withdraw` burns it and sends the OPEN back. On
///         OpenLedger's L2 it lives at the OP Stack WETH predeploy address,
///         0x4200000000000000000000000000000000000006; its code is installed there, so it has no
///         constructor arguments and no immutables. The protocol's contracts hold OPEN as WOPEN.
contract WrappedOpen is ERC20 {
    /// @notice `account` wrapped `amount` OPEN.
    event Deposit(address indexed account, uint256 amount);
    /// @notice `account` unwrapped `amount` WOPEN.
    event Withdrawal(address indexed account, uint256 amount);

    /// @notice Sending `amount` OPEN to `to` failed (a contract that refuses it).
    error WrappedOpenTransferFailed(address to, uint256 amount);

    constructor() ERC20("", "") {}

    /// @notice "Wrapped OPEN" (a constant: installed code runs no constructor to store it).
    function name() public pure override returns (string memory) {
        return "Wrapped OPEN";
    }

    /// @notice "WOPEN".
    function symbol() public pure override returns (string memory) {
        return "WOPEN";
    }

    /// @notice Wrap the OPEN sent with the call.
    receive() external payable {
        deposit();
    }

    /// @notice Wrap the OPEN sent with the call: the caller gets as much WOPEN.
    function deposit() public payable {
        _mint(msg.sender, msg.value);
        emit Deposit(msg.sender, msg.value);
    }

    /// @notice Unwrap `amount` WOPEN of the caller into native OPEN sent to the caller.
    /// @param amount WOPEN in wei.
    function withdraw(uint256 amount) external {
        _burn(msg.sender, amount);
        emit Withdrawal(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert WrappedOpenTransferFailed(msg.sender, amount);
    }
}

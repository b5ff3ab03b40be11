// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title GOPEN, native OPEN wrapped for governance
/// @notice On a chain whose native coin is OPEN, votes need a token: `deposit` locks OPEN and mints
///         GOPEN 1:1, `withdraw` burns GOPEN and returns the OPEN. GOPEN is an ERC-20 with EIP-2612
///         permit and ERC-5805 votes on a timestamp clock (the Governor counts its delays in seconds,
///         whatever the block time).
contract GovernanceOpen is ERC20, ERC20Permit, ERC20Votes {
    /// @notice `account` locked `amount` OPEN for as much GOPEN.
    event Deposit(address indexed account, uint256 amount);
    /// @notice `account` burnt `amount` GOPEN for as much OPEN.
    event Withdrawal(address indexed account, uint256 amount);

    /// @notice A deposit or withdrawal of nothing.
    error GovernanceOpenZeroAmount();
    /// @notice Sending `amount` OPEN to `to` failed (a contract that refuses it).
    error GovernanceOpenTransferFailed(address to, uint256 amount);

    constructor() ERC20("Governance OPEN", "GOPEN") ERC20Permit("Governance OPEN") {}

    /// @notice Lock the OPEN sent with the call: the caller gets as much GOPEN (delegate it to vote).
    function deposit() external payable {
        if (msg.value == 0) revert GovernanceOpenZeroAmount();
        _mint(msg.sender, msg.value);
        emit Deposit(msg.sender, msg.value);
    }

    /// @notice Burn `amount` GOPEN of the caller and send the caller as much OPEN.
    /// @param amount GOPEN in wei.
    function withdraw(uint256 amount) external {
        if (amount == 0) revert GovernanceOpenZeroAmount();
        _burn(msg.sender, amount);
        emit Withdrawal(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert GovernanceOpenTransferFailed(msg.sender, amount);
    }

    /// @notice ERC-6372: votes are checkpointed by timestamp.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice ERC-6372: the clock is the block timestamp.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @inheritdoc ERC20
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    /// @inheritdoc Nonces
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}

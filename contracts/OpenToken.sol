// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title OPEN, the protocol's token
/// @notice ERC-20 with EIP-2612 permit and ERC-5805 votes. The whole supply is minted once, at
///         deployment, to the treasury; there is no mint or burn function afterwards, so the total
///         supply is conserved for ever.
contract OpenToken is ERC20, ERC20Permit, ERC20Votes {
    /// @notice The treasury given to the constructor is the zero address.
    error OpenTokenInvalidTreasury(address treasury);

    /// @param treasury Receives the entire genesis supply.
    /// @param genesisSupply Total supply in wei (18 decimals).
    constructor(address treasury, uint256 genesisSupply) ERC20("OpenLedger", "OPEN") ERC20Permit("OpenLedger") {
        if (treasury == address(0)) revert OpenTokenInvalidTreasury(treasury);
        _mint(treasury, genesisSupply);
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

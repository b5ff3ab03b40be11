// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IStaking} from "./interfaces/IStaking.sol";

/// @title What each operator offers, for clients and other nodes to read
/// @notice An operator — an account with an active Operator stake in Staking — publishes where it
///         serves (its API endpoint) and a metadata URI describing what it offers (base models,
///         engines, price policy: a content-addressed document). Clients route to the endpoints of
///         active operators; nodes mirror published models from them. A record is only as good as
///         the stake behind it: `isListed` is false as soon as the operator's stake is no longer
///         active, whatever the record says.
contract OperatorRegistry {
    /// @notice One operator's record.
    struct OperatorRecord {
        /// Where the operator's API answers (an http(s) URL).
        string endpoint;
        /// What it offers (base models, engines, price policy), a content-addressed document.
        string metadataURI;
        /// When the record was last set.
        uint64 updatedAt;
    }

    /// @notice Where operator stakes live.
    IStaking public immutable staking;

    mapping(address => OperatorRecord) private _records;
    address[] private _operators;
    mapping(address => bool) private _known;

    /// @notice `operator` published or changed its record.
    event OperatorRecordSet(address indexed operator, string endpoint, string metadataURI);
    /// @notice `operator` withdrew its record.
    event OperatorRecordRemoved(address indexed operator);

    /// @notice The staking contract given to the constructor is the zero address.
    error OperatorRegistryInvalidStaking(address staking);
    /// @notice `caller` has no active Operator stake.
    error OperatorRegistryNotActiveOperator(address caller);
    /// @notice An endpoint that is empty or longer than 512 bytes.
    error OperatorRegistryInvalidEndpoint(string endpoint);
    /// @notice A metadata URI longer than 512 bytes.
    error OperatorRegistryInvalidMetadataURI(string metadataURI);
    /// @notice `operator` has no record.
    error OperatorRegistryNoRecord(address operator);

    /// @param staking_ The staking contract whose active operators may publish records.
    constructor(IStaking staking_) {
        if (address(staking_) == address(0)) revert OperatorRegistryInvalidStaking(address(staking_));
        staking = staking_;
    }

    /// @notice Publish or change the caller's record; the caller must be an active operator.
    /// @param endpoint Where its API answers (an http(s) URL, at most 512 bytes).
    /// @param metadataURI What it offers (at most 512 bytes; may be empty).
    function setRecord(string calldata endpoint, string calldata metadataURI) external {
        if (!staking.isActive(msg.sender, IStaking.Role.Operator)) revert OperatorRegistryNotActiveOperator(msg.sender);
        if (bytes(endpoint).length == 0 || bytes(endpoint).length > 512) revert OperatorRegistryInvalidEndpoint(endpoint);
        if (bytes(metadataURI).length > 512) revert OperatorRegistryInvalidMetadataURI(metadataURI);
        _records[msg.sender] = OperatorRecord(endpoint, metadataURI, uint64(block.timestamp));
        if (!_known[msg.sender]) {
            _known[msg.sender] = true;
            _operators.push(msg.sender);
        }
        emit OperatorRecordSet(msg.sender, endpoint, metadataURI);
    }

    /// @notice Withdraw the caller's record (it stops being listed).
    function removeRecord() external {
        if (bytes(_records[msg.sender].endpoint).length == 0) revert OperatorRegistryNoRecord(msg.sender);
        delete _records[msg.sender];
        emit OperatorRecordRemoved(msg.sender);
    }

    /// @notice An operator's record (empty when it has none).
    /// @param operator The operator.
    /// @return The record.
    function recordOf(address operator) external view returns (OperatorRecord memory) {
        return _records[operator];
    }

    /// @notice Whether `operator` has a record and an active Operator stake now.
    /// @param operator The operator.
    /// @return True when clients may route to it.
    function isListed(address operator) public view returns (bool) {
        return bytes(_records[operator].endpoint).length != 0 && staking.isActive(operator, IStaking.Role.Operator);
    }

    /// @notice Every operator that ever published a record, in the order they first did (a page of it).
    /// @param offset First index.
    /// @param limit At most this many.
    /// @return operators The page.
    function operators(uint256 offset, uint256 limit) external view returns (address[] memory operators) {
        uint256 n = _operators.length;
        if (offset >= n) return new address[](0);
        uint256 end = offset + limit > n ? n : offset + limit;
        operators = new address[](end - offset);
        for (uint256 i = offset; i < end; i++) operators[i - offset] = _operators[i];
    }

    /// @notice How many operators ever published a record.
    /// @return The count.
    function operatorCount() external view returns (uint256) {
        return _operators.length;
    }
}

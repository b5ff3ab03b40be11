// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {IAgentRegistry} from "./interfaces/IAgentRegistry.sol";
import {IERC6551Registry} from "./interfaces/IERC6551.sol";

/// @title Agents' identities (ERC-8004 Identity Registry) with their ERC-6551 treasuries
/// @notice Each agent is an ERC-721 token (ids from 1) whose URI is the agent's registration file;
///         its owner may transfer it or let an approved address or operator manage it. Functions and
///         events follow ERC-8004's Identity Registry: `register` (three forms), `setAgentURI`,
///         `getMetadata` / `setMetadata` (key–value bytes), `getAgentWallet`, and the events
///         `Registered`, `URIUpdated` and `MetadataSet`.
///
///         The agent's wallet is its ERC-6551 token bound account, created when it registers
///         (`accountImplementation` through `erc6551Registry`, salt 0, this chain): whoever holds the
///         token controls the account, so the wallet moves with the agent and is never set by hand
///         (ERC-8004's reserved `agentWallet` key reads it, and `setMetadata` refuses the key; the
///         signed `setAgentWallet` of ERC-8004 is not offered). Each transfer of the token advances
///         the agent's `ownerEpoch`, which ends every session key granted on the account before it.
///         A token cannot be sent to its own account (it could never leave again).
contract AgentRegistry is ERC721URIStorage, IAgentRegistry {
    /// @notice ERC-8004's metadata entry.
    struct MetadataEntry {
        string metadataKey;
        bytes metadataValue;
    }

    /// @notice The metadata key that reads the agent's wallet (reserved: not settable).
    string public constant AGENT_WALLET_KEY = "agentWallet";
    /// @notice The ERC-6551 salt of every agent's account.
    bytes32 public constant ACCOUNT_SALT = bytes32(0);

    /// @notice Where agents' accounts are created.
    IERC6551Registry public immutable erc6551Registry;
    /// @notice The account implementation every agent's account delegates to.
    address public immutable accountImplementation;
    /// @notice Number of agents; ids are 1..agentCount.
    uint256 public agentCount;
    /// @inheritdoc IAgentRegistry
    mapping(uint256 agentId => uint256) public ownerEpoch;
    /// @notice The agent whose wallet `wallet` is (0 if none).
    mapping(address wallet => uint256) public agentOfWallet;

    mapping(uint256 agentId => address) private _wallets;
    mapping(uint256 agentId => mapping(string metadataKey => bytes)) private _metadata;

    /// @notice ERC-8004: agent `agentId` was registered by `owner` with `agentURI`.
    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    /// @notice ERC-8004: `updatedBy` set agent `agentId`'s URI to `newURI`.
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);
    /// @notice ERC-8004: agent `agentId`'s metadata `metadataKey` is now `metadataValue`.
    event MetadataSet(uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue);

    /// @notice The ERC-6551 registry given to the constructor is the zero address.
    error AgentRegistryInvalidERC6551Registry(address registry);
    /// @notice The account implementation given to the constructor has no code.
    error AgentRegistryInvalidAccountImplementation(address implementation);
    /// @notice `caller` is neither the owner of agent `agentId` nor approved for it.
    error AgentRegistryNotAuthorized(uint256 agentId, address caller);
    /// @notice `metadataKey` is reserved (the wallet is the agent's account) or empty.
    error AgentRegistryReservedMetadataKey(string metadataKey);
    /// @notice Agent `agentId` sent to `to`, its own account.
    error AgentRegistryOwnershipCycle(uint256 agentId, address to);

    /// @param erc6551Registry_ Where agents' accounts are created.
    /// @param accountImplementation_ The account implementation (an AgentAccount).
    constructor(IERC6551Registry erc6551Registry_, address accountImplementation_) ERC721("OpenLedger Agent", "AGENT") {
        if (address(erc6551Registry_) == address(0)) revert AgentRegistryInvalidERC6551Registry(address(erc6551Registry_));
        if (accountImplementation_.code.length == 0) revert AgentRegistryInvalidAccountImplementation(accountImplementation_);
        erc6551Registry = erc6551Registry_;
        accountImplementation = accountImplementation_;
    }

    modifier onlyAuthorized(uint256 agentId) {
        if (!isAuthorizedOrOwner(msg.sender, agentId)) revert AgentRegistryNotAuthorized(agentId, msg.sender);
        _;
    }

    /// @notice ERC-8004: register an agent owned by the caller, without a URI yet.
    /// @return agentId The new agent's id.
    function register() external returns (uint256 agentId) {
        agentId = _register("");
        _safeMint(msg.sender, agentId);
    }

    /// @notice ERC-8004: register an agent owned by the caller.
    /// @param agentURI Its registration file.
    /// @return agentId The new agent's id.
    function register(string calldata agentURI) external returns (uint256 agentId) {
        agentId = _register(agentURI);
        _safeMint(msg.sender, agentId);
    }

    /// @notice ERC-8004: register an agent owned by the caller, with on-chain metadata.
    /// @param agentURI Its registration file.
    /// @param metadata Key–value entries (not the reserved `agentWallet`).
    /// @return agentId The new agent's id.
    function register(string calldata agentURI, MetadataEntry[] calldata metadata) external returns (uint256 agentId) {
        agentId = _register(agentURI);
        for (uint256 i = 0; i < metadata.length; i++) {
            _setMetadata(agentId, metadata[i].metadataKey, metadata[i].metadataValue);
        }
        _safeMint(msg.sender, agentId);
    }

    /// @notice ERC-8004: change an agent's registration file (its owner, approved address or operator).
    /// @param agentId The agent.
    /// @param newURI The new URI.
    function setAgentURI(uint256 agentId, string calldata newURI) external onlyAuthorized(agentId) {
        _setTokenURI(agentId, newURI);
        emit URIUpdated(agentId, newURI, msg.sender);
    }

    /// @notice ERC-8004: set one metadata entry (its owner, approved address or operator).
    /// @param agentId The agent.
    /// @param metadataKey The key (not empty, not `agentWallet`).
    /// @param metadataValue The value.
    function setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue)
        external
        onlyAuthorized(agentId)
    {
        _setMetadata(agentId, metadataKey, metadataValue);
    }

    /// @notice ERC-8004: one metadata entry; `agentWallet` is the wallet's 20 bytes.
    /// @param agentId The agent (reverts with ERC721NonexistentToken if there is none).
    /// @param metadataKey The key.
    /// @return The value (empty if unset).
    function getMetadata(uint256 agentId, string calldata metadataKey) external view returns (bytes memory) {
        _requireOwned(agentId);
        if (_isWalletKey(metadataKey)) return abi.encodePacked(_wallets[agentId]);
        return _metadata[agentId][metadataKey];
    }

    /// @inheritdoc IAgentRegistry
    function getAgentWallet(uint256 agentId) external view returns (address wallet) {
        _requireOwned(agentId);
        return _wallets[agentId];
    }

    /// @inheritdoc IAgentRegistry
    function isAuthorizedOrOwner(address spender, uint256 agentId) public view returns (bool) {
        return _isAuthorized(_requireOwned(agentId), spender, agentId);
    }

    /// @dev Creates the account and records it; the caller mints afterwards (so a receiver's
    ///      callback sees a complete agent).
    function _register(string memory agentURI) private returns (uint256 agentId) {
        agentId = ++agentCount;
        address wallet = erc6551Registry.createAccount(accountImplementation, ACCOUNT_SALT, block.chainid, address(this), agentId);
        _wallets[agentId] = wallet;
        agentOfWallet[wallet] = agentId;
        if (bytes(agentURI).length != 0) _setTokenURI(agentId, agentURI);
        emit Registered(agentId, agentURI, msg.sender);
        emit MetadataSet(agentId, AGENT_WALLET_KEY, AGENT_WALLET_KEY, abi.encodePacked(wallet));
    }

    function _setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) private {
        if (bytes(metadataKey).length == 0 || _isWalletKey(metadataKey)) revert AgentRegistryReservedMetadataKey(metadataKey);
        _metadata[agentId][metadataKey] = metadataValue;
        emit MetadataSet(agentId, metadataKey, metadataKey, metadataValue);
    }

    function _isWalletKey(string calldata metadataKey) private pure returns (bool) {
        return keccak256(bytes(metadataKey)) == keccak256(bytes(AGENT_WALLET_KEY));
    }

    /// @dev Every transfer (not the mint) advances the agent's owner epoch, so that the keys granted
    ///      on its account by the previous owner stop; a token is never sent to its own account.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        if (to != address(0) && to == _wallets[tokenId]) revert AgentRegistryOwnershipCycle(tokenId, to);
        from = super._update(to, tokenId, auth);
        if (from != address(0)) ++ownerEpoch[tokenId];
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ERC-6551 registry of token bound accounts
/// @notice The interface EIP-6551 specifies for the registry: every account is an ERC-1167 proxy,
///         deployed with CREATE2, whose runtime code ends with (salt, chainId, tokenContract, tokenId).
interface IERC6551Registry {
    /// @notice The account of (`tokenContract`, `tokenId`) on `chainId`, with `implementation` and `salt`, was created at `account`.
    event ERC6551AccountCreated(
        address account,
        address indexed implementation,
        bytes32 salt,
        uint256 chainId,
        address indexed tokenContract,
        uint256 indexed tokenId
    );

    /// @notice The CREATE2 of an account failed.
    error AccountCreationFailed();

    /// @notice Create the token bound account of a token (or return it unchanged if it exists).
    /// @param implementation The account implementation the proxy delegates to.
    /// @param salt Distinguishes several accounts of one token.
    /// @param chainId The chain the token lives on.
    /// @param tokenContract The ERC-721 contract.
    /// @param tokenId The token.
    /// @return account The account's address.
    function createAccount(address implementation, bytes32 salt, uint256 chainId, address tokenContract, uint256 tokenId)
        external
        returns (address account);

    /// @notice The address `createAccount` gives (or gave) for these arguments.
    /// @param implementation The account implementation the proxy delegates to.
    /// @param salt Distinguishes several accounts of one token.
    /// @param chainId The chain the token lives on.
    /// @param tokenContract The ERC-721 contract.
    /// @param tokenId The token.
    /// @return account The account's address.
    function account(address implementation, bytes32 salt, uint256 chainId, address tokenContract, uint256 tokenId)
        external
        view
        returns (address account);
}

/// @title ERC-6551 token bound account (ERC-165 id 0x6faff5f1)
interface IERC6551Account {
    /// @notice Accounts receive ether.
    receive() external payable;

    /// @notice The token that owns the account; constant for the account's life.
    /// @return chainId The chain the token lives on.
    /// @return tokenContract The ERC-721 contract.
    /// @return tokenId The token.
    function token() external view returns (uint256 chainId, address tokenContract, uint256 tokenId);

    /// @notice A value that changes whenever the account's state changes.
    /// @return The current state.
    function state() external view returns (uint256);

    /// @notice 0x523e3260 if `signer` may act for the account.
    /// @param signer The address asked about.
    /// @param context Extra data (unused by this protocol's accounts).
    /// @return magicValue The magic value, or zero.
    function isValidSigner(address signer, bytes calldata context) external view returns (bytes4 magicValue);
}

/// @title ERC-6551 execution interface (ERC-165 id 0x51945447)
interface IERC6551Executable {
    /// @notice Perform `operation` (0 = CALL, 1 = DELEGATECALL, 2 = CREATE, 3 = CREATE2) as the account.
    /// @param to The target.
    /// @param value Ether sent.
    /// @param data Call data.
    /// @param operation The kind of operation.
    /// @return The operation's result.
    function execute(address to, uint256 value, bytes calldata data, uint8 operation) external payable returns (bytes memory);
}

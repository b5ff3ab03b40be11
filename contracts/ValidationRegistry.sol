// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAgentRegistry} from "./interfaces/IAgentRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Independent checks of agents' work (ERC-8004 Validation Registry), by staked validators
/// @notice Functions and events follow ERC-8004's Validation Registry: `validationRequest`,
///         `validationResponse`, `getValidationStatus`, `getSummary`, `getAgentValidations`,
///         `getValidatorRequests`, `getIdentityRegistry`, and the events `ValidationRequest` and
///         `ValidationResponse`. The agent's owner (or an address approved for it, or an operator of
///         its owner) asks a named validator to check its work, identified by `requestHash` (the
///         commitment to the request's data, used once); the validator answers 0-100, as often as
///         it likes (the last answer stands).
///
///         Our rule: the validator must be an active Validator in Staking (bonded at least the
///         role's minimum) when it answers, so every recorded answer is backed by a slashable stake.
///         Slashing a wrong answer is the validation protocol's business (ERC-8004 leaves it out of
///         the registry), as is paying the validator.
contract ValidationRegistry {
    /// @notice The highest response.
    uint8 public constant MAX_RESPONSE = 100;

    /// @notice One request and its last response.
    struct Validation {
        address validatorAddress;
        uint256 agentId;
        uint8 response;
        bytes32 responseHash;
        string tag;
        /// When it was last answered (0: not yet).
        uint256 lastUpdate;
    }

    /// @notice The agents' identities (ERC-8004 Identity Registry).
    IAgentRegistry public immutable identityRegistry;
    /// @notice Where validators are staked.
    IStaking public immutable staking;

    mapping(bytes32 requestHash => Validation) private _validations;
    mapping(uint256 agentId => bytes32[]) private _agentValidations;
    mapping(address validatorAddress => bytes32[]) private _validatorRequests;

    /// @notice ERC-8004: agent `agentId` asked `validatorAddress` to check the work at `requestURI`.
    event ValidationRequest(address indexed validatorAddress, uint256 indexed agentId, string requestURI, bytes32 indexed requestHash);
    /// @notice ERC-8004: `validatorAddress` answered request `requestHash` of agent `agentId`.
    event ValidationResponse(address indexed validatorAddress, uint256 indexed agentId, bytes32 indexed requestHash, uint8 response, string responseURI, bytes32 responseHash, string tag);

    /// @notice The identity registry given to the constructor is the zero address.
    error ValidationRegistryInvalidIdentityRegistry(address identityRegistry);
    /// @notice The staking contract given to the constructor is the zero address.
    error ValidationRegistryInvalidStaking(address staking);
    /// @notice `caller` may not act for agent `agentId`.
    error ValidationRegistryNotAgentOwner(uint256 agentId, address caller);
    /// @notice A request naming the zero address as validator.
    error ValidationRegistryInvalidValidator(address validatorAddress);
    /// @notice A zero request hash.
    error ValidationRegistryInvalidRequestHash(bytes32 requestHash);
    /// @notice Request `requestHash` was made already.
    error ValidationRegistryRequestExists(bytes32 requestHash);
    /// @notice No request `requestHash`.
    error ValidationRegistryUnknownRequest(bytes32 requestHash);
    /// @notice `caller` is not `validatorAddress`, whom request `requestHash` named.
    error ValidationRegistryNotValidator(bytes32 requestHash, address validatorAddress, address caller);
    /// @notice `validatorAddress` is not an active staked Validator.
    error ValidationRegistryValidatorNotStaked(address validatorAddress);
    /// @notice A response above 100.
    error ValidationRegistryInvalidResponse(uint8 response);

    /// @param identityRegistry_ The agents' identities.
    /// @param staking_ Where validators are staked.
    constructor(IAgentRegistry identityRegistry_, IStaking staking_) {
        if (address(identityRegistry_) == address(0)) revert ValidationRegistryInvalidIdentityRegistry(address(identityRegistry_));
        if (address(staking_) == address(0)) revert ValidationRegistryInvalidStaking(address(staking_));
        identityRegistry = identityRegistry_;
        staking = staking_;
    }

    /// @notice ERC-8004: the identity registry whose agents are validated.
    /// @return The AgentRegistry.
    function getIdentityRegistry() external view returns (address) {
        return address(identityRegistry);
    }

    /// @notice ERC-8004: ask `validatorAddress` to check agent `agentId`'s work (the agent's owner,
    ///         an address approved for it, or an operator of its owner).
    /// @param validatorAddress Who is to answer (it must be a staked Validator when it answers).
    /// @param agentId The agent (reverts with ERC721NonexistentToken if there is none).
    /// @param requestURI Where everything needed to check the work is.
    /// @param requestHash keccak256 of the request's data: identifies the request, used once, not zero.
    function validationRequest(address validatorAddress, uint256 agentId, string calldata requestURI, bytes32 requestHash) external {
        if (!identityRegistry.isAuthorizedOrOwner(msg.sender, agentId)) revert ValidationRegistryNotAgentOwner(agentId, msg.sender);
        if (validatorAddress == address(0)) revert ValidationRegistryInvalidValidator(validatorAddress);
        if (requestHash == bytes32(0)) revert ValidationRegistryInvalidRequestHash(requestHash);
        Validation storage v = _validations[requestHash];
        if (v.validatorAddress != address(0)) revert ValidationRegistryRequestExists(requestHash);
        v.validatorAddress = validatorAddress;
        v.agentId = agentId;
        _agentValidations[agentId].push(requestHash);
        _validatorRequests[validatorAddress].push(requestHash);
        emit ValidationRequest(validatorAddress, agentId, requestURI, requestHash);
    }

    /// @notice ERC-8004: answer request `requestHash` (its named validator, an active staked
    ///         Validator); may be called again to update the answer.
    /// @param requestHash The request.
    /// @param response 0 (failed) to 100 (passed).
    /// @param responseURI Optional: evidence or audit of the check.
    /// @param responseHash Optional: keccak256 of that evidence.
    /// @param tag Optional: a category (e.g. "soft-finality").
    function validationResponse(bytes32 requestHash, uint8 response, string calldata responseURI, bytes32 responseHash, string calldata tag) external {
        Validation storage v = _validations[requestHash];
        address validator = v.validatorAddress;
        if (validator == address(0)) revert ValidationRegistryUnknownRequest(requestHash);
        if (msg.sender != validator) revert ValidationRegistryNotValidator(requestHash, validator, msg.sender);
        if (!staking.isActive(msg.sender, IStaking.Role.Validator)) revert ValidationRegistryValidatorNotStaked(msg.sender);
        if (response > MAX_RESPONSE) revert ValidationRegistryInvalidResponse(response);
        v.response = response;
        v.responseHash = responseHash;
        v.tag = tag;
        v.lastUpdate = block.timestamp;
        emit ValidationResponse(validator, v.agentId, requestHash, response, responseURI, responseHash, tag);
    }

    /// @notice ERC-8004: a request and its last answer.
    /// @param requestHash The request (reverts with ValidationRegistryUnknownRequest if there is none).
    /// @return validatorAddress Its validator.
    /// @return agentId Its agent.
    /// @return response The last answer (0 until answered).
    /// @return responseHash The last answer's evidence hash.
    /// @return tag The last answer's tag.
    /// @return lastUpdate When it was last answered (0: not yet).
    function getValidationStatus(bytes32 requestHash)
        external
        view
        returns (address validatorAddress, uint256 agentId, uint8 response, bytes32 responseHash, string memory tag, uint256 lastUpdate)
    {
        Validation storage v = _validations[requestHash];
        if (v.validatorAddress == address(0)) revert ValidationRegistryUnknownRequest(requestHash);
        return (v.validatorAddress, v.agentId, v.response, v.responseHash, v.tag, v.lastUpdate);
    }

    /// @notice ERC-8004: the agent's answered requests, by `validatorAddresses` (empty: any) with tag
    ///         `tag` (empty: any): how many, and their average answer.
    /// @param agentId The agent.
    /// @param validatorAddresses The validators counted (empty: all).
    /// @param tag Only answers with this tag (empty: any).
    /// @return count Answered requests counted.
    /// @return averageResponse Their average last answer, rounded down (0 if none).
    function getSummary(uint256 agentId, address[] calldata validatorAddresses, string calldata tag) external view returns (uint64 count, uint8 averageResponse) {
        bytes32[] storage hashes = _agentValidations[agentId];
        bytes32 tagKey = bytes(tag).length == 0 ? bytes32(0) : keccak256(bytes(tag));
        uint256 sum;
        for (uint256 i = 0; i < hashes.length; i++) {
            Validation storage v = _validations[hashes[i]];
            if (v.lastUpdate == 0) continue;
            if (validatorAddresses.length != 0 && !_containsAddress(validatorAddresses, v.validatorAddress)) continue;
            if (tagKey != bytes32(0) && keccak256(bytes(v.tag)) != tagKey) continue;
            count++;
            sum += v.response;
        }
        if (count != 0) averageResponse = uint8(sum / count);
    }

    /// @notice ERC-8004: every request agent `agentId` made, oldest first.
    /// @param agentId The agent.
    /// @return requestHashes The requests.
    function getAgentValidations(uint256 agentId) external view returns (bytes32[] memory requestHashes) {
        return _agentValidations[agentId];
    }

    /// @notice ERC-8004: every request naming `validatorAddress`, oldest first.
    /// @param validatorAddress The validator.
    /// @return requestHashes The requests.
    function getValidatorRequests(address validatorAddress) external view returns (bytes32[] memory requestHashes) {
        return _validatorRequests[validatorAddress];
    }

    function _containsAddress(address[] calldata list, address item) private pure returns (bool) {
        for (uint256 i = 0; i < list.length; i++) {
            if (list[i] == item) return true;
        }
        return false;
    }
}

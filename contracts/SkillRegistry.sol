// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {OpenPayments} from "./OpenPayments.sol";
import {IAgentRegistry} from "./interfaces/IAgentRegistry.sol";

/// @title Skills agents sell, each listed with a bond
/// @notice An agent (its token's owner, an address approved for it, or the agent's own wallet)
///         lists a skill under the skill's id — the keccak256 of its folder's file list — with the
///         hash of its terms (price, royalties, models) and a URI, and bonds at least
///         `minimumListingBond` OPEN, which holders of SLASHER_ROLE (the settlement contract, for a
///         proven fraud in a call tree; the governance timelock) may slash. A skill id is listed once,
///         by one agent, for good. Delisting starts the unbonding: the bond stays slashable for
///         `unbondingDelay` seconds, then whoever then owns the agent token withdraws it. Parameters
///         belong to DEFAULT_ADMIN_ROLE (the governance timelock).
contract SkillRegistry is AccessControl, OpenPayments {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to slash listing bonds.
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice Longest URI a listing may carry, in bytes.
    uint256 public constant MAX_URI_LENGTH = 512;

    /// @notice One listed skill.
    struct Skill {
        /// The agent that sells it.
        uint256 agentId;
        /// Hash of its terms.
        bytes32 termsHash;
        /// Where its listing (folder, terms) is published.
        string uri;
        /// OPEN bonded (what is left after slashes; 0 once withdrawn).
        uint256 bond;
        uint64 listedAt;
        /// When it was delisted (0 while listed).
        uint64 delistedAt;
        /// When its bond may be withdrawn (0 while listed).
        uint64 bondUnlocksAt;
        /// Listed and not delisted.
        bool active;
    }

    /// @notice The bond token (OPEN).
    IERC20 public immutable token;
    /// @notice The agents' identities.
    IAgentRegistry public immutable agentRegistry;
    /// @notice Least OPEN (wei) a listing bonds.
    uint256 public minimumListingBond;
    /// @notice Seconds a delisted skill's bond stays slashable before it can be withdrawn.
    uint64 public unbondingDelay;
    /// @notice OPEN bonded by all skills (listed or unbonding).
    uint256 public totalBonded;

    mapping(bytes32 skillId => Skill) private _skills;

    /// @notice Agent `agentId` listed skill `skillId` with its terms, URI and `bond`.
    event Listed(bytes32 indexed skillId, uint256 indexed agentId, bytes32 termsHash, string uri, uint256 bond);
    /// @notice Skill `skillId`'s terms and URI changed.
    event TermsUpdated(bytes32 indexed skillId, uint256 indexed agentId, bytes32 termsHash, string uri);
    /// @notice Skill `skillId` was delisted; its bond unlocks at `bondUnlocksAt`.
    event Delisted(bytes32 indexed skillId, uint256 indexed agentId, uint64 bondUnlocksAt);
    /// @notice Skill `skillId`'s bond, `amount`, was withdrawn to `to` (the agent's owner).
    event BondWithdrawn(bytes32 indexed skillId, uint256 indexed agentId, address to, uint256 amount);
    /// @notice `amount` of skill `skillId`'s bond was slashed to `to` by `slasher`.
    event BondSlashed(bytes32 indexed skillId, uint256 indexed agentId, uint256 amount, address to, address slasher);
    /// @notice Listings now bond at least `amount`.
    event MinimumListingBondSet(uint256 amount);
    /// @notice Delisted bonds now unlock `delay` seconds after delisting.
    event UnbondingDelaySet(uint64 delay);

    /// @notice The token given to the constructor is the zero address.
    error SkillRegistryInvalidToken(address token);
    /// @notice The agent registry given to the constructor is the zero address.
    error SkillRegistryInvalidAgentRegistry(address agentRegistry);
    /// @notice The admin given to the constructor is the zero address.
    error SkillRegistryInvalidAdmin(address admin);
    /// @notice A skill id or terms hash that is zero.
    error SkillRegistryInvalidSkill(bytes32 skillId, bytes32 termsHash);
    /// @notice A URI longer than MAX_URI_LENGTH bytes.
    error SkillRegistryInvalidURI(string uri);
    /// @notice Skill `skillId` was listed already, by agent `agentId`.
    error SkillRegistryAlreadyListed(bytes32 skillId, uint256 agentId);
    /// @notice No skill has id `skillId`.
    error SkillRegistryUnknownSkill(bytes32 skillId);
    /// @notice `caller` may not act for agent `agentId`.
    error SkillRegistryNotAgentOwner(uint256 agentId, address caller);
    /// @notice A bond of `bond`, below the minimum `minimum`.
    error SkillRegistryBondBelowMinimum(uint256 bond, uint256 minimum);
    /// @notice Skill `skillId` was delisted.
    error SkillRegistryNotListed(bytes32 skillId);
    /// @notice Skill `skillId` is still listed (delist it first).
    error SkillRegistryStillListed(bytes32 skillId);
    /// @notice Skill `skillId`'s bond unlocks only at `bondUnlocksAt`.
    error SkillRegistryBondLocked(bytes32 skillId, uint64 bondUnlocksAt);
    /// @notice Skill `skillId` has no bond left.
    error SkillRegistryNoBond(bytes32 skillId);
    /// @notice A slash of `amount` from a bond of `bond` (nothing, or more than there is).
    error SkillRegistryInvalidSlashAmount(uint256 amount, uint256 bond);
    /// @notice A slash to the zero address.
    error SkillRegistryInvalidSlashDestination(address to);

    /// @param token_ The bond token (OPEN).
    /// @param agentRegistry_ The agents' identities.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (the timelock, or the deployer while wiring).
    /// @param minimumListingBond_ Least OPEN (wei) a listing bonds.
    /// @param unbondingDelay_ Seconds a delisted bond stays slashable.
    constructor(IERC20 token_, IAgentRegistry agentRegistry_, address admin, uint256 minimumListingBond_, uint64 unbondingDelay_) {
        if (address(token_) == address(0)) revert SkillRegistryInvalidToken(address(token_));
        if (address(agentRegistry_) == address(0)) revert SkillRegistryInvalidAgentRegistry(address(agentRegistry_));
        if (admin == address(0)) revert SkillRegistryInvalidAdmin(admin);
        token = token_;
        agentRegistry = agentRegistry_;
        minimumListingBond = minimumListingBond_;
        unbondingDelay = unbondingDelay_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit MinimumListingBondSet(minimumListingBond_);
        emit UnbondingDelaySet(unbondingDelay_);
    }

    /// @notice List skill `skillId` for agent `agentId`, bonding `bond` OPEN from the caller (who
    ///         must have approved this contract). The caller is the agent's owner, approved for it,
    ///         or the agent's wallet.
    /// @param agentId The selling agent.
    /// @param skillId The skill's id (keccak256 of its folder's file list); listed once, ever.
    /// @param termsHash Hash of its terms.
    /// @param uri Where its listing is published (at most MAX_URI_LENGTH bytes).
    /// @param bond OPEN (wei) to bond, at least `minimumListingBond`.
    function list(uint256 agentId, bytes32 skillId, bytes32 termsHash, string calldata uri, uint256 bond) external payable {
        _requireAgentOwner(agentId);
        if (skillId == bytes32(0) || termsHash == bytes32(0)) revert SkillRegistryInvalidSkill(skillId, termsHash);
        if (bytes(uri).length > MAX_URI_LENGTH) revert SkillRegistryInvalidURI(uri);
        Skill storage s = _skills[skillId];
        if (s.listedAt != 0) revert SkillRegistryAlreadyListed(skillId, s.agentId);
        if (bond < minimumListingBond) revert SkillRegistryBondBelowMinimum(bond, minimumListingBond);
        s.agentId = agentId;
        s.termsHash = termsHash;
        s.uri = uri;
        s.bond = bond;
        s.listedAt = uint64(block.timestamp);
        s.active = true;
        totalBonded += bond;
        emit Listed(skillId, agentId, termsHash, uri, bond);
        _collect(bond);
    }

    /// @notice Change a listed skill's terms and URI (the agent's owner, approved address or wallet).
    /// @param skillId The skill.
    /// @param termsHash Hash of the new terms.
    /// @param uri The new URI.
    function updateTerms(bytes32 skillId, bytes32 termsHash, string calldata uri) external {
        Skill storage s = _listed(skillId);
        _requireAgentOwner(s.agentId);
        if (termsHash == bytes32(0)) revert SkillRegistryInvalidSkill(skillId, termsHash);
        if (bytes(uri).length > MAX_URI_LENGTH) revert SkillRegistryInvalidURI(uri);
        s.termsHash = termsHash;
        s.uri = uri;
        emit TermsUpdated(skillId, s.agentId, termsHash, uri);
    }

    /// @notice Delist a skill (the agent's owner, approved address or wallet); its bond unlocks
    ///         `unbondingDelay` seconds from now and stays slashable until withdrawn.
    /// @param skillId The skill.
    function delist(bytes32 skillId) external {
        Skill storage s = _listed(skillId);
        _requireAgentOwner(s.agentId);
        uint64 unlocksAt = uint64(block.timestamp) + unbondingDelay;
        s.active = false;
        s.delistedAt = uint64(block.timestamp);
        s.bondUnlocksAt = unlocksAt;
        emit Delisted(skillId, s.agentId, unlocksAt);
    }

    /// @notice Withdraw a delisted skill's bond once unlocked, to whoever owns the agent token now
    ///         (called by the agent's owner, approved address or wallet).
    /// @param skillId The skill.
    function withdrawBond(bytes32 skillId) external {
        Skill storage s = _skill(skillId);
        if (s.active) revert SkillRegistryStillListed(skillId);
        _requireAgentOwner(s.agentId);
        if (block.timestamp < s.bondUnlocksAt) revert SkillRegistryBondLocked(skillId, s.bondUnlocksAt);
        uint256 amount = s.bond;
        if (amount == 0) revert SkillRegistryNoBond(skillId);
        address to = agentRegistry.ownerOf(s.agentId);
        s.bond = 0;
        totalBonded -= amount;
        emit BondWithdrawn(skillId, s.agentId, to, amount);
        token.safeTransfer(to, amount);
    }

    /// @notice Slash `amount` of a skill's bond, listed or unbonding, to `to` (SLASHER_ROLE).
    /// @param skillId The skill.
    /// @param amount OPEN (wei), at most what is bonded.
    /// @param to Where the slashed OPEN goes.
    function slashBond(bytes32 skillId, uint256 amount, address to) external onlyRole(SLASHER_ROLE) {
        Skill storage s = _skill(skillId);
        if (to == address(0)) revert SkillRegistryInvalidSlashDestination(to);
        uint256 bond = s.bond;
        if (amount == 0 || amount > bond) revert SkillRegistryInvalidSlashAmount(amount, bond);
        s.bond = bond - amount;
        totalBonded -= amount;
        emit BondSlashed(skillId, s.agentId, amount, to, msg.sender);
        token.safeTransfer(to, amount);
    }

    /// @notice Set the least OPEN a new listing bonds (governance); listings made before keep their bond.
    /// @param amount OPEN (wei).
    function setMinimumListingBond(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        minimumListingBond = amount;
        emit MinimumListingBondSet(amount);
    }

    /// @notice Set how long a delisted bond stays slashable (governance); skills delisted before keep their unlock time.
    /// @param delay Seconds.
    function setUnbondingDelay(uint64 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    /// @notice A skill.
    /// @param skillId The skill.
    /// @return The skill's record.
    function getSkill(bytes32 skillId) external view returns (Skill memory) {
        return _skill(skillId);
    }

    function _skill(bytes32 skillId) private view returns (Skill storage s) {
        s = _skills[skillId];
        if (s.listedAt == 0) revert SkillRegistryUnknownSkill(skillId);
    }

    function _listed(bytes32 skillId) private view returns (Skill storage s) {
        s = _skill(skillId);
        if (!s.active) revert SkillRegistryNotListed(skillId);
    }

    /// @dev The caller owns agent `agentId`, is approved for it, or is its wallet.
    function _requireAgentOwner(uint256 agentId) private view {
        if (!agentRegistry.isAuthorizedOrOwner(msg.sender, agentId) && agentRegistry.getAgentWallet(agentId) != msg.sender) {
            revert SkillRegistryNotAgentOwner(agentId, msg.sender);
        }
    }

    /// @inheritdoc OpenPayments
    function _openToken() internal view override returns (IERC20) {
        return token;
    }
}

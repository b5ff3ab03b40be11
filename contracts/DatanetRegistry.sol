// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title Registry of datanets, their anchored contributions and their snapshots
/// @notice A datanet has an owner, a metadata URI, licence terms, a contribution stake and a set of
///         curators. Accepted contributions are anchored in batches (one Merkle root per batch) and
///         frozen into snapshots (the Merkle root of a set of contribution ids). A contributor bonds
///         the datanet's contribution stake before contributing and signs what it contributes (an
///         EIP-712 `Contributions(datanetId, root)` over the Merkle root of the content hashes); a
///         curator who rejects one of those contributions as spam slashes it, with that signature
///         and the content hash's proof as evidence that the contributor really sent it.
/// @dev Leaves of batch and snapshot trees are OpenZeppelin merkle-tree "standard" leaves of one
///      `bytes32` (the contribution id): keccak256(bytes.concat(keccak256(abi.encode(id)))); the
///      leaves of a contributor's signed tree are the content hashes, the same way.
contract DatanetRegistry is AccessControl, ReentrancyGuard, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice One datanet.
    struct Datanet {
        address owner;
        uint96 contributionStake;
        string metadataURI;
        string licence;
        uint64 createdAt;
        uint32 batchCount;
        uint32 snapshotCount;
    }

    /// @notice One anchored batch or snapshot.
    struct MerkleRecord {
        bytes32 root;
        uint64 count;
        uint64 recordedAt;
        string uri;
    }

    /// @notice One contributor's stake in one datanet.
    struct ContributorStake {
        uint256 amount;
        uint64 releaseAt;
        /// The datanet's contribution stake when the contributor last bonded: a slash takes at most
        /// this, so an owner raising the stake later cannot take more than the contributor agreed to.
        uint96 perSlash;
    }

    /// @notice The staked token (OPEN).
    IERC20 public immutable token;
    /// @notice Seconds between a stake-release request and the withdrawal it allows.
    uint64 public stakeReleaseDelay;
    /// @notice EIP-712 type a contributor signs for the contributions it sends.
    bytes32 public constant CONTRIBUTIONS_TYPEHASH = keccak256("Contributions(uint256 datanetId,bytes32 root)");

    /// @notice Where slashed contributor stakes are sent.
    address public slashDestination;
    /// @notice Number of datanets created; ids are 1..datanetCount.
    uint256 public datanetCount;

    mapping(uint256 => Datanet) private _datanets;
    mapping(uint256 => mapping(address => bool)) private _curators;
    mapping(uint256 => mapping(uint256 => MerkleRecord)) private _batches;
    mapping(uint256 => mapping(uint256 => MerkleRecord)) private _snapshots;
    mapping(uint256 => mapping(bytes32 => bool)) private _anchoredRoots;
    mapping(uint256 => mapping(address => ContributorStake)) private _stakes;
    mapping(uint256 => mapping(bytes32 => bool)) private _slashedContributions;
    /// @notice Whether `datanetId` recorded `root` as a snapshot. Roots are namespaced per datanet:
    ///         recording a root under one datanet never stops another datanet recording it (a root
    ///         front-run under another datanet cannot block a snapshot).
    mapping(uint256 => mapping(bytes32 => bool)) public isSnapshotOf;
    /// @notice How many datanets recorded `root` as a snapshot (0: not a snapshot anywhere).
    mapping(bytes32 => uint256) public snapshotRecordings;

    event DatanetCreated(uint256 indexed datanetId, address indexed owner, string metadataURI, string licence, uint256 contributionStake);
    event DatanetUpdated(uint256 indexed datanetId, string metadataURI, string licence, uint256 contributionStake);
    event DatanetOwnershipTransferred(uint256 indexed datanetId, address indexed previousOwner, address indexed newOwner);
    event CuratorSet(uint256 indexed datanetId, address indexed curator, bool enabled);
    event BatchAnchored(uint256 indexed datanetId, uint256 indexed batchIndex, bytes32 root, uint64 count, string uri);
    event SnapshotRecorded(uint256 indexed datanetId, uint256 indexed snapshotIndex, bytes32 root, uint64 count, string uri);
    event ContributorStaked(uint256 indexed datanetId, address indexed contributor, uint256 amount);
    event ContributorStakeReleaseRequested(uint256 indexed datanetId, address indexed contributor, uint64 releaseAt);
    event ContributorStakeWithdrawn(uint256 indexed datanetId, address indexed contributor, uint256 amount);
    event ContributorSlashed(uint256 indexed datanetId, address indexed contributor, bytes32 indexed contributionId, address curator, uint256 amount);
    event StakeReleaseDelaySet(uint64 delay);
    event SlashDestinationSet(address destination);

    error ZeroAddress();
    error UnknownDatanet(uint256 datanetId);
    error NotDatanetOwner(uint256 datanetId, address caller);
    error NotCurator(uint256 datanetId, address caller);
    error EmptyRoot();
    error EmptyBatch();
    error RootAlreadyAnchored(uint256 datanetId, bytes32 root);
    error SnapshotAlreadyRecorded(uint256 datanetId, bytes32 root);
    error NoStake(uint256 datanetId, address contributor);
    error ReleaseNotRequested();
    error StillLocked(uint64 releaseAt);
    error AlreadySlashed(bytes32 contributionId);
    error NotSignedByContributor(uint256 datanetId, address contributor, bytes32 contentHash);
    error ZeroAmount();

    /// @param token_ The OPEN token.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (the timelock, or the deployer while wiring).
    /// @param stakeReleaseDelay_ Initial stake release delay in seconds.
    /// @param slashDestination_ Initial destination of slashed stakes.
    constructor(IERC20 token_, address admin, uint64 stakeReleaseDelay_, address slashDestination_)
        EIP712("OpenLedger DatanetRegistry", "1")
    {
        if (address(token_) == address(0) || admin == address(0) || slashDestination_ == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        stakeReleaseDelay = stakeReleaseDelay_;
        slashDestination = slashDestination_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    modifier onlyDatanetOwner(uint256 datanetId) {
        _requireDatanet(datanetId);
        if (_datanets[datanetId].owner != msg.sender) revert NotDatanetOwner(datanetId, msg.sender);
        _;
    }

    modifier onlyOwnerOrCurator(uint256 datanetId) {
        _requireDatanet(datanetId);
        if (_datanets[datanetId].owner != msg.sender && !_curators[datanetId][msg.sender]) {
            revert NotCurator(datanetId, msg.sender);
        }
        _;
    }

    // ---------------------------------------------------------------- datanets

    /// @notice Create a datanet owned by the caller.
    /// @param metadataURI Where its name, description and record schema live (e.g. a blob hash URI).
    /// @param licence Licence terms (an SPDX id or a URI).
    /// @param contributionStake OPEN a contributor must bond before contributing (0 for none).
    /// @param curators Initial curators.
    /// @return datanetId The new datanet's id.
    function createDatanet(
        string calldata metadataURI,
        string calldata licence,
        uint96 contributionStake,
        address[] calldata curators
    ) external returns (uint256 datanetId) {
        datanetId = ++datanetCount;
        Datanet storage d = _datanets[datanetId];
        d.owner = msg.sender;
        d.metadataURI = metadataURI;
        d.licence = licence;
        d.contributionStake = contributionStake;
        d.createdAt = uint64(block.timestamp);
        emit DatanetCreated(datanetId, msg.sender, metadataURI, licence, contributionStake);
        for (uint256 i = 0; i < curators.length; i++) {
            if (curators[i] == address(0)) revert ZeroAddress();
            _curators[datanetId][curators[i]] = true;
            emit CuratorSet(datanetId, curators[i], true);
        }
    }

    /// @notice Change a datanet's metadata, licence and contribution stake (owner only).
    /// @param datanetId The datanet.
    /// @param metadataURI New metadata URI.
    /// @param licence New licence terms.
    /// @param contributionStake New contribution stake.
    function updateDatanet(uint256 datanetId, string calldata metadataURI, string calldata licence, uint96 contributionStake)
        external
        onlyDatanetOwner(datanetId)
    {
        Datanet storage d = _datanets[datanetId];
        d.metadataURI = metadataURI;
        d.licence = licence;
        d.contributionStake = contributionStake;
        emit DatanetUpdated(datanetId, metadataURI, licence, contributionStake);
    }

    /// @notice Add or remove a curator (owner only).
    /// @param datanetId The datanet.
    /// @param curator The curator.
    /// @param enabled True to add, false to remove.
    function setCurator(uint256 datanetId, address curator, bool enabled) external onlyDatanetOwner(datanetId) {
        if (curator == address(0)) revert ZeroAddress();
        _curators[datanetId][curator] = enabled;
        emit CuratorSet(datanetId, curator, enabled);
    }

    /// @notice Hand a datanet to a new owner (owner only).
    /// @param datanetId The datanet.
    /// @param newOwner The new owner.
    function transferDatanetOwnership(uint256 datanetId, address newOwner) external onlyDatanetOwner(datanetId) {
        if (newOwner == address(0)) revert ZeroAddress();
        emit DatanetOwnershipTransferred(datanetId, msg.sender, newOwner);
        _datanets[datanetId].owner = newOwner;
    }

    // ------------------------------------------------------- batches, snapshots

    /// @notice Anchor a batch of accepted contributions as one Merkle root (owner or curator).
    /// @param datanetId The datanet.
    /// @param root Merkle root of the batch's contribution ids.
    /// @param count Number of contributions in the batch.
    /// @param uri Where the batch's list of ids can be fetched.
    /// @return batchIndex Index of the batch in this datanet, from 0.
    function anchorBatch(uint256 datanetId, bytes32 root, uint64 count, string calldata uri)
        external
        onlyOwnerOrCurator(datanetId)
        returns (uint256 batchIndex)
    {
        if (root == bytes32(0)) revert EmptyRoot();
        if (count == 0) revert EmptyBatch();
        if (_anchoredRoots[datanetId][root]) revert RootAlreadyAnchored(datanetId, root);
        _anchoredRoots[datanetId][root] = true;
        batchIndex = _datanets[datanetId].batchCount++;
        _batches[datanetId][batchIndex] = MerkleRecord(root, count, uint64(block.timestamp), uri);
        emit BatchAnchored(datanetId, batchIndex, root, count, uri);
    }

    /// @notice Freeze a set of contribution ids into an immutable snapshot (owner or curator).
    /// @param datanetId The datanet.
    /// @param root Merkle root of the snapshot's contribution ids.
    /// @param count Number of contributions in the snapshot.
    /// @param uri Where the snapshot's list of ids can be fetched.
    /// @return snapshotIndex Index of the snapshot in this datanet, from 0.
    function recordSnapshot(uint256 datanetId, bytes32 root, uint64 count, string calldata uri)
        external
        onlyOwnerOrCurator(datanetId)
        returns (uint256 snapshotIndex)
    {
        if (root == bytes32(0)) revert EmptyRoot();
        if (count == 0) revert EmptyBatch();
        if (isSnapshotOf[datanetId][root]) revert SnapshotAlreadyRecorded(datanetId, root);
        isSnapshotOf[datanetId][root] = true;
        snapshotRecordings[root]++;
        snapshotIndex = _datanets[datanetId].snapshotCount++;
        _snapshots[datanetId][snapshotIndex] = MerkleRecord(root, count, uint64(block.timestamp), uri);
        emit SnapshotRecorded(datanetId, snapshotIndex, root, count, uri);
    }

    // ------------------------------------------------------ contributor stakes

    /// @notice Bond OPEN as a contributor of `datanetId` (the caller must have approved this contract).
    /// @dev Bonding again cancels a pending release.
    /// @param datanetId The datanet.
    /// @param amount OPEN in wei.
    function stakeAsContributor(uint256 datanetId, uint256 amount) external nonReentrant {
        _requireDatanet(datanetId);
        if (amount == 0) revert ZeroAmount();
        ContributorStake storage s = _stakes[datanetId][msg.sender];
        s.amount += amount;
        s.releaseAt = 0;
        s.perSlash = _datanets[datanetId].contributionStake;
        emit ContributorStaked(datanetId, msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Ask to withdraw the caller's contributor stake; it stays slashable until released.
    /// @param datanetId The datanet.
    function requestStakeRelease(uint256 datanetId) external {
        ContributorStake storage s = _stakes[datanetId][msg.sender];
        if (s.amount == 0) revert NoStake(datanetId, msg.sender);
        s.releaseAt = uint64(block.timestamp) + stakeReleaseDelay;
        emit ContributorStakeReleaseRequested(datanetId, msg.sender, s.releaseAt);
    }

    /// @notice Withdraw the caller's contributor stake after the release delay.
    /// @param datanetId The datanet.
    function withdrawStake(uint256 datanetId) external nonReentrant {
        ContributorStake storage s = _stakes[datanetId][msg.sender];
        uint256 amount = s.amount;
        if (amount == 0) revert NoStake(datanetId, msg.sender);
        if (s.releaseAt == 0) revert ReleaseNotRequested();
        if (block.timestamp < s.releaseAt) revert StillLocked(s.releaseAt);
        delete _stakes[datanetId][msg.sender];
        emit ContributorStakeWithdrawn(datanetId, msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Slash a contributor whose contribution a curator rejected as spam (owner or curator).
    /// @dev Takes the contribution stake in force when the contributor bonded, or the current one if
    ///      lower; a datanet without a contribution stake has nothing to slash. One slash per
    ///      contribution. The contributor must have signed the content: `signature` is its EIP-712
    ///      `Contributions(datanetId, root)` (ECDSA, or ERC-1271 for a contract account) and `proof`
    ///      shows `contentHash` is a leaf of `root`, so a curator cannot slash for content the
    ///      contributor never sent.
    /// @param datanetId The datanet.
    /// @param contributor The contributor.
    /// @param contentHash Hash of the rejected content; with `contributor` it gives the contribution id.
    /// @param root Root of the contributor's signed tree of content hashes.
    /// @param proof Proof of `contentHash` in `root` (@openzeppelin/merkle-tree, StandardMerkleTree of `bytes32`).
    /// @param signature The contributor's signature of `Contributions(datanetId, root)`.
    function slashContributor(
        uint256 datanetId,
        address contributor,
        bytes32 contentHash,
        bytes32 root,
        bytes32[] calldata proof,
        bytes calldata signature
    ) external onlyOwnerOrCurator(datanetId) nonReentrant {
        bytes32 id = contributionId(contentHash, contributor);
        if (_slashedContributions[datanetId][id]) revert AlreadySlashed(id);
        if (!MerkleProof.verifyCalldata(proof, root, _leaf(contentHash)) || !isSignedByContributor(datanetId, contributor, root, signature)) {
            revert NotSignedByContributor(datanetId, contributor, contentHash);
        }
        _slashedContributions[datanetId][id] = true;
        uint256 amount = _takeContributorStake(datanetId, contributor);
        address destination = slashDestination;
        emit ContributorSlashed(datanetId, contributor, id, msg.sender, amount);
        token.safeTransfer(destination, amount);
    }

    /// @dev Takes the contribution stake in force when the contributor bonded (or the current one if
    ///      the owner lowered it), at most what is left; reverts NoStake when that is nothing.
    function _takeContributorStake(uint256 datanetId, address contributor) private returns (uint256 amount) {
        ContributorStake storage s = _stakes[datanetId][contributor];
        uint256 current = _datanets[datanetId].contributionStake;
        uint256 perSlash = current < s.perSlash ? current : s.perSlash;
        amount = perSlash < s.amount ? perSlash : s.amount;
        if (amount == 0) revert NoStake(datanetId, contributor);
        s.amount -= amount;
    }

    /// @notice Whether `signature` is `contributor`'s consent to the contributions under `root` in
    ///         `datanetId`, as a slash checks it (ECDSA, or ERC-1271 for a contract account): a node
    ///         asks this before it accepts signed contributions, so it never keeps a consent the
    ///         registry would refuse as evidence.
    /// @param datanetId The datanet.
    /// @param contributor Who is said to have signed.
    /// @param root Merkle root of the contributions' content hashes.
    /// @param signature The signature of `Contributions(datanetId, root)`.
    /// @return True when the registry accepts it.
    function isSignedByContributor(uint256 datanetId, address contributor, bytes32 root, bytes calldata signature) public view returns (bool) {
        return SignatureChecker.isValidSignatureNow(contributor, contributionsDigest(datanetId, root), signature);
    }

    /// @notice The EIP-712 digest a contributor signs for a set of contributions to `datanetId`.
    /// @param datanetId The datanet.
    /// @param root Merkle root of the contributions' content hashes.
    /// @return The digest of `Contributions(datanetId, root)` in this registry's domain.
    function contributionsDigest(uint256 datanetId, bytes32 root) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(CONTRIBUTIONS_TYPEHASH, datanetId, root)));
    }

    // -------------------------------------------------------------- governance

    /// @notice Set the stake release delay (governance).
    /// @param delay Seconds.
    function setStakeReleaseDelay(uint64 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        stakeReleaseDelay = delay;
        emit StakeReleaseDelaySet(delay);
    }

    /// @notice Set where slashed contributor stakes go (governance).
    /// @param destination Non-zero address.
    function setSlashDestination(address destination) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (destination == address(0)) revert ZeroAddress();
        slashDestination = destination;
        emit SlashDestinationSet(destination);
    }

    // ------------------------------------------------------------------- views

    /// @notice The id of a contribution: keccak256(abi.encode(contentHash, contributor)).
    /// @param contentHash keccak256 of the contribution's canonical content.
    /// @param contributor The contributor's address.
    /// @return The contribution id.
    function contributionId(bytes32 contentHash, address contributor) public pure returns (bytes32) {
        return keccak256(abi.encode(contentHash, contributor));
    }

    /// @notice A datanet.
    /// @param datanetId The datanet.
    /// @return The datanet's record.
    function getDatanet(uint256 datanetId) external view returns (Datanet memory) {
        _requireDatanet(datanetId);
        return _datanets[datanetId];
    }

    /// @notice Whether `account` curates `datanetId`.
    /// @param datanetId The datanet.
    /// @param account The account.
    /// @return True for a curator.
    function isCurator(uint256 datanetId, address account) external view returns (bool) {
        return _curators[datanetId][account];
    }

    /// @notice An anchored batch.
    /// @param datanetId The datanet.
    /// @param batchIndex Index from 0.
    /// @return The batch's record (zero root if none).
    function getBatch(uint256 datanetId, uint256 batchIndex) external view returns (MerkleRecord memory) {
        return _batches[datanetId][batchIndex];
    }

    /// @notice A recorded snapshot.
    /// @param datanetId The datanet.
    /// @param snapshotIndex Index from 0.
    /// @return The snapshot's record (zero root if none).
    function getSnapshot(uint256 datanetId, uint256 snapshotIndex) external view returns (MerkleRecord memory) {
        return _snapshots[datanetId][snapshotIndex];
    }

    /// @notice A contributor's stake in a datanet.
    /// @param datanetId The datanet.
    /// @param contributor The contributor.
    /// @return The stake and its release time (0 if no release was requested).
    function stakeOf(uint256 datanetId, address contributor) external view returns (ContributorStake memory) {
        return _stakes[datanetId][contributor];
    }

    /// @notice Whether `contributor` may contribute to `datanetId`: its bonded stake covers the
    ///         datanet's contribution stake and no release is pending.
    /// @param datanetId The datanet.
    /// @param contributor The contributor.
    /// @return True when it may contribute.
    function canContribute(uint256 datanetId, address contributor) external view returns (bool) {
        _requireDatanet(datanetId);
        ContributorStake storage s = _stakes[datanetId][contributor];
        return s.releaseAt == 0 && s.amount >= _datanets[datanetId].contributionStake;
    }

    /// @notice Whether a contribution id is in an anchored batch.
    /// @param datanetId The datanet.
    /// @param batchIndex The batch.
    /// @param id The contribution id.
    /// @param proof Merkle proof from @openzeppelin/merkle-tree (StandardMerkleTree of `bytes32`).
    /// @return True when the proof holds.
    function verifyContribution(uint256 datanetId, uint256 batchIndex, bytes32 id, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 root = _batches[datanetId][batchIndex].root;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, _leaf(id));
    }

    /// @notice Whether a contribution id is in a recorded snapshot.
    /// @param datanetId The datanet.
    /// @param snapshotIndex The snapshot.
    /// @param id The contribution id.
    /// @param proof Merkle proof from @openzeppelin/merkle-tree (StandardMerkleTree of `bytes32`).
    /// @return True when the proof holds.
    function verifySnapshotMember(uint256 datanetId, uint256 snapshotIndex, bytes32 id, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 root = _snapshots[datanetId][snapshotIndex].root;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, _leaf(id));
    }

    function _leaf(bytes32 id) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(id))));
    }

    function _requireDatanet(uint256 datanetId) private view {
        if (datanetId == 0 || datanetId > datanetCount) revert UnknownDatanet(datanetId);
    }
}

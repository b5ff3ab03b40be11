// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IDatanetRegistry} from "./interfaces/IDatanetRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Registry of datanets, their anchored contributions and their snapshots
/// @notice A datanet has an owner, a metadata URI, licence terms, a contribution stake and a set of
///         curators. Accepted contributions are anchored in batches (one Merkle root per batch) and
///         frozen into snapshots (the Merkle root of a set of contribution ids). A contributor bonds
///         the datanet's contribution stake in Staking (role Contributor, scope = the datanet's id)
///         before contributing and signs what it contributes (an EIP-712
///         `Contributions(datanetId, root)` over the Merkle root of the content hashes); a curator
///         who rejects one of those contributions as spam slashes it here, with that signature and
///         the content hash's proof as evidence that the contributor really sent it. This registry
///         is the only account Staking lets slash Contributor stakes, so the consent check, the
///         per-slash cap and the one-slash-per-contribution rule cannot be bypassed.
/// @dev Leaves of batch and snapshot trees are OpenZeppelin merkle-tree "standard" leaves of one
///      `bytes32` (the contribution id): keccak256(bytes.concat(keccak256(abi.encode(id)))); the
///      leaves of a contributor's signed tree are the content hashes, the same way.
contract DatanetRegistry is IDatanetRegistry, EIP712 {
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

    /// @notice What makes an anchored batch's data available: the keccak256 of its DA payload (the
    ///         Alt-DA keccak commitment is `0x00 ‖ dataHash`), the account that anchored it (whose
    ///         DataAvailabilityChallenge bond answers for the data) and the block it was anchored in
    ///         (a challenge window counts from it).
    struct BatchData {
        bytes32 dataHash;
        address submitter;
        uint64 anchoredBlock;
    }

    /// @notice EIP-712 type a contributor signs for the contributions it sends.
    bytes32 public constant CONTRIBUTIONS_TYPEHASH = keccak256("Contributions(uint256 datanetId,bytes32 root)");

    /// @notice Where contributor stakes are held (and slashed, through this registry).
    IStaking public immutable staking;
    /// @notice Number of datanets created; ids are 1..datanetCount.
    uint256 public datanetCount;

    mapping(uint256 => Datanet) private _datanets;
    mapping(uint256 => mapping(address => bool)) private _curators;
    mapping(uint256 => mapping(uint256 => MerkleRecord)) private _batches;
    mapping(uint256 => mapping(uint256 => MerkleRecord)) private _snapshots;
    mapping(uint256 => mapping(bytes32 => bool)) private _anchoredRoots;
    mapping(uint256 => mapping(uint256 => BatchData)) private _batchData;
    mapping(uint256 => mapping(bytes32 => bool)) private _slashedContributions;
    /// @notice Whether `datanetId` recorded `root` as a snapshot. Roots are namespaced per datanet:
    ///         recording a root under one datanet never stops another datanet recording it (a root
    ///         front-run under another datanet cannot block a snapshot).
    mapping(uint256 => mapping(bytes32 => bool)) public isSnapshotOf;
    /// @notice How many datanets recorded `root` as a snapshot (0: not a snapshot anywhere).
    mapping(bytes32 => uint256) public snapshotRecordings;

    /// @notice `owner` created datanet `datanetId`.
    event DatanetCreated(uint256 indexed datanetId, address indexed owner, string metadataURI, string licence, uint256 contributionStake);
    /// @notice The owner changed the datanet's metadata, licence or contribution stake.
    event DatanetUpdated(uint256 indexed datanetId, string metadataURI, string licence, uint256 contributionStake);
    /// @notice The datanet passed from `previousOwner` to `newOwner`.
    event DatanetOwnershipTransferred(uint256 indexed datanetId, address indexed previousOwner, address indexed newOwner);
    /// @notice `curator` was added to (`enabled`) or removed from the datanet's curators.
    event CuratorSet(uint256 indexed datanetId, address indexed curator, bool enabled);
    /// @notice A batch of `count` accepted contributions was anchored as `root`; its DA payload
    ///         hashes to `dataHash` and can be fetched at `uri`.
    event BatchAnchored(uint256 indexed datanetId, uint256 indexed batchIndex, bytes32 root, uint64 count, string uri, bytes32 dataHash);
    /// @notice A snapshot of `count` contribution ids was recorded as `root`.
    event SnapshotRecorded(uint256 indexed datanetId, uint256 indexed snapshotIndex, bytes32 root, uint64 count, string uri);
    /// @notice `curator` slashed `amount` of `contributor`'s stake for contribution `contributionId`
    ///         (Staking emits the matching `Slashed`, with the contribution id as its reason).
    event ContributorSlashed(uint256 indexed datanetId, address indexed contributor, bytes32 indexed contributionId, address curator, uint256 amount);

    /// @notice The staking contract given to the constructor is the zero address.
    error DatanetRegistryInvalidStaking(address staking);
    /// @notice A curator that is the zero address.
    error DatanetRegistryInvalidCurator(address curator);
    /// @notice A new owner that is the zero address.
    error DatanetRegistryInvalidOwner(address owner);
    /// @notice No datanet has id `datanetId`.
    error DatanetRegistryUnknownDatanet(uint256 datanetId);
    /// @notice `caller` does not own datanet `datanetId`.
    error DatanetRegistryNotOwner(uint256 datanetId, address caller);
    /// @notice `caller` neither owns nor curates datanet `datanetId`.
    error DatanetRegistryNotCurator(uint256 datanetId, address caller);
    /// @notice A batch or snapshot of datanet `datanetId` with a zero root.
    error DatanetRegistryEmptyRoot(uint256 datanetId);
    /// @notice A batch `root` of datanet `datanetId` anchored without a DA commitment (a zero data hash).
    error DatanetRegistryEmptyDataHash(uint256 datanetId, bytes32 root);
    /// @notice A batch or snapshot `root` of datanet `datanetId` counting no contribution.
    error DatanetRegistryEmptyBatch(uint256 datanetId, bytes32 root);
    /// @notice `root` is anchored in datanet `datanetId` already.
    error DatanetRegistryRootAlreadyAnchored(uint256 datanetId, bytes32 root);
    /// @notice `root` is a snapshot of datanet `datanetId` already.
    error DatanetRegistrySnapshotAlreadyRecorded(uint256 datanetId, bytes32 root);
    /// @notice `contributor` has no stake a slash in datanet `datanetId` could take.
    error DatanetRegistryNothingToSlash(uint256 datanetId, address contributor);
    /// @notice Contribution `contributionId` of datanet `datanetId` was slashed already.
    error DatanetRegistryAlreadySlashed(uint256 datanetId, bytes32 contributionId);
    /// @notice The evidence does not show that `contributor` signed `contentHash` for datanet `datanetId`.
    error DatanetRegistryNotSignedByContributor(uint256 datanetId, address contributor, bytes32 contentHash);

    /// @param staking_ Where contributor stakes are held; it must accept this registry as their slasher
    ///        (`Staking.setDatanetRegistry`).
    constructor(IStaking staking_) EIP712("OpenLedger DatanetRegistry", "1") {
        if (address(staking_) == address(0)) revert DatanetRegistryInvalidStaking(address(staking_));
        staking = staking_;
    }

    modifier onlyDatanetOwner(uint256 datanetId) {
        _requireDatanet(datanetId);
        if (_datanets[datanetId].owner != msg.sender) revert DatanetRegistryNotOwner(datanetId, msg.sender);
        _;
    }

    modifier onlyOwnerOrCurator(uint256 datanetId) {
        _requireDatanet(datanetId);
        if (_datanets[datanetId].owner != msg.sender && !_curators[datanetId][msg.sender]) {
            revert DatanetRegistryNotCurator(datanetId, msg.sender);
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
            if (curators[i] == address(0)) revert DatanetRegistryInvalidCurator(curators[i]);
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
        if (curator == address(0)) revert DatanetRegistryInvalidCurator(curator);
        _curators[datanetId][curator] = enabled;
        emit CuratorSet(datanetId, curator, enabled);
    }

    /// @notice Hand a datanet to a new owner (owner only).
    /// @param datanetId The datanet.
    /// @param newOwner The new owner.
    function transferDatanetOwnership(uint256 datanetId, address newOwner) external onlyDatanetOwner(datanetId) {
        if (newOwner == address(0)) revert DatanetRegistryInvalidOwner(newOwner);
        emit DatanetOwnershipTransferred(datanetId, msg.sender, newOwner);
        _datanets[datanetId].owner = newOwner;
    }

    // ------------------------------------------------------- batches, snapshots

    /// @notice Anchor a batch of accepted contributions as one Merkle root (owner or curator).
    /// @param datanetId The datanet.
    /// @param root Merkle root of the batch's contribution ids.
    /// @param count Number of contributions in the batch.
    /// @param uri Where the batch's DA payload can be fetched (a DA backend's locator).
    /// @param dataHash keccak256 of the batch's DA payload, the records the root is built from: the
    ///        batch's data availability commitment (Alt-DA keccak commitment `0x00 ‖ dataHash`), which
    ///        anyone may challenge in DataAvailabilityChallenge; the caller is the batch's submitter.
    /// @return batchIndex Index of the batch in this datanet, from 0.
    function anchorBatch(uint256 datanetId, bytes32 root, uint64 count, string calldata uri, bytes32 dataHash)
        external
        onlyOwnerOrCurator(datanetId)
        returns (uint256 batchIndex)
    {
        if (root == bytes32(0)) revert DatanetRegistryEmptyRoot(datanetId);
        if (count == 0) revert DatanetRegistryEmptyBatch(datanetId, root);
        if (dataHash == bytes32(0)) revert DatanetRegistryEmptyDataHash(datanetId, root);
        if (_anchoredRoots[datanetId][root]) revert DatanetRegistryRootAlreadyAnchored(datanetId, root);
        _anchoredRoots[datanetId][root] = true;
        batchIndex = _datanets[datanetId].batchCount++;
        _batches[datanetId][batchIndex] = MerkleRecord(root, count, uint64(block.timestamp), uri);
        _batchData[datanetId][batchIndex] = BatchData(dataHash, msg.sender, uint64(block.number));
        emit BatchAnchored(datanetId, batchIndex, root, count, uri, dataHash);
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
        if (root == bytes32(0)) revert DatanetRegistryEmptyRoot(datanetId);
        if (count == 0) revert DatanetRegistryEmptyBatch(datanetId, root);
        if (isSnapshotOf[datanetId][root]) revert DatanetRegistrySnapshotAlreadyRecorded(datanetId, root);
        isSnapshotOf[datanetId][root] = true;
        snapshotRecordings[root]++;
        snapshotIndex = _datanets[datanetId].snapshotCount++;
        _snapshots[datanetId][snapshotIndex] = MerkleRecord(root, count, uint64(block.timestamp), uri);
        emit SnapshotRecorded(datanetId, snapshotIndex, root, count, uri);
    }

    // ---------------------------------------------------------------- slashing

    /// @notice Slash a contributor whose contribution a curator rejected as spam (owner or curator).
    /// @dev Takes, from the contributor's Contributor stake in this datanet (held by Staking), the
    ///      contribution stake in force when the contributor bonded, or the current one if lower, at
    ///      most what is left; a datanet without a contribution stake has nothing to slash. One slash
    ///      per contribution. The contributor must have signed the content: `signature` is its
    ///      EIP-712 `Contributions(datanetId, root)` (ECDSA, or ERC-1271 for a contract account) and
    ///      `proof` shows `contentHash` is a leaf of `root`, so a curator cannot slash for content the
    ///      contributor never sent. Checks, then this registry's effects, then the call to Staking
    ///      (which moves the OPEN to its slash destination and caps the slash at the stake's
    ///      `perSlash` again).
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
    ) external onlyOwnerOrCurator(datanetId) {
        bytes32 id = contributionId(contentHash, contributor);
        if (_slashedContributions[datanetId][id]) revert DatanetRegistryAlreadySlashed(datanetId, id);
        if (!MerkleProof.verifyCalldata(proof, root, _leaf(contentHash)) || !isSignedByContributor(datanetId, contributor, root, signature)) {
            revert DatanetRegistryNotSignedByContributor(datanetId, contributor, contentHash);
        }
        uint256 amount = slashableStake(datanetId, contributor);
        if (amount == 0) revert DatanetRegistryNothingToSlash(datanetId, contributor);
        _slashedContributions[datanetId][id] = true;
        emit ContributorSlashed(datanetId, contributor, id, msg.sender, amount);
        staking.slash(contributor, IStaking.Role.Contributor, datanetId, amount, id);
    }

    /// @notice What one slash of `contributor` in `datanetId` takes now: the contribution stake in
    ///         force when it bonded (or the current one if the owner lowered it), at most what is left
    ///         of its Contributor stake, bonded and unbonding.
    /// @param datanetId The datanet.
    /// @param contributor The contributor.
    /// @return OPEN in wei (0: nothing to slash).
    function slashableStake(uint256 datanetId, address contributor) public view returns (uint256) {
        _requireDatanet(datanetId);
        IStaking.Position memory p = staking.positionOf(contributor, IStaking.Role.Contributor, datanetId);
        uint256 current = _datanets[datanetId].contributionStake;
        uint256 perSlash = current < p.perSlash ? current : p.perSlash;
        uint256 held = p.bonded + p.unbonding;
        return perSlash < held ? perSlash : held;
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

    /// @inheritdoc IDatanetRegistry
    function batchDataOf(uint256 datanetId, uint256 batchIndex)
        external
        view
        returns (bytes32 dataHash, address submitter, uint64 anchoredBlock)
    {
        BatchData storage d = _batchData[datanetId][batchIndex];
        return (d.dataHash, d.submitter, d.anchoredBlock);
    }

    /// @notice A recorded snapshot.
    /// @param datanetId The datanet.
    /// @param snapshotIndex Index from 0.
    /// @return The snapshot's record (zero root if none).
    function getSnapshot(uint256 datanetId, uint256 snapshotIndex) external view returns (MerkleRecord memory) {
        return _snapshots[datanetId][snapshotIndex];
    }

    /// @notice OPEN a contributor must bond in `datanetId` before contributing.
    /// @param datanetId The datanet (reverts DatanetRegistryUnknownDatanet for an unknown one).
    /// @return The contribution stake in wei (0 for none).
    function contributionStakeOf(uint256 datanetId) external view returns (uint96) {
        _requireDatanet(datanetId);
        return _datanets[datanetId].contributionStake;
    }

    /// @notice Whether `contributor` may contribute to `datanetId`: its bonded Contributor stake in
    ///         Staking covers the datanet's contribution stake (stake it asked back no longer counts).
    /// @param datanetId The datanet.
    /// @param contributor The contributor.
    /// @return True when it may contribute.
    function canContribute(uint256 datanetId, address contributor) external view returns (bool) {
        _requireDatanet(datanetId);
        return staking.positionOf(contributor, IStaking.Role.Contributor, datanetId).bonded >= _datanets[datanetId].contributionStake;
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
        if (datanetId == 0 || datanetId > datanetCount) revert DatanetRegistryUnknownDatanet(datanetId);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDatanetRegistry} from "./interfaces/IDatanetRegistry.sol";

/// @title Registry of published models and their provenance
/// @notice A model is a LoRA adapter on a base model. Each version records the base model's hash,
///         the adapter's hash, the datanet snapshot roots it was trained on (each must be a snapshot
///         recorded in the DatanetRegistry) and the hash of its training configuration. The owner
///         sets the price per 1,000 tokens and can deactivate the model.
contract ModelRegistry {
    /// @notice One model.
    struct Model {
        address owner;
        bool active;
        uint32 versionCount;
        uint64 createdAt;
        uint256 pricePer1kTokens;
        string name;
        string metadataURI;
    }

    /// @notice One version of a model, with its provenance.
    struct Version {
        bytes32 baseModelHash;
        bytes32 adapterHash;
        bytes32 trainingConfigHash;
        uint64 publishedAt;
        bytes32[] snapshotRoots;
    }

    /// @notice Where snapshot roots are checked.
    IDatanetRegistry public immutable datanets;
    /// @notice Number of models; ids are 1..modelCount.
    uint256 public modelCount;
    /// @notice Model id by name (0 if none); names are unique.
    mapping(string => uint256) public modelIdByName;

    mapping(uint256 => Model) private _models;
    mapping(uint256 => mapping(uint256 => Version)) private _versions;

    /// @notice `owner` registered model `modelId` under `name`.
    event ModelRegistered(uint256 indexed modelId, address indexed owner, string name, uint256 pricePer1kTokens, string metadataURI);
    /// @notice Version `version` of model `modelId` was published with its provenance.
    event VersionPublished(
        uint256 indexed modelId,
        uint256 indexed version,
        bytes32 baseModelHash,
        bytes32 adapterHash,
        bytes32 trainingConfigHash,
        bytes32[] snapshotRoots
    );
    /// @notice Model `modelId` now costs `pricePer1kTokens` OPEN (wei) per 1,000 tokens.
    event PriceSet(uint256 indexed modelId, uint256 pricePer1kTokens);
    /// @notice Model `modelId` is no longer served.
    event ModelDeactivated(uint256 indexed modelId);
    /// @notice Model `modelId` passed from `previousOwner` to `newOwner`.
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);

    /// @notice The datanet registry given to the constructor is the zero address.
    error ModelRegistryInvalidDatanetRegistry(address datanets);
    /// @notice A new owner that is the zero address.
    error ModelRegistryInvalidOwner(address owner);
    /// @notice A model without a name.
    error ModelRegistryEmptyName();
    /// @notice Another model has `name` already.
    error ModelRegistryNameTaken(string name);
    /// @notice No model has id `modelId`.
    error ModelRegistryUnknownModel(uint256 modelId);
    /// @notice Model `modelId` has no version `version`.
    error ModelRegistryUnknownVersion(uint256 modelId, uint256 version);
    /// @notice `caller` does not own model `modelId`.
    error ModelRegistryNotOwner(uint256 modelId, address caller);
    /// @notice Model `modelId` was deactivated.
    error ModelRegistryInactiveModel(uint256 modelId);
    /// @notice A version whose base-model, adapter or training-config hash is zero (the three as given).
    error ModelRegistryMissingHash(bytes32 baseModelHash, bytes32 adapterHash, bytes32 trainingConfigHash);
    /// @notice A version of model `modelId` naming no snapshot it was trained on.
    error ModelRegistryNoSnapshots(uint256 modelId);
    /// @notice `root` is not a snapshot recorded in the DatanetRegistry.
    error ModelRegistryUnknownSnapshot(bytes32 root);

    /// @param datanets_ The datanet registry whose snapshots models are trained on.
    constructor(IDatanetRegistry datanets_) {
        if (address(datanets_) == address(0)) revert ModelRegistryInvalidDatanetRegistry(address(datanets_));
        datanets = datanets_;
    }

    modifier onlyModelOwner(uint256 modelId) {
        _requireModel(modelId);
        if (_models[modelId].owner != msg.sender) revert ModelRegistryNotOwner(modelId, msg.sender);
        _;
    }

    /// @notice Register a model owned by the caller, with its first version.
    /// @param name Unique name, used as the `model` field of inference requests.
    /// @param metadataURI Where its description lives.
    /// @param pricePer1kTokens OPEN (wei) per 1,000 tokens of usage.
    /// @param baseModelHash Hash of the base model's weights.
    /// @param adapterHash Hash of the adapter (PEFT folder).
    /// @param trainingConfigHash Hash of the training configuration.
    /// @param snapshotRoots Snapshot roots it was trained on (recorded in the DatanetRegistry).
    /// @return modelId The new model's id.
    function registerModel(
        string calldata name,
        string calldata metadataURI,
        uint256 pricePer1kTokens,
        bytes32 baseModelHash,
        bytes32 adapterHash,
        bytes32 trainingConfigHash,
        bytes32[] calldata snapshotRoots
    ) external returns (uint256 modelId) {
        if (bytes(name).length == 0) revert ModelRegistryEmptyName();
        if (modelIdByName[name] != 0) revert ModelRegistryNameTaken(name);
        modelId = ++modelCount;
        modelIdByName[name] = modelId;
        Model storage m = _models[modelId];
        m.owner = msg.sender;
        m.active = true;
        m.createdAt = uint64(block.timestamp);
        m.pricePer1kTokens = pricePer1kTokens;
        m.name = name;
        m.metadataURI = metadataURI;
        emit ModelRegistered(modelId, msg.sender, name, pricePer1kTokens, metadataURI);
        _publish(modelId, baseModelHash, adapterHash, trainingConfigHash, snapshotRoots);
    }

    /// @notice Publish a new version of an active model (owner only).
    /// @param modelId The model.
    /// @param baseModelHash Hash of the base model's weights.
    /// @param adapterHash Hash of the adapter.
    /// @param trainingConfigHash Hash of the training configuration.
    /// @param snapshotRoots Snapshot roots it was trained on.
    /// @return version The new version number (from 1).
    function publishVersion(
        uint256 modelId,
        bytes32 baseModelHash,
        bytes32 adapterHash,
        bytes32 trainingConfigHash,
        bytes32[] calldata snapshotRoots
    ) external onlyModelOwner(modelId) returns (uint256 version) {
        if (!_models[modelId].active) revert ModelRegistryInactiveModel(modelId);
        version = _publish(modelId, baseModelHash, adapterHash, trainingConfigHash, snapshotRoots);
    }

    /// @notice Set the price per 1,000 tokens (owner only).
    /// @param modelId The model.
    /// @param pricePer1kTokens OPEN (wei) per 1,000 tokens.
    function setPrice(uint256 modelId, uint256 pricePer1kTokens) external onlyModelOwner(modelId) {
        _models[modelId].pricePer1kTokens = pricePer1kTokens;
        emit PriceSet(modelId, pricePer1kTokens);
    }

    /// @notice Stop a model from being served (owner only); it cannot be reactivated.
    /// @param modelId The model.
    function deactivate(uint256 modelId) external onlyModelOwner(modelId) {
        if (!_models[modelId].active) revert ModelRegistryInactiveModel(modelId);
        _models[modelId].active = false;
        emit ModelDeactivated(modelId);
    }

    /// @notice Hand a model to a new owner (owner only).
    /// @param modelId The model.
    /// @param newOwner The new owner.
    function transferModelOwnership(uint256 modelId, address newOwner) external onlyModelOwner(modelId) {
        if (newOwner == address(0)) revert ModelRegistryInvalidOwner(newOwner);
        emit ModelOwnershipTransferred(modelId, msg.sender, newOwner);
        _models[modelId].owner = newOwner;
    }

    /// @notice A model.
    /// @param modelId The model.
    /// @return The model's record.
    function getModel(uint256 modelId) external view returns (Model memory) {
        _requireModel(modelId);
        return _models[modelId];
    }

    /// @notice One version of a model.
    /// @param modelId The model.
    /// @param version From 1.
    /// @return The version's provenance.
    function getVersion(uint256 modelId, uint256 version) external view returns (Version memory) {
        _requireModel(modelId);
        if (version == 0 || version > _models[modelId].versionCount) revert ModelRegistryUnknownVersion(modelId, version);
        return _versions[modelId][version];
    }

    function _publish(
        uint256 modelId,
        bytes32 baseModelHash,
        bytes32 adapterHash,
        bytes32 trainingConfigHash,
        bytes32[] calldata snapshotRoots
    ) private returns (uint256 version) {
        if (baseModelHash == bytes32(0) || adapterHash == bytes32(0) || trainingConfigHash == bytes32(0)) revert ModelRegistryMissingHash(baseModelHash, adapterHash, trainingConfigHash);
        if (snapshotRoots.length == 0) revert ModelRegistryNoSnapshots(modelId);
        for (uint256 i = 0; i < snapshotRoots.length; i++) {
            if (datanets.snapshotRecordings(snapshotRoots[i]) == 0) revert ModelRegistryUnknownSnapshot(snapshotRoots[i]);
        }
        version = ++_models[modelId].versionCount;
        _versions[modelId][version] =
            Version(baseModelHash, adapterHash, trainingConfigHash, uint64(block.timestamp), snapshotRoots);
        emit VersionPublished(modelId, version, baseModelHash, adapterHash, trainingConfigHash, snapshotRoots);
    }

    function _requireModel(uint256 modelId) private view {
        if (modelId == 0 || modelId > modelCount) revert ModelRegistryUnknownModel(modelId);
    }
}

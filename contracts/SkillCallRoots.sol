// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAttributionSettlement} from "./interfaces/IAttributionSettlement.sol";
import {ATTRIBUTION_VERIFIER} from "./interfaces/IAttributionVerifier.sol";
import {ISkillCallRoots} from "./interfaces/ISkillCallRoots.sol";

/// @title Skill calls provable on chain: each epoch's call root, and fraud proofs against it
/// @notice An operator whose epoch settles skill calls posts, beside the epoch's earnings root in
///         AttributionSettlement, the Merkle root of the epoch's calls (src/settlement/call-root.ts):
///         once per epoch, while the epoch is pending and its challenge window open, so that every
///         call it commits to can be challenged. A call is *paid* once its epoch is settled:
///         finalized, or pending with its window over (what the next claim or post finalizes).
///
///         Fraud in an epoch's call trees is proven here against the posted call roots. The prover
///         first disputes the epoch in AttributionSettlement (bonding `disputeBond`), then submits
///         the evidence; when it checks out, this contract (which holds the settlement's
///         ARBITER_ROLE) resolves the dispute as upheld: the epoch is reverted, the operator slashed
///         and the bond returned to the challenger, by the settlement's own path. Anyone may submit
///         the evidence of an open dispute; the bond goes to whoever opened it. Evidence across two
///         epochs resolves the dispute of the later one (an operator's earlier epochs are final by
///         the time a later one is posted); the earlier one must not be reverted, since a reverted
///         epoch's calls were never paid and are settled again later.
///
///         The proofs: an inference counted by two calls; a call whose children and protocol fee cost
///         more than its price; a child that names a parent which did not list it or did not pay it;
///         a call counted in two epochs (or twice, differently, in one); an inference another node
///         served, listed by a call (its receipt read by the attribution verifier predeploy).
///         Inference fees are not on chain, so a call over budget by its inferences' fees is left to
///         a recomputation dispute decided by the arbiters. The protocol fee on calls, `callFeeBps`,
///         belongs to governance (DEFAULT_ADMIN_ROLE, the timelock); each call root records the fee
///         in force when it was posted, and the over-budget proof uses that one.
/// @dev Leaves are OpenZeppelin merkle-tree "standard" leaves of the ten fields of
///      {ISkillCallRoots.CallLeaf}, in order: (bytes32 callId, bytes32 parentCallId, bytes32 skill,
///      address agent, address payer, uint256 price, bytes32 inputHash, bytes32 outputHash,
///      bytes32 receiptsHash, bytes32 childrenHash).
contract SkillCallRoots is AccessControl, ISkillCallRoots {
    /// @notice Basis-point denominator.
    uint16 public constant BPS = 10_000;

    /// @notice A call with the lists its leaf commits to by hash, and its Merkle proof.
    struct ProvenCall {
        CallLeaf leaf;
        /// Hashes (keccak256(abi.encodePacked(...))) to `leaf.receiptsHash`.
        bytes32[] inferenceReceipts;
        /// Hashes to `leaf.childrenHash`.
        bytes32[] children;
        /// Proof of `leaf` against the call root of the epoch it is claimed in.
        bytes32[] proof;
    }

    /// @notice What a fraud proof showed.
    enum Fraud {
        InferenceCountedTwice,
        OverBudget,
        ForgedChild,
        CallCountedTwice,
        ForeignInference
    }

    /// @notice One epoch's call root and the protocol fee in force when it was posted.
    struct CallRoot {
        bytes32 root;
        uint16 callFeeBps;
        uint64 postedAt;
    }

    /// @notice The settlement whose epochs the call roots belong to and whose disputes the proofs resolve.
    IAttributionSettlement public immutable settlement;
    /// @notice The protocol's fee on a skill call's price (basis points), taken before the call's
    ///         costs; recorded with each call root as it is posted.
    uint16 public callFeeBps;
    /// @notice The most `callFeeBps` can be (10 %): what a node keeps free of every call's budget, so
    ///         that no change of the fee between a call and its epoch puts an honest tree over budget.
    uint16 public constant MAX_CALL_FEE_BPS = 1_000;

    mapping(address operator => mapping(uint256 epoch => CallRoot)) private _callRoots;

    /// @notice `operator` committed to its epoch `epoch`'s skill calls: `root`, under a fee of `callFeeBps`.
    event CallRootPosted(address indexed operator, uint256 indexed epoch, bytes32 root, uint16 callFeeBps);
    /// @notice `prover` proved `fraud` in `operator`'s epoch `epoch` (about call `callId`): its dispute is upheld.
    event FraudProven(address indexed operator, uint256 indexed epoch, Fraud indexed fraud, address prover, bytes32 callId);
    /// @notice Call roots posted from now on record a fee of `bps`.
    event CallFeeBpsSet(uint16 bps);

    /// @notice The settlement given to the constructor is the zero address.
    error SkillCallRootsInvalidSettlement(address settlement);
    /// @notice The admin given to the constructor is the zero address.
    error SkillCallRootsInvalidAdmin(address admin);
    /// @notice A call fee above 10,000 bps.
    error SkillCallRootsInvalidCallFee(uint16 bps);
    /// @notice A zero call root (an epoch without skill calls posts none).
    error SkillCallRootsEmptyRoot(uint256 epoch);
    /// @notice `caller` posted no epoch `epoch`.
    error SkillCallRootsNotEpochOperator(address caller, uint256 epoch);
    /// @notice `operator`'s epoch `epoch` is not pending (disputed, finalized or reverted).
    error SkillCallRootsEpochNotPending(address operator, uint256 epoch);
    /// @notice The challenge window of `operator`'s epoch `epoch` has closed.
    error SkillCallRootsChallengeWindowClosed(address operator, uint256 epoch);
    /// @notice `operator` posted the call root of epoch `epoch` already: `root`.
    error SkillCallRootsAlreadyPosted(address operator, uint256 epoch, bytes32 root);
    /// @notice `operator`'s epoch `epoch` is not disputed: open the dispute before proving fraud.
    error SkillCallRootsNoOpenDispute(address operator, uint256 epoch);
    /// @notice `operator`'s epoch `epoch` was reverted: its calls were never paid.
    error SkillCallRootsEpochReverted(address operator, uint256 epoch);
    /// @notice `operator` posted no call root for epoch `epoch`.
    error SkillCallRootsNoCallRoot(address operator, uint256 epoch);
    /// @notice The lists given for call `callId` do not hash to its leaf's.
    error SkillCallRootsListsMismatch(bytes32 callId);
    /// @notice The proof does not show call `callId` in `operator`'s call root of epoch `epoch`.
    error SkillCallRootsInvalidProof(address operator, uint256 epoch, bytes32 callId);
    /// @notice Both leaves are call `callId`: one call counting its inference is no fraud.
    error SkillCallRootsSameCall(bytes32 callId);
    /// @notice Call `callId` does not list receipt `receiptId`.
    error SkillCallRootsReceiptNotListed(bytes32 callId, bytes32 receiptId);
    /// @notice Call `callId`'s children and protocol fee, `costs`, fit in its `price`.
    error SkillCallRootsWithinBudget(bytes32 callId, uint256 costs, uint256 price);
    /// @notice Call `childCallId` does not name `parentCallId` as its parent, or (over budget) is
    ///         not listed by it.
    error SkillCallRootsNotAChild(bytes32 parentCallId, bytes32 childCallId);
    /// @notice Child `callId` was given twice.
    error SkillCallRootsChildGivenTwice(bytes32 callId);
    /// @notice Call `parentCallId` lists child `childCallId` and paid it: no forgery.
    error SkillCallRootsChildNotForged(bytes32 parentCallId, bytes32 childCallId);
    /// @notice The two leaves are calls `callIdA` and `callIdB`, not one call.
    error SkillCallRootsDifferentCalls(bytes32 callIdA, bytes32 callIdB);
    /// @notice The two leaves are the same leaf of epoch `epoch`.
    error SkillCallRootsSameLeaf(uint256 epoch);
    /// @notice The attribution verifier cannot read the node of receipt `receiptId`'s body.
    error SkillCallRootsUnreadableReceipt(bytes32 receiptId);
    /// @notice Receipt `receiptId` names the operator `node` itself: no foreign inference.
    error SkillCallRootsReceiptNotForeign(bytes32 receiptId, address node);

    /// @param settlement_ The settlement (this contract needs its ARBITER_ROLE for the fraud proofs).
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (the timelock, or the deployer while wiring).
    /// @param callFeeBps_ The protocol's fee on skill calls (basis points, at most MAX_CALL_FEE_BPS).
    constructor(IAttributionSettlement settlement_, address admin, uint16 callFeeBps_) {
        if (address(settlement_) == address(0)) revert SkillCallRootsInvalidSettlement(address(settlement_));
        if (admin == address(0)) revert SkillCallRootsInvalidAdmin(admin);
        settlement = settlement_;
        _setCallFeeBps(callFeeBps_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------- call roots

    /// @notice Post the call root of the caller's epoch `epoch`: the Merkle root of every skill call
    ///         the epoch settles. Only the epoch's operator, once, while the epoch is pending and its
    ///         challenge window open. Records the call fee in force.
    /// @param epoch The caller's epoch, posted in AttributionSettlement.
    /// @param root The root (src/settlement/call-root.ts `callRoot`), not zero.
    function postCallRoot(uint256 epoch, bytes32 root) external {
        if (root == bytes32(0)) revert SkillCallRootsEmptyRoot(epoch);
        IAttributionSettlement.Epoch memory e = settlement.getEpoch(msg.sender, epoch);
        if (e.operator != msg.sender) revert SkillCallRootsNotEpochOperator(msg.sender, epoch);
        CallRoot storage r = _callRoots[msg.sender][epoch];
        if (r.root != bytes32(0)) revert SkillCallRootsAlreadyPosted(msg.sender, epoch, r.root);
        if (e.status != IAttributionSettlement.EpochStatus.Pending) revert SkillCallRootsEpochNotPending(msg.sender, epoch);
        if (block.timestamp >= e.challengeEndsAt) revert SkillCallRootsChallengeWindowClosed(msg.sender, epoch);
        uint16 bps = callFeeBps;
        r.root = root;
        r.callFeeBps = bps;
        r.postedAt = uint64(block.timestamp);
        emit CallRootPosted(msg.sender, epoch, root, bps);
    }

    /// @inheritdoc ISkillCallRoots
    function callRootOf(address operator, uint256 epoch) external view returns (bytes32) {
        return _callRoots[operator][epoch].root;
    }

    /// @notice The call fee `operator`'s call root of epoch `epoch` was posted under (0 if none posted).
    /// @param operator The operator.
    /// @param epoch The operator's epoch.
    /// @return Basis points.
    function callFeeBpsOf(address operator, uint256 epoch) external view returns (uint16) {
        return _callRoots[operator][epoch].callFeeBps;
    }

    /// @inheritdoc ISkillCallRoots
    /// @dev Mirrors AttributionSettlement's finalization: a pending epoch whose window has passed is
    ///      final for whoever acts next, and can no longer be disputed.
    function isPaidCall(address operator, uint256 epoch, CallLeaf calldata leaf, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _callRoots[operator][epoch].root;
        if (root == bytes32(0)) return false;
        IAttributionSettlement.Epoch memory e = settlement.getEpoch(operator, epoch);
        bool settled = e.status == IAttributionSettlement.EpochStatus.Finalized
            || (e.status == IAttributionSettlement.EpochStatus.Pending && block.timestamp >= e.challengeEndsAt);
        return settled && MerkleProof.verifyCalldata(proof, root, _leafHash(leaf));
    }

    /// @notice The standard leaf of `leaf`, as the call root's tree hashes it.
    /// @param leaf The call.
    /// @return keccak256(bytes.concat(keccak256(abi.encode(leaf)))).
    function callLeafHash(CallLeaf calldata leaf) external pure returns (bytes32) {
        return _leafHash(leaf);
    }

    // ----------------------------------------------------------- fraud proofs

    /// @notice Prove that two different calls of `operator` both claim inference `receiptId` (an
    ///         inference is paid by one call only). Resolves the open dispute of the later of the two
    ///         epochs (they may be the same) as upheld; the earlier must not be reverted.
    /// @param operator The operator.
    /// @param epochA The epoch whose call root holds `a`.
    /// @param a One call, its lists and proof.
    /// @param epochB The epoch whose call root holds `b`.
    /// @param b Another call, its lists and proof.
    /// @param receiptId The receipt both list.
    function proveInferenceCountedTwice(
        address operator,
        uint256 epochA,
        ProvenCall calldata a,
        uint256 epochB,
        ProvenCall calldata b,
        bytes32 receiptId
    ) external {
        uint256 disputed = _disputedOfTwo(operator, epochA, epochB);
        _verify(operator, epochA, a);
        _verify(operator, epochB, b);
        if (a.leaf.callId == b.leaf.callId) revert SkillCallRootsSameCall(a.leaf.callId);
        if (!_contains(a.inferenceReceipts, receiptId)) revert SkillCallRootsReceiptNotListed(a.leaf.callId, receiptId);
        if (!_contains(b.inferenceReceipts, receiptId)) revert SkillCallRootsReceiptNotListed(b.leaf.callId, receiptId);
        _uphold(operator, disputed, Fraud.InferenceCountedTwice, b.leaf.callId);
    }

    /// @notice Prove that a call of `operator`'s disputed epoch `epoch` pays out more than its price:
    ///         the prices of children it lists (each naming it as parent, each given once) plus the
    ///         protocol fee on its price (`price × callFeeBps / 10,000`, rounded down, the fee its call
    ///         root was posted under) exceed the price. Resolves the dispute as upheld.
    /// @param operator The operator.
    /// @param epoch Its disputed epoch.
    /// @param parent The call, its lists and proof.
    /// @param children Some of the calls it lists, their lists and proofs (in the same epoch).
    function proveOverBudget(address operator, uint256 epoch, ProvenCall calldata parent, ProvenCall[] calldata children) external {
        _requireDisputed(operator, epoch);
        _verify(operator, epoch, parent);
        bytes32 parentId = parent.leaf.callId;
        uint256 costs = Math.mulDiv(parent.leaf.price, _callRoots[operator][epoch].callFeeBps, BPS);
        bool overflow;
        for (uint256 i = 0; i < children.length; i++) {
            ProvenCall calldata child = children[i];
            _verify(operator, epoch, child);
            bytes32 childId = child.leaf.callId;
            if (child.leaf.parentCallId != parentId || !_contains(parent.children, childId)) revert SkillCallRootsNotAChild(parentId, childId);
            for (uint256 j = 0; j < i; j++) {
                if (children[j].leaf.callId == childId) revert SkillCallRootsChildGivenTwice(childId);
            }
            (bool ok, uint256 sum) = Math.tryAdd(costs, child.leaf.price);
            if (!ok) overflow = true;
            costs = ok ? sum : type(uint256).max;
        }
        if (!overflow && costs <= parent.leaf.price) revert SkillCallRootsWithinBudget(parentId, costs, parent.leaf.price);
        _uphold(operator, epoch, Fraud.OverBudget, parentId);
    }

    /// @notice Prove that a call of `operator`'s disputed epoch `epoch` names a parent that did not
    ///         make it: the parent's signed `children` do not list it, or its payer is not the
    ///         parent's agent. Resolves the dispute as upheld.
    /// @param operator The operator.
    /// @param epoch Its disputed epoch.
    /// @param child The call naming `parent`, its lists and proof.
    /// @param parent The call it names, its lists and proof.
    function proveForgedChild(address operator, uint256 epoch, ProvenCall calldata child, ProvenCall calldata parent) external {
        _requireDisputed(operator, epoch);
        _verify(operator, epoch, child);
        _verify(operator, epoch, parent);
        bytes32 parentId = parent.leaf.callId;
        bytes32 childId = child.leaf.callId;
        if (child.leaf.parentCallId == bytes32(0) || child.leaf.parentCallId != parentId) revert SkillCallRootsNotAChild(parentId, childId);
        if (_contains(parent.children, childId) && child.leaf.payer == parent.leaf.agent) revert SkillCallRootsChildNotForged(parentId, childId);
        _uphold(operator, epoch, Fraud.ForgedChild, childId);
    }

    /// @notice Prove that `operator` counted one call twice: in two epochs, or as two different
    ///         leaves of one epoch. Resolves the open dispute of the later epoch as upheld; the
    ///         earlier must not be reverted (a reverted epoch's calls are settled again, honestly).
    /// @param operator The operator.
    /// @param epochA The epoch whose call root holds `a`.
    /// @param a The call, its lists and proof.
    /// @param epochB The epoch whose call root holds `b`.
    /// @param b The same call id again, its lists and proof.
    function proveCallCountedTwice(address operator, uint256 epochA, ProvenCall calldata a, uint256 epochB, ProvenCall calldata b) external {
        uint256 disputed = _disputedOfTwo(operator, epochA, epochB);
        _verify(operator, epochA, a);
        _verify(operator, epochB, b);
        if (a.leaf.callId != b.leaf.callId) revert SkillCallRootsDifferentCalls(a.leaf.callId, b.leaf.callId);
        if (epochA == epochB && _leafHash(a.leaf) == _leafHash(b.leaf)) revert SkillCallRootsSameLeaf(epochA);
        _uphold(operator, disputed, Fraud.CallCountedTwice, a.leaf.callId);
    }

    /// @notice Prove that a call of `operator`'s disputed epoch `epoch` lists an inference another
    ///         node served: the body of a receipt the call lists (its canonical JSON, which hashes to
    ///         the listed id) names a node other than the operator. An honest operator settles its own
    ///         receipts only (its epoch's inputs name them, and a call's inferences are among them),
    ///         so such an epoch is wrong whatever else it holds. The body is read by the attribution
    ///         verifier at its predeploy address (decision 0030). Resolves the dispute as upheld.
    /// @param operator The operator.
    /// @param epoch Its disputed epoch.
    /// @param c The call, its lists and proof.
    /// @param receipt The listed receipt's body: its canonical JSON bytes.
    function proveForeignInference(address operator, uint256 epoch, ProvenCall calldata c, bytes calldata receipt) external {
        _requireDisputed(operator, epoch);
        _verify(operator, epoch, c);
        bytes32 receiptId = keccak256(receipt);
        if (!_contains(c.inferenceReceipts, receiptId)) revert SkillCallRootsReceiptNotListed(c.leaf.callId, receiptId);
        (bool readable, address node, ) = ATTRIBUTION_VERIFIER.receiptOrigin(receipt);
        if (!readable) revert SkillCallRootsUnreadableReceipt(receiptId);
        if (node == operator) revert SkillCallRootsReceiptNotForeign(receiptId, node);
        _uphold(operator, epoch, Fraud.ForeignInference, c.leaf.callId);
    }

    // -------------------------------------------------------------- governance

    /// @notice Set the protocol's fee on skill calls (governance); call roots already posted keep theirs.
    /// @param bps Basis points, at most 10,000.
    function setCallFeeBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setCallFeeBps(bps);
    }

    // ---------------------------------------------------------------- internal

    function _setCallFeeBps(uint16 bps) private {
        if (bps > MAX_CALL_FEE_BPS) revert SkillCallRootsInvalidCallFee(bps);
        callFeeBps = bps;
        emit CallFeeBpsSet(bps);
    }

    /// @dev The later of two epochs must be disputed; the earlier (if another) must not be reverted.
    function _disputedOfTwo(address operator, uint256 epochA, uint256 epochB) private view returns (uint256 later) {
        later = epochA > epochB ? epochA : epochB;
        uint256 earlier = epochA > epochB ? epochB : epochA;
        _requireDisputed(operator, later);
        if (earlier != later && settlement.getEpoch(operator, earlier).status == IAttributionSettlement.EpochStatus.Reverted) {
            revert SkillCallRootsEpochReverted(operator, earlier);
        }
    }

    function _requireDisputed(address operator, uint256 epoch) private view {
        if (settlement.getEpoch(operator, epoch).status != IAttributionSettlement.EpochStatus.Disputed) revert SkillCallRootsNoOpenDispute(operator, epoch);
    }

    /// @dev `c`'s lists hash to its leaf's and its proof shows the leaf in `operator`'s call root of `epoch`.
    function _verify(address operator, uint256 epoch, ProvenCall calldata c) private view {
        bytes32 root = _callRoots[operator][epoch].root;
        if (root == bytes32(0)) revert SkillCallRootsNoCallRoot(operator, epoch);
        if (keccak256(abi.encodePacked(c.inferenceReceipts)) != c.leaf.receiptsHash || keccak256(abi.encodePacked(c.children)) != c.leaf.childrenHash) {
            revert SkillCallRootsListsMismatch(c.leaf.callId);
        }
        if (!MerkleProof.verifyCalldata(c.proof, root, _leafHash(c.leaf))) revert SkillCallRootsInvalidProof(operator, epoch, c.leaf.callId);
    }

    /// @dev Checks are done and nothing here changes state: the settlement reverts the epoch,
    ///      slashes the operator and returns the bond.
    function _uphold(address operator, uint256 epoch, Fraud fraud, bytes32 callId) private {
        emit FraudProven(operator, epoch, fraud, msg.sender, callId);
        settlement.resolveDispute(operator, epoch, true);
    }

    function _contains(bytes32[] calldata list, bytes32 item) private pure returns (bool) {
        for (uint256 i = 0; i < list.length; i++) {
            if (list[i] == item) return true;
        }
        return false;
    }

    function _leafHash(CallLeaf calldata leaf) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(leaf))));
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IAttributionVerifier} from "./interfaces/IAttributionVerifier.sol";

/// @title Proof of Attribution checks on chain: signed receipts and epoch earnings leaves
/// @notice A stateless verifier installed at a fixed predeploy address (decision 0030), so that
///         the dispute path — a watchtower's audit through `eth_call`, and fraud proofs such as
///         SkillCallRoots' — checks receipts and leaves by one public code instead of each
///         verifier's own.
///
///         Receipts: a node signs every inference's receipt as EIP-191 over its id, the keccak256
///         of the receipt body's canonical JSON (RFC 8785, src/attribution/receipts.ts). This
///         contract takes the body's bytes, never an id or a digest: it hashes them itself, so a
///         signature counts only for the body it was made over. From the body it reads the two
///         fields that bind a receipt to a signer and a chain — `node` and `chainId` — and a
///         receipt is the operator's only if it names the operator, names this chain, and the
///         operator signed it (ECDSA for an account without code, ERC-1271 for a contract, via
///         OpenZeppelin's SignatureChecker).
///
///         Leaves: an epoch's root is an OpenZeppelin merkle-tree "standard" tree of
///         (address payee, uint256 cumulative) (src/settlement/epoch-tree.ts,
///         AttributionSettlement). Leaves are hashed here from their fields, so a caller cannot
///         pass an inner node as a leaf.
///
///         What it cannot check: whether a receipt's attribution is right (that is a
///         recomputation from the model and its trace, off chain), and whether a root pays what
///         the epoch's receipts say (the split of every receipt of the epoch, off chain).
/// @dev No storage, no constructor, no immutables: its runtime code is set directly at the
///      predeploy address (anvil_setCode on a development chain, the genesis on a network).
contract AttributionVerifier is IAttributionVerifier {
    /// @notice A receipt as the node serves it: its body's canonical JSON bytes and the node's signature.
    struct SignedReceipt {
        bytes body;
        bytes signature;
    }

    /// @notice A leaf of an epoch's earnings tree.
    struct Earnings {
        address payee;
        uint256 cumulative;
    }

    /// @dev Top-level keys of a receipt body in canonical JSON: keys are sorted, and only `call`
    ///      sorts before `chainId`, so `chainId` is the first or (after `call`) the second key.
    bytes11 private constant CHAIN_ID_FIRST = '{"chainId":';
    bytes9 private constant CALL_FIRST = '{"call":"';
    bytes12 private constant CHAIN_ID_AFTER_CALL = '","chainId":';
    /// @dev `,"node":"0x` — an unescaped quote after a comma opens a key, and only the body's top
    ///      level has a key `node`.
    bytes32 private constant NODE_KEY = bytes32(bytes11(',"node":"0x'));
    bytes32 private constant NODE_KEY_MASK = bytes32(type(uint256).max << 168);
    /// @dev The most digits a chain id is read with (uint64 has 20).
    uint256 private constant MAX_CHAIN_ID_DIGITS = 20;

    // ---------------------------------------------------------------- receipts

    /// @notice A receipt's id: keccak256 of its body's canonical JSON bytes.
    /// @param body The body's bytes.
    /// @return The id.
    function receiptId(bytes calldata body) public pure returns (bytes32) {
        return keccak256(body);
    }

    /// @notice What the node signs for a receipt: the EIP-191 message hash of its id.
    /// @param body The body's bytes.
    /// @return The digest.
    function receiptDigest(bytes calldata body) public pure returns (bytes32) {
        return MessageHashUtils.toEthSignedMessageHash(keccak256(body));
    }

    /// @inheritdoc IAttributionVerifier
    function receiptOrigin(bytes calldata body) public pure override returns (bool readable, address node, uint256 chainId) {
        bool hasChain;
        bool hasNode;
        (hasChain, chainId) = _chainIdOf(body);
        (hasNode, node) = _nodeOf(body);
        readable = hasChain && hasNode;
    }

    /// @notice Whether `receipt` is `signer`'s on this chain: its body names `signer` and this
    ///         chain, and `signer` signed its id.
    /// @param signer The expected signer (an epoch's operator).
    /// @param receipt The receipt.
    /// @return True when all three hold.
    function isReceiptOf(address signer, SignedReceipt calldata receipt) public view returns (bool) {
        (bool readable, address node, uint256 chainId) = receiptOrigin(receipt.body);
        if (!readable || node != signer || chainId != block.chainid) return false;
        return SignatureChecker.isValidSignatureNowCalldata(signer, receiptDigest(receipt.body), receipt.signature);
    }

    /// @notice {isReceiptOf} for a batch of receipts.
    /// @param signer The expected signer.
    /// @param receipts The receipts.
    /// @return ids Each receipt's id.
    /// @return signed Whether each is `signer`'s on this chain.
    function checkReceipts(address signer, SignedReceipt[] calldata receipts) external view returns (bytes32[] memory ids, bool[] memory signed) {
        ids = new bytes32[](receipts.length);
        signed = new bool[](receipts.length);
        for (uint256 i = 0; i < receipts.length; i++) {
            ids[i] = keccak256(receipts[i].body);
            signed[i] = isReceiptOf(signer, receipts[i]);
        }
    }

    // ------------------------------------------------------------------ leaves

    /// @notice The standard leaf of (payee, cumulative): keccak256(keccak256(abi.encode(...))).
    /// @param leaf The leaf's fields.
    /// @return Its hash.
    function earningsLeaf(Earnings calldata leaf) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(leaf.payee, leaf.cumulative))));
    }

    /// @notice Whether `leaf` is in the earnings tree of `root`.
    /// @param root An epoch's root.
    /// @param leaf The leaf.
    /// @param proof Its proof (StandardMerkleTree.getProof).
    /// @return True when the proof shows it.
    function verifyEarnings(bytes32 root, Earnings calldata leaf, bytes32[] calldata proof) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, earningsLeaf(leaf));
    }

    /// @notice Whether all `leaves` are in the earnings tree of `root`, by one multiproof.
    /// @param root An epoch's root.
    /// @param leaves The leaves, in the order of StandardMerkleTree.getMultiProof's `leaves`.
    /// @param proof The multiproof's `proof`.
    /// @param proofFlags The multiproof's `proofFlags`.
    /// @return False for no leaves or a proof of the wrong shape; otherwise whether it shows them.
    function verifyEarningsBatch(bytes32 root, Earnings[] calldata leaves, bytes32[] calldata proof, bool[] calldata proofFlags)
        external
        pure
        returns (bool)
    {
        // an empty set "proves" proof[0]; a mis-sized proof is refused rather than reverted on
        if (leaves.length == 0 || leaves.length + proof.length != proofFlags.length + 1) return false;
        bytes32[] memory hashes = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            hashes[i] = earningsLeaf(leaves[i]);
        }
        return MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, hashes);
    }

    // ---------------------------------------------------------------- internal

    /// @dev The decimal `chainId` at the start of a canonical receipt body.
    function _chainIdOf(bytes calldata b) private pure returns (bool, uint256) {
        uint256 i;
        if (b.length > 11 && bytes11(b[0:11]) == CHAIN_ID_FIRST) {
            i = 11;
        } else if (b.length > 9 && bytes9(b[0:9]) == CALL_FIRST) {
            // the call id is a hex string: no quote or escape inside
            uint256 j = 9;
            while (j < b.length && b[j] != '"') {
                if (b[j] == "\\") return (false, 0);
                j++;
            }
            if (b.length < j + 12 || bytes12(b[j:j + 12]) != CHAIN_ID_AFTER_CALL) return (false, 0);
            i = j + 12;
        } else {
            return (false, 0);
        }
        uint256 start = i;
        uint256 value;
        while (i < b.length && i - start < MAX_CHAIN_ID_DIGITS && b[i] >= "0" && b[i] <= "9") {
            value = value * 10 + (uint8(b[i]) - 48);
            i++;
        }
        // canonical numbers: at least one digit, no leading zero, then the next key
        if (i == start || i >= b.length || b[i] != "," || (b[start] == "0" && i - start > 1)) return (false, 0);
        return (true, value);
    }

    /// @dev The `node` address of a receipt body, searched from the end (it is among the last keys).
    function _nodeOf(bytes calldata b) private pure returns (bool, address) {
        // `,"node":"0x` (11 bytes), 40 hex digits, then the closing quote
        if (b.length < 52) return (false, address(0));
        uint256 i = b.length - 52;
        bool found;
        bytes32 key = NODE_KEY;
        bytes32 mask = NODE_KEY_MASK;
        assembly ("memory-safe") {
            // backwards, one byte at a time: the 11 bytes at `i` against the key
            for {} 1 { i := sub(i, 1) } {
                if eq(and(calldataload(add(b.offset, i)), mask), key) {
                    found := 1
                    break
                }
                if iszero(i) { break }
            }
        }
        if (!found) return (false, address(0));
        if (b[i + 51] != '"') return (false, address(0));
        uint160 value;
        for (uint256 k = i + 11; k < i + 51; k++) {
            uint8 c = uint8(b[k]);
            uint8 digit;
            if (c >= 48 && c <= 57) digit = c - 48;
            else if (c >= 97 && c <= 102) digit = c - 87;
            else if (c >= 65 && c <= 70) digit = c - 55;
            else return (false, address(0));
            value = (value << 4) | digit;
        }
        return (true, address(value));
    }
}

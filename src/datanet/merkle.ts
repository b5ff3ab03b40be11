import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import type { Hex } from 'viem';

/**
 * The Merkle tree of a set of contribution ids, with OpenZeppelin's standard leaves of one
 * `bytes32` — what DatanetRegistry.verifyContribution and verifySnapshotMember check. Leaves are
 * sorted by the library, so the same set always gives the same root.
 *
 * @example
 * const tree = contributionTree(ids);
 * const proof = tree.getProof([ids[0]]);
 */
export function contributionTree(ids: readonly Hex[]): StandardMerkleTree<[Hex]> {
  if (ids.length === 0) throw new Error('a tree needs at least one contribution');
  return StandardMerkleTree.of(
    ids.map((id) => [id] as [Hex]),
    ['bytes32'],
  );
}

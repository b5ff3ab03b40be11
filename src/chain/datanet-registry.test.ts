import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import {
  encodeAbiParameters,
  getAddress,
  keccak256,
  parseEventLogs,
  toHex,
  zeroAddress,
  zeroHash,
  type Address,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import { callJsonRpc } from './json-rpc.ts';
import { datanetRegistryAbi, stakingAbi } from './generated/index.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

let t: TestProtocol;
const addr = (i: number): Address => t.accounts[i]!.address;
/** A contributor position's amounts and release time (its per-slash cap is tested on its own). */
const held = ({ bonded, unbonding, releaseAt }: { bonded: bigint; unbonding: bigint; releaseAt: bigint }) => ({ bonded, unbonding, releaseAt });
/** Staking's role of a contributor stake; its scope is the datanet's id. */
const CONTRIBUTOR_ROLE = 2;
const OPERATOR_ROLE = 0;
const SLASHER_ROLE = keccak256(toHex('SLASHER_ROLE'));
const OWNER = 1;
const CURATOR = 2;
const OUTSIDER = 3;
const CONTRIBUTOR = 4;
const STAKE = 100n;
/** keccak256 of a batch's DA payload, as anchored (its content does not matter to the registry). */
const DATA_HASH = keccak256(toHex('a batch DA payload'));

async function blockTime(receipt: TransactionReceipt): Promise<bigint> {
  const { publicClient } = await t.clients(0);
  return (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
}

const events = <N extends 'DatanetCreated' | 'CuratorSet' | 'BatchAnchored' | 'SnapshotRecorded' | 'ContributorSlashed' | 'DatanetOwnershipTransferred' | 'DatanetUpdated'>(
  receipt: TransactionReceipt,
  eventName: N,
) => parseEventLogs({ abi: datanetRegistryAbi, logs: receipt.logs, eventName });
const stakingEvents = <N extends 'Staked' | 'UnbondRequested' | 'UnbondCancelled' | 'Withdrawn' | 'Slashed'>(receipt: TransactionReceipt, eventName: N) =>
  parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName });

/**
 * A contributor's evidence for `contentHash` (among `others` it sent with it): its EIP-712
 * signature of Contributions(datanetId, root) over the tree of the hashes, and the hash's proof.
 */
async function evidence(who: number, datanetId: bigint, contentHash: Hex, others: Hex[] = []): Promise<[Hex, Hex[], Hex]> {
  const tree = StandardMerkleTree.of([contentHash, ...others].map((h) => [h]), ['bytes32']);
  const signature = await t.accounts[who]!.signTypedData({
    domain: { name: 'OpenLedger DatanetRegistry', version: '1', chainId: 31337, verifyingContract: t.addresses.datanetRegistry },
    types: { Contributions: [{ name: 'datanetId', type: 'uint256' }, { name: 'root', type: 'bytes32' }] },
    primaryType: 'Contributions',
    message: { datanetId, root: tree.root as Hex },
  });
  return [tree.root as Hex, tree.getProof([contentHash]) as Hex[], signature];
}

const balance = async (a: Address) => (await t.as(0)).openToken.read.balanceOf([a]);
const reg = async (i: number) => (await t.as(i)).datanetRegistry;
const stk = async (i: number) => (await t.as(i)).staking;
/** Account `who`'s Contributor position in datanet `id`. */
const positionIn = async (id: bigint, who: number) => (await stk(0)).read.positionOf([addr(who), CONTRIBUTOR_ROLE, id]);
const hashOf = (s: string): Hex => keccak256(toHex(s));
const idOf = (contentHash: Hex, contributor: Address): Hex =>
  keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'address' }], [contentHash, contributor]));

/** Creates a datanet owned by OWNER with CURATOR as curator; returns its id. */
async function createDatanet(stake = STAKE, curators: Address[] = [addr(CURATOR)]): Promise<bigint> {
  const r = await reg(OWNER);
  const receipt = await t.mined(r.write.createDatanet(['blob://meta', 'CC-BY-4.0', stake, curators]));
  const [ev] = events(receipt, 'DatanetCreated');
  assert.ok(ev);
  return ev.args.datanetId;
}

/** Gives account `i` `amount` OPEN and lets Staking (where contributors bond) pull it. */
async function fund(i: number, amount: bigint): Promise<void> {
  await t.mined((await t.as(0)).openToken.write.transfer([addr(i), amount]));
  const p = await t.as(i);
  const allowance = await p.openToken.read.allowance([addr(i), t.addresses.staking]);
  await t.mined(p.openToken.write.approve([t.addresses.staking, allowance + amount]));
}

function treeOf(ids: Hex[]) {
  return StandardMerkleTree.of(
    ids.map((id) => [id]),
    ['bytes32'],
  );
}
const proofOf = (tree: ReturnType<typeof treeOf>, i: number) => tree.getProof(i) as Hex[];

let fresh: () => Promise<void>;
before(async () => {
  t = await startTestProtocol();
  fresh = await t.checkpoint();
});
after(() => t.stop());


describe('DatanetRegistry: datanets', () => {
  test('createDatanet numbers datanets from 1, records them and their curators, and emits events', async () => {
    await fresh();
    const r = await reg(OWNER);
    assert.equal(await r.read.datanetCount(), 0n);
    const receipt = await t.mined(r.write.createDatanet(['blob://meta', 'CC-BY-4.0', STAKE, [addr(CURATOR), addr(5)]]));
    const [created] = events(receipt, 'DatanetCreated');
    assert.deepEqual(created?.args, {
      datanetId: 1n,
      owner: addr(OWNER),
      metadataURI: 'blob://meta',
      licence: 'CC-BY-4.0',
      contributionStake: STAKE,
    });
    assert.deepEqual(
      events(receipt, 'CuratorSet').map((e) => e.args),
      [
        { datanetId: 1n, curator: addr(CURATOR), enabled: true },
        { datanetId: 1n, curator: addr(5), enabled: true },
      ],
    );
    assert.deepEqual(await r.read.getDatanet([1n]), {
      owner: addr(OWNER),
      contributionStake: STAKE,
      metadataURI: 'blob://meta',
      licence: 'CC-BY-4.0',
      createdAt: await blockTime(receipt),
      batchCount: 0,
      snapshotCount: 0,
    });
    assert.equal(await r.read.isCurator([1n, addr(CURATOR)]), true);
    assert.equal(await r.read.isCurator([1n, addr(5)]), true);
    assert.equal(await r.read.isCurator([1n, addr(OWNER)]), false, 'the owner is not listed as a curator');
    assert.equal(await r.read.isCurator([1n, addr(OUTSIDER)]), false);

    // Anyone can create one; ids keep counting.
    const other = await t.mined((await reg(OUTSIDER)).write.createDatanet(['', '', 0n, []]));
    assert.equal(events(other, 'DatanetCreated')[0]?.args.datanetId, 2n);
    assert.equal(await r.read.datanetCount(), 2n);
    assert.equal((await r.read.getDatanet([2n])).owner, addr(OUTSIDER));
    assert.equal(await r.read.isCurator([2n, addr(CURATOR)]), false, 'curators are per datanet');

    await expectRevert(r.write.createDatanet(['m', 'l', 0n, [addr(CURATOR), zeroAddress]]), 'DatanetRegistryInvalidCurator', [zeroAddress]);
    assert.equal(await r.read.datanetCount(), 2n);
  });

  test('unknown datanets are refused with DatanetRegistryUnknownDatanet, also when staking in one', async () => {
    await fresh();
    const id = await createDatanet();
    const r = await reg(OWNER);
    for (const bad of [0n, id + 1n]) {
      await expectRevert(r.read.getDatanet([bad]), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert(r.read.canContribute([bad, addr(CONTRIBUTOR)]), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert(r.write.updateDatanet([bad, 'm', 'l', 0n]), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert(r.write.setCurator([bad, addr(CURATOR), true]), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert(r.write.transferDatanetOwnership([bad, addr(CURATOR)]), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert(r.write.anchorBatch([bad, hashOf('root'), 1n, '', DATA_HASH]), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert(r.write.recordSnapshot([bad, hashOf('root'), 1n, '']), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert(r.write.slashContributor([bad, addr(CONTRIBUTOR), hashOf('x'), hashOf('root'), [], '0x']), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, bad, 1n]), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert(r.read.slashableStake([bad, addr(CONTRIBUTOR)]), 'DatanetRegistryUnknownDatanet', [bad]);
      await expectRevert(r.read.contributionStakeOf([bad]), 'DatanetRegistryUnknownDatanet', [bad]);
    }
  });

  test('updateDatanet, setCurator and transferDatanetOwnership are owner-only (DatanetRegistryNotOwner)', async () => {
    await fresh();
    const id = await createDatanet();
    for (const i of [CURATOR, OUTSIDER]) {
      const r = await reg(i);
      await expectRevert(r.write.updateDatanet([id, 'm', 'l', 1n]), 'DatanetRegistryNotOwner', [id, addr(i)]);
      await expectRevert(r.write.setCurator([id, addr(i), true]), 'DatanetRegistryNotOwner', [id, addr(i)]);
      await expectRevert(r.write.transferDatanetOwnership([id, addr(i)]), 'DatanetRegistryNotOwner', [id, addr(i)]);
    }

    const owner = await reg(OWNER);
    const updated = await t.mined(owner.write.updateDatanet([id, 'blob://meta2', 'MIT', 7n]));
    assert.deepEqual(events(updated, 'DatanetUpdated')[0]?.args, { datanetId: id, metadataURI: 'blob://meta2', licence: 'MIT', contributionStake: 7n });
    const d = await owner.read.getDatanet([id]);
    assert.equal(d.metadataURI, 'blob://meta2');
    assert.equal(d.licence, 'MIT');
    assert.equal(d.contributionStake, 7n);
    assert.equal(d.owner, addr(OWNER));

    await expectRevert(owner.write.setCurator([id, zeroAddress, true]), 'DatanetRegistryInvalidCurator', [zeroAddress]);
    const added = await t.mined(owner.write.setCurator([id, addr(OUTSIDER), true]));
    assert.deepEqual(events(added, 'CuratorSet')[0]?.args, { datanetId: id, curator: addr(OUTSIDER), enabled: true });
    assert.equal(await owner.read.isCurator([id, addr(OUTSIDER)]), true);
    await t.mined(owner.write.setCurator([id, addr(CURATOR), false]));
    assert.equal(await owner.read.isCurator([id, addr(CURATOR)]), false);
    await expectRevert((await reg(CURATOR)).write.anchorBatch([id, hashOf('b'), 1n, '', DATA_HASH]), 'DatanetRegistryNotCurator', [id, addr(CURATOR)]);

    await expectRevert(owner.write.transferDatanetOwnership([id, zeroAddress]), 'DatanetRegistryInvalidOwner', [zeroAddress]);
    const moved = await t.mined(owner.write.transferDatanetOwnership([id, addr(5)]));
    assert.deepEqual(events(moved, 'DatanetOwnershipTransferred')[0]?.args, { datanetId: id, previousOwner: addr(OWNER), newOwner: addr(5) });
    assert.equal((await owner.read.getDatanet([id])).owner, addr(5));
    // The previous owner lost every owner right, including anchoring; the new owner has them.
    await expectRevert(owner.write.updateDatanet([id, 'm', 'l', 1n]), 'DatanetRegistryNotOwner', [id, addr(OWNER)]);
    await expectRevert(owner.write.anchorBatch([id, hashOf('b'), 1n, '', DATA_HASH]), 'DatanetRegistryNotCurator', [id, addr(OWNER)]);
    await t.mined((await reg(5)).write.setCurator([id, addr(6), true]));
    await t.mined((await reg(5)).write.anchorBatch([id, hashOf('b'), 1n, '', DATA_HASH]));
    // Curators survive the transfer.
    await t.mined((await reg(OUTSIDER)).write.anchorBatch([id, hashOf('c'), 1n, '', DATA_HASH]));
  });
});

describe('DatanetRegistry: batches', () => {
  test('anchorBatch by the owner or a curator only; indexes count per datanet; events and records', async () => {
    await fresh();
    const id = await createDatanet();
    const other = await createDatanet(0n, []);
    await expectRevert((await reg(OUTSIDER)).write.anchorBatch([id, hashOf('a'), 3n, 'u', DATA_HASH]), 'DatanetRegistryNotCurator', [id, addr(OUTSIDER)]);
    await expectRevert((await reg(CURATOR)).write.anchorBatch([other, hashOf('a'), 3n, 'u', DATA_HASH]), 'DatanetRegistryNotCurator', [other, addr(CURATOR)]);

    const byOwner = await t.mined((await reg(OWNER)).write.anchorBatch([id, hashOf('a'), 3n, 'blob://a', DATA_HASH]));
    assert.deepEqual(events(byOwner, 'BatchAnchored')[0]?.args, { datanetId: id, batchIndex: 0n, root: hashOf('a'), count: 3n, uri: 'blob://a', dataHash: DATA_HASH });
    const byCurator = await t.mined((await reg(CURATOR)).write.anchorBatch([id, hashOf('b'), 5n, 'blob://b', DATA_HASH]));
    assert.equal(events(byCurator, 'BatchAnchored')[0]?.args.batchIndex, 1n);

    const r = await reg(OUTSIDER);
    assert.deepEqual(await r.read.getBatch([id, 0n]), { root: hashOf('a'), count: 3n, recordedAt: await blockTime(byOwner), uri: 'blob://a' });
    assert.deepEqual(await r.read.getBatch([id, 1n]), { root: hashOf('b'), count: 5n, recordedAt: await blockTime(byCurator), uri: 'blob://b' });
    assert.deepEqual(await r.read.getBatch([id, 2n]), { root: zeroHash, count: 0n, recordedAt: 0n, uri: '' });
    assert.equal((await r.read.getDatanet([id])).batchCount, 2);
    // The DA commitment, its submitter (the account that anchored) and the block it counts from.
    assert.deepEqual(await r.read.batchDataOf([id, 0n]), [DATA_HASH, addr(OWNER), byOwner.blockNumber]);
    assert.deepEqual(await r.read.batchDataOf([id, 1n]), [DATA_HASH, addr(CURATOR), byCurator.blockNumber]);
    assert.deepEqual(await r.read.batchDataOf([id, 2n]), [zeroHash, zeroAddress, 0n]);

    // The same root in another datanet is a different anchoring.
    const elsewhere = await t.mined((await reg(OWNER)).write.anchorBatch([other, hashOf('a'), 3n, '', DATA_HASH]));
    assert.equal(events(elsewhere, 'BatchAnchored')[0]?.args.batchIndex, 0n);
  });

  test('DatanetRegistryEmptyRoot, DatanetRegistryEmptyBatch, DatanetRegistryEmptyDataHash and DatanetRegistryRootAlreadyAnchored', async () => {
    await fresh();
    const id = await createDatanet();
    const r = await reg(CURATOR);
    await expectRevert(r.write.anchorBatch([id, zeroHash, 1n, '', DATA_HASH]), 'DatanetRegistryEmptyRoot', [id]);
    await expectRevert(r.write.anchorBatch([id, hashOf('a'), 0n, '', DATA_HASH]), 'DatanetRegistryEmptyBatch', [id, hashOf('a')]);
    await expectRevert(r.write.anchorBatch([id, hashOf('a'), 1n, '', zeroHash]), 'DatanetRegistryEmptyDataHash', [id, hashOf('a')]);
    await t.mined(r.write.anchorBatch([id, hashOf('a'), 1n, '', DATA_HASH]));
    await expectRevert(r.write.anchorBatch([id, hashOf('a'), 2n, 'other', DATA_HASH]), 'DatanetRegistryRootAlreadyAnchored', [id, hashOf('a')]);
    await expectRevert((await reg(OWNER)).write.anchorBatch([id, hashOf('a'), 1n, '', DATA_HASH]), 'DatanetRegistryRootAlreadyAnchored', [id, hashOf('a')]);
    assert.equal((await r.read.getDatanet([id])).batchCount, 1);
  });

  test('verifyContribution accepts proofs from StandardMerkleTree and nothing else', async () => {
    await fresh();
    const id = await createDatanet();
    const ids = Array.from({ length: 7 }, (_, i) => idOf(hashOf(`record ${i}`), addr(CONTRIBUTOR + (i % 3))));
    const tree = treeOf(ids);
    const r = await reg(CURATOR);
    await t.mined(r.write.anchorBatch([id, tree.root as Hex, BigInt(ids.length), 'blob://batch0', DATA_HASH]));
    const single = treeOf([ids[0]!]);
    await t.mined(r.write.anchorBatch([id, single.root as Hex, 1n, 'blob://batch1', DATA_HASH]));

    for (let i = 0; i < ids.length; i++) {
      assert.equal(await r.read.verifyContribution([id, 0n, ids[i]!, proofOf(tree, i)]), true, `id ${i}`);
    }
    // A one-leaf tree: empty proof.
    assert.deepEqual(proofOf(single, 0), []);
    assert.equal(await r.read.verifyContribution([id, 1n, ids[0]!, []]), true);

    const stranger = idOf(hashOf('not in the batch'), addr(CONTRIBUTOR));
    assert.equal(await r.read.verifyContribution([id, 0n, stranger, proofOf(tree, 0)]), false, 'wrong id');
    assert.equal(await r.read.verifyContribution([id, 0n, ids[1]!, proofOf(tree, 0)]), false, "another leaf's proof");
    assert.equal(await r.read.verifyContribution([id, 1n, ids[1]!, proofOf(tree, 1)]), false, 'wrong batch');
    assert.equal(await r.read.verifyContribution([id, 2n, ids[0]!, proofOf(tree, 0)]), false, 'no such batch');
    assert.equal(await r.read.verifyContribution([id + 1n, 0n, ids[0]!, proofOf(tree, 0)]), false, 'no such datanet');
    // The root itself, or the raw (single-hashed) leaf, is not a member.
    assert.equal(await r.read.verifyContribution([id, 0n, tree.root as Hex, []]), false);
    assert.equal(await r.read.verifyContribution([id, 1n, single.root as Hex, []]), false);
    // A truncated proof fails.
    assert.equal(await r.read.verifyContribution([id, 0n, ids[0]!, proofOf(tree, 0).slice(1)]), false);
    // Never true for a zero root, even with a zero id and an empty proof.
    assert.equal(await r.read.verifyContribution([id, 9n, zeroHash, []]), false);
  });
});

describe('DatanetRegistry: snapshots', () => {
  test('recordSnapshot (owner or curator), verifySnapshotMember; roots namespaced per datanet', async () => {
    await fresh();
    const id = await createDatanet();
    const other = await createDatanet(0n, [addr(CURATOR)]);
    const ids = Array.from({ length: 5 }, (_, i) => idOf(hashOf(`snap ${i}`), addr(CONTRIBUTOR)));
    const tree = treeOf(ids);
    const root = tree.root as Hex;
    const r = await reg(CURATOR);
    assert.equal(await r.read.isSnapshotOf([id, root]), false);
    assert.equal(await r.read.snapshotRecordings([root]), 0n);

    await expectRevert((await reg(OUTSIDER)).write.recordSnapshot([id, root, 5n, '']), 'DatanetRegistryNotCurator', [id, addr(OUTSIDER)]);
    await expectRevert(r.write.recordSnapshot([id, zeroHash, 5n, '']), 'DatanetRegistryEmptyRoot', [id]);
    await expectRevert(r.write.recordSnapshot([id, root, 0n, '']), 'DatanetRegistryEmptyBatch', [id, root]);

    const receipt = await t.mined(r.write.recordSnapshot([id, root, 5n, 'blob://snap0']));
    assert.deepEqual(events(receipt, 'SnapshotRecorded')[0]?.args, { datanetId: id, snapshotIndex: 0n, root, count: 5n, uri: 'blob://snap0' });
    assert.equal(await r.read.isSnapshotOf([id, root]), true);
    assert.equal(await r.read.snapshotRecordings([root]), 1n);
    assert.deepEqual(await r.read.getSnapshot([id, 0n]), { root, count: 5n, recordedAt: await blockTime(receipt), uri: 'blob://snap0' });
    assert.equal((await r.read.getDatanet([id])).snapshotCount, 1);

    for (let i = 0; i < ids.length; i++) {
      assert.equal(await r.read.verifySnapshotMember([id, 0n, ids[i]!, proofOf(tree, i)]), true);
    }
    assert.equal(await r.read.verifySnapshotMember([id, 0n, hashOf('nope'), proofOf(tree, 0)]), false);
    assert.equal(await r.read.verifySnapshotMember([id, 1n, ids[0]!, proofOf(tree, 0)]), false);
    // Snapshots and batches are separate: a snapshot proof is not a batch proof.
    assert.equal(await r.read.verifyContribution([id, 0n, ids[0]!, proofOf(tree, 0)]), false);

    // A root is recorded once per datanet: not again here.
    await expectRevert((await reg(OWNER)).write.recordSnapshot([id, root, 5n, '']), 'DatanetRegistrySnapshotAlreadyRecorded', [id, root]);

    // The owner records the next one; indexes increase.
    const next = treeOf([...ids, idOf(hashOf('snap 5'), addr(CONTRIBUTOR))]);
    const second = await t.mined((await reg(OWNER)).write.recordSnapshot([id, next.root as Hex, 6n, 'blob://snap1']));
    assert.equal(events(second, 'SnapshotRecorded')[0]?.args.snapshotIndex, 1n);
    assert.equal(await r.read.verifySnapshotMember([id, 1n, ids[0]!, proofOf(next, 0)]), true);
    // An anchored batch root may also become a snapshot root (separate namespaces).
    await t.mined(r.write.anchorBatch([other, hashOf('batch'), 1n, '', DATA_HASH]));
    await t.mined(r.write.recordSnapshot([other, hashOf('batch'), 1n, '']));
    assert.equal(await r.read.isSnapshotOf([other, hashOf('batch')]), true);
  });

  test("a root recorded first under another datanet (front-running) does not block this datanet's snapshot", async () => {
    await fresh();
    const honest = await createDatanet();
    // the attacker owns a datanet of its own and copies the root it sees in the mempool
    const attackerDatanet = await createDatanet(0n, [addr(OUTSIDER)]);
    const root = treeOf([idOf(hashOf('front-run'), addr(CONTRIBUTOR))]).root as Hex;
    await t.mined((await reg(OUTSIDER)).write.recordSnapshot([attackerDatanet, root, 1n, '']));
    await t.mined((await reg(CURATOR)).write.recordSnapshot([honest, root, 1n, 'blob://honest']));
    const r = await reg(CURATOR);
    assert.equal(await r.read.isSnapshotOf([honest, root]), true);
    assert.equal(await r.read.snapshotRecordings([root]), 2n);
    assert.equal((await r.read.getSnapshot([honest, 0n])).uri, 'blob://honest');
  });

  test('contributionId is keccak256(abi.encode(contentHash, contributor))', async () => {
    await fresh();
    const r = await reg(OUTSIDER);
    for (const [content, who] of [
      ['hello', CONTRIBUTOR],
      ['hello', OUTSIDER],
      ['', 0],
    ] as const) {
      const contentHash = hashOf(content);
      assert.equal(await r.read.contributionId([contentHash, addr(who)]), idOf(contentHash, addr(who)));
    }
    assert.equal(await r.read.contributionId([zeroHash, zeroAddress]), idOf(zeroHash, zeroAddress));
    assert.notEqual(idOf(hashOf('hello'), addr(CONTRIBUTOR)), idOf(hashOf('hello'), addr(OUTSIDER)));
  });
});

/**
 * Calls Staking's `slash` from the DatanetRegistry's own address (anvil impersonation): what the
 * registry could do if its checks had a bug, to test what Staking enforces on its own.
 */
async function slashAsRegistry(args: readonly [Address, number, bigint, bigint, Hex]): Promise<Hex> {
  const registry = t.addresses.datanetRegistry;
  await callJsonRpc(t.anvil.url, 'anvil_impersonateAccount', [registry]);
  await callJsonRpc(t.anvil.url, 'anvil_setBalance', [registry, toHex(10n ** 18n)]);
  try {
    const { publicClient, walletClient } = await t.clients(0);
    const call = { account: registry, address: t.addresses.staking, abi: stakingAbi, functionName: 'slash', args } as const;
    await publicClient.simulateContract(call); // a refused slash rejects here, with Staking's error
    return await walletClient.writeContract({ ...call, chain: walletClient.chain });
  } finally {
    await callJsonRpc(t.anvil.url, 'anvil_stopImpersonatingAccount', [registry]);
  }
}

describe('Staking: contributor stakes (role Contributor, scope = the datanet)', () => {
  test('stake bonds OPEN in a datanet; canContribute compares the bonded stake with the contribution stake', async () => {
    await fresh();
    const id = await createDatanet();
    const free = await createDatanet(0n, []);
    await fund(CONTRIBUTOR, 1000n);
    const c = await stk(CONTRIBUTOR);
    const r = await reg(CONTRIBUTOR);
    assert.equal(await r.read.canContribute([id, addr(CONTRIBUTOR)]), false);
    assert.equal(await r.read.canContribute([free, addr(CONTRIBUTOR)]), true, 'no stake needed where it is 0');

    await expectRevert(c.write.stake([CONTRIBUTOR_ROLE, id, 0n]), 'StakingZeroAmount');
    await expectRevert(c.write.stake([CONTRIBUTOR_ROLE, 0n, 1n]), 'DatanetRegistryUnknownDatanet', [0n]);
    const receipt = await t.mined(c.write.stake([CONTRIBUTOR_ROLE, id, STAKE - 1n]));
    assert.deepEqual(stakingEvents(receipt, 'Staked')[0]?.args, { staker: addr(CONTRIBUTOR), role: CONTRIBUTOR_ROLE, scope: id, amount: STAKE - 1n });
    assert.equal(await r.read.canContribute([id, addr(CONTRIBUTOR)]), false);
    await t.mined(c.write.stake([CONTRIBUTOR_ROLE, id, 1n]));
    assert.equal(await r.read.canContribute([id, addr(CONTRIBUTOR)]), true);
    assert.deepEqual(held(await positionIn(id, CONTRIBUTOR)), { bonded: STAKE, unbonding: 0n, releaseAt: 0n });
    assert.equal(await balance(t.addresses.staking), STAKE);
    assert.equal(await balance(t.addresses.datanetRegistry), 0n, 'the registry holds no OPEN');
    assert.equal(await balance(addr(CONTRIBUTOR)), 1000n - STAKE);
    assert.equal(await c.read.totalStaked([CONTRIBUTOR_ROLE]), STAKE);
    // Stakes are per datanet.
    assert.deepEqual(held(await positionIn(free, CONTRIBUTOR)), { bonded: 0n, unbonding: 0n, releaseAt: 0n });

    // Raising the datanet's stake makes the same bond insufficient.
    await t.mined((await reg(OWNER)).write.updateDatanet([id, 'm', 'l', STAKE + 1n]));
    assert.equal(await r.read.canContribute([id, addr(CONTRIBUTOR)]), false);

    // Without allowance, the token's error bubbles up.
    await expectRevert((await stk(OUTSIDER)).write.stake([CONTRIBUTOR_ROLE, id, 1n]), 'ERC20InsufficientAllowance', [getAddress(t.addresses.staking), 0n, 1n]);
  });

  test('requestUnbond, withdraw: StakingInsufficientBonded, StakingNothingToWithdraw, StakingStillUnbonding before the delay, then the withdrawal', async () => {
    await fresh();
    const id = await createDatanet();
    await fund(CONTRIBUTOR, 1000n);
    const c = await stk(CONTRIBUTOR);
    const r = await reg(CONTRIBUTOR);
    await expectRevert(c.write.requestUnbond([CONTRIBUTOR_ROLE, id, 1n]), 'StakingInsufficientBonded', [0n, 1n]);
    await expectRevert(c.write.withdraw([CONTRIBUTOR_ROLE, id]), 'StakingNothingToWithdraw', [addr(CONTRIBUTOR), CONTRIBUTOR_ROLE, id]);
    await t.mined(c.write.stake([CONTRIBUTOR_ROLE, id, 250n]));
    await expectRevert(c.write.withdraw([CONTRIBUTOR_ROLE, id]), 'StakingNothingToWithdraw', [addr(CONTRIBUTOR), CONTRIBUTOR_ROLE, id]);
    await expectRevert(c.write.requestUnbond([CONTRIBUTOR_ROLE, id, 251n]), 'StakingInsufficientBonded', [250n, 251n]);

    const request = await t.mined(c.write.requestUnbond([CONTRIBUTOR_ROLE, id, 250n]));
    const releaseAt = (await blockTime(request)) + t.params.contributorUnbondingDelay;
    assert.deepEqual(stakingEvents(request, 'UnbondRequested')[0]?.args, { staker: addr(CONTRIBUTOR), role: CONTRIBUTOR_ROLE, scope: id, amount: 250n, releaseAt });
    assert.deepEqual(held(await positionIn(id, CONTRIBUTOR)), { bonded: 0n, unbonding: 250n, releaseAt });
    assert.equal(await r.read.canContribute([id, addr(CONTRIBUTOR)]), false, 'stake asked back stops contributing');
    await expectRevert(c.write.withdraw([CONTRIBUTOR_ROLE, id]), 'StakingStillUnbonding', [releaseAt]);
    await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(releaseAt - 1n)]);
    await expectRevert(c.write.withdraw([CONTRIBUTOR_ROLE, id]), 'StakingStillUnbonding', [releaseAt]);

    await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(releaseAt)]);
    const withdrawn = await t.mined(c.write.withdraw([CONTRIBUTOR_ROLE, id]));
    assert.deepEqual(stakingEvents(withdrawn, 'Withdrawn')[0]?.args, { staker: addr(CONTRIBUTOR), role: CONTRIBUTOR_ROLE, scope: id, amount: 250n });
    assert.equal(await balance(addr(CONTRIBUTOR)), 1000n);
    assert.equal(await balance(t.addresses.staking), 0n);
    assert.deepEqual(held(await positionIn(id, CONTRIBUTOR)), { bonded: 0n, unbonding: 0n, releaseAt });
    await expectRevert(c.write.withdraw([CONTRIBUTOR_ROLE, id]), 'StakingNothingToWithdraw', [addr(CONTRIBUTOR), CONTRIBUTOR_ROLE, id]);
  });

  test('staking again does not cancel a pending unbond; cancelUnbond does', async () => {
    await fresh();
    const id = await createDatanet();
    await fund(CONTRIBUTOR, 1000n);
    const c = await stk(CONTRIBUTOR);
    const r = await reg(CONTRIBUTOR);
    await expectRevert(c.write.cancelUnbond([CONTRIBUTOR_ROLE, id]), 'StakingNothingUnbonding', [addr(CONTRIBUTOR), CONTRIBUTOR_ROLE, id]);
    await t.mined(c.write.stake([CONTRIBUTOR_ROLE, id, STAKE]));
    const request = await t.mined(c.write.requestUnbond([CONTRIBUTOR_ROLE, id, STAKE]));
    const releaseAt = (await blockTime(request)) + t.params.contributorUnbondingDelay;
    await t.increaseTime(t.params.contributorUnbondingDelay);
    await t.mined(c.write.stake([CONTRIBUTOR_ROLE, id, 1n]));
    assert.deepEqual(held(await positionIn(id, CONTRIBUTOR)), { bonded: 1n, unbonding: STAKE, releaseAt });
    assert.equal(await r.read.canContribute([id, addr(CONTRIBUTOR)]), false);
    const cancel = await t.mined(c.write.cancelUnbond([CONTRIBUTOR_ROLE, id]));
    assert.deepEqual(stakingEvents(cancel, 'UnbondCancelled')[0]?.args, { staker: addr(CONTRIBUTOR), role: CONTRIBUTOR_ROLE, scope: id, amount: STAKE });
    assert.deepEqual(held(await positionIn(id, CONTRIBUTOR)), { bonded: STAKE + 1n, unbonding: 0n, releaseAt: 0n });
    assert.equal(await r.read.canContribute([id, addr(CONTRIBUTOR)]), true);
    await expectRevert(c.write.withdraw([CONTRIBUTOR_ROLE, id]), 'StakingNothingToWithdraw', [addr(CONTRIBUTOR), CONTRIBUTOR_ROLE, id]);
  });

  test("nobody but the staker withdraws: a stranger has no position to withdraw, and the contributor's is untouched", async () => {
    await fresh();
    const id = await createDatanet();
    await fund(CONTRIBUTOR, 1000n);
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, id, STAKE]));
    await t.mined((await stk(CONTRIBUTOR)).write.requestUnbond([CONTRIBUTOR_ROLE, id, STAKE]));
    await t.increaseTime(t.params.contributorUnbondingDelay);
    for (const who of [OUTSIDER, OWNER, CURATOR, 0]) {
      await expectRevert((await stk(who)).write.withdraw([CONTRIBUTOR_ROLE, id]), 'StakingNothingToWithdraw', [addr(who), CONTRIBUTOR_ROLE, id]);
      await expectRevert((await stk(who)).write.cancelUnbond([CONTRIBUTOR_ROLE, id]), 'StakingNothingUnbonding', [addr(who), CONTRIBUTOR_ROLE, id]);
    }
    assert.equal((await positionIn(id, CONTRIBUTOR)).unbonding, STAKE);
    await t.mined((await stk(CONTRIBUTOR)).write.withdraw([CONTRIBUTOR_ROLE, id]));
    assert.equal(await balance(addr(CONTRIBUTOR)), 1000n);
  });

  test('an operator stake and a contributor stake of one account do not mix', async () => {
    await fresh();
    const id = await createDatanet();
    await fund(CONTRIBUTOR, 2000n);
    const c = await stk(CONTRIBUTOR);
    await t.mined(c.write.stake([OPERATOR_ROLE, 0n, 500n]));
    await t.mined(c.write.stake([CONTRIBUTOR_ROLE, id, 300n]));
    assert.deepEqual(held(await c.read.positionOf([addr(CONTRIBUTOR), OPERATOR_ROLE, 0n])), { bonded: 500n, unbonding: 0n, releaseAt: 0n });
    assert.deepEqual(held(await positionIn(id, CONTRIBUTOR)), { bonded: 300n, unbonding: 0n, releaseAt: 0n });
    assert.deepEqual(held(await c.read.positionOf([addr(CONTRIBUTOR), OPERATOR_ROLE, id])), { bonded: 0n, unbonding: 0n, releaseAt: 0n }, 'an operator stake has no datanet');
    assert.equal(await c.read.totalStaked([OPERATOR_ROLE]), 500n);
    assert.equal(await c.read.totalStaked([CONTRIBUTOR_ROLE]), 300n);
    // a contributor stake never makes an operator, nor the other way round
    await t.mined((await stk(0)).write.setMinimumStake([OPERATOR_ROLE, 600n]));
    await t.mined(c.write.stake([CONTRIBUTOR_ROLE, id, 300n]));
    assert.equal(await c.read.isActive([addr(CONTRIBUTOR), OPERATOR_ROLE]), false, '500 operator + 600 contributor is not 600 operator');
    assert.equal(await c.read.isActive([addr(CONTRIBUTOR), CONTRIBUTOR_ROLE]), false);
    await t.mined((await reg(OWNER)).write.updateDatanet([id, 'm', 'l', 700n]));
    assert.equal(await (await reg(0)).read.canContribute([id, addr(CONTRIBUTOR)]), false, 'the operator stake does not count in the datanet');

    // the settlement's slasher role slashes operators, never contributors; nobody but the registry does
    const admin = await stk(0);
    await t.mined(admin.write.grantRole([SLASHER_ROLE, addr(5)]));
    for (const who of [5, 0, OWNER, CURATOR]) {
      await expectRevert((await stk(who)).write.slash([addr(CONTRIBUTOR), CONTRIBUTOR_ROLE, id, 1n, zeroHash]), 'StakingUnauthorizedSlasher', [addr(who), CONTRIBUTOR_ROLE]);
    }
    await t.mined((await stk(5)).write.slash([addr(CONTRIBUTOR), OPERATOR_ROLE, 0n, 100n, zeroHash]));
    assert.equal((await positionIn(id, CONTRIBUTOR)).bonded, 600n, 'an operator slash leaves the contributor stake');
    // and the registry, whatever it sends, slashes contributors only, at most their per-slash cap
    await expectRevert(slashAsRegistry([addr(CONTRIBUTOR), OPERATOR_ROLE, 0n, 1n, zeroHash]), 'AccessControlUnauthorizedAccount', [getAddress(t.addresses.datanetRegistry), SLASHER_ROLE]);
    await expectRevert(slashAsRegistry([addr(CONTRIBUTOR), CONTRIBUTOR_ROLE, id, STAKE + 1n, zeroHash]), 'StakingSlashExceedsCap', [STAKE, STAKE + 1n]);
    await t.mined(slashAsRegistry([addr(CONTRIBUTOR), CONTRIBUTOR_ROLE, id, STAKE, zeroHash]));
    assert.equal((await c.read.positionOf([addr(CONTRIBUTOR), OPERATOR_ROLE, 0n])).bonded, 400n, 'a contributor slash leaves the operator stake');

    // a dispute's freeze holds the operator stake, not the contributor stake
    await t.mined(c.write.requestUnbond([OPERATOR_ROLE, 0n, 400n]));
    await t.mined(c.write.requestUnbond([CONTRIBUTOR_ROLE, id, 500n]));
    await t.mined((await stk(5)).write.freeze([addr(CONTRIBUTOR)]));
    await t.increaseTime(t.params.unbondingDelay);
    await expectRevert(c.write.withdraw([OPERATOR_ROLE, 0n]), 'StakingFrozen', [addr(CONTRIBUTOR)]);
    await t.mined(c.write.withdraw([CONTRIBUTOR_ROLE, id]));
    assert.equal(await balance(addr(CONTRIBUTOR)), 2000n - 500n - 600n + 500n);
  });
});

describe('DatanetRegistry: slashing contributors', () => {
  test('a curator slashes the contribution stake to the slash destination, once per contribution', async () => {
    await fresh();
    const id = await createDatanet();
    await fund(CONTRIBUTOR, 1000n);
    const c = await reg(CONTRIBUTOR);
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, id, 2n * STAKE + STAKE / 2n]));
    const curator = await reg(CURATOR);
    const spam = hashOf('spam 1');
    const spamId = idOf(spam, addr(CONTRIBUTOR));
    const destination = await (await stk(0)).read.slashDestination();
    assert.equal(destination, t.params.treasury);
    const before = await balance(destination);
    assert.equal(await curator.read.slashableStake([id, addr(CONTRIBUTOR)]), STAKE);

    await expectRevert((await reg(OUTSIDER)).write.slashContributor([id, addr(CONTRIBUTOR), spam, ...(await evidence(CONTRIBUTOR, id, spam))]), 'DatanetRegistryNotCurator', [id, addr(OUTSIDER)]);
    await expectRevert(c.write.slashContributor([id, addr(CONTRIBUTOR), spam, ...(await evidence(CONTRIBUTOR, id, spam))]), 'DatanetRegistryNotCurator', [id, addr(CONTRIBUTOR)]);

    const receipt = await t.mined(curator.write.slashContributor([id, addr(CONTRIBUTOR), spam, ...(await evidence(CONTRIBUTOR, id, spam))]));
    assert.deepEqual(events(receipt, 'ContributorSlashed')[0]?.args, {
      datanetId: id,
      contributor: addr(CONTRIBUTOR),
      contributionId: spamId,
      curator: addr(CURATOR),
      amount: STAKE,
    });
    assert.deepEqual(stakingEvents(receipt, 'Slashed')[0]?.args, { staker: addr(CONTRIBUTOR), role: CONTRIBUTOR_ROLE, scope: id, amount: STAKE, destination, reason: spamId });
    assert.equal(await balance(destination), before + STAKE);
    assert.deepEqual(held(await positionIn(id, CONTRIBUTOR)), { bonded: STAKE + STAKE / 2n, unbonding: 0n, releaseAt: 0n });

    await expectRevert(curator.write.slashContributor([id, addr(CONTRIBUTOR), spam, ...(await evidence(CONTRIBUTOR, id, spam))]), 'DatanetRegistryAlreadySlashed', [id, spamId]);
    await expectRevert((await reg(OWNER)).write.slashContributor([id, addr(CONTRIBUTOR), spam, ...(await evidence(CONTRIBUTOR, id, spam))]), 'DatanetRegistryAlreadySlashed', [id, spamId]);

    // The owner can slash too; another contribution takes another contribution stake.
    await t.mined((await reg(OWNER)).write.slashContributor([id, addr(CONTRIBUTOR), hashOf('spam 2'), ...(await evidence(CONTRIBUTOR, id, hashOf('spam 2')))]));
    assert.deepEqual(held(await positionIn(id, CONTRIBUTOR)), { bonded: STAKE / 2n, unbonding: 0n, releaseAt: 0n });
    assert.equal(await c.read.canContribute([id, addr(CONTRIBUTOR)]), false);

    // Less than a contribution stake left: takes what is left.
    const last = await t.mined(curator.write.slashContributor([id, addr(CONTRIBUTOR), hashOf('spam 3'), ...(await evidence(CONTRIBUTOR, id, hashOf('spam 3')))]));
    assert.equal(events(last, 'ContributorSlashed')[0]?.args.amount, STAKE / 2n);
    assert.equal(await balance(destination), before + 2n * STAKE + STAKE / 2n);
    assert.equal(await balance(t.addresses.staking), 0n);

    // Nothing left.
    await expectRevert(curator.write.slashContributor([id, addr(CONTRIBUTOR), hashOf('spam 4'), ...(await evidence(CONTRIBUTOR, id, hashOf('spam 4')))]), 'DatanetRegistryNothingToSlash', [id, addr(CONTRIBUTOR)]);
    await expectRevert(curator.write.slashContributor([id, addr(OUTSIDER), hashOf('spam 1'), ...(await evidence(OUTSIDER, id, hashOf('spam 1')))]), 'DatanetRegistryNothingToSlash', [id, addr(OUTSIDER)]);
    await expectRevert((await stk(CONTRIBUTOR)).write.requestUnbond([CONTRIBUTOR_ROLE, id, 1n]), 'StakingInsufficientBonded', [0n, 1n]);
    // A refused slash marks nothing: once the contributor bonds again, that contribution is still slashable, once.
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, id, STAKE]));
    await t.mined(curator.write.slashContributor([id, addr(CONTRIBUTOR), hashOf('spam 4'), ...(await evidence(CONTRIBUTOR, id, hashOf('spam 4')))]));
    await expectRevert(curator.write.slashContributor([id, addr(CONTRIBUTOR), hashOf('spam 4'), ...(await evidence(CONTRIBUTOR, id, hashOf('spam 4')))]), 'DatanetRegistryAlreadySlashed', [id, idOf(hashOf('spam 4'), addr(CONTRIBUTOR))]);
  });

  test('a curator cannot slash for content the contributor did not sign: made-up hashes, other datanets, other signers and wrong proofs are refused', async () => {
    await fresh();
    const id = await createDatanet();
    const other = await createDatanet();
    await fund(CONTRIBUTOR, 1000n);
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, id, 3n * STAKE]));
    const curator = await reg(CURATOR);
    const sent = [hashOf('sent 1'), hashOf('sent 2'), hashOf('sent 3')];
    const refused = (hash: Hex) => ['DatanetRegistryNotSignedByContributor', [id, addr(CONTRIBUTOR), hash]] as const;
    // a hash the contributor never sent, with the proof of one it did
    const [root, proof, signature] = await evidence(CONTRIBUTOR, id, sent[0]!, sent.slice(1));
    const madeUp = hashOf('never sent');
    await expectRevert(curator.write.slashContributor([id, addr(CONTRIBUTOR), madeUp, root, proof, signature]), ...refused(madeUp));
    // a tree the curator made itself, "signed" by the curator
    await expectRevert(curator.write.slashContributor([id, addr(CONTRIBUTOR), madeUp, ...(await evidence(CURATOR, id, madeUp))]), ...refused(madeUp));
    // the contributor's consent to the same content in another datanet
    await expectRevert(curator.write.slashContributor([id, addr(CONTRIBUTOR), sent[0]!, ...(await evidence(CONTRIBUTOR, other, sent[0]!, sent.slice(1)))]), ...refused(sent[0]!));
    // a signature of another root
    const [, , otherSignature] = await evidence(CONTRIBUTOR, id, hashOf('another upload'));
    await expectRevert(curator.write.slashContributor([id, addr(CONTRIBUTOR), sent[0]!, root, proof, otherSignature]), ...refused(sent[0]!));
    // the owner is held to the same evidence
    await expectRevert((await reg(OWNER)).write.slashContributor([id, addr(CONTRIBUTOR), madeUp, ...(await evidence(OWNER, id, madeUp))]), ...refused(madeUp));
    assert.deepEqual(held(await positionIn(id, CONTRIBUTOR)), { bonded: 3n * STAKE, unbonding: 0n, releaseAt: 0n }, 'nothing was slashed');
    // the check a node asks before it keeps a consent is the slash's own
    assert.equal(await curator.read.isSignedByContributor([id, addr(CONTRIBUTOR), root, signature]), true);
    assert.equal(await curator.read.isSignedByContributor([id, addr(CONTRIBUTOR), root, otherSignature]), false);
    assert.equal(await curator.read.isSignedByContributor([other, addr(CONTRIBUTOR), root, signature]), false);
    assert.equal(await curator.read.isSignedByContributor([id, addr(CURATOR), root, signature]), false);
    // with the contributor's own signature and a proof of each hash it sent, each slash goes through
    const tree = StandardMerkleTree.of(sent.map((h) => [h]), ['bytes32']);
    for (const h of sent) await t.mined(curator.write.slashContributor([id, addr(CONTRIBUTOR), h, root, tree.getProof([h]) as Hex[], signature]));
    assert.equal((await positionIn(id, CONTRIBUTOR)).bonded, 0n);
  });

  test('a slash takes at most the contribution stake in force when the contributor bonded, whatever the owner sets later', async () => {
    await fresh();
    const id = await createDatanet();
    await fund(CONTRIBUTOR, 1000n);
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, id, 3n * STAKE]));
    assert.equal((await positionIn(id, CONTRIBUTOR)).perSlash, STAKE);
    // the owner raises the stake to everything the contributor holds, then a curator slashes
    await t.mined((await reg(OWNER)).write.updateDatanet([id, 'blob://meta', 'CC-BY-4.0', 3n * STAKE]));
    assert.equal(await (await reg(0)).read.slashableStake([id, addr(CONTRIBUTOR)]), STAKE);
    const receipt = await t.mined((await reg(CURATOR)).write.slashContributor([id, addr(CONTRIBUTOR), hashOf('after the raise'), ...(await evidence(CONTRIBUTOR, id, hashOf('after the raise')))]));
    assert.equal(events(receipt, 'ContributorSlashed')[0]?.args.amount, STAKE, 'the stake agreed to, not the raised one');
    // lowered below what was agreed: the lower one
    await t.mined((await reg(OWNER)).write.updateDatanet([id, 'blob://meta', 'CC-BY-4.0', STAKE / 4n]));
    const lowered = await t.mined((await reg(CURATOR)).write.slashContributor([id, addr(CONTRIBUTOR), hashOf('after the cut'), ...(await evidence(CONTRIBUTOR, id, hashOf('after the cut')))]));
    assert.equal(events(lowered, 'ContributorSlashed')[0]?.args.amount, STAKE / 4n);
    // bonding again agrees to the stake in force then
    await t.mined((await reg(OWNER)).write.updateDatanet([id, 'blob://meta', 'CC-BY-4.0', 2n * STAKE]));
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, id, 1n]));
    assert.equal((await positionIn(id, CONTRIBUTOR)).perSlash, 2n * STAKE);
  });

  test('a stake is slashable while it unbonds, also after the delay until withdrawn; the rest withdraws', async () => {
    await fresh();
    const id = await createDatanet();
    await fund(CONTRIBUTOR, 1000n);
    const c = await stk(CONTRIBUTOR);
    await t.mined(c.write.stake([CONTRIBUTOR_ROLE, id, 3n * STAKE]));
    await t.mined(c.write.requestUnbond([CONTRIBUTOR_ROLE, id, 3n * STAKE]));
    await t.mined((await reg(CURATOR)).write.slashContributor([id, addr(CONTRIBUTOR), hashOf('spam while unbonding'), ...(await evidence(CONTRIBUTOR, id, hashOf('spam while unbonding')))]));
    await t.increaseTime(t.params.contributorUnbondingDelay); // released, but not withdrawn yet
    await t.mined((await reg(CURATOR)).write.slashContributor([id, addr(CONTRIBUTOR), hashOf('late spam'), ...(await evidence(CONTRIBUTOR, id, hashOf('late spam')))]));
    await t.mined(c.write.withdraw([CONTRIBUTOR_ROLE, id]));
    assert.equal(await balance(addr(CONTRIBUTOR)), 1000n - 2n * STAKE);
  });

  test("a slash in one datanet takes that datanet's stake only", async () => {
    await fresh();
    const a = await createDatanet();
    const b = await createDatanet();
    await fund(CONTRIBUTOR, 1000n);
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, a, STAKE]));
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, b, STAKE]));
    await t.mined((await reg(CURATOR)).write.slashContributor([a, addr(CONTRIBUTOR), hashOf('x'), ...(await evidence(CONTRIBUTOR, a, hashOf('x')))]));
    assert.equal((await positionIn(a, CONTRIBUTOR)).bonded, 0n);
    assert.equal((await positionIn(b, CONTRIBUTOR)).bonded, STAKE);
    // the same content in the other datanet is another contribution there, slashable with that datanet's consent
    await expectRevert((await reg(CURATOR)).write.slashContributor([b, addr(CONTRIBUTOR), hashOf('x'), ...(await evidence(CONTRIBUTOR, a, hashOf('x')))]), 'DatanetRegistryNotSignedByContributor', [b, addr(CONTRIBUTOR), hashOf('x')]);
    await t.mined((await reg(CURATOR)).write.slashContributor([b, addr(CONTRIBUTOR), hashOf('x'), ...(await evidence(CONTRIBUTOR, b, hashOf('x')))]));
    assert.equal((await positionIn(b, CONTRIBUTOR)).bonded, 0n);
  });

  test('a datanet without a contribution stake has nothing to slash, even from a voluntary stake', async () => {
    await fresh();
    const id = await createDatanet(0n);
    await fund(CONTRIBUTOR, 1000n);
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, id, STAKE]));
    await expectRevert((await reg(CURATOR)).write.slashContributor([id, addr(CONTRIBUTOR), hashOf('x'), ...(await evidence(CONTRIBUTOR, id, hashOf('x')))]), 'DatanetRegistryNothingToSlash', [id, addr(CONTRIBUTOR)]);
    assert.equal((await positionIn(id, CONTRIBUTOR)).bonded, STAKE);
  });

  test("a removed curator can no longer slash; slashed OPEN follows Staking's new slash destination", async () => {
    await fresh();
    const id = await createDatanet();
    await fund(CONTRIBUTOR, 1000n);
    await t.mined((await stk(CONTRIBUTOR)).write.stake([CONTRIBUTOR_ROLE, id, STAKE]));
    await t.mined((await reg(OWNER)).write.setCurator([id, addr(CURATOR), false]));
    await expectRevert((await reg(CURATOR)).write.slashContributor([id, addr(CONTRIBUTOR), hashOf('x'), ...(await evidence(CONTRIBUTOR, id, hashOf('x')))]), 'DatanetRegistryNotCurator', [id, addr(CURATOR)]);

    await t.mined((await stk(0)).write.setSlashDestination([addr(9)]));
    await t.mined((await reg(OWNER)).write.slashContributor([id, addr(CONTRIBUTOR), hashOf('x'), ...(await evidence(CONTRIBUTOR, id, hashOf('x')))]));
    assert.equal(await balance(addr(9)), STAKE);
  });
});

describe('DatanetRegistry: governance', () => {
  test("the contributors' unbonding delay and the slash destination are Staking's, admin-only; the registry has no admin", async () => {
    await fresh();
    const admin = await stk(0);
    const outsider = await stk(OUTSIDER);
    await expectRevert(outsider.write.setUnbondingDelay([CONTRIBUTOR_ROLE, 1n]), 'AccessControlUnauthorizedAccount', [addr(OUTSIDER), zeroHash]);
    await expectRevert(outsider.write.setSlashDestination([addr(OUTSIDER)]), 'AccessControlUnauthorizedAccount', [addr(OUTSIDER), zeroHash]);
    // A datanet owner is not a protocol admin.
    await createDatanet();
    await expectRevert((await stk(OWNER)).write.setUnbondingDelay([CONTRIBUTOR_ROLE, 1n]), 'AccessControlUnauthorizedAccount', [addr(OWNER), zeroHash]);
    assert.ok(!datanetRegistryAbi.some((item) => item.type === 'function' && ['grantRole', 'setSlashDestination', 'setStakeReleaseDelay'].includes(item.name)), 'nothing to administer');

    await t.mined(admin.write.setUnbondingDelay([CONTRIBUTOR_ROLE, 5n]));
    assert.equal(await admin.read.unbondingDelay([CONTRIBUTOR_ROLE]), 5n);
    assert.equal(await admin.read.unbondingDelay([OPERATOR_ROLE]), t.params.unbondingDelay);
    await expectRevert(admin.write.setSlashDestination([zeroAddress]), 'StakingInvalidSlashDestination', [zeroAddress]);
    await t.mined(admin.write.setSlashDestination([addr(8)]));
    assert.equal(await admin.read.slashDestination(), addr(8));
    assert.equal(await (await reg(0)).read.staking(), getAddress(t.addresses.staking));
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import {
  getAddress,
  keccak256,
  parseEther,
  parseEventLogs,
  toHex,
  zeroAddress,
  zeroHash,
  type Address,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import { modelRegistryAbi } from './generated/index.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

let t: TestProtocol;
const addr = (i: number): Address => t.accounts[i]!.address;
const DATANET_OWNER = 1;
const BUILDER = 2;
const OUTSIDER = 3;
const BUYER = 4;

const hashOf = (s: string): Hex => keccak256(toHex(s));
const BASE = hashOf('base model weights');
const ADAPTER = hashOf('adapter v1');
const CONFIG = hashOf('training config v1');
const PRICE = parseEther('0.002');

async function blockTime(receipt: TransactionReceipt): Promise<bigint> {
  const { publicClient } = await t.clients(0);
  return (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
}

const models = async (i: number) => (await t.as(i)).modelRegistry;

/** Creates a datanet and records a snapshot of `n` contribution ids in it; returns the snapshot root. */
async function recordedSnapshot(label: string, n = 3): Promise<Hex> {
  const reg = (await t.as(DATANET_OWNER)).datanetRegistry;
  await t.mined(reg.write.createDatanet([`blob://${label}`, 'CC-BY-4.0', 0n, []]));
  const id = await reg.read.datanetCount();
  const tree = StandardMerkleTree.of(
    Array.from({ length: n }, (_, i) => [hashOf(`${label} ${i}`)]),
    ['bytes32'],
  );
  const root = tree.root as Hex;
  await t.mined(reg.write.recordSnapshot([id, root, BigInt(n), `blob://${label}/snapshot`]));
  assert.equal(await reg.read.isSnapshotOf([id, root]), true);
  return root;
}

/** Registers a model as BUILDER trained on `roots`; returns its id. */
async function register(name: string, roots: Hex[]): Promise<bigint> {
  const m = await models(BUILDER);
  const receipt = await t.mined(m.write.registerModel([name, `blob://${name}`, PRICE, BASE, ADAPTER, CONFIG, roots]));
  const [ev] = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'ModelRegistered' });
  assert.ok(ev);
  return ev.args.modelId;
}

let fresh: () => Promise<void>;
let rootA: Hex;
let rootB: Hex;
before(async () => {
  t = await startTestProtocol();
  rootA = await recordedSnapshot('legal');
  rootB = await recordedSnapshot('medical', 4);
  fresh = await t.checkpoint();
});
after(() => t.stop());


describe('ModelRegistry: registration', () => {
  test('registerModel records the model and its first version with the snapshot provenance', async () => {
    await fresh();
    const m = await models(BUILDER);
    assert.equal(await m.read.datanets(), getAddress(t.addresses.datanetRegistry));
    assert.equal(await m.read.modelCount(), 0n);

    const receipt = await t.mined(m.write.registerModel(['legal-llama', 'blob://legal-llama', PRICE, BASE, ADAPTER, CONFIG, [rootA, rootB]]));
    const registered = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'ModelRegistered' });
    assert.deepEqual(registered[0]?.args, {
      modelId: 1n,
      owner: addr(BUILDER),
      name: 'legal-llama',
      pricePer1kTokens: PRICE,
      metadataURI: 'blob://legal-llama',
    });
    const published = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'VersionPublished' });
    assert.deepEqual(published[0]?.args, {
      modelId: 1n,
      version: 1n,
      baseModelHash: BASE,
      adapterHash: ADAPTER,
      trainingConfigHash: CONFIG,
      snapshotRoots: [rootA, rootB],
    });

    const now = await blockTime(receipt);
    assert.equal(await m.read.modelCount(), 1n);
    assert.equal(await m.read.modelIdByName(['legal-llama']), 1n);
    assert.equal(await m.read.modelIdByName(['unknown']), 0n);
    assert.deepEqual(await m.read.getModel([1n]), {
      owner: addr(BUILDER),
      active: true,
      versionCount: 1,
      createdAt: now,
      pricePer1kTokens: PRICE,
      name: 'legal-llama',
      metadataURI: 'blob://legal-llama',
    });
    assert.deepEqual(await m.read.getVersion([1n, 1n]), {
      baseModelHash: BASE,
      adapterHash: ADAPTER,
      trainingConfigHash: CONFIG,
      publishedAt: now,
      snapshotRoots: [rootA, rootB],
    });

    // Every root read back is a snapshot in the datanet registry.
    const reg = (await t.as(OUTSIDER)).datanetRegistry;
    for (const root of (await m.read.getVersion([1n, 1n])).snapshotRoots) {
      assert.notEqual(await reg.read.snapshotRecordings([root]), 0n);
    }

    // A second model gets the next id; a free price is allowed.
    const second = await t.mined((await models(OUTSIDER)).write.registerModel(['medical-llama', '', 0n, BASE, hashOf('a2'), CONFIG, [rootB]]));
    assert.equal(parseEventLogs({ abi: modelRegistryAbi, logs: second.logs, eventName: 'ModelRegistered' })[0]?.args.modelId, 2n);
    assert.equal((await m.read.getModel([2n])).owner, addr(OUTSIDER));
  });

  test('names are unique and non-empty (NameTaken, EmptyName)', async () => {
    await fresh();
    await register('legal-llama', [rootA]);
    const other = await models(OUTSIDER);
    await expectRevert(other.write.registerModel(['legal-llama', '', 1n, BASE, ADAPTER, CONFIG, [rootA]]), 'ModelRegistryNameTaken', ['legal-llama']);
    await expectRevert((await models(BUILDER)).write.registerModel(['legal-llama', '', 1n, BASE, ADAPTER, CONFIG, [rootA]]), 'ModelRegistryNameTaken', ['legal-llama']);
    await expectRevert(other.write.registerModel(['', '', 1n, BASE, ADAPTER, CONFIG, [rootA]]), 'ModelRegistryEmptyName');
    // Names are compared byte for byte.
    await t.mined(other.write.registerModel(['Legal-llama', '', 1n, BASE, ADAPTER, CONFIG, [rootA]]));
    assert.equal(await other.read.modelIdByName(['Legal-llama']), 2n);
    assert.equal(await other.read.modelCount(), 2n);
  });

  test('every hash is required (MissingHash) and at least one recorded snapshot (NoSnapshots, UnknownSnapshot)', async () => {
    await fresh();
    const m = await models(BUILDER);
    const reg = (name: string, base: Hex, adapter: Hex, config: Hex, roots: Hex[]) =>
      m.write.registerModel([name, '', PRICE, base, adapter, config, roots]);
    await expectRevert(reg('m', zeroHash, ADAPTER, CONFIG, [rootA]), 'ModelRegistryMissingHash');
    await expectRevert(reg('m', BASE, zeroHash, CONFIG, [rootA]), 'ModelRegistryMissingHash');
    await expectRevert(reg('m', BASE, ADAPTER, zeroHash, [rootA]), 'ModelRegistryMissingHash');
    await expectRevert(reg('m', BASE, ADAPTER, CONFIG, []), 'ModelRegistryNoSnapshots');
    const unknown = hashOf('never recorded');
    await expectRevert(reg('m', BASE, ADAPTER, CONFIG, [unknown]), 'ModelRegistryUnknownSnapshot', [unknown]);
    await expectRevert(reg('m', BASE, ADAPTER, CONFIG, [rootA, unknown, rootB]), 'ModelRegistryUnknownSnapshot', [unknown]);
    await expectRevert(reg('m', BASE, ADAPTER, CONFIG, [zeroHash]), 'ModelRegistryUnknownSnapshot', [zeroHash]);

    // An anchored batch root is not a snapshot.
    const datanets = (await t.as(DATANET_OWNER)).datanetRegistry;
    const batchRoot = hashOf('a batch, not a snapshot');
    await t.mined(datanets.write.anchorBatch([1n, batchRoot, 1n, '', hashOf('its DA payload')]));
    await expectRevert(reg('m', BASE, ADAPTER, CONFIG, [batchRoot]), 'ModelRegistryUnknownSnapshot', [batchRoot]);

    // Failed registrations left nothing behind: the name is still free and ids did not move.
    assert.equal(await m.read.modelCount(), 0n);
    assert.equal(await m.read.modelIdByName(['m']), 0n);
    const receipt = await t.mined(reg('m', BASE, ADAPTER, CONFIG, [rootA]));
    assert.equal(parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'ModelRegistered' })[0]?.args.modelId, 1n);
  });

  test('a snapshot recorded after a failed registration can then be used', async () => {
    await fresh();
    const m = await models(BUILDER);
    const later = StandardMerkleTree.of([[hashOf('later 0')], [hashOf('later 1')]], ['bytes32']);
    const root = later.root as Hex;
    await expectRevert(m.write.registerModel(['m', '', PRICE, BASE, ADAPTER, CONFIG, [root]]), 'ModelRegistryUnknownSnapshot', [root]);
    await t.mined((await t.as(DATANET_OWNER)).datanetRegistry.write.recordSnapshot([1n, root, 2n, '']));
    await t.mined(m.write.registerModel(['m', '', PRICE, BASE, ADAPTER, CONFIG, [root]]));
    assert.deepEqual((await m.read.getVersion([1n, 1n])).snapshotRoots, [root]);
  });
});

describe('ModelRegistry: versions', () => {
  test('publishVersion increments the version and keeps each version’s provenance', async () => {
    await fresh();
    const id = await register('legal-llama', [rootA]);
    const m = await models(BUILDER);
    const adapter2 = hashOf('adapter v2');
    const config2 = hashOf('training config v2');
    const receipt = await t.mined(m.write.publishVersion([id, BASE, adapter2, config2, [rootA, rootB]]));
    const [ev] = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'VersionPublished' });
    assert.deepEqual(ev?.args, { modelId: id, version: 2n, baseModelHash: BASE, adapterHash: adapter2, trainingConfigHash: config2, snapshotRoots: [rootA, rootB] });
    const third = await t.mined(m.write.publishVersion([id, hashOf('base 2'), hashOf('adapter v3'), config2, [rootB]]));
    assert.equal(parseEventLogs({ abi: modelRegistryAbi, logs: third.logs, eventName: 'VersionPublished' })[0]?.args.version, 3n);

    assert.equal((await m.read.getModel([id])).versionCount, 3);
    const v1 = await m.read.getVersion([id, 1n]);
    assert.equal(v1.adapterHash, ADAPTER);
    assert.deepEqual(v1.snapshotRoots, [rootA]);
    assert.deepEqual(await m.read.getVersion([id, 2n]), {
      baseModelHash: BASE,
      adapterHash: adapter2,
      trainingConfigHash: config2,
      publishedAt: await blockTime(receipt),
      snapshotRoots: [rootA, rootB],
    });
    assert.equal((await m.read.getVersion([id, 3n])).baseModelHash, hashOf('base 2'));

    await expectRevert(m.read.getVersion([id, 0n]), 'ModelRegistryUnknownVersion', [id, 0n]);
    await expectRevert(m.read.getVersion([id, 4n]), 'ModelRegistryUnknownVersion', [id, 4n]);
    await expectRevert(m.read.getVersion([id + 1n, 1n]), 'ModelRegistryUnknownModel', [id + 1n]);
    await expectRevert(m.read.getModel([0n]), 'ModelRegistryUnknownModel', [0n]);
    await expectRevert(m.write.publishVersion([id + 1n, BASE, ADAPTER, CONFIG, [rootA]]), 'ModelRegistryUnknownModel', [id + 1n]);

    // The same checks as registration apply, and a failed publish leaves the count alone.
    await expectRevert(m.write.publishVersion([id, BASE, zeroHash, CONFIG, [rootA]]), 'ModelRegistryMissingHash');
    await expectRevert(m.write.publishVersion([id, BASE, ADAPTER, CONFIG, []]), 'ModelRegistryNoSnapshots');
    await expectRevert(m.write.publishVersion([id, BASE, ADAPTER, CONFIG, [hashOf('x')]]), 'ModelRegistryUnknownSnapshot', [hashOf('x')]);
    assert.equal((await m.read.getModel([id])).versionCount, 3);
  });

  test('only the owner publishes (NotModelOwner)', async () => {
    await fresh();
    const id = await register('legal-llama', [rootA]);
    for (const i of [OUTSIDER, DATANET_OWNER, 0]) {
      await expectRevert((await models(i)).write.publishVersion([id, BASE, ADAPTER, CONFIG, [rootA]]), 'ModelRegistryNotOwner', [id, addr(i)]);
    }
  });
});

describe('ModelRegistry: owner controls', () => {
  test('setPrice, deactivate and transferModelOwnership are owner-only (NotModelOwner)', async () => {
    await fresh();
    const id = await register('legal-llama', [rootA]);
    const outsider = await models(OUTSIDER);
    await expectRevert(outsider.write.setPrice([id, 1n]), 'ModelRegistryNotOwner', [id, addr(OUTSIDER)]);
    await expectRevert(outsider.write.deactivate([id]), 'ModelRegistryNotOwner', [id, addr(OUTSIDER)]);
    await expectRevert(outsider.write.transferModelOwnership([id, addr(OUTSIDER)]), 'ModelRegistryNotOwner', [id, addr(OUTSIDER)]);
    await expectRevert(outsider.write.setPrice([id + 1n, 1n]), 'ModelRegistryUnknownModel', [id + 1n]);
    await expectRevert(outsider.write.deactivate([0n]), 'ModelRegistryUnknownModel', [0n]);
    await expectRevert(outsider.write.transferModelOwnership([id + 1n, addr(OUTSIDER)]), 'ModelRegistryUnknownModel', [id + 1n]);

    const owner = await models(BUILDER);
    const priced = await t.mined(owner.write.setPrice([id, 5n]));
    assert.deepEqual(parseEventLogs({ abi: modelRegistryAbi, logs: priced.logs, eventName: 'PriceSet' })[0]?.args, { modelId: id, pricePer1kTokens: 5n });
    assert.equal((await owner.read.getModel([id])).pricePer1kTokens, 5n);

    await expectRevert(owner.write.transferModelOwnership([id, zeroAddress]), 'ModelRegistryInvalidOwner', [zeroAddress]);
    const moved = await t.mined(owner.write.transferModelOwnership([id, addr(BUYER)]));
    assert.deepEqual(parseEventLogs({ abi: modelRegistryAbi, logs: moved.logs, eventName: 'ModelOwnershipTransferred' })[0]?.args, {
      modelId: id,
      previousOwner: addr(BUILDER),
      newOwner: addr(BUYER),
    });
    assert.equal((await owner.read.getModel([id])).owner, addr(BUYER));
    // The previous owner lost every right; the new owner has them.
    await expectRevert(owner.write.setPrice([id, 6n]), 'ModelRegistryNotOwner', [id, addr(BUILDER)]);
    await expectRevert(owner.write.publishVersion([id, BASE, ADAPTER, CONFIG, [rootA]]), 'ModelRegistryNotOwner', [id, addr(BUILDER)]);
    await expectRevert(owner.write.deactivate([id]), 'ModelRegistryNotOwner', [id, addr(BUILDER)]);
    const buyer = await models(BUYER);
    await t.mined(buyer.write.setPrice([id, 6n]));
    await t.mined(buyer.write.publishVersion([id, BASE, hashOf('buyer adapter'), CONFIG, [rootB]]));
    assert.equal((await buyer.read.getModel([id])).versionCount, 2);
    // The name still points to the same model.
    assert.equal(await buyer.read.modelIdByName(['legal-llama']), id);
  });

  test('deactivate is final: no new versions (ModelInactive), and not twice', async () => {
    await fresh();
    const id = await register('legal-llama', [rootA]);
    const keep = await register('other-model', [rootB]);
    const owner = await models(BUILDER);
    const receipt = await t.mined(owner.write.deactivate([id]));
    assert.deepEqual(parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'ModelDeactivated' })[0]?.args, { modelId: id });
    const model = await owner.read.getModel([id]);
    assert.equal(model.active, false);
    assert.equal(model.versionCount, 1);

    await expectRevert(owner.write.publishVersion([id, BASE, ADAPTER, CONFIG, [rootA]]), 'ModelRegistryInactiveModel', [id]);
    await expectRevert(owner.write.deactivate([id]), 'ModelRegistryInactiveModel', [id]);
    // Its history and its name stay.
    assert.deepEqual((await owner.read.getVersion([id, 1n])).snapshotRoots, [rootA]);
    await expectRevert(owner.write.registerModel(['legal-llama', '', PRICE, BASE, ADAPTER, CONFIG, [rootA]]), 'ModelRegistryNameTaken', ['legal-llama']);
    // An outsider still gets NotModelOwner, not ModelInactive.
    await expectRevert((await models(OUTSIDER)).write.deactivate([id]), 'ModelRegistryNotOwner', [id, addr(OUTSIDER)]);
    // Other models are untouched.
    assert.equal((await owner.read.getModel([keep])).active, true);
    await t.mined(owner.write.publishVersion([keep, BASE, ADAPTER, CONFIG, [rootB]]));
    // Ownership of an inactive model can still move, and it stays inactive.
    await t.mined(owner.write.transferModelOwnership([id, addr(BUYER)]));
    await expectRevert((await models(BUYER)).write.publishVersion([id, BASE, ADAPTER, CONFIG, [rootA]]), 'ModelRegistryInactiveModel', [id]);
  });
});

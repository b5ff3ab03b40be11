import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Hex } from 'viem';
import { createIndexer } from '../chain/indexer.ts';
import { callJsonRpc } from '../chain/json-rpc.ts';
import { indexedContracts } from '../chain/protocol.ts';
import { startTestProtocol, type TestProtocol } from '../chain/test-chain.ts';
import { chainEventSink, listChainEvents } from './chain-events.ts';
import { openDatabase, type Database } from './database.ts';
import { migrate } from './migrate.ts';

let t: TestProtocol;
let db: Database;
before(async () => {
  [t, db] = await Promise.all([startTestProtocol(), openDatabase({ memory: true })]);
  await migrate(db);
});
after(async () => {
  await Promise.all([t.stop(), db.close()]);
});

test('indexes protocol events into the store, idempotently, and rewinds after a reorg', async () => {
  const { publicClient } = await t.clients(0);
  const indexer = createIndexer({ client: publicClient, chainId: 31337, contracts: indexedContracts(t.addresses), sink: chainEventSink(db), batchBlocks: 7 });
  const owner = await t.as(1);
  const wait = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });
  await wait(await owner.datanetRegistry.write.createDatanet(['ipfs://meta', 'CC-BY-4.0', 0n, [t.accounts[2]!.address]]));

  const first = await indexer.runOnce();
  assert.ok(first > 0);
  const created = await listChainEvents(db, { chainId: 31337, contract: 'datanetRegistry', event: 'DatanetCreated', limit: 10 });
  assert.equal(created.length, 1);
  assert.equal(created[0]?.args.owner, t.accounts[1]!.address);
  assert.equal(created[0]?.args.datanetId, '1');
  const curators = await listChainEvents(db, { chainId: 31337, event: 'CuratorSet', limit: 10 });
  assert.equal(curators.length, 1);

  assert.equal(await indexer.runOnce(), 0, 'a second run finds nothing new');

  // A reorg: the next datanet is mined, indexed, then replaced by a different chain.
  const snap = await callJsonRpc<string>(t.anvil.url, 'evm_snapshot');
  await wait(await owner.datanetRegistry.write.createDatanet(['ipfs://orphaned', 'MIT', 0n, []]));
  await indexer.runOnce();
  assert.equal((await listChainEvents(db, { chainId: 31337, event: 'DatanetCreated', limit: 10 })).length, 2);
  await callJsonRpc(t.anvil.url, 'evm_revert', [snap]);
  await t.mine(1);
  await wait(await owner.datanetRegistry.write.createDatanet(['ipfs://canonical', 'MIT', 0n, []]));
  await indexer.runOnce();
  const after = await listChainEvents(db, { chainId: 31337, event: 'DatanetCreated', limit: 10 });
  assert.deepEqual(after.map((e) => e.args.metadataURI), ['ipfs://canonical', 'ipfs://meta']);
});

test('pages events newest first', async () => {
  const all = await listChainEvents(db, { chainId: 31337, limit: 1000 });
  const page1 = await listChainEvents(db, { chainId: 31337, limit: 3 });
  const page2 = await listChainEvents(db, { chainId: 31337, limit: 3, before: BigInt(page1.at(-1)!.id) });
  assert.deepEqual([...page1, ...page2].map((e) => e.id), all.slice(0, 6).map((e) => e.id));
});

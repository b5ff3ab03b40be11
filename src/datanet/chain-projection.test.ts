import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import { createIndexer } from '../chain/indexer.ts';
import { indexedContracts } from '../chain/protocol.ts';
import { chainEventSink } from '../store/chain-events.ts';
import { datanetProjection } from './chain-projection.ts';
import { createDatanet } from './create-datanet.ts';
import { canCurate, getDatanet } from './datanets.ts';
import { parseDefinition } from './definition.ts';
import { startDatanetTestContext, type DatanetTestContext } from './test-context.ts';

const OWNER = 1, BUYER = 2, CURATOR = 3;
let c: DatanetTestContext;
before(async () => {
  c = await startDatanetTestContext();
});
after(async () => {
  await c?.stop();
});

test("a datanet's owner, curators and terms follow the DatanetRegistry, whoever changed them on chain", async () => {
  const addr = (i: number) => c.t.accounts[i]!.address;
  const sink = chainEventSink(c.db, [datanetProjection]);
  const indexer = createIndexer({ client: c.ctx.clients.publicClient, chainId: 31337, contracts: indexedContracts(c.t.addresses), sink });
  const d = await createDatanet(c.ctx, addr(OWNER), parseDefinition({ name: 'projected', licence: 'CC-BY-4.0' }));
  await indexer.runOnce();
  let now = await getDatanet(c.db, d.id!);
  assert.equal(now.owner, addr(OWNER), "the node's registration (created by the node, handed to the owner) ends with the owner");
  assert.ok(canCurate(now, c.ctx.clients.account.address), 'the node curates the datanets it registered, as the chain says');

  // the owner acts on chain, not through the node: a curator, new terms, then a sale of the datanet
  const owner = await c.t.as(OWNER);
  await c.t.mined(owner.datanetRegistry.write.setCurator([BigInt(d.id!), addr(CURATOR), true]));
  await c.t.mined(owner.datanetRegistry.write.updateDatanet([BigInt(d.id!), d.metadataURI, 'CC0-1.0', parseEther('2')]));
  await c.t.mined(owner.datanetRegistry.write.transferDatanetOwnership([BigInt(d.id!), addr(BUYER)]));
  assert.equal((await getDatanet(c.db, d.id!)).owner, addr(OWNER), 'nothing changes until the events are indexed');
  await indexer.runOnce();
  now = await getDatanet(c.db, d.id!);
  assert.equal(now.owner, addr(BUYER), 'the buyer is paid the datanet share and curates');
  assert.ok(canCurate(now, addr(CURATOR)));
  assert.ok(!canCurate(now, addr(OWNER)), 'the seller no longer curates');
  assert.equal(now.licence, 'CC0-1.0');
  assert.equal(now.contributionStake, parseEther('2').toString());

  // the buyer removes the curator; after a reorg's rewind everything is recomputed to the same
  await c.t.mined((await c.t.as(BUYER)).datanetRegistry.write.setCurator([BigInt(d.id!), addr(CURATOR), false]));
  await indexer.runOnce();
  assert.ok(!canCurate(await getDatanet(c.db, d.id!), addr(CURATOR)), 'a curator removed on chain loses curation here');
  const before = await getDatanet(c.db, d.id!);
  await c.db.query('update datanets set owner = $1 where id = $2', [addr(OWNER), d.id]);
  await c.db.transaction((tx) => datanetProjection.project(tx, 31337, undefined));
  assert.deepEqual(await getDatanet(c.db, d.id!), before);
});

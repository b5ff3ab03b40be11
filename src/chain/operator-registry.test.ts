import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseEther, type Address } from 'viem';
import { publishOperatorRecord } from '../settlement/operator-record.ts';
import { listedEndpoints } from './operator-records.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

// Operators publish where they serve; only an active operator may, and a record stops being listed
// the moment its stake is no longer active. Accounts: 1 and 2 operators, 3 a stranger.

let t: TestProtocol;
const addr = (i: number): Address => t.accounts[i]!.address;

before(async () => {
  t = await startTestProtocol();
});
after(() => t?.stop());

async function bond(i: number, amount = t.params.minimumOperatorStake) {
  const admin = await t.as(0);
  await t.mined(admin.openToken.write.transfer([addr(i), amount]));
  const p = await t.as(i);
  await t.mined(p.openToken.write.approve([t.addresses.staking, amount]));
  await t.mined(p.staking.write.stake([0, 0n, amount]));
}

test('an active operator publishes its endpoint; a stranger and an empty endpoint are refused', async () => {
  await bond(1);
  const one = await t.as(1);
  await expectRevert(one.operatorRegistry.write.setRecord(['', '']), 'OperatorRegistryInvalidEndpoint', ['']);
  await t.mined(one.operatorRegistry.write.setRecord(['https://node-1.example/', 'openledger://blob/0x01']));
  const rec = await one.operatorRegistry.read.recordOf([addr(1)]);
  assert.equal(rec.endpoint, 'https://node-1.example/');
  assert.equal(rec.metadataURI, 'openledger://blob/0x01');
  assert.equal(await one.operatorRegistry.read.isListed([addr(1)]), true);
  await expectRevert((await t.as(3)).operatorRegistry.write.setRecord(['https://stranger.example', '']), 'OperatorRegistryNotActiveOperator', [addr(3)]);
  await expectRevert((await t.as(3)).operatorRegistry.write.removeRecord(), 'OperatorRegistryNoRecord', [addr(3)]);
});

test('clients list the active operators\' endpoints; an operator that unbonds stops being listed, whatever its record says', async () => {
  await bond(2);
  const two = await t.as(2);
  await t.mined(two.operatorRegistry.write.setRecord(['http://node-2.example:8080', '']));
  assert.deepEqual(await listedEndpoints(two, addr(2)), [{ operator: addr(1), endpoint: 'https://node-1.example', metadataURI: 'openledger://blob/0x01' }], 'itself left out');
  assert.deepEqual((await listedEndpoints(two)).map((e) => e.operator), [addr(1), addr(2)]);
  await t.mined(two.staking.write.requestUnbond([0, 0n, t.params.minimumOperatorStake]));
  assert.equal(await two.operatorRegistry.read.isListed([addr(2)]), false);
  assert.deepEqual((await listedEndpoints(two)).map((e) => e.operator), [addr(1)]);
  // and one that withdraws its record is not listed either
  await t.mined((await t.as(1)).operatorRegistry.write.removeRecord());
  assert.deepEqual(await listedEndpoints(two), []);
  assert.equal(await two.operatorRegistry.read.operatorCount(), 2n, 'the list of those who ever published stays');
});

test('a node publishes its record once, and again only when its endpoint changes; a node that is not an operator publishes nothing', async () => {
  await bond(4, parseEther('1000'));
  const node = { clients: await t.clients(4), contracts: await t.as(4) };
  assert.equal(await publishOperatorRecord(node, 'https://node-4.example'), 'published');
  assert.equal(await publishOperatorRecord(node, 'https://node-4.example'), 'unchanged');
  assert.equal(await publishOperatorRecord(node, 'https://node-4.example/v2'), 'published');
  assert.equal((await node.contracts.operatorRegistry.read.recordOf([addr(4)])).endpoint, 'https://node-4.example/v2');
  assert.equal(await publishOperatorRecord({ clients: await t.clients(5), contracts: await t.as(5) }, 'https://node-5.example'), 'not_an_operator');
});

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { joinSource } from './join-source.ts';

const A = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const contracts = { openToken: A(1), governanceToken: A(17), dataAvailabilityChallenge: A(18), timelock: A(2), governor: A(3), staking: A(4), datanetRegistry: A(5), modelRegistry: A(6), inferenceEscrow: A(7), attributionSettlement: A(8), operatorRegistry: A(9), agentRegistry: A(10), skillRegistry: A(11), erc6551Registry: A(12), agentAccountImplementation: A(13), skillCallRoots: A(14), reputationRegistry: A(15), validationRegistry: A(16) };

test('--join reads the addresses from a saved /status or a file of addresses, and says what is wrong with anything else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openledger-join-'));
  const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  assert.equal((await joinSource(file('status.json', JSON.stringify({ version: 'x', contracts })), 31337)).staking.toLowerCase(), A(4));
  assert.equal((await joinSource(file('addresses.json', JSON.stringify(contracts)), 31337)).operatorRegistry.toLowerCase(), A(9));
  await assert.rejects(joinSource(file('partial.json', JSON.stringify({ ...contracts, staking: undefined })), 31337), /--join .*partial\.json: the file holds no protocol addresses/);
  await assert.rejects(joinSource(file('bad.json', '{'), 31337), /not a node's URL, nor a readable JSON file/);
  await assert.rejects(joinSource(join(dir, 'missing.json'), 31337), /not a node's URL, nor a readable JSON file/);
});

test('--join a node: its /status must be on this chain', async (t) => {
  const status = { version: '0', chain: { id: 10, rpcUrl: 'x', embedded: false, development: false, blockNumber: '1' }, store: { kind: 'pglite' }, indexer: { blockNumber: null }, nodeAccount: A(10), contracts };
  const server = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  assert.equal((await joinSource(url, 10)).openToken.toLowerCase(), A(1));
  await assert.rejects(joinSource(url, 31337), /that node is on chain 10, this one on chain 31337/);
  await assert.rejects(joinSource('http://127.0.0.1:1', 31337), /cannot read the node's \/status/);
});

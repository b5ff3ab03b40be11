import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { startTestProtocol, type TestProtocol } from '../../chain/test-chain.ts';
import { installErrorHandler } from '../errors.ts';
import { chainRpcRoutes } from './chain-rpc.ts';
import { webRoutes } from './web.ts';

let t: TestProtocol;
const apps: FastifyInstance[] = [];
const appFor = async (embeddedChain: boolean, devMnemonic?: string) => {
  const app = Fastify();
  installErrorHandler(app);
  chainRpcRoutes(app, { rpcUrl: t.anvil.url, embeddedChain });
  webRoutes(app, { devMnemonic, webRoot: '/nonexistent' });
  await app.ready();
  apps.push(app);
  return app;
};
const rpc = (app: FastifyInstance, method: string, params: unknown[] = [], remoteAddress?: string) =>
  app.inject({ method: 'POST', url: '/chain/rpc', payload: { jsonrpc: '2.0', id: 1, method, params }, ...(remoteAddress ? { remoteAddress } : {}) });

before(async () => {
  t = await startTestProtocol();
});
after(async () => {
  for (const a of apps) await a.close();
  await t?.anvil.stop();
});

test('the node relays reads and signed transactions to its chain, and nothing that would sign or administer it', async () => {
  const app = await appFor(false);
  const head = await rpc(app, 'eth_blockNumber');
  assert.equal(head.statusCode, 200);
  assert.match((head.json() as { result: string }).result, /^0x[0-9a-f]+$/);
  const batch = await app.inject({ method: 'POST', url: '/chain/rpc', payload: [{ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }, { jsonrpc: '2.0', id: 2, method: 'net_version' }] });
  assert.equal((batch.json() as unknown[]).length, 2);
  for (const method of ['eth_sign', 'eth_sendTransaction', 'eth_accounts', 'anvil_setBalance', 'personal_unlockAccount']) {
    const r = await rpc(app, method);
    assert.equal(r.statusCode, 403, method);
    assert.match(r.body, new RegExp(`does not relay ${method}`));
  }
  assert.equal((await rpc(app, 'evm_increaseTime', [1])).statusCode, 403, 'no time travel on a chain that is not embedded');
  const bad = await app.inject({ method: 'POST', url: '/chain/rpc', payload: { method: 'eth_blockNumber' } });
  assert.equal(bad.statusCode, 400);
});

test('on the embedded chain, mining and time travel are relayed to this machine only; so is the dev mnemonic', async () => {
  const app = await appFor(true, 'test test test test test test test test test test test junk');
  assert.equal((await rpc(app, 'evm_mine')).statusCode, 200);
  assert.equal((await rpc(app, 'evm_mine', [], '10.0.0.7')).statusCode, 403);
  assert.equal((await app.inject({ method: 'GET', url: '/dev/accounts' })).json().mnemonic.split(' ').length, 12);
  assert.equal((await app.inject({ method: 'GET', url: '/dev/accounts', remoteAddress: '10.0.0.7' })).statusCode, 403);
  const other = await appFor(false);
  assert.deepEqual((await other.inject({ method: 'GET', url: '/dev/accounts' })).json(), { mnemonic: null });
  assert.match((await other.inject({ method: 'GET', url: '/' })).body, /npm run build:web/);
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { startTestProtocol, type TestProtocol } from '../../chain/test-chain.ts';
import { installErrorHandler } from '../errors.ts';
import { installHostGuard } from '../host-guard.ts';
import { chainRpcRoutes } from './chain-rpc.ts';
import { webRoutes } from './web.ts';

let t: TestProtocol;
const apps: FastifyInstance[] = [];
const appFor = async (development: boolean, devMnemonic?: string, trustProxy: boolean | string = false) => {
  const app = Fastify({ trustProxy });
  installErrorHandler(app);
  installHostGuard(app, ['localhost', 'node.example.org']);
  chainRpcRoutes(app, { rpcUrl: t.anvil.url, development });
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
  assert.equal((await rpc(app, 'evm_increaseTime', [1])).statusCode, 403, 'no time travel outside development mode');
  const bad = await app.inject({ method: 'POST', url: '/chain/rpc', payload: { method: 'eth_blockNumber' } });
  assert.equal(bad.statusCode, 400);
});

test('in development mode, mining and time travel are relayed to this machine only; so is the dev mnemonic', async () => {
  const app = await appFor(true, 'test test test test test test test test test test test junk');
  assert.equal((await rpc(app, 'evm_mine')).statusCode, 200);
  assert.equal((await rpc(app, 'evm_mine', [], '10.0.0.7')).statusCode, 403);
  assert.equal((await app.inject({ method: 'GET', url: '/dev/accounts' })).json().mnemonic.split(' ').length, 12);
  assert.equal((await app.inject({ method: 'GET', url: '/dev/accounts', remoteAddress: '10.0.0.7' })).statusCode, 403);
  const other = await appFor(false);
  assert.deepEqual((await other.inject({ method: 'GET', url: '/dev/accounts' })).json(), { mnemonic: null });
  assert.match((await other.inject({ method: 'GET', url: '/' })).body, /npm run build:web/);
});

test('behind a same-host reverse proxy, callers are who the proxy says they are: no development powers for them', async () => {
  // the proxy connects from 127.0.0.1 and forwards the caller's address
  const proxied = await appFor(true, 'test test test test test test test test test test test junk', '127.0.0.1');
  const viaProxy = { remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.9' } };
  assert.equal((await proxied.inject({ method: 'POST', url: '/chain/rpc', payload: { jsonrpc: '2.0', id: 1, method: 'evm_mine', params: [] }, ...viaProxy })).statusCode, 403);
  assert.equal((await proxied.inject({ method: 'GET', url: '/dev/accounts', ...viaProxy })).statusCode, 403);
  // without trustProxy a proxied caller looks local, which is why development powers need development mode
  const notDevelopment = await appFor(false);
  assert.equal((await notDevelopment.inject({ method: 'POST', url: '/chain/rpc', payload: { jsonrpc: '2.0', id: 1, method: 'evm_mine', params: [] }, ...viaProxy })).statusCode, 403);
});

test('a Host that is not this node (DNS rebinding) gets 403; IP literals and listed names pass', async () => {
  const app = await appFor(true, 'test test test test test test test test test test test junk');
  const get = (host: string) => app.inject({ method: 'GET', url: '/dev/accounts', headers: { host } });
  const rebound = await get('attacker.example:8080');
  assert.equal(rebound.statusCode, 403);
  assert.match(rebound.body, /host_not_allowed/);
  assert.equal((await rpc(app, 'evm_mine')).statusCode, 200);
  for (const host of ['127.0.0.1:8080', 'localhost:8080', 'node.example.org', '[::1]:8080']) assert.equal((await get(host)).statusCode, 200, host);
});

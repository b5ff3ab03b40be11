/**
 * The routing client against operators that misbehave: an endpoint that answers as another account,
 * a stream that breaks off, one that ends without its last chunk, and a retry that says something
 * else than what was streamed. Each "operator" is a small HTTP server speaking the node's API (what
 * a hostile or broken operator can send); the honest path runs against real nodes in
 * src/cli/network.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { after, test } from 'node:test';
import { keccak256, stringToBytes, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createRoutingClient, FailoverDivergedError, RoutingError } from './routing-client.ts';
import { protocolAbis } from '../chain/protocol.ts';

const CHAIN = 31337;
const consumer = privateKeyToAccount(keccak256(stringToBytes('consumer')));
const accountOf = (name: string) => privateKeyToAccount(keccak256(stringToBytes(name))).address;
const servers: Array<{ close(): void }> = [];
after(() => servers.forEach((s) => s.close()));

/** An operator at a local port: `/status` answers as `answersAs`, `/v1/models` lists the free model `m`, completions stream `stream`. */
async function operator(name: string, stream: (res: ServerResponse) => void, answersAs = accountOf(name), probeDelayMs = 0): Promise<{ operator: Address; endpoint: string; stake: bigint; metadataURI: string }> {
  const server = createServer((req, res) => {
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/status') return json({ version: '0', chain: { id: CHAIN, rpcUrl: 'x', embedded: false, development: false, blockNumber: '1' }, store: { kind: 'pglite' }, indexer: { blockNumber: null }, nodeAccount: answersAs, contracts: Object.fromEntries(Object.keys(protocolAbis).map((k) => [k, answersAs])) });
    if (req.url === '/v1/models') return void setTimeout(() => json({ object: 'list', data: [{ id: 'm', object: 'model', created: 0, owned_by: 'x', openledger: { modelId: null, baseModel: `0x${'1'.repeat(64)}`, adapter: null, pricePer1kTokens: '0' } }] }), probeDelayMs);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    stream(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { operator: accountOf(name), endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, stake: 1n, metadataURI: '' };
}
const chunk = (text: string, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c', object: 'text_completion', created: 0, model: 'm', choices: [{ index: 0, text, finish_reason: finish, logprobs: null }], ...(finish ? { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }, openledger: { receipt_id: null, fee: null, attribution: null } } : {}) })}\n\n`;
const honest = (text: string) => (res: ServerResponse) => res.end(chunk(text) + chunk('', 'stop') + 'data: [DONE]\n\n');
const dies = (text: string) => (res: ServerResponse) => {
  res.write(chunk(text));
  setTimeout(() => res.destroy(), 20);
};
const client = (ops: Awaited<ReturnType<typeof operator>>[]) => createRoutingClient({ account: consumer, chainId: CHAIN, operators: async () => ops, probeTimeoutMs: 2000, requestTimeoutMs: 5000 });
const ask = { model: 'm', prompt: 'p', maxTokens: 8 };

test('an endpoint that answers as another account than the one the chain lists for it is never sent a request', async () => {
  const impostor = await operator('listed', honest('stolen'), accountOf('someone else'));
  assert.deepEqual(await client([impostor]).rank('m'), []);
  await assert.rejects(client([impostor]).complete(ask), (e: unknown) => e instanceof RoutingError && /no listed operator serves m/.test((e as Error).message));
});

test('a stream that breaks off, or ends without its last chunk, goes on at the next operator with no text twice', async () => {
  const broken = await operator('broken', dies('Hello, '));
  const truncated = await operator('truncated', (res) => res.end(chunk('Hello, wor')));
  const good = await operator('good', honest('Hello, world'), undefined, 200);
  for (const first of [broken, truncated]) {
    let streamed = '';
    const c = client([first, good]);
    assert.deepEqual((await c.rank('m')).map((o) => o.operator), [first.operator, good.operator], 'the faster one first');
    const answer = await c.complete(ask, { onText: (d) => (streamed += d) });
    assert.equal(answer.text, 'Hello, world');
    assert.equal(streamed, 'Hello, world');
    assert.equal(answer.operator, good.operator);
    assert.equal(answer.attempts[0]!.operator, first.operator);
    assert.match(answer.attempts[0]!.error!, /./);
  }
  // with only broken operators, it says what each did
  await assert.rejects(client([broken, truncated]).complete(ask), (e: unknown) => e instanceof RoutingError && (e as RoutingError).attempts.length === 2);
});

test('a retry that says something else than what was already streamed is an error, not a spliced answer', async () => {
  const broken = await operator('broken-2', dies('The capital is Zor'));
  const other = await operator('other', honest('Something else entirely'), undefined, 200);
  const c = client([broken, other]);
  assert.equal((await c.rank('m'))[0]!.operator, broken.operator);
  await assert.rejects(c.complete(ask), FailoverDivergedError);
});

/**
 * A network of three nodes on one chain, each its own `openledger up` process with its own store,
 * blobs and account (issue 18). Node 1 runs the embedded chain and the lifecycle (`openledger demo`
 * leaves a datanet and a published model on it); nodes 2 and 3 join with `--rpc-url --join`, stake,
 * list themselves, mirror the model by the hashes on chain and serve it. A consumer routes through
 * the routing client: every node answers the same, each settles its own epoch, contributors claim
 * from each; a node killed in the middle of a stream is failed over without paying twice; a node
 * killed in the middle of a paid tree of skill calls charges once or not at all; an
 * inflated epoch posted with node 3's key is caught by node 2's watchtower, disputed, and
 * reverted by governance, which slashes node 3 out of the operator list.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { encodeFunctionData, keccak256, parseEther, stringToBytes, toHex, type Address, type Hex } from 'viem';
import { createApiClient } from '../api/contract/client.ts';
import { routes } from '../api/contract/index.ts';
import { connectChain } from '../chain/clients.ts';
import { callJsonRpc } from '../chain/json-rpc.ts';
import { protocolContracts, type ProtocolAddresses } from '../chain/protocol.ts';
import { listOperators } from '../client/operators.ts';
import { createRoutingClient, type RoutedAnswer } from '../client/routing-client.ts';
import { attributionSettlementAbi } from '../chain/generated/index.ts';
import { EpochStatus, inputsHash } from '../settlement/epoch-tree.ts';
import { EscrowSchemeClient } from '../settlement/x402-escrow.ts';
import { wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { runCli, runDemo, up, type DemoData, type Up } from './test-node.ts';

const MODEL = 'zorvania-qa';
// nodes 2 and 3 sign with accounts the chain's genesis did not fund (OPEN is its native coin: dev accounts 0–9 hold some)
const CONTRIBUTORS = [2, 3, 4], CONSUMER = 6, NODE2 = 10, NODE3 = 11, ACCOMPLICE = 12;

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'openledger-network-'));
  dirs.push(d);
  return d;
};
let dir1: string, dir2: string, dir3: string;
let node1: Up, node2: Up, node3: Up;
/** What the demo left on node 1: its questions (answers to them credit its contributors) and the chain's accounts. */
let demo: DemoData;
let addresses: ProtocolAddresses;
const account = (i: number) => demo.account(i);
const keyOf = (i: number) => demo.key(i);
const cli = async (args: string[]) => {
  const r = await runCli([...args, '--data-dir', dir1]);
  assert.equal(r.code, 0, `openledger ${args.join(' ')}:\n${r.out}\n${[node1, node2, node3].map((n) => n?.output().slice(-3000)).join('\n----\n')}`);
  return r.out;
};
/** The chain as one account sees it: clients and the protocol's contracts. */
const chainAs = async (i: number) => {
  const clients = await connectChain(node1.rpcUrl, account(i), { pollingInterval: 50 });
  return { clients, contracts: protocolContracts(clients, addresses) };
};
const mined = async (i: number, hash: Promise<Hex>) => {
  const receipt = await (await chainAs(i)).clients.publicClient.waitForTransactionReceipt({ hash: await hash });
  assert.equal(receipt.status, 'success');
};
/** Waits until `check` holds (polling), or fails with `what`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
/** A node that joins the network over node 1's chain, as its own operator. */
const joining = (dir: string, operator: number, env: NodeJS.ProcessEnv = {}) =>
  up(dir, { OPENLEDGER_RPC_URL: node1.rpcUrl, OPENLEDGER_JOIN: node1.apiUrl, OPENLEDGER_DEPLOYER_KEY: keyOf(operator), OPENLEDGER_WATCH_SECONDS: '1', ...env });
const serves = (node: Up) => eventually(`${node.apiUrl} to serve ${MODEL}`, async () => (await createApiClient({ baseUrl: node.apiUrl }).call(routes.openAiModels, {})).data.some((m) => m.id === MODEL));
/** The consumer's routing client over the listed operators `only` lets through. */
const routing = (only: (endpoint: string) => boolean) =>
  createRoutingClient({ account: account(CONSUMER), chainId: 31337, operators: async () => (await listOperators((await chainAs(CONSUMER)).contracts)).filter((o) => only(o.endpoint)) });
const spentWith = async (node: Up) => BigInt((await createApiClient({ baseUrl: node.apiUrl }).call(routes.getFunds, { params: { address: account(CONSUMER).address } })).spent);

before(async () => {
  dir1 = tempDir(); dir2 = tempDir(); dir3 = tempDir();
  // node 1: the whole lifecycle on its embedded chain (a datanet, contributions, a published model, an epoch)
  demo = await runDemo(dir1);
  assert.equal(demo.prompts.length, 3);
  // node 1 only reports what its watchtower finds, so that node 2 is the one that disputes
  node1 = await up(dir1, { OPENLEDGER_WATCH: 'report', OPENLEDGER_WATCH_SECONDS: '1' });
  addresses = (await createApiClient({ baseUrl: node1.apiUrl }).call(routes.getStatus, {})).contracts;
}, { timeout: 240_000 });

after(async () => {
  await Promise.all([node3, node2, node1].map((n) => n?.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('three nodes, one chain: join, serve the same answers, settle each, claim from each, fail over, catch a fraud', { timeout: 600_000 }, async (t) => {
  await t.test('a node without OPEN cannot join: it is told what to stake', async () => {
    const r = await runCli(['up', '--data-dir', tempDir(), '--port', '0', '--rpc-url', node1.rpcUrl, '--join', node1.apiUrl], { OPENLEDGER_DEPLOYER_KEY: keyOf(NODE2) });
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /holds 0 OPEN; an operator stakes at least 1000 OPEN/);
    assert.doesNotMatch(r.out, /\n\s+at /, 'a message, not a stack');
  });

  await t.test('nodes 2 and 3 join: checked contracts, staked, listed, the model mirrored', async () => {
    for (const who of [NODE2, NODE3]) await cli(['transfer', account(who).address, '2000', '--account', '0', '--api', node1.apiUrl]);
    [node2, node3] = await Promise.all([joining(dir2, NODE2), joining(dir3, NODE3)]);
    for (const n of [node2, node3]) {
      assert.match(n.output(), /network: joined the protocol whose OPEN is 0x[0-9a-fA-F]{40} \(its contracts checked on chain 31337\)/);
      assert.match(n.output(), /settlement: staked the node as operator/);
      assert.match(n.output(), /network: listed in the OperatorRegistry/);
    }
    const listed = await listOperators((await chainAs(0)).contracts);
    assert.deepEqual(new Set(listed.map((o) => o.endpoint)), new Set([node1.apiUrl, node2.apiUrl, node3.apiUrl]));
    // each record names a metadata document the node serves by its hash: base models, engine, price policy
    const record = listed.find((o) => o.endpoint === node2.apiUrl)!;
    const hash = record.metadataURI.replace('openledger://blob/', '');
    const bytes = new Uint8Array(await (await createApiClient({ baseUrl: node2.apiUrl }).send(routes.getBlob, { params: { hash } })).arrayBuffer());
    assert.equal(keccak256(bytes), hash);
    const metadata = JSON.parse(new TextDecoder().decode(bytes)) as { kind: string; engine: string; baseModels: Array<{ name: string }>; pricing: string };
    assert.deepEqual([metadata.kind, metadata.engine, metadata.baseModels.map((b) => b.name), metadata.pricing], ['openledger-operator', 'builtin', ['openledger-tiny'], 'model-owner-price']);
    await Promise.all([serves(node2), serves(node3)]);
  });

  /** Each node's answers to the demo's questions. */
  const answers: RoutedAnswer[][] = [];
  await t.test('every node answers the same greedy text with the same attribution, signed by itself, at the owner\'s price', async () => {
    for (const n of [node1, node2, node3]) {
      const client = routing((e) => e === n.apiUrl);
      const mine: RoutedAnswer[] = [];
      for (const prompt of demo.prompts) mine.push(await client.complete({ model: MODEL, prompt, maxTokens: 24 }));
      answers.push(mine);
    }
    const [a1, a2, a3] = answers as [RoutedAnswer[], RoutedAnswer[], RoutedAnswer[]];
    const same = (a: RoutedAnswer) => ({ text: a.text, attribution: a.attribution, fee: a.fee, usage: a.usage });
    assert.ok(a1.every((a) => a.text.length > 0));
    assert.deepEqual(a2.map(same), a1.map(same));
    assert.deepEqual(a3.map(same), a1.map(same));
    assert.deepEqual(answers.map((a) => a[0]!.endpoint), [node1.apiUrl, node2.apiUrl, node3.apiUrl]);
    assert.deepEqual(answers.map((a) => a[0]!.operator), [account(0).address, account(NODE2).address, account(NODE3).address]);
    assert.equal(new Set(answers.flat().map((a) => a.receiptId)).size, 9, 'each node signs its own receipts');
  });

  await t.test('each node settles its own epoch; contributors claim from each', async () => {
    assert.match(await cli(['settlement', 'run', '--account', '0', '--api', node1.apiUrl]), /epoch 2 posted: 3 receipts/);
    assert.match(await cli(['settlement', 'run', '--account', String(NODE2), '--api', node2.apiUrl]), /epoch 1 posted: 3 receipts/);
    assert.match(await cli(['settlement', 'run', '--account', String(NODE3), '--api', node3.apiUrl]), /epoch 1 posted: 3 receipts/);
    // a node's settlement cannot be run by another operator
    const r = await runCli(['settlement', 'run', '--account', '0', '--api', node2.apiUrl, '--data-dir', dir1]);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /403/);
    await callJsonRpc(node1.rpcUrl, 'evm_increaseTime', [3601]);
    await callJsonRpc(node1.rpcUrl, 'evm_mine', []);
    const { contracts } = await chainAs(0);
    let paidBy = 0;
    for (const n of [node2, node3]) {
      const api = createApiClient({ baseUrl: n.apiUrl });
      for (const c of CONTRIBUTORS) {
        const who = account(c).address;
        const before = await api.call(routes.getRewards, { params: { address: who } });
        if (BigInt(before.claimable) === 0n) continue;
        const balance = await contracts.openToken.read.balanceOf([who]);
        await cli(['claim', '--account', String(c), '--api', n.apiUrl]);
        assert.equal(await contracts.openToken.read.balanceOf([who]), balance + BigInt(before.claimable), `contributor ${c} is paid by ${n.apiUrl}`);
        paidBy++;
      }
    }
    assert.ok(paidBy >= 2, 'contributors claimed from both joining nodes');
  });

  await t.test('the node streaming an answer is killed mid-stream: the next one finishes it, and the consumer pays once', async () => {
    const client = routing((e) => e !== node1.apiUrl); // node 1 carries the chain: the others are killed
    const [first, second] = await client.rank(MODEL);
    assert.ok(first && second);
    const victim = first.endpoint === node2.apiUrl ? node2 : node3;
    const survivor = victim === node2 ? node3 : node2;
    const [victimSpent, survivorSpent] = [await spentWith(victim), await spentWith(survivor)];
    let killed = false;
    let streamed = '';
    const answer = await client.complete({ model: MODEL, prompt: demo.prompts[0]!, maxTokens: 24 }, {
      onText: (delta) => {
        streamed += delta;
        if (!killed) {
          killed = true;
          victim.child.kill('SIGKILL'); // after its first piece of text, before its answer is complete
        }
      },
    });
    assert.ok(killed);
    assert.equal(answer.text, answers[0]![0]!.text, 'the answer completes as one answer');
    assert.equal(streamed, answer.text, 'no text twice, none missing');
    assert.equal(answer.endpoint, survivor.apiUrl);
    assert.deepEqual(answer.attempts.map((a) => [a.endpoint, a.error === null]), [[victim.apiUrl, false], [survivor.apiUrl, true]]);
    assert.ok(answer.attempts[0]!.streamed > 0, 'the first node had streamed part of it');
    assert.equal(await spentWith(survivor), survivorSpent + BigInt(answer.fee!.amount), 'the survivor charged its one receipt');
    // the killed node comes back (kill -9: it continues where it stopped) and charged nothing for the broken stream
    await victim.stop();
    // at the address it is listed at (and posted its epochs' inputs at)
    const restarted = await joining(victim === node2 ? dir2 : dir3, victim === node2 ? NODE2 : NODE3, { OPENLEDGER_PORT: new URL(victim.apiUrl).port });
    if (victim === node2) node2 = restarted;
    else node3 = restarted;
    assert.equal(await spentWith(restarted), victimSpent, 'nothing charged by the node that died mid-stream');
  });

  await t.test('node 2 is killed (kill -9) in the middle of a paid tree of skill calls: after its restart the consumer was charged once or not at all, and its epoch settles what it recorded', async () => {
    // two agents run by node 2, one skill calling the other, listed on node 2 (its mirrored model)
    const skillDir = (name: string, price: string, workflow: unknown) => {
      const d = join(tempDir(), name);
      mkdirSync(d);
      writeFileSync(join(d, 'SKILL.md'), `---\nname: ${name}\ndescription: ${name} on node 2\nmetadata:\n  openledger-models: ${MODEL}\n  openledger-price: "${price}"\n---\nAnswer.\n`);
      writeFileSync(join(d, 'workflow.json'), JSON.stringify(workflow));
      return d;
    };
    for (const name of ['inner-agent', 'outer-agent']) await cli(['agent', 'create', name, '--account', '1', '--api', node2.apiUrl]);
    const prompt = { id: 'a', prompt: '{{input}}', maxTokens: 24 };
    const inner = /\((0x[0-9a-f]{64})\)/.exec(await cli(['skill', 'publish', skillDir('inner-skill', '0.03', { steps: ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ ...prompt, id })) }), '--agent', 'inner-agent', '--no-bond', '--account', '1', '--api', node2.apiUrl]))![1]!;
    const outer = /\((0x[0-9a-f]{64})\)/.exec(await cli(['skill', 'publish', skillDir('outer-skill', '0.05', { steps: [{ id: 'c', call: inner, maxPrice: '0.03' }, prompt] }), '--agent', 'outer-agent', '--no-bond', '--account', '1', '--api', node2.apiUrl]))![1]!;
    const spent = await spentWith(node2);
    const payer = new x402Client().register('eip155:*', new EscrowSchemeClient(account(CONSUMER)))
      .setSpendControls({ allowedAssets: [{ network: 'eip155:31337', asset: addresses.openToken, maxAmountPerPayment: parseEther('1').toString() }] });
    // the paid request goes out, and node 2 dies while it runs the tree (seven inferences: the inner call's six, then the outer's)
    let killed = false;
    const killing: typeof fetch = async (input, init) => {
      const req = new Request(input, init);
      if (req.headers.get('payment-signature')) setTimeout(() => ((killed = true), node2.child.kill('SIGKILL')), 200);
      return fetch(req);
    };
    const outcome = await wrapFetchWithPayment(killing, payer)(`${node2.apiUrl}/skills/${outer}/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: demo.prompts[0] }) })
      .then(async (r) => `${r.status} ${await r.text()}`, (err: Error) => err.message);
    assert.ok(killed, `node 2 was killed (the call answered ${outcome} first)`);
    await node2.stop();
    node2 = await joining(dir2, NODE2, { OPENLEDGER_PORT: new URL(node2.apiUrl).port });
    const after = await spentWith(node2);
    assert.ok(after === spent || after === spent + parseEther('0.05'), `charged once or not at all: ${spent} → ${after}`);
    // a new call is paid and answered; the epoch settles what was recorded, and it verifies
    const again = await wrapFetchWithPayment(fetch, payer)(`${node2.apiUrl}/skills/${outer}/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: demo.prompts[1] }) });
    assert.equal(again.status, 200, await again.clone().text());
    assert.equal(await spentWith(node2), after + parseEther('0.05'));
    await cli(['settlement', 'run', '--account', String(NODE2), '--api', node2.apiUrl]);
    const epochs = await createApiClient({ baseUrl: node2.apiUrl }).call(routes.listEpochs, {});
    await cli(['settlement', 'verify', String(epochs.epochs[0]!.epoch), '--api', node2.apiUrl]);
  });

  await t.test('an inflated epoch posted with node 3\'s key: node 2 disputes it unasked, governance reverts it and slashes node 3', async () => {
    const operator3 = account(NODE3).address;
    const epoch1 = await createApiClient({ baseUrl: node3.apiUrl }).call(routes.getEpochInputs, { params: { epoch: 1 } });
    // epoch 2 settles no receipt, but its tree pays an accomplice 1 OPEN more (the declared total stays honest: the contract cannot sum leaves)
    const inputs = { ...epoch1.inputs, epoch: 2, receipts: [], draws: [] };
    const leaves = [...epoch1.leaves, [account(ACCOMPLICE).address, parseEther('1').toString()]] as Array<[Address, string]>;
    const root = StandardMerkleTree.of(leaves, ['address', 'uint256']).root as Hex;
    const served = JSON.stringify({ epoch: 2, status: 'pending', root, inputs, leaves, receipts: [] });
    const server = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(served));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => server.close());
    const uri = `http://127.0.0.1:${(server.address() as { port: number }).port}/epoch-2.json`;
    const three = await chainAs(NODE3);
    const onChain1 = await three.contracts.attributionSettlement.read.getEpoch([operator3, 1n]);
    await mined(NODE3, three.contracts.attributionSettlement.write.postEpoch([2n, root, onChain1.cumulativeTotal, inputsHash(inputs as never), uri, []]));
    await callJsonRpc(node1.rpcUrl, 'anvil_mine', ['0x2']); // the joined nodes index two blocks behind the head

    // node 2's watchtower finds it and disputes with its bond
    const watched = await eventually('node 2 to dispute node 3\'s epoch 2', async () =>
      (await createApiClient({ baseUrl: node2.apiUrl }).call(routes.listWatchedEpochs, {})).watched.find((w) => w.operator === operator3 && w.epoch === 2 && w.verdict === 'disputed')).catch(async (err) => {
      const posted = (await createApiClient({ baseUrl: node2.apiUrl }).call(routes.listChainEvents, { query: { event: 'EpochPosted' } })).events.map((e) => JSON.stringify(e.args));
      throw new Error(`${(err as Error).message} (node 3 at ${node3.apiUrl}, the inputs at ${uri}; posted ${posted.join(', ')}); node 2 said:\n${node2.output().split('\n').filter((l) => /watchtower|indexer/.test(l)).join('\n')}`);
    });
    assert.ok(watched.problems.some((p) => p.includes(account(ACCOMPLICE).address)), watched.problems.join('\n'));
    const { contracts } = await chainAs(0);
    assert.equal((await contracts.attributionSettlement.read.getEpoch([operator3, 2n])).status, EpochStatus.Disputed);
    // node 1 watches in report mode: if it checked the epoch before node 2's dispute landed, it only reported it
    const report = (await createApiClient({ baseUrl: node1.apiUrl }).call(routes.listWatchedEpochs, {})).watched.find((w) => w.operator === operator3 && w.epoch === 2);
    if (report) assert.equal(report.verdict, 'problems');
    // node 2's honest epoch was checked by node 1 and found right
    assert.ok((await createApiClient({ baseUrl: node1.apiUrl }).call(routes.listWatchedEpochs, {})).watched.some((w) => w.operator === account(NODE2).address && w.epoch === 1 && w.verdict === 'ok'));

    // governance (the arbiter of last resort) upholds the dispute: a proposal, a vote, the timelock
    const gov = await chainAs(0);
    // votes are GOPEN: native OPEN locked in the governance token, then delegated
    await mined(0, gov.contracts.governanceToken.write.deposit({ value: parseEther('100') }));
    await mined(0, gov.contracts.governanceToken.write.delegate([account(0).address]));
    const calldatas = [encodeFunctionData({ abi: attributionSettlementAbi, functionName: 'resolveDispute', args: [operator3, 2n, true] })];
    const targets = [addresses.attributionSettlement], values = [0n], description = 'Uphold the dispute of operator 3\'s epoch 2';
    await mined(0, gov.contracts.governor.write.propose([targets, values, calldatas, description]));
    const id = await gov.contracts.governor.read.hashProposal([targets, values, calldatas, keccak256(stringToBytes(description))]);
    // a second between blocks: GOPEN's clock is the timestamp, so voting delay and period pass in seconds
    await callJsonRpc(node1.rpcUrl, 'anvil_mine', ['0x2', '0x1']);
    await mined(0, gov.contracts.governor.write.castVote([id, 1]));
    await callJsonRpc(node1.rpcUrl, 'anvil_mine', [toHex(301), '0x1']);
    await mined(0, gov.contracts.governor.write.queue([targets, values, calldatas, keccak256(stringToBytes(description))]));
    await callJsonRpc(node1.rpcUrl, 'evm_increaseTime', [301]);
    await callJsonRpc(node1.rpcUrl, 'evm_mine', []);
    const stake3 = (await contracts.staking.read.positionOf([operator3, 0, 0n])).bonded;
    await mined(0, gov.contracts.governor.write.execute([targets, values, calldatas, keccak256(stringToBytes(description))]));
    assert.equal((await contracts.attributionSettlement.read.getEpoch([operator3, 2n])).status, EpochStatus.Reverted);
    assert.ok((await contracts.staking.read.positionOf([operator3, 0, 0n])).bonded < stake3, 'node 3 is slashed');
    // below the minimum stake, node 3 drops out of every client's list; nodes 1 and 2 and their payees are untouched
    assert.deepEqual(new Set((await listOperators(contracts)).map((o) => o.endpoint)), new Set([node1.apiUrl, node2.apiUrl]));
    for (const who of [account(0).address, account(NODE2).address]) await mined(0, gov.contracts.attributionSettlement.write.finalizeEpoch([who]));
    for (const [who, epoch] of [[account(0).address, 2n], [account(NODE2).address, 1n], [operator3, 1n]] as const) {
      assert.equal((await contracts.attributionSettlement.read.getEpoch([who, epoch])).status, EpochStatus.Finalized, `${who}'s epoch ${epoch} stands`);
    }
  });
});

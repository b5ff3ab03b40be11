import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { encodeFunctionData, getAddress, toHex, type Address, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { checkReceiptSignature, receiptBytes, receiptId, signReceipt, textHash } from '../attribution/receipts.ts';
import type { Receipt, ReceiptBody } from '../attribution/receipt-types.ts';
import { earningsTree } from '../settlement/epoch-tree.ts';
import { onChainReceiptProblems } from '../settlement/verify-receipts-on-chain.ts';
import { startAnvil, type AnvilProcess } from './anvil.ts';
import { ATTRIBUTION_VERIFIER_ADDRESS, attributionVerifier, hasAttributionVerifier, installAttributionVerifier } from './attribution-verifier.ts';
import { connectChain, type ChainClients } from './clients.ts';
import { startEmbeddedChain } from './embedded-chain.ts';
import { attributionVerifierAbi } from './generated/index.ts';
import { TEST_MNEMONIC } from './test-chain.ts';

const node = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 1 });
const other = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 2 });
const h = (i: number) => `0x${i.toString(16).padStart(64, '0')}` as Hex;

/** A version-2 receipt body with `contributions` credits (each with a span and a group). */
function bodyOf(o: { node?: Address; chainId?: number; contributions?: number; name?: string; call?: Hex; amount?: string } = {}): ReceiptBody {
  const n = o.contributions ?? 2;
  const shares = Array.from({ length: n }, (_, i) => (i === 0 ? 1_000_000 - Math.floor(1_000_000 / n) * (n - 1) : Math.floor(1_000_000 / n)));
  return {
    version: 2, node: o.node ?? node.address, chainId: o.chainId ?? 31337,
    model: { id: '7', name: o.name ?? 'facts-qa', version: 1, baseModel: h(1), adapter: h(2), trace: h(3) },
    input: { hash: textHash('question'), tokens: 12 }, output: { hash: textHash('answer'), tokens: 30 },
    fee: { pricePer1kTokens: '1000000000000000', amount: o.amount ?? '42000000000000', split: { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 } },
    parameters: { spanWeightBps: 5000, thresholdPpm: 10000, evidenceThresholdPpm: 400_000, groupThreshold: 0.6, influence: 'relatif', damping: 1, nullZ: 3 },
    contributions: shares.map((sharePpm, i) => ({
      contributionId: h(100 + i), datanetId: 1 + (i % 3), sharePpm, span: 0.25 + i / 1000, influence: 1 / (i + 3), spans: [[i * 10, i * 10 + 7]] as Array<[number, number]>, group: { size: 2, others: [h(200 + i)] },
    })),
    pools: [],
    evidence: { coverage: 0.8123, influenceMargin: 6.25, adapterGain: 0.91, scorePpm: 739_193, abstained: false },
    createdAt: '2026-12-07T12:00:00.000Z',
    ...(o.call ? { call: o.call } : {}),
  };
}

const onChain = (r: Pick<Receipt, 'body' | 'signature'>) => ({ body: toHex(receiptBytes(r.body)), signature: r.signature });

let anvil: AnvilProcess;
let clients: ChainClients;
let verifier: ReturnType<typeof attributionVerifier>;
before(async () => {
  anvil = await startAnvil({ mnemonic: TEST_MNEMONIC });
  clients = await connectChain(anvil.url, node);
  verifier = attributionVerifier(clients.publicClient);
});
after(() => anvil?.stop());

describe('the attribution verifier predeploy', () => {
  it('is installed at its fixed address on a development chain, once', async () => {
    assert.equal(await hasAttributionVerifier(clients.publicClient), false);
    assert.equal(await installAttributionVerifier(clients.publicClient), true);
    assert.equal(await hasAttributionVerifier(clients.publicClient), true);
    assert.equal(await installAttributionVerifier(clients.publicClient), true, 'a second install finds it there');
    assert.equal(getAddress(ATTRIBUTION_VERIFIER_ADDRESS).slice(0, 6), '0x4F4C', 'outside OP Stack\'s 0x4200… namespace');
  });

  it('accepts what the TypeScript check accepts: receipts signed by their node, on this chain', async () => {
    const bodies = [bodyOf(), bodyOf({ contributions: 0 }), bodyOf({ contributions: 9 }), bodyOf({ call: h(77) }), bodyOf({ name: 'naïve "quoted" \\ name ✓' })];
    const receipts = await Promise.all(bodies.map((b) => signReceipt(node, b)));
    for (const r of receipts) await checkReceiptSignature(r);
    const [ids, signed] = await verifier.read.checkReceipts([node.address, receipts.map(onChain)]);
    assert.deepEqual(ids, receipts.map((r) => r.id));
    assert.deepEqual(signed, receipts.map(() => true));
    for (const r of receipts) {
      assert.deepEqual(await verifier.read.receiptOrigin([toHex(receiptBytes(r.body))]), [true, node.address, 31337n]);
      assert.equal(await verifier.read.receiptId([toHex(receiptBytes(r.body))]), receiptId(r.body));
    }
  });

  it('refuses a tampered field, another signer, another node and another chain', async () => {
    const honest = await signReceipt(node, bodyOf());
    const cases: Array<[string, Pick<Receipt, 'body' | 'signature'>]> = [
      ['a raised fee under the old signature', { body: { ...honest.body, fee: { ...honest.body.fee, amount: '42000000000001' } }, signature: honest.signature }],
      ['a moved contribution share under the old signature', { body: { ...honest.body, contributions: honest.body.contributions.map((c, i) => ({ ...c, sharePpm: c.sharePpm + (i === 0 ? 1 : -1) })) }, signature: honest.signature }],
      ['a body naming the operator, signed by another key', await signReceipt(other, bodyOf())],
      ['another node\'s own receipt', await signReceipt(other, bodyOf({ node: other.address }))],
      ['a receipt the operator signed on another chain', await signReceipt(node, bodyOf({ chainId: 10 }))],
      ['a signature that is no signature', { body: honest.body, signature: '0x1234' }],
    ];
    const [, signed] = await verifier.read.checkReceipts([node.address, cases.map(([, r]) => onChain(r))]);
    cases.forEach(([what], i) => assert.equal(signed[i], false, what));
    // the TypeScript check refuses the first three too (it does not look at the chain id: the audit does, through the verifier)
    for (const [what, r] of cases.slice(0, 3)) await assert.rejects(checkReceiptSignature({ ...r, id: honest.id }), what);
    assert.deepEqual(await verifier.read.receiptOrigin([toHex(receiptBytes(bodyOf({ chainId: 10 })))]), [true, node.address, 10n]);
  });

  it('reads the node and chain only where canonical JSON puts them', async () => {
    // a model name that spells a node key: canonical JSON escapes its quotes, so it is no key
    const decoy = bodyOf({ name: `x","node":"${other.address}","chainId":1` });
    assert.deepEqual(await verifier.read.receiptOrigin([toHex(receiptBytes(decoy))]), [true, node.address, 31337n]);
    for (const text of ['', '{}', 'not json', JSON.stringify({ node: node.address, chainId: 31337 }), '{"chainId":031337,"node":"0x"}']) {
      assert.equal((await verifier.read.receiptOrigin([toHex(text)]))[0], false, text);
    }
    const signedGarbage = { body: toHex('{"chainId":31337}'), signature: await node.signMessage({ message: { raw: textHash('{"chainId":31337}') } }) };
    assert.equal(await verifier.read.isReceiptOf([node.address, signedGarbage]), false, 'a signed body that names no node');
  });

  it('finds, through eth_call, the receipts of an epoch that are not its operator\'s', async () => {
    const good = await signReceipt(node, bodyOf());
    const foreign = await signReceipt(other, bodyOf({ node: other.address }));
    const elsewhere = await signReceipt(node, bodyOf({ chainId: 10 }));
    const problems = await onChainReceiptProblems(clients.publicClient, node.address, [good, foreign, elsewhere, { ...good, id: foreign.id }]);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0]!, new RegExp(`${foreign.id}.*names node ${other.address} on chain 31337`));
    assert.match(problems[1]!, new RegExp(`${elsewhere.id}.*on chain 10\\)`));
    assert.match(problems[2]!, /hashes its body to/);
    assert.deepEqual(await onChainReceiptProblems(clients.publicClient, node.address, [good]), []);
    // more receipts than one call takes (150 small ones: 128 to a call; then 150 of 3.2 KiB: 256 KiB to a call): every one is checked, in order
    const many = await Promise.all(Array.from({ length: 300 }, (_, i) => signReceipt(node, bodyOf({ contributions: i < 150 ? 0 : 8, amount: String(i) }))));
    const last = await signReceipt(other, bodyOf({ node: other.address, contributions: 8 }));
    const found = await onChainReceiptProblems(clients.publicClient, node.address, [foreign, ...many, last]);
    assert.deepEqual(found.map((p) => p.split(':')[0]), [`receipt ${foreign.id}`, `receipt ${last.id}`]);
  });

  it('proves earnings leaves in an epoch root as @openzeppelin/merkle-tree builds it, one by one and in batches', async () => {
    const payees = Array.from({ length: 37 }, (_, i) => mnemonicToAccount(TEST_MNEMONIC, { addressIndex: i }).address);
    const { tree, leaves } = earningsTree(new Map(), payees.map((payee, i) => ({ payee, role: 'contributor', modelName: 'm', datanetId: 1, amount: BigInt(1000 + i) })));
    const root = tree.root as Hex;
    const leaf = ([payee, cumulative]: [string, string]) => ({ payee: payee as Address, cumulative: BigInt(cumulative) });
    for (const [i, v] of tree.entries()) {
      assert.equal(await verifier.read.verifyEarnings([root, leaf(v), tree.getProof(i) as Hex[]]), true);
      assert.equal(await verifier.read.earningsLeaf([leaf(v)]), tree.leafHash(v));
    }
    for (const indices of [[0], [3, 17, 30], Array.from({ length: leaves.length }, (_, i) => i)]) {
      const m = tree.getMultiProof(indices);
      assert.equal(StandardMerkleTree.verifyMultiProof(root, ['address', 'uint256'], m), true);
      assert.equal(await verifier.read.verifyEarningsBatch([root, m.leaves.map(leaf), m.proof as Hex[], m.proofFlags]), true, `leaves ${indices.join(',')}`);
    }
    // a leaf of another epoch's root, a raised amount, no leaves, a proof of the wrong shape
    const another = StandardMerkleTree.of<[string, string]>([[payees[0]!, '1'], [payees[1]!, '2']], ['address', 'uint256']);
    assert.equal(await verifier.read.verifyEarnings([root, leaf(another.at(0)!), another.getProof(0) as Hex[]]), false);
    const [, first] = [...tree.entries()][0]!;
    assert.equal(await verifier.read.verifyEarnings([root, { ...leaf(first), cumulative: leaf(first).cumulative + 1n }, tree.getProof(0) as Hex[]]), false);
    const m = tree.getMultiProof([3, 17]);
    assert.equal(await verifier.read.verifyEarningsBatch([another.root as Hex, m.leaves.map(leaf), m.proof as Hex[], m.proofFlags]), false);
    assert.equal(await verifier.read.verifyEarningsBatch([root, [{ ...leaf(m.leaves[0]!), cumulative: 1n }, leaf(m.leaves[1]!)], m.proof as Hex[], m.proofFlags]), false);
    assert.equal(await verifier.read.verifyEarningsBatch([root, [], [root], []]), false, 'the empty set proves nothing');
    assert.equal(await verifier.read.verifyEarningsBatch([root, m.leaves.map(leaf), m.proof as Hex[], [...m.proofFlags, true]]), false);
  });

  it('costs gas per batch of receipts and of leaves (figures for decision 0030)', async (t) => {
    const receipts = await Promise.all(Array.from({ length: 128 }, (_, i) => signReceipt(node, bodyOf({ contributions: 8, amount: String(1000 + i) }))));
    const bytes = receiptBytes(receipts[0]!.body).length;
    // a transaction's gas (EIP-7623's calldata floor, 10 gas a token, often sets it), and for small
    // calls the execution's share, from the trace: gas left at the first step less gas left after the last
    const gasOf = async (data: Hex) => {
      const gas = await clients.publicClient.estimateGas({ account: node.address, to: ATTRIBUTION_VERIFIER_ADDRESS, data });
      if (data.length > 40_000) return `${gas}`;
      const trace = await clients.publicClient.request({
        method: 'debug_traceCall', params: [{ from: node.address, to: ATTRIBUTION_VERIFIER_ADDRESS, data }, 'latest', { disableStack: true, disableStorage: true, enableMemory: false }],
      } as never) as { structLogs: Array<{ gas: number; gasCost: number }> };
      const [first, last] = [trace.structLogs[0]!, trace.structLogs.at(-1)!];
      return `${gas} (execution ${first.gas - last.gas + last.gasCost})`;
    };
    const figures: Record<string, string> = {};
    const bare = await signReceipt(node, bodyOf({ contributions: 0 }));
    figures[`1 receipt without credits (${receiptBytes(bare.body).length} bytes)`] = await gasOf(encodeFunctionData({ abi: attributionVerifierAbi, functionName: 'checkReceipts', args: [node.address, [onChain(bare)]] }));
    for (const n of [1, 16, 128]) {
      const batch = receipts.slice(0, n);
      const [, signed] = await verifier.read.checkReceipts([node.address, batch.map(onChain)]);
      assert.ok(signed.every(Boolean));
      figures[`receipts ${n}`] = await gasOf(encodeFunctionData({ abi: attributionVerifierAbi, functionName: 'checkReceipts', args: [node.address, batch.map(onChain)] }));
    }
    const payees = Array.from({ length: 1024 }, (_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`));
    const tree = StandardMerkleTree.of(payees.map((p, i) => [p, String(i + 1)]), ['address', 'uint256']);
    for (const n of [1, 16, 128]) {
      const m = tree.getMultiProof(Array.from({ length: n }, (_, i) => i * 8));
      const args = [tree.root as Hex, m.leaves.map(([payee, c]) => ({ payee: payee as Address, cumulative: BigInt(c as string) })), m.proof as Hex[], m.proofFlags] as const;
      assert.equal(await verifier.read.verifyEarningsBatch(args), true);
      figures[`leaves ${n} of 1024`] = await gasOf(encodeFunctionData({ abi: attributionVerifierAbi, functionName: 'verifyEarningsBatch', args }));
    }
    t.diagnostic(`receipt body ${bytes} bytes (8 credits); gas as a transaction (21,000 and calldata included): ${Object.entries(figures).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    // 128 receipts in one eth_call must stay well inside a 30M block (and anvil's call gas cap)
    assert.ok(BigInt(figures['receipts 128']!.split(' ')[0]!) < 30_000_000n, `128 receipts cost ${figures['receipts 128']}`);
  });
});

describe('the predeploy on the embedded chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openledger-verifier-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is in the embedded chain\'s genesis, with or without --development, and survives a restart', async () => {
    let chain = await startEmbeddedChain({ dataDir: join(dir, 'dev'), port: 0, development: true });
    try {
      const c = await connectChain(chain.url, node);
      assert.equal(await hasAttributionVerifier(c.publicClient), true, 'installed at genesis');
      assert.equal(await installAttributionVerifier(c.publicClient), true, 'installing again is a no-op');
    } finally {
      await chain.stop();
    }
    chain = await startEmbeddedChain({ dataDir: join(dir, 'dev'), port: 0, development: true });
    try {
      const c = await connectChain(chain.url, node);
      assert.equal(await hasAttributionVerifier(c.publicClient), true, 'the code is there after the restart');
      const r = await signReceipt(node, bodyOf());
      assert.equal(await attributionVerifier(c.publicClient).read.isReceiptOf([node.address, onChain(r)]), true);
    } finally {
      await chain.stop();
    }
    chain = await startEmbeddedChain({ dataDir: join(dir, 'plain'), port: 0 });
    try {
      const c = await connectChain(chain.url, node);
      assert.equal(await hasAttributionVerifier(c.publicClient), true, 'a chain without development powers has it from its genesis too');
      await assert.rejects(c.publicClient.request({ method: 'anvil_setCode', params: [node.address, '0x00'] } as never), /only available in development mode/, 'and nobody can set code through it');
    } finally {
      await chain.stop();
    }
  });
});

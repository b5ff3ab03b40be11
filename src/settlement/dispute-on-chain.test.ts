import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { keccak256, parseEther, stringToBytes, zeroHash, type Address, type Hex } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { signReceipt, textHash } from '../attribution/receipts.ts';
import type { Receipt, ReceiptBody } from '../attribution/receipt-types.ts';
import { ATTRIBUTION_VERIFIER_ADDRESS } from '../chain/attribution-verifier.ts';
import { createIndexer } from '../chain/indexer.ts';
import { callJsonRpc } from '../chain/json-rpc.ts';
import { indexedContracts } from '../chain/protocol.ts';
import { startTestProtocol, type TestProtocol } from '../chain/test-chain.ts';
import { chainEventSink } from '../store/chain-events.ts';
import { openDatabase } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { auditEpoch } from './audit-epoch.ts';
import { callRoot } from './call-root.ts';
import { earningsTree, epochCredits, inputsHash, type EpochCall, type EpochInputs } from './epoch-tree.ts';
import { foreignInferenceProof } from './prove-foreign-inference.ts';
import { ROOT_PARENT } from './skill-call.ts';
import type { ServedEpoch } from './verify-epoch.ts';
import { verifyEpoch, epochEvidence } from './verify-epoch.ts';
import { watchEpochs } from './watchtower.ts';

// The dispute path with the attribution verifier predeploy: the audit has the chain check the
// served receipts, and the watchtower proves on chain what the chain can decide (a call listing
// another node's inference). Accounts: 0 deployer, 1 the operator, 2 another node, 6 the
// challenger's node (a watchtower).
const OPERATOR = 1, OTHER_NODE = 2, CHALLENGER = 6;
const MODEL = 'facts-qa';

let t: TestProtocol;
let restore: () => Promise<void>;
const account = (i: number): HDAccount => t.accounts[i]!;
const addr = (i: number): Address => account(i).address;

/** A receipt body of a free inference (so an epoch of them draws nothing), by `node` on `chainId`. */
function body(node: Address, o: { chainId?: number; call?: Hex; n?: number } = {}): ReceiptBody {
  return {
    version: 2, node, chainId: o.chainId ?? 31337,
    model: { id: '1', name: MODEL, version: 1, baseModel: textHash('base'), adapter: textHash('adapter'), trace: textHash('trace') },
    input: { hash: textHash(`question ${o.n ?? 0}`), tokens: 5 }, output: { hash: textHash('answer'), tokens: 3 },
    fee: { pricePer1kTokens: '0', amount: '0', split: { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 } },
    parameters: { spanWeightBps: 5000, thresholdPpm: 10000, evidenceThresholdPpm: 400_000, groupThreshold: 0.6, influence: 'relatif', damping: 1, nullZ: 3 },
    contributions: [], pools: [], evidence: { coverage: 0, influenceMargin: 0, adapterGain: 0, scorePpm: 0, abstained: true },
    createdAt: '2026-12-07T00:00:00.000Z', ...(o.call ? { call: o.call } : {}),
  };
}

/** A consumer's skill call of price 0 paying `receipts`. */
function skillCall(name: string, receipts: Hex[]): EpochCall {
  const id = keccak256(stringToBytes(name));
  return {
    call: { callId: id, parentCallId: ROOT_PARENT, skill: textHash('summarise'), agent: addr(3), payer: addr(4), price: '0', inputHash: textHash('in'), outputHash: textHash('out'), inferenceReceipts: receipts, children: [] },
    signature: '0x', block: '1', terms: { dataRoyaltyBps: 0, upstream: [] },
  };
}

/** The operator posts epoch 1 of `receipts` (and the call root of `calls`); answers what it serves. */
async function postEpoch(receipts: Receipt[], calls: EpochCall[] = []): Promise<ServedEpoch> {
  const inputs: EpochInputs = {
    epoch: 1, receipts: receipts.map((r) => r.id), payees: { contributors: {}, datanetOwners: {}, modelOwners: { [MODEL]: addr(5) } }, stakers: [], operator: addr(OPERATOR), draws: [],
    ...(calls.length > 0 ? { calls, callFee: { protocolFeeBps: 0, treasury: addr(0) } } : {}),
  };
  const { tree, leaves, total } = earningsTree(new Map(), epochCredits(inputs, receipts.map((r) => r.body)));
  const op = await t.as(OPERATOR);
  await t.mined(op.attributionSettlement.write.postEpoch([1n, tree.root as Hex, total, inputsHash(inputs), 'http://operator.invalid/epochs/1', []]));
  if (calls.length > 0) await t.mined(op.skillCallRoots.write.postCallRoot([1n, callRoot(calls)]));
  return { epoch: 1, status: 'pending', root: tree.root as Hex, inputs, leaves, receipts: receipts.map((r) => ({ ...r, prompt: '', output: '' })) };
}

before(async () => {
  t = await startTestProtocol();
  const admin = await t.as(0);
  for (const i of [OPERATOR, CHALLENGER]) await t.mined(admin.openToken.write.transfer([addr(i), parseEther('10000')]));
  const op = await t.as(OPERATOR);
  await t.mined(op.openToken.write.approve([t.addresses.staking, t.params.minimumOperatorStake]));
  await t.mined(op.staking.write.stake([0, 0n, t.params.minimumOperatorStake]));
  restore = await t.checkpoint();
});
after(() => t?.stop());
afterEach(() => restore());

test('the audit has the chain\'s verifier check the receipts: one the operator signed on another chain is refused, which recomputation alone lets through', async () => {
  const honest = await signReceipt(account(OPERATOR), body(addr(OPERATOR)));
  const replayed = await signReceipt(account(OPERATOR), body(addr(OPERATOR), { chainId: 10, n: 1 }));
  const served = await postEpoch([honest, replayed]);
  const { publicClient } = await t.clients(CHALLENGER);
  const contracts = await t.as(CHALLENGER);
  const recomputed = await verifyEpoch(await epochEvidence(async () => served, contracts, 1));
  assert.equal(recomputed.problems.some((p) => p.includes(replayed.id)), false, 'the TypeScript recomputation does not look at the chain id');
  const audit = await auditEpoch({ served: async () => served, contracts, publicClient, epoch: 1 });
  const byVerifier = audit.problems.filter((p) => p.includes('attribution verifier'));
  assert.deepEqual(byVerifier, [`receipt ${replayed.id}: the chain's attribution verifier refuses it as ${addr(OPERATOR)}'s on this chain (its body names node ${addr(OPERATOR)} on chain 10)`]);
  // where the chain has no verifier, the audit is the recomputation alone
  await callJsonRpc(t.anvil.url, 'anvil_setCode', [ATTRIBUTION_VERIFIER_ADDRESS, '0x']);
  const without = await auditEpoch({ served: async () => served, contracts, publicClient, epoch: 1 });
  assert.equal(without.problems.some((p) => p.includes('attribution verifier')), false);
});

test('a watchtower proves on chain an epoch whose skill call lists another node\'s inference: the dispute is upheld at once, no arbiter needed', async () => {
  const call = keccak256(stringToBytes('call x'));
  const own = await signReceipt(account(OPERATOR), body(addr(OPERATOR), { call }));
  const foreign = await signReceipt(account(OTHER_NODE), body(addr(OTHER_NODE), { call, n: 1 }));
  const calls = [skillCall('call x', [own.id, foreign.id])];
  assert.equal(foreignInferenceProof(addr(OPERATOR), calls, [own]), undefined, 'the operator\'s own inference proves nothing');
  assert.equal(foreignInferenceProof(addr(OPERATOR), [skillCall('call x', [own.id])], [own, foreign]), undefined, 'a foreign receipt no call lists proves nothing on chain');
  const served = await postEpoch([own, foreign], calls);

  const db = await openDatabase({ memory: true });
  try {
    await migrate(db);
    const watcher = { db, clients: await t.clients(CHALLENGER), contracts: await t.as(CHALLENGER) };
    await createIndexer({ client: watcher.clients.publicClient, chainId: 31337, contracts: indexedContracts(t.addresses), sink: chainEventSink(db) }).runOnce();
    const lines: string[] = [];
    const stakeBefore = (await watcher.contracts.staking.read.positionOf([addr(OPERATOR), 0, 0n])).bonded;
    const bondHolderBefore = await watcher.contracts.openToken.read.balanceOf([addr(CHALLENGER)]);
    const [verdict] = await watchEpochs(watcher, { dispute: true, served: async () => served, log: (l) => lines.push(l) });
    assert.equal(verdict?.verdict, 'disputed', lines.join('\n'));
    assert.ok(verdict.problems.some((p) => p.includes(foreign.id) && p.includes('attribution verifier')), verdict.problems.join('\n'));
    assert.ok(lines.some((l) => l.includes(`settles receipt ${foreign.id} of node ${addr(OTHER_NODE)}: the dispute is upheld`)), lines.join('\n'));
    const epoch = await watcher.contracts.attributionSettlement.read.getEpoch([addr(OPERATOR), 1n]);
    assert.equal(epoch.status, 4 /* Reverted */);
    assert.equal((await watcher.contracts.staking.read.positionOf([addr(OPERATOR), 0, 0n])).bonded, stakeBefore - t.params.operatorSlashAmount);
    assert.equal(await watcher.contracts.openToken.read.balanceOf([addr(CHALLENGER)]), bondHolderBefore, 'the bond came back');
  } finally {
    await db.close();
  }
});

test('an epoch without a foreign inference is left to the arbiter: the watchtower disputes it and proves nothing', async () => {
  const replayed = await signReceipt(account(OPERATOR), body(addr(OPERATOR), { chainId: 10 }));
  const served = await postEpoch([replayed]);
  const db = await openDatabase({ memory: true });
  try {
    await migrate(db);
    const watcher = { db, clients: await t.clients(CHALLENGER), contracts: await t.as(CHALLENGER) };
    await createIndexer({ client: watcher.clients.publicClient, chainId: 31337, contracts: indexedContracts(t.addresses), sink: chainEventSink(db) }).runOnce();
    const [verdict] = await watchEpochs(watcher, { dispute: true, served: async () => served });
    assert.equal(verdict?.verdict, 'disputed');
    assert.equal((await watcher.contracts.attributionSettlement.read.getEpoch([addr(OPERATOR), 1n])).status, 2 /* Disputed */);
    assert.equal(await watcher.contracts.skillCallRoots.read.callRootOf([addr(OPERATOR), 1n]), zeroHash);
  } finally {
    await db.close();
  }
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { keccak256, parseEther, toHex, type Address } from 'viem';
import { altDaRoutes } from '../../api/routes/alt-da.ts';
import { dataAvailabilityChallengeContract, deployDataAvailabilityChallenge } from '../../chain/data-availability-challenge.ts';
import { startTestProtocol, type TestProtocol } from '../../chain/test-chain.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { openBlobStore } from '../../store/blobs.ts';
import { canonicalBytes, contentHashOf, contributionIdOf } from '../contribution-id.ts';
import { altDaHttpBackend } from './alt-da-http.ts';
import type { DaBackend } from './backend.ts';
import { answerChallenge, challengeIfUnavailable, challengeStatus, checkBatchAvailability, expireChallenge, isBatchVoided, resolvedData, type ChallengeDeps } from './challenger.ts';
import { daURI, keccakCommitment } from './commitment.ts';
import { DaNotFoundError, DaPayloadError } from './errors.ts';
import { nodeStoreBackend } from './node-store-backend.ts';
import { decodeBatchPayload, encodeBatchPayload } from './payload.ts';

const SUBMITTER = 1;
const CHALLENGER = 3;
const SLASH_SINK = 9;
const BOND = parseEther('10');
const SLASH = parseEther('100');

let t: TestProtocol;
let dir: string;
let served: BlobStore; // what the submitter's node serves through its Alt-DA route
let withheld: BlobStore; // a copy the submitter keeps to itself
let server: FastifyInstance;
let daUrl: string;
let challengesAddress: Address;
const addr = (i: number): Address => t.accounts[i]!.address;

before(async () => {
  t = await startTestProtocol();
  dir = mkdtempSync(join(tmpdir(), 'openledger-da-challenger-'));
  served = await openBlobStore({ dataDir: join(dir, 'served') });
  withheld = await openBlobStore({ dataDir: join(dir, 'withheld') });
  server = Fastify();
  altDaRoutes(server, { backend: nodeStoreBackend(served) });
  await server.listen({ host: '127.0.0.1', port: 0 });
  daUrl = `http://127.0.0.1:${(server.server.address() as { port: number }).port}/altda`;

  challengesAddress = await deployDataAvailabilityChallenge(await t.clients(0), {
    openToken: t.addresses.openToken,
    datanetRegistry: t.addresses.datanetRegistry,
    challengeWindow: 10n,
    resolveWindow: 5n,
    bondSize: BOND,
    submitterSlash: SLASH,
    resolverRefundPercentage: 100n,
    challengerRewardPercentage: 50n,
    slashDestination: addr(SLASH_SINK),
  });
  const treasury = await t.as(0);
  for (const i of [SUBMITTER, CHALLENGER]) {
    await t.mined(treasury.openToken.write.transfer([addr(i), parseEther('1000')]));
    await t.mined((await t.as(i)).openToken.write.approve([challengesAddress, parseEther('1000')]));
  }
  await t.mined((await t.as(SUBMITTER)).datanetRegistry.write.createDatanet(['altda:meta', 'CC-BY-4.0', 0n, []]));
  await t.mined(dataAvailabilityChallengeContract(await t.clients(SUBMITTER), challengesAddress).write.bond([parseEther('150')]));
  await t.mined(dataAvailabilityChallengeContract(await t.clients(CHALLENGER), challengesAddress).write.deposit([BOND * 3n]));
});
after(async () => {
  await server?.close();
  await served?.close();
  await withheld?.close();
  await t?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function depsOf(i: number): Promise<ChallengeDeps> {
  const clients = await t.clients(i);
  return { registry: (await t.as(i)).datanetRegistry, challenges: dataAvailabilityChallengeContract(clients, challengesAddress), publicClient: clients.publicClient };
}

/** The submitter anchors a batch of `records` whose payload it publishes through `publish` (or nowhere); returns the batch index and payload. */
async function anchorBatch(records: Array<{ contributor: number; record: string | Record<string, unknown> }>, publish: DaBackend | null, root?: `0x${string}`) {
  const payload = encodeBatchPayload(records.map((r) => ({ contributor: addr(r.contributor), content: canonicalBytes(r.record) })));
  const commitment = publish ? await publish.put(payload) : keccakCommitment(payload);
  const registry = (await t.as(SUBMITTER)).datanetRegistry;
  const batchIndex = BigInt((await registry.read.getDatanet([1n])).batchCount);
  await t.mined(registry.write.anchorBatch([1n, root ?? decodeBatchPayload(payload).root, BigInt(records.length), daURI(commitment), keccak256(payload)]));
  return { batchIndex, payload };
}

test('a challenger reads an available batch through the submitter node\'s Alt-DA API and does not challenge it', async () => {
  const records = [
    { contributor: 5, record: { question: 'capital of France?', answer: 'Paris' } },
    { contributor: 6, record: 'free text about Paris' },
  ];
  const { batchIndex } = await anchorBatch(records, nodeStoreBackend(served));
  const deps = await depsOf(CHALLENGER);
  const { availability, challengeTx } = await challengeIfUnavailable(deps, altDaHttpBackend(daUrl), 1n, batchIndex);
  assert.equal(challengeTx, undefined);
  assert.equal(availability.status, 'available');
  const batch = availability.status === 'available' ? availability.batch : assert.fail();
  const expected = records.map((r) => contributionIdOf(contentHashOf(r.record), addr(r.contributor))).sort();
  assert.deepEqual(batch.records.map((r) => r.id), expected);
  assert.equal(await challengeStatus(deps, 1n, batchIndex), 'Uninitialized');
});

test('a DA challenge answered in time: the withheld batch is challenged, the submitter resolves from its own copy, the data is read back from the resolution', async () => {
  const { batchIndex, payload } = await anchorBatch([{ contributor: 5, record: { q: 'withheld', a: 'until challenged' } }], nodeStoreBackend(withheld));
  const challenger = await depsOf(CHALLENGER);
  const { availability, challengeTx } = await challengeIfUnavailable(challenger, altDaHttpBackend(daUrl), 1n, batchIndex);
  assert.equal(availability.status, 'unavailable');
  assert.ok(availability.status === 'unavailable' && availability.error instanceof DaNotFoundError);
  assert.ok(challengeTx);
  assert.equal(await challengeStatus(challenger, 1n, batchIndex), 'Active');
  // Challenging again changes nothing.
  assert.equal((await challengeIfUnavailable(challenger, altDaHttpBackend(daUrl), 1n, batchIndex)).challengeTx, undefined);

  const submitter = await depsOf(SUBMITTER);
  const resolveTx = await answerChallenge(submitter, nodeStoreBackend(withheld), 1n, batchIndex);
  assert.equal(await challengeStatus(challenger, 1n, batchIndex), 'Resolved');
  assert.equal(await isBatchVoided(challenger.challenges, 1n, batchIndex), false);
  assert.deepEqual(await resolvedData(challenger, 1n, batchIndex), payload);

  // Bonds: the challenger paid the estimated resolution cost, all of it refunded to the resolver (100 %).
  const receipt = await challenger.publicClient.getTransactionReceipt({ hash: resolveTx });
  const { baseFeePerGas } = await challenger.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  const cost = (108_000n + (BigInt(payload.length) * 40_000n) / 1000n) * baseFeePerGas!;
  assert.equal(await challenger.challenges.read.balances([addr(CHALLENGER)]), BOND * 3n - cost);
  assert.equal(await challenger.challenges.read.balances([addr(SUBMITTER)]), cost);
  assert.equal((await challenger.challenges.read.submitterBondOf([addr(SUBMITTER)])).bonded, parseEther('150'));
});

test('a DA challenge left unanswered: the submitter lost the data, the batch is voided and the submitter slashed', async () => {
  const challenger = await depsOf(CHALLENGER);
  const balanceBefore = await challenger.challenges.read.balances([addr(CHALLENGER)]);
  const sinkBefore = await (await t.as(0)).openToken.read.balanceOf([addr(SLASH_SINK)]);
  const { batchIndex } = await anchorBatch([{ contributor: 6, record: 'data nobody kept' }], null);
  assert.ok((await challengeIfUnavailable(challenger, altDaHttpBackend(daUrl), 1n, batchIndex)).challengeTx);
  const submitter = await depsOf(SUBMITTER);
  await assert.rejects(answerChallenge(submitter, nodeStoreBackend(served), 1n, batchIndex), DaNotFoundError);
  await assert.rejects(answerChallenge(submitter, nodeStoreBackend(withheld), 1n, batchIndex), DaNotFoundError);

  await t.mine(6); // past the resolve window
  assert.equal(await isBatchVoided(challenger.challenges, 1n, batchIndex), true);
  assert.equal(await challengeStatus(challenger, 1n, batchIndex), 'Expired');
  await expireChallenge(challenger, 1n, batchIndex);
  assert.equal(await challenger.challenges.read.balances([addr(CHALLENGER)]), balanceBefore + SLASH / 2n, 'the bond back and half the slash');
  assert.deepEqual(await challenger.challenges.read.submitterBondOf([addr(SUBMITTER)]), { bonded: parseEther('50'), unbonding: 0n, unlockBlock: 0n });
  assert.equal(await (await t.as(0)).openToken.read.balanceOf([addr(SLASH_SINK)]), sinkBefore + SLASH / 2n);
  assert.equal(await resolvedData(challenger, 1n, batchIndex), undefined);
});

test('data that matches its hash but not the anchored root is reported invalid, not challenged (a DA challenge would be answered)', async () => {
  const { batchIndex } = await anchorBatch([{ contributor: 5, record: 'mislabelled batch' }], nodeStoreBackend(served), keccak256(toHex('some other root')));
  const challenger = await depsOf(CHALLENGER);
  const { availability, challengeTx } = await challengeIfUnavailable(challenger, altDaHttpBackend(daUrl), 1n, batchIndex);
  assert.equal(availability.status, 'invalid');
  assert.ok(availability.status === 'invalid' && availability.error instanceof DaPayloadError);
  assert.equal(challengeTx, undefined);
  assert.equal((await checkBatchAvailability(challenger.registry, altDaHttpBackend(daUrl), 1n, 99n)).status, 'invalid', 'no such batch');
});

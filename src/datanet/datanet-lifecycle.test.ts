import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { keccak256, parseEther, type Address, type Hex } from 'viem';
import type { TestProtocol } from '../chain/test-chain.ts';
import type { Database } from '../store/database.ts';
import { contributionProof } from './anchor-batches.ts';
import type { NodeContext } from '../store/node-context.ts';
import { contentHashOf, contributionIdOf } from './contribution-id.ts';
import { getContribution, listContributions } from './contributions.ts';
import { createDatanet } from './create-datanet.ts';
import { decideContribution } from './curate.ts';
import type { Datanet, IngestResult } from './datanet-types.ts';
import { getDatanet } from './datanets.ts';
import { parseDefinition } from './definition.ts';
import { ingestRecords } from './ingest-records.ts';
import { contributionTree } from './merkle.ts';
import { signConsent } from './consent.ts';
import { acceptConsent } from './record-consent.ts';
import { createSnapshot } from './snapshots.ts';
import { createDatanetWorker } from './worker.ts';
import { startDatanetTestContext } from './test-context.ts';
import { StakingRole } from '../chain/staking-role.ts';
import { fetchBatchData } from './da/fetch-batch-data.ts';
import { nodeStoreBackend } from './da/node-store-backend.ts';

// Accounts: 0 the node (deployer, treasury), 1 datanet owner, 2 curator, 3 and 4 contributors, 5 stranger.
const OWNER = 1;
const CURATOR = 2;
const ALICE = 3;
const BOB = 4;
const STRANGER = 5;
const STAKE = parseEther('100');

let t: TestProtocol;
let db: Database;
let ctx: NodeContext;
let stop: () => Promise<void>;
const addr = (i: number): Address => t.accounts[i]!.address;

before(async () => {
  ({ t, db, ctx, stop } = await startDatanetTestContext());
  for (const i of [ALICE, BOB]) await t.mined((await t.as(0)).openToken.write.transfer([addr(i), parseEther('1000')]));
});

after(() => stop?.());

async function stake(i: number, datanet: Datanet, amount = STAKE) {
  const p = await t.as(i);
  await t.mined(p.openToken.write.approve([t.addresses.staking, amount]));
  await t.mined(p.staking.write.stake([StakingRole.Contributor, BigInt(datanet.id!), amount]));
}

const qa = (q: string, a: string) => ({ question: q, answer: a });
const items = (records: (Record<string, unknown> | string)[]) => records.map((record, index) => ({ index, record }));
const reasons = (results: IngestResult[]) => results.map((r) => (r.status === 'rejected' ? r.reason : r.status));

describe('a datanet curated automatically', () => {
  let datanet: Datanet;

  test('is created by its owner and registered on chain, owned by the owner, curated by the node', async () => {
    datanet = await createDatanet(
      ctx,
      addr(OWNER),
      parseDefinition({
        name: 'medical-qa',
        description: 'Questions and answers about medicine',
        licence: 'CC-BY-4.0',
        contributionStake: STAKE.toString(),
        curators: [addr(CURATOR)],
        recordSchema: {
          type: 'object',
          required: ['question', 'answer'],
          properties: { question: { type: 'string' }, answer: { type: 'string' } },
          additionalProperties: false,
        },
        rules: { minChars: 10, forbiddenPatterns: ['buy now'] },
      }),
    );
    assert.equal(datanet.status, 'active');
    assert.equal(datanet.id, 1);
    const onChain = await ctx.contracts.datanetRegistry.read.getDatanet([1n]);
    assert.equal(onChain.owner, addr(OWNER));
    assert.equal(onChain.metadataURI, datanet.metadataURI);
    assert.equal(onChain.contributionStake, STAKE);
    assert.equal(await ctx.contracts.datanetRegistry.read.isCurator([1n, addr(0)]), true, 'the node curates');
    assert.equal(await ctx.contracts.datanetRegistry.read.isCurator([1n, addr(CURATOR)]), true);
    await assert.rejects(createDatanet(ctx, addr(BOB), parseDefinition({ name: 'medical-qa', licence: 'MIT' })), /already exists/);
  });

  test('a contributor without the stake is refused, record by record', async () => {
    const { results, rejected } = await ingestRecords(ctx, datanet, addr(ALICE), items([qa('What is a fever?', 'A raised body temperature.')]));
    assert.equal(rejected, 1);
    assert.deepEqual(reasons(results), ['insufficient_stake']);
  });

  test('validation accepts good records and rejects each bad one with its reason', async () => {
    await stake(ALICE, datanet);
    const long = 'Influenza is a contagious respiratory illness caused by influenza viruses that infect the nose, throat and lungs.';
    const { results, accepted, rejected } = await ingestRecords(
      ctx,
      datanet,
      addr(ALICE),
      items([
        qa('What is a fever?', 'A raised body temperature.'),
        qa('What is influenza?', long),
        { question: 'Missing answer' },
        qa('Short', 'x'),
        qa('Deal?', 'Buy now at our pharmacy, cheap pills!'),
        qa('What is a fever?', 'A raised body temperature.'),
        qa('what is influenza', long.replace('nose, throat', 'nose,  throat').toUpperCase()),
        '   ',
        { question: 'x'.repeat(70_000), answer: 'too big' },
      ]),
    );
    assert.deepEqual(reasons(results), [
      'accepted', 'accepted', 'schema_mismatch', 'too_short', 'forbidden_pattern', 'duplicate', 'near_duplicate', 'empty', 'too_large',
    ]);
    assert.equal(accepted, 2);
    assert.equal(rejected, 7);
    const dup = results[5]!;
    assert.ok(dup.status === 'rejected' && dup.duplicateOf === (results[0] as { id: Hex }).id);
    // The id is what the contract computes.
    const first = results[0] as { id: Hex };
    assert.equal(first.id, contributionIdOf(contentHashOf(qa('What is a fever?', 'A raised body temperature.')), addr(ALICE)));
    // Another contributor sending the same content is a duplicate too.
    await stake(BOB, datanet);
    const again = await ingestRecords(ctx, datanet, addr(BOB), items([qa('What is a fever?', 'A raised body temperature.')]));
    assert.deepEqual(reasons(again.results), ['duplicate']);
  });

  test('accepted contributions are anchored in one batch; each has a proof the registry accepts', async () => {
    const worker = createDatanetWorker(ctx);
    const pass = await worker.runOnce();
    assert.equal(pass.batches, 1);
    const batch = await ctx.contracts.datanetRegistry.read.getBatch([1n, 0n]);
    assert.equal(batch.count, 2n);
    const { contributions } = await listContributions(db, { datanetId: 1, status: 'accepted', limit: 10 });
    for (const c of contributions) {
      const proof = await contributionProof(ctx, c.id);
      assert.equal(proof.root, batch.root);
      assert.equal(await ctx.contracts.datanetRegistry.read.verifyContribution([1n, BigInt(proof.batchIndex), c.id, proof.proof]), true);
    }
    // The batch carries its DA commitment: its records, published in the node's blob store, rebuild the anchored root.
    const data = await fetchBatchData(ctx.contracts.datanetRegistry, nodeStoreBackend(ctx.blobs), 1n, 0n);
    assert.deepEqual(data.records.map((r) => r.id).sort(), contributions.map((c) => c.id).sort());
    assert.deepEqual(data.records.map((r) => keccak256(r.content)).sort(), contributions.map((c) => c.contentHash).sort());
    assert.deepEqual(data.records.map((r) => r.contributor.toLowerCase()).sort(), contributions.map((c) => c.contributor.toLowerCase()).sort());
    assert.equal(batch.uri, `altda:${data.commitment}`);
    assert.equal((await worker.runOnce()).batches, 0, 'nothing left to anchor');
  });

  test('a snapshot freezes the accepted set on chain; the same set again is the same snapshot', async () => {
    const { snapshot, created } = await createSnapshot(ctx, datanet, addr(OWNER));
    assert.equal(created, true);
    assert.equal(snapshot.status, 'recorded');
    assert.equal(snapshot.count, 2);
    const onChain = await ctx.contracts.datanetRegistry.read.getSnapshot([1n, BigInt(snapshot.snapshotIndex!)]);
    assert.equal(onChain.root, snapshot.root);
    assert.equal(await ctx.contracts.datanetRegistry.read.isSnapshotOf([1n, snapshot.root]), true);
    const { contributions } = await listContributions(db, { snapshotId: snapshot.id, limit: 10 });
    const tree = contributionTree(contributions.map((c) => c.id));
    assert.equal(tree.root, snapshot.root);
    const member = contributions[0]!.id;
    assert.equal(await ctx.contracts.datanetRegistry.read.verifySnapshotMember([1n, BigInt(snapshot.snapshotIndex!), member, tree.getProof([member]) as Hex[]]), true);
    const again = await createSnapshot(ctx, datanet, addr(OWNER));
    assert.equal(again.created, false);
    assert.equal(again.snapshot.id, snapshot.id);
  });
});

describe('a datanet curated by hand', () => {
  let datanet: Datanet;

  test('records wait for a curator; approval accepts, rejection as spam slashes the stake on chain (with the contributor\'s signed consent as evidence)', async () => {
    datanet = await createDatanet(
      ctx,
      addr(OWNER),
      parseDefinition({ name: 'poems', licence: 'CC0-1.0', contributionStake: STAKE.toString(), curators: [addr(CURATOR)], curation: 'manual' }),
    );
    await stake(ALICE, datanet, STAKE * 2n);
    const records = ['The fog comes on little cat feet.', 'CHEAP WATCHES cheap watches best prices click here now'];
    const contentHashes = records.map(contentHashOf);
    const consent = await signConsent(t.accounts[ALICE]!, { chainId: 31337, registry: t.addresses.datanetRegistry, datanetId: datanet.id!, contentHashes });
    await assert.rejects(acceptConsent(ctx, datanet, addr(ALICE), undefined), /takes a contribution stake/);
    const consentId = (await acceptConsent(ctx, datanet, addr(ALICE), consent, contentHashes))!;
    const { results, pending } = await ingestRecords(ctx, datanet, addr(ALICE), items(records), { consentId });
    assert.equal(pending, 2);
    const [poem, spam] = results as { id: Hex }[];

    await assert.rejects(decideContribution(ctx, datanet, poem!.id, addr(STRANGER), { approve: true }), /is not a curator/);
    assert.equal((await decideContribution(ctx, datanet, poem!.id, addr(CURATOR), { approve: true })).status, 'accepted');
    await assert.rejects(decideContribution(ctx, datanet, poem!.id, addr(CURATOR), { approve: true }), /not pending/);

    const treasuryBefore = await ctx.contracts.openToken.read.balanceOf([addr(0)]);
    const rejected = await decideContribution(ctx, datanet, spam!.id, addr(OWNER), { approve: false, reason: 'advertising', spam: true });
    assert.equal(rejected.status, 'rejected');
    assert.equal(rejected.spam, true);
    const stakeLeft = await ctx.contracts.staking.read.positionOf([addr(ALICE), StakingRole.Contributor, BigInt(datanet.id!)]);
    assert.equal(stakeLeft.bonded, STAKE, 'one contribution stake slashed');
    assert.equal(await ctx.contracts.openToken.read.balanceOf([addr(0)]), treasuryBefore + STAKE, 'to the slash destination');

    // Content sent without a consent (a datanet without a stake takes it) gives the curator no
    // evidence: a spam rejection is recorded, and nothing is slashed.
    const unsigned = await ingestRecords(ctx, datanet, addr(ALICE), items(['FREE PRIZES click this link to claim yours today']));
    const noEvidence = await decideContribution(ctx, datanet, (unsigned.results[0] as { id: Hex }).id, addr(OWNER), { approve: false, reason: 'advertising', spam: true });
    assert.equal(noEvidence.status, 'rejected');
    const [slash] = await db.query<{ slash_status: string }>('select slash_status from contributions where id = $1', [noEvidence.id]);
    assert.equal(slash?.slash_status, 'failed');
    assert.equal((await ctx.contracts.staking.read.positionOf([addr(ALICE), StakingRole.Contributor, BigInt(datanet.id!)])).bonded, STAKE, 'nothing slashed without evidence');

    // The rejected content can be neither resubmitted nor counted as a near-duplicate of anything.
    const again = await ingestRecords(ctx, datanet, addr(ALICE), items(['CHEAP WATCHES cheap watches best prices click here now']));
    assert.deepEqual(reasons(again.results), ['previously_rejected']);
    assert.equal((await getContribution(db, spam!.id)).reason, 'advertising');
  });
});

describe('recovery after a crash', () => {
  test('a datanet whose creation was sent but not recorded is found, not created twice', async () => {
    const worker = createDatanetWorker(ctx);
    const head = await ctx.clients.publicClient.getBlockNumber();
    const [row] = await db.query<{ key: string }>(
      `insert into datanets (chain_id, owner, name, licence, curation, near_duplicate_threshold, metadata_uri, status, sent_from_block)
       values (31337, $1, 'crashed', 'MIT', 'auto', 0.8, 'openledger://blob/crashed', 'creating', $2) returning key`,
      [addr(OWNER), head.toString()],
    );
    // The node had sent the transaction when it died.
    await t.mined(ctx.contracts.datanetRegistry.write.createDatanet(['openledger://blob/crashed', 'MIT', 0n, [addr(0)]]));
    const countBefore = await ctx.contracts.datanetRegistry.read.datanetCount();
    const pass = await worker.runOnce();
    assert.equal(pass.registered, 1);
    assert.equal(await ctx.contracts.datanetRegistry.read.datanetCount(), countBefore, 'not created twice');
    const [after] = await db.query<{ id: string; status: string }>('select id, status from datanets where key = $1', [row!.key]);
    assert.equal(after?.status, 'active');
    assert.equal((await ctx.contracts.datanetRegistry.read.getDatanet([BigInt(after!.id)])).owner, addr(OWNER));
    assert.equal((await getDatanet(db, Number(after!.id))).name, 'crashed');
  });
});

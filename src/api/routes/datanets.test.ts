import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelLoader, storeModelSource } from '../../attribution/model-loader.ts';
import { createBuiltinEngine } from '../../serve/builtin-engine.ts';
import { referenceBackend } from '../../model/test-models.test-util.ts';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { parseEther, type Address, type Hex } from 'viem';
import type { TestProtocol } from '../../chain/test-chain.ts';
import type { NodeContext } from '../../store/node-context.ts';
import type { Contribution, ContributionRecord, Datanet, IngestResult, IngestSummary, Snapshot } from '../../datanet/datanet-types.ts';
import type { DatanetDefinitionInput } from '../../datanet/definition.ts';
import type { ContributionProof, AnchorBatch } from '../../datanet/anchor-batches.ts';
import { createBlobHasher } from '../../store/blobs.ts';
import type { Database } from '../../store/database.ts';
import { bodyHashOf, SIGNATURE_HEADERS, signRequest } from '../request-signature.ts';
import { buildApi } from '../server.ts';
import { MAX_RECORDS_PER_REQUEST } from '../contract/datanets.ts';
import { startDatanetTestContext } from '../../datanet/test-context.ts';
import { uploadFile } from '../../cli/api-client.ts';
import { signConsent } from '../../datanet/consent.ts';
import { contentHashOf } from '../../datanet/contribution-id.ts';
import { StakingRole } from '../../chain/staking-role.ts';
import { altDaHttpBackend } from '../../datanet/da/alt-da-http.ts';
import { fetchBatchData } from '../../datanet/da/fetch-batch-data.ts';

// The real API over real HTTP: buildApi on a fresh chain (anvil) and an in-memory store, listening on
// an ephemeral port, called with fetch and EIP-712 signed headers.
// Accounts: 0 the node, 1 datanet owner, 2 curator, 3 and 4 contributors, 5 stranger.
const NODE = 0;
const OWNER = 1;
const CURATOR = 2;
const ALICE = 3;
const BOB = 4;
const STRANGER = 5;
const STAKE = parseEther('100');
/** The most bytes of an upload here (256 MiB by default): small, to send a larger file. */
const UPLOAD_LIMIT = 64 * 1024;

let t: TestProtocol;
let db: Database;
let ctx: NodeContext;
let app: FastifyInstance;
let api: string;
let chainId: number;
let stop: () => Promise<void>;
const addr = (i: number): Address => t.accounts[i]!.address;

before(async () => {
  ({ t, db, ctx, stop } = await startDatanetTestContext()); // the node is account 0 (NODE)
  chainId = ctx.clients.chain.id;
  for (const i of [ALICE, BOB]) await t.mined((await t.as(NODE)).openToken.write.transfer([addr(i), parseEther('1000')]));
  // API_LOG=error shows the server's log (a 500's cause); silent otherwise.
  const models = createModelLoader({ source: storeModelSource(db, ctx.blobs), backend: referenceBackend(), cacheDir: join(tmpdir(), 'openledger-api-models') });
  app = buildApi({ ...ctx, models, engine: createBuiltinEngine({ loadBase: (b) => models.base(b.id) }), rpcUrl: t.anvil.url, embeddedChain: false, addresses: t.addresses, version: 'test', logLevel: process.env.API_LOG ?? 'silent', checkResponses: true, maxUploadBytes: UPLOAD_LIMIT });
  api = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await app?.close();
  await stop?.();
});

// ---------------------------------------------------------------------------------------------
// HTTP helpers

/** An answer: the status and the parsed JSON body. */
interface Reply<T> {
  status: number;
  body: T;
}

/** The API's error format. */
interface ErrorBody {
  error: string;
  message: string;
  issues?: { field: string; message: string }[];
}

/** Sends a request as is: `body` is the raw text (sent as application/json), `headers` are added. */
async function send<T = ErrorBody>(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers };
  const res = await fetch(`${api}${path}`, { method, headers, body: init.body });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** What a signature covers, and the knobs the authentication tests turn. */
interface SignOptions {
  /** The raw body the signature covers (none: the empty body). */
  body?: string;
  timestamp?: number;
  nonce?: Hex;
  chainId?: number;
  /** The node the request is signed for (default this one, account 0). */
  node?: Address;
}

/** The signature headers of dev account `who` for `method path` (path with its query). */
function signatureHeaders(who: number, method: string, path: string, opts: SignOptions = {}): Promise<Record<string, string>> {
  return signRequest(t.accounts[who]!, {
    chainId: opts.chainId ?? chainId,
    node: opts.node ?? addr(NODE),
    method,
    path,
    bodyHash: bodyHashOf(opts.body),
    ...(opts.timestamp === undefined ? {} : { timestamp: opts.timestamp }),
    ...(opts.nonce === undefined ? {} : { nonce: opts.nonce }),
  });
}

/** A request signed by dev account `who`, with `body` sent as JSON. */
async function signed<T = ErrorBody>(who: number, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return send<T>(method, path, { body: text, headers: await signatureHeaders(who, method, path, { body: text }) });
}

const get = <T = ErrorBody>(path: string) => send<T>('GET', path);

/** The consent of dev account `who` to `records` in datanet `id`, as the CLI and the web app sign it. */
const consentOf = (who: number, id: number, records: unknown[]) =>
  signConsent(t.accounts[who]!, { chainId, registry: t.addresses.datanetRegistry, datanetId: id, contentHashes: records.map((r) => contentHashOf(r as ContributionRecord)) });

/** Records contributed by dev account `who` to datanet `id`, signed as its consent. */
async function contribute<T = ContributeReply>(who: number, id: number, records: unknown[]): Promise<Reply<T>> {
  return signed<T>(who, 'POST', `/datanets/${id}/contributions`, { records, consent: await consentOf(who, id, records) });
}

/** Asserts an error answer: its status, its `error` code, and optionally its message. */
function assertError(reply: Reply<unknown>, status: number, code: string, message?: RegExp): ErrorBody {
  const body = reply.body as ErrorBody;
  assert.equal(reply.status, status, `expected ${status} ${code}, got ${reply.status} ${JSON.stringify(body)}`);
  assert.equal(body.error, code, JSON.stringify(body));
  assert.equal(typeof body.message, 'string');
  if (message) assert.match(body.message, message);
  return body;
}

/** Asserts a 400 whose issues name `field`. */
function assertBadField(reply: Reply<unknown>, field: string): void {
  const body = assertError(reply, 400, 'bad_request');
  assert.ok(
    body.issues?.some((i) => i.field === field),
    `expected an issue naming ${field}: ${JSON.stringify(body.issues)}`,
  );
  assert.match(body.message, new RegExp(`\\b${field}:`));
}

/** Creates a datanet through the API, signed by `owner`; asserts the 201. */
async function createVia(owner: number, def: DatanetDefinitionInput): Promise<Datanet> {
  const reply = await signed<Datanet>(owner, 'POST', '/datanets', def);
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body;
}

/** Bonds `amount` as a contributor of datanet `id` on chain, as dev account `who`. */
async function stakeOnChain(who: number, id: number, amount = STAKE): Promise<void> {
  const p = await t.as(who);
  await t.mined(p.openToken.write.approve([t.addresses.staking, amount]));
  await t.mined(p.staking.write.stake([StakingRole.Contributor, BigInt(id), amount]));
}

type ContributeReply = IngestSummary & { results: IngestResult[] };
type ContributionPage = { contributions: Contribution[]; next: string | null };
type DatanetPage = { datanets: Datanet[]; next: number | null };

const qa = (question: string, answer: string) => ({ question, answer });
const idOf = (r: IngestResult | undefined): Hex => {
  assert.ok(r && r.status !== 'rejected', `expected a stored record, got ${JSON.stringify(r)}`);
  return r.id;
};

// ---------------------------------------------------------------------------------------------

describe('signed requests', () => {
  let probe: Datanet;
  const def = (name: string): DatanetDefinitionInput => ({ name, licence: 'MIT', description: 'an authentication probe' });

  test('a correctly signed request is served once; the same request again is replayed_request', async () => {
    const body = JSON.stringify(def('signed-probe'));
    const headers = await signatureHeaders(OWNER, 'POST', '/datanets', { body });
    const first = await send<Datanet>('POST', '/datanets', { body, headers });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    probe = first.body;
    assert.equal(probe.owner, addr(OWNER));
    const again = await send('POST', '/datanets', { body, headers });
    assertError(again, 401, 'replayed_request');

    // A replay of a request that changes nothing is refused too (the nonce is spent either way).
    const anchor = await signatureHeaders(OWNER, 'POST', `/datanets/${probe.id}/anchor`);
    assert.equal((await send('POST', `/datanets/${probe.id}/anchor`, { headers: anchor })).status, 200);
    assertError(await send('POST', `/datanets/${probe.id}/anchor`, { headers: anchor }), 401, 'replayed_request');
  });

  test('an unsigned or partly signed request is unsigned_request', async () => {
    const body = JSON.stringify(def('unsigned'));
    assertError(await send('POST', '/datanets', { body }), 401, 'unsigned_request', /x-openledger-signature/);
    const headers = await signatureHeaders(OWNER, 'POST', '/datanets', { body });
    delete headers[SIGNATURE_HEADERS.signature];
    assertError(await send('POST', '/datanets', { body, headers }), 401, 'unsigned_request');
    assertError(await send('POST', `/datanets/${probe.id}/anchor`), 401, 'unsigned_request');
  });

  test('a signature by another key than the claimed address is bad_signature', async () => {
    const body = JSON.stringify(def('impostor'));
    const headers = await signatureHeaders(STRANGER, 'POST', '/datanets', { body });
    headers[SIGNATURE_HEADERS.address] = addr(OWNER);
    assertError(await send('POST', '/datanets', { body, headers }), 401, 'bad_signature', /does not match/);
  });

  test('a body changed after signing is bad_signature', async () => {
    const headers = await signatureHeaders(OWNER, 'POST', '/datanets', { body: JSON.stringify(def('as-signed')) });
    assertError(await send('POST', '/datanets', { body: JSON.stringify(def('tampered')), headers }), 401, 'bad_signature');
    // Even a change that parses to the same JSON: the signature covers the bytes.
    const body = JSON.stringify(def('same-json'));
    const sameJson = await signatureHeaders(OWNER, 'POST', '/datanets', { body });
    assertError(await send('POST', '/datanets', { body: ` ${body}`, headers: sameJson }), 401, 'bad_signature');
  });

  test('a signature for another path or query is refused', async () => {
    // Signed for a snapshot, sent to anchor: the owner may do both, yet the signature is for one.
    const headers = await signatureHeaders(OWNER, 'POST', `/datanets/${probe.id}/snapshots`);
    assertError(await send('POST', `/datanets/${probe.id}/anchor`, { headers }), 401, 'bad_signature');
    const body = JSON.stringify(def('query-probe'));
    const query = await signatureHeaders(OWNER, 'POST', '/datanets?via=cli', { body });
    assertError(await send('POST', '/datanets?via=api', { body, headers: query }), 401, 'bad_signature');
    const noQuery = await signatureHeaders(OWNER, 'POST', '/datanets', { body });
    assertError(await send('POST', '/datanets?via=api', { body, headers: noQuery }), 401, 'bad_signature');
  });

  test('a timestamp 10 minutes away from the clock is stale_signature', async () => {
    const body = JSON.stringify(def('stale'));
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 600, now + 600]) {
      const headers = await signatureHeaders(OWNER, 'POST', '/datanets', { body, timestamp });
      assertError(await send('POST', '/datanets', { body, headers }), 401, 'stale_signature');
    }
  });

  test('a signature for another chain id is refused', async () => {
    const body = JSON.stringify(def('other-chain'));
    const headers = await signatureHeaders(OWNER, 'POST', '/datanets', { body, chainId: chainId + 1 });
    assertError(await send('POST', '/datanets', { body, headers }), 401, 'bad_signature');
  });

  test('a request signed for another node is refused here (no replay across nodes within the clock skew)', async () => {
    const body = JSON.stringify(def('other-node'));
    const headers = await signatureHeaders(OWNER, 'POST', '/datanets', { body, node: addr(STRANGER) });
    assertError(await send('POST', '/datanets', { body, headers }), 401, 'bad_signature', /the node it is signed for/);
  });

  test('no refused request created anything', async () => {
    const { body } = await get<DatanetPage>('/datanets?limit=500');
    assert.deepEqual(body.datanets.map((d) => d.name), ['signed-probe']);
  });
});

describe('a datanet curated automatically, through HTTP', () => {
  let datanet: Datanet;
  const accepted: Hex[] = [];

  test('POST /datanets creates it (201), registered on chain and owned by the signer', async () => {
    datanet = await createVia(OWNER, {
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
      rules: { minChars: 20, forbiddenPatterns: ['buy now'] },
    });
    assert.equal(datanet.status, 'active');
    assert.equal(datanet.owner, addr(OWNER));
    assert.deepEqual(datanet.curators, [addr(CURATOR)]);
    assert.equal(typeof datanet.id, 'number');
    const onChain = await ctx.contracts.datanetRegistry.read.getDatanet([BigInt(datanet.id!)]);
    assert.equal(onChain.owner, addr(OWNER));
    assert.equal(onChain.contributionStake, STAKE);
    const fetched = await get<Datanet>(`/datanets/${datanet.id}`);
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body, datanet);
    // The name is taken now.
    assertError(await signed(BOB, 'POST', '/datanets', { name: 'medical-qa', licence: 'MIT' }), 409, 'name_taken');
  });

  test('contributions before staking are rejected record by record; after staking, each record has its outcome', async () => {
    const path = `/datanets/${datanet.id}/contributions`;
    const early = await contribute(ALICE, datanet.id!, [qa('What is a fever?', 'A raised body temperature.')]);
    assert.equal(early.status, 200);
    assert.equal(early.body.results[0]?.status, 'rejected');
    assert.equal((early.body.results[0] as { reason: string }).reason, 'insufficient_stake');

    await stakeOnChain(ALICE, datanet.id!);
    const reply = await contribute(ALICE, datanet.id!, [
        qa('What is a fever?', 'A raised body temperature, usually above 38 degrees Celsius.'),
        qa('What is influenza?', 'A contagious respiratory illness caused by influenza viruses.'),
        { question: 'Missing its answer' },
        qa('What is anaemia?', 'A lack of healthy red blood cells to carry oxygen around the body.'),
        qa('Deal of the day?', 'Buy now at our online pharmacy, cheap pills for everyone!'),
        qa('What is a fever?', 'A raised body temperature, usually above 38 degrees Celsius.'),
        qa('What is asthma?', 'A condition in which the airways narrow, swell and produce extra mucus.'),
        qa('Hi', 'Yes'),
    ]);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const { results } = reply.body;
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' ? r.reason : r.status)),
      ['accepted', 'accepted', 'schema_mismatch', 'accepted', 'forbidden_pattern', 'duplicate', 'accepted', 'too_short'],
    );
    assert.deepEqual(results.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual({ records: reply.body.records, accepted: reply.body.accepted, pending: reply.body.pending, rejected: reply.body.rejected }, {
      records: 8,
      accepted: 4,
      pending: 0,
      rejected: 4,
    });
    const mismatch = results[2]!;
    assert.ok(mismatch.status === 'rejected' && /answer/.test(mismatch.detail), JSON.stringify(mismatch));
    const dup = results[5]!;
    assert.ok(dup.status === 'rejected' && dup.duplicateOf === idOf(results[0]), JSON.stringify(dup));
    for (const i of [0, 1, 3, 6]) accepted.push(idOf(results[i]));

    // A second submission, in a later transaction, by another contributor.
    await stakeOnChain(BOB, datanet.id!);
    const more = await contribute(BOB, datanet.id!, [
      qa('What is a migraine?', 'A headache of varying intensity, often with nausea and sensitivity to light.'),
      qa('What is tinnitus?', 'Hearing ringing or other noises in the ears that are not caused by an outside sound.'),
    ]);
    assert.equal(more.status, 200);
    assert.equal(more.body.accepted, 2);
    for (const r of more.body.results) accepted.push(idOf(r));

    const one = await get<Contribution>(`/contributions/${accepted[0]}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.contributor, addr(ALICE));
    assert.equal(one.body.status, 'accepted');
  });

  test('GET contributions pages with `next`: every page follows the previous one, no overlap, nothing missed', async () => {
    const seen: Hex[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const path: string = `/datanets/${datanet.id}/contributions?status=accepted&limit=2${next ? `&before=${encodeURIComponent(next)}` : ''}`;
      const page: Reply<ContributionPage> = await get<ContributionPage>(path);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.ok(page.body.contributions.length <= 2);
      for (const c of page.body.contributions) {
        assert.ok(!seen.includes(c.id), `contribution ${c.id} on two pages`);
        assert.equal(c.status, 'accepted');
        seen.push(c.id);
      }
      next = page.body.next;
      pages++;
      assert.ok(pages <= 10, 'pagination does not end');
    } while (next);
    assert.deepEqual([...seen].sort(), [...accepted].sort(), 'the pages together are every accepted contribution');
    // Newest first: Bob's later submission leads.
    assert.deepEqual(seen.slice(0, 2).sort(), accepted.slice(4).sort());

    const unfiltered = await get<ContributionPage>(`/datanets/${datanet.id}/contributions?limit=500`);
    assert.equal(unfiltered.body.contributions.length, accepted.length);
    assert.equal(unfiltered.body.next, null);
    const bobs = await get<ContributionPage>(`/contributors/${addr(BOB)}/contributions?datanet=${datanet.id}`);
    assert.deepEqual(bobs.body.contributions.map((c) => c.id).sort(), accepted.slice(4).sort());
  });

  test('the first page with limit=2 and the page after its cursor are disjoint and consecutive', async () => {
    const all = (await get<ContributionPage>(`/datanets/${datanet.id}/contributions?limit=500`)).body.contributions.map((c) => c.id);
    const first = await get<ContributionPage>(`/datanets/${datanet.id}/contributions?limit=3`);
    assert.deepEqual(first.body.contributions.map((c) => c.id), all.slice(0, 3));
    assert.ok(first.body.next);
    const second = await get<ContributionPage>(`/datanets/${datanet.id}/contributions?limit=3&before=${encodeURIComponent(first.body.next)}`);
    assert.deepEqual(second.body.contributions.map((c) => c.id), all.slice(3, 6), 'the page after the cursor starts where the first ended');
  });

  test('a contribution is not provable before anchoring (409)', async () => {
    assertError(await get(`/contributions/${accepted[0]}/proof`), 409, 'not_anchored');
  });

  test('POST /datanets/:id/anchor anchors the accepted contributions; each proof verifies on chain', async () => {
    const reply = await signed<{ batches: AnchorBatch[] }>(OWNER, 'POST', `/datanets/${datanet.id}/anchor`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.batches.length, 1);
    const [batch] = reply.body.batches;
    assert.equal(batch!.status, 'anchored');
    assert.equal(batch!.count, accepted.length);
    const onChain = await ctx.contracts.datanetRegistry.read.getBatch([BigInt(datanet.id!), BigInt(batch!.batchIndex!)]);
    assert.equal(onChain.root, batch!.root);
    // Anyone reads the batch's records through the node's Alt-DA API (/altda), checked against the chain.
    const data = await fetchBatchData(ctx.contracts.datanetRegistry, altDaHttpBackend(`${api}/altda`), BigInt(datanet.id!), BigInt(batch!.batchIndex!));
    assert.deepEqual(data.records.map((r) => r.id).sort(), accepted.map((id) => id.toLowerCase()).sort());

    for (const id of accepted) {
      const proof = await get<ContributionProof>(`/contributions/${id}/proof`);
      assert.equal(proof.status, 200, JSON.stringify(proof.body));
      assert.equal(proof.body.contributionId, id.toLowerCase());
      assert.equal(proof.body.root, batch!.root);
      const { datanetId, batchIndex } = proof.body;
      assert.equal(datanetId, datanet.id);
      assert.equal(await ctx.contracts.datanetRegistry.read.verifyContribution([BigInt(datanetId), BigInt(batchIndex), id, proof.body.proof]), true);
      // The proof is for this id only.
      const other = accepted.find((a) => a !== id)!;
      assert.equal(await ctx.contracts.datanetRegistry.read.verifyContribution([BigInt(datanetId), BigInt(batchIndex), other, proof.body.proof]), false);
    }
    // A curator may anchor too; nothing is left.
    const again = await signed<{ batches: AnchorBatch[] }>(CURATOR, 'POST', `/datanets/${datanet.id}/anchor`);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.batches, []);
  });

  test('POST /datanets/:id/snapshots records a snapshot (201); the same set again is the same snapshot (200)', async () => {
    const path = `/datanets/${datanet.id}/snapshots`;
    const first = await signed<Snapshot>(OWNER, 'POST', path);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.status, 'recorded');
    assert.equal(first.body.count, accepted.length);
    assert.equal(first.body.requestedBy, addr(OWNER));
    const onChain = await ctx.contracts.datanetRegistry.read.getSnapshot([BigInt(datanet.id!), BigInt(first.body.snapshotIndex!)]);
    assert.equal(onChain.root, first.body.root);

    const again = await signed<Snapshot>(CURATOR, 'POST', path);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.root, first.body.root);

    const list = await get<{ snapshots: Snapshot[] }>(path);
    assert.deepEqual(list.body.snapshots.map((s) => s.id), [first.body.id]);
    assert.deepEqual((await get<Snapshot>(`/snapshots/${first.body.id}`)).body, first.body);
    const members = await get<ContributionPage>(`/snapshots/${first.body.id}/contributions?limit=500`);
    assert.deepEqual(members.body.contributions.map((c) => c.id).sort(), [...accepted].sort());
    assertError(await get(`/snapshots/9999`), 404, 'not_found');
  });

  test('two snapshot requests for the same new set at once get one snapshot (201 and 200), not a 500', async () => {
    const more = await contribute(ALICE, datanet.id!, [qa('What is vertigo?', 'A sensation that you or your surroundings are spinning, often with dizziness.')]);
    assert.equal(more.body.accepted, 1, JSON.stringify(more.body));
    accepted.push(idOf(more.body.results[0]));
    const path = `/datanets/${datanet.id}/snapshots`;
    const replies = await Promise.all([signed<Snapshot>(OWNER, 'POST', path), signed<Snapshot>(CURATOR, 'POST', path)]);
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 201], JSON.stringify(replies.map((r) => r.body)));
    assert.equal(replies[0]!.body.id, replies[1]!.body.id);
    assert.equal(replies[0]!.body.count, accepted.length);
    assert.equal(replies[0]!.body.status, 'recorded');
  });

  test('GET /datanets?q= finds datanets by name or description, case-insensitively', async () => {
    const names = async (query: string) => {
      const reply = await get<DatanetPage>(`/datanets?${query}`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body.datanets.map((d) => d.name);
    };
    assert.deepEqual(await names('q=medical'), ['medical-qa']);
    assert.deepEqual(await names('q=MEDICINE'), ['medical-qa'], 'by a word of the description');
    assert.deepEqual(await names('q=probe'), ['signed-probe']);
    assert.deepEqual(await names('q=no-such-thing'), []);
    assert.deepEqual(await names(`owner=${addr(OWNER)}`), ['medical-qa', 'signed-probe'], 'newest first');
    assert.deepEqual(await names(`owner=${addr(BOB)}`), []);
    const page = await get<DatanetPage>('/datanets?limit=1');
    assert.equal(page.body.next, datanet.id);
    assert.deepEqual((await get<DatanetPage>(`/datanets?limit=1&before=${page.body.next}`)).body.datanets.map((d) => d.name), ['signed-probe']);
  });
});

describe('roles', () => {
  let poems: Datanet;
  let poem: Hex;
  let spam: Hex;

  before(async () => {
    poems = await createVia(OWNER, { name: 'poems', licence: 'CC0-1.0', contributionStake: STAKE.toString(), curators: [addr(CURATOR)], curation: 'manual' });
    await stakeOnChain(ALICE, poems.id!, STAKE * 2n);
    const reply = await contribute(ALICE, poems.id!, ['The fog comes on little cat feet.', 'CHEAP WATCHES cheap watches best prices click here now']);
    assert.equal(reply.body.pending, 2, JSON.stringify(reply.body));
    poem = idOf(reply.body.results[0]);
    spam = idOf(reply.body.results[1]);
  });

  test('only the owner or a curator decides a contribution: others get 403 forbidden', async () => {
    const path = `/datanets/${poems.id}/contributions/${poem}/decision`;
    assertError(await signed(STRANGER, 'POST', path, { approve: true }), 403, 'forbidden', new RegExp(addr(STRANGER)));
    assertError(await signed(ALICE, 'POST', path, { approve: true }), 403, 'forbidden', /curator/);
    assert.equal((await get<Contribution>(`/contributions/${poem}`)).body.status, 'pending', 'nothing was decided');

    const approved = await signed<Contribution>(CURATOR, 'POST', path, { approve: true });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.status, 'accepted');
    assert.equal(approved.body.decidedBy, addr(CURATOR));
    assertError(await signed(CURATOR, 'POST', path, { approve: true }), 409, 'not_pending');

    const rejected = await signed<Contribution>(OWNER, 'POST', `/datanets/${poems.id}/contributions/${spam}/decision`, {
      approve: false,
      reason: 'advertising',
      spam: true,
    });
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
    assert.equal(rejected.body.status, 'rejected');
    assert.equal(rejected.body.reason, 'advertising');
    assert.equal(rejected.body.spam, true);
    assert.equal((await ctx.contracts.staking.read.positionOf([addr(ALICE), StakingRole.Contributor, BigInt(poems.id!)])).bonded, STAKE, 'slashed on chain');
  });

  test('a contribution is decided only in its own datanet (404)', async () => {
    const other = (await get<DatanetPage>('/datanets?q=medical')).body.datanets[0]!;
    assertError(await signed(OWNER, 'POST', `/datanets/${other.id}/contributions/${poem}/decision`, { approve: true }), 404, 'not_found');
  });

  test('only the owner or a curator snapshots or anchors: others get 403 forbidden', async () => {
    for (const who of [STRANGER, ALICE]) {
      assertError(await signed(who, 'POST', `/datanets/${poems.id}/snapshots`), 403, 'forbidden', /owner or a curator/);
      assertError(await signed(who, 'POST', `/datanets/${poems.id}/anchor`), 403, 'forbidden', /owner or a curator/);
    }
    assert.deepEqual((await get<{ snapshots: Snapshot[] }>(`/datanets/${poems.id}/snapshots`)).body.snapshots, []);
    assertError(await get(`/contributions/${poem}/proof`), 409, 'not_anchored');

    const anchored = await signed<{ batches: AnchorBatch[] }>(CURATOR, 'POST', `/datanets/${poems.id}/anchor`);
    assert.equal(anchored.status, 200);
    assert.equal(anchored.body.batches[0]?.count, 1);
    assert.equal((await signed(CURATOR, 'POST', `/datanets/${poems.id}/snapshots`)).status, 201);
  });
});

describe("a contributor's signed consent: the evidence a spam slash needs", () => {
  test('a datanet with a contribution stake takes only signed contributions; a consent by another key, for other records or another datanet is refused, storing nothing', async () => {
    const d = await createVia(OWNER, { name: 'signed-only', licence: 'CC0-1.0', contributionStake: STAKE.toString() });
    await stakeOnChain(BOB, d.id!);
    const records = ['a first record about herbs', 'a second record about roots'];
    const path = `/datanets/${d.id}/contributions`;
    assertError(await signed(BOB, 'POST', path, { records }), 400, 'consent_required', /takes a contribution stake/);
    const byAlice = await consentOf(ALICE, d.id!, records);
    assertError(await signed(BOB, 'POST', path, { records, consent: byAlice }), 400, 'bad_consent', new RegExp(`not ${addr(BOB)}'s signature`));
    assertError(await signed(BOB, 'POST', path, { records, consent: await consentOf(BOB, d.id!, records.slice(0, 1)) }), 400, 'consent_mismatch');
    assertError(await signed(BOB, 'POST', path, { records, consent: await consentOf(BOB, d.id! + 1000, records) }), 400, 'bad_consent');
    assertError(await signed(BOB, 'POST', path, { records, consent: { root: byAlice.root, signature: '0x1234' } }), 400, 'bad_consent');
    assert.equal((await get<ContributionPage>(`${path}?limit=500`)).body.contributions.length, 0, 'nothing stored');
    const ok = await contribute(BOB, d.id!, records);
    assert.equal(ok.body.accepted, 2, JSON.stringify(ok.body));
  });

  test('a signed upload is checked against the records the node reads from the file; one signed for other records fails whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openledger-consent-'));
    try {
      const d = await createVia(OWNER, { name: 'signed-uploads', licence: 'CC0-1.0', contributionStake: STAKE.toString() });
      await stakeOnChain(BOB, d.id!);
      const file = join(dir, 'notes.jsonl');
      writeFileSync(file, ['{"text":"first note on moss"}', '{"text":"second note on ferns"}', 'not json'].join('\n'));
      const res = await uploadFile(api, d.id!, file, t.accounts[BOB]!);
      assert.equal(res.upload.status, 'done');
      assert.equal(res.upload.accepted, 2);
      assert.ok(res.upload.consentId !== null, 'the CLI signs what it uploads');
      // the same file under a consent for other records: read, found different, failed; nothing stored
      const other = join(dir, 'other.jsonl');
      writeFileSync(other, '{"text":"a third note on lichens"}\n{"text":"a fourth note on algae"}\n');
      const bytes = new Uint8Array(readFileSync(other));
      const hasher = await createBlobHasher();
      hasher.update(bytes);
      const hash = hasher.digest();
      const upPath = `/datanets/${d.id}/uploads`;
      const form = new FormData();
      form.append('file', new Blob([bytes]), 'other.jsonl');
      const consent = await consentOf(BOB, d.id!, [{ text: 'something else entirely' }]);
      const reply = await fetch(`${api}${upPath}`, {
        method: 'POST', body: form,
        headers: { ...(await signRequest(t.accounts[BOB]!, { chainId, node: addr(NODE), method: 'POST', path: upPath, bodyHash: hash })), 'x-openledger-content-hash': hash, 'x-openledger-consent-root': consent.root, 'x-openledger-consent-signature': consent.signature },
      });
      const body = (await reply.json()) as { upload: { status: string; error: string; accepted: number } };
      assert.equal(body.upload.status, 'failed');
      assert.match(body.upload.error, /not the signed root/);
      assert.equal(body.upload.accepted, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('what a caller may make the node pay gas for', () => {
  test('past its daily allowance of datanet registrations a caller gets 429 with Retry-After, and nothing is registered', async () => {
    const who = 6;
    // 19 registrations within the last day, one older than a day (no longer counted)
    await db.query(`insert into caller_actions (caller, action, at) select $1, 'datanet registrations', now() - interval '1 hour' from generate_series(1, 19)`, [addr(who)]);
    await db.query(`insert into caller_actions (caller, action, at) values ($1, 'datanet registrations', now() - interval '25 hours')`, [addr(who)]);
    assert.equal((await signed(who, 'POST', '/datanets', { name: 'twentieth', licence: 'CC0-1.0' })).status, 201);
    const refused = await send('POST', '/datanets', { body: JSON.stringify({ name: 'twenty-first', licence: 'CC0-1.0' }), headers: await signatureHeaders(who, 'POST', '/datanets', { body: JSON.stringify({ name: 'twenty-first', licence: 'CC0-1.0' }) }) });
    assertError(refused, 429, 'quota_exceeded', /20 datanet registrations per 24 h/);
    const res = await fetch(`${api}/datanets?q=twenty-first`);
    assert.equal(((await res.json()) as { datanets: unknown[] }).datanets.length, 0);
    const again = await fetch(`${api}/datanets`, { method: 'POST', headers: { 'content-type': 'application/json', ...(await signatureHeaders(who, 'POST', '/datanets', { body: '{"name":"twenty-second","licence":"CC0-1.0"}' })) }, body: '{"name":"twenty-second","licence":"CC0-1.0"}' });
    const retryAfter = Number(again.headers.get('retry-after'));
    assert.ok(retryAfter > 22 * 3600 && retryAfter <= 23 * 3600, `Retry-After ${retryAfter} s: when the oldest counted registration leaves the day`);
    assert.equal((await signed(STRANGER, 'POST', '/datanets', { name: 'another-callers', licence: 'CC0-1.0' })).status, 201, "another caller's allowance is its own");
  });
});

describe('invalid input', () => {
  let datanet: Datanet;

  before(async () => {
    datanet = (await get<DatanetPage>('/datanets?q=medical')).body.datanets[0]!;
    assert.ok(datanet);
  });

  test('a body that is not JSON is 400 malformed_json', async () => {
    const body = '{"name": "broken", "licence": ';
    const headers = await signatureHeaders(OWNER, 'POST', '/datanets', { body });
    assertError(await send('POST', '/datanets', { body, headers }), 400, 'malformed_json');
    const records = '{"records": [1, 2,]}';
    const path = `/datanets/${datanet.id}/contributions`;
    assertError(await send('POST', path, { body: records, headers: await signatureHeaders(ALICE, 'POST', path, { body: records }) }), 400, 'malformed_json');
  });

  test('an upload is refused before it is stored without the stake, and a file over the limit is 413, not a hash mismatch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openledger-upload-'));
    try {
      const big = join(dir, 'big.jsonl');
      writeFileSync(big, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ text: `record ${i} with some padding to make it long` })).join('\n'));
      const open = await createVia(OWNER, { name: 'open-uploads', licence: 'MIT' });
      await assert.rejects(uploadFile(api, open.id!, big, t.accounts[STRANGER]!), /413 files are limited to 65536 bytes/);
      const staked = await createVia(OWNER, { name: 'staked-uploads', licence: 'MIT', contributionStake: STAKE.toString() });
      const small = join(dir, 'small.jsonl');
      writeFileSync(small, '{"text": "one record"}\n');
      await assert.rejects(uploadFile(api, staked.id!, small, t.accounts[STRANGER]!), /403 .*has not bonded datanet/);
      assert.equal((await db.query<{ n: number }>('select count(*)::int as n from uploads where datanet_id = $1', [staked.id])).at(0)?.n, 0, 'nothing stored');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a submission of 1,000 records of a few kilobytes each is taken (over the API 1 MiB default), and one past its limit is 413', async () => {
    const many = await createVia(OWNER, { name: 'many-records', licence: 'MIT' });
    const records = Array.from({ length: MAX_RECORDS_PER_REQUEST }, (_, i) => `record ${i}: ${'lorem ipsum dolor sit amet '.repeat(100)}${i}`);
    assert.ok(JSON.stringify({ records }).length > 2 * 1024 * 1024);
    const reply = await signed<IngestSummary>(ALICE, 'POST', `/datanets/${many.id}/contributions`, { records });
    assert.equal(reply.status, 200, JSON.stringify(reply.body).slice(0, 300));
    assert.equal(reply.body.records, MAX_RECORDS_PER_REQUEST);
    const huge = await signed(ALICE, 'POST', `/datanets/${many.id}/contributions`, { records: ['x'.repeat(17 * 1024 * 1024)] });
    assert.equal(huge.status, 413);
    assert.match((huge.body as ErrorBody).message, /larger than this route takes \(16777216 bytes\)/);
  });

  test('a bad definition is 400 invalid_definition naming the field', async () => {
    assertError(await signed(OWNER, 'POST', '/datanets', { name: 'Bad Name!', licence: 'MIT' }), 400, 'invalid_definition', /^name:/);
    assertError(await signed(OWNER, 'POST', '/datanets', { name: 'no-licence' }), 400, 'invalid_definition', /^licence:/);
    assertError(
      await signed(OWNER, 'POST', '/datanets', { name: 'bad-schema', licence: 'MIT', recordSchema: { type: 'banana' } }),
      400,
      'invalid_definition',
      /^recordSchema: not a valid JSON Schema/,
    );
    assertError(
      await signed(OWNER, 'POST', '/datanets', { name: 'bad-pattern', licence: 'MIT', rules: { forbiddenPatterns: ['(unclosed'] } }),
      400,
      'invalid_definition',
      /^rules\.forbiddenPatterns:/,
    );
    assertError(await signed(OWNER, 'POST', '/datanets', { name: 'bad-curator', licence: 'MIT', curators: ['0x1234'] }), 400, 'invalid_definition', /^curators\.0:/);
    assertError(await signed(OWNER, 'POST', '/datanets', { name: 'extra', licence: 'MIT', colour: 'blue' }), 400, 'invalid_definition');
    // a stake past the registry's uint96 would be stored, then fail on chain at every start-up
    assertError(await signed(OWNER, 'POST', '/datanets', { name: 'overflow', licence: 'MIT', contributionStake: '9'.repeat(30) }), 400, 'invalid_definition', /^contributionStake: at most 2\^96 - 1 wei/);
    assertError(await signed(OWNER, 'POST', '/datanets', { name: 'catastrophic', licence: 'MIT', rules: { forbiddenPatterns: ['(?<=a)b'] } }), 400, 'invalid_definition', /cannot be run in linear time/);
    assert.deepEqual((await get<DatanetPage>('/datanets?q=bad')).body.datanets, []);
  });

  test('an unknown datanet is 404 not_found', async () => {
    assertError(await get('/datanets/9999'), 404, 'not_found', /datanet 9999/);
    assertError(await signed(ALICE, 'POST', '/datanets/9999/contributions', { records: ['hello there, world'] }), 404, 'not_found');
    assertError(await signed(OWNER, 'POST', '/datanets/9999/anchor'), 404, 'not_found');
    assertError(await signed(OWNER, 'POST', '/datanets/9999/snapshots'), 404, 'not_found');
    assertError(await get(`/contributions/0x${'ab'.repeat(32)}`), 404, 'not_found');
    assertError(await get(`/contributions/0x${'ab'.repeat(32)}/proof`), 404, 'not_found');
  });

  test('a bad id in the path is 400 naming the field', async () => {
    assertBadField(await signed(OWNER, 'POST', `/datanets/${datanet.id}/contributions/0x1234/decision`, { approve: true }), 'contribution');
    assertBadField(await signed(OWNER, 'POST', `/datanets/${datanet.id}/contributions/not-an-id/decision`, { approve: true }), 'contribution');
    assertBadField(await get('/contributions/xyz/proof'), 'id');
    assertBadField(await get('/datanets/abc'), 'id');
    assertBadField(await get('/datanets/0'), 'id');
    assertBadField(await get('/contributors/0xnope/contributions'), 'address');
  });

  test('limit=0 (or over 500) is 400 naming limit', async () => {
    assertBadField(await get('/datanets?limit=0'), 'limit');
    assertBadField(await get(`/datanets/${datanet.id}/contributions?limit=0`), 'limit');
    assertBadField(await get(`/datanets/${datanet.id}/contributions?limit=501`), 'limit');
    assertBadField(await get(`/contributors/${addr(ALICE)}/contributions?limit=0`), 'limit');
    assertError(await get(`/datanets/${datanet.id}/contributions?before=garbage`), 400, 'bad_cursor');
  });

  test(`more than ${MAX_RECORDS_PER_REQUEST} records, or none, is 400 naming records; nothing is stored`, async () => {
    const path = `/datanets/${datanet.id}/contributions`;
    const before = (await get<ContributionPage>(`${path}?limit=500`)).body.contributions.length;
    const records = Array.from({ length: MAX_RECORDS_PER_REQUEST + 1 }, (_, i) => `record number ${i} with some words`);
    assertBadField(await signed(ALICE, 'POST', path, { records }), 'records');
    assertBadField(await signed(ALICE, 'POST', path, { records: [] }), 'records');
    assertBadField(await signed(ALICE, 'POST', path, {}), 'records');
    assert.equal((await get<ContributionPage>(`${path}?limit=500`)).body.contributions.length, before);
  });

  test('a bad decision body is 400 naming the field', async () => {
    const c = (await get<ContributionPage>(`/datanets/${datanet.id}/contributions?limit=1`)).body.contributions[0]!;
    assertBadField(await signed(OWNER, 'POST', `/datanets/${datanet.id}/contributions/${c.id}/decision`, { approve: false }), 'reason');
  });
});

import { z } from 'zod';
import type { AnchorBatch, ContributionProof } from '../../datanet/anchor-batches.ts';
import { CONSENT_HEADERS } from '../../datanet/consent.ts';
import type { DatanetCounts } from '../../datanet/datanet-counts.ts';
import type { Contribution, Datanet, IngestResult, IngestSummary, Snapshot, Upload, UploadResponse } from '../../datanet/datanet-types.ts';
import { definitionSchema } from '../../datanet/definition-schema.ts';
import { intakeFormats } from '../../datanet/intake/types.ts';
import type { DatanetEarnings } from '../../settlement/datanet-earnings.ts';
import type { Json } from '../../util/json-shape.ts';
import { address, addressInput, agree, hex, hex32Input, idInput, jsonObject, limitInput, time, wei, PG_INTEGER_MAX, type Agrees } from './common.ts';
import { defineRoute } from './route.ts';

// Datanets: create and browse them, contribute records (JSON or a file), curate, anchor, prove and
// snapshot; their stats and earnings.

/** Most records in one JSON submission; larger sets go through an upload. */
export const MAX_RECORDS_PER_REQUEST = 1000;
/** The header carrying an upload's keccak256, which its signature covers as the body hash. */
export const CONTENT_HASH_HEADER = 'x-openledger-content-hash';

const contributionStatus = z.enum(['pending', 'accepted', 'rejected']);
const datanetId = z.object({ id: idInput });
const contributionId = z.object({ id: hex32Input });
const signatureInput = z.string().regex(/^0x([0-9a-fA-F]{2})+$/, 'must be 0x and hex bytes').max(20_000);
const cursor = z.string().max(200);

export const datanet = z.object({
  id: z.number().int().nullable(),
  key: z.number().int(),
  owner: address,
  name: z.string(),
  description: z.string(),
  recordSchema: jsonObject.nullable(),
  licence: z.string(),
  contributionStake: wei,
  curators: z.array(address),
  curation: z.enum(['auto', 'manual']),
  nearDuplicateThreshold: z.number(),
  rules: z.object({ minChars: z.number().optional(), maxChars: z.number().optional(), maxBytes: z.number().optional(), forbiddenPatterns: z.array(z.string()).optional() }),
  metadataURI: z.string(),
  status: z.enum(['creating', 'transferring', 'active']),
  sentFromBlock: wei.nullable(),
  createdAt: time,
});
agree<Agrees<typeof datanet, Json<Datanet>>>();

export const contribution = z.object({
  id: hex,
  datanetId: z.number().int(),
  contributor: address,
  contentHash: hex,
  record: z.union([jsonObject, z.string()]),
  size: z.number().int(),
  status: contributionStatus,
  reason: z.string().nullable(),
  spam: z.boolean(),
  uploadId: z.string().nullable(),
  consentId: z.number().int().nullable(),
  recordIndex: z.number().int().nullable(),
  batchId: z.number().int().nullable(),
  decidedBy: address.nullable(),
  createdAt: time,
});
agree<Agrees<typeof contribution, Json<Contribution>>>();

export const contributionPage = z.object({ contributions: z.array(contribution), next: z.string().nullable() });

export const snapshot = z.object({
  id: z.number().int(),
  datanetId: z.number().int(),
  root: hex,
  count: z.number().int(),
  listURI: z.string(),
  status: z.enum(['building', 'recorded']),
  snapshotIndex: z.number().int().nullable(),
  txHash: hex.nullable(),
  requestedBy: address,
  createdAt: time,
});
agree<Agrees<typeof snapshot, Json<Snapshot>>>();

export const ingestResult = z.union([
  z.object({ index: z.number().int(), status: z.enum(['accepted', 'pending']), id: hex }),
  z.object({ index: z.number().int(), status: z.literal('rejected'), reason: z.string(), detail: z.string(), duplicateOf: hex.optional() }),
]);
agree<Agrees<typeof ingestResult, Json<IngestResult>>>();

const ingestSummary = z.object({ records: z.number().int(), accepted: z.number().int(), pending: z.number().int(), rejected: z.number().int() });
agree<Agrees<typeof ingestSummary, IngestSummary>>();

export const upload = ingestSummary.extend({
  id: z.string(),
  datanetId: z.number().int(),
  contributor: address,
  filename: z.string().nullable(),
  format: z.string().nullable(),
  blobHash: hex,
  bytes: z.number().int(),
  consentId: z.number().int().nullable(),
  status: z.enum(['received', 'processing', 'done', 'failed']),
  error: z.string().nullable(),
  createdAt: time,
  finishedAt: time.nullable(),
});
agree<Agrees<typeof upload, Json<Upload>>>();

export const uploadResponse = z.object({ upload, rejections: z.array(ingestResult) });
agree<Agrees<typeof uploadResponse, Json<UploadResponse>>>();

export const contributionProof = z.object({ contributionId: hex, datanetId: z.number().int(), batchIndex: z.number().int(), root: hex, proof: z.array(hex), txHash: hex });
agree<Agrees<typeof contributionProof, Json<ContributionProof>>>();

export const anchorBatch = z.object({ id: z.number().int(), datanetId: z.number().int(), root: hex, count: z.number().int(), status: z.enum(['open', 'anchored']), batchIndex: z.number().int().nullable(), txHash: hex.nullable() });
agree<Agrees<typeof anchorBatch, Json<AnchorBatch>>>();

const datanetCounts = z.object({
  contributions: z.object({ accepted: z.number().int(), pending: z.number().int(), rejected: z.number().int(), total: z.number().int() }),
  intakeRejections: z.number().int(),
  uploads: z.number().int(),
  contributors: z.number().int(),
  acceptedContributors: z.number().int(),
  snapshots: z.object({ total: z.number().int(), recorded: z.number().int() }),
});
agree<Agrees<typeof datanetCounts, DatanetCounts>>();

/** A datanet's page totals: its counts (datanet module) and the published models trained on its snapshots (factory module). */
export const datanetStats = datanetCounts.extend({
  datanetId: z.number().int(),
  models: z.array(z.object({ name: z.string(), modelId: z.string().nullable(), jobId: z.string(), owner: address, snapshotIds: z.array(z.number().int()), finishedAt: time.nullable() })),
});
export type DatanetStats = z.output<typeof datanetStats>;

export const datanetEarnings = z.object({
  datanetId: z.number().int(),
  total: wei,
  datanetOwner: wei,
  pool: wei,
  contributors: wei,
  epochs: z.array(z.object({ epoch: z.number().int(), postedAt: time.nullable(), datanetOwner: wei, pool: wei, contributors: wei })),
  payees: z.array(z.object({ payee: address, role: z.enum(['datanet_owner', 'datanet_pool', 'contributor']), amount: wei })),
});
agree<Agrees<typeof datanetEarnings, DatanetEarnings>>();

const contributionQuery = { status: contributionStatus.optional(), before: cursor.optional(), limit: limitInput() };

export const createDatanet = defineRoute({
  id: 'createDatanet', method: 'POST', path: '/datanets', tag: 'datanets', auth: 'signed', status: 201,
  summary: 'Create a datanet (registered on chain by the node; the signer owns it)',
  body: definitionSchema, response: datanet,
});
export const listDatanets = defineRoute({
  id: 'listDatanets', method: 'GET', path: '/datanets', tag: 'datanets', auth: 'none', summary: 'Datanets, newest first, by name search or owner',
  query: z.object({ q: z.string().max(200).optional(), owner: addressInput.optional(), before: idInput.optional(), limit: limitInput() }),
  response: z.object({ datanets: z.array(datanet), next: z.number().int().nullable() }),
});
export const getDatanet = defineRoute({ id: 'getDatanet', method: 'GET', path: '/datanets/:id', tag: 'datanets', auth: 'none', summary: 'A datanet', params: datanetId, response: datanet });
export const contribute = defineRoute({
  id: 'contribute', method: 'POST', path: '/datanets/:id/contributions', tag: 'datanets', auth: 'signed',
  summary: 'Contribute records as JSON (at most 1,000), with the contributor\'s signed consent',
  params: datanetId,
  body: z.object({
    records: z.array(z.union([z.string(), jsonObject])).min(1).max(MAX_RECORDS_PER_REQUEST),
    /** The contributor's EIP-712 consent to these records' content hashes (datanet/consent.ts). */
    consent: z.object({ root: hex32Input, signature: signatureInput }).strict().optional(),
  }).strict(),
  response: ingestSummary.extend({ results: z.array(ingestResult) }),
});
export const uploadRecords = defineRoute({
  id: 'uploadRecords', method: 'POST', path: '/datanets/:id/uploads', tag: 'datanets', auth: 'signed', status: 201,
  summary: 'Contribute a file of records (JSONL, CSV, TSV, text, Parquet) as multipart/form-data',
  description: `The signature's body hash is the file's keccak256, declared in ${CONTENT_HASH_HEADER}; a file that does not hash to it is not kept.`,
  params: datanetId,
  query: z.object({ format: z.enum(intakeFormats).optional() }),
  multipart: { headers: z.object({ [CONTENT_HASH_HEADER]: hex32Input, [CONSENT_HEADERS.root]: hex32Input.optional(), [CONSENT_HEADERS.signature]: signatureInput.optional() }) },
  response: uploadResponse,
});
export const getUpload = defineRoute({ id: 'getUpload', method: 'GET', path: '/uploads/:id', tag: 'datanets', auth: 'none', summary: 'An upload and its counts', params: z.object({ id: z.uuid() }), response: upload });
export const listUploadRecords = defineRoute({
  id: 'listUploadRecords', method: 'GET', path: '/uploads/:id/records', tag: 'datanets', auth: 'none', summary: 'What became of each record of an upload',
  params: z.object({ id: z.uuid() }),
  query: z.object({ from: z.coerce.number().int().min(0).max(PG_INTEGER_MAX).default(0), limit: limitInput(), status: contributionStatus.optional() }),
  response: z.object({ records: z.array(ingestResult), next: z.number().int().nullable() }),
});
export const listDatanetContributions = defineRoute({
  id: 'listDatanetContributions', method: 'GET', path: '/datanets/:id/contributions', tag: 'datanets', auth: 'none', summary: "A datanet's contributions, newest first",
  params: datanetId, query: z.object({ ...contributionQuery, contributor: addressInput.optional() }), response: contributionPage,
});
export const listContributorContributions = defineRoute({
  id: 'listContributorContributions', method: 'GET', path: '/contributors/:address/contributions', tag: 'datanets', auth: 'none', summary: "A contributor's contributions, newest first",
  params: z.object({ address: addressInput }), query: z.object({ ...contributionQuery, datanet: idInput.optional() }), response: contributionPage,
});
export const getContribution = defineRoute({ id: 'getContribution', method: 'GET', path: '/contributions/:id', tag: 'datanets', auth: 'none', summary: 'A contribution', params: contributionId, response: contribution });
export const getContributionProof = defineRoute({
  id: 'getContributionProof', method: 'GET', path: '/contributions/:id/proof', tag: 'datanets', auth: 'none', summary: 'The Merkle proof of a contribution in its anchored batch',
  params: contributionId, response: contributionProof,
});
export const decideContribution = defineRoute({
  id: 'decideContribution', method: 'POST', path: '/datanets/:id/contributions/:contribution/decision', tag: 'datanets', auth: 'signed',
  summary: 'Accept or reject a pending contribution (a curator); a spam rejection slashes the contributor\'s stake',
  params: z.object({ id: idInput, contribution: hex32Input }),
  body: z.discriminatedUnion('approve', [
    z.object({ approve: z.literal(true) }).strict(),
    z.object({ approve: z.literal(false), reason: z.string().min(1).max(500), spam: z.boolean().default(false) }).strict(),
  ]),
  response: contribution,
});
export const anchorDatanet = defineRoute({
  id: 'anchorDatanet', method: 'POST', path: '/datanets/:id/anchor', tag: 'datanets', auth: 'signed', summary: "Anchor the accepted contributions' Merkle roots on chain (owner or curator)",
  params: datanetId, response: z.object({ batches: z.array(anchorBatch) }),
});
export const createSnapshot = defineRoute({
  id: 'createSnapshot', method: 'POST', path: '/datanets/:id/snapshots', tag: 'datanets', auth: 'signed', statuses: [201, 200],
  summary: 'Freeze the accepted contributions as a snapshot recorded on chain (201; 200 when the same snapshot exists)',
  params: datanetId, response: snapshot,
});
export const listSnapshots = defineRoute({ id: 'listSnapshots', method: 'GET', path: '/datanets/:id/snapshots', tag: 'datanets', auth: 'none', summary: "A datanet's snapshots", params: datanetId, response: z.object({ snapshots: z.array(snapshot) }) });
export const getSnapshot = defineRoute({ id: 'getSnapshot', method: 'GET', path: '/snapshots/:id', tag: 'datanets', auth: 'none', summary: 'A snapshot', params: datanetId, response: snapshot });
export const listSnapshotContributions = defineRoute({
  id: 'listSnapshotContributions', method: 'GET', path: '/snapshots/:id/contributions', tag: 'datanets', auth: 'none', summary: "A snapshot's contributions",
  params: datanetId, query: z.object({ before: cursor.optional(), limit: limitInput() }), response: contributionPage,
});
export const getDatanetStats = defineRoute({ id: 'getDatanetStats', method: 'GET', path: '/datanets/:id/stats', tag: 'datanets', auth: 'none', summary: 'What a datanet holds and what was built on it', params: datanetId, response: datanetStats });
export const getDatanetEarnings = defineRoute({ id: 'getDatanetEarnings', method: 'GET', path: '/datanets/:id/earnings', tag: 'datanets', auth: 'none', summary: "What settled epochs paid a datanet's owner, pool and contributors", params: datanetId, response: datanetEarnings });

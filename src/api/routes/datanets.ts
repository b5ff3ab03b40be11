import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import * as contract from '../contract/datanets.ts';
import { serveRoute } from '../serve-route.ts';
import { anchorContributions, contributionProof } from '../../datanet/anchor-batches.ts';
import type { NodeContext } from '../../store/node-context.ts';
import { getContribution, listContributions } from '../../datanet/contributions.ts';
import { createDatanet } from '../../datanet/create-datanet.ts';
import { decideContribution } from '../../datanet/curate.ts';
import type { UploadResponse } from '../../datanet/datanet-types.ts';
import { canCurate, getDatanet, listDatanets } from '../../datanet/datanets.ts';
import { parseDefinition } from '../../datanet/definition.ts';
import { ingestRecords } from '../../datanet/ingest-records.ts';
import { CONSENT_HEADERS, type ContributionConsent } from '../../datanet/consent.ts';
import { contentHashOf } from '../../datanet/contribution-id.ts';
import { acceptConsent } from '../../datanet/record-consent.ts';
import { createSnapshot, getSnapshot, listSnapshots } from '../../datanet/snapshots.ts';
import { checkUploadAllowed, getUpload, processUpload, recordUpload, uploadResults } from '../../datanet/uploads.ts';
import { BlobHashMismatchError, BlobTooLargeError } from '../../store/blobs.ts';
import { useAllowance } from '../../store/caller-quota.ts';
import { allowanceActions, defaultAllowances, type NodeAllowances } from '../allowances.ts';
import { authenticate, forbidden } from '../authenticate.ts';
import { CodedError } from '../../util/coded-error.ts';

/** Largest uploaded file (bytes). */
export const MAX_UPLOAD_BYTES = 256 * 1024 * 1024;
/** Most bytes of one JSON submission: room for the records above at 16 KiB each (the API's default limit, 1 MiB, held far fewer). */
export const MAX_CONTRIBUTION_BODY_BYTES = 16 * 1024 * 1024;

/**
 * An error from parsing a multipart body: the multipart plugin's own errors keep their status (413
 * for its limits); what the parser cannot read (no part under the declared boundary, a body that
 * ends inside a part) is a 400 `malformed_multipart`.
 */
function malformedMultipart(err: unknown): unknown {
  if (!(err instanceof Error) || 'statusCode' in err) return err;
  return new CodedError('malformed_multipart', `the multipart body cannot be read: ${err.message}`);
}

/**
 * Datanet routes: create and browse datanets, contribute records, curate, anchor, prove and
 * snapshot. Every state-changing route is signed by the acting wallet (see request-signature.ts);
 * the signer must be the datanet's owner or a curator where the route says so.
 */
export function datanetRoutes(app: FastifyInstance, ctx: NodeContext & { maxUploadBytes?: number; allowances?: Partial<NodeAllowances> }): void {
  const maxUploadBytes = ctx.maxUploadBytes ?? MAX_UPLOAD_BYTES;
  const allowances = { ...defaultAllowances, ...ctx.allowances };
  /** Counts a request that makes the node send transactions against the caller's daily allowance. */
  const allow = (caller: Address, action: keyof NodeAllowances) => useAllowance(ctx.db, caller, allowanceActions[action], allowances[action]);
  const chainId = ctx.clients.chain.id;
  const signer = (request: Parameters<typeof authenticate>[2], bodyHash?: Hex) => authenticate(ctx.db, { chainId, node: ctx.clients.account.address }, request, bodyHash);

  serveRoute(app, contract.createDatanet, async (_, request, reply) => {
    const owner = await signer(request);
    const definition = parseDefinition(request.body); // the definition's own errors name the field (and compile its schema and patterns)
    await allow(owner, 'datanetRegistration');
    const datanet = await createDatanet(ctx, owner, definition);
    return reply.status(201).send(datanet);
  });

  serveRoute(app, contract.listDatanets, async ({ query: q }) => {
    const datanets = await listDatanets(ctx.db, q);
    return { datanets, next: datanets.length === q.limit ? datanets.at(-1)?.id : null };
  });

  serveRoute(app, contract.getDatanet, async ({ params }) => getDatanet(ctx.db, params.id));

  serveRoute(app, contract.contribute, async (input, request) => {
    const contributor = await signer(request);
    const { id: datanetId } = input.params;
    const { records, consent } = input.body;
    const datanet = await getDatanet(ctx.db, datanetId);
    const consentId = await acceptConsent(ctx, datanet, contributor, consent as ContributionConsent | undefined, records.map((r) => contentHashOf(r)));
    const { results, ...summary } = await ingestRecords(
      ctx,
      datanet,
      contributor,
      records.map((r, index) => ({ index, record: r })),
      consentId === undefined ? {} : { consentId },
    );
    return { ...summary, results };
  }, { bodyLimit: MAX_CONTRIBUTION_BODY_BYTES });

  void app.register(multipart, { limits: { fileSize: maxUploadBytes, files: 1, fields: 0, parts: 1 } });

  // A file of records (JSONL, CSV, TSV, text, Parquet), streamed into the blob store. The client
  // declares the file's keccak256 in a header and signs it as the body hash, so the signature is
  // checked before the file is read, and a file that does not match is not kept.
  serveRoute(app, contract.uploadRecords, async (input, request, reply) => {
    const { id: datanetId } = input.params;
    const q = input.query;
    const declared = input.headers[contract.CONTENT_HASH_HEADER];
    const contributor = await signer(request, declared);
    const datanet = await getDatanet(ctx.db, datanetId);
    if (!request.isMultipart()) throw new CodedError('not_multipart', 'send the file as multipart/form-data');
    // stake, quota and the contributor's consent before a byte is stored (the records are checked against it once read)
    await checkUploadAllowed(ctx, datanet.id!, contributor);
    const headers = input.headers;
    const root = headers[CONSENT_HEADERS.root] as Hex | undefined, consentSignature = headers[CONSENT_HEADERS.signature] as Hex | undefined;
    if ((root === undefined) !== (consentSignature === undefined)) throw new CodedError('bad_consent', `send both ${CONSENT_HEADERS.root} and ${CONSENT_HEADERS.signature}, or neither`);
    const consentId = await acceptConsent(ctx, datanet, contributor, root && consentSignature ? { root, signature: consentSignature } : undefined);
    const part = await request.file().catch((err: unknown) => {
      throw malformedMultipart(err);
    });
    if (!part) throw new CodedError('no_file', 'the request has no file part');
    // the filename is stored as text, which cannot hold U+0000
    z.object({ filename: z.string().refine((f) => !f.includes('\0'), 'must not contain NUL characters (U+0000)') }).parse({ filename: part.filename });
    const tooLarge = () => new CodedError('file_too_large', `files are limited to ${maxUploadBytes} bytes`);
    let stored;
    try {
      stored = await ctx.blobs.put(part.file, { expectedHash: declared, maxSize: maxUploadBytes });
    } catch (err) {
      // the multipart limit cuts a larger file short: it is too large, not mismatched
      if (err instanceof BlobTooLargeError || part.file.truncated) throw tooLarge();
      if (err instanceof BlobHashMismatchError) throw new CodedError('content_hash_mismatch', `the file does not hash to ${contract.CONTENT_HASH_HEADER}`);
      // the file stream itself failed: the body, not the store, went wrong
      if (part.file.errored) throw malformedMultipart(part.file.errored);
      throw err;
    }
    if (part.file.truncated) throw tooLarge();
    const uploadId = await recordUpload(ctx.db, {
      datanetId: datanet.id!,
      contributor,
      blobHash: stored.hash,
      bytes: stored.size,
      filename: part.filename,
      ...(q.format ? { format: q.format } : {}),
      ...(consentId === undefined ? {} : { consentId }),
    });
    const upload = await processUpload(ctx, uploadId);
    const rejections = await uploadResults(ctx.db, uploadId, { from: 0, limit: 1000, status: 'rejected' });
    return reply.status(201).send({ upload, rejections } satisfies UploadResponse);
  });

  serveRoute(app, contract.getUpload, async ({ params }) => getUpload(ctx.db, params.id));

  serveRoute(app, contract.listUploadRecords, async (input) => {
    const { id: uploadId } = input.params;
    await getUpload(ctx.db, uploadId);
    const q = input.query;
    const records = await uploadResults(ctx.db, uploadId, q);
    return { records, next: records.length === q.limit ? records.at(-1)!.index + 1 : null };
  });

  serveRoute(app, contract.listDatanetContributions, async ({ params, query }) => listContributions(ctx.db, { datanetId: params.id, ...query }));

  serveRoute(app, contract.listContributorContributions, async (input) => {
    const { address: contributor } = input.params;
    const q = input.query;
    return listContributions(ctx.db, { contributor, status: q.status, datanetId: q.datanet, before: q.before, limit: q.limit });
  });

  serveRoute(app, contract.getContribution, async ({ params }) => getContribution(ctx.db, params.id));

  serveRoute(app, contract.getContributionProof, async ({ params }) => contributionProof(ctx, params.id));

  serveRoute(app, contract.decideContribution, async (input, request) => {
    const curator = await signer(request);
    const params = input.params;
    const decision = input.body;
    if (!decision.approve && decision.spam) await allow(curator, 'slash');
    return decideContribution(ctx, await getDatanet(ctx.db, params.id), params.contribution, curator, decision);
  });

  serveRoute(app, contract.anchorDatanet, async (input, request) => {
    const caller = await signer(request);
    const datanet = await getDatanet(ctx.db, input.params.id);
    if (!canCurate(datanet, caller)) throw forbidden(caller, `the owner or a curator of datanet ${datanet.id}`);
    await allow(caller, 'anchoring');
    return { batches: await anchorContributions(ctx, datanet.id!) };
  });

  serveRoute(app, contract.createSnapshot, async (input, request, reply) => {
    const caller = await signer(request);
    const datanet = await getDatanet(ctx.db, input.params.id);
    if (!canCurate(datanet, caller)) throw forbidden(caller, `the owner or a curator of datanet ${datanet.id}`);
    await allow(caller, 'snapshot');
    const { snapshot, created } = await createSnapshot(ctx, datanet, caller);
    return reply.status(created ? 201 : 200).send(snapshot);
  });

  serveRoute(app, contract.listSnapshots, async ({ params }) => ({ snapshots: await listSnapshots(ctx.db, params.id) }));

  serveRoute(app, contract.getSnapshot, async ({ params }) => getSnapshot(ctx.db, params.id));

  serveRoute(app, contract.listSnapshotContributions, async ({ params, query }) => {
    await getSnapshot(ctx.db, params.id);
    return listContributions(ctx.db, { snapshotId: params.id, ...query });
  });
}


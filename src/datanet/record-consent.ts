import type { Address, Hex } from 'viem';
import type { BlobHash } from '../store/blobs.ts';
import { consentTree, type ContributionConsent } from './consent.ts';
import type { NodeContext } from '../store/node-context.ts';
import type { Datanet } from './datanet-types.ts';
import { DatanetError } from './errors.ts';

/** Refused: a datanet with a contribution stake takes only signed contributions (the stake is slashable only then). */
export const consentRequired = (d: Datanet) => new DatanetError(
  'consent_required',
  `datanet ${d.id} takes a contribution stake, so contributions to it must be signed: send the root of their content hashes and your EIP-712 signature of Contributions(datanetId, root) (the CLI and the web app do this)`,
);

/**
 * Takes the consent a contribution request came with, as the datanet requires: none is needed by a
 * datanet without a contribution stake (its contributions cannot be slashed, so no evidence is
 * kept), and one is required by a datanet with one (400 `consent_required`). A consent is checked
 * to be the contributor's signature by the registry itself (`isSignedByContributor`: ECDSA, or
 * ERC-1271 for a contract account; 400 `bad_consent`) and stored; when the records are already known (`contentHashes`)
 * they are checked against its root first (400 `consent_mismatch`), else when the file is read
 * ({@link settleConsent}). Returns the consent's id, or undefined.
 *
 * @example
 * const consentId = await acceptConsent(ctx, datanet, contributor, body.consent, records.map(contentHashOf));
 */
export async function acceptConsent(
  ctx: NodeContext,
  datanet: Datanet,
  contributor: Address,
  consent: ContributionConsent | undefined,
  contentHashes?: Hex[],
): Promise<number | undefined> {
  if (!consent) {
    if (BigInt(datanet.contributionStake) > 0n) throw consentRequired(datanet);
    return undefined;
  }
  // the registry's own check, so the node never keeps a consent a slash could not use as evidence
  const valid = await ctx.contracts.datanetRegistry.read.isSignedByContributor([BigInt(datanet.id!), contributor, consent.root, consent.signature]).catch(() => false);
  if (!valid) throw new DatanetError('bad_consent', `the consent signature is not ${contributor}'s signature of Contributions(${datanet.id}, ${consent.root})`);
  if (contentHashes) checkRoot(consent.root, contentHashes);
  const [row] = await ctx.db.query<{ id: string }>(
    'insert into contribution_consents (datanet_id, contributor, root, signature) values ($1, $2, $3, $4) returning id',
    [datanet.id, contributor, consent.root.toLowerCase(), consent.signature],
  );
  const id = Number(row!.id);
  if (contentHashes) await settleConsent(ctx, id, contentHashes);
  return id;
}

/** Throws `consent_mismatch` unless `contentHashes` are the set whose root is `root`. */
function checkRoot(root: string, contentHashes: readonly Hex[]): void {
  const read = contentHashes.length === 0 ? null : consentTree(contentHashes).root.toLowerCase();
  if (read !== root.toLowerCase()) {
    throw new DatanetError('consent_mismatch', `the records read have ${read ? `the root ${read}` : 'no content'}, not the signed root ${root.toLowerCase()}: sign the records you send (the same file, read the same way)`);
  }
}

/**
 * Checks that the records read are exactly those the consent signed (the same set of content
 * hashes, whose root it signed) and keeps the hashes, so a proof can be made for any of them.
 * Idempotent. Throws a 400 `consent_mismatch` otherwise.
 *
 * @example
 * await settleConsent(ctx, consentId, await contentHashesOf(parseUpload({ stream, filename })));
 */
export async function settleConsent(ctx: Pick<NodeContext, 'db' | 'blobs'>, consentId: number, contentHashes: readonly Hex[]): Promise<void> {
  const [c] = await ctx.db.query<{ root: string; leaves_blob: string | null }>('select root, leaves_blob from contribution_consents where id = $1', [consentId]);
  if (!c) throw new Error(`no consent ${consentId}`);
  if (c.leaves_blob) return;
  checkRoot(c.root, contentHashes);
  const distinct = [...new Set(contentHashes.map((h) => h.toLowerCase()))];
  const bytes = new Uint8Array(distinct.length * 32);
  distinct.forEach((h, i) => bytes.set(Buffer.from(h.slice(2), 'hex'), i * 32));
  const { hash } = await ctx.blobs.put(bytes);
  await ctx.db.query('update contribution_consents set leaves_blob = $2 where id = $1', [consentId, hash]);
}

/** What `DatanetRegistry.slashContributor` needs to show the contributor sent a content hash. */
export interface ConsentEvidence {
  root: Hex;
  proof: Hex[];
  signature: Hex;
}

/**
 * The evidence for one content hash of a consent, or null when the contribution carries none
 * (sent unsigned to a datanet without a contribution stake: nothing to slash).
 *
 * @example
 * const evidence = await consentEvidence(ctx, contribution.consentId, contribution.contentHash);
 */
export async function consentEvidence(ctx: Pick<NodeContext, 'db' | 'blobs'>, consentId: number | null, contentHash: Hex): Promise<ConsentEvidence | null> {
  if (consentId === null) return null;
  const [c] = await ctx.db.query<{ root: Hex; signature: Hex; leaves_blob: string | null }>('select root, signature, leaves_blob from contribution_consents where id = $1', [consentId]);
  if (!c?.leaves_blob) return null;
  const bytes = await ctx.blobs.get(c.leaves_blob as BlobHash);
  const leaves = Array.from({ length: bytes.length / 32 }, (_, i) => `0x${Buffer.from(bytes.subarray(i * 32, i * 32 + 32)).toString('hex')}` as Hex);
  const tree = consentTree(leaves);
  return { root: c.root, proof: tree.getProof([contentHash.toLowerCase() as Hex]) as Hex[], signature: c.signature };
}

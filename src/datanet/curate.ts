import { BaseError, ContractFunctionRevertedError, type Address, type Hex } from 'viem';
import type { NodeContext } from '../store/node-context.ts';
import { consentEvidence } from './record-consent.ts';
import { getContribution } from './contributions.ts';
import type { Contribution, Datanet } from './datanet-types.ts';
import { canCurate } from './datanets.ts';
import { DatanetError, forbiddenFor } from './errors.ts';
import { nearDuplicateIndexOf } from './near-duplicate-indexes.ts';

/** A curator's decision on a pending contribution. */
export type CurationDecision = { approve: true } | { approve: false; reason: string; spam: boolean };

/**
 * Applies a curator's decision to a pending contribution of `datanet`: approved contributions are
 * accepted (and anchored with the next batch); rejected ones leave the near-duplicate index, and a
 * rejection as spam slashes the contributor's stake on chain (DatanetRegistry.slashContributor,
 * sent by the node, which curates every datanet it registered). Only the owner and the curators
 * may decide (403), only pending contributions (409).
 *
 * @example
 * await decideContribution(ctx, datanet, id, curator, { approve: false, reason: 'advertising', spam: true });
 */
export async function decideContribution(
  ctx: NodeContext,
  datanet: Datanet,
  contributionId: Hex,
  curator: Address,
  decision: CurationDecision,
): Promise<Contribution> {
  if (!canCurate(datanet, curator)) throw forbiddenFor(curator, `a curator of datanet ${datanet.id}`);
  const c = await getContribution(ctx.db, contributionId);
  if (c.datanetId !== datanet.id) throw new DatanetError('not_found', `contribution ${contributionId} is not in datanet ${datanet.id}`);
  const updated = await ctx.db.query(
    `update contributions set status = $2, reason = $3, spam = $4, slash_status = $5, decided_by = $6, decided_at = now()
     where id = $1 and status = 'pending' returning id`,
    [
      c.id,
      decision.approve ? 'accepted' : 'rejected',
      decision.approve ? null : decision.reason,
      !decision.approve && decision.spam,
      !decision.approve && decision.spam ? 'pending' : null,
      curator,
    ],
  );
  if (updated.length === 0) throw new DatanetError('not_pending', `contribution ${contributionId} is ${c.status}, not pending`);
  if (!decision.approve) (await nearDuplicateIndexOf(ctx, datanet)).remove(c.id);
  if (!decision.approve && decision.spam) await slashContributor(ctx, c);
  return getContribution(ctx.db, c.id);
}

/**
 * Slashes the contributor of a contribution rejected as spam, with the contributor's signed consent
 * to it as the registry's evidence. Idempotent: a slash already made on chain
 * (DatanetRegistryAlreadySlashed) counts as done; a contributor with nothing to slash
 * (DatanetRegistryNothingToSlash: no Contributor stake left in Staking), or a contribution sent
 * unsigned (to a datanet without a contribution stake: no evidence), is recorded as failed, which is final.
 */
export async function slashContributor(ctx: NodeContext, c: Pick<Contribution, 'id' | 'datanetId' | 'contributor' | 'contentHash' | 'consentId'>): Promise<'done' | 'failed'> {
  let status: 'done' | 'failed' = 'done';
  let tx: Hex | null = null;
  // the contributor's signature of what it sent: without it the registry refuses the slash
  const evidence = await consentEvidence(ctx, c.consentId, c.contentHash);
  if (!evidence) {
    await ctx.db.query(`update contributions set slash_status = 'failed' where id = $1`, [c.id]);
    return 'failed';
  }
  try {
    tx = await ctx.contracts.datanetRegistry.write.slashContributor([BigInt(c.datanetId), c.contributor, c.contentHash, evidence.root, evidence.proof, evidence.signature]);
    const receipt = await ctx.clients.publicClient.waitForTransactionReceipt({ hash: tx });
    if (receipt.status !== 'success') throw new Error(`slashContributor ${tx} reverted`);
  } catch (err) {
    const reverted = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
    const name = reverted instanceof ContractFunctionRevertedError ? reverted.data?.errorName : undefined;
    if (name === 'DatanetRegistryAlreadySlashed') status = 'done';
    else if (name === 'DatanetRegistryNothingToSlash' || name === 'DatanetRegistryNotSignedByContributor') status = 'failed';
    else throw err;
  }
  await ctx.db.query('update contributions set slash_status = $2, slash_tx = $3 where id = $1', [c.id, status, tx]);
  return status;
}

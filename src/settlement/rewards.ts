import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { getAddress, type Address, type Hex } from 'viem';
import type { ChainClients } from '../chain/clients.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { creditsOf } from '../attribution/receipts.ts';
import { contributionIdsOf, contributionTexts } from '../datanet/contributions.ts';
import type { Queryable } from '../store/database.ts';
import { epochsOf } from './charges.ts';
import { EpochStatus, type EpochLeaves } from './epoch-tree.ts';
import type { RewardEvidence, RewardHistoryRow, Rewards } from './reward-types.ts';

export type { RewardBreakdownRow, RewardEvidence, RewardHistoryRow, Rewards } from './reward-types.ts';

/**
 * An operator's final epoch as a claim would see it: its ledger's finalized epoch, or its pending
 * one once the challenge window has passed undisputed (the claim itself finalizes it).
 */
export async function effectiveFinalEpoch(clients: ChainClients, contracts: ProtocolContracts, operator: Address): Promise<number> {
  const s = contracts.attributionSettlement.read;
  const { finalizedEpoch: finalized, pendingEpoch: pending } = await s.ledgerOf([operator]);
  if (pending !== 0n) {
    const e = await s.getEpoch([operator, pending]);
    const head = await clients.publicClient.getBlock({ blockTag: 'latest' });
    if (e.status === EpochStatus.Pending && head.timestamp >= e.challengeEndsAt) return Number(pending);
  }
  return Number(finalized);
}

/**
 * A payee's rewards from this node: the epochs it posted (as the operator `clients.account`) and
 * the payee's claims from that operator's ledger.
 *
 * @example
 * const r = await rewardsOf(db, clients, contracts, contributor);
 * if (r.claim) await settlement.write.claim([r.claim.operator, payee, BigInt(r.claim.cumulativeAmount), r.claim.proof]);
 */
export async function rewardsOf(db: Queryable, clients: ChainClients, contracts: ProtocolContracts, who: Address): Promise<Rewards> {
  const payee = getAddress(who);
  const amountIn = (leaves: EpochLeaves | undefined) => BigInt(leaves?.find(([p]) => getAddress(p) === payee)?.[1] ?? '0');
  const [latest] = await db.query<{ leaves: EpochLeaves }>(`select leaves from settlement_epochs where status = 'posted' order by epoch desc limit 1`);
  const operator = clients.account.address;
  const finalEpoch = await effectiveFinalEpoch(clients, contracts, operator);
  const [final] = finalEpoch > 0 ? await db.query<{ leaves: EpochLeaves }>('select leaves from settlement_epochs where epoch = $1 and status = $2', [finalEpoch, 'posted']) : [];
  const claimed = await contracts.attributionSettlement.read.claimed([operator, payee]);
  const finalAmount = amountIn(final?.leaves);
  let claim: Rewards['claim'] = null;
  if (final && finalAmount > claimed) {
    const tree = StandardMerkleTree.of(final.leaves, ['address', 'uint256']);
    for (const [i, [p]] of tree.entries()) {
      if (getAddress(p) === payee) claim = { operator, epoch: finalEpoch, cumulativeAmount: finalAmount.toString(), proof: tree.getProof(i) as Hex[] };
    }
  }
  const breakdown = await db.query<{ role: string; model_name: string; datanet_id: string; amount: string }>(
    `select role, model_name, datanet_id::text, sum(amount)::text as amount from epoch_credits c join settlement_epochs e using (epoch)
     where e.status <> 'reverted' and c.payee = $1 group by role, model_name, datanet_id order by role, model_name, datanet_id`, [payee]);
  return {
    payee, earned: amountIn(latest?.leaves).toString(), final: finalAmount.toString(), claimed: claimed.toString(),
    claimable: (finalAmount > claimed ? finalAmount - claimed : 0n).toString(), claim,
    breakdown: breakdown.map((b) => ({ role: b.role, modelName: b.model_name, datanetId: Number(b.datanet_id), amount: b.amount })),
  };
}

/**
 * The answers that credited a contributor's contributions, newest first, with the share each got
 * and the quoted spans: the attribution behind its earnings.
 *
 * @example
 * for (const e of await rewardEvidence(db, contributor)) console.log(e.sharePpm, e.quotes);
 */
export async function rewardEvidence(db: Queryable, who: Address, limit = 20): Promise<RewardEvidence[]> {
  // composed from each module's query: the contributor's contributions (datanet), the receipts that
  // credited them (attribution), the epochs that settled those (settlement's own ledger)
  const credits = await creditsOf(db, await contributionIdsOf(db, who), limit);
  const [texts, epochs] = await Promise.all([contributionTexts(db, credits.map((c) => c.contributionId)), epochsOf(db, credits.map((c) => c.receiptId))]);
  return credits.map((c) => ({
    receiptId: c.receiptId, model: c.model, epoch: epochs.get(c.receiptId) ?? null, contributionId: c.contributionId, datanetId: c.datanetId, sharePpm: c.sharePpm,
    record: texts.get(c.contributionId) ?? '', quotes: c.quotes,
  }));
}

/**
 * A payee's earnings epoch by epoch, oldest first.
 *
 * @example
 * const rows = await rewardHistory(db, payee);
 */
export async function rewardHistory(db: Queryable, who: Address): Promise<RewardHistoryRow[]> {
  const rows = await db.query<{ epoch: number; posted_at: Date | null; role: string; model_name: string; datanet_id: string; amount: string }>(
    `select c.epoch, e.posted_at, c.role, c.model_name, c.datanet_id::text, c.amount::text from epoch_credits c join settlement_epochs e using (epoch)
     where e.status <> 'reverted' and c.payee = $1 order by c.epoch, c.role, c.model_name, c.datanet_id`, [getAddress(who)]);
  return rows.map((r) => ({ epoch: r.epoch, postedAt: r.posted_at?.toISOString() ?? null, role: r.role, modelName: r.model_name, datanetId: Number(r.datanet_id), amount: r.amount }));
}

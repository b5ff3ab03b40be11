import type { Address, Hex } from 'viem';
import { getReceipts } from '../attribution/receipts.ts';
import type { Queryable } from '../store/database.ts';
import { splitCallTree, type SkillCredit } from './call-tree.ts';
import { epochsOf } from './charges.ts';
import { payeesOf, type SettlementNode } from './epoch.ts';
import { callTreesOf, type EpochCall } from './epoch-tree.ts';
import { ROOT_PARENT } from './skill-call.ts';
import { callProof, callRoot, type CallLeaf } from './call-root.ts';
import { callFeeOf, callTexts, callTree, getSkillCall } from './skill-calls.ts';

/** Where the stakers' share of a call tree's inference fees goes: the epoch's stakers' pool, divided by bonded stake. */
export const STAKERS_POOL = '0x0000000000000000000000000000000000000001' as Address;

/** One call of a tree as shown to whoever follows the money: what it was, what it ran, whom it paid, and the calls it made. */
export interface CallPayoutView {
  call: EpochCall['call'];
  /** What the call was given and answered (its `inputHash` and `outputHash` sign them): what a validator re-runs it from. */
  input: string;
  output: string;
  /** The inferences it paid: each receipt's model, fee and the contributions credited, as Proof of Attribution found them. */
  inferences: Array<{ receiptId: Hex; model: string; fee: string; contributions: Array<{ contributionId: Hex; datanetId: number; sharePpm: number }> }>;
  /** What this call's price paid out besides its children's prices (the stakers' share to {@link STAKERS_POOL}). */
  payouts: Array<{ payee: Address; role: string; modelName: string; datanetId: number; amount: string }>;
  children: CallPayoutView[];
}

/**
 * A recorded call's whole tree (from its consumer's call down), with what each call paid whom: the
 * split the epoch settles it by (call-tree.ts), and the epoch that settled it (null: not yet).
 * Null when no such call is recorded.
 *
 * @example
 * const t = await callTreePayouts(node, callId);
 */
export async function callTreePayouts(node: Pick<SettlementNode, 'db' | 'contracts'>, callId: Hex): Promise<{ epoch: number | null; root: CallPayoutView } | null> {
  let top = await getSkillCall(node.db, callId);
  for (let i = 0; top && top.call.parentCallId !== ROOT_PARENT && i < 16; i++) top = await getSkillCall(node.db, top.call.parentCallId);
  if (!top || top.call.parentCallId !== ROOT_PARENT) return null;
  const tree = await callTree(node.db, top.call.callId);
  const receipts = await getReceipts(node.db, tree.receipts);
  const bodies = new Map(receipts.map((r) => [r.id.toLowerCase(), r.body]));
  const payees = await payeesOf(node, receipts.map((r) => r.body), `call ${callId}`);
  const [root] = callTreesOf({ epoch: 0, calls: tree.calls, payees }, bodies);
  const credits = splitCallTree(root!, { ...(await callFeeOf(node)), stakerPool: STAKERS_POOL });
  const byCall = new Map<string, SkillCredit[]>();
  for (const c of credits) byCall.set(c.callId.toLowerCase(), [...(byCall.get(c.callId.toLowerCase()) ?? []), c]);
  const calls = new Map(tree.calls.map((c) => [c.call.callId.toLowerCase(), c]));
  const texts = await callTexts(node.db, tree.calls.map((c) => c.call.callId));
  const view = (id: Hex): CallPayoutView => {
    const c = calls.get(id.toLowerCase())!;
    const t = texts.get(c.call.callId)!;
    return {
      call: c.call,
      input: t.input,
      output: t.output,
      inferences: c.call.inferenceReceipts.map((r) => {
        const b = bodies.get(r.toLowerCase())!;
        return { receiptId: r, model: b.model.name, fee: b.fee.amount, contributions: b.contributions.map((x) => ({ contributionId: x.contributionId, datanetId: x.datanetId, sharePpm: x.sharePpm })) };
      }),
      payouts: (byCall.get(id.toLowerCase()) ?? []).map((x) => ({ payee: x.payee, role: x.role, modelName: x.modelName, datanetId: x.datanetId, amount: x.amount.toString() })),
      children: c.call.children.map(view),
    };
  };
  const epoch = (await epochsOf(node.db as Queryable, [top.call.callId])).get(top.call.callId) ?? null;
  return { epoch, root: view(top.call.callId) };
}

/**
 * What proves on chain that `callId` was paid (SkillCallRoots' `isPaidCall`, and feedback to its
 * agent in the ReputationRegistry): the operator, the epoch that settled its tree, and the call's
 * leaf with its proof against that epoch's call root. Null while no posted epoch settled it.
 *
 * @example
 * const p = await paidCallProof(db, operator, callId);
 * if (p) await reputation.write.giveFeedback([agentId, 90n, 0, 'openledger-skill', skill, '', '', zeroHash, p]);
 */
export async function paidCallProof(db: Queryable, operator: Address, callId: Hex): Promise<{ operator: Address; epoch: number; callRoot: Hex; leaf: CallLeaf; proof: Hex[] } | null> {
  const [row] = await db.query<{ epoch: number; inputs: { calls?: EpochCall[] }; call_root: Hex | null }>(
    `select epoch, inputs, call_root from settlement_epochs where status = 'posted' and call_root_tx is not null and call_root_tx <> 'refused'
       and exists (select 1 from jsonb_array_elements(inputs -> 'calls') c where lower(c -> 'call' ->> 'callId') = lower($1))`, [callId]);
  if (!row?.inputs.calls) return null;
  const p = callProof(row.inputs.calls, callId);
  return { operator, epoch: row.epoch, callRoot: callRoot(row.inputs.calls), leaf: p.leaf, proof: p.proof };
}

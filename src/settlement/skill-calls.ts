import { formatEther, getAddress, isAddressEqual, keccak256, stringToBytes, zeroAddress, type Address, type Hex, type PublicClient } from 'viem';
import type { Meter, Reservation } from '../inference/meter.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import type { Database, Queryable } from '../store/database.ts';
import { CallTreeError, checkCallTree, protocolFeeOf, type CallNode, type SkillTerms } from './call-tree.ts';
import { recordCharge } from './charges.ts';
import { skillCallOf, termsOf, type EpochCall } from './epoch-tree.ts';
import { PaymentRequiredError } from './meter.ts';
import type { SignerHistoryClient } from '../chain/agent-accounts.ts';
import { ROOT_PARENT, verifySkillCall, type SkillCall, type SkillCallDomain } from './skill-call.ts';

// Settlement's ledger of skill calls (`skill_calls`, `skill_call_inferences`): each call as its
// agent signed it, with its terms, in trees under the consumer's call that pays for all of them.
// The ledger refuses, as calls arrive, what the epoch's split would refuse (call-tree.ts): an
// inference paid by two calls, or run for another; a child not made by its parent or missing from
// its signed list; costs over the price.

/**
 * The most the protocol's fee on a call can be (SkillCallRoots' `MAX_CALL_FEE_BPS`, 10 %): what a
 * call keeps free of its budget, so that a change of the fee between the call and its epoch never
 * puts an honest tree over budget (the split takes the fee in force; the agent keeps the rest).
 */
export const MAX_CALL_FEE_BPS = 1_000;

/** The protocol's fee on skill calls and who receives it. */
export interface CallFee {
  protocolFeeBps: number;
  treasury: Address;
}

/**
 * The protocol's fee on skill calls as governance set it (SkillCallRoots' `callFeeBps`), paid to
 * the timelock (the protocol's treasury, spent by governance).
 *
 * @example
 * const { protocolFeeBps, treasury } = await callFeeOf(node);
 */
export async function callFeeOf(node: { contracts: Pick<ProtocolContracts, 'skillCallRoots' | 'timelock'> }): Promise<CallFee> {
  return { protocolFeeBps: Number(await node.contracts.skillCallRoots.read.callFeeBps()), treasury: node.contracts.timelock.address };
}


/** A call's budget while it runs: the inferences it runs (as its agent) and the children it pays come out of it. */
export interface CallBudget {
  callId: Hex;
  agent: Address;
  /** Wei still free for inferences and children. */
  remaining(): bigint;
  /** Wei spent so far on inferences and children. */
  spent(): bigint;
  /** The meter the call's inferences run under: each reserved against the budget and, when stored, paid by this call only. */
  meter: Meter;
  /**
   * Holds up to `cap` for a child call; `settle(price)` pays the child's price out of it (at most
   * `cap`) once the child is recorded, `release()` gives back what a failed child did not use.
   */
  reserveChild(cap: bigint): { settle(price: bigint): void; release(): void };
}

/**
 * A call's budget: `cap` less the most the protocol fee on it can be ({@link MAX_CALL_FEE_BPS}), in
 * memory for the one process that runs the call. Its meter refuses an inference for another consumer than the call's agent, or one that
 * could cost more than what is left; a stored inference is paid by this call in the receipt's own
 * transaction, and a receipt already paid by a call is refused (an inference counts in one call).
 *
 * @example
 * const budget = callBudget({ callId, agent, cap: parseEther('1') });
 * await runInference({ ...node, meter: budget.meter }, { ...request, consumer: agent, call: callId });
 */
export function callBudget(o: { callId: Hex; agent: Address; cap: bigint }): CallBudget {
  const free = o.cap - protocolFeeOf(o.cap, MAX_CALL_FEE_BPS);
  let spent = 0n;
  let held = 0n;
  const take = (amount: bigint, what: string) => {
    if (spent + held + amount > free) throw new PaymentRequiredError('over_budget', `${what} can cost up to ${formatEther(amount)} OPEN; call ${o.callId} has ${formatEther(free - spent - held)} OPEN of its budget left`);
    held += amount;
  };
  const meter: Meter = {
    async reserve(consumer, maxFee, what): Promise<Reservation> {
      if (!consumer || !isAddressEqual(consumer, o.agent)) throw new CallTreeError('foreign_inference', `call ${o.callId} pays only inferences run by its agent ${o.agent}, not by ${consumer ?? 'nobody'}`);
      take(maxFee, what);
      let open = true;
      const letGo = () => {
        if (open) held -= maxFee;
        open = false;
      };
      return {
        async charge(tx, receipt) {
          if (receipt.fee > maxFee) throw new CallTreeError('over_budget', `inference ${receipt.id} costs ${receipt.fee} wei, over the ${maxFee} reserved`);
          const [row] = await tx.query<{ receipt_id: string }>('insert into skill_call_inferences (receipt_id, call_id, fee) values ($1, $2, $3) on conflict (receipt_id) do nothing returning receipt_id', [receipt.id, o.callId, receipt.fee.toString()]);
          if (!row) throw new CallTreeError('inference_counted_twice', `inference ${receipt.id} is paid by another call already`);
          letGo();
          spent += receipt.fee;
        },
        async release() {
          letGo();
        },
      };
    },
  };
  return {
    callId: o.callId,
    agent: o.agent,
    remaining: () => free - spent - held,
    spent: () => spent,
    meter,
    reserveChild(cap) {
      take(cap, 'a child call');
      let open = true;
      const letGo = () => {
        if (open) held -= cap;
        open = false;
      };
      return {
        settle(price) {
          if (!open) return;
          if (price > cap) throw new CallTreeError('over_budget', `a child call of ${o.callId} charged ${price} wei, over its cap of ${cap}`);
          letGo();
          spent += price;
        },
        release: letGo,
      };
    },
  };
}

/** A finished call as its agent signed it, with the terms its price splits by, and its input and output (which its hashes sign). */
export interface SignedCall {
  call: SkillCall;
  signature: Hex;
  terms: SkillTerms;
  texts: { input: string; output: string };
}

/**
 * Records a finished call, checked against the ledger: signed by its agent under this deployment's
 * domain; its inferences exactly those paid by its budget; its children exactly the calls recorded
 * under it (each paid by its agent); its subtree payable as it stands ({@link checkCallTree}: no
 * double counts, costs within the price, terms within the margin). A consumer's call (no parent) is
 * charged to its payer in the same transaction (`charge`: the escrow reservation that held its
 * maximum), so its whole tree settles in the epoch that draws it. Throws a CallTreeError naming what
 * is wrong; nothing is recorded then.
 *
 * @example
 * await recordSkillCall({ db, client: publicClient, domain: { chainId, settlement } }, signed, reservation);
 */
export async function recordSkillCall(
  node: { db: Database; client: SignerHistoryClient & Pick<PublicClient, 'getBlockNumber'>; domain: SkillCallDomain },
  s: SignedCall,
  charge?: Reservation,
): Promise<void> {
  const { db } = node;
  const c = s.call;
  if (keccak256(stringToBytes(s.texts.input)) !== c.inputHash || keccak256(stringToBytes(s.texts.output)) !== c.outputHash) throw new CallTreeError('text_mismatch', `call ${c.callId}'s input or output is not what its hashes sign`);
  const block = await node.client.getBlockNumber({ cacheTime: 0 });
  if (!(await verifySkillCall(node.client, node.domain, c, s.signature, block))) throw new CallTreeError('bad_signature', `call ${c.callId} is not signed for its agent ${c.agent} (at block ${block})`);
  const isRoot = c.parentCallId === ROOT_PARENT;
  if (isRoot && !charge) throw new CallTreeError('unpaid_call', `call ${c.callId} is a consumer's call, and nothing charges its payer`);
  await db.transaction(async (tx) => {
    const paid = await tx.query<{ receipt_id: Hex }>('select receipt_id from skill_call_inferences where call_id = $1', [c.callId]);
    const claimed = new Set(c.inferenceReceipts.map((r) => r.toLowerCase()));
    if (paid.length !== claimed.size || paid.some((r) => !claimed.has(r.receipt_id.toLowerCase()))) {
      throw new CallTreeError('forged_inference', `call ${c.callId} signed the inferences [${c.inferenceReceipts.join(', ')}], but its budget paid [${paid.map((r) => r.receipt_id).join(', ')}]`);
    }
    const under = await tx.query<{ call_id: Hex }>('select call_id from skill_calls where parent_call_id = $1', [c.callId]);
    const listed = new Set(c.children.map((k) => k.toLowerCase()));
    if (under.length !== listed.size || under.some((k) => !listed.has(k.call_id.toLowerCase()))) {
      throw new CallTreeError('forged_child', `call ${c.callId} signed the children [${c.children.join(', ')}], but the calls made under it are [${under.map((k) => k.call_id).join(', ')}]`);
    }
    const subtree = await treeBelow(tx, c.children);
    const top: CallNode = {
      call: { ...c, parentCallId: ROOT_PARENT }, // checked as the top of its own subtree
      terms: s.terms,
      inferences: await Promise.all(c.inferenceReceipts.map(async (id) => ({ ...(await paidInference(tx, id)), receiptId: id, consumer: c.agent }))),
      children: subtree,
    };
    checkCallTree(top, { protocolFeeBps: MAX_CALL_FEE_BPS });
    const [inserted] = await tx.query<{ call_id: string }>(
      `insert into skill_calls (call_id, parent_call_id, skill, agent, payer, price, input_hash, output_hash, inference_receipts, children, signature, terms, block, input, output)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) on conflict (call_id) do nothing returning call_id`,
      [c.callId, c.parentCallId, c.skill, getAddress(c.agent), getAddress(c.payer), c.price.toString(), c.inputHash, c.outputHash,
        JSON.stringify(c.inferenceReceipts), JSON.stringify(c.children), s.signature, JSON.stringify(termsJson(s.terms)), block.toString(), s.texts.input, s.texts.output]);
    if (!inserted) throw new CallTreeError('call_counted_twice', `call ${c.callId} is recorded already`);
    if (isRoot) await charge!.charge(tx, { id: c.callId, fee: c.price, kind: 'call' });
  });
}

/** The fee input of an inference paid by a call, for the structural checks (its split is the epoch's). */
async function paidInference(tx: Queryable, receiptId: Hex) {
  const [row] = await tx.query<{ fee: string }>('select fee::text from skill_call_inferences where receipt_id = $1', [receiptId]);
  return { fee: BigInt(row?.fee ?? '0'), split: { modelOwnerBps: 10_000, datanetOwnersBps: 0, contributorsBps: 0, stakersBps: 0 }, modelName: '', modelOwner: zeroAddress, contributions: [] };
}

/** The recorded calls under `ids`, as call nodes (for the structural checks). */
async function treeBelow(tx: Queryable, ids: readonly Hex[]): Promise<CallNode[]> {
  const nodes: CallNode[] = [];
  for (const id of ids) {
    const [row] = await tx.query<CallRow>('select * from skill_calls where call_id = $1', [id]);
    if (!row) throw new CallTreeError('forged_child', `call ${id} is not recorded`);
    const e = epochCallOf(row);
    const call = skillCallOf(e);
    nodes.push({
      call, terms: termsOf(e),
      inferences: await Promise.all(call.inferenceReceipts.map(async (r) => ({ ...(await paidInference(tx, r)), receiptId: r, consumer: call.agent }))),
      children: await treeBelow(tx, call.children),
    });
  }
  return nodes;
}

interface CallRow {
  call_id: Hex; parent_call_id: Hex; skill: Hex; agent: Address; payer: Address; price: string; input_hash: Hex; output_hash: Hex;
  inference_receipts: Hex[]; children: Hex[]; signature: Hex; terms: EpochCall['terms']; block: string;
}

const epochCallOf = (r: CallRow): EpochCall => ({
  call: { callId: r.call_id, parentCallId: r.parent_call_id, skill: r.skill, agent: r.agent, payer: r.payer, price: String(r.price), inputHash: r.input_hash, outputHash: r.output_hash, inferenceReceipts: r.inference_receipts, children: r.children },
  signature: r.signature,
  block: String(r.block),
  terms: r.terms,
});

/** A call's terms as stored and served (amounts as decimal strings). */
export const termsJson = (t: SkillTerms): EpochCall['terms'] => ({ dataRoyaltyBps: t.dataRoyaltyBps, upstream: t.upstream.map((u) => ({ payee: getAddress(u.payee), bps: u.bps, cap: u.cap.toString() })) });


/**
 * A consumer's call and every call under it, as an epoch serves them, with the receipts of the
 * inferences they paid (parents before children).
 *
 * @example
 * const { calls, receipts } = await callTree(db, rootCallId);
 */
export async function callTree(db: Queryable, rootCallId: Hex): Promise<{ calls: EpochCall[]; receipts: Hex[] }> {
  const rows = await db.query<CallRow & { depth: number }>(
    `with recursive t as (select c.*, 0 as depth from skill_calls c where call_id = $1
       union all select c.*, t.depth + 1 from skill_calls c join t on c.parent_call_id = t.call_id and t.depth < 16)
     select * from t order by depth, created_at, call_id`, [rootCallId]);
  const calls = rows.map(epochCallOf);
  return { calls, receipts: calls.flatMap((c) => c.call.inferenceReceipts) };
}

/**
 * A recorded call as an epoch serves it (null when there is no such call).
 *
 * @example
 * const c = await getSkillCall(db, callId);
 */
export async function getSkillCall(db: Queryable, callId: Hex): Promise<EpochCall | null> {
  const [row] = await db.query<CallRow>('select * from skill_calls where call_id = $1', [callId]);
  return row ? epochCallOf(row) : null;
}

/**
 * Paid-call reputation: per skill, how many calls were recorded here and what they were paid.
 *
 * @example
 * const stats = await skillCallStats(db, [skillId]);
 */
export async function skillCallStats(db: Queryable, skills: readonly Hex[]): Promise<Map<Hex, { count: number; paid: bigint }>> {
  const rows = await db.query<{ skill: Hex; count: number; paid: string }>(
    'select skill, count(*)::int as count, sum(price)::text as paid from skill_calls where skill = any($1) group by skill', [skills.map((s) => s.toLowerCase())]);
  return new Map(rows.map((r) => [r.skill, { count: r.count, paid: BigInt(r.paid) }]));
}

/**
 * What recorded calls were given and answered, by call id: what a validator re-runs them from.
 *
 * @example
 * const texts = await callTexts(db, ids);
 */
export async function callTexts(db: Queryable, callIds: readonly Hex[]): Promise<Map<Hex, { input: string; output: string }>> {
  const rows = await db.query<{ call_id: Hex; input: string; output: string }>('select call_id, input, output from skill_calls where call_id = any($1)', [callIds]);
  return new Map(rows.map((r) => [r.call_id, { input: r.input, output: r.output }]));
}

/**
 * Forgets what calls that never finished left behind (a call that failed, or a node that died
 * mid-tree, records nothing above the failure and charges nobody): calls recorded under a parent
 * that was never recorded, and inferences paid by a call that was never recorded, once older than
 * `olderThanSeconds` (a day: no call runs that long). Their receipts stay, uncharged. Returns how
 * many rows it removed.
 *
 * @example
 * repeat(() => pruneUnfinishedCalls(db), 600_000, log).start();
 */
export async function pruneUnfinishedCalls(db: Queryable, olderThanSeconds = 86_400): Promise<number> {
  let removed = 0;
  // a removed call's children are orphans in turn: as many rounds as a tree is deep
  for (let round = 0; round <= 16; round++) {
    const rows = await db.query<{ call_id: string }>(
      `delete from skill_calls c where c.parent_call_id <> $1 and c.created_at < now() - make_interval(secs => $2)
         and not exists (select 1 from skill_calls p where p.call_id = c.parent_call_id) returning call_id`, [ROOT_PARENT, olderThanSeconds]);
    removed += rows.length;
    if (rows.length === 0) break;
  }
  const inferences = await db.query<{ receipt_id: string }>(
    `delete from skill_call_inferences i where i.created_at < now() - make_interval(secs => $1)
       and not exists (select 1 from skill_calls c where c.call_id = i.call_id) returning receipt_id`, [olderThanSeconds]);
  return removed + inferences.length;
}

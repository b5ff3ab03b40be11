import { isAddressEqual, type Address, type Hex } from 'viem';
import { distribute, splitFee, type CreditRole, type FeeInput } from '../settlement/fee-split.ts';
import { CodedError } from '../util/coded-error.ts';
import { ROOT_PARENT, type SkillCall } from './skill-call.ts';

/** What a call's price is split by beyond its costs: the skill's registered terms. */
export interface SkillTerms {
  /** Part of the agent's margin (basis points) paid to the data behind the answers it used, by fee × attribution. */
  dataRoyaltyBps: number;
  /** Skills this one derives from: each paid `bps` of the margin, at most `cap` wei a call. */
  upstream: ReadonlyArray<{ payee: Address; bps: number; cap: bigint }>;
}

/** An inference a call caused: its receipt, whom it was charged to, its fee and the payees Proof of Attribution splits it over. */
export interface CallInference extends FeeInput {
  receiptId: Hex;
  consumer: Address;
}

/** A signed call with what it is split over: its skill's terms, its inferences and the calls it made. */
export interface CallNode {
  call: SkillCall;
  terms: SkillTerms;
  inferences: readonly CallInference[];
  children: readonly CallNode[];
}

/** What a payee earns from a call tree, and from which call. */
export interface SkillCredit {
  payee: Address;
  role: CreditRole;
  callId: Hex;
  /** The inference's model ('' where none). */
  modelName: string;
  /** 0 where no datanet is concerned. */
  datanetId: number;
  amount: bigint;
}

/** Everything the split needs besides the tree: the protocol's fee and where it and the stakers' share go. */
export interface CallTreeParams {
  protocolFeeBps: number;
  treasury: Address;
  /** Collects the stakers' share of inference fees (divided among stakers per epoch). */
  stakerPool: Address;
}

/** A call tree that cannot be paid as it stands; `code` names the fault. */
export class CallTreeError extends CodedError {
  override name = 'CallTreeError';
}

/** The deepest call tree paid (a cycle of agents calling each other ends here, or at the budget). */
export const MAX_CALL_DEPTH = 8;

const BPS = 10_000n;
/** The protocol fee of a call's price (rounded down), as the split takes it. */
export const protocolFeeOf = (price: bigint, bps: number): bigint => (price * BigInt(bps)) / BPS;
const sameList = (a: readonly Hex[], b: readonly Hex[]) => a.length === b.length && a.every((x, i) => x.toLowerCase() === b[i]!.toLowerCase());

/**
 * Checks that a call tree can be paid as one payment: the root is a consumer's call; every child was
 * made by its parent (its parent id, its payer the parent's agent, and listed in the parent's
 * signed `children`); no call and no inference is counted twice anywhere in the tree; every
 * inference was charged to the agent of the call that claims it; each call's protocol fee, children
 * and inferences fit in its price (so delegated budgets never exceed the parent's); terms give away
 * at most the margin; the tree is at most {@link MAX_CALL_DEPTH} deep. Throws a {@link CallTreeError}
 * naming the first fault. Signatures are checked apart (skill-call.ts).
 *
 * @example
 * checkCallTree(root, { protocolFeeBps: 100, treasury, stakerPool });
 */
export function checkCallTree(root: CallNode, p: Pick<CallTreeParams, 'protocolFeeBps'>): void {
  if (root.call.parentCallId !== ROOT_PARENT) throw new CallTreeError('reparented_call', `call ${root.call.callId} names a parent, ${root.call.parentCallId}, but is paid as a consumer's call`);
  // first what is counted twice anywhere (a call, an inference): whatever else is wrong with the calls involved
  const calls = new Set<string>();
  const receipts = new Set<string>();
  const count = (n: CallNode, depth: number) => {
    if (depth > MAX_CALL_DEPTH) throw new CallTreeError('call_tree_too_deep', `call ${n.call.callId} is ${depth} calls deep (at most ${MAX_CALL_DEPTH})`);
    if (calls.has(n.call.callId.toLowerCase())) throw new CallTreeError('call_counted_twice', `call ${n.call.callId} appears twice in the tree`);
    calls.add(n.call.callId.toLowerCase());
    for (const i of n.inferences) {
      if (receipts.has(i.receiptId.toLowerCase())) throw new CallTreeError('inference_counted_twice', `inference ${i.receiptId} is claimed twice in the tree`);
      receipts.add(i.receiptId.toLowerCase());
    }
    for (const k of n.children) count(k, depth + 1);
  };
  count(root, 1);
  const visit = (n: CallNode) => {
    const c = n.call;
    if (c.price < 0n) throw new CallTreeError('negative_price', `call ${c.callId} has a negative price`);
    if (!sameList(c.children, n.children.map((k) => k.call.callId))) throw new CallTreeError('forged_child', `call ${c.callId} signed the children [${c.children.join(', ')}], not the calls under it`);
    if (!sameList(c.inferenceReceipts, n.inferences.map((i) => i.receiptId))) throw new CallTreeError('forged_inference', `call ${c.callId} signed the inferences [${c.inferenceReceipts.join(', ')}], not the ones under it`);
    let costs = protocolFeeOf(c.price, p.protocolFeeBps);
    for (const i of n.inferences) {
      if (!isAddressEqual(i.consumer, c.agent)) throw new CallTreeError('foreign_inference', `inference ${i.receiptId} was charged to ${i.consumer}, not to ${c.agent}, whose call claims it`);
      if (i.fee < 0n) throw new CallTreeError('negative_price', `inference ${i.receiptId} has a negative fee`);
      costs += i.fee;
    }
    for (const k of n.children) {
      if (k.call.parentCallId.toLowerCase() !== c.callId.toLowerCase()) throw new CallTreeError('reparented_call', `call ${k.call.callId} names ${k.call.parentCallId} as its parent, not ${c.callId}`);
      if (!isAddressEqual(k.call.payer, c.agent)) throw new CallTreeError('reparented_call', `call ${k.call.callId} was paid by ${k.call.payer}, not by ${c.agent}, the agent of its parent`);
      costs += k.call.price;
    }
    if (costs > c.price) throw new CallTreeError('over_budget', `call ${c.callId} pays out ${costs} wei (protocol fee, inferences, children) of a price of ${c.price}`);
    const given = n.terms.dataRoyaltyBps + n.terms.upstream.reduce((s, u) => s + u.bps, 0);
    if (n.terms.dataRoyaltyBps < 0 || n.terms.upstream.some((u) => u.bps < 0 || u.cap < 0n) || given > 10_000) throw new CallTreeError('bad_terms', `the terms of call ${c.callId} give away ${given} bps of its margin`);
    for (const k of n.children) visit(k);
  };
  visit(root);
}

/**
 * Splits a consumer's one payment (the root call's price) down its call tree, exactly (integers;
 * largest remainders): in every call, the protocol fee; each inference's fee split as Proof of
 * Attribution split it (model owner, datanet owners, contributors or the datanets' pools, stakers);
 * each child's price, split again inside its subtree; then of the margin left, the data royalty,
 * shared by the contributors and datanet pools behind the call's answers weighted by fee ×
 * attribution; each upstream skill's royalty (capped); the rest to the call's agent. The credits sum
 * to the root's price; checks the tree first ({@link checkCallTree}).
 *
 * @example
 * const credits = splitCallTree(root, { protocolFeeBps: 100, treasury, stakerPool });
 */
export function splitCallTree(root: CallNode, p: CallTreeParams): SkillCredit[] {
  checkCallTree(root, p);
  const credits: SkillCredit[] = [];
  const pay = (c: Omit<SkillCredit, 'modelName' | 'datanetId'> & Partial<SkillCredit>) => {
    if (c.amount > 0n) credits.push({ modelName: '', datanetId: 0, ...c });
  };
  const visit = (n: CallNode) => {
    const { callId, price, agent } = n.call;
    const fee = protocolFeeOf(price, p.protocolFeeBps);
    pay({ payee: p.treasury, role: 'protocol', callId, amount: fee });
    let margin = price - fee;
    // the data behind the call's answers: each contribution (or abstaining datanet's pool) by fee × attribution
    const behind: Array<{ payee: Address; datanetId: number; modelName: string; weight: bigint }> = [];
    for (const i of n.inferences) {
      for (const c of splitFee(i, p.stakerPool)) pay({ ...c, callId });
      margin -= i.fee;
      for (const c of i.contributions) behind.push({ payee: c.contributor, datanetId: c.datanetId, modelName: i.modelName, weight: i.fee * BigInt(c.sharePpm) });
      if (i.contributions.length === 0) for (const d of i.pools ?? []) behind.push({ payee: d.datanetOwner, datanetId: d.datanetId, modelName: i.modelName, weight: i.fee * BigInt(d.sharePpm) });
    }
    for (const k of n.children) {
      margin -= k.call.price;
      visit(k);
    }
    let rest = margin;
    if (behind.some((b) => b.weight > 0n)) {
      const royalty = (margin * BigInt(n.terms.dataRoyaltyBps)) / BPS;
      distribute(royalty, behind.map((b) => b.weight)).forEach((amount, j) => pay({ payee: behind[j]!.payee, role: 'data_royalty', callId, modelName: behind[j]!.modelName, datanetId: behind[j]!.datanetId, amount }));
      rest -= royalty;
    }
    for (const u of n.terms.upstream) {
      const share = (margin * BigInt(u.bps)) / BPS;
      const amount = share < u.cap ? share : u.cap;
      pay({ payee: u.payee, role: 'skill_upstream', callId, amount });
      rest -= amount;
    }
    pay({ payee: agent, role: 'skill_agent', callId, amount: rest });
  };
  visit(root);
  return credits;
}

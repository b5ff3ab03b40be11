import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import canonicalize from 'canonicalize';
import { keccak256, stringToBytes, zeroAddress, type Address, type Hex } from 'viem';
import type { ReceiptBody } from '../attribution/receipt-types.ts';
import { splitCallTree, type CallInference, type CallNode, type SkillTerms } from './call-tree.ts';
import { splitFee, splitStakerPool, type Credit, type FeeInput } from './fee-split.ts';
import { ROOT_PARENT, type SkillCall } from './skill-call.ts';

// An epoch's arithmetic, pure and browser-safe: what its inputs are, the credits they give, the
// tree of cumulative earnings and the inputs' hash. The epoch job (epoch.ts) computes an epoch with
// it; anyone recomputing one — the CLI's `settlement verify`, the web app, a watchtower — uses the
// same functions (verify-epoch.ts).

/** The settlement contract's epoch statuses. */
export const EpochStatus = { None: 0, Pending: 1, Disputed: 2, Finalized: 3, Reverted: 4 } as const;

/** One consumer's draw in an epoch: its authorisation and the cumulative spend drawn up to. */
export interface EpochDraw {
  auth: { consumer: Address; operator: Address; cumulativeAmount: string; nonce: string; expiry: string };
  signature: Hex;
  drawTo: string;
}

/** Everything an epoch's root was computed from, stored and served so anyone can recompute it. */
export interface EpochInputs {
  epoch: number;
  /** Receipts settled in this epoch, in order. */
  receipts: Hex[];
  /** Who the fee shares go to: each contribution's contributor, each datanet's and model's owner. */
  payees: { contributors: Record<string, Address>; datanetOwners: Record<string, Address>; modelOwners: Record<string, Address> };
  /** Bonded stake per staker (both roles) when the epoch was prepared; the stakers' pool is split by it. */
  stakers: Array<{ staker: Address; bonded: string }>;
  /** Receives the stakers' pool when nobody is staked: the operator. */
  operator: Address;
  draws: EpochDraw[];
  /**
   * Skill calls settled in this epoch (absent when none): every consumer's call drawn here with every
   * call under it, as their agents signed them. The inferences they name are among `receipts`, and
   * are paid from the calls' prices, not charged to anyone again.
   */
  calls?: EpochCall[];
  /** The protocol's fee on skill calls and who receives it (present with `calls`). */
  callFee?: { protocolFeeBps: number; treasury: Address };
}

/** A skill call as an epoch serves it: the signed call (price as a decimal string), its agent's signature and the terms it splits by. */
export interface EpochCall {
  call: { callId: Hex; parentCallId: Hex; skill: Hex; agent: Address; payer: Address; price: string; inputHash: Hex; outputHash: Hex; inferenceReceipts: Hex[]; children: Hex[] };
  signature: Hex;
  /** The block the node checked the signature at (an account's session key can be revoked later): verifiers check it there. */
  block: string;
  terms: { dataRoyaltyBps: number; upstream: Array<{ payee: Address; bps: number; cap: string }> };
}

/** The signed call of a served one. */
export const skillCallOf = (e: EpochCall): SkillCall => ({ ...e.call, price: BigInt(e.call.price) });

/** The terms of a served call. */
export const termsOf = (e: EpochCall): SkillTerms => ({ dataRoyaltyBps: e.terms.dataRoyaltyBps, upstream: e.terms.upstream.map((u) => ({ payee: u.payee, bps: u.bps, cap: BigInt(u.cap) })) });

/** Leaves: every payee's cumulative earnings over all non-reverted epochs up to this one. */
export type EpochLeaves = Array<[Address, string]>;

/**
 * The credits of an epoch from its inputs and its receipts' bodies (in the order of
 * `inputs.receipts`): each fee split by the split in its receipt; each consumer's skill call's price
 * split down its tree (call-tree.ts), the fees of the inferences it paid included; the stakers'
 * pool divided by bonded stake. Throws when the calls do not form trees that pay each of their
 * inferences once: an inference run for a call is paid by that call only. Pure: `settlement
 * verify` runs it too.
 *
 * @example
 * const credits = epochCredits(inputs, bodies);
 */
export function epochCredits(inputs: EpochInputs, bodies: ReadonlyArray<ReceiptBody>): Credit[] {
  const POOL = '0x0000000000000000000000000000000000000001' as Address;
  const credits: Credit[] = [];
  let pool = 0n;
  const add = (c: Credit) => {
    if (c.payee === POOL) pool += c.amount;
    else credits.push({ payee: c.payee, role: c.role, modelName: c.modelName, datanetId: c.datanetId, amount: c.amount });
  };
  const byReceipt = new Map<string, ReceiptBody>();
  inputs.receipts.forEach((id, i) => byReceipt.set(id.toLowerCase(), bodies[i]!));
  const inCalls = new Set((inputs.calls ?? []).flatMap((e) => e.call.inferenceReceipts.map((r) => r.toLowerCase())));
  for (const [id, b] of byReceipt) {
    if (b.call !== undefined) {
      if (!inCalls.has(id)) throw new Error(`epoch ${inputs.epoch}: receipt ${id} was run for call ${b.call}, which no call of this epoch claims`);
      continue; // paid from its call's price
    }
    for (const c of splitFee(feeInputOf(inputs, b), POOL)) add(c);
  }
  for (const root of callTreesOf(inputs, byReceipt)) {
    if (!inputs.callFee) throw new Error(`epoch ${inputs.epoch}: skill calls without the protocol's call fee`);
    for (const c of splitCallTree(root, { ...inputs.callFee, stakerPool: POOL })) add(c);
  }
  credits.push(...splitStakerPool(pool, inputs.stakers.map((s) => ({ staker: s.staker, bonded: BigInt(s.bonded) })), inputs.operator));
  return aggregate(credits);
}

/**
 * An epoch's calls as trees under the consumers' calls, with the fee inputs of the inferences they
 * paid (`receipts` by lower-case id); throws unless every call is in exactly one tree and every
 * child is listed. An inference run for another call is foreign to the call that names it.
 *
 * @example
 * for (const root of callTreesOf(inputs, receipts)) credits.push(...splitCallTree(root, params));
 */
export function callTreesOf(e: Pick<EpochInputs, 'epoch' | 'calls' | 'payees'>, receipts: ReadonlyMap<string, ReceiptBody>): CallNode[] {
  const calls = new Map((e.calls ?? []).map((c) => [c.call.callId.toLowerCase(), c]));
  if (calls.size !== (e.calls ?? []).length) throw new Error(`epoch ${e.epoch}: a skill call is listed twice`);
  const placed = new Set<string>();
  const node = (id: Hex, depth: number): CallNode => {
    const k = id.toLowerCase();
    const c = calls.get(k);
    if (!c) throw new Error(`epoch ${e.epoch}: call ${id} is named as a child but not listed`);
    if (placed.has(k) || depth > 16) throw new Error(`epoch ${e.epoch}: call ${id} is placed twice in the call trees`);
    placed.add(k);
    const inferences: CallInference[] = c.call.inferenceReceipts.map((r) => {
      const b = receipts.get(r.toLowerCase());
      if (!b) throw new Error(`epoch ${e.epoch}: call ${id} names receipt ${r}, which is not among the epoch's receipts`);
      // the node signed whom each inference was run for: another call's inference is foreign here
      return { ...feeInputOf(e, b), receiptId: r, consumer: b.call?.toLowerCase() === k ? c.call.agent : zeroAddress };
    });
    return {
      call: skillCallOf(c),
      terms: termsOf(c),
      inferences,
      children: c.call.children.map((kid) => node(kid, depth + 1)),
    };
  };
  const roots = [...calls.values()].filter((c) => c.call.parentCallId === ROOT_PARENT).map((c) => node(c.call.callId, 1));
  if (placed.size !== calls.size) throw new Error(`epoch ${e.epoch}: ${calls.size - placed.size} skill calls are under no consumer's call`);
  return roots;
}

/** What a receipt's fee is split over, by the epoch's payees. */
export function feeInputOf(e: Pick<EpochInputs, 'epoch' | 'payees'>, b: ReceiptBody): FeeInput {
  const owner = e.payees.modelOwners[b.model.name];
  if (!owner) throw new Error(`epoch ${e.epoch}: no owner for model ${b.model.name}`);
  const contributions = b.contributions.map((c) => ({
    contributionId: c.contributionId, datanetId: c.datanetId, sharePpm: c.sharePpm,
    contributor: e.payees.contributors[c.contributionId]!, datanetOwner: e.payees.datanetOwners[String(c.datanetId)]!,
  }));
  const pools = (b.pools ?? []).map((p) => ({ datanetId: p.datanetId, sharePpm: p.sharePpm, datanetOwner: e.payees.datanetOwners[String(p.datanetId)]! }));
  return { fee: BigInt(b.fee.amount), split: b.fee.split, modelName: b.model.name, modelOwner: owner, contributions, pools };
}

/** Sums credits with the same payee, role, model and datanet. */
function aggregate(credits: Credit[]): Credit[] {
  const m = new Map<string, Credit>();
  for (const c of credits) {
    const k = `${c.payee}|${c.role}|${c.modelName}|${c.datanetId}`;
    const e = m.get(k);
    if (e) e.amount += c.amount;
    else m.set(k, { ...c });
  }
  return [...m.values()];
}

/**
 * The Merkle tree of cumulative earnings (OpenZeppelin standard leaves of (address, uint256), as
 * AttributionSettlement checks them), from the previous cumulative amounts plus this epoch's credits.
 *
 * @example
 * const { tree, leaves, total } = earningsTree(previous, credits);
 */
export function earningsTree(previous: ReadonlyMap<Address, bigint>, credits: readonly Credit[]): { tree: StandardMerkleTree<[string, string]>; leaves: EpochLeaves; total: bigint } {
  const sums = new Map(previous);
  for (const c of credits) sums.set(c.payee, (sums.get(c.payee) ?? 0n) + c.amount);
  const leaves: EpochLeaves = [...sums].filter(([, a]) => a > 0n).sort(([a], [b]) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)).map(([p, a]) => [p, a.toString()]);
  const total = leaves.reduce((n, [, a]) => n + BigInt(a), 0n);
  return { tree: StandardMerkleTree.of(leaves.length > 0 ? leaves : [['0x0000000000000000000000000000000000000000', '0']], ['address', 'uint256']), leaves, total };
}

/** keccak256 of an epoch's inputs in canonical JSON (RFC 8785): the `inputsHash` posted on chain. */
export const inputsHash = (inputs: EpochInputs): Hex => keccak256(stringToBytes(canonicalize(inputs)!));


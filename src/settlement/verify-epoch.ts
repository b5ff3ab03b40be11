import { getAddress, isAddressEqual, type Address, type Hex } from 'viem';
import { checkReceiptSignature } from '../attribution/receipts.ts';
import type { ReceiptBody } from '../attribution/receipt-types.ts';
import { earningsTree, epochCredits, inputsHash, skillCallOf, type EpochInputs, type EpochLeaves } from './epoch-tree.ts';
import { verifySkillCall } from './skill-call.ts';
import type { SignerHistoryClient } from '../chain/agent-accounts.ts';

/** What a verifier has of an epoch: what the chain says, and what the node serves as its inputs. */
export interface EpochEvidence {
  epoch: number;
  /** From the chain: the posted root, its declared total and inputs hash, who posted it, and where (the chain and settlement contract skill calls are signed for). */
  chain: { root: Hex; cumulativeTotal: bigint; inputsHash: Hex; operator: Address; chainId?: number; settlement?: Address; client?: SignerHistoryClient };
  /** From the node: the inputs, the leaves it claims, and the receipts the inputs name. */
  inputs: EpochInputs;
  leaves: EpochLeaves;
  receipts: Array<{ id: Hex; body: ReceiptBody; signature: Hex }>;
  /** Cumulative earnings before this epoch (the leaves of the last epoch not reverted, themselves verified). */
  previous: EpochLeaves;
}

export interface EpochVerdict {
  ok: boolean;
  /** Everything that does not check out, in words. */
  problems: string[];
  /** Payees whose posted cumulative earnings differ from the recomputation. */
  differences: Array<{ payee: Address; posted: string; recomputed: string }>;
  recomputedRoot: Hex;
}

/**
 * Recomputes an epoch from its inputs and checks it against the chain: the inputs hash, every
 * receipt's id and node signature, the fee split of each receipt (credits), the cumulative
 * earnings tree and its root and total. Any difference is evidence for a dispute.
 *
 * @example
 * const v = await verifyEpoch(evidence);
 * if (!v.ok) console.log(v.problems.join('\n'));
 */
export async function verifyEpoch(e: EpochEvidence): Promise<EpochVerdict> {
  const problems: string[] = [];
  if (inputsHash(e.inputs) !== e.chain.inputsHash) problems.push(`the inputs hash to ${inputsHash(e.inputs)}, the chain has ${e.chain.inputsHash}`);
  const byId = new Map(e.receipts.map((r) => [r.id, r]));
  for (const id of e.inputs.receipts) {
    const r = byId.get(id);
    if (!r) {
      problems.push(`receipt ${id} is named by the inputs but not served`);
      continue;
    }
    try {
      await checkReceiptSignature(r);
      if (!isAddressEqual(r.body.node, e.chain.operator)) problems.push(`receipt ${id} was signed by ${r.body.node}, not by the epoch's operator ${e.chain.operator}`);
    } catch (err) {
      problems.push(`receipt ${id}: ${(err as Error).message}`);
    }
  }
  for (const c of e.inputs.calls ?? []) {
    if (e.chain.chainId === undefined || !e.chain.settlement || !e.chain.client) {
      problems.push(`call ${c.call.callId}: its signature cannot be checked without the chain and settlement contract`);
      continue;
    }
    if (!(await verifySkillCall(e.chain.client, { chainId: e.chain.chainId, settlement: e.chain.settlement }, skillCallOf(c), c.signature, BigInt(c.block)))) problems.push(`call ${c.call.callId} is not signed for its agent ${c.call.agent} (at block ${c.block})`);
  }
  if (e.inputs.receipts.some((id) => !byId.has(id))) return { ok: false, problems, differences: [], recomputedRoot: '0x' };
  const bodies = e.inputs.receipts.map((id) => byId.get(id)!.body);
  const previous = new Map(e.previous.map(([p, a]) => [getAddress(p), BigInt(a)]));
  let credits;
  try {
    credits = epochCredits(e.inputs, bodies);
  } catch (err) {
    return { ok: false, problems: [...problems, (err as Error).message], differences: [], recomputedRoot: '0x' };
  }
  const { tree, leaves, total } = earningsTree(previous, credits);
  if (tree.root !== e.chain.root) problems.push(`the recomputed root is ${tree.root}, the chain has ${e.chain.root}`);
  if (total !== e.chain.cumulativeTotal) problems.push(`the recomputed cumulative total is ${total}, the chain has ${e.chain.cumulativeTotal}`);
  const posted = new Map(e.leaves.map(([p, a]) => [getAddress(p), a]));
  const recomputed = new Map(leaves.map(([p, a]) => [getAddress(p), a]));
  const differences: EpochVerdict['differences'] = [];
  for (const payee of new Set([...posted.keys(), ...recomputed.keys()])) {
    const a = posted.get(payee) ?? '0', b = recomputed.get(payee) ?? '0';
    if (a !== b) differences.push({ payee, posted: a, recomputed: b });
  }
  for (const d of differences) problems.push(`${d.payee}: posted ${d.posted}, recomputed ${d.recomputed}`);
  return { ok: problems.length === 0, problems, differences, recomputedRoot: tree.root as Hex };
}

/** An epoch as a node serves it (`GET /settlement/epochs/:n/inputs`). */
export interface ServedEpoch {
  epoch: number;
  status: string;
  root: Hex;
  inputs: EpochInputs;
  leaves: EpochLeaves;
  receipts: Array<{ id: Hex; body: ReceiptBody; signature: Hex; prompt: string; output: string }>;
}

/**
 * Gathers what {@link verifyEpoch} needs: the chain's record of the operator's `epoch` and of its
 * epochs before it (the last one not reverted gives the previous cumulative earnings, its served
 * leaves checked against its root on chain), and the node's served inputs. The operator is the one
 * the served inputs name unless `operator` says which one the caller expects.
 *
 * @example
 * const evidence = await epochEvidence((n) => callApi(api, 'GET', `/settlement/epochs/${n}/inputs`), contracts, 3);
 */
export async function epochEvidence(
  served: (epoch: number) => Promise<ServedEpoch>,
  contracts: { attributionSettlement: { read: { getEpoch(args: [Address, bigint]): Promise<{ root: Hex; cumulativeTotal: bigint; inputsHash: Hex; operator: Address; status: number }> } } },
  epoch: number,
  operator?: Address,
  /** The chain and settlement contract, to check the signatures of the epoch's skill calls. */
  where?: { chainId: number; settlement: Address; client: SignerHistoryClient },
): Promise<EpochEvidence & { served: ServedEpoch }> {
  const s = await served(epoch);
  const who = operator ?? s.inputs.operator;
  const onChain = await contracts.attributionSettlement.read.getEpoch([who, BigInt(epoch)]);
  let previous: EpochLeaves = [];
  for (let n = epoch - 1; n >= 1; n--) {
    const p = await contracts.attributionSettlement.read.getEpoch([who, BigInt(n)]);
    if (p.status === 4 /* Reverted */) continue;
    const prev = await served(n);
    const { tree } = earningsTree(new Map(prev.leaves.map(([a, v]) => [getAddress(a), BigInt(v)])), []);
    if (tree.root !== p.root) throw new Error(`the node's leaves of epoch ${n} do not match its root on chain; verify epoch ${n} first`);
    previous = prev.leaves;
    break;
  }
  return {
    epoch, served: s, inputs: s.inputs, leaves: s.leaves, receipts: s.receipts, previous,
    chain: { root: onChain.root, cumulativeTotal: onChain.cumulativeTotal, inputsHash: onChain.inputsHash, operator: onChain.operator, ...where },
  };
}

import { bytesToHex, keccak256, stringToBytes, type Address, type Hex, type PublicClient } from 'viem';
import { randomBytes } from 'node:crypto';
import type { SignerHistoryClient } from '../chain/agent-accounts.ts';
import type { Reservation } from '../inference/meter.ts';
import { runInference, type InferenceNode } from '../inference/run-inference.ts';
import { CallTreeError, MAX_CALL_DEPTH, protocolFeeOf, type SkillTerms } from '../settlement/call-tree.ts';
import { PaymentRequiredError } from '../settlement/meter.ts';
import { ROOT_PARENT, signSkillCall, type SkillCall, type SkillCallDomain } from '../settlement/skill-call.ts';
import { callBudget, MAX_CALL_FEE_BPS, recordSkillCall, type CallBudget } from '../settlement/skill-calls.ts';
import type { Database } from '../store/database.ts';
import { agentSigner } from './agents.ts';
import type { SkillOffer } from './skill-folder.ts';
import { getSkill, SkillStoreError } from './skill-store.ts';
import { fill } from './skill-workflow.ts';

/** What running skills needs of the node: the inference pipeline, and the chain (to check signatures). */
export interface SkillNode {
  db: Database;
  inference: InferenceNode;
  client: SignerHistoryClient & Pick<PublicClient, 'getBlockNumber'>;
  domain: SkillCallDomain;
}

/** A finished, recorded call: its signed form and what it answered, with the calls it made. */
export interface SkillCallResult {
  call: SkillCall;
  signature: Hex;
  output: string;
  children: SkillCallResult[];
}

/** Who asks for a call and how it is paid. */
export interface SkillCallRequest {
  skill: Hex;
  input: string;
  /** Who pays: the consumer (a root call, charged through `charge`) or the calling agent. */
  payer: Address;
  /** The most the payer pays (wei): a flat price over it is refused before anything runs. */
  maxPrice: bigint;
  /** The consumer's reservation of `maxPrice` in its escrow: charged the call's price when it is recorded. */
  charge?: Reservation;
  signal?: AbortSignal;
}

/**
 * Runs one paid call of a listed skill and every call it makes, as its agent: the workflow's
 * prompts as inferences run for the call (their receipts name it) and paid from its budget, its
 * calls of other skills paid from the same budget (each at most its declared `maxPrice`), then the
 * price by the skill's offer (flat; per 1,000 tokens of its inferences; or `upto`: its costs plus
 * the offer's fee), signed by the agent and recorded with its tree (settlement/skill-calls.ts). A
 * call that fails records nothing and charges nobody. A cycle of agents calling each other ends at
 * {@link MAX_CALL_DEPTH} or at the budget.
 *
 * @example
 * const r = await callSkill(node, { skill, input: 'Summarise …', payer: consumer, maxPrice, charge: reservation });
 */
export function callSkill(node: SkillNode, r: SkillCallRequest): Promise<SkillCallResult> {
  return run(node, r, null);
}

async function run(node: SkillNode, r: SkillCallRequest, parent: { callId: Hex; depth: number } | null): Promise<SkillCallResult> {
  const depth = (parent?.depth ?? 0) + 1;
  if (depth > MAX_CALL_DEPTH) throw new CallTreeError('call_tree_too_deep', `a call of ${r.skill} would be ${depth} calls deep (at most ${MAX_CALL_DEPTH})`);
  const listed = await getSkill(node.db, r.skill);
  if (!listed) throw new SkillStoreError('unknown_skill', `no skill ${r.skill} is listed here`);
  const { skill, agent } = listed;
  const { offer, workflow } = skill;
  if (offer.pricing === 'flat' && offer.price > r.maxPrice) throw new PaymentRequiredError('over_budget', `${skill.name} costs ${offer.price} wei a call; the payer allows ${r.maxPrice}`);
  const callId = bytesToHex(randomBytes(32));
  const cap = offer.pricing === 'flat' ? offer.price : r.maxPrice;
  const budget = callBudget({ callId, agent, cap });
  const steps: Record<string, string> = {};
  const receipts: Hex[] = [];
  const children: SkillCallResult[] = [];
  let tokens = 0;
  for (const step of workflow.steps) {
    r.signal?.throwIfAborted();
    if (step.kind === 'prompt') {
      const res = await runInference({ ...node.inference, meter: budget.meter }, {
        model: step.model, prompt: fill(step.prompt, { input: r.input, steps }), maxTokens: step.maxTokens, temperature: 0, topP: 1, seed: 0, stop: [],
        consumer: agent, call: callId, ...(r.signal ? { signal: r.signal } : {}),
      });
      steps[step.id] = res.output;
      if (res.receipt) receipts.push(res.receipt.id);
      tokens += res.usage.promptTokens + res.usage.completionTokens;
    } else {
      const child = await payChild(node, budget, { skill: step.skill, input: fill(step.input, { input: r.input, steps }), maxPrice: step.maxPrice, ...(r.signal ? { signal: r.signal } : {}) }, { callId, depth });
      steps[step.id] = child.output;
      children.push(child);
    }
  }
  const output = fill(workflow.output, { input: r.input, steps });
  const price = priceOf(offer, { costs: budget.spent(), tokens, feeBps: MAX_CALL_FEE_BPS });
  if (price > r.maxPrice) throw new PaymentRequiredError('over_budget', `${skill.name} would cost ${price} wei; the payer allows ${r.maxPrice}`);
  const call: SkillCall = {
    callId, parentCallId: parent?.callId ?? ROOT_PARENT, skill: skill.id, agent, payer: r.payer, price,
    inputHash: keccak256(stringToBytes(r.input)), outputHash: keccak256(stringToBytes(output)),
    inferenceReceipts: receipts, children: children.map((c) => c.call.callId),
  };
  const signature = await signSkillCall(await agentSigner(node.db, agent), node.domain, call);
  await recordSkillCall(node, { call, signature, terms: await termsOf(node, offer), texts: { input: r.input, output } }, r.charge);
  return { call, signature, output, children };
}

/** Calls a skill for a running call, paying it from the call's budget. */
async function payChild(node: SkillNode, budget: CallBudget, r: Omit<SkillCallRequest, 'payer' | 'charge'>, parent: { callId: Hex; depth: number }): Promise<SkillCallResult> {
  const cap = r.maxPrice < budget.remaining() ? r.maxPrice : budget.remaining();
  const hold = budget.reserveChild(cap);
  try {
    const child = await run(node, { ...r, payer: budget.agent, maxPrice: cap }, parent);
    hold.settle(child.call.price);
    return child;
  } finally {
    hold.release();
  }
}

/**
 * A call's price by its skill's offer: `flat`, the offer's price; `per-1k-tokens`, the offer's price
 * per 1,000 tokens of the call's own inferences (rounded up); `upto`, its costs plus the offer's
 * price as the agent's fee. Never less than what covers its costs and the largest protocol fee
 * on the price (`feeBps`: {@link MAX_CALL_FEE_BPS}).
 */
export function priceOf(offer: Pick<SkillOffer, 'pricing' | 'price'>, m: { costs: bigint; tokens: number; feeBps: number }): bigint {
  const quoted = offer.pricing === 'flat' ? offer.price : offer.pricing === 'per-1k-tokens' ? (offer.price * BigInt(m.tokens) + 999n) / 1000n : m.costs + offer.price;
  let price = quoted;
  // the least price whose part after the protocol fee covers the costs
  if (price - protocolFeeOf(price, m.feeBps) < m.costs) {
    price = (m.costs * 10_000n + BigInt(10_000 - m.feeBps) - 1n) / BigInt(10_000 - m.feeBps);
    while (price - protocolFeeOf(price, m.feeBps) < m.costs) price += 1n;
  }
  return price;
}

/** The terms a call of a skill is split by: its data royalty, and each skill it derives from paid to that skill's agent. */
async function termsOf(node: SkillNode, offer: SkillOffer): Promise<SkillTerms> {
  const upstream = await Promise.all(offer.derivedFrom.map(async (d) => {
    const from = await getSkill(node.db, d.skill);
    if (!from) throw new SkillStoreError('unknown_skill', `the skill derives from ${d.skill}, which is not listed here: its royalty has no payee`);
    return { payee: from.agent, bps: d.bps, cap: d.cap };
  }));
  return { dataRoyaltyBps: offer.dataRoyaltyBps, upstream };
}

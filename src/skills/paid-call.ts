import { formatEther, type Address, type Hex } from 'viem';
import type { Meter } from '../inference/meter.ts';
import { recordX402Charge, paymentNonce } from '../settlement/x402-facilitator.ts';
import type { VerifiedPayment } from '../settlement/x402-node.ts';
import { CodedError } from '../util/coded-error.ts';
import { callSkill, type SkillCallResult, type SkillNode } from './run-skill.ts';
import type { ListedSkill } from './skill-store.ts';

/**
 * The most a call of `listed` can cost its payer: the flat price (or less, if the payer asks less:
 * then it is refused), or the payer's own maximum, which `upto` and per-token skills need.
 *
 * @example
 * const cap = maxPriceOf(listed, body.maxPrice);
 */
export function maxPriceOf(listed: ListedSkill, asked: bigint | undefined): bigint {
  const { offer, name } = listed.skill;
  if (offer.pricing === 'flat') return asked !== undefined && asked < offer.price ? asked : offer.price;
  if (asked === undefined) throw new CodedError('max_price_required', `${name} is priced ${offer.pricing}: say the most you pay (maxPrice, wei)`);
  return asked;
}

/**
 * One call of a skill paid by a consumer: `maxPrice` is reserved against its escrow as an
 * inference's maximum is (402 when its deposit or authorisation do not cover it), the call runs
 * (skills/run-skill.ts), and its price is charged when its tree is recorded — with the x402 payment
 * that paid for it, if any, in the same transaction (what the facilitator's `settle` reports).
 *
 * @example
 * const r = await payAndCall({ ...skillNode, meter }, { skill, input, payer, maxPrice, x402: verified });
 */
export async function payAndCall(node: SkillNode & { meter?: Meter }, r: { skill: Hex; input: string; payer: Address; maxPrice: bigint; x402?: VerifiedPayment; signal?: AbortSignal }): Promise<SkillCallResult> {
  if (!node.meter) throw new CodedError('not_metered', 'this node does not meter (no escrow meter): skills cannot be paid');
  const reservation = await node.meter.reserve(r.payer, r.maxPrice, `a call of skill ${r.skill} costs up to ${formatEther(r.maxPrice)} OPEN`);
  const x = r.x402;
  try {
    return await callSkill(node, {
      skill: r.skill, input: r.input, payer: r.payer, maxPrice: r.maxPrice, ...(r.signal ? { signal: r.signal } : {}),
      charge: {
        async charge(tx, c) {
          await reservation.charge(tx, c);
          if (x) await recordX402Charge(tx, x.payer, paymentNonce(x.payload), { id: c.id, amount: c.fee });
        },
        release: () => reservation.release(),
      },
    });
  } finally {
    await reservation.release();
  }
}

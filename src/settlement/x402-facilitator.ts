import type { Network, PaymentPayload, PaymentRequirements, SchemeNetworkFacilitator, SettleResponse, VerifyResponse } from '@x402/core/types';
import { getAddress, isAddressEqual, type Address, type Hex, type PublicClient } from 'viem';
import type { Database, Queryable } from '../store/database.ts';
import { acceptAuthorization, latestAuthorization, SpendAuthorizationError } from './authorizations.ts';
import type { ConsumerFunds } from './meter.ts';
import { chainIdOf, X402_ESCROW_SCHEME, type EscrowPayload } from './x402-escrow.ts';

// The node as the x402 facilitator of its own escrow scheme (x402-escrow.ts): `verify` accepts the
// payer's authorisation (as `POST /settlement/authorizations` does) and checks it and the deposit
// cover the maximum; each authorisation pays one request (its nonce is taken, so a payment replayed
// for another resource, or twice, is refused); `settle` reports what the served request charged
// (the node records the charge with what it served; the escrow pays it at the next epoch's draw).

/** What the facilitator works with: the store, the chain (signatures), this node and its escrow, and the escrow meter's view of funds. */
export interface EscrowFacilitatorNode {
  db: Database;
  client: Pick<PublicClient, 'getCode' | 'call'>;
  chainId: number;
  operator: Address;
  escrow: Address;
  openToken: Address;
  funds(consumer: Address): Promise<ConsumerFunds>;
}

const invalid = (reason: string, message: string, payer?: Address): VerifyResponse => ({ isValid: false, invalidReason: reason, invalidMessage: message, ...(payer ? { payer } : {}) });

/**
 * The facilitator's side of the escrow scheme, to register in `@x402/core`'s `x402Facilitator`.
 *
 * @example
 * const facilitator = new x402Facilitator().register(`eip155:${chainId}`, new EscrowSchemeFacilitator(node));
 */
export class EscrowSchemeFacilitator implements SchemeNetworkFacilitator {
  readonly scheme = X402_ESCROW_SCHEME;
  readonly caipFamily = 'eip155:*';
  private readonly node: EscrowFacilitatorNode;

  constructor(node: EscrowFacilitatorNode) {
    this.node = node;
  }

  getExtra(_network: Network): Record<string, unknown> {
    return { escrow: this.node.escrow, name: 'OpenLedger InferenceEscrow', version: '1' };
  }

  getSigners(_network: string): string[] {
    return [this.node.operator];
  }

  async verify(p: PaymentPayload, req: PaymentRequirements): Promise<VerifyResponse> {
    const n = this.node;
    const payload = p.payload as Partial<EscrowPayload>;
    const a = payload.authorization;
    if (!a || typeof payload.signature !== 'string') return invalid('invalid_payload', 'the payload carries no authorization and signature');
    let payer: Address;
    try {
      payer = getAddress(a.consumer);
      if (chainIdOf(req.network) !== n.chainId) return invalid('invalid_network', `this node settles on eip155:${n.chainId}, not ${req.network}`, payer);
    } catch (err) {
      return invalid('invalid_payload', (err as Error).message);
    }
    if (!isAddressEqual(req.payTo as Address, n.operator) || !isAddressEqual(req.asset as Address, n.openToken)) return invalid('invalid_requirements', `this node takes OPEN (${n.openToken}) paid to ${n.operator}`, payer);
    if (BigInt(req.amount) > BigInt(p.accepted.amount)) return invalid('amount_exceeds_accepted', `${req.amount} is more than the ${p.accepted.amount} the payer accepted`, payer);
    const auth = { consumer: payer, operator: getAddress(a.operator), cumulativeAmount: BigInt(a.cumulativeAmount), nonce: BigInt(a.nonce), expiry: BigInt(a.expiry) };
    const replayed = (p: Queryable) => p.query('select 1 from x402_payments where consumer = $1 and nonce = $2', [payer, auth.nonce.toString()]);
    if ((await replayed(n.db)).length > 0) return invalid('payment_replayed', `authorisation ${auth.nonce} of ${payer} paid a request already`, payer);
    const held = await latestAuthorization(n.db, payer);
    const same = held && held.auth.nonce === auth.nonce && held.signature.toLowerCase() === payload.signature.toLowerCase();
    if (!same) {
      try {
        await acceptAuthorization(n.db, { chainId: n.chainId, escrow: n.escrow, client: n.client }, n.operator, auth, payload.signature as Hex);
      } catch (err) {
        if (err instanceof SpendAuthorizationError) return invalid(err.code, err.message, payer);
        throw err;
      }
    }
    const f = await n.funds(payer);
    if (f.available < BigInt(p.accepted.amount)) return invalid('insufficient_funds', `the payer can spend ${f.available} wei here (authorised and deposited, less spent and held); the payment needs up to ${p.accepted.amount}`, payer);
    // one authorisation pays one request: taken now, before anything is served for it
    const [taken] = await n.db.query<{ nonce: string }>(
      'insert into x402_payments (consumer, nonce, resource, max_amount) values ($1, $2, $3, $4) on conflict do nothing returning nonce',
      [payer, auth.nonce.toString(), p.resource?.url ?? '', p.accepted.amount]);
    if (!taken) return invalid('payment_replayed', `authorisation ${auth.nonce} of ${payer} paid a request already`, payer);
    return { isValid: true, payer };
  }

  async settle(p: PaymentPayload, req: PaymentRequirements): Promise<SettleResponse> {
    const a = (p.payload as Partial<EscrowPayload>).authorization;
    const fail = (errorReason: string, errorMessage: string): SettleResponse => ({ success: false, errorReason, errorMessage, transaction: '', network: req.network });
    if (!a) return fail('invalid_payload', 'the payload carries no authorization');
    const [row] = await this.node.db.query<{ charge_id: string | null; amount: string | null }>('select charge_id, amount::text from x402_payments where consumer = $1 and nonce = $2', [getAddress(a.consumer), a.nonce]);
    if (!row) return fail('unknown_payment', 'no request was verified for this payment');
    if (!row.charge_id || row.amount === null) return fail('nothing_charged', 'the request this payment was verified for charged nothing (it failed, or is still running)');
    if (row.amount !== req.amount) return fail('amount_mismatch', `the request charged ${row.amount} wei, not ${req.amount}`);
    return { success: true, transaction: row.charge_id, network: req.network, payer: getAddress(a.consumer), amount: row.amount };
  }
}

/**
 * Records what a request paid by an x402 payment charged (its charge: a receipt or a skill call),
 * for the facilitator's `settle` to report; in the charge's own transaction.
 *
 * @example
 * await recordX402Charge(tx, payer, nonce, { id: call.callId, amount: call.price });
 */
export async function recordX402Charge(tx: Queryable, payer: Address, nonce: bigint, charge: { id: Hex; amount: bigint }): Promise<void> {
  await tx.query('update x402_payments set charge_id = $3, amount = $4 where consumer = $1 and nonce = $2', [getAddress(payer), nonce.toString(), charge.id, charge.amount.toString()]);
}

/** The nonce of an escrow-scheme payment's authorisation. */
export const paymentNonce = (p: PaymentPayload): bigint => BigInt((p.payload as unknown as EscrowPayload).authorization.nonce);

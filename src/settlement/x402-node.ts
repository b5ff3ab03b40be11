import { x402Facilitator } from '@x402/core/facilitator';
import { x402ResourceServer, type FacilitatorClient } from '@x402/core/server';
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from '@x402/core/types';
import type { Address } from 'viem';
import { CodedError } from '../util/coded-error.ts';
import { EscrowSchemeServer, X402_ESCROW_SCHEME } from './x402-escrow.ts';
import { EscrowSchemeFacilitator, type EscrowFacilitatorNode } from './x402-facilitator.ts';

/** A paid resource as x402 offers it: what it is, and the most it charges (wei of OPEN). */
export interface X402Resource {
  url: string;
  description: string;
  maxAmount: bigint;
  /** The node's public origin as the payer reaches it (where the payer reads its funds). */
  origin: string;
  /** The 402's extensions (the x402 Bazaar's discovery entry). */
  extensions?: Record<string, unknown>;
}

/** A verified payment: who pays, up to how much, and the payload and requirements to settle it with. */
export interface VerifiedPayment {
  payer: Address;
  maxAmount: bigint;
  payload: PaymentPayload;
  requirements: PaymentRequirements;
}

/** An x402 payment that is missing or not good: 402, with what the payer needs to pay (`paymentRequired`). */
export class X402PaymentError extends CodedError {
  override name = 'X402PaymentError';
  readonly paymentRequired: PaymentRequired;
  constructor(code: string, message: string, paymentRequired: PaymentRequired) {
    super(code, message);
    this.paymentRequired = paymentRequired;
  }
}

/**
 * The node's x402 side: the facilitator of its escrow scheme (the standard `/verify`, `/settle`,
 * `/supported`, through `@x402/core`'s `x402Facilitator`) and a resource server that uses it in
 * process, for whatever the node sells per request over HTTP or MCP.
 *
 * @example
 * const x402 = createX402(node);
 * const paid = await x402.verify(payload, { url, description, maxAmount, origin }); // throws X402PaymentError (402)
 * … serve, charge …
 * const receipt = await x402.settle(paid, charged);
 */
export function createX402(node: EscrowFacilitatorNode) {
  const network = `eip155:${node.chainId}` as const;
  const facilitator = new x402Facilitator().register(network, new EscrowSchemeFacilitator(node));
  const inProcess: FacilitatorClient = {
    verify: (p, r) => facilitator.verify(p, r),
    settle: (p, r) => facilitator.settle(p, r),
    getSupported: async () => facilitator.getSupported() as Awaited<ReturnType<FacilitatorClient["getSupported"]>>, // its networks are CAIP-2 strings
  };
  const server = new x402ResourceServer(inProcess).register(network, new EscrowSchemeServer());
  let ready: Promise<void> | null = null;
  const init = () => (ready ??= server.initialize());

  const requirementsOf = async (r: X402Resource) => {
    await init();
    return server.buildPaymentRequirements({
      scheme: X402_ESCROW_SCHEME, network, payTo: node.operator, maxTimeoutSeconds: 300,
      price: { amount: r.maxAmount.toString(), asset: node.openToken, extra: { funds: `${r.origin}/settlement/funds/{address}` } },
    });
  };
  const required = async (r: X402Resource, requirements: PaymentRequirements[], error?: string, payload?: PaymentPayload) =>
    server.createPaymentRequiredResponse(requirements, { url: r.url, description: r.description, mimeType: 'application/json' }, error, r.extensions, undefined, payload);

  return {
    facilitator,
    network,
    /** What to pay for `r` (the 402's body or header), with `error` saying why the last payment was refused. */
    async paymentRequired(r: X402Resource, error?: string): Promise<PaymentRequired> {
      return required(r, await requirementsOf(r), error);
    },
    /** Checks a payment for `r` (none: a 402 asking for one); the payer's authorisation is then held for it. */
    async verify(payload: PaymentPayload | null, r: X402Resource): Promise<VerifiedPayment> {
      const requirements = await requirementsOf(r);
      if (!payload) throw new X402PaymentError('payment_required', `${r.description}: pay with x402 (scheme ${X402_ESCROW_SCHEME}), an API key or a signed request`, await required(r, requirements));
      const matched = server.findMatchingRequirements(requirements, payload);
      if (!matched) throw new X402PaymentError('payment_mismatch', 'the payment does not match what this resource asks for', await required(r, requirements, 'the payment does not match the requirements', payload));
      const v = await server.verifyPayment(payload, matched);
      if (!v.isValid || !v.payer) throw new X402PaymentError(v.invalidReason ?? 'payment_invalid', v.invalidMessage ?? 'the payment is not valid', await required(r, requirements, v.invalidMessage ?? v.invalidReason, payload));
      return { payer: v.payer as Address, maxAmount: BigInt(matched.amount), payload, requirements: matched };
    },
    /** Settles a served payment for what it charged (at most what was verified): the PAYMENT-RESPONSE. */
    async settle(p: VerifiedPayment, charged: bigint): Promise<SettleResponse> {
      return server.settlePayment(p.payload, p.requirements, undefined, undefined, { amount: charged.toString() });
    },
  };
}

export type X402Node = ReturnType<typeof createX402>;

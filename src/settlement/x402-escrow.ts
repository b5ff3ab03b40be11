import type { AssetAmount, Network, PaymentPayloadResult, PaymentRequirements, Price, SchemeNetworkClient, SchemeNetworkServer, SupportedKind } from '@x402/core/types';
import { getAddress, type Address, type Hex, type LocalAccount } from 'viem';
import { signSpendAuthorization, type SpendAuthorization } from '../chain/spend-authorization.ts';
import { nextAuthorization, type FundsForAuthorization } from './next-authorization.ts';

// An x402 v2 payment scheme bound to the InferenceEscrow: the payer signs a cumulative spend
// authorisation to the node that covers what it spent so far plus the request's maximum
// (`accepted.amount`); the node serves, meters the actual price (at most the maximum: `upto`) and
// charges it; the escrow pays it at the next epoch's draw. Browser-safe: the client and the
// resource server's parts. The facilitator's part is x402-facilitator.ts.

/** The scheme's name in `accepts`. */
export const X402_ESCROW_SCHEME = 'openledger-escrow';

/** What the requirements' `extra` carries for the payer: where to sign for, and where to read what it spent. */
export interface EscrowExtra {
  /** The InferenceEscrow (the EIP-712 domain's verifying contract). */
  escrow: Address;
  /** A URL template with `{address}`: the node's view of the payer's funds (its spend and the authorisation it holds). */
  funds: string;
  [key: string]: unknown;
}

/** The scheme's payload: the authorisation as decimal strings, and the payer's EIP-712 signature. */
export interface EscrowPayload {
  authorization: { consumer: Address; operator: Address; cumulativeAmount: string; nonce: string; expiry: string };
  signature: Hex;
  [key: string]: unknown;
}

/** The chain id of an `eip155:<id>` network. */
export const chainIdOf = (network: string): number => {
  const m = /^eip155:(\d+)$/.exec(network);
  if (!m) throw new Error(`${network} is not an EVM network (eip155:<chain id>)`);
  return Number(m[1]);
};

/**
 * The authorisation that pays `amount` more: its cap covers what the node says is spent and held
 * plus `amount` (never below the cap it holds), a nonce one above, a day to live (never sooner
 * than the one held).
 *
 * @example
 * const auth = paymentAuthorization(funds, payer, 10n ** 16n);
 */
export function paymentAuthorization(f: FundsForAuthorization, consumer: Address, amount: bigint, nowSeconds = Math.floor(Date.now() / 1000)): SpendAuthorization {
  // the next authorisation's nonce and expiry, with a cap that covers the payment and no more
  const next = nextAuthorization(f, getAddress(consumer), amount, 1, nowSeconds);
  const current = f.authorization ? BigInt(f.authorization.auth.cumulativeAmount) : 0n;
  const needed = BigInt(f.spent) + BigInt(f.reserved) + amount;
  return { ...next, operator: getAddress(next.operator), cumulativeAmount: needed > current ? needed : current };
}

/**
 * The payer's side, to register in an x402 client (`@x402/fetch`'s `x402Client`): reads its funds
 * from the node the requirements name, refuses a node that names another operator than `payTo`,
 * and signs the next authorisation for the maximum.
 *
 * @example
 * const client = new x402Client().register('eip155:*', new EscrowSchemeClient(account));
 * const paidFetch = wrapFetchWithPayment(fetch, client);
 */
export class EscrowSchemeClient implements SchemeNetworkClient {
  readonly scheme = X402_ESCROW_SCHEME;
  private readonly account: Pick<LocalAccount, 'address' | 'signTypedData'>;
  private readonly fetch: typeof fetch;

  constructor(account: Pick<LocalAccount, 'address' | 'signTypedData'>, o: { fetch?: typeof fetch } = {}) {
    this.account = account;
    this.fetch = o.fetch ?? ((input, init) => fetch(input, init));
  }

  async createPaymentPayload(x402Version: number, req: PaymentRequirements): Promise<PaymentPayloadResult> {
    const extra = req.extra as EscrowExtra;
    const url = String(extra.funds).replace('{address}', this.account.address);
    const res = await this.fetch(url);
    if (!res.ok) throw new Error(`${url} answered ${res.status}: the payer's funds cannot be read`);
    const funds = (await res.json()) as FundsForAuthorization;
    if (getAddress(funds.operator) !== getAddress(req.payTo)) throw new Error(`the node's funds name operator ${funds.operator}, not ${req.payTo} whom the payment is for`);
    const auth = paymentAuthorization(funds, this.account.address, BigInt(req.amount));
    const signature = await signSpendAuthorization(this.account, { chainId: chainIdOf(req.network), escrow: getAddress(extra.escrow) }, auth);
    const payload: EscrowPayload = {
      authorization: { consumer: auth.consumer, operator: auth.operator, cumulativeAmount: auth.cumulativeAmount.toString(), nonce: auth.nonce.toString(), expiry: auth.expiry.toString() },
      signature,
    };
    return { x402Version, payload };
  }
}

/**
 * The resource server's side: prices are amounts of OPEN in wei (`{ amount, asset }`), and the
 * facilitator's `extra` (the escrow) joins the requirements. Verified before the handler runs,
 * settled after it with the metered amount (the `authorization` flow).
 */
export class EscrowSchemeServer implements SchemeNetworkServer {
  readonly scheme = X402_ESCROW_SCHEME;
  readonly defaultAssetTransferMethod = 'default';
  readonly paymentFlows = { default: { supported: ['authorization'] as const, default: 'authorization' as const } };
  /** The funds URL differs by host (the payer's view of the node): not matched between the 402 and the payment. */
  readonly dynamicExtraFields = ['funds'];

  async parsePrice(price: Price, _network: Network): Promise<AssetAmount> {
    if (typeof price !== 'object' || price === null || !('asset' in price)) throw new Error(`${X402_ESCROW_SCHEME} prices are { amount (wei), asset } objects`);
    return price;
  }

  async enhancePaymentRequirements(req: PaymentRequirements, kind: SupportedKind): Promise<PaymentRequirements> {
    return { ...req, extra: { ...(kind.extra ?? {}), ...req.extra } };
  }
}

import { getAddress, isAddressEqual, type Address, type Hex } from 'viem';
import type { PublicClient } from 'viem';
import { recoverSpendAuthorizationSigner, verifySpendAuthorization, type EscrowDeployment, type SpendAuthorization } from '../chain/spend-authorization.ts';
import type { Queryable } from '../store/database.ts';
import { CodedError } from '../util/coded-error.ts';

/** A spend authorisation the node refuses: not signed by its consumer, not for this node, expired, stale. */
export class SpendAuthorizationError extends CodedError {
  override name = 'SpendAuthorizationError';
}

/**
 * The node serves against an authorisation until this many seconds before its expiry, then draws
 * what was served (`drawEarly`): usage it could no longer draw is never served.
 */
export const SERVE_MARGIN_SECONDS = 900n;
/**
 * The shortest life an authorisation may have when the node accepts it: long enough to serve
 * against it and to draw before it expires (an authorisation that expires before the node can draw
 * it would be free inference).
 */
export const MIN_AUTHORIZATION_LIFETIME_SECONDS = 3600n;

/** A consumer's standing authorisation, as the node keeps it (the latest accepted). */
export interface StoredAuthorization {
  auth: SpendAuthorization;
  signature: Hex;
  receivedAt: string;
}

interface Row { consumer: string; operator: string; cumulative_amount: string; nonce: string; expiry: string; signature: string; received_at: Date }

const toStored = (r: Row): StoredAuthorization => ({
  auth: { consumer: r.consumer as Address, operator: r.operator as Address, cumulativeAmount: BigInt(r.cumulative_amount), nonce: BigInt(r.nonce), expiry: BigInt(r.expiry) },
  signature: r.signature as Hex,
  receivedAt: r.received_at.toISOString(),
});

/**
 * Accepts a consumer's EIP-712 spend authorisation for this node: it must be signed by its
 * consumer for this chain's escrow as the escrow checks it (ECDSA, or ERC-1271 when the consumer
 * has code — a contract wallet or an EIP-7702 account), name this node as operator, live at least
 * {@link MIN_AUTHORIZATION_LIFETIME_SECONDS} more (so whatever is served against it can be drawn),
 * and neither lower the cap, nor reuse an older nonce, nor expire sooner than the one kept (a
 * shorter one must not replace one that can still be drawn). The node then serves the consumer
 * up to the cap (and its deposit); the escrow lets the node draw no more.
 *
 * @example
 * await acceptAuthorization(db, { chainId, escrow, client: publicClient }, node.address, auth, signature);
 */
export async function acceptAuthorization(db: Queryable, deployment: EscrowDeployment & { client: Pick<PublicClient, 'getCode' | 'call'> }, operator: Address, auth: SpendAuthorization, signature: Hex, now = BigInt(Math.floor(Date.now() / 1000))): Promise<StoredAuthorization> {
  if (!isAddressEqual(auth.operator, operator)) throw new SpendAuthorizationError('wrong_operator', `the authorisation names operator ${auth.operator}; this node is ${operator}`);
  if (auth.expiry <= now) throw new SpendAuthorizationError('expired', `the authorisation expired at ${auth.expiry}`);
  if (auth.expiry < now + MIN_AUTHORIZATION_LIFETIME_SECONDS) {
    throw new SpendAuthorizationError('expires_too_soon', `the authorisation expires in ${auth.expiry - now} s; this node needs at least ${MIN_AUTHORIZATION_LIFETIME_SECONDS} s, to serve against it and draw before it expires`);
  }
  if (!(await verifySpendAuthorization(deployment.client, deployment, auth, signature))) {
    // refused as the escrow would refuse it; the signer says why
    const signer = await recoverSpendAuthorizationSigner(deployment, auth, signature).catch(() => null);
    if (!signer) throw new SpendAuthorizationError('invalid_signature', 'the signature is not an EIP-712 signature of this authorisation');
    throw new SpendAuthorizationError('invalid_signature', isAddressEqual(signer, auth.consumer)
      ? `the consumer ${auth.consumer} has code and does not accept this signature (ERC-1271), so the escrow would refuse it`
      : `signed by ${signer}, not by the consumer ${auth.consumer}`);
  }
  const consumer = getAddress(auth.consumer);
  const current = await latestAuthorization(db, consumer);
  if (current && (auth.nonce <= current.auth.nonce || auth.cumulativeAmount < current.auth.cumulativeAmount)) {
    throw new SpendAuthorizationError('stale', `the node holds nonce ${current.auth.nonce} with cap ${current.auth.cumulativeAmount}; a new authorisation needs a higher nonce and no lower cap`);
  }
  if (current && current.auth.expiry > now && auth.expiry < current.auth.expiry) {
    throw new SpendAuthorizationError('shorter_expiry', `the node holds an authorisation valid until ${current.auth.expiry}; a new one may not expire sooner`);
  }
  const [row] = await db.query<Row>(
    `insert into spend_authorizations (consumer, operator, cumulative_amount, nonce, expiry, signature) values ($1, $2, $3, $4, $5, $6)
     on conflict (consumer) do update set operator = $2, cumulative_amount = $3, nonce = $4, expiry = $5, signature = $6, received_at = now()
     where spend_authorizations.nonce < $4
     returning *`,
    [consumer, getAddress(operator), auth.cumulativeAmount.toString(), auth.nonce.toString(), auth.expiry.toString(), signature],
  );
  if (!row) throw new SpendAuthorizationError('stale', 'a newer authorisation arrived meanwhile');
  return toStored(row);
}

/**
 * The consumer's latest accepted authorisation, or null.
 *
 * @example
 * const a = await latestAuthorization(db, consumer);
 */
export async function latestAuthorization(db: Queryable, consumer: Address): Promise<StoredAuthorization | null> {
  const [row] = await db.query<Row>('select * from spend_authorizations where consumer = $1', [getAddress(consumer)]);
  return row ? toStored(row) : null;
}

import type { Address } from 'viem';
import type { SpendAuthorization } from '../chain/spend-authorization.ts';

/** What a consumer's next authorisation builds on: the node's view of its funds (browser-safe). */
export interface FundsForAuthorization {
  operator: Address;
  spent: string;
  reserved: string;
  authorization: { auth: { cumulativeAmount: string; nonce: string; expiry: string } } | null;
}

/**
 * The spend authorisation that lets a consumer spend `amount` more with the node: the cap rises
 * from what it already authorised (or spent, if more) by `amount`, the nonce by one, and the
 * expiry is `days` from now — never sooner than the one the node holds (it refuses a shorter one).
 *
 * @example
 * const auth = nextAuthorization(funds, account.address, parseEther('1'), 30);
 */
export function nextAuthorization(f: FundsForAuthorization, consumer: Address, amount: bigint, days: number, nowSeconds = Math.floor(Date.now() / 1000)): SpendAuthorization {
  const current = f.authorization ? BigInt(f.authorization.auth.cumulativeAmount) : 0n;
  const spent = BigInt(f.spent) + BigInt(f.reserved);
  const wanted = BigInt(nowSeconds + Math.round(days * 86400));
  const held = f.authorization ? BigInt(f.authorization.auth.expiry) : 0n;
  return {
    consumer, operator: f.operator, cumulativeAmount: (current > spent ? current : spent) + amount,
    nonce: (f.authorization ? BigInt(f.authorization.auth.nonce) : 0n) + 1n, expiry: wanted > held ? wanted : held,
  };
}

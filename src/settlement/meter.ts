import { formatEther, getAddress, type Address, type Hex } from 'viem';
import type { Meter } from '../inference/meter.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../store/database.ts';
import { CodedError } from '../util/coded-error.ts';
import { latestAuthorization, SERVE_MARGIN_SECONDS } from './authorizations.ts';
import { consumerSpend, recordCharge } from './charges.ts';

/** The consumer cannot pay for the request: 402 with what is missing and how to fix it. */
export class PaymentRequiredError extends CodedError {
  override name = 'PaymentRequiredError';
}

/** What a consumer can spend with this node now, and what limits it. */
export interface ConsumerFunds {
  /** Cap of the latest authorisation still to be served against (0 when none, or within {@link SERVE_MARGIN_SECONDS} of its expiry). */
  authorized: bigint;
  /** Deposit this node can still draw: escrow balance, less a pending withdrawal, plus what it already drew. */
  deposit: bigint;
  /** Fees of every receipt so far. */
  spent: bigint;
  /** Most fees of requests running now. */
  reserved: bigint;
  /** min(authorized, deposit) − spent − reserved. */
  available: bigint;
}

/** How long a reservation holds a consumer's funds if its process dies before letting go. */
export const RESERVATION_SECONDS = 900;

/**
 * The escrow meter: a paid request is served only when the consumer's latest spend authorisation
 * for this node and its escrow deposit both cover everything it spent plus the most this request
 * can cost (price × (prompt + max_tokens) tokens); that amount is reserved while the request runs
 * and the receipt's actual fee replaces it. Reservations live in the store (`meter_reservations`),
 * taken under a per-consumer advisory lock in one transaction with the check, so concurrent
 * requests — in this process or in another serving process of the same operator sharing the store
 * — cannot overspend; the receipt's charge deletes its reservation in the receipt's own
 * transaction. A pending withdrawal counts as gone, so the node never serves what the consumer
 * could take back before the next draw.
 *
 * @example
 * const meter = createEscrowMeter({ db, contracts, operator: account.address });
 */
export function createEscrowMeter(o: { db: Database; contracts: ProtocolContracts; operator: Address; now?: () => bigint }): Meter & { funds(consumer: Address): Promise<ConsumerFunds> } {
  const now = o.now ?? (() => BigInt(Math.floor(Date.now() / 1000)));

  const funds = async (consumer: Address, db: Queryable = o.db): Promise<ConsumerFunds> => {
    const escrow = o.contracts.inferenceEscrow.read;
    const [auth, spent, held, balance, drawn, withdrawal] = await Promise.all([
      latestAuthorization(db, consumer), consumerSpend(db, consumer), reservedFor(db, consumer),
      escrow.balanceOf([consumer]), escrow.drawn([consumer, o.operator]), escrow.withdrawalOf([consumer]),
    ]);
    // served only while it can still be drawn: the node draws in the last minutes before expiry
    const authorized = auth && auth.auth.expiry > now() + SERVE_MARGIN_SECONDS ? auth.auth.cumulativeAmount : 0n;
    const deposit = (balance > withdrawal.amount ? balance - withdrawal.amount : 0n) + drawn;
    const cap = authorized < deposit ? authorized : deposit;
    return { authorized, deposit, spent, reserved: held, available: cap - spent - held };
  };

  return {
    funds: (consumer) => funds(consumer),
    async reserve(who: Address | null, maxFee: bigint, what: string) {
      const charge = (tx: Queryable, receipt: { id: Hex; fee: bigint; kind?: 'receipt' | 'call' }) => recordCharge(tx, { receiptId: receipt.id, consumer: who && getAddress(who), fee: receipt.fee, kind: receipt.kind });
      if (maxFee === 0n) return { charge, async release() {} };
      if (!who) throw new PaymentRequiredError('payment_required', `${what}: call it with an API key or a signed request from an account with a deposit`);
      const consumer = getAddress(who);
      const id = randomUUID();
      await o.db.transaction(async (tx) => {
        await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`openledger:meter:${consumer}`]);
        const f = await funds(consumer, tx);
        if (f.available < maxFee) {
          const why = f.authorized === 0n ? 'no unexpired spend authorisation for this node' : f.authorized < f.deposit ? `authorised ${formatEther(f.authorized)} OPEN` : `deposit ${formatEther(f.deposit)} OPEN`;
          throw new PaymentRequiredError('insufficient_funds', `this request can cost up to ${formatEther(maxFee)} OPEN; ${formatEther(f.spent + f.reserved)} OPEN is spent or reserved of what you can spend (${why}). Deposit and authorise more: openledger deposit <amount>`);
        }
        await tx.query(`insert into meter_reservations (id, consumer, amount, expires_at) values ($1, $2, $3, now() + make_interval(secs => $4))`, [id, consumer, maxFee.toString(), RESERVATION_SECONDS]);
      });
      const letGo = (q: Queryable) => q.query('delete from meter_reservations where id = $1', [id]);
      return {
        async charge(tx, receipt) {
          await charge(tx, receipt);
          await letGo(tx);
        },
        async release() {
          await letGo(o.db);
        },
      };
    },
  };
}

/** What `consumer`'s requests being served hold now (unexpired reservations), in wei. */
async function reservedFor(db: Queryable, consumer: Address): Promise<bigint> {
  const [row] = await db.query<{ held: string | null }>('select sum(amount)::text as held from meter_reservations where consumer = $1 and expires_at > now()', [consumer]);
  return BigInt(row?.held ?? '0');
}

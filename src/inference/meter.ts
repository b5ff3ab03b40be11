import type { Address, Hex } from 'viem';
import type { Queryable } from '../store/database.ts';

/** What a reservation holds until the receipt is stored: then it charges the actual fee and lets go. */
export interface Reservation {
  /** Records the receipt's charge, in the transaction that stores the receipt (so a stored receipt is charged once, and always). */
  charge(tx: Queryable, receipt: { id: Hex; fee: bigint; kind?: 'receipt' | 'call' }): Promise<void>;
  /** Lets go of what is still held (nothing after a charge); call it once the request ends, however it ends. */
  release(): Promise<void>;
}

/**
 * Metering: before every inference of a published model the most it can cost is reserved against
 * the consumer's funds (throws a 402 CodedError when they do not cover it); the receipt, which
 * carries the actual fee, is charged in the transaction that stores it, then the reservation is
 * released. Settlement's escrow meter plugs in here (and settles what it charged); a node without a
 * meter serves without charging, and settles nothing.
 */
export interface Meter {
  /** `what` says what is paid for, for the 402's message ("qa costs 0.001 OPEN per 1,000 tokens"). */
  reserve(consumer: Address | null, maxFee: bigint, what: string): Promise<Reservation>;
}

import type { Address } from 'viem';
import type { PublishedModel } from '../factory/published-models.ts';
import { CodedError } from '../util/coded-error.ts';

/**
 * Metering: before every paid inference the most it can cost is reserved against the consumer's
 * funds (throws a 402 CodedError when they do not cover it); the reservation is released once the
 * receipt, which carries the actual fee, is stored. Settlement's escrow meter plugs in here; a node
 * without a meter serves without charging.
 */
export interface Meter {
  reserve(consumer: Address | null, model: PublishedModel, maxFee: bigint): Promise<{ release(): void }>;
}

import type { Address } from 'viem';
import { listedEndpoints } from '../chain/operator-records.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { StakingRole } from '../chain/staking-role.ts';

/** An operator a consumer can route to, as the chain lists it: where it answers, and what it staked. */
export interface Operator {
  /** The operator's account: receipts are signed by it, requests are signed for it, authorisations name it. */
  operator: Address;
  endpoint: string;
  /** Its bonded Operator stake (what a dispute can slash). */
  stake: bigint;
  /** Its record's metadata document (`openledger://blob/<hash>`: base models, engine, price policy). */
  metadataURI: string;
}

/**
 * Every operator listed in the OperatorRegistry now (a record and an active Operator stake), with
 * its stake: the candidates a routing client picks from.
 *
 * @example
 * const operators = await listOperators(protocolContracts(clients, addresses));
 */
export async function listOperators(contracts: Pick<ProtocolContracts, 'operatorRegistry' | 'staking'>): Promise<Operator[]> {
  return Promise.all(
    (await listedEndpoints(contracts)).map(async (e) => ({ ...e, stake: (await contracts.staking.read.positionOf([e.operator, StakingRole.Operator, 0n])).bonded })),
  );
}

import { isAddressEqual, type Address } from 'viem';
import type { ProtocolContracts } from './protocol.ts';

/**
 * The API endpoints (and metadata URIs) of every operator listed now (a record and an active Operator stake), but
 * `except` (the caller itself): where clients route and where nodes mirror published models from.
 * Each endpoint is as its operator published it; what is fetched from it is checked against hashes
 * on chain.
 *
 * @example
 * const peers = await listedEndpoints(contracts, self);
 */
export async function listedEndpoints(contracts: Pick<ProtocolContracts, 'operatorRegistry'>, except?: Address): Promise<Array<{ operator: Address; endpoint: string; metadataURI: string }>> {
  const r = contracts.operatorRegistry.read;
  const count = await r.operatorCount();
  const out: Array<{ operator: Address; endpoint: string; metadataURI: string }> = [];
  for (let offset = 0n; offset < count; offset += 200n) {
    for (const operator of await r.operators([offset, 200n])) {
      if (except && isAddressEqual(operator, except)) continue;
      if (!(await r.isListed([operator]))) continue;
      const { endpoint, metadataURI } = await r.recordOf([operator]);
      if (/^https?:\/\//.test(endpoint)) out.push({ operator, endpoint: endpoint.replace(/\/+$/, ''), metadataURI });
    }
  }
  return out;
}

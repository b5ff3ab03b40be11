import type { PublicClient } from 'viem';
import type { ProtocolContracts } from '../chain/protocol.ts';
import type { ChainClients } from '../chain/clients.ts';
import { StakingRole } from '../chain/staking-role.ts';

/**
 * Publishes where this node answers (its API's public URL) in the OperatorRegistry, when the node
 * is an active operator and its record says otherwise; does nothing when it already says so.
 * Returns whether a transaction was sent, or why nothing could be published.
 *
 * @example
 * await publishOperatorRecord({ clients, contracts }, 'https://node.example', '');
 */
export async function publishOperatorRecord(
  node: { clients: Pick<ChainClients, 'account'> & { publicClient: Pick<PublicClient, 'waitForTransactionReceipt'> }; contracts: Pick<ProtocolContracts, 'operatorRegistry' | 'staking'> },
  endpoint: string,
  metadataURI = '',
): Promise<'published' | 'unchanged' | 'not_an_operator'> {
  const self = node.clients.account.address;
  if (!(await node.contracts.staking.read.isActive([self, StakingRole.Operator]))) return 'not_an_operator';
  const current = await node.contracts.operatorRegistry.read.recordOf([self]);
  if (current.endpoint === endpoint && current.metadataURI === metadataURI) return 'unchanged';
  const hash = await node.contracts.operatorRegistry.write.setRecord([endpoint, metadataURI]);
  const receipt = await node.clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`publishing the operator record reverted (tx ${hash})`);
  return 'published';
}

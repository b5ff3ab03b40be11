import { isAddressEqual } from 'viem';
import type { ChainClients } from './clients.ts';
import { DeploymentError, type DeploymentRecorder, type DeploymentStep } from './deploy.ts';
import { protocolAbis, type ProtocolAddresses, type ProtocolContractName } from './protocol.ts';
import { verifyProtocol } from './verify-protocol.ts';

const NAMES = Object.keys(protocolAbis) as ProtocolContractName[];

/** The protocol's addresses the deployment steps record as done, and the contracts they lack. */
function recordedAddresses(steps: Record<string, DeploymentStep>): { addresses: ProtocolAddresses; missing: ProtocolContractName[] } {
  const addresses = Object.fromEntries(NAMES.map((n) => [n, steps[n]?.status === 'done' ? steps[n].address : undefined])) as unknown as ProtocolAddresses; // whole when nothing is missing
  return { addresses, missing: NAMES.filter((n) => !addresses[n]) };
}

/**
 * The deployment a node joins instead of deploying its own: `offered` (from another node's
 * `/status`, or a file), checked on chain with {@link verifyProtocol} and recorded in `recorder`,
 * so the node's later starts use it without being offered it again (and are checked again). Returns
 * undefined when the node was offered nothing and never joined (it deploys its own). Refuses to
 * join with a store that deployed its own protocol on this chain, or joined another deployment.
 *
 * @example
 * const addresses = (await joinProtocol(clients, deploymentRecorder(db), offered)) ?? (await deployProtocol(…));
 */
export async function joinProtocol(clients: ChainClients, recorder: DeploymentRecorder, offered?: ProtocolAddresses): Promise<ProtocolAddresses | undefined> {
  const chainId = clients.chain.id;
  const steps = await recorder.load(chainId);
  const joined = steps.joined?.status === 'done';
  if (!offered && !joined) return undefined;
  if (offered && !joined && steps.protocol) {
    // deployProtocol records its code stamp ('protocol') before anything else
    throw new DeploymentError(`this store deployed its own protocol on chain ${chainId}: join another network with a fresh --data-dir (or its own database)`);
  }
  const recorded = joined ? recordedAddresses(steps) : undefined;
  if (recorded && recorded.missing.length > 0) throw new DeploymentError(`the joined deployment's ${recorded.missing[0]} address is missing from the store`);
  if (offered && recorded && !isAddressEqual(offered.openToken, recorded.addresses.openToken)) {
    throw new DeploymentError(`this store joined the network whose OPEN is ${recorded.addresses.openToken} on chain ${chainId}, not ${offered.openToken}: use a fresh --data-dir to join another`);
  }
  const addresses = recorded?.addresses ?? offered!;
  await verifyProtocol(clients.publicClient, addresses);
  if (!joined) {
    for (const n of NAMES) await recorder.save(chainId, { name: n, status: 'done', address: addresses[n] });
    await recorder.save(chainId, { name: 'joined', status: 'done' });
  }
  return addresses;
}

/**
 * The deployment an operator's primary process recorded in the shared store (deployed or joined),
 * checked on chain: what an extra serving process of the same operator uses. Throws when the primary
 * has not deployed or joined yet.
 *
 * @example
 * const addresses = await recordedProtocol(clients, deploymentRecorder(db));
 */
export async function recordedProtocol(clients: ChainClients, recorder: DeploymentRecorder): Promise<ProtocolAddresses> {
  const { addresses, missing } = recordedAddresses(await recorder.load(clients.chain.id));
  if (missing.length > 0) throw new DeploymentError(`the store has no protocol on chain ${clients.chain.id} yet (${missing.join(', ')} missing): start the operator's primary process first`);
  await verifyProtocol(clients.publicClient, addresses);
  return addresses;
}

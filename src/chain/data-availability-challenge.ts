import { getAddress, getContract, type Address } from 'viem';
import type { ChainClients } from './clients.ts';
import { defaultProtocolParams, DeploymentError, type ProtocolParams } from './deploy.ts';
import { dataAvailabilityChallengeAbi, dataAvailabilityChallengeBytecode, openTokenAbi } from './generated/index.ts';

/** The challenge contract's ABI with OPEN's errors, so a token revert raised through it decodes by name. */
export const dataAvailabilityChallengeAbiWithErrors = [...dataAvailabilityChallengeAbi, ...openTokenAbi.filter((item) => item.type === 'error')] as unknown as typeof dataAvailabilityChallengeAbi;

/** Constructor arguments of DataAvailabilityChallenge: the protocol's `dataAvailability` parameters (windows in blocks, amounts in OPEN wei), its token, registry and slash destination. */
export type DataAvailabilityChallengeParams = ProtocolParams['dataAvailability'] & { openToken: Address; datanetRegistry: Address; slashDestination: Address };

/** The network's numbers ({@link defaultProtocolParams}): about a day to challenge on 2-second blocks, half a day to resolve. */
export function defaultDataAvailabilityChallengeParams(p: Pick<DataAvailabilityChallengeParams, 'openToken' | 'datanetRegistry' | 'slashDestination'>): DataAvailabilityChallengeParams {
  return { ...p, ...defaultProtocolParams(p.slashDestination).dataAvailability };
}

/**
 * Deploys DataAvailabilityChallenge and returns its address.
 *
 * @example
 * const address = await deployDataAvailabilityChallenge(clients, defaultDataAvailabilityChallengeParams({ openToken, datanetRegistry, slashDestination: treasury }));
 */
export async function deployDataAvailabilityChallenge(clients: ChainClients, p: DataAvailabilityChallengeParams): Promise<Address> {
  const hash = await clients.walletClient.deployContract({
    abi: dataAvailabilityChallengeAbi,
    bytecode: dataAvailabilityChallengeBytecode,
    args: [p.openToken, p.datanetRegistry, p.challengeWindow, p.resolveWindow, p.bondSize, p.submitterSlash, p.resolverRefundPercentage, p.challengerRewardPercentage, p.slashDestination],
  });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new DeploymentError(`deploying DataAvailabilityChallenge failed (tx ${hash})`);
  return getAddress(receipt.contractAddress);
}

/**
 * A typed handle (viem `getContract`) of a DataAvailabilityChallenge, reading through the public
 * client and writing through the wallet client.
 *
 * @example
 * const dac = dataAvailabilityChallengeContract(clients, address);
 * if (await dac.read.isVoided([datanetId, batchIndex])) …
 */
export function dataAvailabilityChallengeContract(clients: Pick<ChainClients, 'publicClient' | 'walletClient'>, address: Address) {
  return getContract({ address, abi: dataAvailabilityChallengeAbiWithErrors, client: { public: clients.publicClient, wallet: clients.walletClient } });
}

/** A DataAvailabilityChallenge handle. */
export type DataAvailabilityChallengeContract = ReturnType<typeof dataAvailabilityChallengeContract>;

/** DataAvailabilityChallenge's ChallengeStatus, by its number on chain. */
export const CHALLENGE_STATUS = ['Uninitialized', 'Active', 'Resolved', 'Expired'] as const;

import { getAddress, getContract, type Address } from 'viem';
import type { ChainClients } from './clients.ts';
import { DeploymentError } from './deploy.ts';
import { dataAvailabilityChallengeAbi, dataAvailabilityChallengeBytecode, openTokenAbi } from './generated/index.ts';

/** The challenge contract's ABI with OPEN's errors, so a token revert raised through it decodes by name. */
export const dataAvailabilityChallengeAbiWithErrors = [...dataAvailabilityChallengeAbi, ...openTokenAbi.filter((item) => item.type === 'error')] as unknown as typeof dataAvailabilityChallengeAbi;

/** Constructor arguments of DataAvailabilityChallenge (windows in blocks, amounts in OPEN wei). */
export interface DataAvailabilityChallengeParams {
  openToken: Address;
  datanetRegistry: Address;
  challengeWindow: bigint;
  resolveWindow: bigint;
  bondSize: bigint;
  submitterSlash: bigint;
  resolverRefundPercentage: bigint;
  challengerRewardPercentage: bigint;
  slashDestination: Address;
}

/** Numbers of a production-like deployment next to a protocol (2-second L2 blocks): about a day to challenge, half a day to resolve. */
export function defaultDataAvailabilityChallengeParams(p: Pick<DataAvailabilityChallengeParams, 'openToken' | 'datanetRegistry' | 'slashDestination'>): DataAvailabilityChallengeParams {
  return {
    ...p,
    challengeWindow: 43_200n,
    resolveWindow: 21_600n,
    bondSize: 10n ** 18n * 100n,
    submitterSlash: 10n ** 18n * 1000n,
    resolverRefundPercentage: 100n,
    challengerRewardPercentage: 50n,
  };
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

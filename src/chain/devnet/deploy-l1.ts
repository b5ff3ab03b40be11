import { encodeFunctionData, getAddress, getContractAddress, maxUint128, parseEther, parseGwei, zeroAddress, type Abi, type Address, type Hex } from 'viem';
import type { ChainClients } from '../clients.ts';
import { DeploymentError, type DeploymentRecorder, type DeploymentStep } from '../deploy.ts';
import { openTokenAbi, openTokenBytecode } from '../generated/index.ts';
import { opArtifact } from './op-artifacts.ts';

/** The OP Stack L1 contracts of a development network whose L2 pays gas in OPEN. */
export interface L1Addresses {
  /** OPEN on L1: an ERC-20, the L2's gas paying token. */
  openToken: Address;
  proxyAdmin: Address;
  superchainConfig: Address;
  l2OutputOracle: Address;
  /** Holds the OPEN bridged to L2; deposits start here, withdrawals end here. */
  optimismPortal: Address;
  systemConfig: Address;
}

/** Parameters of {@link deployL1}. */
export interface L1Params {
  /** OPEN already on L1; when absent an OpenToken is deployed with `genesisSupply` to `treasury`. */
  openToken?: Address;
  treasury: Address;
  genesisSupply: bigint;
  /** Proposes output roots (L2OutputOracle.proposer). */
  proposer: Address;
  /** May delete output roots (L2OutputOracle.challenger). */
  challenger: Address;
  /** May pause withdrawals (SuperchainConfig.guardian). */
  guardian: Address;
  /** Owns SystemConfig and the ProxyAdmin. */
  owner: Address;
  /** L2 blocks between two output roots. */
  submissionInterval: bigint;
  /** Seconds from a proven withdrawal (and its output) to its finalisation. */
  finalizationPeriodSeconds: bigint;
  /** The first L2 block an output may follow, and its timestamp (no later than the L1's now). */
  l2StartingBlockNumber: bigint;
  l2StartingTimestamp: bigint;
  /** The batcher's account (SystemConfig.batcherHash) and where its batches go. */
  batcher: Address;
  batchInbox: Address;
}

/** The L2 gas limit and OP's default resource config (Constants.DEFAULT_RESOURCE_CONFIG). */
const L2_GAS_LIMIT = 30_000_000n;
const RESOURCE_CONFIG = {
  maxResourceLimit: 20_000_000,
  elasticityMultiplier: 10,
  baseFeeMaxChangeDenominator: 8,
  minimumBaseFee: Number(parseGwei('1')),
  systemTxMaxGas: 1_000_000,
  maximumBaseFee: maxUint128,
};

/**
 * A development network's L1 parameters: one OPEN billion to `account`, which also proposes,
 * challenges, guards, owns and batches; an output root every 4 L2 blocks and withdrawals final 2 s
 * after they are proven.
 *
 * @example
 * const params = devnetL1Params(account.address, { l2StartingBlockNumber: 0n, l2StartingTimestamp: ts });
 */
export function devnetL1Params(account: Address, l2Start: Pick<L1Params, 'l2StartingBlockNumber' | 'l2StartingTimestamp'>): L1Params {
  return {
    treasury: account,
    genesisSupply: parseEther('1000000000'),
    proposer: account,
    challenger: account,
    guardian: account,
    owner: account,
    submissionInterval: 4n,
    finalizationPeriodSeconds: 2n,
    batcher: account,
    // OP's convention: 0xff00…00 followed by the L2 chain id
    batchInbox: '0xff00000000000000000000000000000000007a69',
    ...l2Start,
  };
}

/**
 * Deploys the OP Stack's L1 contracts (`@eth-optimism/contracts-bedrock` 0.17.3, as published)
 * behind proxies, initialised so that OPEN (an ERC-20 on L1) is the L2's gas paying token:
 * SuperchainConfig, L2OutputOracle, OptimismPortal, then SystemConfig, whose `initialize` sets the
 * token in the portal, which emits the system deposit that sets it in the L2's L1Block. Idempotent:
 * each step is recorded, so a rerun skips what is done and adopts a deployment that was sent but
 * not recorded.
 *
 * @example
 * const l1 = await deployL1(l1Clients, devnetL1Params(me, start), memoryRecorder());
 */
export async function deployL1(clients: ChainClients, params: L1Params, recorder: DeploymentRecorder, onStep: (name: string) => void = () => {}): Promise<L1Addresses> {
  const { publicClient, walletClient, account, chain } = clients;
  const chainId = chain.id;
  let steps = await recorder.load(chainId);
  const first = steps.proxyAdmin;
  if (first?.status === 'done' && first.address && !(await publicClient.getCode({ address: first.address }))) {
    await recorder.reset(chainId); // a fresh L1 with the recorded id
    steps = {};
  }
  const save = async (step: DeploymentStep) => {
    steps[step.name] = step;
    await recorder.save(chainId, step);
  };

  async function deploy(name: string, abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> {
    const rec = steps[name];
    if (rec?.status === 'done' && rec.address) return rec.address;
    if (rec?.status === 'pending' && rec.address && (await publicClient.getCode({ address: rec.address }))) {
      await save({ name, status: 'done', address: rec.address });
      return rec.address;
    }
    const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' });
    await save({ name, status: 'pending', address: getContractAddress({ from: account.address, nonce: BigInt(nonce) }) });
    onStep(name);
    const hash = await walletClient.deployContract({ abi, bytecode, args, nonce } as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success' || !receipt.contractAddress) throw new DeploymentError(`deploying ${name} on L1 failed (tx ${hash})`);
    const address = getAddress(receipt.contractAddress);
    await save({ name, status: 'done', address, txHash: hash });
    return address;
  }

  async function call(name: string, to: Address, abi: Abi, functionName: string, args: readonly unknown[], done: () => Promise<boolean>): Promise<void> {
    if (steps[name]?.status === 'done') return;
    if (await done()) return save({ name, status: 'done' });
    onStep(name);
    const hash = await walletClient.sendTransaction({ to, data: encodeFunctionData({ abi, functionName, args }) });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new DeploymentError(`${name} on L1 failed (tx ${hash})`);
    await save({ name, status: 'done', txHash: hash });
  }

  const p = params;
  const [proxy, proxyAdminArtifact] = [opArtifact('Proxy'), opArtifact('ProxyAdmin')];
  const openToken = p.openToken ?? (await deploy('openToken', openTokenAbi, openTokenBytecode, [p.treasury, p.genesisSupply]));
  const proxyAdmin = await deploy('proxyAdmin', proxyAdminArtifact.abi, proxyAdminArtifact.bytecode, [account.address]);
  const names = ['SuperchainConfig', 'L2OutputOracle', 'OptimismPortal', 'SystemConfig'] as const;
  const proxies = {} as Record<(typeof names)[number], Address>;
  const impls = {} as Record<(typeof names)[number], Address>;
  for (const n of names) {
    proxies[n] = await deploy(`${n}Proxy`, proxy.abi, proxy.bytecode, [proxyAdmin]);
    impls[n] = await deploy(n, opArtifact(n).abi, opArtifact(n).bytecode, []);
  }
  // a proxy answers `implementation()` to its admin only: read the EIP-1967 slot instead
  const IMPLEMENTATION_SLOT = '0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc';
  const upgraded = (n: (typeof names)[number]) => async () =>
    BigInt((await publicClient.getStorageAt({ address: proxies[n], slot: IMPLEMENTATION_SLOT })) ?? '0x0') === BigInt(impls[n]);
  const init = (n: (typeof names)[number], args: readonly unknown[]) =>
    call(`${n}.initialize`, proxyAdmin, proxyAdminArtifact.abi, 'upgradeAndCall', [
      proxies[n], impls[n], encodeFunctionData({ abi: opArtifact(n).abi, functionName: 'initialize', args }),
    ], upgraded(n));

  await init('SuperchainConfig', [p.guardian, false]);
  await init('L2OutputOracle', [
    p.submissionInterval, 1n, p.l2StartingBlockNumber, p.l2StartingTimestamp, p.proposer, p.challenger, p.finalizationPeriodSeconds,
  ]);
  await init('OptimismPortal', [proxies.L2OutputOracle, proxies.SystemConfig, proxies.SuperchainConfig]);
  await init('SystemConfig', [
    p.owner, 0, 0, `0x${p.batcher.slice(2).toLowerCase().padStart(64, '0')}`, L2_GAS_LIMIT, zeroAddress, RESOURCE_CONFIG, p.batchInbox,
    {
      l1CrossDomainMessenger: zeroAddress, l1ERC721Bridge: zeroAddress, l1StandardBridge: zeroAddress, disputeGameFactory: zeroAddress,
      optimismPortal: proxies.OptimismPortal, optimismMintableERC20Factory: zeroAddress, gasPayingToken: openToken,
    },
  ]);
  await call('proxyAdmin.transferOwnership', proxyAdmin, proxyAdminArtifact.abi, 'transferOwnership', [p.owner], async () => p.owner === account.address);
  return {
    openToken, proxyAdmin,
    superchainConfig: proxies.SuperchainConfig, l2OutputOracle: proxies.L2OutputOracle,
    optimismPortal: proxies.OptimismPortal, systemConfig: proxies.SystemConfig,
  };
}

/**
 * Seconds the L2OutputOracle's clock starts before the L2's first output block. The oracle refuses
 * an output for block n before `startingTimestamp + (n - startingBlockNumber) * l2BlockTime` (its
 * L2 has a block every `l2BlockTime` seconds); a development L2 mines on demand, many blocks a
 * second in a burst, so its clock starts a day early: it may run a day's worth of blocks ahead.
 */
export const ORACLE_CLOCK_SLACK = 86_400n;

/**
 * Where the oracle starts for an L2 whose head is `head`: outputs follow it, and its clock starts
 * {@link ORACLE_CLOCK_SLACK} before it.
 *
 * @example
 * const params = devnetL1Params(me, oracleStart(await l2.publicClient.getBlock()));
 */
export function oracleStart(head: { number: bigint; timestamp: bigint }): Pick<L1Params, 'l2StartingBlockNumber' | 'l2StartingTimestamp'> {
  return { l2StartingBlockNumber: head.number, l2StartingTimestamp: head.timestamp - ORACLE_CLOCK_SLACK };
}

import { concat, encodeFunctionData, getAddress, getContractAddress, keccak256, parseEther, toBytes, zeroAddress, type Abi, type Address, type Hex } from 'viem';
import type { ChainClients } from './clients.ts';
import { ChainError } from './errors.ts';
import { installAttributionVerifier } from './attribution-verifier.ts';
import {
  agentAccountAbi,
  agentAccountBytecode,
  agentRegistryAbi,
  agentRegistryBytecode,
  attributionSettlementAbi,
  attributionSettlementBytecode,
  dataAvailabilityChallengeAbi,
  dataAvailabilityChallengeBytecode,
  datanetRegistryAbi,
  datanetRegistryBytecode,
  eRC6551RegistryAbi as erc6551RegistryAbi,
  eRC6551RegistryBytecode as erc6551RegistryBytecode,
  inferenceEscrowAbi,
  inferenceEscrowBytecode,
  modelRegistryAbi,
  modelRegistryBytecode,
  openGovernorAbi,
  openGovernorBytecode,
  openTimelockAbi,
  openTimelockBytecode,
  governanceOpenAbi,
  governanceOpenBytecode,
  openTokenAbi,
  openTokenBytecode,
  operatorRegistryAbi,
  operatorRegistryBytecode,
  reputationRegistryAbi,
  reputationRegistryBytecode,
  skillCallRootsAbi,
  skillCallRootsBytecode,
  skillRegistryAbi,
  skillRegistryBytecode,
  stakingAbi,
  stakingBytecode,
  validationRegistryAbi,
  validationRegistryBytecode,
  wrappedOpenBytecode,
} from './generated/index.ts';
import { chainProfileOf, WRAPPED_OPEN_ADDRESS } from './profiles.ts';
import type { ProtocolAddresses } from './protocol.ts';

/** Parameters of a deployment; {@link defaultProtocolParams} gives production-like values. */
export interface ProtocolParams {
  /** Receives the genesis supply (where OPEN is an ERC-20) and slashed stakes. */
  treasury: Address;
  /** OPEN minted to the treasury where OPEN is an ERC-20; where it is the native coin, the chain's
   *  genesis (or its bridge) creates the supply and this is unused. */
  genesisSupply: bigint;
  /**
   * Whether OPEN is the chain's native coin: the contracts then hold it as WOPEN (the predeploy at
   * {@link WRAPPED_OPEN_ADDRESS}, which the chain must have) and take native OPEN sent with a call,
   * and governance votes with GOPEN on a timestamp clock. Otherwise OPEN is an ERC-20 (with votes)
   * deployed here. Default: native on a chain whose profile says so (OpenLedger's chains, the
   * development chain) and that has the WOPEN predeploy (a bare anvil on the development id has
   * not: OPEN is an ERC-20 there, as on any other chain).
   */
  nativeOpen?: boolean;
  /** Seconds; operators' and validators' unbonding. Must exceed `challengeWindow` plus a governance
   *  decision ({@link governanceSeconds}), or an operator could withdraw before a slash lands. */
  unbondingDelay: bigint;
  /** Seconds; contributors' unbonding (their stakes in `Staking`, role Contributor). */
  contributorUnbondingDelay: bigint;
  /** Seconds; consumers' escrow withdrawals. */
  withdrawalDelay: bigint;
  /** Seconds during which an epoch root can be disputed. */
  challengeWindow: bigint;
  feeSplit: { modelOwnerBps: number; datanetOwnersBps: number; contributorsBps: number; stakersBps: number };
  attributionThresholdPpm: number;
  disputeBond: bigint;
  /** Seconds after a challenge window within which an arbiter must decide a dispute. Must exceed a
   *  governance decision ({@link governanceSeconds}): the timelock is the arbiter of last resort. */
  disputeTimeout: bigint;
  operatorSlashAmount: bigint;
  minimumOperatorStake: bigint;
  /** Seconds between queueing and executing a proposal. */
  timelockDelay: bigint;
  /** Blocks (turned into seconds where governance votes with GOPEN, whose clock is the timestamp). */
  votingDelay: number;
  /** Blocks (likewise). */
  votingPeriod: number;
  /** The chain's seconds per block, to turn the governor's block counts into time. */
  blockSeconds: number;
  proposalThreshold: bigint;
  quorumPercent: bigint;
  /** OPEN (wei) a skill listing bonds at least (SkillRegistry). */
  minimumListingBond: bigint;
  /** Seconds a delisted skill's bond stays slashable before it is withdrawn. A network keeps it
   *  longer than a challenge window plus a governance decision, like the operators' unbonding, so a
   *  slash for a fraud found late still lands. */
  listingUnbondingDelay: bigint;
  /** The protocol's fee on a skill call's price (basis points), SkillCallRoots' `callFeeBps`: taken
   *  before the call's costs, and what an over-budget fraud proof counts. */
  callFeeBps: number;
  /** Accounts, besides the timelock, allowed to decide bonded disputes. */
  arbiters: Address[];
  /** DataAvailabilityChallenge (decision 0029): windows in blocks, amounts in OPEN wei, shares in percent. */
  dataAvailability: {
    challengeWindow: bigint;
    resolveWindow: bigint;
    bondSize: bigint;
    submitterSlash: bigint;
    resolverRefundPercentage: bigint;
    challengerRewardPercentage: bigint;
  };
  /** Hand every admin role to the timelock and drop the deployer's (default true). */
  handOverToTimelock: boolean;
}

const DAY = 86_400n;

/**
 * A network's parameters: 1 billion OPEN to `treasury`; governance as OpenLedger's own (100 OPEN
 * to propose, a day's voting delay, two weeks of voting, 25 % quorum, a day's timelock: 16 days
 * from proposal to execution on 2-second blocks); disputes decided within 17 days of their window
 * (so a governance vote can still decide one the appointed arbiters leave), unbonding 21 days (so
 * a slash decided by governance lands before the stake leaves); a day's escrow withdrawal delay,
 * an hour's challenge window, a 1 % attribution threshold, and a fee split of 30 % model owner /
 * 10 % datanet owners / 50 % contributors / 10 % stakers (decision 0018); a skill listing bonds
 * 100 OPEN, slashable for 21 days after it is delisted; skill calls pay a 1 % protocol fee.
 */
export function defaultProtocolParams(treasury: Address): ProtocolParams {
  return {
    treasury,
    genesisSupply: parseEther('1000000000'),
    unbondingDelay: 21n * DAY,
    contributorUnbondingDelay: 3n * DAY,
    withdrawalDelay: 86400n,
    challengeWindow: 3600n,
    feeSplit: { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 },
    attributionThresholdPpm: 10_000,
    disputeBond: parseEther('100'),
    disputeTimeout: 17n * DAY,
    operatorSlashAmount: parseEther('1000'),
    minimumOperatorStake: parseEther('1000'),
    timelockDelay: DAY,
    votingDelay: 43_200,
    votingPeriod: 604_800,
    blockSeconds: 2,
    proposalThreshold: parseEther('100'),
    quorumPercent: 25n,
    minimumListingBond: parseEther('100'),
    listingUnbondingDelay: 21n * DAY,
    callFeeBps: 100,
    arbiters: [],
    // about a day to challenge an anchored batch and half a day to answer, on 2-second blocks; a
    // challenge bonds 100 OPEN, an unanswered one slashes the submitter 1,000 (half to the challenger)
    dataAvailability: {
      challengeWindow: 43_200n,
      resolveWindow: 21_600n,
      bondSize: parseEther('100'),
      submitterSlash: parseEther('1000'),
      resolverRefundPercentage: 100n,
      challengerRewardPercentage: 50n,
    },
    handOverToTimelock: true,
  };
}

/**
 * The development chain's parameters (the embedded chain of `npm start`): the network's, with
 * governance and its deadlines short enough to try by hand — a block's voting delay, 300 blocks of
 * voting, a 5-minute timelock, disputes decided within a day, a week's unbonding, a skill listing
 * bonding 1 OPEN and unlocking a minute after it is delisted — and anyone may propose. Blocks are
 * mined on demand there, so 300 blocks can take longer than 300 seconds.
 */
export function developmentProtocolParams(treasury: Address): ProtocolParams {
  return {
    ...defaultProtocolParams(treasury),
    unbondingDelay: 7n * DAY,
    disputeTimeout: DAY,
    timelockDelay: 300n,
    votingDelay: 1,
    votingPeriod: 300,
    blockSeconds: 1,
    proposalThreshold: 0n,
    quorumPercent: 4n,
    minimumListingBond: parseEther('1'),
    listingUnbondingDelay: 60n,
    dataAvailability: { ...defaultProtocolParams(treasury).dataAvailability, challengeWindow: 300n, resolveWindow: 150n, bondSize: parseEther('1'), submitterSlash: parseEther('10') },
  };
}

/** Seconds from a governance proposal to its execution: voting delay and period, then the timelock. */
export function governanceSeconds(p: Pick<ProtocolParams, 'votingDelay' | 'votingPeriod' | 'blockSeconds' | 'timelockDelay'>): bigint {
  return BigInt((p.votingDelay + p.votingPeriod) * p.blockSeconds) + p.timelockDelay;
}

/** One recorded step of a deployment. */
export interface DeploymentStep {
  name: string;
  status: 'pending' | 'done';
  address?: Address;
  txHash?: Hex;
}

/** Where a deployment records its progress, so that a rerun resumes instead of redeploying. */
export interface DeploymentRecorder {
  load(chainId: number): Promise<Record<string, DeploymentStep>>;
  save(chainId: number, step: DeploymentStep): Promise<void>;
  reset(chainId: number): Promise<void>;
}

/** A recorder that keeps steps in memory (tests, one-off deployments). */
export function memoryRecorder(): DeploymentRecorder {
  const byChain = new Map<number, Record<string, DeploymentStep>>();
  return {
    async load(chainId) {
      return { ...(byChain.get(chainId) ?? {}) };
    },
    async save(chainId, step) {
      byChain.set(chainId, { ...(byChain.get(chainId) ?? {}), [step.name]: step });
    },
    async reset(chainId) {
      byChain.delete(chainId);
    },
  };
}

/** A deployment that could not complete. */
export class DeploymentError extends ChainError {
  override name = 'DeploymentError';
}

const role = (name: string) => keccak256(toBytes(name));
const DEFAULT_ADMIN_ROLE = `0x${'00'.repeat(32)}` as Hex;

/**
 * Deploys and wires the whole protocol, idempotently: every step is recorded before and after it
 * runs, so a rerun (after a crash, or on every `openledger up`) skips what is done, adopts a
 * contract whose deployment was sent but not recorded, and redeploys everything if the chain no
 * longer has the recorded contracts (a fresh chain with the same id).
 *
 * @example
 * const addresses = await deployProtocol(clients, defaultProtocolParams(treasury), memoryRecorder());
 */
export async function deployProtocol(
  clients: ChainClients,
  params: ProtocolParams,
  recorder: DeploymentRecorder,
  onStep: (name: string, done: boolean) => void = () => {},
): Promise<ProtocolAddresses> {
  const governance = governanceSeconds(params);
  if (params.disputeTimeout <= governance) {
    throw new DeploymentError(`disputeTimeout (${params.disputeTimeout} s) must exceed a governance decision (${governance} s: voting delay and period, then the timelock), the arbiter of last resort`);
  }
  if (params.unbondingDelay <= params.challengeWindow + governance) {
    throw new DeploymentError(`unbondingDelay (${params.unbondingDelay} s) must exceed challengeWindow plus a governance decision (${params.challengeWindow + governance} s), or a stake could leave before its slash lands`);
  }
  const { publicClient, walletClient, account, chain } = clients;
  const chainId = chain.id;
  let steps = await recorder.load(chainId);
  // a fresh chain with the recorded id: the first contracts are gone, so start again
  for (const probe of [steps.openToken, steps.timelock]) {
    if (probe?.status === 'done' && probe.address && !(await publicClient.getCode({ address: probe.address }))) {
      await recorder.reset(chainId);
      steps = {};
      break;
    }
  }
  const hasWrappedOpen = Boolean(await publicClient.getCode({ address: WRAPPED_OPEN_ADDRESS }));
  const native = params.nativeOpen ?? (hasWrappedOpen && (chainProfileOf(chainId)?.nativeOpen ?? false));
  if (native && !hasWrappedOpen) {
    throw new DeploymentError(`chain ${chainId} has no WOPEN predeploy at ${WRAPPED_OPEN_ADDRESS}, so OPEN is not its native coin here: deploy with nativeOpen: false (OPEN as an ERC-20), or start the chain with its predeploys`);
  }

  // The protocol's code, stamped on the chain's first deployment: a chain deployed by a version of
  // openledger whose contracts differ would fail half-way through the steps below, so say so first.
  const code = keccak256(concat([native ? wrappedOpenBytecode : openTokenBytecode, native ? governanceOpenBytecode : '0x', openTimelockBytecode, openGovernorBytecode, stakingBytecode, datanetRegistryBytecode, modelRegistryBytecode, dataAvailabilityChallengeBytecode, inferenceEscrowBytecode, attributionSettlementBytecode, operatorRegistryBytecode, erc6551RegistryBytecode, agentAccountBytecode, agentRegistryBytecode, skillRegistryBytecode, skillCallRootsBytecode, reputationRegistryBytecode, validationRegistryBytecode]));
  if (steps.openToken?.status === 'done' && steps.protocol?.txHash !== code) {
    throw new DeploymentError(`the protocol on chain ${chainId} was deployed by another version of openledger (its contracts differ from these): use a new chain — for the embedded one, a fresh --data-dir`);
  }
  if (!steps.protocol) {
    // the step's hash is the code's, not a transaction's
    await recorder.save(chainId, (steps.protocol = { name: 'protocol', status: 'done', txHash: code }));
  }

  const nextNonce = () => publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' });

  async function deploy(name: string, abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> {
    const rec = steps[name];
    if (rec?.status === 'done' && rec.address) return rec.address;
    if (rec?.status === 'pending' && rec.address && (await publicClient.getCode({ address: rec.address }))) {
      const done: DeploymentStep = { name, status: 'done', address: rec.address };
      await recorder.save(chainId, done);
      steps[name] = done;
      onStep(name, true);
      return rec.address;
    }
    const nonce = await nextNonce();
    const predicted = getContractAddress({ from: account.address, nonce: BigInt(nonce) });
    await recorder.save(chainId, { name, status: 'pending', address: predicted });
    onStep(name, false);
    const hash = await walletClient.deployContract({ abi, bytecode, args, nonce } as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success' || !receipt.contractAddress) throw new DeploymentError(`deploying ${name} failed (tx ${hash})`);
    const address = getAddress(receipt.contractAddress);
    const done: DeploymentStep = { name, status: 'done', address, txHash: hash };
    await recorder.save(chainId, done);
    steps[name] = done;
    onStep(name, true);
    return address;
  }

  async function call(name: string, address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<void> {
    if (steps[name]?.status === 'done') return;
    onStep(name, false);
    const hash = await walletClient.sendTransaction({ to: address, data: encodeFunctionData({ abi, functionName, args } as never) });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new DeploymentError(`${name} failed (tx ${hash})`);
    const done: DeploymentStep = { name, status: 'done', txHash: hash };
    await recorder.save(chainId, done);
    steps[name] = done;
    onStep(name, true);
  }

  const me = account.address;
  const p = params;
  // OPEN: the chain's own coin held as WOPEN, voted with GOPEN (whose clock counts seconds); or an
  // ERC-20 with votes, minted once to the treasury
  /** Records a contract this deployment uses but does not deploy, so a store's record names every address. */
  async function adopt(name: string, address: Address): Promise<Address> {
    if (steps[name]?.status !== 'done' || steps[name]?.address !== address) await recorder.save(chainId, (steps[name] = { name, status: 'done', address }));
    return address;
  }
  const openToken = native ? await adopt('openToken', WRAPPED_OPEN_ADDRESS) : await deploy('openToken', openTokenAbi, openTokenBytecode, [p.treasury, p.genesisSupply]);
  const governanceToken = native ? await deploy('governanceToken', governanceOpenAbi, governanceOpenBytecode, []) : await adopt('governanceToken', openToken);
  const clockSeconds = native ? p.blockSeconds : 1;
  const timelock = await deploy('timelock', openTimelockAbi, openTimelockBytecode, [p.timelockDelay, [], [zeroAddress], me]);
  const governor = await deploy('governor', openGovernorAbi, openGovernorBytecode, [
    governanceToken, timelock, p.votingDelay * clockSeconds, p.votingPeriod * clockSeconds, p.proposalThreshold, p.quorumPercent,
  ]);
  const staking = await deploy('staking', stakingAbi, stakingBytecode, [openToken, me, p.unbondingDelay, p.contributorUnbondingDelay, p.treasury]);
  const datanetRegistry = await deploy('datanetRegistry', datanetRegistryAbi, datanetRegistryBytecode, [staking]);
  const modelRegistry = await deploy('modelRegistry', modelRegistryAbi, modelRegistryBytecode, [datanetRegistry]);
  const da = p.dataAvailability;
  const dataAvailabilityChallenge = await deploy('dataAvailabilityChallenge', dataAvailabilityChallengeAbi, dataAvailabilityChallengeBytecode, [
    openToken, datanetRegistry, da.challengeWindow, da.resolveWindow, da.bondSize, da.submitterSlash, da.resolverRefundPercentage, da.challengerRewardPercentage, p.treasury,
  ]);
  const inferenceEscrow = await deploy('inferenceEscrow', inferenceEscrowAbi, inferenceEscrowBytecode, [openToken, me, p.withdrawalDelay]);
  const attributionSettlement = await deploy('attributionSettlement', attributionSettlementAbi, attributionSettlementBytecode, [
    openToken, inferenceEscrow, staking, me, p.challengeWindow, p.feeSplit, p.attributionThresholdPpm,
  ]);

  await call('staking.setDatanetRegistry', staking, stakingAbi, 'setDatanetRegistry', [datanetRegistry]);
  const operatorRegistry = await deploy('operatorRegistry', operatorRegistryAbi, operatorRegistryBytecode, [staking]);
  // agents: the ERC-6551 registry and account code, the ERC-8004 identity registry that creates each
  // agent's account there, and the skills agents list with a bond
  const erc6551Registry = await deploy('erc6551Registry', erc6551RegistryAbi, erc6551RegistryBytecode, []);
  const agentAccountImplementation = await deploy('agentAccountImplementation', agentAccountAbi, agentAccountBytecode, [openToken]);
  const agentRegistry = await deploy('agentRegistry', agentRegistryAbi, agentRegistryBytecode, [erc6551Registry, agentAccountImplementation]);
  const skillRegistry = await deploy('skillRegistry', skillRegistryAbi, skillRegistryBytecode, [
    openToken, agentRegistry, me, p.minimumListingBond, p.listingUnbondingDelay,
  ]);
  // skill calls provable on chain: each epoch's call root and the fraud proofs against it (which
  // resolve the settlement's disputes, as an arbiter); ERC-8004 reputation earned by paid calls, and
  // validation by staked validators
  const skillCallRoots = await deploy('skillCallRoots', skillCallRootsAbi, skillCallRootsBytecode, [attributionSettlement, me, p.callFeeBps]);
  const reputationRegistry = await deploy('reputationRegistry', reputationRegistryAbi, reputationRegistryBytecode, [agentRegistry, skillCallRoots]);
  const validationRegistry = await deploy('validationRegistry', validationRegistryAbi, validationRegistryBytecode, [agentRegistry, staking]);

  await call('staking.grantSlasher', staking, stakingAbi, 'grantRole', [role('SLASHER_ROLE'), attributionSettlement]);
  await call('skillRegistry.grantSlasher', skillRegistry, skillRegistryAbi, 'grantRole', [role('SLASHER_ROLE'), attributionSettlement]);
  await call('skillRegistry.grantSlasher.timelock', skillRegistry, skillRegistryAbi, 'grantRole', [role('SLASHER_ROLE'), timelock]);
  await call('escrow.grantSettlement', inferenceEscrow, inferenceEscrowAbi, 'grantRole', [role('SETTLEMENT_ROLE'), attributionSettlement]);
  await call('staking.setMinimumOperatorStake', staking, stakingAbi, 'setMinimumStake', [0, p.minimumOperatorStake]);
  await call('settlement.setDisputeBond', attributionSettlement, attributionSettlementAbi, 'setDisputeBond', [p.disputeBond]);
  await call('settlement.setDisputeTimeout', attributionSettlement, attributionSettlementAbi, 'setDisputeTimeout', [p.disputeTimeout]);
  await call('settlement.setOperatorSlashAmount', attributionSettlement, attributionSettlementAbi, 'setOperatorSlashAmount', [p.operatorSlashAmount]);
  await call('settlement.grantArbiter.skillCallRoots', attributionSettlement, attributionSettlementAbi, 'grantRole', [role('ARBITER_ROLE'), skillCallRoots]);
  await call('settlement.grantArbiter.timelock', attributionSettlement, attributionSettlementAbi, 'grantRole', [role('ARBITER_ROLE'), timelock]);
  for (const arbiter of p.arbiters) {
    await call(`settlement.grantArbiter.${arbiter}`, attributionSettlement, attributionSettlementAbi, 'grantRole', [role('ARBITER_ROLE'), arbiter]);
  }
  await call('timelock.grantProposer', timelock, openTimelockAbi, 'grantRole', [role('PROPOSER_ROLE'), governor]);
  await call('timelock.grantCanceller', timelock, openTimelockAbi, 'grantRole', [role('CANCELLER_ROLE'), governor]);

  const administered: [string, Address, Abi][] = [
    ['staking', staking, stakingAbi],
    ['inferenceEscrow', inferenceEscrow, inferenceEscrowAbi],
    ['attributionSettlement', attributionSettlement, attributionSettlementAbi],
    ['skillRegistry', skillRegistry, skillRegistryAbi],
    ['skillCallRoots', skillCallRoots, skillCallRootsAbi],
  ];
  for (const [name, address, abi] of administered) {
    await call(`${name}.grantAdmin.timelock`, address, abi, 'grantRole', [DEFAULT_ADMIN_ROLE, timelock]);
  }
  if (p.handOverToTimelock) {
    for (const [name, address, abi] of administered) {
      await call(`${name}.renounceAdmin`, address, abi, 'renounceRole', [DEFAULT_ADMIN_ROLE, me]);
    }
    await call('timelock.renounceAdmin', timelock, openTimelockAbi, 'renounceRole', [DEFAULT_ADMIN_ROLE, me]);
  }

  // the Proof of Attribution verifier at its predeploy address: set on a development chain, in genesis on a network (decision 0030)
  await installAttributionVerifier(publicClient);

  return {
    openToken, governanceToken, timelock, governor, staking, datanetRegistry, modelRegistry, dataAvailabilityChallenge, inferenceEscrow, attributionSettlement, operatorRegistry,
    agentRegistry, skillRegistry, erc6551Registry, agentAccountImplementation, skillCallRoots, reputationRegistry, validationRegistry,
  };
}

import { getContract, isAddressEqual, keccak256, toBytes, type Address, type Hex, type PublicClient } from 'viem';
import { DeploymentError } from './deploy.ts';
import {
  agentAccountDeployedBytecode,
  agentAccountImmutableRanges,
  agentRegistryDeployedBytecode,
  agentRegistryImmutableRanges,
  attributionSettlementDeployedBytecode,
  attributionSettlementImmutableRanges,
  dataAvailabilityChallengeDeployedBytecode,
  dataAvailabilityChallengeImmutableRanges,
  datanetRegistryDeployedBytecode,
  datanetRegistryImmutableRanges,
  eRC6551RegistryDeployedBytecode as erc6551RegistryDeployedBytecode,
  eRC6551RegistryImmutableRanges as erc6551RegistryImmutableRanges,
  inferenceEscrowDeployedBytecode,
  inferenceEscrowImmutableRanges,
  modelRegistryDeployedBytecode,
  modelRegistryImmutableRanges,
  openGovernorDeployedBytecode,
  openGovernorImmutableRanges,
  openTimelockDeployedBytecode,
  openTimelockImmutableRanges,
  governanceOpenDeployedBytecode,
  governanceOpenImmutableRanges,
  openTokenDeployedBytecode,
  openTokenImmutableRanges,
  operatorRegistryDeployedBytecode,
  operatorRegistryImmutableRanges,
  reputationRegistryDeployedBytecode,
  reputationRegistryImmutableRanges,
  skillCallRootsDeployedBytecode,
  skillCallRootsImmutableRanges,
  skillRegistryDeployedBytecode,
  skillRegistryImmutableRanges,
  stakingDeployedBytecode,
  stakingImmutableRanges,
  validationRegistryDeployedBytecode,
  validationRegistryImmutableRanges,
  wrappedOpenDeployedBytecode,
  wrappedOpenImmutableRanges,
} from './generated/index.ts';
import { protocolAbis, type ProtocolAddresses } from './protocol.ts';
import { WRAPPED_OPEN_ADDRESS } from './profiles.ts';

interface Runtime {
  code: Hex;
  immutables: readonly (readonly [number, number])[];
}

/**
 * This version's runtime code of each protocol contract, with the byte ranges its immutables fill;
 * OPEN and the governance token have two forms: the OPEN token (an ERC-20 with votes), or WOPEN and
 * GOPEN where OPEN is the native coin.
 */
const RUNTIME: Record<keyof ProtocolAddresses, Runtime | readonly Runtime[]> = {
  openToken: [{ code: openTokenDeployedBytecode, immutables: openTokenImmutableRanges }, { code: wrappedOpenDeployedBytecode, immutables: wrappedOpenImmutableRanges }],
  governanceToken: [{ code: openTokenDeployedBytecode, immutables: openTokenImmutableRanges }, { code: governanceOpenDeployedBytecode, immutables: governanceOpenImmutableRanges }],
  timelock: { code: openTimelockDeployedBytecode, immutables: openTimelockImmutableRanges },
  governor: { code: openGovernorDeployedBytecode, immutables: openGovernorImmutableRanges },
  staking: { code: stakingDeployedBytecode, immutables: stakingImmutableRanges },
  datanetRegistry: { code: datanetRegistryDeployedBytecode, immutables: datanetRegistryImmutableRanges },
  modelRegistry: { code: modelRegistryDeployedBytecode, immutables: modelRegistryImmutableRanges },
  dataAvailabilityChallenge: { code: dataAvailabilityChallengeDeployedBytecode, immutables: dataAvailabilityChallengeImmutableRanges },
  inferenceEscrow: { code: inferenceEscrowDeployedBytecode, immutables: inferenceEscrowImmutableRanges },
  attributionSettlement: { code: attributionSettlementDeployedBytecode, immutables: attributionSettlementImmutableRanges },
  operatorRegistry: { code: operatorRegistryDeployedBytecode, immutables: operatorRegistryImmutableRanges },
  agentRegistry: { code: agentRegistryDeployedBytecode, immutables: agentRegistryImmutableRanges },
  skillRegistry: { code: skillRegistryDeployedBytecode, immutables: skillRegistryImmutableRanges },
  erc6551Registry: { code: erc6551RegistryDeployedBytecode, immutables: erc6551RegistryImmutableRanges },
  agentAccountImplementation: { code: agentAccountDeployedBytecode, immutables: agentAccountImmutableRanges },
  skillCallRoots: { code: skillCallRootsDeployedBytecode, immutables: skillCallRootsImmutableRanges },
  reputationRegistry: { code: reputationRegistryDeployedBytecode, immutables: reputationRegistryImmutableRanges },
  validationRegistry: { code: validationRegistryDeployedBytecode, immutables: validationRegistryImmutableRanges },
};

/** `code` with the bytes in `ranges` zeroed: what two deployments of one contract share. */
function masked(code: Hex, ranges: readonly (readonly [number, number])[]): Uint8Array {
  const bytes = toBytes(code);
  for (const [start, length] of ranges) bytes.fill(0, start, start + length);
  return bytes;
}

const role = (name: string) => keccak256(toBytes(name));
const ADMIN = `0x${'00'.repeat(32)}` as Hex;

/**
 * Checks that `addresses` on the chain behind `client` are a whole deployment of this version of
 * the protocol before a node joins it: each address holds this version's contract (its runtime code
 * equal to the compiled one but for its immutables), the contracts point at one another (the
 * settlement at this escrow, staking and token; the registries at this staking; the governor at
 * this token and timelock; the agent registry at this ERC-6551 registry and account code, the
 * account code at this token, the skill registry at this agent registry and token, the call roots at
 * this settlement, the reputation registry at this agent registry and these call roots, the
 * validation registry at this agent registry and staking), and the roles a network relies on are
 * granted as the deployment grants them (the settlement may slash stakes and listing bonds and draw;
 * the call roots' fraud proofs decide the settlement's disputes; the timelock administers, may slash
 * listing bonds, and the governor proposes).
 * Throws a {@link DeploymentError} naming the first difference; nothing is trusted from whoever
 * handed out the addresses.
 *
 * @example
 * await verifyProtocol(publicClient, (await fetch(`${peer}/status`).then((r) => r.json())).contracts);
 */
export async function verifyProtocol(client: PublicClient, addresses: ProtocolAddresses): Promise<void> {
  for (const [name, runtimes] of Object.entries(RUNTIME) as [keyof ProtocolAddresses, (typeof RUNTIME)[keyof ProtocolAddresses]][]) {
    const address = addresses[name];
    const code = await client.getCode({ address });
    if (!code || code === '0x') throw new DeploymentError(`${name} ${address}: no contract at this address on chain ${client.chain?.id}`);
    const matches = (expected: Runtime) => {
      const [onChain, compiled] = [masked(code, expected.immutables), masked(expected.code, expected.immutables)];
      return onChain.length === compiled.length && onChain.every((b, i) => b === compiled[i]);
    };
    if (!(Array.isArray(runtimes) ? runtimes : [runtimes as Runtime]).some(matches)) {
      throw new DeploymentError(`${name} ${address}: its code is not this version of openledger's ${name} (another version, or another contract)`);
    }
  }
  // OPEN's two forms are not mixed: WOPEN at the predeploy with GOPEN, or the OPEN token voting itself
  if (isAddressEqual(addresses.openToken, WRAPPED_OPEN_ADDRESS)) {
    if (isAddressEqual(addresses.governanceToken, addresses.openToken)) throw new DeploymentError('governanceToken is WOPEN, which has no votes: the addresses are not one deployment');
  } else if (!isAddressEqual(addresses.governanceToken, addresses.openToken)) {
    throw new DeploymentError(`governanceToken is ${addresses.governanceToken}, not the OPEN token ${addresses.openToken}: the addresses are not one deployment`);
  }
  const c = <N extends keyof ProtocolAddresses>(name: N) => getContract({ address: addresses[name], abi: protocolAbis[name], client });
  const same = (what: string, actual: Address, expected: Address) => {
    if (!isAddressEqual(actual, expected)) throw new DeploymentError(`${what} is ${actual}, not ${expected}: the addresses are not one deployment`);
  };
  const [settlement, escrow, staking, datanets, models, operators, governor] = [c('attributionSettlement'), c('inferenceEscrow'), c('staking'), c('datanetRegistry'), c('modelRegistry'), c('operatorRegistry'), c('governor')];
  same('AttributionSettlement.token', await settlement.read.token(), addresses.openToken);
  same('AttributionSettlement.escrow', await settlement.read.escrow(), addresses.inferenceEscrow);
  same('AttributionSettlement.staking', await settlement.read.staking(), addresses.staking);
  same('InferenceEscrow.token', await escrow.read.token(), addresses.openToken);
  same('Staking.token', await staking.read.token(), addresses.openToken);
  same('Staking.datanetRegistry', await staking.read.datanetRegistry(), addresses.datanetRegistry);
  same('DatanetRegistry.staking', await datanets.read.staking(), addresses.staking);
  same('ModelRegistry.datanets', await models.read.datanets(), addresses.datanetRegistry);
  const dac = c('dataAvailabilityChallenge');
  same('DataAvailabilityChallenge.token', await dac.read.token(), addresses.openToken);
  same('DataAvailabilityChallenge.registry', await dac.read.registry(), addresses.datanetRegistry);
  same('OperatorRegistry.staking', await operators.read.staking(), addresses.staking);
  same('OpenGovernor.token', await governor.read.token(), addresses.governanceToken);
  same('OpenGovernor.timelock', await governor.read.timelock(), addresses.timelock);
  const [agents, skills, accountCode] = [c('agentRegistry'), c('skillRegistry'), c('agentAccountImplementation')];
  same('AgentRegistry.erc6551Registry', await agents.read.erc6551Registry(), addresses.erc6551Registry);
  same('AgentRegistry.accountImplementation', await agents.read.accountImplementation(), addresses.agentAccountImplementation);
  same('AgentAccount.openToken', await accountCode.read.openToken(), addresses.openToken);
  same('SkillRegistry.agentRegistry', await skills.read.agentRegistry(), addresses.agentRegistry);
  same('SkillRegistry.token', await skills.read.token(), addresses.openToken);
  const [callRoots, reputation, validation] = [c('skillCallRoots'), c('reputationRegistry'), c('validationRegistry')];
  same('SkillCallRoots.settlement', await callRoots.read.settlement(), addresses.attributionSettlement);
  same('ReputationRegistry.identityRegistry', await reputation.read.getIdentityRegistry(), addresses.agentRegistry);
  same('ReputationRegistry.skillCallRoots', await reputation.read.skillCallRoots(), addresses.skillCallRoots);
  same('ValidationRegistry.identityRegistry', await validation.read.getIdentityRegistry(), addresses.agentRegistry);
  same('ValidationRegistry.staking', await validation.read.staking(), addresses.staking);
  const granted: [string, { read: { hasRole(args: readonly [Hex, Address]): Promise<boolean> } }, Hex, keyof ProtocolAddresses][] = [
    ['Staking SLASHER_ROLE', staking, role('SLASHER_ROLE'), 'attributionSettlement'],
    ['InferenceEscrow SETTLEMENT_ROLE', escrow, role('SETTLEMENT_ROLE'), 'attributionSettlement'],
    ['SkillRegistry SLASHER_ROLE', skills, role('SLASHER_ROLE'), 'attributionSettlement'],
    ['SkillRegistry SLASHER_ROLE', skills, role('SLASHER_ROLE'), 'timelock'],
    ['AttributionSettlement ARBITER_ROLE', settlement, role('ARBITER_ROLE'), 'skillCallRoots'],
    ['OpenTimelock PROPOSER_ROLE', c('timelock'), role('PROPOSER_ROLE'), 'governor'],
    ['Staking admin', staking, ADMIN, 'timelock'],
    ['InferenceEscrow admin', escrow, ADMIN, 'timelock'],
    ['AttributionSettlement admin', settlement, ADMIN, 'timelock'],
    ['SkillRegistry admin', skills, ADMIN, 'timelock'],
    ['SkillCallRoots admin', callRoots, ADMIN, 'timelock'],
  ];
  for (const [what, contract, id, holder] of granted) {
    if (!(await contract.read.hasRole([id, addresses[holder]]))) throw new DeploymentError(`${what} is not held by the ${holder} ${addresses[holder]}: not a deployment this node can join`);
  }
}

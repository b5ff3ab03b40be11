import { parseEther, type Address } from 'viem';
import { mnemonicToAccount, type HDAccount } from 'viem/accounts';
import { startAnvil, type AnvilProcess } from './anvil.ts';
import { connectChain, type ChainClients } from './clients.ts';
import { callJsonRpc } from './json-rpc.ts';
import { defaultProtocolParams, deployProtocol, memoryRecorder, type ProtocolParams } from './deploy.ts';
import { protocolContracts, type ProtocolAddresses, type ProtocolContracts } from './protocol.ts';

/** The well-known development mnemonic; its keys are public, so only for throw-away test chains. */
export const TEST_MNEMONIC = 'test test test test test test test test test test test junk';

/** Short delays and periods so tests can move time forward cheaply. */
export function testProtocolParams(treasury: Address): ProtocolParams {
  return {
    ...defaultProtocolParams(treasury),
    unbondingDelay: 300n,
    stakeReleaseDelay: 100n,
    withdrawalDelay: 200n,
    challengeWindow: 100n,
    disputeBond: parseEther('10'),
    disputeTimeout: 1000n,
    operatorSlashAmount: parseEther('500'),
    minimumOperatorStake: parseEther('1000'),
    timelockDelay: 10n,
    votingDelay: 1,
    votingPeriod: 5,
    handOverToTimelock: false,
  };
}

/** A throw-away chain with the protocol deployed, for tests and benchmarks. */
export interface TestProtocol {
  anvil: AnvilProcess;
  /** Dev accounts 0..9; account 0 deployed the protocol and is the treasury. */
  accounts: HDAccount[];
  params: ProtocolParams;
  addresses: ProtocolAddresses;
  /** Clients signing as account `i`. */
  clients(i: number): Promise<ChainClients>;
  /** Contract handles writing as account `i`. */
  as(i: number): Promise<ProtocolContracts>;
  /** Moves the next block's time forward and mines it. */
  increaseTime(seconds: number | bigint): Promise<void>;
  /** Mines `blocks` empty blocks. */
  mine(blocks?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a fresh anvil (not persistent, so `evm_snapshot` and friends work) and deploys the
 * protocol with {@link testProtocolParams} and any overrides.
 *
 * @example
 * const t = await startTestProtocol();
 * const alice = await t.as(1);
 * await t.stop();
 */
export async function startTestProtocol(overrides: Partial<ProtocolParams> = {}): Promise<TestProtocol> {
  const anvil = await startAnvil({ mnemonic: TEST_MNEMONIC });
  try {
    const accounts = Array.from({ length: 10 }, (_, i) => mnemonicToAccount(TEST_MNEMONIC, { addressIndex: i }));
    const deployer = accounts[0]!;
    const params = { ...testProtocolParams(deployer.address), ...overrides };
    const cache = new Map<number, ChainClients>();
    const clients = async (i: number) => {
      let c = cache.get(i);
      if (!c) {
        const account = accounts[i];
        if (!account) throw new Error(`no dev account ${i}`);
        c = await connectChain(anvil.url, account, { pollingInterval: 20 });
        cache.set(i, c);
      }
      return c;
    };
    const addresses = await deployProtocol(await clients(0), params, memoryRecorder());
    return {
      anvil,
      accounts,
      params,
      addresses,
      clients,
      async as(i) {
        return protocolContracts(await clients(i), addresses);
      },
      async increaseTime(seconds) {
        await callJsonRpc(anvil.url, 'evm_increaseTime', [Number(seconds)]);
        await callJsonRpc(anvil.url, 'evm_mine');
      },
      async mine(blocks = 1) {
        await callJsonRpc(anvil.url, 'anvil_mine', [`0x${blocks.toString(16)}`]);
      },
      stop: () => anvil.stop(),
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

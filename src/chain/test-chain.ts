import assert from 'node:assert/strict';
import type { AbiError } from 'abitype';
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  parseEther,
  type Abi,
  type Address,
  type Hash,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import { mnemonicToAccount, type HDAccount } from 'viem/accounts';
import { formatAbiItem } from 'viem/utils';
import { startAnvil, type AnvilProcess } from './anvil.ts';
import { connectChain, type ChainClients } from './clients.ts';
import { callJsonRpc } from './json-rpc.ts';
import { genesisPredeploys, installPredeploys } from './predeploys.ts';
import { defaultProtocolParams, deployProtocol, memoryRecorder, type ProtocolParams } from './deploy.ts';
import { protocolAbis, protocolContracts, type ProtocolAddresses, type ProtocolContracts } from './protocol.ts';

/** The well-known development mnemonic; its keys are public, so only for throw-away test chains. */
export const TEST_MNEMONIC = 'test test test test test test test test test test test junk';

/** Short delays and periods so tests can move time forward cheaply. */
export function testProtocolParams(treasury: Address): ProtocolParams {
  return {
    ...defaultProtocolParams(treasury),
    // OPEN as an ERC-20 (the path any EVM chain takes); `nativeOpen: true` tests the L2's native OPEN
    nativeOpen: false,
    unbondingDelay: 300n,
    contributorUnbondingDelay: 100n,
    withdrawalDelay: 200n,
    challengeWindow: 100n,
    disputeBond: parseEther('10'),
    disputeTimeout: 1000n,
    operatorSlashAmount: parseEther('500'),
    minimumOperatorStake: parseEther('1000'),
    timelockDelay: 10n,
    votingDelay: 1,
    votingPeriod: 5,
    blockSeconds: 1,
    proposalThreshold: 0n,
    quorumPercent: 4n,
    minimumListingBond: parseEther('10'),
    listingUnbondingDelay: 200n,
    dataAvailability: { challengeWindow: 20n, resolveWindow: 10n, bondSize: parseEther('10'), submitterSlash: parseEther('100'), resolverRefundPercentage: 100n, challengerRewardPercentage: 50n },
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
  /**
   * Saves the chain's state now and returns a function that puts it back (and keeps the saved state
   * for the next call): each test or property run starts from the same state.
   */
  checkpoint(): Promise<() => Promise<void>>;
  /** Waits for a sent transaction's receipt and asserts that it succeeded. */
  mined(hash: Hash | Promise<Hash>): Promise<TransactionReceipt>;
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
export async function startTestProtocol(overrides: Partial<ProtocolParams> = {}, options: { chainId?: number } = {}): Promise<TestProtocol> {
  const anvil = await startAnvil({ mnemonic: TEST_MNEMONIC, chainId: options.chainId });
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
    const admin = await clients(0);
    await installPredeploys(anvil.url, genesisPredeploys(params.nativeOpen ?? false));
    const addresses = await deployProtocol(admin, params, memoryRecorder());
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
      async checkpoint() {
        let id = await callJsonRpc<string>(anvil.url, 'evm_snapshot');
        return async () => {
          if (!(await callJsonRpc<boolean>(anvil.url, 'evm_revert', [id]))) throw new Error(`evm_revert to ${id} failed`);
          id = await callJsonRpc<string>(anvil.url, 'evm_snapshot'); // a revert consumes the snapshot
        };
      },
      async mined(hash) {
        const receipt = await admin.publicClient.waitForTransactionReceipt({ hash: await hash });
        assert.equal(receipt.status, 'success');
        return receipt;
      },
      stop: () => anvil.stop(),
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

/**
 * The custom errors of every protocol contract, each selector once, so that a revert decodes by name
 * however deep in a call it was raised (a token error raised through `stake`, an escrow error raised
 * through `postEpoch`).
 */
export const protocolErrorAbi: readonly AbiError[] = (() => {
  const bySignature = new Map<string, AbiError>();
  for (const item of Object.values(protocolAbis).flat() as Abi) {
    if (item.type === 'error') {
      const signature = formatAbiItem(item);
      if (!bySignature.has(signature)) bySignature.set(signature, item);
    }
  }
  return [...bySignature.values()];
})();

/** A custom error a call reverted with: its name and decoded arguments (empty when it has none). */
export interface DecodedRevert {
  errorName: string;
  args: readonly unknown[];
}

/**
 * The custom error (or `Error(string)` / `Panic(uint256)`) that a failed call reverted with, decoded
 * against {@link protocolErrorAbi}; `undefined` if `err` is no revert with data, or its selector is
 * unknown. Reads a contract function's revert (`ContractFunctionRevertedError`) and also the raw
 * revert data of a plain `eth_call`, such as a constructor's revert in a simulated deployment.
 *
 * @example
 * const decoded = await token.write.transfer([zeroAddress, 1n]).then(() => undefined, revertOf);
 * // { errorName: 'ERC20InvalidReceiver', args: ['0x0000000000000000000000000000000000000000'] }
 */
export function revertOf(err: unknown): DecodedRevert | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
  let data: Hex | undefined;
  if (reverted instanceof ContractFunctionRevertedError) data = reverted.raw;
  else {
    // A plain call (no ABI to decode with): the innermost error that carries the revert data as hex.
    const raw = err.walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data?: Hex } | null;
    data = raw?.data;
  }
  if (!data || data === '0x') return undefined;
  try {
    const decoded = decodeErrorResult({ abi: protocolErrorAbi, data });
    return { errorName: decoded.errorName, args: decoded.args ?? [] };
  } catch {
    return undefined;
  }
}

/**
 * Asserts that `promise` rejects with the custom error `errorName` (see {@link revertOf}) and, if
 * `args` is given, with exactly these arguments.
 *
 * @example
 * await expectRevert(escrow.write.deposit([consumer, 0n]), 'InferenceEscrowZeroAmount');
 * await expectRevert(escrow.write.withdraw(), 'InferenceEscrowWithdrawalLocked', [unlockAt]);
 */
export async function expectRevert(promise: Promise<unknown>, errorName: string, args?: readonly unknown[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    const decoded = revertOf(err);
    assert.ok(decoded, `expected a revert with ${errorName}, got: ${String(err)}`);
    assert.equal(decoded.errorName, errorName, `expected ${errorName}, got ${decoded.errorName}(${decoded.args.join(', ')})`);
    if (args) assert.deepEqual(decoded.args, args);
    return true;
  });
}

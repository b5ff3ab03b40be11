import { numberToHex, parseAbiItem, type Abi, type Hex } from 'viem';
import type { ChainClients } from '../clients.ts';
import { callJsonRpc } from '../json-rpc.ts';
import { L2_TO_L1_MESSAGE_PASSER_ADDRESS } from '../profiles.ts';
import type { L1Addresses } from './deploy-l1.ts';
import { opArtifact } from './op-artifacts.ts';
import { proposeOutputs } from './propose-outputs.ts';
import { finalizeWithdrawal, proveWithdrawal, withdrawalStatus, WithdrawalNotProvableError } from './prove-withdrawal.ts';
import type { RelayCursor } from './relay-cursor.ts';
import { relayDeposits } from './relay-deposits.ts';
import { burnWithdrawnOpen, type WithdrawalMessage } from './withdraw-open.ts';

const messagePassedEvent = parseAbiItem('event MessagePassed(uint256 indexed nonce, address indexed sender, address indexed target, uint256 value, uint256 gasLimit, bytes data, bytes32 withdrawalHash)');

/** What the development network's bridge service works with. */
export interface BridgeContext {
  /** The L1, signing as the oracle's proposer (and paying for proofs and finalisations). */
  l1: ChainClients;
  /** The L2, signing as an account that pays for `burn()`. */
  l2: ChainClients;
  /** The L2's URL; it takes deposit transactions and `anvil_mine` (the embedded chain in development mode). */
  l2Url: string;
  l1Addresses: L1Addresses;
  depositCursor: RelayCursor;
}

/** What one {@link bridgeTick} did. */
export interface BridgeTickReport {
  deposits: number;
  burnt: bigint;
  outputs: number;
  proven: number;
  finalized: number;
}

/**
 * One round of what an OP Stack devnet's services do and anvil does not: relay the portal's
 * deposits to L2 (op-node's derivation of deposit transactions), burn what withdrawals left in
 * L2ToL1MessagePasser, propose the output roots due (op-proposer, filling empty L2 blocks up to the
 * next one), prove every withdrawal an output covers and finalise every proven one whose period has
 * passed (what a user or a relayer does on L1; both are permissionless).
 *
 * @example
 * const report = await bridgeTick(ctx);
 */
export async function bridgeTick(ctx: BridgeContext): Promise<BridgeTickReport> {
  const relayed = await relayDeposits({ l1: ctx.l1.publicClient, l2Url: ctx.l2Url, portal: ctx.l1Addresses.optimismPortal, fromBlock: 0n, cursor: ctx.depositCursor });
  const burnt = await burnWithdrawnOpen(ctx.l2);
  const outputs = await proposeOutputs({ l1: ctx.l1, l2OutputOracle: ctx.l1Addresses.l2OutputOracle, l2Url: ctx.l2Url, fillBlocks: true });
  let proven = 0;
  let finalized = 0;
  for (const { withdrawal, blockNumber } of await withdrawalsOnL2(ctx.l2)) {
    const status = await withdrawalStatus(ctx.l1, ctx.l1Addresses, withdrawal, blockNumber);
    if (status === 'ready-to-prove') {
      try {
        await proveWithdrawal(ctx.l1, ctx.l1Addresses, ctx.l2Url, withdrawal, blockNumber);
        proven++;
      } catch (err) {
        if (!(err instanceof WithdrawalNotProvableError)) throw err;
        await freshOutputDue(ctx); // proven next round, against the output of the blocks mined now
      }
    } else if (status === 'ready-to-finalize') {
      await finalizeWithdrawal(ctx.l1, ctx.l1Addresses, withdrawal);
      finalized++;
    }
  }
  return { deposits: relayed.length, burnt, outputs: outputs.length, proven, finalized };
}

/**
 * Every withdrawal started on L2 (L2ToL1MessagePasser's `MessagePassed` events) and its block.
 *
 * @example
 * const all = await withdrawalsOnL2(l2Clients);
 */
export async function withdrawalsOnL2(l2: ChainClients, fromBlock = 0n): Promise<{ withdrawal: WithdrawalMessage; blockNumber: bigint }[]> {
  const logs = await l2.publicClient.getLogs({ address: L2_TO_L1_MESSAGE_PASSER_ADDRESS, event: messagePassedEvent, fromBlock, toBlock: 'latest' });
  return logs.map((l) => ({ withdrawal: l.args as WithdrawalMessage, blockNumber: l.blockNumber }));
}

/**
 * Makes the proposer propose a fresh output: mines the oracle's submission interval of empty L2
 * blocks. For a withdrawal whose output's L2 state is gone (a restarted L2 keeps only its latest
 * state): a later output also holds the withdrawal, and its state is at hand.
 *
 * @example
 * await freshOutputDue(ctx);
 */
export async function freshOutputDue(ctx: Pick<BridgeContext, 'l1' | 'l2Url' | 'l1Addresses'>): Promise<void> {
  const interval = (await ctx.l1.publicClient.readContract({ address: ctx.l1Addresses.l2OutputOracle, abi: opArtifact('L2OutputOracle').abi as Abi, functionName: 'SUBMISSION_INTERVAL' })) as bigint;
  await callJsonRpc<Hex>(ctx.l2Url, 'anvil_mine', [numberToHex(interval)]);
}


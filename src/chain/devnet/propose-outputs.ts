import { numberToHex, zeroHash, type Abi, type Address, type Hex } from 'viem';
import type { ChainClients } from '../clients.ts';
import { callJsonRpc } from '../json-rpc.ts';
import { BridgeTransactionError } from './deposit-open.ts';
import { opArtifact } from './op-artifacts.ts';
import { outputAt, type L2Output } from './output-root.ts';

/** What {@link proposeOutputs} works with. */
export interface Proposer {
  /** The L1, signing as the oracle's proposer. */
  l1: ChainClients;
  l2OutputOracle: Address;
  l2Url: string;
  /**
   * Mine empty L2 blocks up to the next output's block when the L2 has blocks no output covers yet
   * (a development L2 mines only on demand; OP Stack L2s make a block every 2 s). Needs an L2 that
   * takes `anvil_mine` (the embedded chain in development mode).
   */
  fillBlocks: boolean;
}

/**
 * Proposes every output root the oracle is due and the L2 has: for the oracle's `nextBlockNumber()`
 * while the L2's head has reached it, `proposeL2Output(outputRoot, l2BlockNumber, 0, 0)` (no L1
 * block hash pinned: a development L1 does not reorganise). Returns the outputs proposed.
 *
 * @example
 * const proposed = await proposeOutputs({ l1: proposerClients, l2OutputOracle, l2Url, fillBlocks: true });
 */
export async function proposeOutputs(p: Proposer): Promise<L2Output[]> {
  const abi = opArtifact('L2OutputOracle').abi as Abi;
  const oracle = { address: p.l2OutputOracle, abi } as const;
  const read = <T>(functionName: string) => p.l1.publicClient.readContract({ ...oracle, functionName }) as Promise<T>;
  const proposed: L2Output[] = [];
  let head = BigInt(await callJsonRpc<Hex>(p.l2Url, 'eth_blockNumber'));
  const [latest, interval] = await Promise.all([read<bigint>('latestBlockNumber'), read<bigint>('SUBMISSION_INTERVAL')]);
  if (p.fillBlocks && head > latest && (head - latest) % interval !== 0n) {
    const next = latest + ((head - latest + interval - 1n) / interval) * interval;
    await callJsonRpc(p.l2Url, 'anvil_mine', [numberToHex(next - head)]);
    head = next;
  }
  for (;;) {
    const next = await read<bigint>('nextBlockNumber');
    if (next > head) return proposed;
    const output = await outputAt(p.l2Url, next);
    const hash = await p.l1.walletClient.writeContract({ ...oracle, functionName: 'proposeL2Output', args: [output.outputRoot, next, zeroHash, 0n] });
    const receipt = await p.l1.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new BridgeTransactionError(`proposing the output of L2 block ${next} failed (tx ${hash})`);
    proposed.push(output);
  }
}

import { BaseError, ContractFunctionRevertedError, type Abi, type Hex } from 'viem';
import type { SpendAuthorization } from '../chain/spend-authorization.ts';
import type { SettlementNode } from './epoch.ts';

/** One draw as the contracts take it. */
export interface DrawCall {
  auth: SpendAuthorization;
  signature: Hex;
  drawTo: bigint;
}

/**
 * Why the escrow would refuse `draw` now — the revert's error name (`InferenceEscrowInvalidSignature`
 * from a consumer whose ERC-1271 wallet no longer accepts it, `InferenceEscrowInsufficientDeposit`,
 * `InferenceEscrowAuthorizationExpired`, …) — or null when it would pay it. Simulated as this operator's `AttributionSettlement.fund` of
 * that draw alone, so one consumer's draw that would revert is left out of an epoch (its receipts
 * wait) instead of reverting everyone's.
 *
 * @example
 * const why = await drawRefusal(node, draw);
 * if (why) log(`left out: ${why}`);
 */
export async function drawRefusal(node: SettlementNode, draw: DrawCall): Promise<string | null> {
  const settlement = node.contracts.attributionSettlement;
  // the escrow's errors surface through the settlement contract: decode with both ABIs
  const abi = [...settlement.abi, ...node.contracts.inferenceEscrow.abi.filter((x) => x.type === 'error')] as Abi;
  try {
    await node.clients.publicClient.simulateContract({ address: settlement.address, abi, functionName: 'fund', args: [[draw]], account: node.clients.account });
    return null;
  } catch (err) {
    const revert = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : null;
    if (revert instanceof ContractFunctionRevertedError) return revert.data?.errorName ?? revert.reason ?? revert.signature ?? 'reverted';
    throw err;
  }
}

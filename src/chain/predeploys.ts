import { callJsonRpc } from './json-rpc.ts';
import { opArtifact } from './devnet/op-artifacts.ts';
import { wrappedOpenDeployedBytecode } from './generated/index.ts';
import { chainProfileOf, L1_BLOCK_ADDRESS, L2_TO_L1_MESSAGE_PASSER_ADDRESS, WRAPPED_OPEN_ADDRESS } from './profiles.ts';
import type { Address, Hex } from 'viem';

/**
 * The code a chain has from its genesis where OPEN is its native coin: on OpenLedger's L2 the OP
 * Stack genesis holds them; a development chain (anvil) gets them from {@link installPredeploys}.
 * WOPEN is the project's own; L1Block (the L1's attributes and the custom gas token, set by the
 * bridge's system deposit) and L2ToL1MessagePasser (where withdrawals to L1 start) are the OP Stack's
 * own code from `@eth-optimism/contracts-bedrock`.
 */
export function predeploys(): { address: Address; code: Hex; name: string }[] {
  return [
    { name: 'WOPEN', address: WRAPPED_OPEN_ADDRESS, code: wrappedOpenDeployedBytecode },
    { name: 'L1Block', address: L1_BLOCK_ADDRESS, code: opArtifact('L1Block').deployedBytecode },
    { name: 'L2ToL1MessagePasser', address: L2_TO_L1_MESSAGE_PASSER_ADDRESS, code: opArtifact('L2ToL1MessagePasser').deployedBytecode },
  ];
}

/**
 * Writes the predeploys' code into a development chain (`anvil_setCode`, no block mined) where its
 * profile makes OPEN the native coin; a no-op on other chains. Idempotent: the same code each time.
 *
 * @example
 * const anvil = await startAnvil({ chainId: 31337 });
 * await installPredeploys(anvil.url, 31337);
 */
export async function installPredeploys(rpcUrl: string, chainId: number, options: { force?: boolean } = {}): Promise<void> {
  if (!options.force && !chainProfileOf(chainId)?.nativeOpen) return;
  for (const p of predeploys()) await callJsonRpc(rpcUrl, 'anvil_setCode', [p.address, p.code]);
}

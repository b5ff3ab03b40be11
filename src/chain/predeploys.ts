import { callJsonRpc } from './json-rpc.ts';
import { wrappedOpenDeployedBytecode } from './generated/index.ts';
import { chainProfileOf, WRAPPED_OPEN_ADDRESS } from './profiles.ts';
import type { Address, Hex } from 'viem';

/**
 * The code a chain has from its genesis where OPEN is its native coin: on OpenLedger's L2 the OP
 * Stack genesis holds them; a development chain (anvil) gets them from {@link installPredeploys}.
 */
export function predeploys(): { address: Address; code: Hex; name: string }[] {
  return [{ name: 'WOPEN', address: WRAPPED_OPEN_ADDRESS, code: wrappedOpenDeployedBytecode }];
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

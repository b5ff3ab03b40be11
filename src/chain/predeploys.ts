import type { Address, Hex } from 'viem';
import { ATTRIBUTION_VERIFIER_ADDRESS } from './attribution-verifier.ts';
import { attributionVerifierDeployedBytecode, wrappedOpenDeployedBytecode } from './generated/index.ts';
import { callJsonRpc } from './json-rpc.ts';
import { WRAPPED_OPEN_ADDRESS } from './profiles.ts';

/**
 * The code a chain has from its genesis: on OpenLedger's L2 the OP Stack genesis holds it; a
 * development chain (anvil) gets it from {@link installPredeploys}. Each has no constructor and no
 * immutables, so its runtime code is all there is to install.
 */
export const PREDEPLOYS = {
  /** WOPEN, wrapped native OPEN (decision 0032): only where OPEN is the chain's native coin. */
  WOPEN: { address: WRAPPED_OPEN_ADDRESS, code: wrappedOpenDeployedBytecode },
  /** The Proof of Attribution verifier (decision 0030). */
  AttributionVerifier: { address: ATTRIBUTION_VERIFIER_ADDRESS, code: attributionVerifierDeployedBytecode },
} as const satisfies Record<string, { address: Address; code: Hex }>;

export type PredeployName = keyof typeof PREDEPLOYS;

/**
 * The predeploys of a new chain: the verifier always, WOPEN where OPEN is the native coin.
 *
 * @example
 * genesisPredeploys(true); // ['WOPEN', 'AttributionVerifier']
 */
export function genesisPredeploys(nativeOpen: boolean): PredeployName[] {
  return nativeOpen ? ['WOPEN', 'AttributionVerifier'] : ['AttributionVerifier'];
}

/**
 * Writes the named predeploys' code into a development chain (`anvil_setCode`, no block mined).
 * Idempotent: the same code each time.
 *
 * @example
 * const anvil = await startAnvil({ chainId: 31337 });
 * await installPredeploys(anvil.url, genesisPredeploys(true));
 */
export async function installPredeploys(rpcUrl: string, names: readonly PredeployName[]): Promise<void> {
  for (const name of names) await callJsonRpc(rpcUrl, 'anvil_setCode', [PREDEPLOYS[name].address, PREDEPLOYS[name].code]);
}

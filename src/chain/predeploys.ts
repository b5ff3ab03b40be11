import type { Address, Hex } from 'viem';
import { ATTRIBUTION_VERIFIER_ADDRESS } from './attribution-verifier.ts';
import { opArtifact } from './devnet/op-artifacts.ts';
import { attributionVerifierDeployedBytecode, wrappedOpenDeployedBytecode } from './generated/index.ts';
import { callJsonRpc } from './json-rpc.ts';
import { L1_BLOCK_ADDRESS, L2_TO_L1_MESSAGE_PASSER_ADDRESS, WRAPPED_OPEN_ADDRESS } from './profiles.ts';

/**
 * The code a chain has from its genesis: on OpenLedger's L2 the OP Stack genesis holds it; a
 * development chain (anvil) gets it from {@link installPredeploys}. Each has no constructor to run
 * (no immutables), so its runtime code is all there is to install. WOPEN and the verifier are the
 * project's own; L1Block (the L1's attributes and the custom gas token, set by the bridge's system
 * deposit) and L2ToL1MessagePasser (where withdrawals to L1 start) are the OP Stack's own code from
 * `@eth-optimism/contracts-bedrock`.
 */
export const PREDEPLOYS = {
  /** WOPEN, wrapped native OPEN (decision 0032): only where OPEN is the chain's native coin. */
  WOPEN: { address: WRAPPED_OPEN_ADDRESS, code: () => wrappedOpenDeployedBytecode },
  /** OP Stack's L1Block: where OPEN is native, the custom gas token's record (decision 0031). */
  L1Block: { address: L1_BLOCK_ADDRESS, code: () => opArtifact('L1Block').deployedBytecode },
  /** OP Stack's L2ToL1MessagePasser: withdrawals of native OPEN to L1 (decision 0031). */
  L2ToL1MessagePasser: { address: L2_TO_L1_MESSAGE_PASSER_ADDRESS, code: () => opArtifact('L2ToL1MessagePasser').deployedBytecode },
  /** The Proof of Attribution verifier (decision 0030). */
  AttributionVerifier: { address: ATTRIBUTION_VERIFIER_ADDRESS, code: () => attributionVerifierDeployedBytecode },
} as const satisfies Record<string, { address: Address; code: () => Hex }>;

export type PredeployName = keyof typeof PREDEPLOYS;

/**
 * The predeploys of a new chain: the verifier always; where OPEN is the native coin, WOPEN and the
 * OP Stack's L1Block and L2ToL1MessagePasser too.
 *
 * @example
 * genesisPredeploys(false); // ['AttributionVerifier']
 */
export function genesisPredeploys(nativeOpen: boolean): PredeployName[] {
  return nativeOpen ? ['WOPEN', 'L1Block', 'L2ToL1MessagePasser', 'AttributionVerifier'] : ['AttributionVerifier'];
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
  for (const name of names) await callJsonRpc(rpcUrl, 'anvil_setCode', [PREDEPLOYS[name].address, PREDEPLOYS[name].code()]);
}

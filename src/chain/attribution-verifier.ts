import { getContract, type Address, type GetContractReturnType, type Hex, type PublicClient } from 'viem';
import { ChainError } from './errors.ts';
import { attributionVerifierAbi, attributionVerifierDeployedBytecode } from './generated/index.ts';

// The Proof of Attribution verifier (contracts/AttributionVerifier.sol) at its predeploy address:
// where it lives, how a development chain gets it, and a typed handle to call it (decision 0030).

/**
 * OpenLedger's predeploy namespace: `0x4F4C` ("OL") followed by an index. OP Stack's own is
 * `0x4200…00xx` (its genesis puts proxies at every address up to `0x4200…07FF`) and its preinstalls
 * sit at their usual mainnet addresses; neither starts with `0x4F4C`.
 */
export const OPENLEDGER_PREDEPLOY_NAMESPACE: Address = '0x4f4C000000000000000000000000000000000000';

/** Where the attribution verifier lives on every OpenLedger chain: the namespace's first predeploy. */
export const ATTRIBUTION_VERIFIER_ADDRESS: Address = '0x4F4C000000000000000000000000000000000001';

/** The verifier's functions, read through a public client (all are views). */
export type AttributionVerifierContract = GetContractReturnType<typeof attributionVerifierAbi, PublicClient>;

/** The predeploy's code differs from this openledger's after it was set. */
export class AttributionVerifierError extends ChainError {
  override name = 'AttributionVerifierError';
}

/**
 * A typed handle on the verifier at its predeploy address.
 *
 * @example
 * const [ids, signed] = await attributionVerifier(publicClient).read.checkReceipts([operator, receipts]);
 */
export function attributionVerifier(client: PublicClient): AttributionVerifierContract {
  return getContract({ address: ATTRIBUTION_VERIFIER_ADDRESS, abi: attributionVerifierAbi, client });
}

/**
 * Whether the chain has this openledger's verifier at the predeploy address.
 *
 * @example
 * if (await hasAttributionVerifier(publicClient)) problems.push(...(await onChainReceiptProblems(...)));
 */
export async function hasAttributionVerifier(client: Pick<PublicClient, 'getCode'>): Promise<boolean> {
  const code = await client.getCode({ address: ATTRIBUTION_VERIFIER_ADDRESS });
  return code?.toLowerCase() === attributionVerifierDeployedBytecode.toLowerCase();
}

/**
 * Installs the verifier's runtime code at its predeploy address on a development chain (anvil, or
 * the embedded chain with `--development`, which journals the call so the code survives restarts)
 * and answers whether the chain now has it. Another chain is left as it is: a network carries the
 * predeploy in its genesis, and a chain that is not anvil, or refuses `anvil_setCode` (the embedded
 * chain without `--development`), answers false. Idempotent.
 *
 * @example
 * await installAttributionVerifier(clients.publicClient); // true on anvil
 */
export async function installAttributionVerifier(client: Pick<PublicClient, 'getCode' | 'request'>): Promise<boolean> {
  if (await hasAttributionVerifier(client)) return true;
  const request = client.request as (args: { method: string; params?: unknown[] }) => Promise<unknown>;
  let version: unknown;
  try {
    version = await request({ method: 'web3_clientVersion' });
  } catch {
    return false;
  }
  if (typeof version !== 'string' || !/anvil/i.test(version)) return false;
  try {
    await request({ method: 'anvil_setCode', params: [ATTRIBUTION_VERIFIER_ADDRESS, attributionVerifierDeployedBytecode as Hex] });
  } catch (err) {
    if (refusedMethod(err)) return false;
    throw err;
  }
  if (!(await hasAttributionVerifier(client))) throw new AttributionVerifierError(`anvil_setCode at ${ATTRIBUTION_VERIFIER_ADDRESS} did not leave the verifier's code there`);
  return true;
}

/** A JSON-RPC "method not found / not available" (-32601), however deep in viem's error chain. */
function refusedMethod(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === -32601) return true;
  }
  return false;
}

import { hashTypedData, isAddressEqual, recoverTypedDataAddress, zeroHash, type Address, type Hex, type LocalAccount } from 'viem';
import { accountSignerAt, type SignerHistoryClient } from '../chain/agent-accounts.ts';

/**
 * One paid call of a skill, as its seller signs it (EIP-712 `SkillCall`): which call it is and
 * which call made it (`parentCallId`, zero for a consumer's call), the skill, the agent that sold it
 * (its treasury is paid) and who paid (the consumer, or the parent call's agent), the price, the
 * hashes of its input and output, the inference receipts it caused and the calls it made. A tree of
 * these is what a consumer's one payment is split down (call-tree.ts).
 */
export interface SkillCall {
  callId: Hex;
  parentCallId: Hex;
  skill: Hex;
  agent: Address;
  payer: Address;
  price: bigint;
  inputHash: Hex;
  outputHash: Hex;
  inferenceReceipts: readonly Hex[];
  children: readonly Hex[];
}

/** The parent of a consumer's call. */
export const ROOT_PARENT: Hex = zeroHash;

export const skillCallTypes = {
  SkillCall: [
    { name: 'callId', type: 'bytes32' },
    { name: 'parentCallId', type: 'bytes32' },
    { name: 'skill', type: 'bytes32' },
    { name: 'agent', type: 'address' },
    { name: 'payer', type: 'address' },
    { name: 'price', type: 'uint256' },
    { name: 'inputHash', type: 'bytes32' },
    { name: 'outputHash', type: 'bytes32' },
    { name: 'inferenceReceipts', type: 'bytes32[]' },
    { name: 'children', type: 'bytes32[]' },
  ],
} as const;

/** Which deployment a call is signed for: the chain and the contract that settles it (a call signed for one is refused by another). */
export interface SkillCallDomain {
  chainId: number;
  settlement: Address;
}

const typed = (d: SkillCallDomain, call: SkillCall) => ({
  domain: { name: 'OpenLedger SkillCall', version: '1', chainId: d.chainId, verifyingContract: d.settlement },
  types: skillCallTypes,
  primaryType: 'SkillCall',
  message: { ...call, inferenceReceipts: [...call.inferenceReceipts], children: [...call.children] },
} as const);

/**
 * The call's EIP-712 hash: what its seller signs, and what identifies it on chain.
 *
 * @example
 * const digest = skillCallHash({ chainId: 31337, settlement }, call);
 */
export function skillCallHash(d: SkillCallDomain, call: SkillCall): Hex {
  return hashTypedData(typed(d, call));
}

/**
 * Signs `call` as its seller.
 *
 * @example
 * const signature = await signSkillCall(agentKey, { chainId: 31337, settlement }, call);
 */
export function signSkillCall(account: Pick<LocalAccount, 'signTypedData'>, d: SkillCallDomain, call: SkillCall): Promise<Hex> {
  return account.signTypedData(typed(d, call));
}

/**
 * Who signed `call` with `signature` (checksummed); a call counts only when that is its `agent`.
 *
 * @example
 * if (!isAddressEqual(await skillCallSigner(domain, call, signature), call.agent)) throw …;
 */
export function skillCallSigner(d: SkillCallDomain, call: SkillCall, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({ ...typed(d, call), signature });
}

/**
 * Whether `call` was signed for its agent at block `block`: by the agent's own key, or — the agent
 * being its ERC-6551 account — by a key the account accepted then (its holder, or a session key
 * granted the signing right: chain/agent-accounts.ts `accountSignerAt`, read from events, so the
 * answer does not change when the key is revoked or the agent sold later, nor depend on an archive
 * node).
 *
 * @example
 * if (!(await verifySkillCall(publicClient, domain, call, signature, block))) throw …;
 */
export async function verifySkillCall(client: SignerHistoryClient, d: SkillCallDomain, call: SkillCall, signature: Hex, block: bigint): Promise<boolean> {
  const signer = await recoverTypedDataAddress({ ...typed(d, call), signature }).catch(() => null);
  if (!signer) return false;
  if (isAddressEqual(signer, call.agent)) return true;
  return accountSignerAt(client, call.agent, signer, block).catch(() => false);
}

import { encodeFunctionData, hashTypedData, isAddressEqual, recoverTypedDataAddress, type Address, type Hex, type LocalAccount, type PublicClient } from 'viem';

/**
 * A consumer's signed consent that `operator` may draw OPEN from the consumer's InferenceEscrow
 * deposit, up to `cumulativeAmount` in total over all draws, as long as `nonce` is above the last one
 * drawn and the block time is at most `expiry` (unix seconds). The EIP-712 struct
 * `InferenceEscrow.SpendAuthorization`.
 */
export type SpendAuthorization = {
  consumer: Address;
  operator: Address;
  cumulativeAmount: bigint;
  nonce: bigint;
  expiry: bigint;
};

/** Which InferenceEscrow a spend authorization is for: the chain and the contract's address. */
export type EscrowDeployment = {
  chainId: number;
  escrow: Address;
};

/** The EIP-712 types of a {@link SpendAuthorization}, as the InferenceEscrow contract hashes it. */
export const spendAuthorizationTypes = {
  SpendAuthorization: [
    { name: 'consumer', type: 'address' },
    { name: 'operator', type: 'address' },
    { name: 'cumulativeAmount', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'expiry', type: 'uint256' },
  ],
} as const;

/**
 * The EIP-712 domain of the InferenceEscrow at `escrowAddress` on chain `chainId`.
 *
 * @example
 * const domain = spendAuthorizationDomain(31337, addresses.inferenceEscrow);
 * // { name: 'OpenLedger InferenceEscrow', version: '1', chainId: 31337, verifyingContract: '0x…' }
 */
export function spendAuthorizationDomain(chainId: number, escrowAddress: Address) {
  return { name: 'OpenLedger InferenceEscrow', version: '1', chainId, verifyingContract: escrowAddress } as const;
}

/**
 * Signs `auth` as `account` (the consumer) for the escrow `escrow` on chain `chainId`, with EIP-712.
 *
 * @example
 * const signature = await signSpendAuthorization(consumer, { chainId: 31337, escrow: addresses.inferenceEscrow }, {
 *   consumer: consumer.address,
 *   operator,
 *   cumulativeAmount: parseEther('10'),
 *   nonce: 1n,
 *   expiry: BigInt(Math.floor(Date.now() / 1000) + 3600),
 * });
 */
export function signSpendAuthorization(account: Pick<LocalAccount, 'signTypedData'>, deployment: EscrowDeployment, auth: SpendAuthorization): Promise<Hex> {
  return account.signTypedData(typedAuthorization(deployment, auth));
}

/** `auth` as the EIP-712 typed data the escrow hashes: what is signed, recovered and hashed alike. */
function typedAuthorization({ chainId, escrow }: EscrowDeployment, auth: SpendAuthorization) {
  return { domain: spendAuthorizationDomain(chainId, escrow), types: spendAuthorizationTypes, primaryType: 'SpendAuthorization', message: auth } as const;
}

/**
 * The address that signed `auth` with `signature` for the escrow `escrow` on chain `chainId`
 * (checksummed), so that a node can check off chain that a consumer's authorization is genuine
 * before serving it. The escrow accepts an EOA consumer's signature only if this is `auth.consumer`.
 *
 * @example
 * const signer = await recoverSpendAuthorizationSigner({ chainId: 31337, escrow: addresses.inferenceEscrow }, auth, signature);
 * if (!isAddressEqual(signer, auth.consumer)) throw new Error('not signed by the consumer');
 */
export function recoverSpendAuthorizationSigner(deployment: EscrowDeployment, auth: SpendAuthorization, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({ ...typedAuthorization(deployment, auth), signature });
}

const erc1271Abi = [{ type: 'function', name: 'isValidSignature', stateMutability: 'view', inputs: [{ name: 'hash', type: 'bytes32' }, { name: 'signature', type: 'bytes' }], outputs: [{ name: '', type: 'bytes4' }] }] as const;
/** ERC-1271's magic value, as the 32 bytes OpenZeppelin's SignatureChecker compares the answer with. */
const ERC1271_MAGIC = `0x1626ba7e${'0'.repeat(56)}`;

/**
 * Whether the escrow would accept `signature` for `auth`, checked the way it checks it
 * (OpenZeppelin `SignatureChecker.isValidSignatureNow`): a consumer without code must have signed
 * it (ECDSA); a consumer with code — a contract wallet, or an EOA delegated by EIP-7702 — must
 * answer ERC-1271's `isValidSignature` with the magic value, and then an ECDSA signature alone
 * does not count.
 *
 * @example
 * if (!(await verifySpendAuthorization(publicClient, deployment, auth, signature))) throw new Error('the escrow would refuse it');
 */
export async function verifySpendAuthorization(client: Pick<PublicClient, 'getCode' | 'call'>, deployment: EscrowDeployment, auth: SpendAuthorization, signature: Hex): Promise<boolean> {
  const code = await client.getCode({ address: auth.consumer });
  if (!code || code === '0x') {
    try {
      return isAddressEqual(await recoverSpendAuthorizationSigner(deployment, auth, signature), auth.consumer);
    } catch {
      return false;
    }
  }
  const hash = hashTypedData(typedAuthorization(deployment, auth));
  try {
    const { data } = await client.call({ to: auth.consumer, data: encodeFunctionData({ abi: erc1271Abi, functionName: 'isValidSignature', args: [hash, signature] }) });
    return data !== undefined && data.length >= 66 && data.slice(0, 66).toLowerCase() === ERC1271_MAGIC;
  } catch {
    return false;
  }
}

import { call, routes } from '../../api.ts';
import { sendTx, useAccount } from '../../account.tsx';
import { inferenceEscrowAbi } from '../../../../src/chain/generated/index.ts';
import { nativeOpen, payInto } from '../../open-coin.ts';
import { signSpendAuthorization } from '../../../../src/chain/spend-authorization.ts';
import { nextAuthorization } from '../../../../src/settlement/next-authorization.ts';
import type { Funds } from './types.ts';

type Account = ReturnType<typeof useAccount>;

/** The connected account's funds with this node (`GET /settlement/funds/:address`). */
export const fetchFunds = (address: string) => call(routes.getFunds, { params: { address } });

/**
 * Funds paid inference as `openledger deposit` does: (optionally) deposits `amount` OPEN (sent with the call where OPEN is native, else after an approval)
 * into the InferenceEscrow for the connected account, then raises this node's spend authorisation
 * by `amount` over what was spent (or the current cap, if higher), signed with EIP-712 and handed to
 * the node (`POST /settlement/authorizations`). `step` reports progress; resolves with the new funds.
 */
export async function depositAndAuthorize(state: Account, amount: bigint, o: { deposit: boolean; days: number; step: (what: string) => void }): Promise<Funds> {
  const { signer, status } = state;
  if (!signer || !status) throw new Error('connect an account first');
  if (o.deposit) {
    if (!nativeOpen(status)) o.step('approving the escrow to take your OPEN');
    const payment = await payInto(state, status.contracts.inferenceEscrow, amount);
    o.step('depositing into the escrow');
    await sendTx(state, { address: status.contracts.inferenceEscrow, abi: inferenceEscrowAbi, functionName: 'deposit', args: [signer.address, amount], ...payment });
  }
  o.step('signing the spend authorisation');
  const f = await fetchFunds(signer.address);
  const auth = nextAuthorization(f, signer.address, amount, o.days);
  // signSpendAuthorization only calls signTypedData, which every Signer has (a dev account or the wallet's)
  const signature = await signSpendAuthorization(signer, { chainId: f.chainId, escrow: f.escrow }, auth);
  o.step('handing the authorisation to the node');
  await call(routes.submitAuthorization, { body: { auth: { ...auth, cumulativeAmount: auth.cumulativeAmount.toString(), nonce: auth.nonce.toString(), expiry: auth.expiry.toString() }, signature } });
  return fetchFunds(signer.address);
}

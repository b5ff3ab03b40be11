import { createPublicClient, createWalletClient, http, type Account, type Chain, type PublicClient, type Transport, type WalletClient } from 'viem';
import { ChainError } from './errors.ts';
import { callJsonRpc } from './json-rpc.ts';
import { viemChain } from './profiles.ts';

/** A public and a wallet client on one chain, signing as one account. */
export interface ChainClients {
  chain: Chain;
  account: Account;
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
}

/**
 * Connects to any EVM JSON-RPC URL, reading its chain id, and returns viem clients that sign as
 * `account` (a private-key or mnemonic account from `viem/accounts`). With `readOnly`, the wallet
 * client signs but never sends a transaction (an operator's extra serving process: its primary
 * alone sends the account's transactions, so their nonces never race).
 *
 * @example
 * const { publicClient, walletClient } = await connectChain('http://127.0.0.1:8545', privateKeyToAccount(key));
 */
export async function connectChain(rpcUrl: string, account: Account, options: { pollingInterval?: number; readOnly?: boolean } = {}): Promise<ChainClients> {
  const chainId = Number(await callJsonRpc<string>(rpcUrl, 'eth_chainId'));
  const chain = viemChain(chainId, rpcUrl);
  const transport = http(rpcUrl, { batch: false, retryCount: 0 });
  const pollingInterval = options.pollingInterval ?? 250;
  return {
    chain,
    account,
    publicClient: createPublicClient({ chain, transport, pollingInterval }),
    walletClient: createWalletClient({ account, chain, transport: options.readOnly ? refusingToSend(transport) : transport, pollingInterval }),
  };
}

/** A transport that refuses to send transactions (and passes every other call through). */
function refusingToSend(inner: Transport): Transport {
  return ((opts: Parameters<Transport>[0]) => {
    const t = inner(opts);
    return {
      ...t,
      request: (async (args: { method: string }) => {
        if (args.method === 'eth_sendRawTransaction' || args.method === 'eth_sendTransaction') {
          throw new ChainError('this process does not send the account\'s transactions (a serving process: its primary does)');
        }
        return t.request(args as never);
      }) as typeof t.request,
    };
  }) as Transport;
}

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { createPublicClient, createWalletClient, custom, defineChain, http, type Address, type Chain, type EIP1193Provider, type LocalAccount, type PublicClient, type WalletClient } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { call, routes, type RouteOutput } from './api.ts';
import { isNativeOpen } from '../../src/chain/open-payment.ts';

/** Whoever signs requests and transactions: a development account of the embedded chain, or an injected wallet. */
export interface Signer {
  address: Address;
  signTypedData: LocalAccount['signTypedData'];
}

/** `GET /status`, as the API's contract says. */
export type NodeStatus = RouteOutput<typeof routes.getStatus>;

export interface AccountState {
  status: NodeStatus | undefined;
  chain: Chain | undefined;
  publicClient: PublicClient | undefined;
  /** Signs transactions as the connected account (null when none). */
  walletClient: WalletClient | null;
  signer: Signer | null;
  kind: 'dev' | 'injected' | null;
  /** Development accounts of the embedded chain (empty on another chain). */
  devAccounts: Address[];
  connectDev(index: number): void;
  connectInjected(): Promise<void>;
  disconnect(): void;
}

const AccountContext = createContext<AccountState | null>(null);
declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

/** Provides the node's status, its chain's clients and the connected account to every page. */
export function AccountProvider({ children }: { children: ReactNode }) {
  const status = useQuery({ queryKey: ['status'], queryFn: () => call(routes.getStatus, {}), staleTime: 60_000 });
  const dev = useQuery({ queryKey: ['dev-accounts'], queryFn: () => call(routes.devAccounts, {}), staleTime: Infinity, enabled: status.data?.chain.development === true });
  // the chain is reached through the node (`POST /chain/rpc`): one origin, whatever the chain's CORS policy
  const chain = useMemo(() => status.data && defineChain({ id: status.data.chain.id, name: `openledger-${status.data.chain.id}`, nativeCurrency: isNativeOpen({ openToken: { address: status.data.contracts.openToken } }) ? { name: 'OPEN', symbol: 'OPEN', decimals: 18 } : { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [`${location.origin}/chain/rpc`] } } }), [status.data]);
  const publicClient = useMemo(() => (chain ? (createPublicClient({ chain, transport: http(chain.rpcUrls.default.http[0]) }) as PublicClient) : undefined), [chain]);
  const devAccounts = useMemo(() => (dev.data?.mnemonic ? Array.from({ length: 10 }, (_, i) => mnemonicToAccount(dev.data!.mnemonic!, { addressIndex: i })) : []), [dev.data]);
  const [choice, setChoice] = useState<{ kind: 'dev'; index: number } | { kind: 'injected'; address: Address } | null>(() => {
    const saved = localStorage.getItem('openledger.account');
    return saved ? (JSON.parse(saved) as { kind: 'dev'; index: number }) : null;
  });
  useEffect(() => {
    if (choice) localStorage.setItem('openledger.account', JSON.stringify(choice));
    else localStorage.removeItem('openledger.account');
  }, [choice]);

  const { signer, walletClient } = useMemo((): { signer: Signer | null; walletClient: WalletClient | null } => {
    if (!chain || !choice) return { signer: null, walletClient: null };
    if (choice.kind === 'dev') {
      const account = devAccounts[choice.index];
      if (!account) return { signer: null, walletClient: null };
      return { signer: account, walletClient: createWalletClient({ account, chain, transport: http(chain.rpcUrls.default.http[0]) }) };
    }
    if (!window.ethereum) return { signer: null, walletClient: null };
    const wc = createWalletClient({ account: choice.address, chain, transport: custom(window.ethereum) });
    return { signer: { address: choice.address, signTypedData: ((p: Parameters<LocalAccount['signTypedData']>[0]) => wc.signTypedData({ ...p, account: choice.address } as never)) as LocalAccount['signTypedData'] }, walletClient: wc };
  }, [chain, choice, devAccounts]);

  const connectInjected = useCallback(async () => {
    if (!window.ethereum) throw new Error('no browser wallet found (an EIP-1193 provider such as MetaMask)');
    const [address] = await createWalletClient({ transport: custom(window.ethereum) }).requestAddresses();
    if (!address) throw new Error('the wallet shared no account');
    setChoice({ kind: 'injected', address });
  }, []);

  const value: AccountState = {
    status: status.data, chain, publicClient, walletClient, signer, kind: choice?.kind ?? null,
    devAccounts: devAccounts.map((a) => a.address),
    connectDev: (index) => setChoice({ kind: 'dev', index }),
    connectInjected,
    disconnect: () => setChoice(null),
  };
  return <AccountContext.Provider value={value}>{children}</AccountContext.Provider>;
}

/** The node, its chain and the connected account. */
export function useAccount(): AccountState {
  const v = useContext(AccountContext);
  if (!v) throw new Error('useAccount outside AccountProvider');
  return v;
}

/** Sends a contract transaction as the connected account and waits for it to be mined. */
export async function sendTx(state: AccountState, tx: { address: Address; abi: readonly unknown[]; functionName: string; args: readonly unknown[]; value?: bigint }): Promise<void> {
  if (!state.walletClient || !state.publicClient || !state.signer) throw new Error('connect an account first');
  const hash = await state.walletClient.writeContract({ ...tx, account: state.walletClient.account ?? state.signer.address, chain: state.chain } as never);
  const receipt = await state.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
}
